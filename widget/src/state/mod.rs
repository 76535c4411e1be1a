//! The widget's state machine, free of browser calls so it is unit-tested
//! natively.

use std::rc::Rc;

use earshot_protocol::{
    ClientInfo, ErrorBody, FeedbackAccepted, FeedbackRequest, HostContext, Kind, PageInfo,
    Severity, Submission, limits,
};

use crate::draft::Draft;
use crate::strings::{Key, Strings};

/// A text input of the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    Message,
    Expected,
    Actual,
    Email,
    Name,
    Screenshot,
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
            Input::Name => "name",
            Input::Screenshot => "screenshot",
            Input::Honeypot => "hp",
        }
    }
}

/// One refusal, in the customer's language.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    /// The wire name of the field (`message`, `email`…), if it names one.
    pub field: Option<String>,
    pub message: String,
}

/// Where the current attempt stands.
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    Editing,
    Sending,
    Sent(FeedbackAccepted),
    /// The local rules or the server refused fields; each error is shown
    /// beside its field (all at once), a field-less one above Send.
    Invalid {
        errors: Vec<FieldError>,
    },
    /// Nothing was stored; the draft is kept for another try.
    Failed {
        message: String,
    },
    /// Not confirmed yet, kept in the outbox and retried from `retry_at`
    /// (ms since the epoch), also after a reload.
    Queued {
        rate_limited: bool,
        retry_at: f64,
        /// Kept on the device too; if not (storage blocked or full), only
        /// this page holds it.
        saved: bool,
    },
}

/// The image chosen for the current draft, as the form shows it. The file
/// itself stays with the app and the courier (it cannot be stored).
#[derive(Debug, Clone, PartialEq)]
pub struct Screenshot {
    pub name: String,
    pub kb: u32,
}

/// Where the upload of a sent entry's screenshot stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upload {
    Sending,
    Attached,
    Failed,
}

/// Whether a file the customer picked can be attached: the collector takes
/// PNG, JPEG, WebP and GIF up to its size limit.
pub fn check_image(mime: &str, bytes: f64) -> Result<(), Key> {
    if earshot_protocol::ImageType::from_mime(mime).is_none() {
        return Err(Key::BadImageType);
    }
    if bytes > limits::ATTACHMENT_MAX_BYTES as f64 {
        return Err(Key::BadImageSize);
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq)]
pub struct State {
    pub open: bool,
    pub draft: Draft,
    pub phase: Phase,
    /// Set by the host page (`Earshot.setContext`) on every page load, so
    /// not part of the stored draft.
    pub host_context: Vec<(String, String)>,
    /// In the customer's language, with the host's replacements.
    pub strings: Rc<Strings>,
    pub screenshot: Option<Screenshot>,
    /// The screenshot of the entry just sent.
    pub upload: Option<Upload>,
    /// Where focus goes after the last action; the number changes with
    /// every request, so each is carried out once.
    pub focus: (u32, Focus),
}

/// Where focus belongs after an action, for keyboard and screen-reader users.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Focus {
    #[default]
    Stay,
    /// The form's first field (a fresh form).
    FirstField,
    /// The field with this wire name (the first one refused).
    Field(String),
    /// The refusal that names no field.
    General,
    /// The receipt's heading, once sent.
    Receipt,
}

impl State {
    fn move_focus(&mut self, to: Focus) {
        self.focus = (self.focus.0.wrapping_add(1), to);
    }

    /// After a refusal: the first field named, else the general message.
    fn focus_refusal(&mut self) {
        let to = match self.first_invalid() {
            Some(field) => Focus::Field(field.to_owned()),
            None => Focus::General,
        };
        self.move_focus(to);
    }
    pub fn new(strings: Strings) -> Self {
        State {
            strings: Rc::new(strings),
            ..State::default()
        }
    }
}

