//! Signed webhooks: per-site endpoints that hear what happens to feedback,
//! following the Standard Webhooks v1 specification (or posting a Slack /
//! Mattermost message), delivered from a durable outbox with retries.
//!
//! - [`EventType`], [`Format`], [`EndpointUrl`]: what an endpoint is.
//! - `sign`: the signature scheme, secrets and their rotation.
//! - `payload`: the bodies, built once per message.
//! - `guard`: which addresses a delivery may reach (SSRF).
//! - `deliver`: one HTTP attempt and the retry schedule.

pub mod deliver;
pub mod guard;
pub mod payload;
pub mod sign;

use std::fmt;

use crate::store::NewWebhook;
use sign::SigningSecret;

/// What an endpoint can hear about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    EntryCreated,
    EntryStatusChanged,
    EntryAssigned,
    EntryReplied,
    EntryFollowedUp,
    PromiseMade,
    PromiseDue,
    PromiseOverdue,
    PromiseSettled,
}

impl EventType {
    pub const ALL: [EventType; 9] = [
        EventType::EntryCreated,
        EventType::EntryStatusChanged,
        EventType::EntryAssigned,
        EventType::EntryReplied,
        EventType::EntryFollowedUp,
        EventType::PromiseMade,
        EventType::PromiseDue,
        EventType::PromiseOverdue,
        EventType::PromiseSettled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::EntryCreated => "entry.created",
            EventType::EntryStatusChanged => "entry.status_changed",
            EventType::EntryAssigned => "entry.assigned",
            EventType::EntryReplied => "entry.replied",
            EventType::EntryFollowedUp => "entry.followed_up",
            EventType::PromiseMade => "promise.made",
            EventType::PromiseDue => "promise.due",
            EventType::PromiseOverdue => "promise.overdue",
            EventType::PromiseSettled => "promise.settled",
        }
    }

    pub fn parse(raw: &str) -> Option<EventType> {
        EventType::ALL
            .into_iter()
            .find(|e| e.as_str() == raw.trim())
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which events an endpoint receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventFilter {
    All,
    Only(Vec<EventType>),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("unknown event {name:?}; events are {}", EventType::ALL.map(|e| e.as_str()).join(", "))]
    UnknownEvent { name: String },
    #[error("unknown format {0:?}; formats are standard and slack")]
    UnknownFormat(String),
    #[error("the URL must be an absolute http or https URL with a host, at most 2048 characters")]
    Url,
}

impl EventFilter {
    /// `*` (or nothing) for all, else event types separated by commas.
    pub fn parse(raw: &str) -> Result<EventFilter, WebhookError> {
        let raw = raw.trim();
        if raw.is_empty() || raw == "*" {
            return Ok(EventFilter::All);
        }
        let mut events = Vec::new();
        for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let event = EventType::parse(part).ok_or_else(|| WebhookError::UnknownEvent {
                name: part.to_owned(),
            })?;
            if !events.contains(&event) {
                events.push(event);
            }
        }
        events.sort();
        Ok(EventFilter::Only(events))
    }

    pub fn includes(&self, event: EventType) -> bool {
        match self {
            EventFilter::All => true,
            EventFilter::Only(events) => events.contains(&event),
        }
    }
}

impl fmt::Display for EventFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventFilter::All => f.write_str("*"),
            EventFilter::Only(events) => {
                let names: Vec<&str> = events.iter().map(|e| e.as_str()).collect();
                f.write_str(&names.join(","))
            }
        }
    }
}

/// How a message is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Standard Webhooks v1: `{"type","timestamp","data"}`.
    Standard,
    /// A Slack-compatible incoming-webhook body (`text` and `blocks`),
    /// which Mattermost accepts too.
    Slack,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Standard => "standard",
            Format::Slack => "slack",
        }
    }

    pub fn parse(raw: &str) -> Result<Format, WebhookError> {
        match raw.trim() {
            "standard" => Ok(Format::Standard),
            "slack" => Ok(Format::Slack),
            other => Err(WebhookError::UnknownFormat(other.to_owned())),
        }
    }
}

