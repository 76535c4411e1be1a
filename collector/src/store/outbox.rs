//! The email outbox: emails waiting to go out, what each attempt did, and
//! what an email needs when it is written (webhook messages wait in
//! `deliveries`). An email is marked sent only after it went out; a crash
//! in between sends it again (at least once), never loses it, and one
//! recorded as sent is never sent again.

use rusqlite::{Connection, OptionalExtension, params};

use super::notify::MailKind;
use super::review::{WAITING_SINCE_SQL, WAITING_SQL};
use super::{Sqlite, StoreError, User};
use crate::mail::digest::{FailingEndpoint, PromiseLine, Waiting};
use crate::mail::staff::EntryLine;
use crate::review::workflow::DAY;

/// An email waiting to go out.
#[derive(Debug, Clone)]
pub struct MailJob {
    pub id: i64,
    pub kind: MailKind,
    /// The colleague it is for (`None` for a reply to a customer).
    pub user: Option<User>,
    pub entry_id: Option<i64>,
    pub event_id: Option<i64>,
    pub actor_id: Option<i64>,
    pub day: Option<i64>,
    pub attempts: i64,
}

/// An email that folds (see [`MailKind::folds`]) waiting for its colleague.
#[derive(Debug, Clone)]
pub struct PendingLine {
    pub outbox_id: i64,
    pub line: EntryLine,
    pub queued_at: i64,
    /// The colleague whose action it tells of (who assigned the entry).
    pub actor: Option<String>,
    /// Their account: names are not unique.
    pub actor_id: Option<i64>,
}

/// A colleague's waiting emails of one folding kind, the oldest in full.
#[derive(Debug, Clone, Default)]
pub struct PendingFold {
    pub first: Vec<PendingLine>,
    pub total: usize,
    /// The newest outbox id counted in `total`.
    pub newest: i64,
}

/// How long a claimed email or webhook message is a PostgreSQL
/// collector's to send (its `due_at` moves this far ahead while it sends):
/// well beyond a send's own timeouts.
pub const LEASE_MS: i64 = 5 * 60_000;

/// What became of one email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailResult {
    /// Sent; the colleague's other pending emails of its kind up to
    /// outbox id `folded_upto` went out in the same message.
    Sent { folded_upto: Option<i64> },
    /// Not sent; try again at `retry_at`, or give up when `None`.
    Failed {
        error: String,
        retry_at: Option<i64>,
    },
    /// No longer worth sending (the entry is spam now, or gone).
    Cancelled,
    /// Not sent, for its address alone (`error` says why): given up at
    /// once, since trying again would meet the same refusal, and left out
    /// of email's health, since other addresses get through.
    Refused { error: String },
}

/// What the digest says.
#[derive(Debug, Clone, Default)]
pub struct DigestFacts {
    pub waiting_late: Vec<Waiting>,
    pub due_today: Vec<PromiseLine>,
    pub overdue: Vec<PromiseLine>,
    pub counts: Vec<(String, i64)>,
    pub failing: Vec<FailingEndpoint>,
}

pub(in crate::store) const WORDS_SQL: &str =
    "substr(coalesce(e.message, e.expected || ' / ' || e.actual, ''), 1, 400)";

fn entry_line(r: &rusqlite::Row<'_>, offset: usize) -> rusqlite::Result<EntryLine> {
    Ok(EntryLine {
        public_id: r.get(offset)?,
        reference: r.get(offset + 1)?,
        kind: r.get(offset + 2)?,
        severity: r.get(offset + 3)?,
        site_name: r.get(offset + 4)?,
        words: r.get(offset + 5)?,
        waiting_since: r.get(offset + 6)?,
        waiting: r.get(offset + 7)?,
    })
}

/// An entry as an email lists it; its time is when the customer's wait
/// began, and whether they still wait (an email queued a minute ago may
/// go out after a colleague answered).
pub(in crate::store) fn line_select() -> String {
    format!(
        "e.public_id, e.reference, e.kind, e.severity, s.name, {WORDS_SQL}, {WAITING_SINCE_SQL}, ({WAITING_SQL})"
    )
}

/// How many columns [`line_select`] reads.
pub(in crate::store) const LINE_COLUMNS: usize = 8;

