//! The webhook outbox on PostgreSQL, claimed and leased as the email
//! outbox is (`outbox`): several collectors send from it, none sends a
//! message another holds, and one recorded as delivered is never sent
//! again.

use deadpool_postgres::GenericClient;

use super::outbox::LEASE_MS;
use super::{Postgres, read_rows};
use crate::store::{AttemptRecord, DeliveryJob, DeliveryResult, StoreError};

async fn record_attempt(client: &impl GenericClient, a: &AttemptRecord) -> Result<(), StoreError> {
    if a.result != DeliveryResult::Cancelled {
        client
            .execute(
                "INSERT INTO webhook_attempts (delivery_id, at, status, latency_ms, error)
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    &a.delivery_id,
                    &a.at,
                    &a.status.map(i64::from),
                    &a.latency_ms,
                    &a.error,
                ],
            )
            .await?;
    }
    match a.result {
        DeliveryResult::Delivered => {
            client
                .execute(
                    "UPDATE webhook_deliveries SET state = 'delivered', delivered_at = $2,
                         attempts = attempts + 1 WHERE id = $1",
                    &[&a.delivery_id, &a.at],
                )
                .await?;
            client
                .execute(
                    "UPDATE webhooks SET state = 'active', state_reason = NULL
                     WHERE id = $1 AND state = 'failing'",
                    &[&a.webhook_id],
                )
                .await?;
        }
        DeliveryResult::Retry(due) => {
            client
                .execute(
                    "UPDATE webhook_deliveries SET attempts = attempts + 1, due_at = $2 WHERE id = $1",
                    &[&a.delivery_id, &due],
                )
                .await?;
        }
        DeliveryResult::Failed => {
            client
                .execute(
                    "UPDATE webhook_deliveries SET state = 'failed', attempts = attempts + 1 WHERE id = $1",
                    &[&a.delivery_id],
                )
                .await?;
            let reason = format!(
                "a message failed every attempt (last: {})",
                a.error.as_deref().unwrap_or("no answer")
            );
            client
                .execute(
                    "UPDATE webhooks SET state = 'failing', state_reason = $2
                     WHERE id = $1 AND state = 'active'",
                    &[&a.webhook_id, &reason],
                )
                .await?;
        }
        DeliveryResult::Gone => {
            client
                .execute(
                    "UPDATE webhook_deliveries SET state = 'failed', attempts = attempts + 1 WHERE id = $1",
                    &[&a.delivery_id],
                )
                .await?;
            client
                .execute(
                    "UPDATE webhooks SET state = 'disabled',
                         state_reason = 'the receiver answered 410 Gone' WHERE id = $1",
                    &[&a.webhook_id],
                )
                .await?;
            client
                .execute(
                    "UPDATE webhook_deliveries SET state = 'cancelled'
                     WHERE webhook_id = $1 AND state = 'pending'",
                    &[&a.webhook_id],
                )
                .await?;
        }
        DeliveryResult::Cancelled => {
            client
                .execute(
                    "UPDATE webhook_deliveries SET state = 'cancelled' WHERE id = $1",
                    &[&a.delivery_id],
                )
                .await?;
        }
    }
    Ok(())
}

impl Postgres {
    /// Webhook messages due by `now`, oldest first, claimed for this
    /// collector.
    pub async fn due_deliveries(
        &self,
        now: i64,
        limit: i64,
    ) -> Result<Vec<DeliveryJob>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "WITH picked AS (
                     SELECT d.id, d.due_at FROM webhook_deliveries d
                     JOIN webhooks w ON w.id = d.webhook_id
                     WHERE d.state = 'pending' AND d.due_at <= $1 AND w.state <> 'disabled'
                     ORDER BY d.due_at, d.id LIMIT $2 FOR UPDATE OF d SKIP LOCKED
                 ), claimed AS (
                     UPDATE webhook_deliveries d SET due_at = $1::bigint + $3::bigint FROM picked
                     WHERE d.id = picked.id
                     RETURNING d.id, d.webhook_id, d.msg_id, d.event, d.body, d.attempts,
                               d.entry_id, picked.due_at AS was_due
                 )
                 SELECT c.id, c.webhook_id, w.url, w.secret,
                        CASE WHEN w.previous_until > $1 THEN w.previous_secret END,
                        c.msg_id, c.event, c.body, c.attempts,
                        coalesce(e.status = 'spam', false)
                 FROM claimed c JOIN webhooks w ON w.id = c.webhook_id
                 LEFT JOIN entries e ON e.id = c.entry_id
                 ORDER BY c.was_due, c.id",
                &[&now, &limit, &LEASE_MS],
            )
            .await?;
        read_rows(&rows, |r| {
            Ok(DeliveryJob {
                id: r.try_get(0)?,
                webhook_id: r.try_get(1)?,
                url: r.try_get(2)?,
                secret: r.try_get(3)?,
                previous_secret: r.try_get(4)?,
                msg_id: r.try_get(5)?,
                event: r.try_get(6)?,
                body: r.try_get(7)?,
                attempts: r.try_get(8)?,
                entry_is_spam: r.try_get(9)?,
            })
        })
    }

    /// Records attempts and what they mean for their deliveries and
    /// endpoints, in one transaction.
    pub async fn record_attempts(&self, attempts: Vec<AttemptRecord>) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        for a in &attempts {
            record_attempt(&tx, a).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// When the earliest waiting webhook message is due.
    pub async fn next_delivery_due(&self) -> Result<Option<i64>, StoreError> {
        let client = self.client().await?;
        Ok(client
            .query_one(
                "SELECT min(d.due_at) FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
                 WHERE d.state = 'pending' AND w.state <> 'disabled'",
                &[],
            )
            .await?
            .try_get(0)?)
    }
}
