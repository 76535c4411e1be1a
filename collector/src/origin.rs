//! Allowed-origin patterns for a site.

use std::fmt;

/// Which port a pattern accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PortRule {
    /// `:*` — any port.
    Any,
    /// The scheme's default port, or the one given.
    Exact(u16),
}

/// `scheme://host[:port|:*]`, where host may start with `*.` to allow any
/// subdomain (not the bare domain).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginPattern {
    scheme: String,
    host: String,
    port: PortRule,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OriginError {
    #[error("origin must start with http:// or https://")]
    Scheme,
    #[error("origin must be scheme://host[:port], without a path")]
    Shape,
    #[error("this looks like several origins: give one per line (or one per --origin)")]
    Several,
    #[error("a * stands only for subdomains, at the start: https://*.example.com")]
    Wildcard,
    #[error("origin port must be a number between 1 and 65535, or *")]
    Port,
    /// Checked for origins typed in, not for stored ones (see
    /// [`OriginPattern::parse`]).
    #[error(
        "origin host is not a name or address a browser could send (letters, digits, dots and hyphens)"
    )]
    Host,
}

/// Most origins one site lists (use `*.` for subdomains).
pub const MAX_PER_SITE: usize = 50;

/// Why a list of origins was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OriginListError {
    /// The `index`th (from 0) of those given, as typed.
    #[error("{raw:?}: {reason}")]
    Bad {
        index: usize,
        raw: String,
        reason: OriginError,
    },
    #[error("a site can list at most {MAX_PER_SITE} origins; use *. for subdomains")]
    TooMany,
}

/// A site's origins from what was typed (the console's lines, the command
/// line's `--origin`s): blanks skipped, each checked, the same origin
/// written two ways (`https://Shop.example`, `https://shop.example:443`)
/// kept once.
pub fn parse_list<'a>(
    typed: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<OriginPattern>, OriginListError> {
    let mut origins: Vec<OriginPattern> = Vec::new();
    for (index, raw) in typed.into_iter().enumerate() {
        let raw = raw.trim();
        if raw.is_empty() {
            continue;
        }
        let bad = |reason| OriginListError::Bad {
            index,
            raw: raw.to_owned(),
            reason,
        };
        let origin = OriginPattern::typed(raw).map_err(bad)?;
        if !origins.contains(&origin) {
            origins.push(origin);
        }
    }
    if origins.len() > MAX_PER_SITE {
        return Err(OriginListError::TooMany);
    }
    Ok(origins)
}

fn default_port(scheme: &str) -> u16 {
    if scheme == "https" { 443 } else { 80 }
}

/// `host` as a browser's `Origin` header writes it (the URL standard's host
/// parser): an international name in punycode (`bücher.example` is
/// `xn--bcher-kva.example`), an IPv6 address compressed. `None` for a host
/// no browser could send. A leading `*.` is kept.
fn browser_host(scheme: &str, host: &str) -> Option<String> {
    let (wild, name) = host.strip_prefix("*.").map_or(("", host), |n| ("*.", n));
    let url = url::Url::parse(&format!("{scheme}://{name}/")).ok()?;
    Some(format!("{wild}{}", url.host_str()?))
}

/// Splits `scheme://host[:port]` into lowercase parts.
fn split(origin: &str) -> Result<(String, String, Option<&str>), OriginError> {
    let (scheme, rest) = origin.split_once("://").ok_or(OriginError::Scheme)?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Err(OriginError::Scheme);
    }
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.is_empty() || rest.contains(['/', '?', '#', '@', ' ']) {
        return Err(OriginError::Shape);
    }
    // IPv6 literals keep their colons inside brackets.
    let (host, port) = match rest.rfind(':') {
        Some(i) if !rest[i..].contains(']') => (&rest[..i], Some(&rest[i + 1..])),
        _ => (rest, None),
    };
    if host.is_empty() {
        return Err(OriginError::Shape);
    }
    Ok((scheme, host.to_ascii_lowercase(), port))
}

impl OriginPattern {
    /// An origin as stored: a host no browser could send is kept as it is
    /// (it matches nothing), so origins saved before that was checked
    /// still load.
    pub fn parse(raw: &str) -> Result<OriginPattern, OriginError> {
        OriginPattern::read(raw, false)
    }

    /// An origin as a person types it: a host no browser could send is
    /// refused.
    fn typed(raw: &str) -> Result<OriginPattern, OriginError> {
        OriginPattern::read(raw, true)
    }

