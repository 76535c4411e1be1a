//! Sign-in attempts the throttle let through, kept only as long as any
//! throttle remembers them, so a restart resets no budget.

use rusqlite::params;

use super::{Sqlite, StoreError};
use crate::auth::Attempt;
use crate::auth::throttle::Tag;

fn tag(raw: Option<Vec<u8>>) -> Option<Tag> {
    raw.and_then(|bytes| Tag::try_from(bytes.as_slice()).ok())
}

impl Sqlite {
    /// Records an attempt made at `at` and forgets those before
    /// `forget_before`.
    pub async fn record_login_attempt(
        &self,
        at: i64,
        attempt: Attempt,
        forget_before: i64,
    ) -> Result<(), StoreError> {
        self.write(move |conn| {
            let [net, pair, account, device] = attempt.columns();
            conn.prepare_cached("DELETE FROM login_attempts WHERE at < ?1")?
                .execute([forget_before])?;
            conn.prepare_cached(
                "INSERT INTO login_attempts (at, net, pair, account, device)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![at, net, pair, account, device])?;
            Ok(())
        })
        .await
    }

    /// Deletes one record of `attempt` made at `at`.
    pub async fn forget_login_attempt(&self, at: i64, attempt: Attempt) -> Result<(), StoreError> {
        self.write(move |conn| {
            let [net, pair, account, device] = attempt.columns();
            conn.prepare_cached(
                "DELETE FROM login_attempts WHERE rowid = (
                     SELECT rowid FROM login_attempts
                     WHERE at = ?1 AND net IS ?2 AND pair IS ?3 AND account IS ?4
                       AND device IS ?5
                     LIMIT 1)",
            )?
            .execute(params![at, net, pair, account, device])?;
            Ok(())
        })
        .await
    }

    /// Attempts made since `since`, oldest first.
    pub async fn login_attempts_since(
        &self,
        since: i64,
    ) -> Result<Vec<(i64, Attempt)>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn.prepare(
                "SELECT at, net, pair, account, device FROM login_attempts
                 WHERE at >= ?1 ORDER BY at",
            )?;
            let rows = stmt.query_map([since], |r| {
                Ok((
                    r.get(0)?,
                    Attempt {
                        net: tag(r.get(1)?),
                        pair: tag(r.get(2)?),
                        account: tag(r.get(3)?),
                        device: tag(r.get(4)?),
                    },
                ))
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }
}
