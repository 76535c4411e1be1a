//! The client's IP address. It comes from the socket unless the socket
//! peer is a configured proxy, and only then from `X-Forwarded-For`, so a
//! client cannot dodge a rate limit by sending that header itself.

use std::net::IpAddr;
use std::str::FromStr;

use axum::http::HeaderMap;

/// An IP network in CIDR notation (`10.0.0.0/8`, `::1/128`); a bare address
/// is a single-host network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CidrError {
    #[error("not an IP address")]
    Address,
    #[error("prefix length must be 0-32 for IPv4 and 0-128 for IPv6")]
    Prefix,
}

impl FromStr for IpNet {
    type Err = CidrError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| CidrError::Address)?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|&p| p <= max)
                .ok_or(CidrError::Prefix)?,
        };
        Ok(IpNet { addr, prefix })
    }
}

impl IpNet {
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// IPv4-mapped IPv6 (`::ffff:1.2.3.4`) is the IPv4 address it carries.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The network a client controls, as limits count it: an IPv4 address, or
/// the /64 an IPv6 address belongs to. One IPv6 subscriber is routinely
/// given a whole /64, so counting single IPv6 addresses would let a client
/// dodge every per-client limit by changing the low bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientNet(IpAddr);

impl ClientNet {
    pub fn of(ip: IpAddr) -> ClientNet {
        match canonical(ip) {
            IpAddr::V6(v6) => {
                let prefix = u128::from(v6) & (u128::MAX << 64);
                ClientNet(IpAddr::V6(prefix.into()))
            }
            v4 => ClientNet(v4),
        }
    }

    pub fn octets(&self) -> Vec<u8> {
        match self.0 {
            IpAddr::V4(v4) => v4.octets().to_vec(),
            IpAddr::V6(v6) => v6.octets().to_vec(),
        }
    }
}

/// Proxies whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies {
    nets: Vec<IpNet>,
}

impl TrustedProxies {
    pub fn new(nets: Vec<IpNet>) -> Self {
        TrustedProxies { nets }
    }

    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.nets.iter().any(|n| n.contains(ip))
    }

    /// Walks `X-Forwarded-For` from the right (the entry our proxy appended)
    /// past trusted proxies; the first other address is the client.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        if !self.trusts(peer) {
            return peer;
        }
        let mut client = peer;
        let hops = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .collect::<Vec<_>>();
        for hop in hops.iter().rev() {
            let Ok(ip) = hop.trim().parse::<IpAddr>() else {
                // Garbage in the chain: stop at the last address we trust.
                break;
            };
            client = canonical(ip);
            if !self.trusts(client) {
                break;
            }
        }
        client
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", xff.parse().unwrap());
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_ipv6_client_is_counted_by_its_64_and_ipv4_by_its_address() {
        assert_eq!(
            ClientNet::of(ip("2001:db8:1:2:aaaa::1")),
            ClientNet::of(ip("2001:db8:1:2:ffff:ffff:ffff:ffff"))
        );
        assert_ne!(
            ClientNet::of(ip("2001:db8:1:2::1")),
            ClientNet::of(ip("2001:db8:1:3::1"))
        );
        assert_eq!(
            ClientNet::of(ip("::ffff:192.0.2.1")),
            ClientNet::of(ip("192.0.2.1"))
        );
        assert_ne!(
            ClientNet::of(ip("192.0.2.1")),
            ClientNet::of(ip("192.0.2.2"))
        );
    }

    #[test]
    fn without_trusted_proxies_the_socket_address_wins() {
        let proxies = TrustedProxies::default();
        assert_eq!(
            proxies.client_ip(ip("203.0.113.9"), &headers("1.1.1.1")),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn a_trusted_proxy_is_believed_but_spoofed_hops_are_not() {
        let proxies = TrustedProxies::new(vec!["10.0.0.0/8".parse().unwrap()]);
        // The client claims to be 1.1.1.1; our proxy appended the real address.
        let h = headers("1.1.1.1, 198.51.100.7");
        assert_eq!(proxies.client_ip(ip("10.1.2.3"), &h), ip("198.51.100.7"));
        // Chains of our own proxies are skipped.
        let h = headers("198.51.100.7, 10.0.0.5");
        assert_eq!(proxies.client_ip(ip("10.1.2.3"), &h), ip("198.51.100.7"));
        // An untrusted peer's header is ignored entirely.
        assert_eq!(
            proxies.client_ip(ip("198.51.100.99"), &h),
            ip("198.51.100.99")
        );
        // Garbage stops the walk at the proxy.
        assert_eq!(
            proxies.client_ip(ip("10.1.2.3"), &headers("nonsense")),
            ip("10.1.2.3")
        );
    }

    #[test]
    fn cidr_parsing_and_matching() {
        let net: IpNet = "192.168.0.0/16".parse().unwrap();
        assert!(net.contains(ip("192.168.44.1")));
        assert!(!net.contains(ip("192.169.0.1")));
        assert!(net.contains(ip("::ffff:192.168.1.1")));
        let v6: IpNet = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains(ip("2001:db8:1::1")));
        assert!(!v6.contains(ip("2001:db9::1")));
        let all: IpNet = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("8.8.8.8")));
        assert_eq!("1.2.3.4/33".parse::<IpNet>(), Err(CidrError::Prefix));
        assert_eq!("nope".parse::<IpNet>(), Err(CidrError::Address));
    }
}
