//! Parse, don't validate: a [`Submission`] can only be built from a
//! [`FeedbackRequest`] that satisfies every rule, so code holding one never
//! re-checks anything.

mod cards;
mod problem;
mod redact;
mod text;
mod values;

pub use cards::{MASK, mask_card_numbers};
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
mod tests;
