//! The promises report and the store's own gauges, on PostgreSQL.

use super::Postgres;
use super::review::promise;
use crate::store::review::PROMISE_SELECT;
use crate::store::{Gauges, Report, SETTLED_SHOWN, SettledCounts, StoreError};

impl Postgres {
    /// Open promises, and those made since `since` that were settled.
    pub async fn report(&self, since: i64) -> Result<Report, StoreError> {
        let client = self.client().await?;
        let open_promises = client
            .query(
                &format!("{PROMISE_SELECT} WHERE p.state = 'open' ORDER BY p.due_at, p.id"),
                &[],
            )
            .await?
            .iter()
            .map(promise)
            .collect::<Result<_, _>>()?;
        let shown = i64::try_from(SETTLED_SHOWN).unwrap_or(i64::MAX);
        let settled_promises = client
            .query(
                &format!(
                    "{PROMISE_SELECT} WHERE p.state <> 'open' AND p.created_at >= $1
                     ORDER BY p.settled_at DESC, p.id DESC LIMIT $2"
                ),
                &[&since, &shown],
            )
            .await?
            .iter()
            .map(promise)
            .collect::<Result<_, _>>()?;
        let r = client
            .query_one(
                "SELECT count(*) FILTER (WHERE state = 'kept' AND settled_at <= due_at),
                        count(*) FILTER (WHERE state = 'kept' AND settled_at > due_at),
                        count(*) FILTER (WHERE state = 'broken')
                 FROM promises WHERE created_at >= $1 AND state <> 'open'",
                &[&since],
            )
            .await?;
        Ok(Report {
            open_promises,
            settled_promises,
            settled: SettledCounts {
                kept_on_time: r.try_get(0)?,
                kept_late: r.try_get(1)?,
                broken: r.try_get(2)?,
            },
        })
    }

    /// Sizes and backlogs as they are now: the database's size on the
    /// server, and what waits to be counted, sent or delivered. Search has
    /// no lag here (each entry is searchable once stored).
    pub async fn gauges(&self) -> Result<Gauges, StoreError> {
        let client = self.client().await?;
        let r = client
            .query_one(
                "SELECT pg_database_size(current_database()),
                        (SELECT count(*) FROM mail_outbox WHERE state = 'pending'),
                        (SELECT count(*) FROM mail_outbox WHERE state = 'failed'),
                        (SELECT count(*) FROM webhook_deliveries WHERE state = 'pending'),
                        (SELECT count(*) FROM webhook_deliveries WHERE state = 'failed')",
                &[],
            )
            .await?;
        Ok(Gauges {
            database_bytes: u64::try_from(r.try_get::<_, i64>(0)?).unwrap_or(0),
            mail_pending: r.try_get(1)?,
            mail_failed: r.try_get(2)?,
            webhooks_pending: r.try_get(3)?,
            webhooks_failed: r.try_get(4)?,
            ..Gauges::default()
        })
    }
}
