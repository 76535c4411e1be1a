//! Reading the roll-ups for a report on PostgreSQL: the same rows and sums
//! as SQLite's (`store::rollup::read`).

use std::collections::{BTreeMap, HashMap};

use crate::store::postgres::Postgres;
use crate::store::rollup::{TOP_PAGES, TOP_WORDS, most};
use crate::store::{PageMismatches, Period, PromiseCounts, Rollups, StoreError};

/// The rows of the weeks `$1` to `$2` and, unless the list `$3` is empty
/// (every site), of its sites.
macro_rules! in_period {
    () => {
        "week BETWEEN $1 AND $2 AND (cardinality($3::bigint[]) = 0 OR site_id = ANY($3))"
    };
}

impl Postgres {
    /// The first-response histogram of entries that arrived in the
    /// period's weeks on its sites.
    pub async fn first_response_histogram(
        &self,
        p: Period,
    ) -> Result<BTreeMap<i64, i64>, StoreError> {
        let client = self.client().await?;
        let mut out = BTreeMap::new();
        for r in client
            .query(
                concat!(
                    "SELECT bucket, n FROM rollup_first_response WHERE ",
                    in_period!()
                ),
                &[&p.from_week, &p.to_week, &p.sites],
            )
            .await?
        {
            *out.entry(r.try_get(0)?).or_default() += r.try_get::<_, i64>(1)?;
        }
        out.retain(|_, n: &mut i64| *n > 0);
        Ok(out)
    }

    /// The roll-ups a report for `period` draws on.
    pub async fn rollups(&self, p: Period) -> Result<Rollups, StoreError> {
        let client = self.client().await?;
        let mut out = Rollups::default();
        // An empty list is every site.
        let range: [&(dyn tokio_postgres::types::ToSql + Sync); 3] =
            [&p.from_week, &p.to_week, &p.sites];
        for r in client
            .query(
                concat!(
                    "SELECT week, kind, severity, entries FROM rollup_volume WHERE ",
                    in_period!()
                ),
                &range,
            )
            .await?
        {
            let (week, kind, severity, n): (i64, String, String, i64) =
                (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?);
            *out.volume_by_kind.entry((week, kind)).or_default() += n;
            *out.volume_by_severity.entry((week, severity)).or_default() += n;
        }
        for r in client
            .query(
                concat!(
                    "SELECT week, bucket, n FROM rollup_first_response WHERE ",
                    in_period!()
                ),
                &range,
            )
            .await?
        {
            *out.first_response
                .entry(r.try_get(0)?)
                .or_default()
                .entry(r.try_get(1)?)
                .or_default() += r.try_get::<_, i64>(2)?;
        }
        for r in client
            .query(
                concat!(
                    "SELECT kind, bucket, n FROM rollup_resolution WHERE ",
                    in_period!()
                ),
                &range,
            )
            .await?
        {
            *out.resolution
                .entry(r.try_get(0)?)
                .or_default()
                .entry(r.try_get(1)?)
                .or_default() += r.try_get::<_, i64>(2)?;
        }
        for histogram in out
            .first_response
            .values_mut()
            .chain(out.resolution.values_mut())
        {
            histogram.retain(|_, n| *n > 0);
        }
        let (from_ms, to_ms) = (
            crate::report::week_start(p.from_week),
            crate::report::week_start(p.to_week + 1),
        );
        let r = client
            .query_one(
                "SELECT count(*),
                        count(*) FILTER (WHERE state = 'kept' AND settled_at <= due_at),
                        count(*) FILTER (WHERE state = 'kept' AND settled_at > due_at),
                        count(*) FILTER (WHERE state = 'broken'),
                        count(*) FILTER (WHERE state = 'open')
                 FROM promises
                 WHERE (cardinality($3::bigint[]) = 0 OR site_id = ANY($3))
                   AND created_at >= $1 AND created_at < $2",
                &[&from_ms, &to_ms, &p.sites],
            )
            .await?;
        out.promises = PromiseCounts {
            made: r.try_get(0)?,
            kept_on_time: r.try_get(1)?,
            kept_late: r.try_get(2)?,
            broken: r.try_get(3)?,
            open: r.try_get(4)?,
        };
        let mut pages: HashMap<String, i64> = HashMap::new();
        for r in client
            .query(
                concat!("SELECT page, n FROM rollup_pages WHERE ", in_period!()),
                &range,
            )
            .await?
        {
            *pages.entry(r.try_get(0)?).or_default() += r.try_get::<_, i64>(1)?;
        }
        let pages = most(pages, TOP_PAGES);
        let stmt = client
            .prepare_cached(
                "SELECT word, n FROM rollup_words
                 WHERE page = $1 AND week BETWEEN $2 AND $3 AND (cardinality($4::bigint[]) = 0 OR site_id = ANY($4))",
            )
            .await?;
        for (page, n) in pages {
            let mut words: HashMap<String, i64> = HashMap::new();
            for r in client
                .query(&stmt, &[&page, &p.from_week, &p.to_week, &p.sites])
                .await?
            {
                *words.entry(r.try_get(0)?).or_default() += r.try_get::<_, i64>(1)?;
            }
            out.pages.push(PageMismatches {
                page,
                mismatches: n,
                words: most(words, TOP_WORDS),
            });
        }
        Ok(out)
    }
}
