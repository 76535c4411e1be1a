//! Parse, don't validate: a [`Submission`] can only be built from a
//! [`FeedbackRequest`] that satisfies every rule, so code holding one never
//! re-checks anything.

mod problem;
mod text;
mod values;

pub use problem::{Field, Problem, ValidationError};
pub use text::{CONTROL, INVISIBLE, Text, WHITE_SPACE, has_visible};
pub use values::{Email, HttpUrl, IdempotencyKey, SiteKey};

use crate::limits;
use crate::wire::{ContextMap, FeedbackRequest, Kind, Severity};

/// Page context, every part optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageContext {
    pub url: Option<HttpUrl>,
    pub title: Option<Text>,
    pub referrer: Option<HttpUrl>,
}

/// Browser context, every part optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientContext {
    pub user_agent: Option<Text>,
    pub language: Option<Text>,
    pub timezone: Option<Text>,
    pub viewport: Option<Text>,
}

/// What the customer said, shaped by kind: an expectation mismatch always has
/// both sides; every other kind always has a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    Message(Text),
    Expectation {
        expected: Text,
        actual: Text,
        /// Optional extra words beside the two sides.
        message: Option<Text>,
    },
}

impl Body {
    pub fn message(&self) -> Option<&str> {
        match self {
            Body::Message(m) => Some(m.as_str()),
            Body::Expectation { message, .. } => message.as_ref().map(Text::as_str),
        }
    }

    pub fn expected(&self) -> Option<&str> {
        match self {
            Body::Message(_) => None,
            Body::Expectation { expected, .. } => Some(expected.as_str()),
        }
    }

    pub fn actual(&self) -> Option<&str> {
        match self {
            Body::Message(_) => None,
            Body::Expectation { actual, .. } => Some(actual.as_str()),
        }
    }
}

/// A feedback submission that satisfies every rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    pub site: SiteKey,
    pub kind: Kind,
    pub body: Body,
    pub severity: Option<Severity>,
    pub email: Option<Email>,
    pub name: Option<Text>,
    pub page: PageContext,
    pub client: ClientContext,
    pub context: HostContext,
    pub idempotency_key: Option<IdempotencyKey>,
    /// Signals for spam detection; judged by the collector's policy.
    pub bot_signals: BotSignals,
}

/// The host page's own context: keys of letters, digits, `_`, `-` and `.`
/// (so they read as labels and never as markup), single-line values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostContext(Vec<(String, Text)>);

impl HostContext {
    /// Entries in key order, each key once (its last value). More than
    /// [`limits::CONTEXT_ENTRIES_MAX`] as written is refused before anything
    /// else is looked at.
    pub fn parse(raw: Option<&ContextMap>) -> Result<HostContext, ValidationError> {
        let Some(raw) = raw else {
            return Ok(HostContext::default());
        };
        let err = |problem| ValidationError::new(Field::Context, problem);
        if raw.len() > limits::CONTEXT_ENTRIES_MAX {
            return Err(err(Problem::TooMany {
                max: limits::CONTEXT_ENTRIES_MAX,
            }));
        }
        let mut latest: Vec<(&str, &str)> = Vec::with_capacity(raw.len());
        for (key, value) in raw.iter() {
            match latest.iter_mut().find(|(k, _)| *k == key) {
                Some(entry) => entry.1 = value,
                None => latest.push((key, value)),
            }
        }
        latest.sort_unstable_by_key(|(key, _)| *key);
        let mut entries = Vec::with_capacity(latest.len());
        for (key, value) in latest {
            if !HostContext::is_key(key) {
                return Err(err(Problem::InvalidFormat));
            }
            if let Some(value) = Text::parse(
                Some(value),
                Field::Context,
                limits::CONTEXT_VALUE_MAX,
                false,
            )? {
                entries.push((key.to_owned(), value));
            }
        }
        Ok(HostContext(entries))
    }

    /// Letters, digits, `_`, `-` and `.`, at most
    /// [`limits::CONTEXT_KEY_MAX`] of them.
    pub fn is_key(key: &str) -> bool {
        !key.is_empty()
            && key.len() <= limits::CONTEXT_KEY_MAX
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
    }

    pub fn entries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// What the widget observed that may tell a bot from a person.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BotSignals {
    /// The invisible honeypot field was filled in.
    pub honeypot_filled: bool,
    /// Time from opening the form to sending it, when the client measured it.
    pub fill_ms: Option<u64>,
}

