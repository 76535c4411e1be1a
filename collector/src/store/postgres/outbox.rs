//! The email outbox on PostgreSQL (webhook messages: `deliveries`).
//!
//! Several collectors send from one outbox. A collector claims due rows
//! with `FOR UPDATE SKIP LOCKED` and leases them (their `due_at` moves
//! [`LEASE_MS`] ahead) in the same statement, so no other collector takes
//! them while it sends; recording the result ends the lease. A collector
//! that dies mid-send leaves the lease to run out, and another sends it
//! then: at least once, as on SQLite after a crash, never twice once the
//! result is recorded. A new-entry email may fold in the colleague's other
//! waiting new-entry emails, so claiming one leases those too.

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::staff::user;
use super::{Postgres, read_opt, read_rows};
use crate::mail::digest::{FailingEndpoint, PromiseLine, Waiting};
use crate::mail::staff::EntryLine;
use crate::review::workflow::DAY;
use crate::store::notify::MailKind;
use crate::store::outbox::{LINE_COLUMNS, line_select};
use crate::store::review::{WAITING_SINCE_SQL, WAITING_SQL};
use crate::store::{DigestFacts, MailJob, MailResult, PendingFold, PendingLine, StoreError};

pub use crate::store::outbox::LEASE_MS;

fn entry_line(r: &Row, offset: usize) -> Result<EntryLine, StoreError> {
    Ok(EntryLine {
        public_id: r.try_get(offset)?,
        reference: r.try_get(offset + 1)?,
        kind: r.try_get(offset + 2)?,
        severity: r.try_get(offset + 3)?,
        site_name: r.try_get(offset + 4)?,
        words: r.try_get(offset + 5)?,
        waiting_since: r.try_get(offset + 6)?,
        waiting: r.try_get(offset + 7)?,
    })
}

/// Records a failed attempt at email `id` (as on SQLite).
async fn failed(
    client: &impl GenericClient,
    id: i64,
    at: i64,
    error: &str,
    retry_at: Option<i64>,
    address_refused: bool,
) -> Result<(), StoreError> {
    match retry_at {
        Some(due) => {
            client
                .execute(
                    "UPDATE mail_outbox SET attempts = attempts + 1, due_at = $2 WHERE id = $1",
                    &[&id, &due],
                )
                .await?
        }
        None => client
            .execute(
                "UPDATE mail_outbox SET attempts = attempts + 1, state = 'failed' WHERE id = $1",
                &[&id],
            )
            .await?,
    };
    client
        .execute(
            "INSERT INTO mail_attempts (outbox_id, at, ok, error, address_refused)
             VALUES ($1, $2, false, $3, $4)",
            &[&id, &at, &error, &address_refused],
        )
        .await?;
    Ok(())
}

async fn record_mail(
    client: &impl GenericClient,
    id: i64,
    result: &MailResult,
    at: i64,
) -> Result<(), StoreError> {
    match result {
        MailResult::Sent { folded_upto } => {
            client
                .execute(
                    "UPDATE mail_outbox SET state = 'sent', sent_in = id, sent_at = $2,
                         attempts = attempts + 1 WHERE id = $1",
                    &[&id, &at],
                )
                .await?;
            if let Some(upto) = folded_upto {
                let kind: String = client
                    .query_one("SELECT kind FROM mail_outbox WHERE id = $1", &[&id])
                    .await?
                    .try_get(0)?;
                // A literal kind, so the colleague's rows are found in the
                // partial index that names it.
                if let Some(kind) = MailKind::parse(&kind).filter(|k| k.folds()) {
                    client
                        .execute(
                            &format!(
                                "UPDATE mail_outbox SET state = 'folded', sent_in = $1, sent_at = $2
                                 WHERE user_id = (SELECT user_id FROM mail_outbox WHERE id = $1)
                                   AND kind = '{}' AND state = 'pending' AND id <= $3",
                                kind.as_str()
                            ),
                            &[&id, &at, upto],
                        )
                        .await?;
                }
            }
            client
                .execute(
                    "INSERT INTO mail_attempts (outbox_id, at, ok) VALUES ($1, $2, true)",
                    &[&id, &at],
                )
                .await?;
        }
        MailResult::Failed { error, retry_at } => {
            failed(client, id, at, error, *retry_at, false).await?
        }
        MailResult::Refused { error } => failed(client, id, at, error, None, true).await?,
        MailResult::Cancelled => {
            client
                .execute(
                    "UPDATE mail_outbox SET state = 'cancelled' WHERE id = $1",
                    &[&id],
                )
                .await?;
        }
    }
    Ok(())
}

