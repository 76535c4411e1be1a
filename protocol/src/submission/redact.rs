//! Secrets and addresses out of the page URLs a submission carries. A
//! customer may send feedback from a password-reset link, an OAuth
//! callback or an unsubscribe page; its URL would then carry a token or an
//! email address into the inbox, exports, webhooks and Slack, and an
//! address in a URL is one an erasure by email never finds. The collector
//! stores [`HttpUrl::without_secrets`]; the widget sends what the page
//! says and never calls it.

use super::{HttpUrl, PageContext};
use crate::limits;

/// What a removed value reads as.
pub const REDACTED: &str = "[redacted]";

/// Parameter names that carry a secret wherever they appear in the name
/// (`access_token`, `X-Amz-Signature`, `client_secret`, `sessionId`),
/// compared on letters and digits only, lowercased.
const SECRET_PARTS: [&str; 10] = [
    "token",
    "secret",
    "password",
    "passwd",
    "apikey",
    "accesskey",
    "privatekey",
    "signature",
    "credential",
    "session",
];

/// Names that carry a secret only when they are the whole name: as parts
/// they are too common (`author`, `keyword`, `passenger`).
const SECRET_NAMES: [&str; 9] = [
    "auth",
    "authorization",
    "key",
    "pass",
    "pwd",
    "sig",
    "sid",
    "otp",
    "jwt",
];

impl PageContext {
    /// The page's and its referrer's URLs [without their
    /// secrets](HttpUrl::without_secrets).
    pub fn without_secrets(self) -> PageContext {
        PageContext {
            url: self.url.as_ref().map(HttpUrl::without_secrets),
            referrer: self.referrer.as_ref().map(HttpUrl::without_secrets),
            ..self
        }
    }
}

impl HttpUrl {
    /// This URL with credentials before its host, path segments that are
    /// email addresses, and the values of query and fragment parameters
    /// that are email addresses or whose names say they are secret
    /// replaced by `[redacted]`. Everything else is kept as written.
    pub fn without_secrets(&self) -> HttpUrl {
        let url = self.as_str();
        let (before_fragment, fragment) = split(url, '#');
        let (address, query) = split(before_fragment, '?');
        // Parsing accepted only `http://` or `https://` with a host.
        let (scheme, rest) = address.split_at(address.find("://").map_or(0, |i| i + 3));
        let (authority, path) = split_keeping(rest, '/');
        let mut out = String::with_capacity(url.len());
        out.push_str(scheme);
        match authority.rsplit_once('@') {
            Some((_, host)) => {
                out.push_str(REDACTED);
                out.push('@');
                out.push_str(host);
            }
            None => out.push_str(authority),
        }
        for (i, segment) in path.split('/').enumerate() {
            if i > 0 {
                out.push('/');
            }
            out.push_str(if is_email(segment) { REDACTED } else { segment });
        }
        let kept_address = out.len();
        if let Some(query) = query {
            out.push('?');
            push_params(&mut out, query);
        }
        if let Some(fragment) = fragment {
            out.push('#');
            // OAuth's implicit flow answers in the fragment
            // (`#access_token=…&token_type=bearer`), and a single-page
            // app's route may carry a query of its own (`#/reset?token=…`).
            match fragment.split_once('?') {
                Some((route, query)) => {
                    out.push_str(route);
                    out.push('?');
                    push_params(&mut out, query);
                }
                None if fragment.contains('=') => push_params(&mut out, fragment),
                None => out.push_str(fragment),
            }
        }
        // `[redacted]` outgrows a value of fewer than ten characters: past
        // the limit (only a URL near it with many short secrets) the query
        // and fragment go whole rather than in part.
        if out.chars().count() > limits::URL_MAX {
            out.truncate(kept_address);
        }
        HttpUrl(out)
    }
}

/// `text` before and after the first `separator`, which goes.
fn split(text: &str, separator: char) -> (&str, Option<&str>) {
    match text.split_once(separator) {
        Some((before, after)) => (before, Some(after)),
        None => (text, None),
    }
}

/// `text` before the first `separator` and from it on.
fn split_keeping(text: &str, separator: char) -> (&str, &str) {
    text.split_at(text.find(separator).unwrap_or(text.len()))
}

fn push_params(out: &mut String, params: &str) {
    for (i, param) in params.split('&').enumerate() {
        if i > 0 {
            out.push('&');
        }
        match param.split_once('=') {
            Some((name, value)) if !value.is_empty() && (is_secret(name) || is_email(value)) => {
                out.push_str(name);
                out.push('=');
                out.push_str(REDACTED);
            }
            _ => out.push_str(param),
        }
    }
}

fn is_secret(name: &str) -> bool {
    let name: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    SECRET_NAMES.contains(&name.as_str()) || SECRET_PARTS.iter().any(|part| name.contains(part))
}