impl Submission {
    /// Every rule the fields a customer types break, one error per field in
    /// the form's order, so a form can show them all at once. The same
    /// rules as [`Submission::parse`], which stops at the first.
    pub fn field_errors(req: &FeedbackRequest) -> Vec<ValidationError> {
        let text = |raw: &Option<String>, field, max, required: bool| {
            if required {
                Text::required(raw.as_deref(), field, max, true).err()
            } else {
                Text::parse(raw.as_deref(), field, max, true).err()
            }
        };
        let expectation = req.kind == Kind::Expectation;
        let mut errors: Vec<ValidationError> = Vec::new();
        if expectation {
            errors.extend(text(
                &req.expected,
                Field::Expected,
                limits::EXPECTED_MAX,
                true,
            ));
            errors.extend(text(&req.actual, Field::Actual, limits::ACTUAL_MAX, true));
            errors.extend(text(
                &req.message,
                Field::Message,
                limits::MESSAGE_MAX,
                false,
            ));
        } else {
            errors.extend(text(
                &req.message,
                Field::Message,
                limits::MESSAGE_MAX,
                true,
            ));
        }
        if let Some(raw) = req.email.as_deref()
            && (raw.chars().count() > limits::EMAIL_MAX || !raw.trim().is_empty())
        {
            errors.extend(Email::parse(raw).err());
        }
        errors.extend(Text::parse(req.name.as_deref(), Field::Name, limits::NAME_MAX, false).err());
        errors
    }

    /// Checks fields in wire order and reports the first broken rule.
    pub fn parse(req: &FeedbackRequest) -> Result<Submission, ValidationError> {
        let site = SiteKey::parse(&req.site)?;
        let body = match req.kind {
            Kind::Expectation => Body::Expectation {
                message: Text::parse(
                    req.message.as_deref(),
                    Field::Message,
                    limits::MESSAGE_MAX,
                    true,
                )?,
                expected: Text::required(
                    req.expected.as_deref(),
                    Field::Expected,
                    limits::EXPECTED_MAX,
                    true,
                )?,
                actual: Text::required(
                    req.actual.as_deref(),
                    Field::Actual,
                    limits::ACTUAL_MAX,
                    true,
                )?,
            },
            _ => {
                let message = Text::required(
                    req.message.as_deref(),
                    Field::Message,
                    limits::MESSAGE_MAX,
                    true,
                )?;
                // Refused rather than dropped: words are never silently lost.
                for (raw, field, max) in [
                    (&req.expected, Field::Expected, limits::EXPECTED_MAX),
                    (&req.actual, Field::Actual, limits::ACTUAL_MAX),
                ] {
                    if Text::parse(raw.as_deref(), field, max, true)?.is_some() {
                        return Err(ValidationError::new(field, Problem::NotForKind));
                    }
                }
                Body::Message(message)
            }
        };
        let email = match req.email.as_deref() {
            Some(raw) if raw.chars().count() > limits::EMAIL_MAX || !raw.trim().is_empty() => {
                Some(Email::parse(raw)?)
            }
            _ => None,
        };
        let name = Text::parse(req.name.as_deref(), Field::Name, limits::NAME_MAX, false)?;
        let page = PageContext {
            url: HttpUrl::parse(req.page.url.as_deref(), Field::PageUrl)?,
            title: Text::parse(
                req.page.title.as_deref(),
                Field::PageTitle,
                limits::TITLE_MAX,
                false,
            )?,
            referrer: HttpUrl::parse(req.page.referrer.as_deref(), Field::PageReferrer)?,
        };
        let line =
            |raw: &Option<String>, field, max| Text::parse(raw.as_deref(), field, max, false);
        let client = ClientContext {
            user_agent: line(
                &req.client.user_agent,
                Field::UserAgent,
                limits::USER_AGENT_MAX,
            )?,
            language: line(&req.client.language, Field::Language, limits::LANGUAGE_MAX)?,
            timezone: line(&req.client.timezone, Field::Timezone, limits::TIMEZONE_MAX)?,
            viewport: line(&req.client.viewport, Field::Viewport, limits::VIEWPORT_MAX)?,
        };
        let context = HostContext::parse(req.context.as_ref())?;
        let idempotency_key = req
            .idempotency_key
            .as_deref()
            .map(IdempotencyKey::parse)
            .transpose()?;
        let bot_signals = BotSignals {
            honeypot_filled: req.hp.as_deref().is_some_and(|hp| !hp.trim().is_empty()),
            fill_ms: req.fill_ms,
        };
        Ok(Submission {
            site,
            kind: req.kind,
            body,
            severity: req.severity,
            email,
            name,
            page,
            client,
            context,
            idempotency_key,
            bot_signals,
        })
    }
}

#[cfg(test)]
mod tests {
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
}