impl Postgres {
    /// Emails due by `now`, oldest first, claimed for this collector.
    pub async fn due_mail(&self, now: i64, limit: i64) -> Result<Vec<MailJob>, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let rows = tx
            .query(
                "WITH picked AS (
                     SELECT id, due_at FROM mail_outbox
                     WHERE state = 'pending' AND due_at <= $1
                     ORDER BY due_at, id LIMIT $2 FOR UPDATE SKIP LOCKED
                 ), claimed AS (
                     UPDATE mail_outbox m SET due_at = $1::bigint + $3::bigint FROM picked
                     WHERE m.id = picked.id
                     RETURNING m.id, m.kind, m.user_id, m.entry_id, m.event_id, m.actor_id,
                               m.day, m.attempts, picked.due_at AS was_due
                 )
                 SELECT c.id, c.kind, u.id, u.email, u.name, u.role, c.entry_id, c.event_id,
                        c.actor_id, c.day, c.attempts
                 FROM claimed c LEFT JOIN users u ON u.id = c.user_id AND u.disabled_at IS NULL
                 ORDER BY c.was_due, c.id",
                &[&now, &limit, &LEASE_MS],
            )
            .await?;
        let mut jobs = Vec::with_capacity(rows.len());
        for r in &rows {
            let Some(kind) = MailKind::parse(r.try_get(1)?) else {
                continue;
            };
            jobs.push(MailJob {
                id: r.try_get(0)?,
                kind,
                user: r
                    .try_get::<_, Option<i64>>(2)?
                    .map(|_| user(r, 2))
                    .transpose()?,
                entry_id: r.try_get(6)?,
                event_id: r.try_get(7)?,
                actor_id: r.try_get(8)?,
                day: r.try_get(9)?,
                attempts: r.try_get(10)?,
            });
        }
        // What a folding email may fold in is this collector's too: the
        // colleague's pending emails of the same kind. Rows another
        // collector has just claimed are its own to send (or hold): skipped,
        // not waited for, so two collectors claiming one colleague's emails
        // at once cannot deadlock.
        for kind in [MailKind::NewEntry, MailKind::Assigned] {
            let folding: Vec<i64> = jobs
                .iter()
                .filter(|j| j.kind == kind)
                .filter_map(|j| j.user.as_ref().map(|u| u.id))
                .collect();
            if folding.is_empty() {
                continue;
            }
            tx.execute(
                &format!(
                    "UPDATE mail_outbox SET due_at = greatest(due_at, $2::bigint + $3::bigint)
                     WHERE id IN (SELECT id FROM mail_outbox
                                  WHERE user_id = ANY($1) AND kind = '{}' AND state = 'pending'
                                  FOR UPDATE SKIP LOCKED)",
                    kind.as_str()
                ),
                &[&folding, &now, &LEASE_MS],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(jobs)
    }

    /// A colleague's pending emails of folding `kind` (due or not): the
    /// oldest `limit`, how many there are and the newest outbox id among
    /// them. Those whose entry has become spam are cancelled first.
    pub async fn pending_folding(
        &self,
        kind: MailKind,
        user_id: i64,
        limit: i64,
    ) -> Result<PendingFold, StoreError> {
        // The kind is written into the SQL, not bound: a generic plan uses
        // the partial index that names it only for a literal.
        let kind = kind.as_str();
        let client = self.client().await?;
        client
            .execute(
                &format!(
                    "UPDATE mail_outbox SET state = 'cancelled'
                     WHERE user_id = $1 AND kind = '{kind}' AND state = 'pending'
                       AND entry_id IN (SELECT id FROM entries WHERE status = 'spam')"
                ),
                &[&user_id],
            )
            .await?;
        let row = client
            .query_one(
                &format!(
                    "SELECT count(*), max(id) FROM mail_outbox
                     WHERE user_id = $1 AND kind = '{kind}' AND state = 'pending'"
                ),
                &[&user_id],
            )
            .await?;
        let (total, newest): (i64, Option<i64>) = (row.try_get(0)?, row.try_get(1)?);
        let rows = client
            .query(
                &format!(
                    "SELECT m.id, m.created_at, a.name, a.id, {}
                     FROM mail_outbox m JOIN entries e ON e.id = m.entry_id
                     JOIN sites s ON s.id = e.site_id
                     LEFT JOIN users a ON a.id = m.actor_id
                     WHERE m.user_id = $1 AND m.kind = '{kind}' AND m.state = 'pending'
                     ORDER BY m.id LIMIT $2",
                    line_select()
                ),
                &[&user_id, &limit],
            )
            .await?;
        let first = read_rows(&rows, |r| {
            Ok(PendingLine {
                outbox_id: r.try_get(0)?,
                queued_at: r.try_get(1)?,
                actor: r.try_get(2)?,
                actor_id: r.try_get(3)?,
                line: entry_line(r, 4)?,
            })
        })?;
        Ok(PendingFold {
            first,
            total: usize::try_from(total).unwrap_or(0),
            newest: newest.unwrap_or(0),
        })
    }

    /// When a colleague was last sent an email of folding `kind`.
    pub async fn last_folding_mail(
        &self,
        kind: MailKind,
        user_id: i64,
    ) -> Result<Option<i64>, StoreError> {
        let client = self.client().await?;
        Ok(client
            .query_one(
                &format!(
                    "SELECT max(sent_at) FROM mail_outbox
                     WHERE user_id = $1 AND kind = '{}' AND state = 'sent'",
                    kind.as_str()
                ),
                &[&user_id],
            )
            .await?
            .try_get(0)?)
    }

    /// Holds a colleague's pending emails of folding `kind` until `until`
    /// (only those due before it are touched).
    pub async fn hold_folding_mail(
        &self,
        kind: MailKind,
        user_id: i64,
        until: i64,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                &format!(
                    "UPDATE mail_outbox SET due_at = $2
                     WHERE user_id = $1 AND kind = '{}' AND state = 'pending' AND due_at < $2",
                    kind.as_str()
                ),
                &[&user_id, &until],
            )
            .await?;
        Ok(())
    }

    /// Records what became of an email (and of rows folded into it).
    pub async fn record_mail(
        &self,
        id: i64,
        result: MailResult,
        at: i64,
    ) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        record_mail(&tx, id, &result, at).await?;
        tx.commit().await?;
        Ok(())
    }

    /// An entry as an email mentions it.
    pub async fn entry_line(&self, entry_id: i64) -> Result<Option<EntryLine>, StoreError> {
        let client = self.client().await?;
        client
            .query_opt(
                &format!(
                    "SELECT {} FROM entries e JOIN sites s ON s.id = e.site_id WHERE e.id = $1",
                    line_select()
                ),
                &[&entry_id],
            )
            .await?
            .map(|r| entry_line(&r, 0))
            .transpose()
    }

    /// The words of one timeline event (a follow-up, a reply).
    pub async fn event_body(&self, event_id: i64) -> Result<Option<String>, StoreError> {
        let client = self.client().await?;
        Ok(client
            .query_opt("SELECT body FROM events WHERE id = $1", &[&event_id])
            .await?
            .map(|r| r.try_get(0))
            .transpose()?
            .flatten())
    }

    /// A colleague's name.
    pub async fn user_name(&self, user_id: i64) -> Result<Option<String>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt("SELECT name FROM users WHERE id = $1", &[&user_id])
            .await?;
        read_opt(row, |r| Ok(r.try_get(0)?))
    }

    /// What the digest at `now` says; failing webhooks for administrators.
    pub async fn digest_facts(
        &self,
        now: i64,
        with_webhooks: bool,
    ) -> Result<DigestFacts, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {}, s.first_response_minutes
                     FROM entries e JOIN sites s ON s.id = e.site_id
                     WHERE {WAITING_SQL}
                       AND {WAITING_SINCE_SQL} + s.first_response_minutes * 60000 < $1
                     ORDER BY {WAITING_SINCE_SQL}, e.id LIMIT 200",
                    line_select()
                ),
                &[&now],
            )
            .await?;
        let waiting_late = read_rows(&rows, |r| {
            Ok(Waiting {
                entry: entry_line(r, 0)?,
                target_ms: r.try_get::<_, i64>(LINE_COLUMNS)?.saturating_mul(60_000),
            })
        })?;
        let promise = |r: &Row| -> Result<PromiseLine, StoreError> {
            Ok(PromiseLine {
                entry_public_id: r.try_get(0)?,
                reference: r.try_get(1)?,
                text: r.try_get(2)?,
                due_at: r.try_get(3)?,
            })
        };
        let day_end = (now.div_euclid(DAY) + 1) * DAY;
        let due_today = client
            .query(
                "SELECT e.public_id, e.reference, p.text, p.due_at FROM promises p
                 JOIN entries e ON e.id = p.entry_id
                 WHERE p.state = 'open' AND p.due_at >= $1 AND p.due_at < $2
                 ORDER BY p.due_at LIMIT 200",
                &[&now, &day_end],
            )
            .await?
            .iter()
            .map(promise)
            .collect::<Result<_, _>>()?;
        let overdue = client
            .query(
                "SELECT e.public_id, e.reference, p.text, p.due_at FROM promises p
                 JOIN entries e ON e.id = p.entry_id
                 WHERE p.state = 'open' AND p.due_at < $1 ORDER BY p.due_at LIMIT 200",
                &[&now],
            )
            .await?
            .iter()
            .map(promise)
            .collect::<Result<_, _>>()?;
        let rows = client
            .query(
                "SELECT kind, count(*) FROM entries
                 WHERE created_at >= $1 AND status <> 'spam' GROUP BY kind ORDER BY kind",
                &[&(now - DAY)],
            )
            .await?;
        let counts = read_rows(&rows, |r| Ok((r.try_get(0)?, r.try_get(1)?)))?;
        let mut failing = Vec::new();
        if with_webhooks {
            let rows = client
                .query(
                    "SELECT s.name, w.url FROM webhooks w JOIN sites s ON s.id = w.site_id
                     WHERE w.state = 'failing'
                     ORDER BY s.name_key, w.id",
                    &[],
                )
                .await?;
            failing = read_rows(&rows, |r| {
                Ok(FailingEndpoint {
                    site_name: r.try_get(0)?,
                    origin: crate::webhooks::EndpointUrl::parse(r.try_get(1)?)
                        .map(|u| u.origin())
                        .unwrap_or_default(),
                })
            })?;
        }
        Ok(DigestFacts {
            waiting_late,
            due_today,
            overdue,
            counts,
            failing,
        })
    }

    /// When the earliest waiting email is due.
    pub async fn next_mail_due(&self) -> Result<Option<i64>, StoreError> {
        let client = self.client().await?;
        Ok(client
            .query_one(
                "SELECT min(due_at) FROM mail_outbox WHERE state = 'pending'",
                &[],
            )
            .await?
            .try_get(0)?)
    }
}
