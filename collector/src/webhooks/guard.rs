//! Which addresses a webhook delivery may reach. An administrator (or a
//! stolen admin session) must not turn webhooks into a way to probe the
//! collector's own network: by default loopback, private, link-local
//! (cloud metadata lives there), carrier-grade NAT, multicast and other
//! non-public ranges are refused. The check runs on the address the name
//! resolves to at delivery time, and the connection goes to exactly the
//! address checked, so a name that changes its answer (DNS rebinding)
//! cannot slip past. `--allow-private-webhooks` lifts it for intranets.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Whether a delivery may connect to `ip`.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        // Carrier-grade NAT, 100.64.0.0/10.
        || (a == 100 && (64..128).contains(&b))
        // IETF protocol assignments, 192.0.0.0/24.
        || (a == 192 && b == 0 && c == 0)
        // Benchmarking, 198.18.0.0/15.
        || (a == 198 && (b == 18 || b == 19))
        // Reserved, 240.0.0.0/4.
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    if let Some(v4) = embedded_v4(s) {
        return is_public_v4(v4);
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        // Unique local, fc00::/7 (cloud metadata such as fd00:ec2::254).
        || (s[0] & 0xfe00) == 0xfc00
        // Link-local, fe80::/10.
        || (s[0] & 0xffc0) == 0xfe80
        // Documentation, 2001:db8::/32.
        || (s[0] == 0x2001 && s[1] == 0x0db8)
        // Teredo, 2001::/32: tunnels to an IPv4 address hidden in the
        // bits; no webhook receiver lives there.
        || (s[0] == 0x2001 && s[1] == 0)
        // Local-use NAT64, 64:ff9b:1::/48: a translator into the site's
        // own network.
        || (s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1)
        // Discard-only, 100::/64.
        || (s[0] == 0x100 && s[1..4] == [0, 0, 0]))
}

/// The IPv4 address an IPv6 address carries to, where the network would
/// deliver it over IPv4: IPv4-compatible `::a.b.c.d` (deprecated),
/// NAT64's well-known prefix `64:ff9b::a.b.c.d` (on an IPv6-only host
/// DNS64 answers every IPv4-only name this way, so public ones must pass)
/// and 6to4 `2002:aabb:ccdd::/48`. IPv4-mapped addresses are handled by
/// [`is_public`] before this.
fn embedded_v4(s: [u16; 8]) -> Option<Ipv4Addr> {
    let v4 = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    match s {
        // `::` and `::1` are themselves, not 0.0.0.0 and 0.0.0.1.
        [0, 0, 0, 0, 0, 0, 0, 0 | 1] => None,
        [0, 0, 0, 0, 0, 0, hi, lo] | [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => Some(v4(hi, lo)),
        [0x2002, hi, lo, ..] => Some(v4(hi, lo)),
        _ => None,
    }
}

/// Whether `url`'s host is refused before any name is resolved: an
/// address that is not public, or `localhost`. A name that resolves to such
/// an address is refused too, but only at delivery (its answer may change).
pub fn private_host(url: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(url) else {
        return false;
    };
    let Some(host) = url.host_str() else {
        return false;
    };
    if let Ok(ip) = host.trim_matches(['[', ']']).parse::<IpAddr>() {
        return !is_public(ip);
    }
    let name = host.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

/// A resolver that answers only with addresses a delivery may reach.
#[derive(Debug, Clone, Copy)]
pub struct PublicOnly;

#[derive(Debug, thiserror::Error)]
#[error("the host resolves only to addresses webhooks may not reach")]
pub struct Blocked;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let resolved = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let allowed: Vec<SocketAddr> = resolved.filter(|a| is_public(a.ip())).collect();
            if allowed.is_empty() {
                return Err(Box::new(Blocked) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// The resolver to give the HTTP client, if addresses are to be checked.
pub fn resolver(allow_private: bool) -> Option<Arc<PublicOnly>> {
    (!allow_private).then_some(Arc::new(PublicOnly))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn private_hosts_are_known_from_the_url_alone_where_they_can_be() {
        for private in [
            "http://127.0.0.1:9/hook",
            "http://[::1]/hook",
            "https://10.0.0.7/hook",
            "http://169.254.169.254/latest/meta-data",
            "http://[::ffff:192.168.1.1]/",
            "http://[64:ff9b::192.168.1.1]/",
            "http://localhost:8080/hook",
            "http://LOCALHOST./hook",
            "http://api.localhost/hook",
        ] {
            assert!(private_host(private), "{private}");
        }
        for public in [
            "https://hooks.slack.com/services/x",
            "https://93.184.215.14/hook",
            "https://[2606:4700::1111]/hook",
            // Decided when it resolves, at delivery.
            "https://intranet.example/hook",
            "https://localhost.example/hook",
        ] {
            assert!(!private_host(public), "{public}");
        }
    }

    #[test]
    fn internal_addresses_are_refused_and_public_ones_allowed() {
        for internal in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fd00:ec2::254",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::10.0.0.1",
            "::0.0.1.5",
            // NAT64 and 6to4 carrying a private or loopback IPv4 address.
            "64:ff9b::10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b::127.0.0.1",
            "2002:7f00:1::",
            "2002:c0a8:101::1",
            "64:ff9b:1::8.8.8.8",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "100::1",
        ] {
            assert!(!is_public(ip(internal)), "{internal}");
        }
        for public in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
            // What DNS64 answers for an IPv4-only public host.
            "64:ff9b::93.184.216.34",
            "2002:5db8:d822::1",
            "2001:4860:4860::8888",
        ] {
            assert!(is_public(ip(public)), "{public}");
        }
    }

    #[tokio::test]
    async fn the_resolver_answers_nothing_for_a_loopback_name() {
        let name: Name = "localhost".parse().unwrap();
        assert!(PublicOnly.resolve(name).await.is_err());
    }
}