/// Where messages go: an absolute http(s) URL. It may carry a token (Slack
/// URLs do), so it is shown to administrators only and never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct EndpointUrl(String);

impl fmt::Debug for EndpointUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EndpointUrl(…)")
    }
}

impl EndpointUrl {
    pub fn parse(raw: &str) -> Result<EndpointUrl, WebhookError> {
        let raw = raw.trim();
        if raw.chars().count() > 2_048 {
            return Err(WebhookError::Url);
        }
        let url = reqwest::Url::parse(raw).map_err(|_| WebhookError::Url)?;
        let web = matches!(url.scheme(), "http" | "https");
        if !web || url.host().is_none() || url.cannot_be_a_base() {
            return Err(WebhookError::Url);
        }
        Ok(EndpointUrl(url.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Scheme, host and port, for lists where the path (which may hold a
    /// token) should not show.
    pub fn origin(&self) -> String {
        reqwest::Url::parse(&self.0)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_default()
    }
}

/// An endpoint an administrator asked for, from the console or the command
/// line: one set of rules for both.
pub struct Requested {
    url: EndpointUrl,
    events: EventFilter,
    format: Format,
    include_email: bool,
}

impl Requested {
    pub fn parse(
        url: &str,
        events: &[String],
        format: &str,
        include_email: bool,
    ) -> Result<Requested, WebhookError> {
        Ok(Requested {
            url: EndpointUrl::parse(url)?,
            events: EventFilter::parse(&events.join(","))?,
            format: Format::parse(format)?,
            include_email,
        })
    }

    /// Whether the URL names a loopback, private or link-local host, where
    /// nothing is delivered without `--allow-private-webhooks`.
    pub fn private_host(&self) -> bool {
        guard::private_host(self.url.as_str())
    }

    /// The endpoint to store for `site_id`, with a new signing secret to
    /// show once.
    pub fn for_site(self, site_id: i64) -> (NewWebhook, SigningSecret) {
        let secret = SigningSecret::generate();
        let webhook = NewWebhook {
            site_id,
            url: self.url.as_str().to_owned(),
            events: self.events.to_string(),
            format: self.format.as_str().to_owned(),
            include_email: self.include_email,
            secret: secret.expose().to_owned(),
        };
        (webhook, secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_filters_parse_from_names_and_print_back() {
        assert_eq!(EventFilter::parse("*").unwrap(), EventFilter::All);
        assert_eq!(EventFilter::parse("").unwrap(), EventFilter::All);
        let only = EventFilter::parse("promise.due, entry.created,entry.created").unwrap();
        assert_eq!(
            only,
            EventFilter::Only(vec![EventType::EntryCreated, EventType::PromiseDue])
        );
        assert_eq!(only.to_string(), "entry.created,promise.due");
        assert!(only.includes(EventType::PromiseDue));
        assert!(!only.includes(EventType::EntryReplied));
        assert_eq!(
            EventFilter::parse("entry.deleted"),
            Err(WebhookError::UnknownEvent {
                name: "entry.deleted".into()
            })
        );
    }

    #[test]
    fn endpoint_urls_are_absolute_web_urls() {
        let url = EndpointUrl::parse(" https://hooks.example.com/services/T0/B0/secret ").unwrap();
        assert_eq!(
            url.as_str(),
            "https://hooks.example.com/services/T0/B0/secret"
        );
        assert_eq!(url.origin(), "https://hooks.example.com");
        assert!(!format!("{url:?}").contains("secret"));
        for bad in [
            "ftp://x.example/",
            "https://",
            "/relative",
            "javascript:alert(1)",
            "mailto:a@b.c",
        ] {
            assert_eq!(EndpointUrl::parse(bad), Err(WebhookError::Url), "{bad}");
        }
    }
}
