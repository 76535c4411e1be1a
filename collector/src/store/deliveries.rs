//! The webhook outbox: messages waiting to go out and what each attempt
//! did to its delivery and its endpoint. A message is marked delivered
//! only after the receiver answered; a crash in between sends it again (at
//! least once, under the same `webhook-id` for receivers to drop the
//! repeat), and one recorded as delivered is never sent again.

use rusqlite::{Connection, params};

use super::{Sqlite, StoreError};

/// A webhook message waiting to go out.
#[derive(Debug, Clone)]
pub struct DeliveryJob {
    pub id: i64,
    pub webhook_id: i64,
    pub url: String,
    pub secret: String,
    /// The secret before a rotation, while it still signs.
    pub previous_secret: Option<String>,
    pub msg_id: String,
    pub event: String,
    pub body: String,
    pub attempts: i64,
    /// The entry has been marked as spam since the message was queued.
    pub entry_is_spam: bool,
}

/// What became of one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryResult {
    Delivered,
    /// Try again at this time.
    Retry(i64),
    /// No retries left: the endpoint is marked failing.
    Failed,
    /// `410 Gone`: the endpoint is disabled and its queue cancelled.
    Gone,
    /// Not sent: a new-entry message for what is now spam.
    Cancelled,
}

/// One attempt, to record.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    pub delivery_id: i64,
    pub webhook_id: i64,
    pub at: i64,
    pub status: Option<u16>,
    pub latency_ms: i64,
    pub error: Option<String>,
    pub result: DeliveryResult,
}

fn due_deliveries(conn: &Connection, now: i64, limit: i64) -> Result<Vec<DeliveryJob>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT d.id, d.webhook_id, w.url, w.secret,
                CASE WHEN w.previous_until > ?1 THEN w.previous_secret END,
                d.msg_id, d.event, d.body, d.attempts,
                coalesce(e.status = 'spam', 0)
         FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
         LEFT JOIN entries e ON e.id = d.entry_id
         WHERE d.state = 'pending' AND d.due_at <= ?1 AND w.state <> 'disabled'
         ORDER BY d.due_at, d.id LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![now, limit], |r| {
        Ok(DeliveryJob {
            id: r.get(0)?,
            webhook_id: r.get(1)?,
            url: r.get(2)?,
            secret: r.get(3)?,
            previous_secret: r.get(4)?,
            msg_id: r.get(5)?,
            event: r.get(6)?,
            body: r.get(7)?,
            attempts: r.get(8)?,
            entry_is_spam: r.get(9)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn record_attempt(conn: &Connection, a: &AttemptRecord) -> Result<(), StoreError> {
    if a.result != DeliveryResult::Cancelled {
        conn.prepare_cached(
            "INSERT INTO webhook_attempts (delivery_id, at, status, latency_ms, error)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            a.delivery_id,
            a.at,
            a.status,
            a.latency_ms,
            a.error
        ])?;
    }
    match a.result {
        DeliveryResult::Delivered => {
            conn.prepare_cached(
                "UPDATE webhook_deliveries SET state = 'delivered', delivered_at = ?2,
                     attempts = attempts + 1 WHERE id = ?1",
            )?
            .execute(params![a.delivery_id, a.at])?;
            conn.prepare_cached(
                "UPDATE webhooks SET state = 'active', state_reason = NULL
                 WHERE id = ?1 AND state = 'failing'",
            )?
            .execute([a.webhook_id])?;
        }
        DeliveryResult::Retry(due) => {
            conn.prepare_cached(
                "UPDATE webhook_deliveries SET attempts = attempts + 1, due_at = ?2 WHERE id = ?1",
            )?
            .execute(params![a.delivery_id, due])?;
        }
        DeliveryResult::Failed => {
            conn.prepare_cached(
                "UPDATE webhook_deliveries SET state = 'failed', attempts = attempts + 1 WHERE id = ?1",
            )?
            .execute([a.delivery_id])?;
            conn.prepare_cached(
                "UPDATE webhooks SET state = 'failing', state_reason = ?2
                 WHERE id = ?1 AND state = 'active'",
            )?
            .execute(params![
                a.webhook_id,
                format!(
                    "a message failed every attempt (last: {})",
                    a.error.as_deref().unwrap_or("no answer")
                )
            ])?;
        }
        DeliveryResult::Gone => {
            conn.prepare_cached(
                "UPDATE webhook_deliveries SET state = 'failed', attempts = attempts + 1 WHERE id = ?1",
            )?
            .execute([a.delivery_id])?;
            conn.prepare_cached(
                "UPDATE webhooks SET state = 'disabled',
                     state_reason = 'the receiver answered 410 Gone' WHERE id = ?1",
            )?
            .execute([a.webhook_id])?;
            conn.prepare_cached(
                "UPDATE webhook_deliveries SET state = 'cancelled'
                 WHERE webhook_id = ?1 AND state = 'pending'",
            )?
            .execute([a.webhook_id])?;
        }
        DeliveryResult::Cancelled => {
            conn.prepare_cached("UPDATE webhook_deliveries SET state = 'cancelled' WHERE id = ?1")?
                .execute([a.delivery_id])?;
        }
    }
    Ok(())
}

impl Sqlite {
    /// Webhook messages due by `now`, oldest first.
    pub async fn due_deliveries(
        &self,
        now: i64,
        limit: i64,
    ) -> Result<Vec<DeliveryJob>, StoreError> {
        self.read(move |conn| due_deliveries(conn, now, limit))
            .await
    }

    /// Records attempts and what they mean for their deliveries and
    /// endpoints, in one transaction.
    pub async fn record_attempts(&self, attempts: Vec<AttemptRecord>) -> Result<(), StoreError> {
        self.write(move |conn| {
            for a in &attempts {
                record_attempt(conn, a)?;
            }
            Ok(())
        })
        .await
    }

    /// When the earliest waiting webhook message is due.
    pub async fn next_delivery_due(&self) -> Result<Option<i64>, StoreError> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT min(d.due_at) FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
                     WHERE d.state = 'pending' AND w.state <> 'disabled'",
                )?
                .query_row([], |r| r.get(0))?)
        })
        .await
    }
}
