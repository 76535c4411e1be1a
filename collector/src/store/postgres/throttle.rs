//! Sign-in attempts the throttle let through, on PostgreSQL.

use super::{Postgres, read_rows};
use crate::auth::Attempt;
use crate::auth::throttle::Tag;
use crate::store::StoreError;

fn tag(raw: Option<Vec<u8>>) -> Option<Tag> {
    raw.and_then(|bytes| Tag::try_from(bytes.as_slice()).ok())
}

impl Postgres {
    /// Records an attempt made at `at` and forgets those before
    /// `forget_before`.
    pub async fn record_login_attempt(
        &self,
        at: i64,
        attempt: Attempt,
        forget_before: i64,
    ) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let forget = tx
            .prepare_cached("DELETE FROM login_attempts WHERE at < $1")
            .await?;
        tx.execute(&forget, &[&forget_before]).await?;
        let insert = tx
            .prepare_cached(
                "INSERT INTO login_attempts (at, net, pair, account, device)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .await?;
        let [net, pair, account, device] = attempt.columns();
        tx.execute(&insert, &[&at, &net, &pair, &account, &device])
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes one record of `attempt` made at `at`.
    pub async fn forget_login_attempt(&self, at: i64, attempt: Attempt) -> Result<(), StoreError> {
        let client = self.client().await?;
        let forget = client
            .prepare_cached(
                "DELETE FROM login_attempts WHERE ctid = (
                     SELECT ctid FROM login_attempts
                     WHERE at = $1 AND net IS NOT DISTINCT FROM $2
                       AND pair IS NOT DISTINCT FROM $3
                       AND account IS NOT DISTINCT FROM $4
                       AND device IS NOT DISTINCT FROM $5
                     LIMIT 1)",
            )
            .await?;
        let [net, pair, account, device] = attempt.columns();
        client
            .execute(&forget, &[&at, &net, &pair, &account, &device])
            .await?;
        Ok(())
    }

    /// Attempts made since `since`, oldest first.
    pub async fn login_attempts_since(
        &self,
        since: i64,
    ) -> Result<Vec<(i64, Attempt)>, StoreError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT at, net, pair, account, device FROM login_attempts
                 WHERE at >= $1 ORDER BY at",
            )
            .await?;
        let rows = client.query(&stmt, &[&since]).await?;
        read_rows(&rows, |r| {
            Ok((
                r.try_get(0)?,
                Attempt {
                    net: tag(r.try_get(1)?),
                    pair: tag(r.try_get(2)?),
                    account: tag(r.try_get(3)?),
                    device: tag(r.try_get(4)?),
                },
            ))
        })
    }
}
