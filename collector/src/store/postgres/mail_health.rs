//! Whether email gets through (as on SQLite: `store::mail_health`).

use super::Postgres;
use super::outbox::LEASE_MS;
use crate::store::mail_health::HEALTH_SQL;
use crate::store::{MailHealth, StoreError};

impl Postgres {
    /// Whether email has been getting through (as on SQLite).
    pub async fn mail_health(&self) -> Result<MailHealth, StoreError> {
        let client = self.client().await?;
        let stmt = client.prepare_cached(HEALTH_SQL).await?;
        let row = client.query_one(&stmt, &[]).await?;
        let failed: i64 = row.try_get(1)?;
        Ok(MailHealth {
            last_sent_at: row.try_get(0)?,
            failed,
            failing_since: row.try_get(2)?,
            last_error: if failed > 0 { row.try_get(3)? } else { None },
        })
    }

    /// Records a test email's attempt and, when it went out, makes the
    /// waiting emails that failed before due at `at` (as on SQLite).
    pub async fn mail_tested(&self, at: i64, failure: Option<String>) -> Result<usize, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let record = tx
            .prepare_cached(
                "INSERT INTO mail_attempts (outbox_id, at, ok, error) VALUES (NULL, $1, $2, $3)",
            )
            .await?;
        tx.execute(&record, &[&at, &failure.is_none(), &failure])
            .await?;
        let changed = match failure {
            Some(_) => 0,
            None => {
                let retry = tx
                    .prepare_cached(
                        "UPDATE mail_outbox SET due_at = $1
                         WHERE state = 'pending' AND attempts > 0
                           AND due_at > $1::bigint + $2::bigint",
                    )
                    .await?;
                tx.execute(&retry, &[&at, &LEASE_MS]).await?
            }
        };
        tx.commit().await?;
        Ok(usize::try_from(changed).unwrap_or(usize::MAX))
    }
}
