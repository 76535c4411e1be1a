//! Webhook endpoints, and their deliveries as administrators review them.

use rusqlite::{Connection, OptionalExtension, params};

use super::accounts::audit;
use super::{Sqlite, StoreError};
use crate::ids;

/// How long the old secret keeps signing after a rotation.
pub const ROTATION_OVERLAP_MS: i64 = 24 * 3_600_000;

/// An endpoint as administrators see it.
#[derive(Debug, Clone)]
pub struct Webhook {
    pub id: i64,
    pub public_id: String,
    pub site_id: i64,
    pub site_key: String,
    pub site_name: String,
    pub url: String,
    pub events: String,
    pub format: String,
    pub include_email: bool,
    /// `active`, `failing` or `disabled`.
    pub state: String,
    pub state_reason: Option<String>,
    pub created_at: i64,
    /// While the previous secret still signs.
    pub previous_until: Option<i64>,
    pub pending: i64,
}

/// A new endpoint.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub site_id: i64,
    pub url: String,
    pub events: String,
    pub format: String,
    pub include_email: bool,
    pub secret: String,
}

/// One message to one endpoint, with its attempts.
#[derive(Debug, Clone)]
pub struct DeliveryView {
    pub id: i64,
    pub msg_id: String,
    pub event: String,
    pub state: String,
    pub attempts: Vec<AttemptView>,
    pub created_at: i64,
    pub due_at: i64,
}

#[derive(Debug, Clone)]
pub struct AttemptView {
    pub at: i64,
    pub status: Option<i64>,
    pub latency_ms: i64,
    pub error: Option<String>,
}

pub(in crate::store) const SELECT: &str = "SELECT w.id, w.public_id, w.site_id, s.key, s.name, w.url, w.events,
        w.format, w.include_email, w.state, w.state_reason, w.created_at, w.previous_until,
        (SELECT count(*) FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.state = 'pending')
     FROM webhooks w JOIN sites s ON s.id = w.site_id";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Webhook> {
    Ok(Webhook {
        id: r.get(0)?,
        public_id: r.get(1)?,
        site_id: r.get(2)?,
        site_key: r.get(3)?,
        site_name: r.get(4)?,
        url: r.get(5)?,
        events: r.get(6)?,
        format: r.get(7)?,
        include_email: r.get(8)?,
        state: r.get(9)?,
        state_reason: r.get(10)?,
        created_at: r.get(11)?,
        previous_until: r.get(12)?,
        pending: r.get(13)?,
    })
}

fn by_public_id(conn: &Connection, public_id: &str) -> Result<Option<Webhook>, StoreError> {
    Ok(conn
        .prepare_cached(&format!("{SELECT} WHERE w.public_id = ?1"))?
        .query_row([public_id], from_row)
        .optional()?)
}

/// Records a change to endpoint `public_id` (never its URL: a Slack URL is
/// itself a secret) in the audit log; false when there is no such endpoint.
fn audit_change(
    conn: &Connection,
    actor: Option<i64>,
    action: &str,
    public_id: &str,
    extra: &str,
    at: i64,
) -> Result<bool, StoreError> {
    let site: Option<String> = conn
        .prepare_cached(
            "SELECT s.key FROM webhooks w JOIN sites s ON s.id = w.site_id WHERE w.public_id = ?1",
        )?
        .query_row([public_id], |r| r.get(0))
        .optional()?;
    let Some(site) = site else {
        return Ok(false);
    };
    let detail = format!("site={site}{extra}");
    audit(conn, actor, action, public_id, Some(&detail), at)?;
    Ok(true)
}

