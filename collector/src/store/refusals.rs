//! Feedback refused because its page's origin is not allowed: per site, how
//! many in the last day and from which origins. Counted in memory on the
//! ingest path (`SiteDirectory`) and written here every few seconds, so the
//! Sites page's count survives a restart and, on PostgreSQL, adds up every
//! collector's. A flood of refusals costs one small write, not one each.

use std::collections::HashMap;

use rusqlite::Connection;

use super::StoreError;

pub const HOUR_MS: i64 = 3_600_000;
/// Hours a refusal counts for: the Sites page shows the last day.
pub const HOURS: i64 = 24;
/// Distinct refused origins kept per site, and their longest length:
/// enough to spot a misconfiguration, bounded whatever a client sends.
pub const ORIGINS_KEPT: usize = 5;
pub const ORIGIN_MAX: usize = 120;

/// Refusals for one site not yet written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefusalTally {
    pub site_id: i64,
    /// (hours since 1970 UTC, refusals in that hour), at most [`HOURS`].
    pub hours: Vec<(i64, u32)>,
    /// (origin, when it was last refused), newest first, at most
    /// [`ORIGINS_KEPT`], each at most [`ORIGIN_MAX`] characters.
    pub origins: Vec<(String, i64)>,
}

impl RefusalTally {
    pub fn new(site_id: i64) -> Self {
        RefusalTally {
            site_id,
            ..RefusalTally::default()
        }
    }

    /// Counts one refusal of `origin` at `at_ms`.
    pub fn add(&mut self, origin: &str, at_ms: i64) {
        self.add_hour(at_ms.div_euclid(HOUR_MS), 1);
        let origin: String = origin.chars().take(ORIGIN_MAX).collect();
        self.add_origin(origin, at_ms);
    }

    /// Folds in what `other` counted (a write that failed comes back).
    pub fn merge(&mut self, other: RefusalTally) {
        for (hour, count) in other.hours {
            self.add_hour(hour, count);
        }
        for (origin, at) in other.origins {
            self.add_origin(origin, at);
        }
    }

    fn add_hour(&mut self, hour: i64, count: u32) {
        match self.hours.iter_mut().find(|(h, _)| *h == hour) {
            Some((_, n)) => *n = n.saturating_add(count),
            None => self.hours.push((hour, count)),
        }
        if self.hours.len() > HOURS as usize {
            self.hours.sort_unstable();
            self.hours.remove(0);
        }
    }

    fn add_origin(&mut self, origin: String, at: i64) {
        keep_latest(&mut self.origins, origin, at);
    }

    /// What this tally adds to a site's summary of the day before `now_ms`.
    pub fn within_day(&self, now_ms: i64) -> Refused {
        let oldest = oldest_hour(now_ms);
        Refused {
            count: self
                .hours
                .iter()
                .filter(|(h, _)| *h >= oldest)
                .map(|(_, n)| u64::from(*n))
                .sum(),
            origins: self
                .origins
                .iter()
                .filter(|(_, at)| *at > day_before(now_ms))
                .cloned()
                .collect(),
        }
    }
}

/// A site's refusals in the last day: how many, and the latest distinct
/// origins with when each was last refused, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Refused {
    pub count: u64,
    pub origins: Vec<(String, i64)>,
}

impl Refused {
    /// Adds what another source (a tally not yet written) counted.
    pub fn merge(&mut self, other: Refused) {
        self.count += other.count;
        for (origin, at) in other.origins {
            keep_latest(&mut self.origins, origin, at);
        }
    }

    /// The latest origins, for the page.
    pub fn origin_names(&self) -> Vec<String> {
        self.origins.iter().map(|(o, _)| o.clone()).collect()
    }
}

/// Notes `origin` refused at `at` in `origins` (newest first, each origin
/// once with its latest time), keeping the latest [`ORIGINS_KEPT`].
fn keep_latest(origins: &mut Vec<(String, i64)>, origin: String, at: i64) {
    match origins.iter_mut().find(|(o, _)| *o == origin) {
        Some((_, seen)) => *seen = (*seen).max(at),
        None => origins.push((origin, at)),
    }
    origins.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    origins.truncate(ORIGINS_KEPT);
}

/// Refused origins last seen after this still count at `now_ms`.
pub fn day_before(now_ms: i64) -> i64 {
    now_ms - HOURS * HOUR_MS
}

/// The first hour that still counts at `now_ms`.
pub fn oldest_hour(now_ms: i64) -> i64 {
    now_ms.div_euclid(HOUR_MS) - HOURS + 1
}

impl super::Sqlite {
    pub async fn record_refusals(
        &self,
        tallies: Vec<RefusalTally>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        self.write(move |conn| record(conn, &tallies, now_ms)).await
    }

    pub async fn refusals(
        &self,
        site_ids: Vec<i64>,
        now_ms: i64,
    ) -> Result<HashMap<i64, Refused>, StoreError> {
        self.read(move |conn| load(conn, &site_ids, now_ms)).await
    }
}

