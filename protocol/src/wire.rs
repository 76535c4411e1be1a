//! JSON shapes on the wire. Unknown fields are rejected so a typo in a host
//! integration fails loudly instead of silently dropping data.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What the customer wants to tell us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Something went wrong.
    Complaint,
    /// "I expected X, but Y happened."
    Expectation,
    Idea,
    Praise,
    Question,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Complaint,
        Kind::Expectation,
        Kind::Idea,
        Kind::Praise,
        Kind::Question,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Complaint => "complaint",
            Kind::Expectation => "expectation",
            Kind::Idea => "idea",
            Kind::Praise => "praise",
            Kind::Question => "question",
        }
    }

    pub fn parse(raw: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == raw)
    }
}

/// How much the problem affects the customer, in their own estimate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Minor,
    Annoying,
    Blocking,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::Minor, Severity::Annoying, Severity::Blocking];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Minor => "minor",
            Severity::Annoying => "annoying",
            Severity::Blocking => "blocking",
        }
    }

    pub fn parse(raw: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

/// `POST /api/v1/feedback` request body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedbackRequest {
    /// Public key of the site the widget is embedded in.
    pub site: String,
    pub kind: Kind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// How the customer would like to be addressed in a reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default)]
    pub page: PageInfo,
    #[serde(default)]
    pub client: ClientInfo,
    /// What the host page adds through `Earshot.setContext`, such as a plan
    /// or an order number: string keys and values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<BTreeMap<String, String>>,
    /// Client-generated key; a retry with the same key for the same site
    /// returns the original entry instead of creating a duplicate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// Honeypot: a field people never see. Anything in it marks a bot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hp: Option<String>,
    /// Milliseconds between opening the form and sending it, as measured by
    /// the widget. Implausibly fast submissions are kept but marked as spam.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fill_ms: Option<u64>,
}

/// Where the customer was when they wrote.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer: Option<String>,
}

/// What the customer's browser told us about itself.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub viewport: Option<String>,
}

/// `201 Created` (or `200 OK` for an idempotent replay) response body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedbackAccepted {
    pub id: String,
    /// Short, human-friendly reference the customer can quote.
    pub reference: String,
    /// Private page where the customer can follow what happens.
    pub status_url: String,
    /// What the site promises about answering, e.g. "We answer within 1
    /// business day", when it has set one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_promise: Option<String>,
}

/// Every API error has this shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorResponse {
    pub error: ErrorBody,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable, machine-readable code (`required`, `too_long`, …).
    pub code: String,
    /// Human-readable explanation in English.
    pub message: String,
    /// Dotted path of the offending field (`page.url`), when there is one.
    pub field: Option<String>,
}
