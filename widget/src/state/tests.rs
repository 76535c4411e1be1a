use super::*;

const KEY: &str = "key-0000000000001";

/// What Send would post from `s` at `now`, from any page.
fn request(s: &State, key: &str, now: f64) -> Result<FeedbackRequest, Vec<ErrorBody>> {
    s.request("site", key, now, PageInfo::default(), ClientInfo::default())
}

fn accepted() -> FeedbackAccepted {
    FeedbackAccepted {
        id: "1".into(),
        reference: "ES-ABCD-EFGH".into(),
        status_url: "http://x/s/t".into(),
        response_promise: None,
    }
}

fn typed(message: &str) -> State {
    let mut s = State::default();
    s.apply(Action::Open(1_000.0));
    s.apply(Action::Edit(Input::Message, message.into()));
    s
}

#[test]
fn a_queued_draft_is_cleared_when_the_outbox_delivers_it() {
    let mut s = typed("it broke");
    s.apply(Action::Sending {
        idempotency_key: "key-0000000000001".into(),
    });
    s.apply(Action::Queued {
        key: "key-0000000000001".into(),
        rate_limited: false,
        retry_at: 5_000.0,
        saved: true,
    });
    assert!(matches!(s.phase, Phase::Queued { .. }));
    assert_eq!(s.draft.message, "it broke");
    s.apply(Action::Delivered {
        key: "someone-else-0001".into(),
        accepted: accepted(),
    });
    assert_eq!(s.draft.message, "it broke");
    s.apply(Action::Delivered {
        key: "key-0000000000001".into(),
        accepted: accepted(),
    });
    assert!(s.draft.is_blank());
    assert_eq!(s.phase, Phase::Sent(accepted()));
}

#[test]
fn a_refused_queued_submission_comes_back_into_an_empty_form() {
    let mut s = typed("it broke");
    let request = request(&s, KEY, 2_000.0).unwrap();
    s.apply(Action::StartOver);
    let refusal = ErrorBody {
        code: "too_long".into(),
        message: "shorter, please".into(),
        field: Some("message".into()),
    };
    s.apply(Action::Restore(Box::new(request.clone()), refusal.clone()));
    assert_eq!(s.draft.message, "it broke");
    assert_eq!(s.draft.idempotency_key, None);
    assert_eq!(
        s.error_for(Input::Message),
        Some("Please keep this under 5000 characters.")
    );
    // Not over something the customer is writing now.
    let mut busy = typed("something new");
    busy.apply(Action::Restore(Box::new(request), refusal));
    assert_eq!(busy.draft.message, "something new");
}

#[test]
fn identify_and_prefill_fill_in_without_overwriting_words() {
    let mut s = State::default();
    s.apply(Action::Identify {
        email: Some("ana@example.com".into()),
        name: Some("Ana".into()),
    });
    s.apply(Action::Prefill {
        kind: Some(Kind::Idea),
        message: Some("Dark mode".into()),
    });
    assert_eq!(
        (s.draft.kind, s.draft.message.as_str()),
        (Kind::Idea, "Dark mode")
    );
    s.apply(Action::Prefill {
        kind: Some(Kind::Praise),
        message: Some("other".into()),
    });
    assert_eq!(s.draft.message, "Dark mode");
    let req = request(&s, KEY, 0.0).unwrap();
    assert_eq!(req.name.as_deref(), Some("Ana"));
    assert_eq!(req.email.as_deref(), Some("ana@example.com"));
    s.apply(Action::Sent(accepted()));
    assert_eq!(s.draft.email, "ana@example.com");
    assert!(s.draft.is_blank());
}