fn record(conn: &Connection, tallies: &[RefusalTally], now_ms: i64) -> Result<(), StoreError> {
    let mut count = conn.prepare_cached(
        "INSERT INTO origin_refusals (site_id, hour, count) VALUES (?1, ?2, ?3)
         ON CONFLICT (site_id, hour) DO UPDATE SET count = count + excluded.count",
    )?;
    let mut origin = conn.prepare_cached(
        "INSERT INTO refused_origins (site_id, origin, last_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (site_id, origin) DO UPDATE SET last_at = max(last_at, excluded.last_at)",
    )?;
    // Each site written keeps at most a day of hours and the latest few
    // origins, so the tables stay as small as the page they serve.
    let mut old_hours =
        conn.prepare_cached("DELETE FROM origin_refusals WHERE site_id = ?1 AND hour < ?2")?;
    let mut old_origins = conn.prepare_cached(
        "DELETE FROM refused_origins WHERE site_id = ?1 AND (last_at <= ?2 OR origin NOT IN (
             SELECT origin FROM refused_origins WHERE site_id = ?1
             ORDER BY last_at DESC, origin LIMIT ?3))",
    )?;
    let mut exists = conn.prepare_cached("SELECT 1 FROM sites WHERE id = ?1")?;
    for tally in tallies {
        // Counted for a site removed since: nothing to keep, and writing
        // it would fail every other site's counts with it.
        if !exists.exists([tally.site_id])? {
            continue;
        }
        for (hour, n) in &tally.hours {
            count.execute((tally.site_id, hour, n))?;
        }
        for (name, at) in &tally.origins {
            origin.execute((tally.site_id, name, at))?;
        }
        old_hours.execute((tally.site_id, oldest_hour(now_ms)))?;
        old_origins.execute((tally.site_id, day_before(now_ms), ORIGINS_KEPT as i64))?;
    }
    Ok(())
}

fn load(
    conn: &Connection,
    site_ids: &[i64],
    now_ms: i64,
) -> Result<HashMap<i64, Refused>, StoreError> {
    let mut all: HashMap<i64, Refused> = HashMap::new();
    if site_ids.is_empty() {
        return Ok(all);
    }
    let list = vec!["?"; site_ids.len()].join(", ");
    let mut counts = conn.prepare(&format!(
        "SELECT site_id, sum(count) FROM origin_refusals
         WHERE site_id IN ({list}) AND hour >= ? GROUP BY site_id"
    ))?;
    let params = site_ids
        .iter()
        .copied()
        .chain(std::iter::once(oldest_hour(now_ms)));
    let rows = counts.query_map(rusqlite::params_from_iter(params), |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
    })?;
    for row in rows {
        let (site, n) = row?;
        all.entry(site).or_default().count = u64::try_from(n).unwrap_or(0);
    }
    let mut origins = conn.prepare(&format!(
        "SELECT site_id, origin, last_at FROM refused_origins
         WHERE site_id IN ({list}) AND last_at > ?
         ORDER BY site_id, last_at DESC, origin"
    ))?;
    let params = site_ids
        .iter()
        .copied()
        .chain(std::iter::once(day_before(now_ms)));
    let rows = origins.query_map(rusqlite::params_from_iter(params), |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
        ))
    })?;
    for row in rows {
        let (site, origin, at) = row?;
        let refused = all.entry(site).or_default();
        if refused.origins.len() < ORIGINS_KEPT {
            refused.origins.push((origin, at));
        }
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tally_keeps_a_day_of_hours_and_the_latest_few_origins() {
        let t = 1_800_000_000_000;
        let mut tally = RefusalTally::new(7);
        for i in 0..30 {
            tally.add(&format!("https://shop{i}.example"), t + i * HOUR_MS);
        }
        tally.add(&"x".repeat(10_000), t + 30 * HOUR_MS);
        assert_eq!(tally.hours.len(), HOURS as usize);
        assert_eq!(tally.origins.len(), ORIGINS_KEPT);
        assert_eq!(tally.origins[0].0.len(), ORIGIN_MAX);
        assert_eq!(tally.origins[1].0, "https://shop29.example");
        let day = tally.within_day(t + 30 * HOUR_MS);
        assert_eq!(day.count, 24);
        // A day later than its newest hour, nothing counts.
        assert_eq!(tally.within_day(t + 60 * HOUR_MS), Refused::default());
    }

    #[test]
    fn merging_adds_counts_and_keeps_the_newest_time_of_each_origin() {
        let t = 1_800_000_000_000;
        let mut a = RefusalTally::new(1);
        a.add("https://a.example", t);
        let mut b = RefusalTally::new(1);
        b.add("https://a.example", t + 5);
        b.add("https://b.example", t + 1);
        a.merge(b);
        assert_eq!(a.hours, vec![(t.div_euclid(HOUR_MS), 3)]);
        assert_eq!(
            a.origins,
            vec![
                ("https://a.example".to_owned(), t + 5),
                ("https://b.example".to_owned(), t + 1)
            ]
        );
    }
}
