//! What staff do to an entry: status, assignment, notes, replies with
//! promises, settling promises (one action on many entries is `bulk`'s).
//! Each records its event in the same transaction as the change.

use rusqlite::{Connection, OptionalExtension, params};

use crate::store::notify::{Notice, NoticeKind, notice};
use crate::store::{Sqlite, StoreError};

use super::{EventKind, Outcome, Refusal, ReviewError, flatten};
use crate::review::workflow::{Settled, Status};

/// The id, status and assignee of an entry, for actions.
pub(super) fn locate(
    conn: &Connection,
    public_id: &str,
) -> Result<Option<(i64, Status, Option<i64>)>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT id, status, assignee_id FROM entries WHERE public_id = ?1")?;
    let found = stmt
        .query_row([public_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    Ok(found)
}

pub(in crate::store) struct NewEvent<'a> {
    pub entry_id: i64,
    /// The colleague; `None` when the customer did it.
    pub actor: Option<i64>,
    pub kind: EventKind,
    pub body: Option<&'a str>,
    pub old_value: Option<&'a str>,
    pub new_value: Option<&'a str>,
    /// For an assignment, the accounts it moved the entry from and to: the
    /// names beside them are not unique and may change.
    pub old_user: Option<i64>,
    pub new_user: Option<i64>,
    pub at: i64,
}

pub(in crate::store) fn record(conn: &Connection, event: NewEvent<'_>) -> Result<i64, StoreError> {
    conn.prepare_cached(
        "INSERT INTO events (entry_id, actor_id, kind, body, old_value, new_value,
                             old_user_id, new_user_id, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        event.entry_id,
        event.actor,
        event.kind.as_str(),
        event.body,
        event.old_value,
        event.new_value,
        event.old_user,
        event.new_user,
        event.at
    ])?;
    Ok(conn.last_insert_rowid())
}

pub(in crate::store) fn move_status(
    conn: &Connection,
    entry_id: i64,
    from: Status,
    to: Status,
    actor: Option<i64>,
    at: i64,
) -> Result<Result<(), Refusal>, StoreError> {
    if let Err(e) = from.transition(to) {
        return Ok(Err(e.into()));
    }
    conn.prepare_cached("UPDATE entries SET status = ?2 WHERE id = ?1")?
        .execute(params![entry_id, to.as_str()])?;
    crate::store::rollup::status_changed(conn, entry_id, from.as_str(), to.as_str(), at)?;
    let event = record(
        conn,
        NewEvent {
            entry_id,
            actor,
            kind: EventKind::Status,
            body: None,
            old_value: Some(from.as_str()),
            new_value: Some(to.as_str()),
            old_user: None,
            new_user: None,
            at,
        },
    )?;
    notice(
        conn,
        Notice {
            kind: NoticeKind::Status,
            entry_id,
            actor,
            subject: Some(event),
            old_value: Some(from.as_str()),
            new_value: Some(to.as_str()),
            at,
        },
    )?;
    Ok(Ok(()))
}

/// Whether `user_id` is an account that can be given work.
pub(super) fn is_active_user(conn: &Connection, user_id: i64) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM users WHERE id = ?1 AND disabled_at IS NULL")?
        .query_row([user_id], |_| Ok(()))
        .optional()?
        .is_some())
}

fn user_name(conn: &Connection, user_id: i64) -> Result<Option<String>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT name FROM users WHERE id = ?1")?
        .query_row([user_id], |r| r.get(0))
        .optional()?)
}

/// Assigns (or unassigns) one entry; `Ok(false)` when nothing changed.
pub(super) fn assign_one(
    conn: &Connection,
    entry_id: i64,
    assignee: Option<i64>,
    actor: i64,
    at: i64,
) -> Result<bool, StoreError> {
    let current: Option<i64> = conn
        .prepare_cached("SELECT assignee_id FROM entries WHERE id = ?1")?
        .query_row([entry_id], |r| r.get(0))?;
    if current == assignee {
        return Ok(false);
    }
    conn.prepare_cached("UPDATE entries SET assignee_id = ?2 WHERE id = ?1")?
        .execute(params![entry_id, assignee])?;
    let old = current.map(|id| user_name(conn, id)).transpose()?.flatten();
    let new = assignee
        .map(|id| user_name(conn, id))
        .transpose()?
        .flatten();
    record(
        conn,
        NewEvent {
            entry_id,
            actor: Some(actor),
            kind: EventKind::Assign,
            body: None,
            old_value: old.as_deref(),
            new_value: new.as_deref(),
            old_user: current,
            new_user: assignee,
            at,
        },
    )?;
    notice(
        conn,
        Notice {
            kind: NoticeKind::Assign,
            entry_id,
            actor: Some(actor),
            subject: assignee,
            old_value: old.as_deref(),
            new_value: new.as_deref(),
            at,
        },
    )?;
    Ok(true)
}

