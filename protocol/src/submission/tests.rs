use super::*;
use crate::wire::{ClientInfo, PageInfo};

#[test]
fn field_errors_name_every_broken_field_in_form_order() {
    let mut req = request(Kind::Expectation);
    req.message = Some("x".repeat(limits::MESSAGE_MAX + 1));
    req.email = Some("not an email".into());
    let errors = Submission::field_errors(&req);
    let fields: Vec<Field> = errors.iter().map(|e| e.field).collect();
    assert_eq!(
        fields,
        [Field::Expected, Field::Actual, Field::Message, Field::Email]
    );
    // What `parse` reports first is among them.
    assert!(errors.contains(&Submission::parse(&req).unwrap_err()));
    assert!(Submission::field_errors(&request(Kind::Complaint)).is_empty());
}

fn request(kind: Kind) -> FeedbackRequest {
    FeedbackRequest {
        site: "site_abc".into(),
        kind,
        message: Some("The checkout button did nothing.".into()),
        expected: None,
        actual: None,
        severity: None,
        email: None,
        name: None,
        page: PageInfo::default(),
        client: ClientInfo::default(),
        context: None,
        idempotency_key: None,
        hp: None,
        fill_ms: None,
    }
}

fn error_of(req: &FeedbackRequest) -> (Field, Problem) {
    match Submission::parse(req) {
        Ok(s) => panic!("expected a validation error, got {s:?}"),
        Err(e) => (e.field, e.problem),
    }
}

#[test]
fn complaint_with_message_parses() {
    let s = Submission::parse(&request(Kind::Complaint)).unwrap();
    assert_eq!(s.body.message(), Some("The checkout button did nothing."));
    assert_eq!(s.kind, Kind::Complaint);
}

#[test]
fn message_is_required_for_every_kind_but_expectation() {
    for kind in [Kind::Complaint, Kind::Idea, Kind::Praise, Kind::Question] {
        let mut req = request(kind);
        req.message = Some("   \n\t ".into());
        assert_eq!(
            error_of(&req),
            (Field::Message, Problem::Required),
            "{kind:?}"
        );
        req.message = None;
        assert_eq!(
            error_of(&req),
            (Field::Message, Problem::Required),
            "{kind:?}"
        );
    }
}

#[test]
fn expectation_needs_expected_and_actual_but_not_message() {
    let mut req = request(Kind::Expectation);
    req.message = None;
    assert_eq!(error_of(&req), (Field::Expected, Problem::Required));
    req.expected = Some("A receipt by email".into());
    assert_eq!(error_of(&req), (Field::Actual, Problem::Required));
    req.actual = Some("Nothing arrived".into());
    let s = Submission::parse(&req).unwrap();
    assert_eq!(s.body.expected(), Some("A receipt by email"));
    assert_eq!(s.body.actual(), Some("Nothing arrived"));
    assert_eq!(s.body.message(), None);
}

#[test]
fn message_limit_counts_characters_not_bytes() {
    let mut req = request(Kind::Idea);
    req.message = Some("é".repeat(limits::MESSAGE_MAX));
    assert!(Submission::parse(&req).is_ok());
    req.message = Some("é".repeat(limits::MESSAGE_MAX + 1));
    assert_eq!(
        error_of(&req),
        (
            Field::Message,
            Problem::TooLong {
                max: limits::MESSAGE_MAX
            }
        )
    );
}

#[test]
fn control_characters_are_stripped_but_line_breaks_kept() {
    let mut req = request(Kind::Complaint);
    req.message = Some("  line one\r\nline\u{0007} two\u{202E}\t!  ".into());
    let s = Submission::parse(&req).unwrap();
    assert_eq!(s.body.message(), Some("line one\nline two\t!"));
}

#[test]
fn windows_line_endings_become_one_break_and_none_in_single_line_text() {
    for (raw, multiline, kept) in [
        ("one\r\ntwo\r\n", true, "one\ntwo"),
        ("one\r\r\ntwo", true, "one\ntwo"),
        ("Ana\r\nMaria", false, "AnaMaria"),
    ] {
        let text = Text::parse(Some(raw), Field::Message, 100, multiline)
            .unwrap()
            .unwrap();
        assert_eq!(text.as_str(), kept, "{raw:?}");
    }
}

