//! The request's values with a shape of their own: email, URL, site key,
//! idempotency key.

use super::text::{INVISIBLE, in_ranges, is_space_or_control};
use super::{Field, Problem, ValidationError};
use crate::limits;

/// A syntactically plausible email address. Deliverability is only proven by
/// sending, so this checks shape, not existence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Surrounding white space is ignored; the limit counts it.
    pub fn parse(raw: &str) -> Result<Email, ValidationError> {
        let err = |problem| ValidationError::new(Field::Email, problem);
        if raw.chars().count() > limits::EMAIL_MAX {
            return Err(err(Problem::TooLong {
                max: limits::EMAIL_MAX,
            }));
        }
        let s = raw.trim();
        let (local, domain) = s.rsplit_once('@').ok_or(err(Problem::InvalidEmail))?;
        let label_char = |c: char| {
            c.is_ascii_alphanumeric()
                || c == '-'
                || (!c.is_ascii() && !is_space_or_control(c) && !in_ranges(c, INVISIBLE))
        };
        let valid = !local.is_empty()
            && local.chars().count() <= 64
            && !local.contains('@')
            && !local.chars().any(is_space_or_control)
            && domain.split('.').count() >= 2
            && domain
                .split('.')
                .all(|label| !label.is_empty() && label.chars().all(label_char));
        if valid {
            Ok(Email(s.to_owned()))
        } else {
            Err(err(Problem::InvalidEmail))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An absolute `http:` or `https:` URL. Anything else (notably
/// `javascript:`) is refused so it can never become a link for staff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl(pub(super) String);

impl HttpUrl {
    pub fn parse(raw: Option<&str>, field: Field) -> Result<Option<HttpUrl>, ValidationError> {
        let Some(raw) = raw else { return Ok(None) };
        if raw.chars().count() > limits::URL_MAX {
            return Err(ValidationError::new(
                field,
                Problem::TooLong {
                    max: limits::URL_MAX,
                },
            ));
        }
        let s = raw.trim();
        if s.is_empty() {
            return Ok(None);
        }
        let lower = s.to_ascii_lowercase();
        let rest = lower
            .strip_prefix("https://")
            .or_else(|| lower.strip_prefix("http://"));
        let host_ok = rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/'));
        if !host_ok || s.chars().any(is_space_or_control) {
            return Err(ValidationError::new(field, Problem::InvalidUrl));
        }
        Ok(Some(HttpUrl(s.to_owned())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Public key identifying a site: `[A-Za-z0-9_-]{1,64}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SiteKey(String);

impl SiteKey {
    pub fn parse(raw: &str) -> Result<SiteKey, ValidationError> {
        let s = raw;
        if s.is_empty() {
            return Err(ValidationError::new(Field::Site, Problem::Required));
        }
        if s.len() > limits::SITE_KEY_MAX {
            return Err(ValidationError::new(
                Field::Site,
                Problem::TooLong {
                    max: limits::SITE_KEY_MAX,
                },
            ));
        }
        if !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(ValidationError::new(Field::Site, Problem::InvalidFormat));
        }
        Ok(SiteKey(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Client-chosen retry key: `[A-Za-z0-9_-]{16,64}` (a UUID fits).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(raw: &str) -> Result<IdempotencyKey, ValidationError> {
        let err = |problem| ValidationError::new(Field::IdempotencyKey, problem);
        let len = raw.len();
        if len < limits::IDEMPOTENCY_KEY_MIN {
            return Err(err(Problem::TooShort {
                min: limits::IDEMPOTENCY_KEY_MIN,
            }));
        }
        if len > limits::IDEMPOTENCY_KEY_MAX {
            return Err(err(Problem::TooLong {
                max: limits::IDEMPOTENCY_KEY_MAX,
            }));
        }
        if !raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(err(Problem::InvalidFormat));
        }
        Ok(IdempotencyKey(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}