#[test]
fn host_context_is_cut_to_what_the_collector_accepts() {
    let mut s = typed("it broke");
    let mut entries: Vec<(String, String)> = vec![
        ("<bad key>".into(), "x".into()),
        ("a.long".into(), "y".repeat(600)),
        ("plan".into(), "free".into()),
    ];
    entries.extend((0..30).map(|i| (format!("k{i:02}"), "v".to_owned())));
    entries.push(("plan".into(), "pro".into()));
    s.apply(Action::SetContext(entries));
    let req = request(&s, KEY, 0.0).unwrap();
    let context = req.context.unwrap();
    assert_eq!(context.len(), limits::CONTEXT_ENTRIES_MAX);
    let long = context.get("a.long").unwrap();
    assert_eq!(long.chars().count(), limits::CONTEXT_VALUE_MAX);
    assert_eq!(context.get("plan"), Some("pro"));
    assert_eq!(context.get("<bad key>"), None);
    // The host's first keys are the ones kept.
    assert_eq!(context.get("k17"), Some("v"));
    assert_eq!(context.get("k18"), None);
}

#[test]
fn severity_and_name_travel_with_the_request() {
    let mut s = typed("checkout froze");
    s.apply(Action::SetSeverity(Some(Severity::Blocking)));
    s.apply(Action::Edit(Input::Name, "Ana".into()));
    let req = request(&s, KEY, 0.0).unwrap();
    assert_eq!(req.severity, Some(Severity::Blocking));
    assert_eq!(req.name.as_deref(), Some("Ana"));
    s.apply(Action::Sent(accepted()));
    assert_eq!(s.draft.severity, None, "severity is about one message");
    assert_eq!(s.draft.name, "Ana", "who they are stays");
}

#[test]
fn only_supported_images_within_the_limit_can_be_attached() {
    assert_eq!(check_image("image/png", 1_000.0), Ok(()));
    assert_eq!(check_image("image/svg+xml", 10.0), Err(Key::BadImageType));
    assert_eq!(check_image("", 10.0), Err(Key::BadImageType));
    assert_eq!(
        check_image("image/jpeg", (limits::ATTACHMENT_MAX_BYTES + 1) as f64),
        Err(Key::BadImageSize)
    );
}

#[test]
fn a_rejected_screenshot_is_explained_beside_its_field() {
    let mut s = typed("see picture");
    s.apply(Action::ChooseScreenshot(Some(Screenshot {
        name: "a.png".into(),
        kb: 12,
    })));
    s.apply(Action::ScreenshotRejected(Key::BadImageType));
    assert_eq!(s.screenshot, None);
    assert_eq!(
        s.error_for(Input::Screenshot),
        Some("Please choose a PNG, JPEG, WebP or GIF image.")
    );
    s.apply(Action::ChooseScreenshot(Some(Screenshot {
        name: "b.png".into(),
        kb: 3,
    })));
    assert_eq!(s.error_for(Input::Screenshot), None);
    s.apply(Action::Sent(accepted()));
    s.apply(Action::Upload(Upload::Sending));
    assert_eq!(s.screenshot, None);
    assert_eq!(s.upload, Some(Upload::Sending));
    s.apply(Action::StartOver);
    assert_eq!(s.upload, None);
}

#[test]
fn closing_keeps_the_draft() {
    let mut s = typed("half a thought");
    s.apply(Action::Close);
    assert!(!s.open);
    assert_eq!(s.draft.message, "half a thought");
}

#[test]
fn only_a_confirmed_send_clears_the_draft() {
    let mut s = typed("it broke");
    s.apply(Action::Sending {
        idempotency_key: "k".repeat(16),
    });
    s.apply(Action::Unreachable);
    assert_eq!(s.draft.message, "it broke");
    assert!(matches!(s.phase, Phase::Failed { .. }));
    s.apply(Action::Sending {
        idempotency_key: "other".repeat(4),
    });
    s.apply(Action::Sent(accepted()));
    assert_eq!(s.draft, Draft::default());
    assert_eq!(s.phase, Phase::Sent(accepted()));
}

#[test]
fn a_retry_reuses_the_first_idempotency_key() {
    let mut s = typed("it broke");
    s.apply(Action::Sending {
        idempotency_key: "first-key-0000000".into(),
    });
    s.apply(Action::Unreachable);
    s.apply(Action::Sending {
        idempotency_key: "second-key-000000".into(),
    });
    let req = request(&s, "third-key-0000000", 0.0).unwrap();
    assert_eq!(req.idempotency_key.as_deref(), Some("first-key-0000000"));
}

