//! What staff do to one entry from its page: move its status, assign it,
//! add a note, reply (with an optional promise) and settle a promise. A
//! refused note or reply comes back on the page with what was typed.

use axum::extract::Path;
use axum::extract::State;
use axum::extract::rejection::PathRejection;
use axum::response::Response;
use serde::Deserialize;

use super::{Draft, again, back_to, entry_id};
use crate::http::AppState;
use crate::http::console::extract::{BYTES_PER_CHAR, FORM_OVERHEAD, FormLimit};
use crate::http::console::{ConsoleError, StaffForm};
use crate::review::input::{self, PROMISE_MAX, TEXT_MAX};
use crate::store::NewReply;

#[derive(Debug, Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    status: String,
    /// The status the page showed: a colleague's move since is not undone
    /// unseen.
    #[serde(default)]
    seen: String,
}

impl FormLimit for StatusForm {
    const MAX_BYTES: usize = FORM_OVERHEAD;
}

pub async fn status(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    StaffForm { staff, form }: StaffForm<StatusForm>,
) -> Result<Response, ConsoleError> {
    let id = entry_id(path)?;
    let parse =
        |raw: &str| input::status(raw, "status").map_err(|e| ConsoleError::Invalid(e.sentence()));
    let to = parse(&form.status)?;
    let seen = match form.seen.as_str() {
        "" => None,
        raw => Some(parse(raw)?),
    };
    let now = state.clock.now_millis();
    state
        .store
        .set_status_seen(id.clone(), seen, to, staff.user.id, now)
        .await?;
    Ok(back_to(&id, "status", "timeline"))
}

#[derive(Debug, Deserialize)]
pub struct AssignForm {
    #[serde(default)]
    assignee: String,
    /// Who the page showed the entry assigned to (`none` for nobody): a
    /// colleague's change since is not undone unseen.
    #[serde(default)]
    seen: String,
}

impl FormLimit for AssignForm {
    const MAX_BYTES: usize = FORM_OVERHEAD;
}

pub async fn assign(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    StaffForm { staff, form }: StaffForm<AssignForm>,
) -> Result<Response, ConsoleError> {
    let id = entry_id(path)?;
    let colleague = |raw: &str| {
        raw.parse::<i64>()
            .map_err(|_| ConsoleError::Invalid("Choose a colleague.".to_owned()))
    };
    let assignee = match form.assignee.as_str() {
        "" => None,
        raw => Some(colleague(raw)?),
    };
    let seen = match form.seen.as_str() {
        "" => None,
        "none" => Some(None),
        raw => Some(Some(colleague(raw)?)),
    };
    let now = state.clock.now_millis();
    state
        .store
        .assign_seen(id.clone(), seen, assignee, staff.user.id, now)
        .await?;
    Ok(back_to(&id, "assign", "timeline"))
}

#[derive(Debug, Deserialize)]
pub struct NoteForm {
    #[serde(default)]
    pub(super) body: String,
}

impl FormLimit for NoteForm {
    const MAX_BYTES: usize = TEXT_MAX * BYTES_PER_CHAR + FORM_OVERHEAD;
}

pub async fn note(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    StaffForm { staff, form }: StaffForm<NoteForm>,
) -> Result<Response, ConsoleError> {
    let id = entry_id(path)?;
    let added = async {
        let body = input::staff_text(&form.body, "note", TEXT_MAX)?;
        state
            .store
            .add_note(id.clone(), body, staff.user.id, state.clock.now_millis())
            .await?;
        Ok::<_, ConsoleError>(())
    };
    match added.await {
        Ok(()) => Ok(back_to(&id, "note", "timeline")),
        Err(error) => again(state, staff, id, error, |why| Draft::Note(form, why)).await,
    }
}

#[derive(Debug, Deserialize)]
pub struct ReplyForm {
    #[serde(default)]
    pub(super) body: String,
    #[serde(default)]
    pub(super) promise_text: String,
    #[serde(default)]
    pub(super) promise_due: String,
}

impl FormLimit for ReplyForm {
    const MAX_BYTES: usize = (TEXT_MAX + PROMISE_MAX) * BYTES_PER_CHAR + FORM_OVERHEAD;
}

pub async fn reply(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    StaffForm { staff, form }: StaffForm<ReplyForm>,
) -> Result<Response, ConsoleError> {
    let id = entry_id(path)?;
    let now = state.clock.now_millis();
    let sent = async {
        let body = input::staff_text(&form.body, "reply", TEXT_MAX)?;
        let promise = input::promise(&form.promise_text, &form.promise_due, now)?;
        let event_id = state
            .store
            .reply(id.clone(), NewReply { body, promise }, staff.user.id, now)
            .await?;
        tracing::info!(entry = %id, event_id, "staff replied");
        Ok::<_, ConsoleError>(())
    };
    match sent.await {
        // Emailed to the customer (when SMTP is set) through the outbox.
        Ok(()) => Ok(back_to(&id, "reply", "timeline")),
        Err(error) => again(state, staff, id, error, |why| Draft::Reply(form, why)).await,
    }
}

#[derive(Debug, Deserialize)]
pub struct SettleForm {
    #[serde(default)]
    outcome: String,
}

impl FormLimit for SettleForm {
    const MAX_BYTES: usize = FORM_OVERHEAD;
}

pub async fn settle(
    State(state): State<AppState>,
    path: Result<Path<(String, i64)>, PathRejection>,
    StaffForm { staff, form }: StaffForm<SettleForm>,
) -> Result<Response, ConsoleError> {
    let Path((id, promise)) = path.map_err(|_| ConsoleError::NotFound)?;
    let kept = match form.outcome.as_str() {
        "kept" => true,
        "broken" => false,
        _ => {
            return Err(ConsoleError::Invalid(
                "Say whether the promise was kept or broken.".to_owned(),
            ));
        }
    };
    state
        .store
        .settle_promise(
            id.clone(),
            promise,
            kept,
            staff.user.id,
            state.clock.now_millis(),
        )
        .await?;
    Ok(back_to(&id, "promise", "promises"))
}
