//! Reading the roll-ups for a report: a few hundred aggregated rows for
//! the period instead of a scan of its entries.

use std::collections::{BTreeMap, HashMap};

use rusqlite::types::Value;
use rusqlite::{Connection, Params};

use crate::store::among::{among_sites, with_sites};

use crate::store::{Sqlite, StoreError};

/// Which weeks and sites a report covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    pub from_week: i64,
    pub to_week: i64,
    /// The sites summed together; none is every site.
    pub sites: Vec<i64>,
}

/// Promises made in the period, by how they ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PromiseCounts {
    pub made: i64,
    pub kept_on_time: i64,
    pub kept_late: i64,
    pub broken: i64,
    pub open: i64,
}

/// What a report is drawn from.
#[derive(Debug, Clone, Default)]
pub struct Rollups {
    /// (week, kind) → entries.
    pub volume_by_kind: BTreeMap<(i64, String), i64>,
    /// (week, severity, "" for none) → entries.
    pub volume_by_severity: BTreeMap<(i64, String), i64>,
    /// week → first-response histogram.
    pub first_response: BTreeMap<i64, BTreeMap<i64, i64>>,
    /// kind → resolution histogram.
    pub resolution: BTreeMap<String, BTreeMap<i64, i64>>,
    pub promises: PromiseCounts,
    /// The pages with most expectation mismatches, most first.
    pub pages: Vec<PageMismatches>,
}

/// A page, its expectation mismatches, and the commonest words in them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageMismatches {
    pub page: String,
    pub mismatches: i64,
    pub words: Vec<(String, i64)>,
}

/// The `n` largest counts, largest first (ties by name), none at zero.
pub(in crate::store) fn most(counts: HashMap<String, i64>, n: usize) -> Vec<(String, i64)> {
    let mut most: Vec<(String, i64)> = counts.into_iter().filter(|(_, c)| *c > 0).collect();
    most.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    most.truncate(n);
    most
}

/// Pages and words a report lists.
pub(in crate::store) const TOP_PAGES: usize = 10;
pub(in crate::store) const TOP_WORDS: usize = 6;

/// The period's weeks as `?1` and `?2`, then its sites.
fn in_period(p: &Period) -> impl Params {
    with_sites(vec![p.from_week.into(), p.to_week.into()], &p.sites)
}

/// Rows of a roll-up in the period, summed in Rust: scanning the primary
/// key range costs less than SQLite's GROUP BY sorting them.
fn read_rollups(conn: &Connection, p: &Period) -> Result<Rollups, StoreError> {
    let mut out = Rollups::default();
    let sites = among_sites("site_id", &p.sites, 3);
    let with_sites = |lead: Vec<Value>| with_sites(lead, &p.sites);
    let range = || in_period(p);
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT week, kind, severity, entries FROM rollup_volume
         WHERE week BETWEEN ?1 AND ?2{sites}"
    ))?;
    let mut rows = stmt.query(range())?;
    while let Some(r) = rows.next()? {
        let (week, kind, severity, n): (i64, String, String, i64) =
            (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
        *out.volume_by_kind.entry((week, kind)).or_default() += n;
        *out.volume_by_severity.entry((week, severity)).or_default() += n;
    }
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT week, bucket, n FROM rollup_first_response
         WHERE week BETWEEN ?1 AND ?2{sites}"
    ))?;
    let mut rows = stmt.query(range())?;
    while let Some(r) = rows.next()? {
        let (week, bucket, n): (i64, i64, i64) = (r.get(0)?, r.get(1)?, r.get(2)?);
        *out.first_response
            .entry(week)
            .or_default()
            .entry(bucket)
            .or_default() += n;
    }
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT kind, bucket, n FROM rollup_resolution
         WHERE week BETWEEN ?1 AND ?2{sites}"
    ))?;
    let mut rows = stmt.query(range())?;
    while let Some(r) = rows.next()? {
        let (kind, bucket, n): (String, i64, i64) = (r.get(0)?, r.get(1)?, r.get(2)?);
        *out.resolution
            .entry(kind)
            .or_default()
            .entry(bucket)
            .or_default() += n;
    }
    // Spam rescues and marks can leave empty buckets behind.
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
    // Spelled for the sites chosen, so each is answered from the
    // covering index alone.
    out.promises = conn
        .prepare_cached(&format!(
            "SELECT count(*),
                    coalesce(sum(state = 'kept' AND settled_at <= due_at), 0),
                    coalesce(sum(state = 'kept' AND settled_at > due_at), 0),
                    coalesce(sum(state = 'broken'), 0),
                    coalesce(sum(state = 'open'), 0)
             FROM promises
             WHERE created_at >= ?1 AND created_at < ?2{sites}"
        ))?
        .query_row(with_sites(vec![from_ms.into(), to_ms.into()]), |r| {
            Ok(PromiseCounts {
                made: r.get(0)?,
                kept_on_time: r.get(1)?,
                kept_late: r.get(2)?,
                broken: r.get(3)?,
                open: r.get(4)?,
            })
        })?;
    let mut pages: HashMap<String, i64> = HashMap::new();
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT page, n FROM rollup_pages
         WHERE week BETWEEN ?1 AND ?2{sites}"
    ))?;
    let mut rows = stmt.query(range())?;
    while let Some(r) = rows.next()? {
        *pages.entry(r.get(0)?).or_default() += r.get::<_, i64>(1)?;
    }
    let pages = most(pages, TOP_PAGES);
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT word, n FROM rollup_words
         WHERE page = ?1 AND week BETWEEN ?2 AND ?3{}",
        among_sites("site_id", &p.sites, 4)
    ))?;
    for (page, n) in pages {
        let mut words: HashMap<String, i64> = HashMap::new();
        let mut rows = stmt.query(with_sites(vec![
            page.clone().into(),
            p.from_week.into(),
            p.to_week.into(),
        ]))?;
        while let Some(r) = rows.next()? {
            *words.entry(r.get(0)?).or_default() += r.get::<_, i64>(1)?;
        }
        out.pages.push(PageMismatches {
            page,
            mismatches: n,
            words: most(words, TOP_WORDS),
        });
    }
    Ok(out)
}

/// First-response times of entries that arrived in the period's weeks on
/// its sites, as a histogram (for the Promises page).
fn first_responses(conn: &Connection, p: &Period) -> Result<BTreeMap<i64, i64>, StoreError> {
    let mut out = BTreeMap::new();
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT bucket, n FROM rollup_first_response WHERE week BETWEEN ?1 AND ?2{}",
        among_sites("site_id", &p.sites, 3)
    ))?;
    let mut rows = stmt.query(in_period(p))?;
    while let Some(r) = rows.next()? {
        *out.entry(r.get(0)?).or_default() += r.get::<_, i64>(1)?;
    }
    out.retain(|_, n: &mut i64| *n > 0);
    Ok(out)
}

impl Sqlite {
    /// The first-response histogram of entries that arrived in the
    /// period's weeks on its sites.
    pub async fn first_response_histogram(
        &self,
        period: Period,
    ) -> Result<BTreeMap<i64, i64>, StoreError> {
        self.read(move |conn| first_responses(conn, &period)).await
    }

    /// The roll-ups a report for `period` draws on.
    pub async fn rollups(&self, period: Period) -> Result<Rollups, StoreError> {
        self.read(move |conn| read_rollups(conn, &period)).await
    }
}
