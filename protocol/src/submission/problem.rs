//! What is wrong with a request: the field and the rule it broke.

/// A field of the request, named as on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Site,
    Kind,
    Message,
    Expected,
    Actual,
    Email,
    Name,
    PageUrl,
    PageTitle,
    PageReferrer,
    UserAgent,
    Language,
    Timezone,
    Viewport,
    Context,
    IdempotencyKey,
}

impl Field {
    /// Dotted JSON path, as reported in `error.field`.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Site => "site",
            Field::Kind => "kind",
            Field::Message => "message",
            Field::Expected => "expected",
            Field::Actual => "actual",
            Field::Email => "email",
            Field::Name => "name",
            Field::PageUrl => "page.url",
            Field::PageTitle => "page.title",
            Field::PageReferrer => "page.referrer",
            Field::UserAgent => "client.user_agent",
            Field::Language => "client.language",
            Field::Timezone => "client.timezone",
            Field::Viewport => "client.viewport",
            Field::Context => "context",
            Field::IdempotencyKey => "idempotency_key",
        }
    }
}

/// What is wrong with a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// Missing, or only whitespace.
    Required,
    TooLong {
        max: usize,
    },
    TooShort {
        min: usize,
    },
    InvalidEmail,
    /// Not an absolute `http:` or `https:` URL.
    InvalidUrl,
    /// Characters outside the field's alphabet.
    InvalidFormat,
    /// More entries than allowed.
    TooMany {
        max: usize,
    },
    /// A field that belongs to another kind (`expected` on a complaint).
    NotForKind,
}

/// The first rule a request broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{}: {}", .field.as_str(), .problem.code())]
pub struct ValidationError {
    pub field: Field,
    pub problem: Problem,
}

impl Problem {
    /// Stable code for `error.code`.
    pub fn code(self) -> &'static str {
        match self {
            Problem::Required => "required",
            Problem::TooLong { .. } => "too_long",
            Problem::TooShort { .. } => "too_short",
            Problem::InvalidEmail => "invalid_email",
            Problem::InvalidUrl => "invalid_url",
            Problem::InvalidFormat => "invalid_format",
            Problem::TooMany { .. } => "too_many",
            Problem::NotForKind => "not_for_kind",
        }
    }
}

impl ValidationError {
    pub(super) fn new(field: Field, problem: Problem) -> Self {
        Self { field, problem }
    }

    pub fn code(&self) -> &'static str {
        self.problem.code()
    }

    /// English sentence for API clients; the widget localises by `code`.
    pub fn message(&self) -> String {
        let field = self.field.as_str();
        match self.problem {
            Problem::Required => format!("{field} is required"),
            Problem::TooLong { max } => format!("{field} must be at most {max} characters"),
            Problem::TooShort { min } => format!("{field} must be at least {min} characters"),
            Problem::InvalidEmail => format!("{field} is not a valid email address"),
            Problem::InvalidUrl => format!("{field} must be an absolute http or https URL"),
            Problem::InvalidFormat => format!("{field} contains characters that are not allowed"),
            Problem::TooMany { max } => format!("{field} may have at most {max} entries"),
            Problem::NotForKind => format!("{field} is only accepted with kind expectation"),
        }
    }
}