    fn read(raw: &str, typed: bool) -> Result<OriginPattern, OriginError> {
        let raw = raw.trim();
        if typed
            && (raw.contains(',')
                || raw.contains(char::is_whitespace) && raw.matches("://").count() > 1)
        {
            return Err(OriginError::Several);
        }
        let (scheme, host, port) = split(raw)?;
        let port = match port {
            None => PortRule::Exact(default_port(&scheme)),
            Some("*") => PortRule::Any,
            Some(p) => PortRule::Exact(
                p.parse()
                    .ok()
                    .filter(|&p| p != 0)
                    .ok_or(OriginError::Port)?,
            ),
        };
        let wildcard_ok = host.starts_with("*.") && !host[2..].contains('*');
        if host.contains('*') && !wildcard_ok {
            return Err(OriginError::Wildcard);
        }
        // Compared with what browsers send. (The URL parser would quietly
        // drop a tab, so whitespace is no host at all.)
        let sent = browser_host(&scheme, &host).filter(|_| !host.contains(char::is_whitespace));
        let host = match sent {
            Some(sent) => sent,
            None if typed => return Err(OriginError::Host),
            None => host,
        };
        Ok(OriginPattern { scheme, host, port })
    }

    /// Whether a browser's `Origin` header value matches.
    pub fn matches(&self, origin: &str) -> bool {
        let Ok((scheme, host, port)) = split(origin) else {
            return false;
        };
        let port = match port {
            None => default_port(&scheme),
            Some(p) => match p.parse::<u16>() {
                Ok(p) => p,
                Err(_) => return false,
            },
        };
        let host_ok = match self.host.strip_prefix("*.") {
            Some(domain) => host.len() > domain.len() + 1 && host.ends_with(&format!(".{domain}")),
            None => host == self.host,
        };
        let port_ok = match self.port {
            PortRule::Any => true,
            PortRule::Exact(p) => p == port,
        };
        scheme == self.scheme && host_ok && port_ok
    }
}

impl fmt::Display for OriginPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme, self.host)?;
        match self.port {
            PortRule::Any => write!(f, ":*"),
            PortRule::Exact(p) if p == default_port(&self.scheme) => Ok(()),
            PortRule::Exact(p) => write!(f, ":{p}"),
        }
    }
}

/// The first of `origins` whose pages cannot load the widget from
/// `public_url`: browsers refuse a script from a plain `http://` address on
/// an `https://` page (mixed content), so the button never appears there
/// and nothing reaches the collector to say why. Loopback addresses are
/// exempt: browsers trust them as they trust https.
pub fn blocked_on_https<'a>(
    public_url: &str,
    origins: &'a [OriginPattern],
) -> Option<&'a OriginPattern> {
    let authority = public_url.strip_prefix("http://")?;
    let authority = authority.split('/').next().unwrap_or(authority);
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') => host,
        _ => authority,
    };
    let loopback = matches!(host.to_ascii_lowercase().as_str(), "localhost" | "[::1]")
        || host.starts_with("127.");
    if loopback {
        return None;
    }
    origins.iter().find(|o| o.scheme == "https")
}

