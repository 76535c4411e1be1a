//! Webhook endpoints on PostgreSQL, and their deliveries as administrators
//! review them.

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::{Postgres, audit};
use crate::ids;
use crate::store::webhooks::SELECT;
use crate::store::{
    AttemptView, DeliveryView, NewWebhook, ROTATION_OVERLAP_MS, StoreError, Webhook,
};

fn webhook(r: &Row) -> Webhook {
    Webhook {
        id: r.get(0),
        public_id: r.get(1),
        site_id: r.get(2),
        site_key: r.get(3),
        site_name: r.get(4),
        url: r.get(5),
        events: r.get(6),
        format: r.get(7),
        include_email: r.get(8),
        state: r.get(9),
        state_reason: r.get(10),
        created_at: r.get(11),
        previous_until: r.get(12),
        pending: r.get(13),
    }
}

async fn by_public_id(
    client: &impl GenericClient,
    public_id: &str,
) -> Result<Option<Webhook>, StoreError> {
    Ok(client
        .query_opt(&format!("{SELECT} WHERE w.public_id = $1"), &[&public_id])
        .await?
        .map(|r| webhook(&r)))
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
    let site: String = row.get(0);
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
        Ok(client
            .query(&format!("{SELECT} ORDER BY s.name, w.id"), &[])
            .await?
            .iter()
            .map(webhook)
            .collect())
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
        let mut deliveries: Vec<DeliveryView> = client
            .query(
                "SELECT id, msg_id, event, state, created_at, due_at FROM webhook_deliveries
                 WHERE webhook_id = $1 ORDER BY id DESC LIMIT $2",
                &[&webhook_id, &limit],
            )
            .await?
            .iter()
            .map(|r| DeliveryView {
                id: r.get(0),
                msg_id: r.get(1),
                event: r.get(2),
                state: r.get(3),
                attempts: Vec::new(),
                created_at: r.get(4),
                due_at: r.get(5),
            })
            .collect();
        let attempts = client
            .prepare_cached(
                "SELECT at, status, latency_ms, error FROM webhook_attempts
                 WHERE delivery_id = $1 ORDER BY id",
            )
            .await?;
        for d in &mut deliveries {
            d.attempts = client
                .query(&attempts, &[&d.id])
                .await?
                .iter()
                .map(|r| AttemptView {
                    at: r.get(0),
                    status: r.get(1),
                    latency_ms: r.get(2),
                    error: r.get(3),
                })
                .collect();
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
