//! Whether the collector is wrong about its own address. Without
//! `--public-url` it builds status links, reply emails and snippets on the
//! address it listens on; behind a proxy, browsers reach it elsewhere.
//! What the browser itself reached says so, and an administrator is told.

use axum::http::{HeaderMap, header};

use super::ConsoleError;

/// Where a browser reached the console: its host, and its scheme when a
/// header said which.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reached {
    scheme: Option<String>,
    host: String,
}

impl Reached {
    /// As the browser's address bar shows it.
    pub fn shown(&self) -> String {
        match &self.scheme {
            Some(scheme) => format!("{scheme}://{}", self.host),
            None => self.host.clone(),
        }
    }

    /// The `--public-url` to start with; https when nothing said which, as
    /// a proxy in front almost always serves.
    pub fn public_url(&self) -> String {
        format!(
            "{}://{}",
            self.scheme.as_deref().unwrap_or("https"),
            self.host
        )
    }
}

/// Where this request's browser is, when it is not where `public_url` says.
/// Asked in the order of how near each answer is to the browser:
/// - `Referer` on a same-origin request (the console sends it within
///   itself): the browser's own address bar, scheme included;
/// - `X-Forwarded-Host` (with `X-Forwarded-Proto`), which proxies that
///   rewrite `Host` to the upstream (nginx's default) often still send;
/// - `Host`.
///
/// None of it is trusted for anything but telling this same browser: a
/// header sent to mislead only misleads whoever sent it. On one machine
/// `localhost`, `127.0.0.1` and `[::1]` are the same place: links to any of
/// them work for whoever follows them there.
pub fn reached_elsewhere(headers: &HeaderMap, public_url: &str) -> Option<Reached> {
    let reached = from_referer(headers)
        .or_else(|| forwarded(headers))
        .or_else(|| {
            let host = header_text(headers, header::HOST.as_str())?;
            plausible_host(host).then(|| Reached {
                scheme: None,
                host: host.to_owned(),
            })
        })?;
    let (scheme, ours) = public_url.split_once("://").unwrap_or(("http", public_url));
    let ours = ours.split('/').next().unwrap_or(ours);
    let same_host = reached.host.eq_ignore_ascii_case(ours)
        || matches!(
            (loopback_port(&reached.host), loopback_port(ours)),
            (Some(a), Some(b)) if a == b
        );
    let same_scheme = reached.scheme.as_deref().is_none_or(|s| s == scheme);
    (!(same_host && same_scheme)).then_some(reached)
}

/// Why a form whose origin is not the collector's was refused, when the
/// browser itself says it came from this very page (`Sec-Fetch-Site`, a
/// header no page can set): then the collector is wrong about its own
/// address, most likely behind a proxy that does not pass the Host header
/// while `--public-url` is unset. Still refused (those are the addresses it
/// would put in customers' links), but saying how to mend it, not "reload
/// and try again" for ever.
pub fn wrong_address(headers: &HeaderMap, origin: &str, public_url: &str) -> Option<ConsoleError> {
    // A browser's origin is a short scheme://host[:port]; anything else
    // is not one worth naming.
    let plausible =
        origin.len() <= 300 && (origin.starts_with("https://") || origin.starts_with("http://"));
    if !(same_origin_by_the_browser(headers) && plausible) {
        return None;
    }
    tracing::warn!(
        reached = origin,
        public_url,
        "the console was reached at another address than the collector's own: set --public-url, or have the proxy pass the Host header"
    );
    Some(ConsoleError::WrongAddress {
        reached: origin.to_owned(),
        believed: public_url.to_owned(),
    })
}

fn same_origin_by_the_browser(headers: &HeaderMap) -> bool {
    headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes() == b"same-origin")
}

/// The origin of a same-origin request's `Referer`. Only with the
/// browser's word that it is same-origin: a link from another site carries
/// that site's address.
fn from_referer(headers: &HeaderMap) -> Option<Reached> {
    if !same_origin_by_the_browser(headers) {
        return None;
    }
    let referer = header_text(headers, header::REFERER.as_str())?;
    let (scheme, rest) = referer.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    scheme_of(scheme)
        .zip(plausible_host(host).then_some(host))
        .map(|(scheme, host)| Reached {
            scheme: Some(scheme.to_owned()),
            host: host.to_owned(),
        })
}

/// `X-Forwarded-Host`, and `X-Forwarded-Proto` beside it; the first of
/// each list is the one nearest the browser.
fn forwarded(headers: &HeaderMap) -> Option<Reached> {
    let first = |name: &str| {
        header_text(headers, name)
            .and_then(|v| v.split(',').next())
            .map(str::trim)
    };
    let host = first("x-forwarded-host").filter(|h| plausible_host(h))?;
    Some(Reached {
        scheme: first("x-forwarded-proto")
            .and_then(scheme_of)
            .map(str::to_owned),
        host: host.to_owned(),
    })
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name)?.to_str().ok()
}