/// What [`blocked_on_https`] found, said so that it can be mended.
pub fn blocked_on_https_warning(public_url: &str, origin: &OriginPattern) -> String {
    format!(
        "Browsers will not show the feedback button on pages at {origin}: they refuse a script from {public_url}, a plain http address, on an https page. Serve the collector over https (a reverse proxy, as examples/deploy/nginx.conf does) and start it with --public-url https://…"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> OriginPattern {
        OriginPattern::parse(s).unwrap()
    }

    #[test]
    fn a_list_keeps_each_origin_once_skips_blanks_and_names_the_bad_one() {
        let list = parse_list([
            "https://Shop.Example",
            "",
            "https://shop.example:443",
            " http://shop.example ",
        ])
        .unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(
            parse_list(["https://ok.example", "ftp://x.example"]),
            Err(OriginListError::Bad {
                index: 1,
                raw: "ftp://x.example".into(),
                reason: OriginError::Scheme,
            })
        );
        let many: Vec<String> = (0..=MAX_PER_SITE)
            .map(|n| format!("https://s{n}.example"))
            .collect();
        assert_eq!(
            parse_list(many.iter().map(String::as_str)),
            Err(OriginListError::TooMany)
        );
    }

    #[test]
    fn an_international_name_is_kept_as_browsers_send_it() {
        let shop = p("https://Bücher.example");
        assert_eq!(shop.to_string(), "https://xn--bcher-kva.example");
        assert!(shop.matches("https://xn--bcher-kva.example"));
        let shops = p("https://*.bücher.example");
        assert!(shops.matches("https://www.xn--bcher-kva.example"));
        let ipv6 = p("http://[0:0:0:0:0:0:0:1]:*");
        assert!(ipv6.matches("http://[::1]:3000"));
    }

    #[test]
    fn a_typed_host_no_browser_could_send_is_refused_but_a_stored_one_still_loads() {
        for typed in [
            "https://exa<mple.com",
            "https://a%20b.example",
            "http://[::1",
            "https://a\tb.example",
        ] {
            assert_eq!(
                parse_list([typed]),
                Err(OriginListError::Bad {
                    index: 0,
                    raw: typed.into(),
                    reason: OriginError::Host,
                }),
                "{typed}"
            );
        }
        for pasted in [
            "https://a.example, https://b.example",
            "https://a.example,https://b.example",
            "https://a.example https://b.example",
            "https://a.example,b.example",
        ] {
            assert_eq!(
                OriginPattern::typed(pasted),
                Err(OriginError::Several),
                "{pasted}"
            );
        }
        // Stored before this was checked: it loads and matches nothing.
        assert!(!p("https://a.example,b.example").matches("https://a.example"));
        // Saved before the check: the site loads, the origin matches nothing.
        let old = p("https://exa<mple.com");
        assert!(!old.matches("https://example.com"));
        assert!(!p("https://a\tb.example").matches("https://ab.example"));
    }

    #[test]
    fn any_port_pattern_matches_only_that_host_and_scheme() {
        let local = p("http://localhost:*");
        assert!(local.matches("http://localhost:3000"));
        assert!(local.matches("http://localhost"));
        assert!(local.matches("http://LOCALHOST:1"));
        assert!(!local.matches("https://localhost:3000"));
        assert!(!local.matches("http://localhost.evil.example:3000"));
        assert!(!local.matches("null"));
    }

    #[test]
    fn default_ports_are_normalised() {
        let shop = p("https://shop.example");
        assert!(shop.matches("https://shop.example"));
        assert!(shop.matches("https://shop.example:443"));
        assert!(!shop.matches("https://shop.example:8443"));
        assert!(!shop.matches("http://shop.example"));
        assert_eq!(shop.to_string(), "https://shop.example");
    }

    #[test]
    fn subdomain_wildcard_excludes_the_bare_domain_and_lookalikes() {
        let any = p("https://*.example.com");
        assert!(any.matches("https://a.example.com"));
        assert!(any.matches("https://a.b.example.com"));
        assert!(!any.matches("https://example.com"));
        assert!(!any.matches("https://badexample.com"));
    }

    #[test]
    fn malformed_patterns_are_rejected_with_a_reason() {
        assert_eq!(
            OriginPattern::parse("shop.example"),
            Err(OriginError::Scheme)
        );
        assert_eq!(OriginPattern::parse("ftp://x"), Err(OriginError::Scheme));
        assert_eq!(
            OriginPattern::parse("https://x/path"),
            Err(OriginError::Shape)
        );
        assert_eq!(
            OriginPattern::parse("https://x:99999"),
            Err(OriginError::Port)
        );
        for wild in ["https://a*b.com", "https://*", "https://*.*.example.com"] {
            assert_eq!(
                OriginPattern::parse(wild),
                Err(OriginError::Wildcard),
                "{wild}"
            );
        }
        assert!(
            OriginPattern::parse("http://[::1]:*")
                .unwrap()
                .matches("http://[::1]:8080")
        );
    }

    proptest::proptest! {
        #[test]
        fn parsing_and_matching_never_panic(pattern in ".{0,40}", origin in ".{0,40}") {
            if let Ok(p) = OriginPattern::parse(&pattern) {
                let _ = p.matches(&origin);
            }
        }

        #[test]
        fn a_concrete_origin_matches_its_own_pattern(
            https in proptest::bool::ANY,
            host in "[a-z][a-z0-9-]{0,10}(\\.[a-z]{2,5}){0,2}",
            port in proptest::option::of(1u16..),
        ) {
            let scheme = if https { "https" } else { "http" };
            let origin = match port {
                Some(port) => format!("{scheme}://{host}:{port}"),
                None => format!("{scheme}://{host}"),
            };
            let pattern = OriginPattern::parse(&origin).unwrap();
            proptest::prop_assert!(pattern.matches(&origin));
            proptest::prop_assert!(OriginPattern::parse(&pattern.to_string()).unwrap().matches(&origin));
            let lookalike = format!("{scheme}://{host}.evil.example");
            proptest::prop_assert!(!pattern.matches(&lookalike));
        }
    }

    #[test]
    fn https_pages_cannot_load_the_widget_from_a_plain_http_address_but_from_loopback_they_can() {
        let origins: Vec<OriginPattern> = [
            "http://localhost:*",
            "https://shop.example",
            "https://*.shop.example",
        ]
        .into_iter()
        .map(|o| OriginPattern::parse(o).unwrap())
        .collect();
        let blocked = |url| blocked_on_https(url, &origins).map(ToString::to_string);
        assert_eq!(
            blocked("http://feedback.example:8080").as_deref(),
            Some("https://shop.example")
        );
        assert_eq!(
            blocked("http://10.0.0.5").as_deref(),
            Some("https://shop.example")
        );
        for fine in [
            "https://feedback.example",
            "http://127.0.0.1:8080",
            "http://localhost:8080",
            "http://[::1]:8080",
        ] {
            assert_eq!(blocked(fine), None, "{fine}");
        }
        let plain: Vec<OriginPattern> = vec![OriginPattern::parse("http://shop.example").unwrap()];
        assert!(blocked_on_https("http://feedback.example", &plain).is_none());
        let warning = blocked_on_https_warning("http://feedback.example", &origins[1]);
        assert!(
            warning.contains("pages at https://shop.example"),
            "{warning}"
        );
        assert!(warning.contains("--public-url https://"), "{warning}");
    }
}