impl Sqlite {
    /// Adds an endpoint for `actor` (`None`: the command line).
    pub async fn add_webhook(
        &self,
        new: NewWebhook,
        actor: Option<i64>,
        now: i64,
    ) -> Result<Webhook, StoreError> {
        self.write(move |conn| {
            let public_id = format!("wh_{}", ids::secret(16));
            conn.prepare_cached(
                "INSERT INTO webhooks (public_id, site_id, url, events, format, include_email,
                     secret, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                public_id,
                new.site_id,
                new.url,
                new.events,
                new.format,
                new.include_email,
                new.secret,
                now
            ])?;
            let extra = format!(",format={},events={}", new.format, new.events);
            audit_change(conn, actor, "webhook.added", &public_id, &extra, now)?;
            by_public_id(conn, &public_id)?
                .ok_or_else(|| StoreError::Corrupt("a webhook vanished".into()))
        })
        .await
    }

    /// Every endpoint, by site, oldest first.
    pub async fn webhooks(&self) -> Result<Vec<Webhook>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&format!("{SELECT} ORDER BY s.name_key, w.id"))?;
            let rows = stmt.query_map([], from_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    pub async fn webhook(&self, public_id: String) -> Result<Option<Webhook>, StoreError> {
        self.read(move |conn| by_public_id(conn, &public_id)).await
    }

    /// Removes an endpoint and everything queued for it.
    pub async fn remove_webhook(
        &self,
        public_id: String,
        actor: Option<i64>,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.write(move |conn| {
            if !audit_change(conn, actor, "webhook.removed", &public_id, "", now)? {
                return Ok(false);
            }
            Ok(conn
                .prepare_cached("DELETE FROM webhooks WHERE public_id = ?1")?
                .execute([&public_id])?
                > 0)
        })
        .await
    }

    /// Replaces the signing secret; the old one keeps signing beside it for
    /// [`ROTATION_OVERLAP_MS`].
    pub async fn rotate_webhook(
        &self,
        public_id: String,
        secret: String,
        actor: Option<i64>,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.write(move |conn| {
            let rotated = conn
                .prepare_cached(
                    "UPDATE webhooks SET previous_secret = secret, previous_until = ?3, secret = ?2
                     WHERE public_id = ?1",
                )?
                .execute(params![public_id, secret, now + ROTATION_OVERLAP_MS])?
                > 0;
            Ok(rotated && audit_change(conn, actor, "webhook.rotated", &public_id, "", now)?)
        })
        .await
    }

    /// Turns a disabled or failing endpoint back on.
    pub async fn enable_webhook(
        &self,
        public_id: String,
        actor: Option<i64>,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.write(move |conn| {
            let enabled = conn
                .prepare_cached(
                    "UPDATE webhooks SET state = 'active', state_reason = NULL WHERE public_id = ?1",
                )?
                .execute([&public_id])?
                > 0;
            Ok(enabled && audit_change(conn, actor, "webhook.enabled", &public_id, "", now)?)
        })
        .await
    }

    /// The newest deliveries to an endpoint, each with its attempts.
    pub async fn webhook_deliveries(
        &self,
        webhook_id: i64,
        limit: i64,
    ) -> Result<Vec<DeliveryView>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, msg_id, event, state, created_at, due_at FROM webhook_deliveries
                 WHERE webhook_id = ?1 ORDER BY id DESC LIMIT ?2",
            )?;
            let mut deliveries: Vec<DeliveryView> = stmt
                .query_map(params![webhook_id, limit], |r| {
                    Ok(DeliveryView {
                        id: r.get(0)?,
                        msg_id: r.get(1)?,
                        event: r.get(2)?,
                        state: r.get(3)?,
                        attempts: Vec::new(),
                        created_at: r.get(4)?,
                        due_at: r.get(5)?,
                    })
                })?
                .collect::<Result<_, _>>()?;
            let mut stmt = conn.prepare_cached(
                "SELECT at, status, latency_ms, error FROM webhook_attempts
                 WHERE delivery_id = ?1 ORDER BY id",
            )?;
            for d in &mut deliveries {
                d.attempts = stmt
                    .query_map([d.id], |r| {
                        Ok(AttemptView {
                            at: r.get(0)?,
                            status: r.get(1)?,
                            latency_ms: r.get(2)?,
                            error: r.get(3)?,
                        })
                    })?
                    .collect::<Result<_, _>>()?;
            }
            Ok(deliveries)
        })
        .await
    }

    /// Sends a delivery again now, with a fresh retry schedule and the
    /// same webhook-id.
    pub async fn redeliver(
        &self,
        webhook_id: i64,
        delivery_id: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.write(move |conn| {
            Ok(conn
                .prepare_cached(
                    "UPDATE webhook_deliveries SET state = 'pending', attempts = 0, due_at = ?3
                     WHERE id = ?2 AND webhook_id = ?1",
                )?
                .execute(params![webhook_id, delivery_id, now])?
                > 0)
        })
        .await
    }
}
