//! What the customer has typed, kept across closing the dialog and
//! reloading the page until the collector confirms it.

use earshot_protocol::{Kind, Severity};

use crate::json::{FromJson, Json, ToJson};

/// Text typed so far. It survives closing the dialog and reloading the page
/// (see `storage`) and is cleared only after the collector confirmed it.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub kind: Kind,
    pub message: String,
    pub expected: String,
    pub actual: String,
    pub email: String,
    /// Set by the customer, or by the host page through `Earshot.identify`.
    pub name: String,
    /// "How much does this affect you?", if the customer said.
    pub severity: Option<Severity>,
    /// Fixed for the life of the draft, so a resend after a lost response
    /// cannot create a second entry.
    pub idempotency_key: Option<String>,
    /// When the customer first opened the form for this draft (ms since the
    /// epoch); the collector treats implausibly fast sends as spam.
    pub started_at: Option<f64>,
    /// The invisible honeypot input; people never fill it in. Not kept.
    pub honeypot: String,
}

impl ToJson for Draft {
    fn to_json<J: Json>(&self) -> J {
        let mut out = J::object();
        out.set("kind", J::string(self.kind.as_str()));
        out.set("message", J::string(&self.message));
        out.set("expected", J::string(&self.expected));
        out.set("actual", J::string(&self.actual));
        out.set("email", J::string(&self.email));
        out.set("name", J::string(&self.name));
        out.set_text("severity", self.severity.map(Severity::as_str));
        out.set_text("idempotency_key", self.idempotency_key.as_deref());
        if let Some(started_at) = self.started_at {
            out.set("started_at", J::number(started_at));
        }
        out
    }
}

/// Every field may be missing (an older widget's draft): it reads as empty.
impl FromJson for Draft {
    fn from_json<J: Json>(value: &J) -> Option<Self> {
        let text = |key: &str| value.text_at(key).unwrap_or_default();
        Some(Draft {
            kind: value
                .text_at("kind")
                .and_then(|k| Kind::parse(&k))
                .unwrap_or(Kind::Complaint),
            message: text("message"),
            expected: text("expected"),
            actual: text("actual"),
            email: text("email"),
            name: text("name"),
            severity: value.text_at("severity").and_then(|s| Severity::parse(&s)),
            idempotency_key: value.text_at("idempotency_key"),
            started_at: value.number_at("started_at"),
            honeypot: String::new(),
        })
    }
}

impl Draft {
    /// Nothing worth keeping has been typed.
    pub fn is_blank(&self) -> bool {
        [&self.message, &self.expected, &self.actual]
            .iter()
            .all(|t| t.trim().is_empty())
    }
}

impl Default for Draft {
    fn default() -> Self {
        Self {
            kind: Kind::Complaint,
            message: String::new(),
            expected: String::new(),
            actual: String::new(),
            email: String::new(),
            name: String::new(),
            severity: None,
            idempotency_key: None,
            started_at: None,
            honeypot: String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_draft_round_trips_through_storage_json_without_the_honeypot() {
        let draft = Draft {
            message: "half a thought".into(),
            severity: Some(Severity::Annoying),
            idempotency_key: Some("0193a1b2-0000-7000-8000-000000000001".into()),
            started_at: Some(1_764_600_000_123.0),
            honeypot: "bot".into(),
            ..Draft::default()
        };
        let json: serde_json::Value = draft.to_json();
        let back = Draft::from_json(&json).unwrap();
        assert_eq!(back.honeypot, "");
        assert_eq!(
            back,
            Draft {
                honeypot: String::new(),
                ..draft.clone()
            }
        );
        let empty: serde_json::Value = serde_json::from_str("{}").unwrap();
        assert_eq!(Draft::from_json(&empty), Some(Draft::default()));
    }

    #[test]
    fn a_draft_kept_by_an_earlier_widget_is_read() {
        // As serde-wasm-bindgen wrote it: every field, `None` as null.
        let kept: serde_json::Value = serde_json::from_str(
            r#"{"kind":"expectation","message":"","expected":"Free shipping",
            "actual":"Charged","email":"ana@example.com","name":"","severity":null,
            "idempotency_key":"0193a1b2-0000-7000-8000-000000000001","started_at":1764600000123}"#,
        )
        .unwrap();
        let draft = Draft::from_json(&kept).unwrap();
        assert_eq!(draft.kind, Kind::Expectation);
        assert_eq!(draft.expected, "Free shipping");
        assert_eq!(draft.severity, None);
        assert_eq!(draft.started_at, Some(1_764_600_000_123.0));
        assert_eq!(
            draft.idempotency_key.as_deref(),
            Some("0193a1b2-0000-7000-8000-000000000001")
        );
    }
}