fn scheme_of(scheme: &str) -> Option<&'static str> {
    if scheme.eq_ignore_ascii_case("https") {
        Some("https")
    } else if scheme.eq_ignore_ascii_case("http") {
        Some("http")
    } else {
        None
    }
}

/// A `host[:port]` worth naming: short, no spaces, no user part.
fn plausible_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && !host.contains(['@', ' ', '/', '\\'])
        && !host.contains(char::is_control)
}

/// The port of `authority` (`host[:port]`) when its host is a loopback
/// name, `""` without one.
fn loopback_port(authority: &str) -> Option<&str> {
    let (name, port) = match authority.rsplit_once(':') {
        Some((name, port)) if !port.contains(']') => (name, port),
        _ => (authority, ""),
    };
    matches!(
        name.to_ascii_lowercase().as_str(),
        "localhost" | "127.0.0.1" | "[::1]"
    )
    .then_some(port)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use axum::http::HeaderValue;

    /// Request headers from name/value pairs.
    pub(in crate::http::console) fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(*k, HeaderValue::from_static(v));
        }
        map
    }

    fn shown(pairs: &[(&'static str, &'static str)], ours: &str) -> Option<String> {
        reached_elsewhere(&headers(pairs), ours).map(|r| r.shown())
    }

    #[test]
    fn a_host_other_than_the_made_up_public_url_is_noticed_but_loopback_names_agree() {
        let ours = "http://127.0.0.1:8080";
        let at = |host: &'static str| shown(&[("host", host)], ours);
        assert_eq!(at("127.0.0.1:8080"), None);
        assert_eq!(at("localhost:8080"), None);
        assert_eq!(at("[::1]:8080"), None);
        assert_eq!(at("localhost:9090").as_deref(), Some("localhost:9090"));
        assert_eq!(
            at("feedback.example.com").as_deref(),
            Some("feedback.example.com")
        );
        assert_eq!(at("10.0.0.5:8080").as_deref(), Some("10.0.0.5:8080"));
        assert_eq!(shown(&[], ours), None);
        assert_eq!(
            shown(&[("host", "localhost:8080")], "http://[::1]:8080"),
            None
        );
    }

    #[test]
    fn behind_a_proxy_that_rewrites_the_host_the_forwarded_host_and_scheme_tell() {
        let ours = "http://127.0.0.1:8080";
        let proxied = [
            ("host", "127.0.0.1:8080"),
            ("x-forwarded-host", "feedback.example.com, 10.0.0.9"),
            ("x-forwarded-proto", "https"),
        ];
        let reached = reached_elsewhere(&headers(&proxied), ours).unwrap();
        assert_eq!(reached.shown(), "https://feedback.example.com");
        assert_eq!(reached.public_url(), "https://feedback.example.com");
        // Without the scheme, https is what to suggest.
        let reached = reached_elsewhere(
            &headers(&[
                ("host", "127.0.0.1:8080"),
                ("x-forwarded-host", "fb.example"),
            ]),
            ours,
        )
        .unwrap();
        assert_eq!(
            (reached.shown().as_str(), reached.public_url().as_str()),
            ("fb.example", "https://fb.example")
        );
        // Same host, but browsers are on https while links say http.
        assert_eq!(
            shown(
                &[
                    ("host", "127.0.0.1:8080"),
                    ("x-forwarded-proto", "https"),
                    ("x-forwarded-host", "127.0.0.1:8080")
                ],
                ours
            )
            .as_deref(),
            Some("https://127.0.0.1:8080")
        );
        // Nonsense in the header is not named; Host answers instead.
        assert_eq!(
            shown(
                &[("host", "127.0.0.1:8080"), ("x-forwarded-host", "a b@c")],
                ours
            ),
            None
        );
    }

    #[test]
    fn the_browsers_own_address_bar_wins_but_only_on_its_word_that_it_is_same_origin() {
        let ours = "http://127.0.0.1:8080";
        let from = |fetch_site: &'static str| {
            shown(
                &[
                    ("host", "127.0.0.1:8080"),
                    ("referer", "https://feedback.example.com/console?view=all"),
                    ("sec-fetch-site", fetch_site),
                ],
                ours,
            )
        };
        assert_eq!(
            from("same-origin").as_deref(),
            Some("https://feedback.example.com")
        );
        // A link from another site carries that site's address.
        assert_eq!(from("cross-site"), None);
        assert_eq!(from("none"), None);
        // Reached where it believes it is: nothing to say.
        assert_eq!(
            shown(
                &[
                    ("host", "127.0.0.1:8080"),
                    ("referer", "http://localhost:8080/console"),
                    ("sec-fetch-site", "same-origin"),
                ],
                ours
            ),
            None
        );
    }
}
