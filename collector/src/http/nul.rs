//! U+0000 is refused at the door. PostgreSQL's text cannot hold it (a
//! value with one fails the whole statement), SQLite's can, and no person
//! types one: a NUL in an address, a staff form or a staff API body is
//! answered with a specific 4xx on both backends alike, never a 500 on
//! one and a stored value on the other. What customers send is not
//! refused for it: their text is cleaned of control characters instead
//! (`earshot_protocol::submission::Text`), so no submission is lost.

use axum::http::Uri;
use serde_json::Value;

/// Whether the path or query holds a percent-encoded NUL. `%00` decodes
/// to NUL wherever it stands (a `%` before it cannot escape it), and a raw
/// NUL byte never gets past the HTTP parser.
pub fn in_address(uri: &Uri) -> bool {
    uri.path_and_query()
        .is_some_and(|p| p.as_str().contains("%00"))
}

/// Whether a url-encoded form holds a NUL, encoded or raw.
pub fn in_form(body: &[u8]) -> bool {
    body.contains(&0) || body.windows(3).any(|w| w == b"%00")
}

/// Where a JSON body holds a NUL in a string or a member's name, as the
/// API names fields (`promise.text`, `ids[2]`; `body` for the whole
/// body): `None` when it holds none. JSON can only carry one as the escape
/// `\u0000`, so bodies without that text are not parsed again.
pub fn in_json(body: &[u8]) -> Option<String> {
    if !body.windows(6).any(|w| w == b"\\u0000") {
        return None;
    }
    // Not JSON: the parse that follows answers that.
    let value: Value = serde_json::from_slice(body).ok()?;
    find(&value, "")
}

fn find(value: &Value, path: &str) -> Option<String> {
    let here = || {
        if path.is_empty() {
            "body".to_owned()
        } else {
            path.to_owned()
        }
    };
    match value {
        Value::String(s) => s.contains('\0').then(here),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| find(item, &format!("{path}[{i}]"))),
        Value::Object(members) => members.iter().find_map(|(name, item)| {
            if name.contains('\0') {
                return Some(here());
            }
            let inner = if path.is_empty() {
                name.clone()
            } else {
                format!("{path}.{name}")
            };
            find(item, &inner)
        }),
        Value::Null | Value::Bool(_) | Value::Number(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_encoded_nul_anywhere_in_the_address_is_found() {
        for uri in [
            "/console/entries/%00",
            "/console/sites?q=a%00b",
            "/api/v1/entries?q=%00",
        ] {
            assert!(in_address(&uri.parse().unwrap()), "{uri}");
        }
    }

    #[test]
    fn an_escaped_percent_or_other_codes_are_not_a_nul() {
        for uri in ["/console?q=%2500", "/console?q=100%25", "/s/e_1.x?q=%01%20"] {
            assert!(!in_address(&uri.parse().unwrap()), "{uri}");
        }
    }

    #[test]
    fn a_form_with_an_encoded_or_raw_nul_is_found_and_a_plain_one_is_not() {
        assert!(in_form(b"_csrf=x&body=a%00b"));
        assert!(in_form(b"body=a\0b"));
        assert!(!in_form(b"_csrf=x&body=100%25+sure%0D%0Aok"));
    }

    #[test]
    fn a_json_nul_is_found_with_the_field_that_holds_it() {
        assert_eq!(in_json(br#"{"body":"a\u0000b"}"#).as_deref(), Some("body"));
        assert_eq!(
            in_json(br#"{"body":"ok","promise":{"text":"\u0000","due":"2026-12-31"}}"#).as_deref(),
            Some("promise.text")
        );
        assert_eq!(
            in_json(br#"{"ids":["a","b\u0000"]}"#).as_deref(),
            Some("ids[1]")
        );
        assert_eq!(in_json(br#""\u0000""#).as_deref(), Some("body"));
        assert_eq!(in_json(br#"{"x":{"na\u0000me":1}}"#).as_deref(), Some("x"));
    }

    #[test]
    fn an_escaped_backslash_before_u0000_is_text_not_a_nul() {
        assert_eq!(in_json(br#"{"body":"C:\\u0000"}"#), None);
        assert_eq!(in_json(br#"{"body":"plain"}"#), None);
        assert_eq!(in_json(b"not json \\u0000"), None);
    }
}