#[test]
fn email_is_optional_but_checked_when_given() {
    let mut req = request(Kind::Complaint);
    req.email = Some("  ".into());
    assert_eq!(Submission::parse(&req).unwrap().email, None);
    for bad in [
        "nobody",
        "a@b",
        "a b@example.com",
        "@example.com",
        "a@.com",
        "a@example..com",
    ] {
        req.email = Some(bad.into());
        assert_eq!(
            error_of(&req),
            (Field::Email, Problem::InvalidEmail),
            "{bad}"
        );
    }
    req.email = Some(" Ana.Lima+shop@example.co.uk ".into());
    let s = Submission::parse(&req).unwrap();
    assert_eq!(s.email.unwrap().as_str(), "Ana.Lima+shop@example.co.uk");
}

#[test]
fn page_urls_must_be_http_or_https() {
    let mut req = request(Kind::Complaint);
    for bad in [
        "javascript:alert(1)",
        "data:text/html,x",
        "ftp://x.org",
        "https://",
        "//evil.org",
        "http://a b",
    ] {
        req.page.url = Some(bad.into());
        assert_eq!(
            error_of(&req),
            (Field::PageUrl, Problem::InvalidUrl),
            "{bad}"
        );
    }
    req.page.url = Some("HTTPS://shop.example/cart?x=1".into());
    req.page.referrer = Some("javascript:void(0)".into());
    assert_eq!(error_of(&req), (Field::PageReferrer, Problem::InvalidUrl));
    req.page.referrer = Some(String::new());
    let s = Submission::parse(&req).unwrap();
    assert_eq!(
        s.page.url.unwrap().as_str(),
        "HTTPS://shop.example/cart?x=1"
    );
    assert_eq!(s.page.referrer, None);
}

#[test]
fn site_key_alphabet_is_restricted() {
    let mut req = request(Kind::Praise);
    req.site = String::new();
    assert_eq!(error_of(&req), (Field::Site, Problem::Required));
    req.site = "site key".into();
    assert_eq!(error_of(&req), (Field::Site, Problem::InvalidFormat));
    req.site = "x".repeat(65);
    assert_eq!(error_of(&req), (Field::Site, Problem::TooLong { max: 64 }));
}

#[test]
fn idempotency_key_accepts_a_uuid_and_rejects_junk() {
    let mut req = request(Kind::Question);
    req.idempotency_key = Some("5f0c1c4e-8a7b-4c1e-9d2a-3b6f7e8d9c0a".into());
    assert!(Submission::parse(&req).unwrap().idempotency_key.is_some());
    req.idempotency_key = Some("short".into());
    assert_eq!(
        error_of(&req),
        (Field::IdempotencyKey, Problem::TooShort { min: 16 })
    );
    req.idempotency_key = Some("'; drop table entries; --xxxxxxxx".into());
    assert_eq!(
        error_of(&req),
        (Field::IdempotencyKey, Problem::InvalidFormat)
    );
}

#[test]
fn wire_format_rejects_unknown_fields_and_kinds() {
    let unknown_field = r#"{"site":"s","kind":"idea","message":"m","admin":true}"#;
    assert!(serde_json::from_str::<FeedbackRequest>(unknown_field).is_err());
    let unknown_kind = r#"{"site":"s","kind":"rant","message":"m"}"#;
    assert!(serde_json::from_str::<FeedbackRequest>(unknown_kind).is_err());
    let minimal = r#"{"site":"s","kind":"expectation","expected":"e","actual":"a"}"#;
    let req: FeedbackRequest = serde_json::from_str(minimal).unwrap();
    assert_eq!(req.kind, Kind::Expectation);
}

#[test]
fn bot_signals_are_carried_through() {
    let mut req = request(Kind::Complaint);
    assert_eq!(
        Submission::parse(&req).unwrap().bot_signals,
        BotSignals::default()
    );
    req.hp = Some("http://spam.example".into());
    req.fill_ms = Some(120);
    let signals = Submission::parse(&req).unwrap().bot_signals;
    assert!(signals.honeypot_filled);
    assert_eq!(signals.fill_ms, Some(120));
    req.hp = Some("  ".into());
    assert!(!Submission::parse(&req).unwrap().bot_signals.honeypot_filled);
}

