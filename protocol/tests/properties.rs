//! Properties of the parsers over generated input: they never panic, and
//! whatever they accept satisfies the rules downstream code relies on.

use earshot_protocol::submission::{Email, SiteKey};
use earshot_protocol::{ClientInfo, FeedbackRequest, Kind, PageInfo, Submission, limits};
use proptest::prelude::*;

fn kind() -> impl Strategy<Value = Kind> {
    prop::sample::select(Kind::ALL.to_vec())
}

/// Any Unicode, biased towards the awkward: controls, bidi overrides,
/// line breaks, long runs.
fn text() -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop_oneof![
        ".{0,64}",
        "[\\x00-\\x1f\\u{202a}-\\u{202e} a\\n\\r\\t]{0,32}",
        Just("x".repeat(limits::MESSAGE_MAX + 1)),
        Just("é".repeat(limits::EXPECTED_MAX)),
    ])
}

fn request() -> impl Strategy<Value = FeedbackRequest> {
    (
        ("[a-z_]{0,8}", ".{0,4}"),
        kind(),
        (text(), text(), text(), text()),
        (text(), text(), text()),
        (text(), text(), text(), text()),
        (
            prop::option::of("[A-Za-z0-9_-]{0,70}|.{0,20}"),
            text(),
            prop::option::of(any::<u64>()),
        ),
    )
        .prop_map(
            |(
                (site, junk),
                kind,
                (message, expected, actual, email),
                (url, title, referrer),
                (ua, lang, tz, vp),
                (key, hp, fill_ms),
            )| {
                FeedbackRequest {
                    site: format!("{site}{junk}"),
                    kind,
                    message,
                    expected,
                    actual,
                    severity: None,
                    email,
                    name: None,
                    page: PageInfo {
                        url,
                        title,
                        referrer,
                    },
                    client: ClientInfo {
                        user_agent: ua,
                        language: lang,
                        timezone: tz,
                        viewport: vp,
                    },
                    context: None,
                    idempotency_key: key,
                    hp,
                    fill_ms,
                }
            },
        )
}

fn clean_multiline(s: &str) -> bool {
    s == s.trim() && !s.is_empty() && s.chars().all(|c| c == '\n' || c == '\t' || !c.is_control())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn accepted_submissions_satisfy_every_rule(req in request()) {
        if let Ok(s) = Submission::parse(&req) {
            if s.kind == Kind::Expectation {
                let expected = s.body.expected().unwrap();
                let actual = s.body.actual().unwrap();
                prop_assert!(clean_multiline(expected) && expected.chars().count() <= limits::EXPECTED_MAX);
                prop_assert!(clean_multiline(actual) && actual.chars().count() <= limits::ACTUAL_MAX);
            } else {
                prop_assert!(s.body.message().is_some());
            }
            if let Some(m) = s.body.message() {
                prop_assert!(clean_multiline(m) && m.chars().count() <= limits::MESSAGE_MAX);
            }
            for url in [&s.page.url, &s.page.referrer].into_iter().flatten() {
                let lower = url.as_str().to_ascii_lowercase();
                prop_assert!(lower.starts_with("http://") || lower.starts_with("https://"));
            }
            for line in [&s.page.title, &s.client.user_agent, &s.client.language].into_iter().flatten() {
                prop_assert!(!line.as_str().chars().any(char::is_control));
            }
            prop_assert!(s.site.as_str().bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'));
        }
    }

    #[test]
    fn parsing_is_stable_on_its_own_output(req in request()) {
        if let Ok(first) = Submission::parse(&req) {
            let mut again = req.clone();
            again.message = first.body.message().map(str::to_owned);
            again.expected = first.body.expected().map(str::to_owned);
            again.actual = first.body.actual().map(str::to_owned);
            let second = Submission::parse(&again).unwrap();
            prop_assert_eq!(first.body, second.body);
        }
    }

    #[test]
    fn plausible_emails_are_accepted(local in "[a-z0-9][a-z0-9.+_-]{0,30}", domain in "[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", tld in "[a-z]{2,8}") {
        let raw = format!("{local}@{domain}.{tld}");
        let email = Email::parse(&raw).unwrap();
        prop_assert_eq!(email.as_str(), raw.as_str());
    }

    #[test]
    fn emails_with_whitespace_inside_are_refused(a in "[a-z]{1,8}", b in "[a-z]{1,8}", ws in "[ \\t\\n]") {
        let raw = format!("{a}{ws}{b}@example.com");
        prop_assert!(Email::parse(&raw).is_err());
    }

    #[test]
    fn site_keys_round_trip(key in "[A-Za-z0-9_-]{1,64}") {
        let parsed = SiteKey::parse(&key).unwrap();
        prop_assert_eq!(parsed.as_str(), key.as_str());
    }

    #[test]
    fn image_headers_of_any_bytes_never_panic(
        prefix in proptest::sample::select(vec![
            b"\x89PNG\r\n\x1a\n".to_vec(),
            vec![0xFF, 0xD8, 0xFF],
            b"RIFF\0\0\0\0WEBPVP8X".to_vec(),
            b"RIFF\0\0\0\0WEBPVP8L".to_vec(),
            b"GIF89a".to_vec(),
        ]),
        tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256),
    ) {
        let bytes = [prefix, tail].concat();
        if let Some(image) = earshot_protocol::ImageType::sniff(&bytes) {
            let _ = image.dimensions(&bytes);
        }
    }
}
