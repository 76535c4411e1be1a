//! Refused origins on PostgreSQL (see `store::refusals`). Each statement
//! stands alone: collectors writing the same site's rows at once each lock
//! one row at a time, so they cannot deadlock, and a count is never lost.

use std::collections::HashMap;

use super::Postgres;
use crate::store::StoreError;
use crate::store::refusals::{ORIGINS_KEPT, RefusalTally, Refused, day_before, oldest_hour};

impl Postgres {
    pub async fn record_refusals(
        &self,
        tallies: Vec<RefusalTally>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        let count = client
            .prepare_cached(
                "INSERT INTO origin_refusals (site_id, hour, count) VALUES ($1, $2, $3)
                 ON CONFLICT (site_id, hour)
                 DO UPDATE SET count = origin_refusals.count + excluded.count",
            )
            .await?;
        let origin = client
            .prepare_cached(
                "INSERT INTO refused_origins (site_id, origin, last_at) VALUES ($1, $2, $3)
                 ON CONFLICT (site_id, origin)
                 DO UPDATE SET last_at = greatest(refused_origins.last_at, excluded.last_at)",
            )
            .await?;
        let old_hours = client
            .prepare_cached("DELETE FROM origin_refusals WHERE site_id = $1 AND hour < $2")
            .await?;
        let old_origins = client
            .prepare_cached(
                "DELETE FROM refused_origins WHERE site_id = $1 AND (last_at <= $2 OR origin NOT IN (
                     SELECT origin FROM refused_origins WHERE site_id = $1
                     ORDER BY last_at DESC, origin LIMIT $3))",
            )
            .await?;
        let exists = client
            .prepare_cached("SELECT 1 FROM sites WHERE id = $1")
            .await?;
        for tally in &tallies {
            // Counted for a site removed since: nothing to keep.
            if client
                .query_opt(&exists, &[&tally.site_id])
                .await?
                .is_none()
            {
                continue;
            }
            for (hour, n) in &tally.hours {
                client
                    .execute(&count, &[&tally.site_id, hour, &i64::from(*n)])
                    .await?;
            }
            for (name, at) in &tally.origins {
                client.execute(&origin, &[&tally.site_id, name, at]).await?;
            }
            client
                .execute(&old_hours, &[&tally.site_id, &oldest_hour(now_ms)])
                .await?;
            client
                .execute(
                    &old_origins,
                    &[&tally.site_id, &day_before(now_ms), &(ORIGINS_KEPT as i64)],
                )
                .await?;
        }
        Ok(())
    }

    pub async fn refusals(
        &self,
        site_ids: Vec<i64>,
        now_ms: i64,
    ) -> Result<HashMap<i64, Refused>, StoreError> {
        let mut all: HashMap<i64, Refused> = HashMap::new();
        if site_ids.is_empty() {
            return Ok(all);
        }
        let client = self.client().await?;
        let counts = client
            .prepare_cached(
                "SELECT site_id, sum(count)::bigint FROM origin_refusals
                 WHERE site_id = ANY($1) AND hour >= $2 GROUP BY site_id",
            )
            .await?;
        for row in client
            .query(&counts, &[&site_ids, &oldest_hour(now_ms)])
            .await?
        {
            let n: i64 = row.try_get(1)?;
            all.entry(row.try_get(0)?).or_default().count = u64::try_from(n).unwrap_or(0);
        }
        let origins = client
            .prepare_cached(
                "SELECT site_id, origin, last_at FROM refused_origins
                 WHERE site_id = ANY($1) AND last_at > $2
                 ORDER BY site_id, last_at DESC, origin",
            )
            .await?;
        for row in client
            .query(&origins, &[&site_ids, &day_before(now_ms)])
            .await?
        {
            let refused = all.entry(row.try_get(0)?).or_default();
            if refused.origins.len() < ORIGINS_KEPT {
                refused.origins.push((row.try_get(1)?, row.try_get(2)?));
            }
        }
        Ok(all)
    }
}
