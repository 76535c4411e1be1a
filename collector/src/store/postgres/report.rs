//! The promises report and the store's own gauges, on PostgreSQL.

use super::Postgres;
use super::review::promise;
use crate::store::review::{PROMISE_SELECT, open_from, open_limit, page_of_open};
use crate::store::{
    Gauges, OpenPromises, PromiseScope, Report, SETTLED_SHOWN, SettledCounts, StoreError,
};

impl Postgres {
    /// A page of the open promises in `scope` with counts over all of
    /// them, and the latest of those settled.
    pub async fn report(&self, scope: PromiseScope) -> Result<Report, StoreError> {
        let client = self.client().await?;
        let (due, id) = open_from(scope.after);
        let sites = &scope.sites;
        // `due_at >=` beside the row comparison lets the open promises'
        // index on due_at start at the place. An empty list is every site.
        let rows = client
            .query(
                &format!(
                    "{PROMISE_SELECT} WHERE p.state = 'open' AND p.due_at >= $1
                       AND (p.due_at, p.id) > ($1, $2)
                       AND (cardinality($4::bigint[]) = 0 OR p.site_id = ANY($4))
                     ORDER BY p.due_at, p.id LIMIT $3"
                ),
                &[&due, &id, &open_limit(), sites],
            )
            .await?
            .iter()
            .map(promise)
            .collect::<Result<_, _>>()?;
        let (rows, more) = page_of_open(rows);
        let r = client
            .query_one(
                "SELECT count(*), count(*) FILTER (WHERE due_at < $1),
                        count(*) FILTER (WHERE due_at < $1 AND created_at >= $2),
                        count(*) FILTER (WHERE (due_at, id) <= ($3, $4))
                 FROM promises
                 WHERE state = 'open' AND (cardinality($5::bigint[]) = 0 OR site_id = ANY($5))",
                &[&scope.now, &scope.since, &due, &id, sites],
            )
            .await?;
        let open = OpenPromises {
            rows,
            more,
            total: r.try_get(0)?,
            overdue: r.try_get(1)?,
            overdue_in_window: r.try_get(2)?,
            skipped: r.try_get(3)?,
        };
        let shown = i64::try_from(SETTLED_SHOWN).unwrap_or(i64::MAX);
        let settled_promises = client
            .query(
                &format!(
                    "{PROMISE_SELECT} WHERE p.state <> 'open' AND p.created_at >= $1
                       AND (cardinality($3::bigint[]) = 0 OR p.site_id = ANY($3))
                     ORDER BY p.settled_at DESC, p.id DESC LIMIT $2"
                ),
                &[&scope.since, &shown, sites],
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
                 FROM promises
                 WHERE created_at >= $1 AND state <> 'open'
                   AND (cardinality($2::bigint[]) = 0 OR site_id = ANY($2))",
                &[&scope.since, sites],
            )
            .await?;
        Ok(Report {
            open,
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