#[test]
fn a_field_with_nothing_visible_in_it_is_empty() {
    for blank in [
        "\u{200B}\u{200E}\u{200F}",
        " \u{FEFF} ",
        "\u{2060}\u{3164}\t\u{00A0}",
        "\u{00AD}\u{FE0F}",
        "\u{0}\u{85}",
    ] {
        let mut r = request(Kind::Complaint);
        r.message = Some(blank.into());
        let e = Submission::parse(&r).unwrap_err();
        assert_eq!(
            (e.field, e.problem),
            (Field::Message, Problem::Required),
            "{blank:?}"
        );
        r.message = Some("Real words".into());
        r.name = Some(blank.into());
        assert_eq!(Submission::parse(&r).unwrap().name, None, "{blank:?}");
    }
    // Joiners inside visible text are kept: they are part of the words.
    let mut r = request(Kind::Idea);
    r.message = Some("👩\u{200D}💻 می\u{200C}خواهم".into());
    assert_eq!(
        Submission::parse(&r).unwrap().body.message(),
        Some("👩\u{200D}💻 می\u{200C}خواهم")
    );
}

#[test]
fn limits_count_the_characters_as_sent() {
    let mut r = request(Kind::Complaint);
    r.message = Some(format!("{}  ", "a".repeat(limits::MESSAGE_MAX - 1)));
    let e = Submission::parse(&r).unwrap_err();
    assert_eq!(
        e.problem,
        Problem::TooLong {
            max: limits::MESSAGE_MAX
        }
    );
    r.message = Some(format!("{} ", "a".repeat(limits::MESSAGE_MAX - 1)));
    assert!(Submission::parse(&r).is_ok());
}

#[test]
fn the_two_sides_of_an_expectation_are_refused_on_other_kinds() {
    let mut r = request(Kind::Complaint);
    r.expected = Some("Free shipping".into());
    let e = Submission::parse(&r).unwrap_err();
    assert_eq!((e.field, e.problem), (Field::Expected, Problem::NotForKind));
    r.expected = Some("x".repeat(limits::EXPECTED_MAX + 1));
    assert_eq!(
        Submission::parse(&r).unwrap_err().problem,
        Problem::TooLong {
            max: limits::EXPECTED_MAX
        }
    );
    // Blank sides say nothing and are fine.
    r.expected = Some(" \u{200B}".into());
    r.actual = None;
    assert!(Submission::parse(&r).is_ok());
}

#[test]
fn site_keys_are_taken_exactly_as_sent() {
    let mut r = request(Kind::Complaint);
    r.site = " site_abc".into();
    assert_eq!(
        Submission::parse(&r).unwrap_err().problem,
        Problem::InvalidFormat
    );
}

#[test]
fn error_messages_name_the_field_and_the_limit() {
    let e = ValidationError::new(Field::PageTitle, Problem::TooLong { max: 300 });
    assert_eq!(e.message(), "page.title must be at most 300 characters");
    assert_eq!(e.code(), "too_long");
}

#[test]
fn host_context_keeps_labelled_single_line_values() {
    let mut req = request(Kind::Idea);
    req.context = Some(
        [
            ("plan".to_owned(), " pro\n ".to_owned()),
            ("order.id".to_owned(), "A-17".to_owned()),
            ("blank".to_owned(), "  ".to_owned()),
            ("order.id".to_owned(), "A-18".to_owned()),
        ]
        .into_iter()
        .collect(),
    );
    let s = Submission::parse(&req).unwrap();
    let entries: Vec<_> = s.context.entries().collect();
    // In key order, a repeated key's last value.
    assert_eq!(entries, vec![("order.id", "A-18"), ("plan", "pro")]);
}

#[test]
fn host_context_rejects_markup_keys_long_values_and_too_many_entries() {
    let mut req = request(Kind::Idea);
    let problem = |req: &FeedbackRequest| Submission::parse(req).unwrap_err();
    req.context = Some([("<b>".to_owned(), "x".to_owned())].into_iter().collect());
    assert_eq!(problem(&req).problem, Problem::InvalidFormat);
    assert_eq!(problem(&req).field.as_str(), "context");
    req.context = Some(
        [("k".to_owned(), "x".repeat(limits::CONTEXT_VALUE_MAX + 1))]
            .into_iter()
            .collect(),
    );
    assert_eq!(
        problem(&req).problem,
        Problem::TooLong {
            max: limits::CONTEXT_VALUE_MAX
        }
    );
    req.context = Some(
        (0..=limits::CONTEXT_ENTRIES_MAX)
            .map(|i| (format!("k{i}"), "v".to_owned()))
            .collect(),
    );
    assert_eq!(problem(&req).code(), "too_many");
}