/// A reply with an optional promise attached.
#[derive(Debug, Clone)]
pub struct NewReply {
    pub body: String,
    pub promise: Option<(String, i64)>,
}

fn reply(
    conn: &Connection,
    (entry_id, status): (i64, Status),
    reply: &NewReply,
    actor: i64,
    at: i64,
) -> Outcome<i64> {
    // Sent twice (a double click): the customer hears it once.
    let again = crate::store::conversation::repeated(
        conn,
        entry_id,
        crate::review::workflow::Author::Staff(actor),
        &reply.body,
        at,
    )?;
    if let Some(event_id) = again {
        return Ok(Ok(event_id));
    }
    let event_id = record(
        conn,
        NewEvent {
            entry_id,
            actor: Some(actor),
            kind: EventKind::Reply,
            body: Some(&reply.body),
            old_value: None,
            new_value: None,
            old_user: None,
            new_user: None,
            at,
        },
    )?;
    // A reply answers the customer's follow-ups too.
    conn.prepare_cached(
        "UPDATE entries SET followup_at = NULL WHERE id = ?1 AND followup_at IS NOT NULL",
    )?
    .execute([entry_id])?;
    // The first reply stops the first-response clock.
    let first = conn
        .prepare_cached(
            "UPDATE entries SET first_response_at = ?2 WHERE id = ?1 AND first_response_at IS NULL",
        )?
        .execute(params![entry_id, at])?;
    if first == 1 && status != Status::Spam {
        crate::store::rollup::first_response(conn, entry_id, at)?;
    }
    // Answering a new entry acknowledges it.
    if status == Status::New {
        move_status(
            conn,
            entry_id,
            status,
            Status::Acknowledged,
            Some(actor),
            at,
        )?
        .ok();
    }
    let mut said = Notice {
        kind: NoticeKind::Reply,
        entry_id,
        actor: Some(actor),
        subject: Some(event_id),
        old_value: None,
        new_value: None,
        at,
    };
    notice(conn, said.clone())?;
    if let Some((text, due_at)) = &reply.promise {
        conn.prepare_cached(
            "INSERT INTO promises (entry_id, event_id, made_by, text, due_at, created_at, site_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, (SELECT site_id FROM entries WHERE id = ?1))",
        )?
        .execute(params![entry_id, event_id, actor, text, due_at, at])?;
        said.kind = NoticeKind::PromiseMade;
        said.subject = Some(conn.last_insert_rowid());
        notice(conn, said)?;
    }
    Ok(Ok(event_id))
}

