//! Webhook endpoints on PostgreSQL, and their deliveries as administrators
//! review them.

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::{Postgres, audit, read_rows};
use crate::ids;
use crate::store::webhooks::SELECT;
use crate::store::{
    AttemptView, DeliveryView, NewWebhook, ROTATION_OVERLAP_MS, StoreError, Webhook,
};

fn webhook(r: &Row) -> Result<Webhook, StoreError> {
    Ok(Webhook {
        id: r.try_get(0)?,
        public_id: r.try_get(1)?,
        site_id: r.try_get(2)?,
        site_key: r.try_get(3)?,
        site_name: r.try_get(4)?,
        url: r.try_get(5)?,
        events: r.try_get(6)?,
        format: r.try_get(7)?,
        include_email: r.try_get(8)?,
        state: r.try_get(9)?,
        state_reason: r.try_get(10)?,
        created_at: r.try_get(11)?,
        previous_until: r.try_get(12)?,
        pending: r.try_get(13)?,
    })
}

async fn by_public_id(
    client: &impl GenericClient,
    public_id: &str,
) -> Result<Option<Webhook>, StoreError> {
    client
        .query_opt(&format!("{SELECT} WHERE w.public_id = $1"), &[&public_id])
        .await?
        .map(|r| webhook(&r))
        .transpose()
}

/// Records a change to the endpoint `public_id` (with its site); `false`
/// when there is no such endpoint.
async fn audit_change(
    client: &impl GenericClient,
    actor: Option<i64>,
    action: &str,
    public_id: &str,
    extra: &str,
    at: i64,
) -> Result<bool, StoreError> {
    let Some(row) = client
        .query_opt(
            "SELECT s.key FROM webhooks w JOIN sites s ON s.id = w.site_id WHERE w.public_id = $1",
            &[&public_id],
        )
        .await?
    else {
        return Ok(false);
    };
    let site: String = row.try_get(0)?;
    let detail = format!("site={site}{extra}");
    audit(client, actor, action, public_id, Some(&detail), at).await?;
    Ok(true)
}

impl Postgres {
    pub async fn add_webhook(
        &self,
        new: NewWebhook,
        actor: Option<i64>,
        now: i64,
    ) -> Result<Webhook, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let public_id = format!("wh_{}", ids::secret(16));
        tx.execute(
            "INSERT INTO webhooks (public_id, site_id, url, events, format, include_email,
                 secret, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &public_id,
                &new.site_id,
                &new.url,
                &new.events,
                &new.format,
                &new.include_email,
                &new.secret,
                &now,
            ],
        )
        .await?;
        let extra = format!(",format={},events={}", new.format, new.events);
        audit_change(&tx, actor, "webhook.added", &public_id, &extra, now).await?;
        let added = by_public_id(&tx, &public_id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("a webhook vanished".into()))?;
        tx.commit().await?;
        Ok(added)
    }

    pub async fn webhooks(&self) -> Result<Vec<Webhook>, StoreError> {
        let client = self.client().await?;
        client
            .query(&format!("{SELECT} ORDER BY s.name_key, w.id"), &[])
            .await?
            .iter()
            .map(webhook)
            .collect()
    }

    pub async fn webhook(&self, public_id: String) -> Result<Option<Webhook>, StoreError> {
        let client = self.client().await?;
        by_public_id(&client, &public_id).await
    }

    pub async fn remove_webhook(
        &self,
        public_id: String,
        actor: Option<i64>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        if !audit_change(&tx, actor, "webhook.removed", &public_id, "", now).await? {
            return Ok(false);
        }
        let removed = tx
            .execute("DELETE FROM webhooks WHERE public_id = $1", &[&public_id])
            .await?;
        tx.commit().await?;
        Ok(removed > 0)
    }

    pub async fn rotate_webhook(
        &self,
        public_id: String,
        secret: String,
        actor: Option<i64>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let rotated = tx
            .execute(
                "UPDATE webhooks SET previous_secret = secret, previous_until = $3, secret = $2
                 WHERE public_id = $1",
                &[&public_id, &secret, &(now + ROTATION_OVERLAP_MS)],
            )
            .await?
            > 0;
        let done =
            rotated && audit_change(&tx, actor, "webhook.rotated", &public_id, "", now).await?;
        tx.commit().await?;
        Ok(done)
    }

    pub async fn enable_webhook(
        &self,
        public_id: String,
        actor: Option<i64>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let enabled = tx
            .execute(
                "UPDATE webhooks SET state = 'active', state_reason = NULL WHERE public_id = $1",
                &[&public_id],
            )
            .await?
            > 0;
        let done =
            enabled && audit_change(&tx, actor, "webhook.enabled", &public_id, "", now).await?;
        tx.commit().await?;
        Ok(done)
    }

    pub async fn webhook_deliveries(
        &self,
        webhook_id: i64,
        limit: i64,
    ) -> Result<Vec<DeliveryView>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT id, msg_id, event, state, created_at, due_at FROM webhook_deliveries
                 WHERE webhook_id = $1 ORDER BY id DESC LIMIT $2",
                &[&webhook_id, &limit],
            )
            .await?;
        let mut deliveries: Vec<DeliveryView> = read_rows(&rows, |r| {
            Ok(DeliveryView {
                id: r.try_get(0)?,
                msg_id: r.try_get(1)?,
                event: r.try_get(2)?,
                state: r.try_get(3)?,
                attempts: Vec::new(),
                created_at: r.try_get(4)?,
                due_at: r.try_get(5)?,
            })
        })?;
        let attempts = client
            .prepare_cached(
                "SELECT at, status, latency_ms, error FROM webhook_attempts
                 WHERE delivery_id = $1 ORDER BY id",
            )
            .await?;
        for d in &mut deliveries {
            d.attempts = read_rows(&client.query(&attempts, &[&d.id]).await?, |r| {
                Ok(AttemptView {
                    at: r.try_get(0)?,
                    status: r.try_get(1)?,
                    latency_ms: r.try_get(2)?,
                    error: r.try_get(3)?,
                })
            })?;
        }
        Ok(deliveries)
    }

    pub async fn redeliver(
        &self,
        webhook_id: i64,
        delivery_id: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        let client = self.client().await?;
        Ok(client
            .execute(
                "UPDATE webhook_deliveries SET state = 'pending', attempts = 0, due_at = $3
                 WHERE id = $2 AND webhook_id = $1",
                &[&webhook_id, &delivery_id, &now],
            )
            .await?
            > 0)
    }
}
