//! What a `write` token may do to an entry: exactly the console's actions,
//! through the same store functions and input rules, recorded on the same
//! timeline. Each answers the entry as it now stands. Bodies are read from
//! JSON objects only, as ingest's are (`deserialize_objects_only!`).

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use earshot_protocol::deserialize_objects_only;
use serde::Deserialize;
use serde_json::Value;

use super::entries::{entry_json, locate};
use super::{JsonBody, NoQuery, Writer};
use crate::http::{ApiError, AppState};
use crate::review::input::{self, InputError, PROMISE_MAX, TEXT_MAX, bad};
use crate::store::{NewReply, Refusal};

type Answer = Result<(StatusCode, Json<Value>), ApiError>;

async fn answer(state: &AppState, public_id: String, status: StatusCode) -> Answer {
    Ok((status, Json(entry_json(state, public_id).await?)))
}

#[derive(Debug, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct StatusBody {
    status: String,
    /// The status the caller last read: the move is refused (409
    /// `changed`) if the entry has moved since.
    #[serde(default)]
    from: Option<String>,
}

deserialize_objects_only!(StatusBody);

pub async fn status(
    Writer(caller): Writer,
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    _: NoQuery,
    JsonBody(body): JsonBody<StatusBody>,
) -> Answer {
    let public_id = locate(&state, path).await?;
    let to = input::status(&body.status, "status")?;
    let seen = body
        .from
        .as_deref()
        .map(|from| input::status(from, "from"))
        .transpose()?;
    let now = state.clock.now_millis();
    state
        .store
        .set_status_seen(public_id.clone(), seen, to, caller.user.id, now)
        .await?;
    answer(&state, public_id, StatusCode::OK).await
}

/// `null` unassigns; otherwise a colleague's id, their email, or `"me"`.
#[derive(Debug)]
pub enum Assignee {
    Id(i64),
    Named(String),
}

impl<'de> Deserialize<'de> for Assignee {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Colleague;

        impl serde::de::Visitor<'_> for Colleague {
            type Value = Assignee;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a colleague's id or email, or \"me\"")
            }

            fn visit_i64<E: serde::de::Error>(self, id: i64) -> Result<Assignee, E> {
                Ok(Assignee::Id(id))
            }

            fn visit_u64<E: serde::de::Error>(self, id: u64) -> Result<Assignee, E> {
                i64::try_from(id)
                    .map(Assignee::Id)
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Unsigned(id), &self))
            }

            /// A whole number written with a fraction of zero (`5.0`) is
            /// an integer to JSON Schema, and so to the API.
            fn visit_f64<E: serde::de::Error>(self, id: f64) -> Result<Assignee, E> {
                // i64::MAX as f64 is 2^63, just past the range: excluded.
                if id.fract() == 0.0 && (i64::MIN as f64..i64::MAX as f64).contains(&id) {
                    Ok(Assignee::Id(id as i64))
                } else {
                    Err(E::invalid_value(serde::de::Unexpected::Float(id), &self))
                }
            }

            fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<Assignee, E> {
                Ok(Assignee::Named(name.to_owned()))
            }
        }

        deserializer.deserialize_any(Colleague)
    }
}

#[derive(Debug, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct AssignBody {
    /// Required, `null` for nobody: `{}` must not unassign.
    #[serde(deserialize_with = "nullable")]
    assignee: Option<Assignee>,
    /// Who the caller last read the entry assigned to (`null`: nobody):
    /// the assignment is refused (409 `changed`) if that has changed since.
    /// Absent: not said, judged on the entry as it is.
    #[serde(default, deserialize_with = "present")]
    from: Option<Option<Assignee>>,
}

deserialize_objects_only!(AssignBody);

/// A field that must be there, `null` or not. (Serde's derive reads an
/// absent `Option` field as `None`; with a function of its own it does
/// not.)
fn nullable<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer)
}

/// A field that is there, even as `null`; with `default`, an absent one
/// is `None`, so the two can be told apart.
fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// The colleague `named`: by id, email, or `me` (the caller). `None` when
/// no account is so named: an unknown id is as unknown as an unknown email
/// (for `from` it would otherwise read as "changed since").
async fn colleague(
    state: &AppState,
    caller: i64,
    named: Assignee,
) -> Result<Option<i64>, ApiError> {
    Ok(match named {
        // Ids start at 1: nothing to look up below.
        Assignee::Id(id) if id < 1 => None,
        Assignee::Id(id) => state.store.user_name(id).await?.map(|_| id),
        Assignee::Named(name) if name == "me" => Some(caller),
        Assignee::Named(email) => state.store.user_by_email(email).await?.map(|u| u.id),
    })
}