impl Default for State {
    fn default() -> Self {
        Self {
            open: false,
            draft: Draft::default(),
            phase: Phase::Editing,
            host_context: Vec::new(),
            strings: Rc::default(),
            screenshot: None,
            upload: None,
            focus: (0, Focus::Stay),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Opened at this time (ms since the epoch).
    Open(f64),
    Close,
    SetKind(Kind),
    SetSeverity(Option<Severity>),
    /// A screenshot was chosen (or removed).
    ChooseScreenshot(Option<Screenshot>),
    /// The picked file cannot be attached; why, beside the field.
    ScreenshotRejected(Key),
    Upload(Upload),
    Edit(Input, String),
    /// The form is being sent with this idempotency key.
    Sending {
        idempotency_key: String,
    },
    Sent(FeedbackAccepted),
    /// The collector refused the form.
    Rejected(ErrorBody),
    /// The local rules refused these fields, before sending.
    Invalid(Vec<ErrorBody>),
    /// Not sent and not kept either (the outbox is full).
    Unreachable,
    /// The submission with this key is kept and retried from `retry_at`.
    Queued {
        key: String,
        rate_limited: bool,
        retry_at: f64,
        /// Whether the outbox reached the device's storage.
        saved: bool,
    },
    /// The outbox delivered the submission with this key.
    Delivered {
        key: String,
        accepted: FeedbackAccepted,
    },
    /// The collector refused a queued submission for good: its words come
    /// back into the form (unless the customer is writing something else)
    /// with the reason beside the field.
    Restore(Box<FeedbackRequest>, ErrorBody),
    /// The draft remembered from an earlier page load.
    Loaded(Draft),
    /// `Earshot.open({kind, message})`: preset what the form starts with.
    Prefill {
        kind: Option<Kind>,
        message: Option<String>,
    },
    /// `Earshot.identify({email, name})`.
    Identify {
        email: Option<String>,
        name: Option<String>,
    },
    /// `Earshot.setStrings({...})`: the host's wording.
    SetStrings(Vec<(String, String)>),
    /// `Earshot.setContext({...})`: replaces the host's context.
    SetContext(Vec<(String, String)>),
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
            Action::ChooseScreenshot(screenshot) => {
                self.screenshot = screenshot;
                self.clear_error();
            }
            Action::ScreenshotRejected(key) => {
                self.screenshot = None;
                self.phase = Phase::Invalid {
                    errors: vec![FieldError {
                        field: Some(Input::Screenshot.wire_name().to_owned()),
                        message: self.strings.get(key).to_owned(),
                    }],
                };
                self.focus_refusal();
            }
            Action::Upload(upload) => self.upload = Some(upload),
            Action::SetSeverity(severity) => {
                self.draft.severity = severity;
                self.clear_error();
            }
            Action::Edit(input, value) => {
                let slot = match input {
                    Input::Message => &mut self.draft.message,
                    Input::Expected => &mut self.draft.expected,
                    Input::Actual => &mut self.draft.actual,
                    Input::Email => &mut self.draft.email,
                    Input::Name => &mut self.draft.name,
                    // Chosen through its own actions, never typed.
                    Input::Screenshot => return,
                    Input::Honeypot => &mut self.draft.honeypot,
                };
                *slot = value;
                self.clear_error_for(input);
            }
            Action::Sending { idempotency_key } => {
                self.draft.idempotency_key.get_or_insert(idempotency_key);
                self.phase = Phase::Sending;
            }
            Action::Sent(accepted) => {
                // Only a confirmed entry clears the customer's words.
                self.fresh_draft();
                self.phase = Phase::Sent(accepted);
                self.move_focus(Focus::Receipt);
            }
            Action::Rejected(error) => {
                self.phase = Phase::Invalid {
                    errors: vec![self.localized(&error)],
                };
                self.focus_refusal();
            }
            Action::Invalid(errors) => {
                self.phase = Phase::Invalid {
                    errors: errors.iter().map(|e| self.localized(e)).collect(),
                };
                self.focus_refusal();
            }
            Action::Unreachable => {
                self.phase = Phase::Failed {
                    message: self.strings.get(Key::Unreachable).to_owned(),
                }
            }
            Action::Queued {
                key,
                rate_limited,
                retry_at,
                saved,
            } => {
                // A retry of something sent earlier says nothing about the
                // form the customer is filling in now.
                if self.draft.idempotency_key.as_deref() == Some(key.as_str()) {
                    self.phase = Phase::Queued {
                        rate_limited,
                        retry_at,
                        saved,
                    }
                }
            }
            Action::Delivered { key, accepted } => {
                if self.draft.idempotency_key.as_deref() == Some(key.as_str()) {
                    self.fresh_draft();
                    self.phase = Phase::Sent(accepted);
                    self.move_focus(Focus::Receipt);
                }
            }
            Action::Restore(request, error) => {
                let own = self.draft.idempotency_key == request.idempotency_key;
                if own || self.draft.is_blank() {
                    let text = |t: &Option<String>| t.clone().unwrap_or_default();
                    self.draft = Draft {
                        kind: request.kind,
                        message: text(&request.message),
                        expected: text(&request.expected),
                        actual: text(&request.actual),
                        email: text(&request.email),
                        name: text(&request.name),
                        severity: request.severity,
                        // A new key: the refused one can never succeed.
                        idempotency_key: None,
                        started_at: self.draft.started_at,
                        honeypot: String::new(),
                    };
                    self.phase = Phase::Invalid {
                        errors: vec![self.localized(&error)],
                    };
                }
            }
            Action::Loaded(draft) => {
                if self.draft.is_blank() {
                    self.draft = draft;
                }
            }
            Action::Prefill { kind, message } => {
                if self.draft.is_blank() {
                    if let Some(kind) = kind {
                        self.draft.kind = kind;
                    }
                    if let Some(message) = message {
                        self.draft.message = message;
                    }
                }
            }
            Action::Identify { email, name } => {
                if let Some(email) = email {
                    self.draft.email = email;
                }
                if let Some(name) = name {
                    self.draft.name = name;
                }
            }
            Action::SetStrings(entries) => Rc::make_mut(&mut self.strings).override_with(entries),
            Action::SetContext(entries) => {
                self.host_context = host_context(entries);
            }
            Action::StartOver => {
                self.fresh_draft();
                self.phase = Phase::Editing;
                self.move_focus(Focus::FirstField);
            }
        }
    }