fn due_mail(conn: &Connection, now: i64, limit: i64) -> Result<Vec<MailJob>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT m.id, m.kind, u.id, u.email, u.name, u.role, m.entry_id, m.event_id, m.actor_id,
                m.day, m.attempts
         FROM mail_outbox m LEFT JOIN users u ON u.id = m.user_id AND u.disabled_at IS NULL
         WHERE m.state = 'pending' AND m.due_at <= ?1 ORDER BY m.due_at, m.id LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![now, limit], |r| {
        let kind: String = r.get(1)?;
        let user = match r.get::<_, Option<i64>>(2)? {
            Some(_) => Some(super::staff::user_from_row(r, 2)?),
            None => None,
        };
        Ok((
            kind,
            MailJob {
                id: r.get(0)?,
                kind: MailKind::NewEntry,
                user,
                entry_id: r.get(6)?,
                event_id: r.get(7)?,
                actor_id: r.get(8)?,
                day: r.get(9)?,
                attempts: r.get(10)?,
            },
        ))
    })?;
    let mut jobs = Vec::new();
    for row in rows {
        let (kind, job) = row?;
        if let Some(kind) = MailKind::parse(&kind) {
            jobs.push(MailJob { kind, ..job });
        }
    }
    Ok(jobs)
}

/// Records a failed attempt at email `id`: tried again at `retry_at`, or
/// given up; `address_refused` when its address alone was refused.
fn failed(
    conn: &Connection,
    id: i64,
    at: i64,
    error: &str,
    retry_at: Option<i64>,
    address_refused: bool,
) -> Result<(), StoreError> {
    match retry_at {
        Some(due) => conn
            .prepare_cached(
                "UPDATE mail_outbox SET attempts = attempts + 1, due_at = ?2 WHERE id = ?1",
            )?
            .execute(params![id, due])?,
        None => conn
            .prepare_cached(
                "UPDATE mail_outbox SET attempts = attempts + 1, state = 'failed' WHERE id = ?1",
            )?
            .execute([id])?,
    };
    conn.prepare_cached(
        "INSERT INTO mail_attempts (outbox_id, at, ok, error, address_refused)
         VALUES (?1, ?2, 0, ?3, ?4)",
    )?
    .execute(params![id, at, error, address_refused])?;
    Ok(())
}

fn record_mail(conn: &Connection, id: i64, result: &MailResult, at: i64) -> Result<(), StoreError> {
    match result {
        MailResult::Sent { folded_upto } => {
            conn.prepare_cached(
                "UPDATE mail_outbox SET state = 'sent', sent_in = id, sent_at = ?2,
                     attempts = attempts + 1 WHERE id = ?1",
            )?
            .execute(params![id, at])?;
            if let Some(upto) = folded_upto {
                let kind: String = conn
                    .prepare_cached("SELECT kind FROM mail_outbox WHERE id = ?1")?
                    .query_row([id], |r| r.get(0))?;
                // The kind is written into the SQL, not bound: only then
                // does SQLite seek the colleague's rows in the partial index
                // that names it instead of reading the outbox's history.
                if let Some(kind) = MailKind::parse(&kind).filter(|k| k.folds()) {
                    conn.prepare_cached(&format!(
                        "UPDATE mail_outbox SET state = 'folded', sent_in = ?1, sent_at = ?2
                         WHERE user_id = (SELECT user_id FROM mail_outbox WHERE id = ?1)
                           AND kind = '{}' AND state = 'pending' AND id <= ?3",
                        kind.as_str()
                    ))?
                    .execute(params![id, at, upto])?;
                }
            }
            conn.prepare_cached(
                "INSERT INTO mail_attempts (outbox_id, at, ok) VALUES (?1, ?2, 1)",
            )?
            .execute(params![id, at])?;
        }
        MailResult::Failed { error, retry_at } => failed(conn, id, at, error, *retry_at, false)?,
        MailResult::Refused { error } => failed(conn, id, at, error, None, true)?,
        MailResult::Cancelled => {
            conn.prepare_cached("UPDATE mail_outbox SET state = 'cancelled' WHERE id = ?1")?
                .execute([id])?;
        }
    }
    Ok(())
}