pub async fn assign(
    Writer(caller): Writer,
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    _: NoQuery,
    JsonBody(body): JsonBody<AssignBody>,
) -> Answer {
    let public_id = locate(&state, path).await?;
    let me = caller.user.id;
    let assignee = match body.assignee {
        None => None,
        Some(named) => Some(
            colleague(&state, me, named)
                .await?
                .ok_or(ApiError::Refused(Refusal::NoUser))?,
        ),
    };
    let seen = match body.from {
        None => None,
        Some(None) => Some(None),
        Some(Some(named)) => {
            Some(Some(colleague(&state, me, named).await?.ok_or_else(
                || bad("from", "no colleague has this id or email"),
            )?))
        }
    };
    let now = state.clock.now_millis();
    state
        .store
        .assign_seen(public_id.clone(), seen, assignee, me, now)
        .await?;
    answer(&state, public_id, StatusCode::OK).await
}

#[derive(Debug, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct NoteBody {
    body: String,
}

deserialize_objects_only!(NoteBody);

/// Refuses text longer than `max` characters as sent, as the API's schema
/// counts it (`maxLength`), before the console's rule trims it. The
/// console counts trimmed text: its textareas send each line break as two
/// characters where their own limit counted one.
fn sent_within(raw: &str, field: &'static str, max: usize) -> Result<(), InputError> {
    if raw.chars().count() > max {
        return Err(bad(
            field,
            format!("the {field} is longer than {max} characters"),
        ));
    }
    Ok(())
}

pub async fn note(
    Writer(caller): Writer,
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    _: NoQuery,
    JsonBody(body): JsonBody<NoteBody>,
) -> Answer {
    let public_id = locate(&state, path).await?;
    sent_within(&body.body, "body", TEXT_MAX)?;
    let text = input::staff_text(&body.body, "body", TEXT_MAX)?;
    let now = state.clock.now_millis();
    state
        .store
        .add_note(public_id.clone(), text, caller.user.id, now)
        .await?;
    answer(&state, public_id, StatusCode::CREATED).await
}

#[derive(Debug, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct PromiseBody {
    text: String,
    /// `YYYY-MM-DD`: due at the end of that day, UTC.
    due: String,
}

deserialize_objects_only!(PromiseBody);

#[derive(Debug, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct ReplyBody {
    body: String,
    #[serde(default)]
    promise: Option<PromiseBody>,
}

deserialize_objects_only!(ReplyBody);

pub async fn reply(
    Writer(caller): Writer,
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    _: NoQuery,
    JsonBody(body): JsonBody<ReplyBody>,
) -> Answer {
    let public_id = locate(&state, path).await?;
    let now = state.clock.now_millis();
    sent_within(&body.body, "body", TEXT_MAX)?;
    let text = input::staff_text(&body.body, "body", TEXT_MAX)?;
    let promise = match &body.promise {
        None => None,
        Some(p) => {
            sent_within(&p.text, "promise.text", PROMISE_MAX)?;
            // The console's rule, named as the API's fields.
            let promise = input::promise(&p.text, &p.due, now).map_err(|mut e| {
                e.field = match e.field {
                    "promise_due" => "promise.due",
                    _ => "promise.text",
                };
                e
            })?;
            Some(promise.ok_or_else(|| bad("promise", "a promise needs text and a due date"))?)
        }
    };
    let event_id = state
        .store
        .reply(
            public_id.clone(),
            NewReply {
                body: text,
                promise,
            },
            caller.user.id,
            now,
        )
        .await?;
    tracing::info!(entry = %public_id, event_id, "staff replied through the API");
    answer(&state, public_id, StatusCode::CREATED).await
}

#[derive(Debug, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct SettleBody {
    outcome: String,
}

deserialize_objects_only!(SettleBody);

pub async fn settle(
    Writer(caller): Writer,
    State(state): State<AppState>,
    path: Result<Path<(String, i64)>, PathRejection>,
    _: NoQuery,
    JsonBody(body): JsonBody<SettleBody>,
) -> Answer {
    let Path((reference, promise)) = path.map_err(|_| ApiError::NotFound)?;
    let public_id = locate(&state, Ok(Path(reference))).await?;
    let kept = match body.outcome.as_str() {
        "kept" => true,
        "broken" => false,
        _ => return Err(bad("outcome", "outcome is kept or broken").into()),
    };
    let now = state.clock.now_millis();
    state
        .store
        .settle_promise(public_id.clone(), promise, kept, caller.user.id, now)
        .await?;
    answer(&state, public_id, StatusCode::OK).await
}
