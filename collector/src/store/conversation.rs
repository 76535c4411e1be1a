//! The customer's side of the conversation: follow-ups they add from their
//! status page, and the exchange as that page shows it.
//!
//! A follow-up is a timeline event by nobody on staff. It puts the entry
//! back among those waiting for a response (restarting the wait when staff
//! had answered; an unanswered customer keeps their original wait), reopens
//! a resolved or closed entry, tells the assignee, and is searchable.

use rusqlite::{Connection, OptionalExtension, params};

use super::notify::{Notice, NoticeKind, notice};
use super::review::{EventKind, NewEvent, move_status, record};
use super::{Sqlite, StoreError};
use crate::review::workflow::{Author, LastMessage, Settled, Status, repeats};

/// One message of the exchange, as the customer's status page shows it:
/// never a colleague's name, never an internal note.
#[derive(Debug, Clone)]
pub struct PublicMessage {
    pub body: String,
    pub created_at: i64,
    /// Written by the customer (a follow-up) rather than by staff.
    pub by_customer: bool,
    /// A promise a staff reply carried: text, due date, outcome.
    pub promise: Option<(String, i64, Settled)>,
}

/// What a follow-up did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FollowedUp {
    pub event_id: i64,
    /// The entry was resolved or closed and is open again.
    pub reopened: bool,
}

/// The exchange's last message, as both backends read it: its event, the
/// event's kind and actor, what it said, when.
pub(in crate::store) const LAST_MESSAGE_SQL: &str =
    "SELECT id, kind, actor_id, body, created_at FROM events
     WHERE entry_id = $1 AND kind IN ('reply', 'follow_up') ORDER BY id DESC LIMIT 1";

/// A row of [`LAST_MESSAGE_SQL`].
pub(in crate::store) type LastMessageRow = (i64, String, Option<i64>, Option<String>, i64);

/// The event of the exchange's `last` message ([`LAST_MESSAGE_SQL`]) when
/// `author` saying `body` at `at` only repeats it ([`repeats`]); the same
/// on both backends.
pub(in crate::store) fn repeat_of(
    last: Option<LastMessageRow>,
    author: Author,
    body: &str,
    at: i64,
) -> Option<i64> {
    let (id, kind, actor, said, when) = last?;
    // A reply is by its colleague; a follow-up, by the customer.
    let author_then = match actor {
        Some(actor) if kind == EventKind::Reply.as_str() => Author::Staff(actor),
        _ => Author::Customer,
    };
    let last = LastMessage {
        author: author_then,
        body: said.as_deref().unwrap_or_default(),
        at: when,
    };
    repeats(Some(last), author, body, at).then_some(id)
}

/// [`repeat_of`] the exchange's last message, read in `conn`'s transaction.
pub(super) fn repeated(
    conn: &Connection,
    entry_id: i64,
    author: Author,
    body: &str,
    at: i64,
) -> rusqlite::Result<Option<i64>> {
    let last = conn
        .prepare_cached(LAST_MESSAGE_SQL)?
        .query_row([entry_id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .optional()?;
    Ok(repeat_of(last, author, body, at))
}

fn follow_up(
    conn: &Connection,
    entry_id: i64,
    body: &str,
    at: i64,
) -> Result<Option<FollowedUp>, StoreError> {
    let status: Option<Status> = conn
        .prepare_cached("SELECT status FROM entries WHERE id = ?1")?
        .query_row([entry_id], |r| r.get(0))
        .optional()?;
    let Some(status) = status else {
        return Ok(None);
    };
    if let Some(event_id) = repeated(conn, entry_id, Author::Customer, body, at)? {
        return Ok(Some(FollowedUp {
            event_id,
            reopened: false,
        }));
    }
    let event_id = record(
        conn,
        NewEvent {
            entry_id,
            actor: None,
            kind: EventKind::FollowUp,
            body: Some(body),
            old_value: None,
            new_value: None,
            old_user: None,
            new_user: None,
            at,
        },
    )?;
    // Words on an entry staff binned as spam are kept, and bother nobody.
    if status == Status::Spam {
        return Ok(Some(FollowedUp {
            event_id,
            reopened: false,
        }));
    }
    let reopened = matches!(status, Status::Resolved | Status::WontFix)
        && move_status(conn, entry_id, status, Status::InProgress, None, at)?.is_ok();
    conn.prepare_cached(
        "UPDATE entries SET followup_at = coalesce(followup_at, ?2)
         WHERE id = ?1 AND first_response_at IS NOT NULL",
    )?
    .execute(params![entry_id, at])?;
    // An entry not indexed yet gets its follow-ups from the timeline when
    // it is (see `search`).
    if entry_id <= super::search::indexed_upto(conn)? {
        conn.prepare_cached(
            "UPDATE entries_fts SET notes = notes || char(10) || ?2 WHERE rowid = ?1",
        )?
        .execute(params![entry_id, body])?;
    }
    notice(
        conn,
        Notice {
            kind: NoticeKind::FollowUp,
            entry_id,
            actor: None,
            subject: Some(event_id),
            old_value: None,
            new_value: None,
            at,
        },
    )?;
    Ok(Some(FollowedUp { event_id, reopened }))
}

impl Sqlite {
    /// Adds the customer's follow-up to entry `entry_id` (found by its status
    /// link); `None` when the entry no longer exists.
    pub async fn follow_up(
        &self,
        entry_id: i64,
        body: String,
        at: i64,
    ) -> Result<Option<FollowedUp>, StoreError> {
        self.write(move |conn| follow_up(conn, entry_id, &body, at))
            .await
    }

    /// Staff replies and the customer's follow-ups, oldest first.
    pub async fn public_conversation(
        &self,
        entry_id: i64,
    ) -> Result<Vec<PublicMessage>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT ev.body, ev.created_at, ev.kind, p.text, p.due_at, p.state
                 FROM events ev LEFT JOIN promises p ON p.event_id = ev.id
                 WHERE ev.entry_id = ?1 AND ev.kind IN ('reply', 'follow_up') ORDER BY ev.id",
            )?;
            let rows = stmt.query_map([entry_id], |r| {
                let promise = match (r.get::<_, Option<String>>(3)?, r.get::<_, Option<i64>>(4)?) {
                    (Some(text), Some(due)) => Some((text, due, r.get::<_, Settled>(5)?)),
                    _ => None,
                };
                Ok(PublicMessage {
                    body: r.get::<_, Option<String>>(0)?.unwrap_or_default(),
                    created_at: r.get(1)?,
                    by_customer: r.get::<_, String>(2)? == EventKind::FollowUp.as_str(),
                    promise,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }
}
