//! The widget's state machine, free of browser calls so it is unit-tested
//! natively.

use std::rc::Rc;

use earshot_protocol::{
    ClientInfo, ErrorBody, FeedbackAccepted, FeedbackRequest, Kind, PageInfo, Submission,
};

use crate::strings;

/// Text typed so far. It survives closing the dialog and is cleared only
/// after the collector confirmed the entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub kind: Kind,
    pub message: String,
    pub expected: String,
    pub actual: String,
    pub email: String,
    /// Fixed for the life of the draft, so a resend after a lost response
    /// cannot create a second entry.
    pub idempotency_key: Option<String>,
    /// When the customer first opened the form for this draft (ms since the
    /// epoch); the collector treats implausibly fast sends as spam.
    pub started_at: Option<f64>,
    /// The invisible honeypot input; people never fill it in.
    pub honeypot: String,
}

impl Default for Draft {
    fn default() -> Self {
        Self {
            kind: Kind::Complaint,
            message: String::new(),
            expected: String::new(),
            actual: String::new(),
            email: String::new(),
            idempotency_key: None,
            started_at: None,
            honeypot: String::new(),
        }
    }
}

/// A text input of the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    Message,
    Expected,
    Actual,
    Email,
    Honeypot,
}

impl Input {
    /// Name used in `error.field` for this input.
    pub fn wire_name(self) -> &'static str {
        match self {
            Input::Message => "message",
            Input::Expected => "expected",
            Input::Actual => "actual",
            Input::Email => "email",
            Input::Honeypot => "hp",
        }
    }
}