    /// The collector explains in English; a field's problem is told in the
    /// customer's language from its code. Field-less refusals (an unknown
    /// site, say) are the site owner's to fix and keep the server's words.
    fn localized(&self, error: &ErrorBody) -> FieldError {
        // The site is not set up for this page: say so plainly, in the
        // customer's language, rather than the collector's English.
        if error.code == "origin_not_allowed" || error.code == "unknown_site" {
            return FieldError {
                field: None,
                message: self.strings.get(Key::NotFromHere).to_owned(),
            };
        }
        let message = match &error.field {
            Some(field) => self.strings.field_error(Some(field), &error.code),
            None => error.message.clone(),
        };
        FieldError {
            field: error.field.clone(),
            message,
        }
    }

    /// A new draft: what was written is sent or queued; who the customer
    /// is (email, name) stays.
    fn fresh_draft(&mut self) {
        self.screenshot = None;
        self.upload = None;
        self.draft = Draft {
            email: std::mem::take(&mut self.draft.email),
            name: std::mem::take(&mut self.draft.name),
            ..Draft::default()
        };
    }

    fn clear_error(&mut self) {
        if matches!(self.phase, Phase::Invalid { .. } | Phase::Failed { .. }) {
            self.phase = Phase::Editing;
        }
    }

    /// Editing a field answers its own error; the others stay in view.
    fn clear_error_for(&mut self, input: Input) {
        match &mut self.phase {
            Phase::Invalid { errors } => {
                errors.retain(|e| e.field.as_deref() != Some(input.wire_name()));
                if errors.is_empty() {
                    self.phase = Phase::Editing;
                }
            }
            Phase::Failed { .. } => self.phase = Phase::Editing,
            _ => {}
        }
    }

    /// Error to show beside `input`, if the last attempt named it.
    pub fn error_for(&self, input: Input) -> Option<&str> {
        match &self.phase {
            Phase::Invalid { errors } => errors
                .iter()
                .find(|e| e.field.as_deref() == Some(input.wire_name()))
                .map(|e| e.message.as_str()),
            _ => None,
        }
    }

    /// The refusal that names no field, to show above Send.
    pub fn general_error(&self) -> Option<&str> {
        match &self.phase {
            Phase::Failed { message } => Some(message),
            Phase::Invalid { errors } => errors
                .iter()
                .find(|e| e.field.is_none())
                .map(|e| e.message.as_str()),
            _ => None,
        }
    }

    /// The first field with an error, in form order, to move focus to.
    pub fn first_invalid(&self) -> Option<&str> {
        match &self.phase {
            Phase::Invalid { errors } => errors.iter().find_map(|e| e.field.as_deref()),
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
    ) -> Result<FeedbackRequest, Vec<ErrorBody>> {
        let d = &self.draft;
        let opt = |s: &str| (!s.trim().is_empty()).then(|| s.to_owned());
        let expectation = d.kind == Kind::Expectation;
        let req = FeedbackRequest {
            site: site.to_owned(),
            kind: d.kind,
            message: opt(&d.message),
            expected: if expectation { opt(&d.expected) } else { None },
            actual: if expectation { opt(&d.actual) } else { None },
            severity: d.severity,
            email: opt(&d.email),
            name: opt(&d.name),
            page,
            client,
            context: (!self.host_context.is_empty())
                .then(|| self.host_context.iter().cloned().collect()),
            idempotency_key: Some(
                d.idempotency_key
                    .clone()
                    .unwrap_or_else(|| idempotency_key.to_owned()),
            ),
            hp: opt(&d.honeypot),
            fill_ms: d.started_at.map(|started| (now - started).max(0.0) as u64),
        };
        let body = |e: &earshot_protocol::ValidationError| ErrorBody {
            code: e.code().to_owned(),
            message: self.strings.field_error(Some(e.field.as_str()), e.code()),
            field: Some(e.field.as_str().to_owned()),
        };
        match Submission::parse(&req) {
            Ok(_) => Ok(req),
            Err(first) => {
                // Every field the customer can fix, at once; anything else
                // (the page's own context) as the one error it is.
                let mut all: Vec<ErrorBody> =
                    Submission::field_errors(&req).iter().map(body).collect();
                if all.is_empty() {
                    all.push(body(&first));
                }
                Err(all)
            }
        }
    }
}

/// The host's context cut to what the collector accepts: the customer
/// cannot fix a host's mistake, so it must never stop their submission.
/// Keys outside the allowed alphabet are left out, values are cut, a
/// repeated key keeps its last value and the host's first keys are kept.
fn host_context(entries: Vec<(String, String)>) -> Vec<(String, String)> {
    let mut kept: Vec<(String, String)> = Vec::new();
    for (key, value) in entries {
        if !HostContext::is_key(&key) {
            continue;
        }
        let value: String = value
            .chars()
            .filter(|c| !c.is_control())
            .take(limits::CONTEXT_VALUE_MAX)
            .collect();
        if let Some(entry) = kept.iter_mut().find(|(k, _)| *k == key) {
            entry.1 = value;
        } else if kept.len() < limits::CONTEXT_ENTRIES_MAX {
            kept.push((key, value));
        }
    }
    kept
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
mod tests;