fn digest_facts(
    conn: &Connection,
    now: i64,
    with_webhooks: bool,
) -> Result<DigestFacts, StoreError> {
    let mut facts = DigestFacts::default();
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {}, s.first_response_minutes
         FROM entries e INDEXED BY entries_waiting JOIN sites s ON s.id = e.site_id
         WHERE {WAITING_SQL} AND {WAITING_SINCE_SQL} + s.first_response_minutes * 60000 < ?1
         ORDER BY {WAITING_SINCE_SQL}, e.id LIMIT 200",
        line_select()
    ))?;
    facts.waiting_late = stmt
        .query_map([now], |r| {
            Ok(Waiting {
                entry: entry_line(r, 0)?,
                target_ms: r.get::<_, i64>(LINE_COLUMNS)?.saturating_mul(60_000),
            })
        })?
        .collect::<Result<_, _>>()?;
    let day_end = (now.div_euclid(DAY) + 1) * DAY;
    let promise = |r: &rusqlite::Row<'_>| {
        Ok(PromiseLine {
            entry_public_id: r.get(0)?,
            reference: r.get(1)?,
            text: r.get(2)?,
            due_at: r.get(3)?,
        })
    };
    let mut stmt = conn.prepare_cached(
        "SELECT e.public_id, e.reference, p.text, p.due_at FROM promises p
         JOIN entries e ON e.id = p.entry_id
         WHERE p.state = 'open' AND p.due_at >= ?1 AND p.due_at < ?2 ORDER BY p.due_at LIMIT 200",
    )?;
    facts.due_today = stmt
        .query_map(params![now, day_end], promise)?
        .collect::<Result<_, _>>()?;
    let mut stmt = conn.prepare_cached(
        "SELECT e.public_id, e.reference, p.text, p.due_at FROM promises p
         JOIN entries e ON e.id = p.entry_id
         WHERE p.state = 'open' AND p.due_at < ?1 ORDER BY p.due_at LIMIT 200",
    )?;
    facts.overdue = stmt.query_map([now], promise)?.collect::<Result<_, _>>()?;
    let mut stmt = conn.prepare_cached(
        "SELECT kind, count(*) FROM entries
         WHERE id >= coalesce((SELECT id FROM entries WHERE created_at >= ?1 ORDER BY created_at, id LIMIT 1), 1 << 62)
           AND status <> 'spam'
         GROUP BY kind ORDER BY kind",
    )?;
    facts.counts = stmt
        .query_map([now - DAY], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    if with_webhooks {
        let mut stmt = conn.prepare_cached(
            "SELECT s.name, w.url FROM webhooks w JOIN sites s ON s.id = w.site_id
             WHERE w.state = 'failing' ORDER BY s.name_key, w.id",
        )?;
        facts.failing = stmt
            .query_map([], |r| {
                let url: String = r.get(1)?;
                Ok(FailingEndpoint {
                    site_name: r.get(0)?,
                    origin: crate::webhooks::EndpointUrl::parse(&url)
                        .map(|u| u.origin())
                        .unwrap_or_default(),
                })
            })?
            .collect::<Result<_, _>>()?;
    }
    Ok(facts)
}

impl Sqlite {
    /// Emails due by `now`, oldest first.
    pub async fn due_mail(&self, now: i64, limit: i64) -> Result<Vec<MailJob>, StoreError> {
        self.read(move |conn| due_mail(conn, now, limit)).await
    }

    /// A colleague's pending emails of folding `kind` (due or not): the
    /// oldest `limit`, how many there are and the newest outbox id among
    /// them. Those whose entry has become spam are cancelled first: nobody
    /// hears of spam.
    pub async fn pending_folding(
        &self,
        kind: MailKind,
        user_id: i64,
        limit: i64,
    ) -> Result<PendingFold, StoreError> {
        // The kind is written into the SQL, not bound: only then does
        // SQLite use the partial index that names it.
        let kind = kind.as_str();
        self.write(move |conn| {
            conn.prepare_cached(&format!(
                "UPDATE mail_outbox SET state = 'cancelled'
                 WHERE user_id = ?1 AND kind = '{kind}' AND state = 'pending'
                   AND entry_id IN (SELECT id FROM entries WHERE status = 'spam')"
            ))?
            .execute([user_id])?;
            let (total, newest): (i64, Option<i64>) = conn
                .prepare_cached(&format!(
                    "SELECT count(*), max(id) FROM mail_outbox
                     WHERE user_id = ?1 AND kind = '{kind}' AND state = 'pending'"
                ))?
                .query_row([user_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT m.id, m.created_at, a.name, a.id, {}
                 FROM mail_outbox m JOIN entries e ON e.id = m.entry_id JOIN sites s ON s.id = e.site_id
                 LEFT JOIN users a ON a.id = m.actor_id
                 WHERE m.user_id = ?1 AND m.kind = '{kind}' AND m.state = 'pending'
                 ORDER BY m.id LIMIT ?2",
                line_select()
            ))?;
            let first = stmt
                .query_map(params![user_id, limit], |r| {
                    Ok(PendingLine {
                        outbox_id: r.get(0)?,
                        queued_at: r.get(1)?,
                        actor: r.get(2)?,
                        actor_id: r.get(3)?,
                        line: entry_line(r, 4)?,
                    })
                })?
                .collect::<Result<_, _>>()?;
            Ok(PendingFold {
                first,
                total: usize::try_from(total).unwrap_or(0),
                newest: newest.unwrap_or(0),
            })
        })
        .await
    }