/// `ana@example.com`, also percent-encoded (`ana%40example.com`): an `@`
/// with something before it and a dotted name after it.
fn is_email(text: &str) -> bool {
    let text = text.replace("%40", "@");
    text.rsplit_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && domain
                .split_once('.')
                .is_some_and(|(name, tld)| !name.is_empty() && !tld.is_empty())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::submission::Field;

    fn redacted(url: &str) -> String {
        HttpUrl::parse(Some(url), Field::PageUrl)
            .unwrap()
            .unwrap()
            .without_secrets()
            .as_str()
            .to_owned()
    }

    #[test]
    fn a_url_without_secrets_is_kept_as_written() {
        for url in [
            "https://shop.example",
            "https://shop.example/",
            "https://shop.example/cart?step=2&coupon=SUMMER24#delivery",
            "https://shop.example/search?q=key+lime&author=ana&keyword=pie&code=4411",
            "https://shop.example/a//b/?&=x&flag&empty=#top",
            "HTTP://Shop.Example:8080/Path?Q=1",
        ] {
            assert_eq!(redacted(url), url);
        }
    }

    #[test]
    fn secret_looking_parameters_lose_their_values() {
        assert_eq!(
            redacted("https://shop.example/reset?token=abc123&lang=de"),
            "https://shop.example/reset?token=[redacted]&lang=de"
        );
        assert_eq!(
            redacted(
                "https://cdn.example/f.png?X-Amz-Credential=AK%2F1&X-Amz-Signature=9f&X-Amz-Expires=60"
            ),
            "https://cdn.example/f.png?X-Amz-Credential=[redacted]&X-Amz-Signature=[redacted]&X-Amz-Expires=60"
        );
        assert_eq!(
            redacted("https://app.example/?apiKey=k&key=k2&sessionId=s&pwd=p&client_secret=c"),
            "https://app.example/?apiKey=[redacted]&key=[redacted]&sessionId=[redacted]&pwd=[redacted]&client_secret=[redacted]"
        );
    }

    #[test]
    fn email_addresses_in_the_path_query_or_credentials_are_removed() {
        assert_eq!(
            redacted("https://shop.example/unsubscribe?email=ana%40example.com&list=news"),
            "https://shop.example/unsubscribe?email=[redacted]&list=news"
        );
        assert_eq!(
            redacted("https://shop.example/users/ana@example.com/orders?to=Ana@Example.org"),
            "https://shop.example/users/[redacted]/orders?to=[redacted]"
        );
        assert_eq!(
            redacted("https://admin:hunter2@intranet.example/feedback"),
            "https://[redacted]@intranet.example/feedback"
        );
        // A handle is no address.
        assert_eq!(
            redacted("https://social.example/@ana?ref=@shop"),
            "https://social.example/@ana?ref=@shop"
        );
    }

    #[test]
    fn secrets_in_the_fragment_are_removed_too() {
        assert_eq!(
            redacted("https://app.example/callback#access_token=ey.J&token_type=bearer&state=x"),
            "https://app.example/callback#access_token=[redacted]&token_type=[redacted]&state=x"
        );
        assert_eq!(
            redacted("https://app.example/#/reset?password_token=abc&step=1"),
            "https://app.example/#/reset?password_token=[redacted]&step=1"
        );
        assert_eq!(
            redacted("https://app.example/docs#section-2"),
            "https://app.example/docs#section-2"
        );
    }

    #[test]
    fn a_url_that_would_outgrow_the_limit_keeps_only_its_address() {
        let address = "https://shop.example/reset";
        let mut url = format!("{address}?pwd=1");
        while url.len() + 6 <= limits::URL_MAX {
            url.push_str("&pwd=1");
        }
        assert!(url.len() <= limits::URL_MAX);
        assert_eq!(redacted(&url), address);
    }

    proptest::proptest! {
        /// Whatever the URL, what is kept is a URL the collector accepts,
        /// and removing again removes nothing more.
        #[test]
        fn what_is_kept_parses_and_stays_as_it_is(
            url in "https?://[a-z@:.]{1,12}(/[a-z@%0-9.]{0,8}){0,3}(\\?([a-z_]{0,8}(=[a-z@%0-9.]{0,10})?&?){0,4})?(#[a-z/?=&@.]{0,20})?"
        ) {
            if let Ok(Some(url)) = HttpUrl::parse(Some(&url), Field::PageUrl) {
                let kept = url.without_secrets();
                let again = HttpUrl::parse(Some(kept.as_str()), Field::PageUrl);
                proptest::prop_assert_eq!(again, Ok(Some(kept.clone())));
                proptest::prop_assert_eq!(kept.without_secrets(), kept);
            }
        }
    }
}