#[test]
fn server_rejection_is_shown_beside_its_field_until_edited() {
    let mut s = typed("hi");
    s.apply(Action::Rejected(ErrorBody {
        code: "invalid_email".into(),
        message: "That email address looks wrong.".into(),
        field: Some("email".into()),
    }));
    assert_eq!(
        s.error_for(Input::Email),
        Some("That email address does not look right.")
    );
    // In German for a German page; the server's English stays out.
    let mut de = State::new(Strings::new(crate::strings::Lang::De));
    de.apply(Action::Rejected(ErrorBody {
        code: "invalid_email".into(),
        message: "email is not a valid email address".into(),
        field: Some("email".into()),
    }));
    assert_eq!(
        de.error_for(Input::Email),
        Some("Diese E-Mail-Adresse scheint nicht zu stimmen.")
    );
    assert_eq!(s.error_for(Input::Message), None);
    s.apply(Action::Edit(Input::Email, "a@b.example".into()));
    assert_eq!(s.error_for(Input::Email), None);
}

#[test]
fn every_invalid_field_is_shown_at_once_and_each_clears_on_its_own() {
    let mut s = State::default();
    s.apply(Action::SetKind(Kind::Expectation));
    s.apply(Action::Edit(Input::Email, "not an email".into()));
    let errors = request(&s, KEY, 0.0).unwrap_err();
    s.apply(Action::Invalid(errors));
    assert_eq!(s.first_invalid(), Some("expected"));
    for input in [Input::Expected, Input::Actual, Input::Email] {
        assert!(s.error_for(input).is_some(), "{input:?}");
    }
    s.apply(Action::Edit(Input::Expected, "A refund".into()));
    assert_eq!(s.error_for(Input::Expected), None);
    assert!(s.error_for(Input::Actual).is_some(), "the others stay");
    assert_eq!(s.first_invalid(), Some("actual"));
    s.apply(Action::Edit(Input::Actual, "A voucher".into()));
    s.apply(Action::Edit(Input::Email, "a@b.example".into()));
    assert_eq!(s.phase, Phase::Editing);
}

#[test]
fn request_is_checked_with_the_collector_rules() {
    let mut s = State::default();
    s.apply(Action::SetKind(Kind::Expectation));
    s.apply(Action::Edit(Input::Expected, "A refund".into()));
    let err = request(&s, KEY, 0.0).unwrap_err();
    let fields: Vec<Option<&str>> = err.iter().map(|e| e.field.as_deref()).collect();
    assert_eq!(fields, [Some("actual")]);
    s.apply(Action::Edit(Input::Actual, "A voucher".into()));
    let req = request(&s, KEY, 0.0).unwrap();
    assert_eq!(req.expected.as_deref(), Some("A refund"));
    assert_eq!(req.message, None);
}

#[test]
fn fill_time_runs_from_the_first_opening_of_the_draft() {
    let mut s = typed("slow and careful");
    s.apply(Action::Close);
    s.apply(Action::Open(50_000.0));
    let req = request(&s, KEY, 9_000.0).unwrap();
    assert_eq!(req.fill_ms, Some(8_000));
    assert_eq!(req.hp, None);
    s.apply(Action::Edit(Input::Honeypot, "http://spam.example".into()));
    let req = request(&s, KEY, 9_000.0).unwrap();
    assert_eq!(req.hp.as_deref(), Some("http://spam.example"));
}

#[test]
fn expectation_fields_are_not_sent_for_other_kinds() {
    let mut s = typed("An idea");
    s.apply(Action::Edit(Input::Expected, "left over".into()));
    s.apply(Action::SetKind(Kind::Idea));
    let req = request(&s, KEY, 0.0).unwrap();
    assert_eq!(req.expected, None);
    assert_eq!(req.kind, Kind::Idea);
}
