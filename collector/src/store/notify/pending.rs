//! What the dispatcher reads for a batch: new entries past the cursor and
//! notices, each with what its messages need. A row that cannot be read
//! (edited by hand into something no collector understands) is passed over
//! with a warning rather than stopping every announcement behind it.

use rusqlite::{Connection, OptionalExtension, params};

use super::{
    ENTRIES_CURSOR, EndpointRow, EntriesTaken, NewEntryFact, NoticeFact, NoticeKind, Pending,
    RECEIPT_SITES_SQL, SNAPSHOT_SELECT, Taken, cursor, snapshot_row,
};
use crate::store::StoreError;
use crate::webhooks::payload::PromiseDetail;

pub(super) fn pending(conn: &Connection, limit: i64) -> Result<Pending, StoreError> {
    let from = cursor(conn, ENTRIES_CURSOR)?;
    let mut stmt = conn.prepare_cached(&format!(
        "{SNAPSHOT_SELECT} WHERE e.id > ?1 ORDER BY e.id LIMIT ?2"
    ))?;
    let mut upto = from;
    let mut count = 0;
    let mut entries = Vec::new();
    let rows = stmt.query_map(params![from, limit], |r| {
        Ok((r.get::<_, i64>(0)?, snapshot_row(r)))
    })?;
    for row in rows {
        let (id, read) = row?;
        upto = id;
        count += 1;
        match read {
            // Spam never notifies anyone.
            Ok((_, site_id, entry)) if entry.status != "spam" => {
                entries.push(NewEntryFact { id, site_id, entry });
            }
            Ok(_) => {}
            Err(error) if undecodable(&error) => {
                tracing::warn!(entry_id = id, %error, "a new entry could not be read to announce it; passed over");
            }
            Err(error) => return Err(error.into()),
        }
    }
    let mut stmt = conn.prepare_cached(
        "SELECT n.id, n.kind, n.entry_id, n.actor_id, u.name, n.subject_id, n.old_value,
                n.new_value, n.at
         FROM notices n LEFT JOIN users u ON u.id = n.actor_id ORDER BY n.id LIMIT ?1",
    )?;
    let raw: Vec<_> = stmt
        .query_map([limit], |r| Ok((r.get::<_, i64>(0)?, notice_row(r))))?
        .collect::<Result<_, _>>()?;
    let mut snapshot = conn.prepare_cached(&format!("{SNAPSHOT_SELECT} WHERE e.id = ?1"))?;
    let mut reply = conn.prepare_cached("SELECT body FROM events WHERE id = ?1")?;
    let mut assignee = conn.prepare_cached("SELECT assignee_id FROM entries WHERE id = ?1")?;
    let mut promise = conn.prepare_cached(
        "SELECT id, text, due_at, state, event_id, made_by FROM promises WHERE id = ?1",
    )?;
    let mut notices = Vec::new();
    let mut unreadable_notices = Vec::new();
    for (id, rest) in raw {
        let read = rest.and_then(|rest| {
            let NoticeRow {
                kind,
                entry_id,
                actor_id,
                actor,
                subject,
                old_value,
                new_value,
                at,
            } = rest;
            // A kind this version does not know is left for one that does.
            let Some(kind) = NoticeKind::parse(&kind) else {
                return Ok(None);
            };
            let Some((_, site_id, entry)) =
                snapshot.query_row([entry_id], snapshot_row).optional()?
            else {
                return Ok(None);
            };
            let reply_body = match (kind, subject) {
                (NoticeKind::Reply | NoticeKind::FollowUp | NoticeKind::Note, Some(event)) => reply
                    .query_row([event], |r| r.get::<_, Option<String>>(0))
                    .optional()?
                    .flatten(),
                _ => None,
            };
            let assignee_id = match kind {
                NoticeKind::FollowUp | NoticeKind::PromiseDue | NoticeKind::PromiseOverdue => {
                    assignee
                        .query_row([entry_id], |r| r.get::<_, Option<i64>>(0))
                        .optional()?
                        .flatten()
                }
                _ => None,
            };
            let promise_detail = match (kind, subject) {
                (
                    NoticeKind::PromiseMade
                    | NoticeKind::PromiseSettled
                    | NoticeKind::PromiseDue
                    | NoticeKind::PromiseOverdue,
                    Some(promise_id),
                ) => promise
                    .query_row([promise_id], |r| {
                        let state: String = r.get(3)?;
                        Ok(PromiseDetail {
                            id: r.get(0)?,
                            text: r.get(1)?,
                            due_at: r.get(2)?,
                            outcome: (state != "open").then_some(state),
                            event_id: r.get(4)?,
                            made_by: r.get(5)?,
                        })
                    })
                    .optional()?,
                _ => None,
            };
            Ok(Some(NoticeFact {
                id,
                kind,
                entry_id,
                site_id,
                entry,
                actor_id,
                actor,
                subject,
                old_value,
                new_value,
                at,
                reply: reply_body,
                assignee_id,
                promise: promise_detail,
            }))
        });
        match read {
            Ok(Some(fact)) => notices.push(fact),
            Ok(None) => {}
            Err(error) if undecodable(&error) => {
                tracing::warn!(notice_id = id, %error, "a notice could not be read to announce it; passed over");
                unreadable_notices.push(id);
            }
            Err(error) => return Err(error.into()),
        }
    }
    let mut stmt = conn.prepare_cached(
        "SELECT id, site_id, events, format, include_email FROM webhooks
         WHERE state <> 'disabled'",
    )?;
    let endpoints = stmt
        .query_map([], |r| {
            Ok(EndpointRow {
                id: r.get(0)?,
                site_id: r.get(1)?,
                events: r.get(2)?,
                format: r.get(3)?,
                include_email: r.get(4)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    let receipt_sites = conn
        .prepare_cached(RECEIPT_SITES_SQL)?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(Pending {
        entries,
        taken: EntriesTaken::new(Taken::Cursor { from, upto, count }),
        notices,
        unreadable_notices,
        endpoints,
        receipt_sites,
    })
}

/// A notice's columns after its id.
struct NoticeRow {
    kind: String,
    entry_id: i64,
    actor_id: Option<i64>,
    actor: Option<String>,
    subject: Option<i64>,
    old_value: Option<String>,
    new_value: Option<String>,
    at: i64,
}

fn notice_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<NoticeRow> {
    Ok(NoticeRow {
        kind: r.get(1)?,
        entry_id: r.get(2)?,
        actor_id: r.get(3)?,
        actor: r.get(4)?,
        subject: r.get(5)?,
        old_value: r.get(6)?,
        new_value: r.get(7)?,
        at: r.get(8)?,
    })
}

/// Whether a row failed for what it holds rather than for the database:
/// another try reads the same, so the row is passed over.
fn undecodable(error: &rusqlite::Error) -> bool {
    matches!(
        error,
        rusqlite::Error::FromSqlConversionFailure(..)
            | rusqlite::Error::InvalidColumnType(..)
            | rusqlite::Error::IntegralValueOutOfRange(..)
            | rusqlite::Error::Utf8Error(..)
    )
}