impl Sqlite {
    /// Runs `action` in a write on the entry `public_id`, given its id and
    /// status; refused with [`Refusal::NoEntry`] when there is none.
    async fn on_entry<T: Send + 'static>(
        &self,
        public_id: String,
        action: impl Fn(&Connection, i64, Status) -> Outcome<T> + Send + 'static,
    ) -> Result<T, ReviewError> {
        flatten(
            self.write(move |conn| match locate(conn, &public_id)? {
                Some((id, status, _)) => action(conn, id, status),
                None => Ok(Err(Refusal::NoEntry)),
            })
            .await,
        )
    }

    pub async fn set_status(
        &self,
        public_id: String,
        to: Status,
        actor: i64,
        at: i64,
    ) -> Result<(), ReviewError> {
        self.set_status_seen(public_id, None, to, actor, at).await
    }

    /// Moves the entry to `to` for a colleague who saw it as `seen`:
    /// refused if someone has moved it since ([`Status::transition_from`]).
    pub async fn set_status_seen(
        &self,
        public_id: String,
        seen: Option<Status>,
        to: Status,
        actor: i64,
        at: i64,
    ) -> Result<(), ReviewError> {
        self.on_entry(public_id, move |conn, id, from| {
            if let Err(e) = from.transition_from(seen, to) {
                return Ok(Err(e.into()));
            }
            move_status(conn, id, from, to, Some(actor), at)
        })
        .await
    }

    pub async fn assign(
        &self,
        public_id: String,
        assignee: Option<i64>,
        actor: i64,
        at: i64,
    ) -> Result<(), ReviewError> {
        self.assign_seen(public_id, None, assignee, actor, at).await
    }

    /// Assigns the entry for a colleague who saw it assigned to `seen`
    /// (`Some(None)`: to nobody): refused if someone has changed that since.
    pub async fn assign_seen(
        &self,
        public_id: String,
        seen: Option<Option<i64>>,
        assignee: Option<i64>,
        actor: i64,
        at: i64,
    ) -> Result<(), ReviewError> {
        self.on_entry(public_id, move |conn, id, _| {
            let now: Option<i64> = conn
                .prepare_cached("SELECT assignee_id FROM entries WHERE id = ?1")?
                .query_row([id], |r| r.get(0))?;
            if super::reassigned(seen, now, assignee) {
                return Ok(Err(Refusal::Reassigned));
            }
            // Kept with whoever has it (a colleague since disabled too): no
            // change. Only new work needs an active colleague.
            if let Some(user) = assignee.filter(|_| assignee != now)
                && !is_active_user(conn, user)?
            {
                return Ok(Err(Refusal::NoUser));
            }
            assign_one(conn, id, assignee, actor, at)?;
            Ok(Ok(()))
        })
        .await
    }

    /// An internal note: on the timeline and in search, never shown to the
    /// customer.
    pub async fn add_note(
        &self,
        public_id: String,
        body: String,
        actor: i64,
        at: i64,
    ) -> Result<(), ReviewError> {
        self.on_entry(public_id, move |conn, id, _| {
            // Sent twice (a double click): colleagues read it once.
            let last = conn
                .prepare_cached(super::LAST_NOTE_SQL)?
                .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()?;
            if super::repeats_note(last, actor, &body, at) {
                return Ok(Ok(()));
            }
            let event = record(
                conn,
                NewEvent {
                    entry_id: id,
                    actor: Some(actor),
                    kind: EventKind::Note,
                    body: Some(&body),
                    old_value: None,
                    new_value: None,
                    old_user: None,
                    new_user: None,
                    at,
                },
            )?;
            if let Some(mention) = Notice::of_note(&body, id, actor, event, at) {
                notice(conn, mention)?;
            }
            // An entry not indexed yet gets its notes from the timeline
            // when it is (see `search`).
            if id <= crate::store::search::indexed_upto(conn)? {
                conn.prepare_cached(
                    "UPDATE entries_fts SET notes = notes || char(10) || ?2 WHERE rowid = ?1",
                )?
                .execute(params![id, body])?;
            }
            Ok(Ok(()))
        })
        .await
    }

    /// A reply to the customer, shown on their status page; may carry a
    /// promise. Returns the reply's event id.
    pub async fn reply(
        &self,
        public_id: String,
        new: NewReply,
        actor: i64,
        at: i64,
    ) -> Result<i64, ReviewError> {
        self.on_entry(public_id, move |conn, id, status| {
            reply(conn, (id, status), &new, actor, at)
        })
        .await
    }

    /// Notes on a reply whether its email went out (`emailed` or
    /// `email_failed`), for the timeline.
    pub async fn mark_reply_mailed(&self, event_id: i64, sent: bool) -> Result<(), StoreError> {
        self.write(move |conn| {
            conn.execute(
                "UPDATE events SET new_value = ?2 WHERE id = ?1 AND kind = 'reply'",
                params![event_id, if sent { "emailed" } else { "email_failed" }],
            )?;
            Ok(())
        })
        .await
    }

    /// Records that a promise was kept or broken.
    pub async fn settle_promise(
        &self,
        public_id: String,
        promise_id: i64,
        kept: bool,
        actor: i64,
        at: i64,
    ) -> Result<(), ReviewError> {
        self.on_entry(public_id, move |conn, entry_id, _| {
            let found: Option<(String, String)> = conn
                .prepare_cached("SELECT state, text FROM promises WHERE id = ?1 AND entry_id = ?2")?
                .query_row(params![promise_id, entry_id], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()?;
            let Some((state, text)) = found else {
                return Ok(Err(Refusal::NoPromise));
            };
            if state != Settled::Open.as_str() {
                return Ok(Err(Refusal::AlreadySettled));
            }
            let (settled, kind) = if kept {
                (Settled::Kept, EventKind::PromiseKept)
            } else {
                (Settled::Broken, EventKind::PromiseBroken)
            };
            conn.prepare_cached("UPDATE promises SET state = ?2, settled_at = ?3 WHERE id = ?1")?
                .execute(params![promise_id, settled.as_str(), at])?;
            record(
                conn,
                NewEvent {
                    entry_id,
                    actor: Some(actor),
                    kind,
                    body: Some(&text),
                    old_value: None,
                    new_value: None,
                    old_user: None,
                    new_user: None,
                    at,
                },
            )?;
            notice(
                conn,
                Notice {
                    kind: NoticeKind::PromiseSettled,
                    entry_id,
                    actor: Some(actor),
                    subject: Some(promise_id),
                    old_value: None,
                    new_value: Some(settled.as_str()),
                    at,
                },
            )?;
            Ok(Ok(()))
        })
        .await
    }
}