/// Where the current attempt stands.
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    Editing,
    Sending,
    Sent(FeedbackAccepted),
    /// The server or the local rules refused a field; shown beside it.
    Invalid {
        field: Option<String>,
        message: String,
    },
    /// Nothing was stored; the draft is kept for another try.
    Failed {
        message: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct State {
    pub open: bool,
    pub draft: Draft,
    pub phase: Phase,
}

impl Default for State {
    fn default() -> Self {
        Self {
            open: false,
            draft: Draft::default(),
            phase: Phase::Editing,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Opened at this time (ms since the epoch).
    Open(f64),
    Close,
    SetKind(Kind),
    Edit(Input, String),
    /// The form is being sent with this idempotency key.
    Sending {
        idempotency_key: String,
    },
    Sent(FeedbackAccepted),
    Rejected(ErrorBody),
    Unreachable,
    RateLimited,
    /// Start a new draft after a confirmed send.
    StartOver,
}

impl State {
    pub fn apply(&mut self, action: Action) {
        match action {
            Action::Open(now) => {
                self.open = true;
                self.draft.started_at.get_or_insert(now);
            }
            Action::Close => {
                self.open = false;
                if matches!(self.phase, Phase::Sent(_)) {
                    self.phase = Phase::Editing;
                }
            }
            Action::SetKind(kind) => {
                self.draft.kind = kind;
                self.clear_error();
            }
            Action::Edit(input, value) => {
                let slot = match input {
                    Input::Message => &mut self.draft.message,
                    Input::Expected => &mut self.draft.expected,
                    Input::Actual => &mut self.draft.actual,
                    Input::Email => &mut self.draft.email,
                    Input::Honeypot => &mut self.draft.honeypot,
                };
                *slot = value;
                self.clear_error();
            }
            Action::Sending { idempotency_key } => {
                self.draft.idempotency_key.get_or_insert(idempotency_key);
                self.phase = Phase::Sending;
            }
            Action::Sent(accepted) => {
                // Only a confirmed entry clears the customer's words.
                self.draft = Draft::default();
                self.phase = Phase::Sent(accepted);
            }
            Action::Rejected(error) => {
                self.phase = Phase::Invalid {
                    field: error.field,
                    message: error.message,
                }
            }
            Action::Unreachable => {
                self.phase = Phase::Failed {
                    message: strings::UNREACHABLE.to_owned(),
                }
            }
            Action::RateLimited => {
                self.phase = Phase::Failed {
                    message: strings::RATE_LIMITED.to_owned(),
                }
            }
            Action::StartOver => {
                self.draft = Draft::default();
                self.phase = Phase::Editing;
            }
        }
    }

    fn clear_error(&mut self) {
        if matches!(self.phase, Phase::Invalid { .. } | Phase::Failed { .. }) {
            self.phase = Phase::Editing;
        }
    }

    /// Error to show beside `input`, if the last attempt named it.
    pub fn error_for(&self, input: Input) -> Option<&str> {
        match &self.phase {
            Phase::Invalid {
                field: Some(field),
                message,
            } if field == input.wire_name() => Some(message),
            _ => None,
        }
    }

    /// Builds the request for the current draft and checks it with the same
    /// rules as the collector, so most mistakes are caught without a round trip.
    pub fn request(
        &self,
        site: &str,
        idempotency_key: &str,
        now: f64,
        page: PageInfo,
        client: ClientInfo,
    ) -> Result<FeedbackRequest, ErrorBody> {
        let d = &self.draft;
        let opt = |s: &str| (!s.trim().is_empty()).then(|| s.to_owned());
        let expectation = d.kind == Kind::Expectation;
        let req = FeedbackRequest {
            site: site.to_owned(),
            kind: d.kind,
            message: opt(&d.message),
            expected: if expectation { opt(&d.expected) } else { None },
            actual: if expectation { opt(&d.actual) } else { None },
            severity: None,
            email: opt(&d.email),
            name: None,
            page,
            client,
            idempotency_key: Some(
                d.idempotency_key
                    .clone()
                    .unwrap_or_else(|| idempotency_key.to_owned()),
            ),
            hp: opt(&d.honeypot),
            fill_ms: d.started_at.map(|started| (now - started).max(0.0) as u64),
        };
        match Submission::parse(&req) {
            Ok(_) => Ok(req),
            Err(e) => Err(ErrorBody {
                code: e.code().to_owned(),
                message: strings::field_error(e.field, e.problem),
                field: Some(e.field.as_str().to_owned()),
            }),
        }
    }
}

impl yew::Reducible for State {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut next = (*self).clone();
        next.apply(action);
        Rc::new(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepted() -> FeedbackAccepted {
        FeedbackAccepted {
            id: "1".into(),
            reference: "ES-ABCD-EFGH".into(),
            status_url: "http://x/s/t".into(),
        }
    }

    fn typed(message: &str) -> State {
        let mut s = State::default();
        s.apply(Action::Open(1_000.0));
        s.apply(Action::Edit(Input::Message, message.into()));
        s
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
        let req = s
            .request(
                "site",
                "third-key-0000000",
                0.0,
                PageInfo::default(),
                ClientInfo::default(),
            )
            .unwrap();
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
            Some("That email address looks wrong.")
        );
        assert_eq!(s.error_for(Input::Message), None);
        s.apply(Action::Edit(Input::Email, "a@b.example".into()));
        assert_eq!(s.error_for(Input::Email), None);
    }

    #[test]
    fn request_is_checked_with_the_collector_rules() {
        let mut s = State::default();
        s.apply(Action::SetKind(Kind::Expectation));
        s.apply(Action::Edit(Input::Expected, "A refund".into()));
        let err = s
            .request(
                "site",
                &"k".repeat(16),
                0.0,
                PageInfo::default(),
                ClientInfo::default(),
            )
            .unwrap_err();
        assert_eq!(err.field.as_deref(), Some("actual"));
        s.apply(Action::Edit(Input::Actual, "A voucher".into()));
        let req = s
            .request(
                "site",
                &"k".repeat(16),
                0.0,
                PageInfo::default(),
                ClientInfo::default(),
            )
            .unwrap();
        assert_eq!(req.expected.as_deref(), Some("A refund"));
        assert_eq!(req.message, None);
    }

    #[test]
    fn fill_time_runs_from_the_first_opening_of_the_draft() {
        let mut s = typed("slow and careful");
        s.apply(Action::Close);
        s.apply(Action::Open(50_000.0));
        let req = s
            .request(
                "site",
                &"k".repeat(16),
                9_000.0,
                PageInfo::default(),
                ClientInfo::default(),
            )
            .unwrap();
        assert_eq!(req.fill_ms, Some(8_000));
        assert_eq!(req.hp, None);
        s.apply(Action::Edit(Input::Honeypot, "http://spam.example".into()));
        let req = s
            .request(
                "site",
                &"k".repeat(16),
                9_000.0,
                PageInfo::default(),
                ClientInfo::default(),
            )
            .unwrap();
        assert_eq!(req.hp.as_deref(), Some("http://spam.example"));
    }

    #[test]
    fn expectation_fields_are_not_sent_for_other_kinds() {
        let mut s = typed("An idea");
        s.apply(Action::Edit(Input::Expected, "left over".into()));
        s.apply(Action::SetKind(Kind::Idea));
        let req = s
            .request(
                "site",
                &"k".repeat(16),
                0.0,
                PageInfo::default(),
                ClientInfo::default(),
            )
            .unwrap();
        assert_eq!(req.expected, None);
        assert_eq!(req.kind, Kind::Idea);
    }
}