    /// When a colleague was last sent an email of folding `kind`.
    pub async fn last_folding_mail(
        &self,
        kind: MailKind,
        user_id: i64,
    ) -> Result<Option<i64>, StoreError> {
        let kind = kind.as_str();
        self.read(move |conn| {
            Ok(conn
                .prepare_cached(&format!(
                    "SELECT max(sent_at) FROM mail_outbox
                     WHERE user_id = ?1 AND kind = '{kind}' AND state = 'sent'"
                ))?
                .query_row([user_id], |r| r.get(0))?)
        })
        .await
    }

    /// Holds a colleague's pending emails of folding `kind` until `until`
    /// (only those due before it are touched).
    pub async fn hold_folding_mail(
        &self,
        kind: MailKind,
        user_id: i64,
        until: i64,
    ) -> Result<(), StoreError> {
        let kind = kind.as_str();
        self.write(move |conn| {
            conn.prepare_cached(&format!(
                "UPDATE mail_outbox SET due_at = ?2
                 WHERE user_id = ?1 AND kind = '{kind}' AND state = 'pending' AND due_at < ?2"
            ))?
            .execute(params![user_id, until])?;
            Ok(())
        })
        .await
    }

    /// Records what became of an email (and of rows folded into it).
    pub async fn record_mail(
        &self,
        id: i64,
        result: MailResult,
        at: i64,
    ) -> Result<(), StoreError> {
        self.write(move |conn| record_mail(conn, id, &result, at))
            .await
    }

    /// An entry as an email mentions it.
    pub async fn entry_line(&self, entry_id: i64) -> Result<Option<EntryLine>, StoreError> {
        self.read(move |conn| {
            Ok(conn
                .prepare_cached(&format!(
                    "SELECT {} FROM entries e JOIN sites s ON s.id = e.site_id WHERE e.id = ?1",
                    line_select()
                ))?
                .query_row([entry_id], |r| entry_line(r, 0))
                .optional()?)
        })
        .await
    }

    /// The words of one timeline event (a follow-up, a reply).
    pub async fn event_body(&self, event_id: i64) -> Result<Option<String>, StoreError> {
        self.read(move |conn| {
            Ok(conn
                .prepare_cached("SELECT body FROM events WHERE id = ?1")?
                .query_row([event_id], |r| r.get::<_, Option<String>>(0))
                .optional()?
                .flatten())
        })
        .await
    }

    /// A colleague's name.
    pub async fn user_name(&self, user_id: i64) -> Result<Option<String>, StoreError> {
        self.read(move |conn| {
            Ok(conn
                .prepare_cached("SELECT name FROM users WHERE id = ?1")?
                .query_row([user_id], |r| r.get(0))
                .optional()?)
        })
        .await
    }

    /// What the digest at `now` says; failing webhooks for administrators.
    pub async fn digest_facts(
        &self,
        now: i64,
        with_webhooks: bool,
    ) -> Result<DigestFacts, StoreError> {
        self.read(move |conn| digest_facts(conn, now, with_webhooks))
            .await
    }

    /// When the earliest waiting email is due.
    pub async fn next_mail_due(&self) -> Result<Option<i64>, StoreError> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached("SELECT min(due_at) FROM mail_outbox WHERE state = 'pending'")?
                .query_row([], |r| r.get(0))?)
        })
        .await
    }
}
