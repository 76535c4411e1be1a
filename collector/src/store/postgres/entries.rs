//! Feedback entries on PostgreSQL.

use tokio_postgres::types::ToSql;

use super::{Postgres, is_unique_violation};
use crate::abuse::SpamReason;
use crate::auth::constant_time_eq;
use crate::store::entries::{ID_ATTEMPTS, host_context_json, text};
use crate::store::{Entry, Inserted, NewEntry, StoreError};

/// Stores the entry, queues it to be counted in reports and, unless it is
/// spam, to be announced, in one statement; answers how many entries it
/// stored (0: the idempotency key was taken).
const INSERT: &str = "WITH stored AS (
        INSERT INTO entries (public_id, reference, status_token, site_id, kind,
            message, expected, actual, email, page_url, page_title, page_referrer, user_agent,
            language, timezone, viewport, idempotency_key, created_at, ip_hash, spam_reason,
            status, severity, name, context, email_key, search)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
            $18, $19, $20, $21, $22, $23, $24, $25, earshot_words($6, $7, $8))
        ON CONFLICT (site_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
        RETURNING id, status
     ), announced AS (
        INSERT INTO entries_to_announce (entry_id) SELECT id FROM stored WHERE status <> 'spam'
     ), counted AS (
        INSERT INTO entries_to_roll_up (entry_id) SELECT id FROM stored
     )
     SELECT count(*) FROM stored";

const EXISTING: &str = "SELECT public_id, reference, status_token FROM entries WHERE site_id = $1 AND idempotency_key = $2";

impl Postgres {
    /// Stores a submission, or returns the entry an earlier submission with
    /// the same idempotency key created (also when both arrive at once, on
    /// two collectors: the unique index decides). Resolves after commit;
    /// submissions arriving together are stored together (`intake`).
    pub async fn insert_entry(&self, entry: NewEntry) -> Result<Inserted, StoreError> {
        self.shared
            .submissions
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let inserted = self.shared.intake.store(entry).await;
        if inserted.as_ref().is_ok_and(|i| !i.replayed) {
            self.changed();
        }
        inserted
    }

    /// The entry behind a status link, if the secret matches.
    pub async fn entry_by_status_link(
        &self,
        public_id: String,
        secret: String,
    ) -> Result<Option<Entry>, StoreError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT e.reference, e.kind, e.message, e.expected, e.actual, e.status,
                        e.created_at, s.name, e.status_token, e.language, e.id,
                        e.email IS NOT NULL
                 FROM entries e JOIN sites s ON s.id = e.site_id WHERE e.public_id = $1",
            )
            .await?;
        let Some(row) = client.query_opt(&stmt, &[&public_id]).await? else {
            return Ok(None);
        };
        let token: String = row.try_get(8)?;
        if !constant_time_eq(token.as_bytes(), secret.as_bytes()) {
            return Ok(None);
        }
        Ok(Some(Entry {
            reference: row.try_get(0)?,
            kind: row.try_get(1)?,
            message: row.try_get(2)?,
            expected: row.try_get(3)?,
            actual: row.try_get(4)?,
            status: row.try_get(5)?,
            created_at: row.try_get(6)?,
            site_name: row.try_get(7)?,
            language: row.try_get(9)?,
            id: row.try_get(10)?,
            has_email: row.try_get(11)?,
        }))
    }
}

/// Stores `entry` alone: drawn ids that collide are drawn again, and a
/// taken idempotency key answers the entry that took it.
pub(super) async fn insert_one(
    client: &deadpool_postgres::Client,
    entry: &NewEntry,
) -> Result<Inserted, StoreError> {
    let s = &entry.submission;
    let key = s.idempotency_key.as_ref().map(|k| k.as_str());
    let context = host_context_json(&s.context);
    let status = entry.status();
    let email_key = entry.email_key();
    let insert = client.prepare_cached(INSERT).await?;
    for _ in 0..ID_ATTEMPTS {
        let inserted = Inserted::drawn(entry.received_at);
        let params: [&(dyn ToSql + Sync); 25] = [
            &inserted.public_id,
            &inserted.reference,
            &inserted.status_token,
            &entry.site_id,
            &s.kind.as_str(),
            &s.body.message(),
            &s.body.expected(),
            &s.body.actual(),
            &s.email.as_ref().map(|e| e.as_str()),
            &s.page.url.as_ref().map(|u| u.as_str()),
            &text(&s.page.title),
            &s.page.referrer.as_ref().map(|u| u.as_str()),
            &text(&s.client.user_agent),
            &text(&s.client.language),
            &text(&s.client.timezone),
            &text(&s.client.viewport),
            &key,
            &entry.received_at,
            &entry.ip_hash,
            &entry.spam.map(SpamReason::as_str),
            &status,
            &s.severity.map(|v| v.as_str()),
            &text(&s.name),
            &context,
            &email_key,
        ];
        match client
            .query_one(&insert, &params)
            .await
            .and_then(|r| r.try_get::<_, i64>(0))
        {
            Ok(1) => return Ok(inserted),
            // The idempotency key is taken: by an earlier submission,
            // or one committed meanwhile (ON CONFLICT waited for it).
            Ok(_) => {
                let existing = client.prepare_cached(EXISTING).await?;
                let row = client.query_one(&existing, &[&entry.site_id, &key]).await?;
                return Ok(Inserted {
                    public_id: row.try_get(0)?,
                    reference: row.try_get(1)?,
                    status_token: row.try_get(2)?,
                    replayed: true,
                });
            }
            // A random id collided with an existing one: draw again.
            Err(e) if is_unique_violation(&e) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::IdExhausted)
}
