//! Roll-ups for reports. A background task (beside the search indexer)
//! folds new entries in, in batches and off the ingest path; staff actions
//! that change a counted fact (a first reply, a resolution, marking spam)
//! adjust them in their own transaction. A report then reads a few hundred
//! aggregated rows instead of scanning entries.

use std::collections::{BTreeMap, HashMap};

use rusqlite::{Connection, OptionalExtension, params};

use super::{Sqlite, StoreError};
use crate::report::{bucket, page_key, week_of, words};

/// Entries rolled up per write job.
pub(in crate::store) const BATCH: i64 = 5_000;

const CURSOR: &str = "rollup_entries";

/// The newest entry id already rolled up.
pub(super) fn rolled_upto(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn
        .prepare_cached("SELECT upto FROM cursors WHERE name = ?1")?
        .query_row([CURSOR], |r| r.get(0))
        .optional()?
        .unwrap_or(0))
}

/// What a roll-up counts about one entry, on either backend.
pub(in crate::store) struct Facts {
    pub site_id: i64,
    pub created_at: i64,
    pub kind: String,
    pub severity: String,
    pub page_url: Option<String>,
    pub expected: Option<String>,
    pub actual: Option<String>,
}

impl Facts {
    /// The week it arrived in.
    pub fn week(&self) -> i64 {
        week_of(self.created_at)
    }

    /// Its page, as the roll-ups name it.
    pub fn page(&self) -> String {
        page_key(self.page_url.as_deref().unwrap_or_default())
    }

    /// Whether its page and words are counted: an expectation mismatch.
    pub fn is_mismatch(&self) -> bool {
        self.kind == "expectation"
    }

    /// The words of what was expected and what happened instead, each once.
    pub fn mismatch_words(&self) -> Vec<String> {
        words(&format!(
            "{} {}",
            self.expected.as_deref().unwrap_or_default(),
            self.actual.as_deref().unwrap_or_default()
        ))
    }
}

fn facts(conn: &Connection, entry_id: i64) -> Result<Option<Facts>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT site_id, created_at, kind, coalesce(severity, ''), page_url, expected, actual
             FROM entries WHERE id = ?1",
        )?
        .query_row([entry_id], |r| {
            Ok(Facts {
                site_id: r.get(0)?,
                created_at: r.get(1)?,
                kind: r.get(2)?,
                severity: r.get(3)?,
                page_url: r.get(4)?,
                expected: r.get(5)?,
                actual: r.get(6)?,
            })
        })
        .optional()?)
}

fn add_volume(conn: &Connection, f: &Facts, delta: i64) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO rollup_volume (week, site_id, kind, severity, entries) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (week, site_id, kind, severity) DO UPDATE SET entries = entries + excluded.entries",
    )?
    .execute(params![f.week(), f.site_id, f.kind, f.severity, delta])?;
    Ok(())
}

/// What a time histogram measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Measure {
    /// Arrival to the first reply, by week of arrival.
    FirstResponse,
    /// Arrival to resolved or won't fix, by week of arrival and kind.
    Resolution,
}

fn add_time(
    conn: &Connection,
    measure: Measure,
    f: &Facts,
    duration_ms: i64,
    delta: i64,
) -> Result<(), StoreError> {
    let week = f.week();
    let bucket = bucket(duration_ms);
    match measure {
        Measure::FirstResponse => conn
            .prepare_cached(
                "INSERT INTO rollup_first_response (week, site_id, bucket, n) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (week, site_id, bucket) DO UPDATE SET n = n + excluded.n",
            )?
            .execute(params![week, f.site_id, bucket, delta])?,
        Measure::Resolution => conn
            .prepare_cached(
                "INSERT INTO rollup_resolution (week, site_id, kind, bucket, n) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (week, site_id, kind, bucket) DO UPDATE SET n = n + excluded.n",
            )?
            .execute(params![week, f.site_id, f.kind, bucket, delta])?,
    };
    Ok(())
}

fn add_page(conn: &Connection, f: &Facts, delta: i64) -> Result<(), StoreError> {
    if !f.is_mismatch() {
        return Ok(());
    }
    conn.prepare_cached(
        "INSERT INTO rollup_pages (week, site_id, page, n) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (week, site_id, page) DO UPDATE SET n = n + excluded.n",
    )?
    .execute(params![f.week(), f.site_id, f.page(), delta])?;
    Ok(())
}

fn add_words(conn: &Connection, f: &Facts, delta: i64) -> Result<(), StoreError> {
    if !f.is_mismatch() {
        return Ok(());
    }
    let (page, week) = (f.page(), f.week());
    let mut stmt = conn.prepare_cached(
        "INSERT INTO rollup_words (page, week, site_id, word, n) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (page, week, site_id, word) DO UPDATE SET n = n + excluded.n",
    )?;
    for word in f.mismatch_words() {
        stmt.execute(params![page, week, f.site_id, word, delta])?;
    }
    Ok(())
}

/// Takes an entry's words and page out of the roll-ups before it is erased
/// (counts stay: they hold nothing of the customer's). Call it in the
/// erasing transaction, while the entry still exists.
pub(super) fn forget_text(conn: &Connection, entry_id: i64) -> Result<(), StoreError> {
    let Some(f) = shift_text(conn, entry_id, -1)? else {
        return Ok(());
    };
    // What is left at nothing goes, so no row remembers the entry.
    let (page, week) = (f.page(), f.week());
    conn.prepare_cached(
        "DELETE FROM rollup_words WHERE page = ?1 AND week = ?2 AND site_id = ?3 AND n <= 0",
    )?
    .execute(params![page, week, f.site_id])?;
    conn.prepare_cached(
        "DELETE FROM rollup_pages WHERE week = ?1 AND site_id = ?2 AND page = ?3 AND n <= 0",
    )?
    .execute(params![week, f.site_id, page])?;
    Ok(())
}

/// Counts an entry's words and page again after they changed (taken out
/// by [`forget_text`] before the change, in the same transaction).
pub(super) fn recount_text(conn: &Connection, entry_id: i64) -> Result<(), StoreError> {
    shift_text(conn, entry_id, 1).map(drop)
}

/// Adds `delta` to the counts of a counted entry's words and page, if
/// they are counted (a mismatch, not spam); returns its facts if so.
fn shift_text(conn: &Connection, entry_id: i64, delta: i64) -> Result<Option<Facts>, StoreError> {
    if entry_id > rolled_upto(conn)? {
        return Ok(None);
    }
    let Some(f) = facts(conn, entry_id)? else {
        return Ok(None);
    };
    let spam: bool = conn
        .prepare_cached("SELECT status = 'spam' FROM entries WHERE id = ?1")?
        .query_row([entry_id], |r| r.get(0))?;
    if spam || !f.is_mismatch() {
        return Ok(None);
    }
    add_words(conn, &f, delta)?;
    add_page(conn, &f, delta)?;
    Ok(Some(f))
}

/// Folds up to `limit` entries newer than the cursor into the roll-ups;
/// returns how many were read.
fn roll_pending(conn: &Connection, limit: i64) -> Result<usize, StoreError> {
    let upto = rolled_upto(conn)?;
    let mut stmt = conn.prepare_cached(
        "SELECT e.id, e.site_id, e.created_at, e.kind, coalesce(e.severity, ''), e.page_url,
                e.expected, e.actual, e.status, e.first_response_at,
                CASE WHEN e.status IN ('resolved', 'wont_fix') THEN
                    (SELECT max(ev.created_at) FROM events ev WHERE ev.entry_id = e.id
                       AND ev.kind = 'status' AND ev.new_value IN ('resolved', 'wont_fix'))
                END
         FROM entries e WHERE e.id > ?1 ORDER BY e.id LIMIT ?2",
    )?;
    let mut rows = stmt.query(params![upto, limit])?;
    let mut last = upto;
    let mut read = 0;
    // Volume is summed here first: one upsert per (day, site, kind,
    // severity) instead of one per entry.
    let mut volume: HashMap<(i64, i64, String, String), i64> = HashMap::new();
    while let Some(r) = rows.next()? {
        read += 1;
        last = r.get(0)?;
        let f = Facts {
            site_id: r.get(1)?,
            created_at: r.get(2)?,
            kind: r.get(3)?,
            severity: r.get(4)?,
            page_url: r.get(5)?,
            expected: r.get(6)?,
            actual: r.get(7)?,
        };
        let status: String = r.get(8)?;
        if status == "spam" {
            continue;
        }
        *volume
            .entry((f.week(), f.site_id, f.kind.clone(), f.severity.clone()))
            .or_default() += 1;
        if let Some(at) = r.get::<_, Option<i64>>(9)? {
            add_time(conn, Measure::FirstResponse, &f, at - f.created_at, 1)?;
        }
        if let Some(at) = r.get::<_, Option<i64>>(10)? {
            add_time(conn, Measure::Resolution, &f, at - f.created_at, 1)?;
        }
        add_page(conn, &f, 1)?;
        add_words(conn, &f, 1)?;
    }
    for ((week, site_id, kind, severity), n) in volume {
        conn.prepare_cached(
            "INSERT INTO rollup_volume (week, site_id, kind, severity, entries) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (week, site_id, kind, severity) DO UPDATE SET entries = entries + excluded.entries",
        )?
        .execute(params![week, site_id, kind, severity, n])?;
    }
    if read > 0 {
        conn.prepare_cached("UPDATE cursors SET upto = ?2 WHERE name = ?1")?
            .execute(params![CURSOR, last])?;
    }
    Ok(read)
}

/// A first reply to an entry the roll-ups already counted.
pub(super) fn first_response(conn: &Connection, entry_id: i64, at: i64) -> Result<(), StoreError> {
    if entry_id > rolled_upto(conn)? {
        return Ok(());
    }
    if let Some(f) = facts(conn, entry_id)? {
        add_time(conn, Measure::FirstResponse, &f, at - f.created_at, 1)?;
    }
    Ok(())
}

/// A status change of an entry the roll-ups already counted: a resolution
/// is timed; spam leaves the counts and a rescued entry comes back.
pub(super) fn status_changed(
    conn: &Connection,
    entry_id: i64,
    from: &str,
    to: &str,
    at: i64,
) -> Result<(), StoreError> {
    if entry_id > rolled_upto(conn)? {
        return Ok(());
    }
    let Some(f) = facts(conn, entry_id)? else {
        return Ok(());
    };
    if matches!(to, "resolved" | "wont_fix") {
        add_time(conn, Measure::Resolution, &f, at - f.created_at, 1)?;
    }
    let Some(delta) = spam_delta(from, to) else {
        return Ok(());
    };
    add_volume(conn, &f, delta)?;
    add_page(conn, &f, delta)?;
    let answered: Option<i64> = conn
        .prepare_cached("SELECT first_response_at FROM entries WHERE id = ?1")?
        .query_row([entry_id], |r| r.get(0))?;
    if let Some(answered) = answered {
        add_time(
            conn,
            Measure::FirstResponse,
            &f,
            answered - f.created_at,
            delta,
        )?;
    }
    Ok(())
}

/// Which weeks and site a report covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from_week: i64,
    pub to_week: i64,
    pub site: Option<i64>,
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

/// How a status change moves an entry's counts: out when it becomes spam,
/// back when rescued; `None` when neither.
pub(in crate::store) fn spam_delta(from: &str, to: &str) -> Option<i64> {
    match (from, to) {
        (_, "spam") => Some(-1),
        ("spam", _) => Some(1),
        _ => None,
    }
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

/// Rows of a roll-up in the period, summed in Rust: scanning the primary
/// key range costs less than SQLite's GROUP BY sorting them.
fn read_rollups(conn: &Connection, p: Period) -> Result<Rollups, StoreError> {
    let mut out = Rollups::default();
    let range = params![p.from_week, p.to_week, p.site];
    let mut stmt = conn.prepare_cached(
        "SELECT week, kind, severity, entries FROM rollup_volume
         WHERE week BETWEEN ?1 AND ?2 AND (?3 IS NULL OR site_id = ?3)",
    )?;
    let mut rows = stmt.query(range)?;
    while let Some(r) = rows.next()? {
        let (week, kind, severity, n): (i64, String, String, i64) =
            (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
        *out.volume_by_kind.entry((week, kind)).or_default() += n;
        *out.volume_by_severity.entry((week, severity)).or_default() += n;
    }
    let mut stmt = conn.prepare_cached(
        "SELECT week, bucket, n FROM rollup_first_response
         WHERE week BETWEEN ?1 AND ?2 AND (?3 IS NULL OR site_id = ?3)",
    )?;
    let mut rows = stmt.query(range)?;
    while let Some(r) = rows.next()? {
        let (week, bucket, n): (i64, i64, i64) = (r.get(0)?, r.get(1)?, r.get(2)?);
        *out.first_response
            .entry(week)
            .or_default()
            .entry(bucket)
            .or_default() += n;
    }
    let mut stmt = conn.prepare_cached(
        "SELECT kind, bucket, n FROM rollup_resolution
         WHERE week BETWEEN ?1 AND ?2 AND (?3 IS NULL OR site_id = ?3)",
    )?;
    let mut rows = stmt.query(range)?;
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
    // Two spellings, so each is answered from its covering index alone.
    let site_condition = if p.site.is_some() {
        "site_id = ?3"
    } else {
        "?3 IS NULL"
    };
    out.promises = conn
        .prepare_cached(&format!(
            "SELECT count(*),
                    coalesce(sum(state = 'kept' AND settled_at <= due_at), 0),
                    coalesce(sum(state = 'kept' AND settled_at > due_at), 0),
                    coalesce(sum(state = 'broken'), 0),
                    coalesce(sum(state = 'open'), 0)
             FROM promises
             WHERE {site_condition} AND created_at >= ?1 AND created_at < ?2"
        ))?
        .query_row(params![from_ms, to_ms, p.site], |r| {
            Ok(PromiseCounts {
                made: r.get(0)?,
                kept_on_time: r.get(1)?,
                kept_late: r.get(2)?,
                broken: r.get(3)?,
                open: r.get(4)?,
            })
        })?;
    let mut pages: HashMap<String, i64> = HashMap::new();
    let mut stmt = conn.prepare_cached(
        "SELECT page, n FROM rollup_pages
         WHERE week BETWEEN ?1 AND ?2 AND (?3 IS NULL OR site_id = ?3)",
    )?;
    let mut rows = stmt.query(range)?;
    while let Some(r) = rows.next()? {
        *pages.entry(r.get(0)?).or_default() += r.get::<_, i64>(1)?;
    }
    let pages = most(pages, TOP_PAGES);
    let mut stmt = conn.prepare_cached(
        "SELECT word, n FROM rollup_words
         WHERE page = ?1 AND week BETWEEN ?2 AND ?3 AND (?4 IS NULL OR site_id = ?4)",
    )?;
    for (page, n) in pages {
        let mut words: HashMap<String, i64> = HashMap::new();
        let mut rows = stmt.query(params![page, p.from_week, p.to_week, p.site])?;
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

/// First-response times of entries that arrived in these weeks, as a
/// histogram (for the Promises page).
fn first_responses(
    conn: &Connection,
    from_week: i64,
    to_week: i64,
) -> Result<BTreeMap<i64, i64>, StoreError> {
    let mut out = BTreeMap::new();
    let mut stmt = conn.prepare_cached(
        "SELECT bucket, n FROM rollup_first_response WHERE week BETWEEN ?1 AND ?2",
    )?;
    let mut rows = stmt.query(params![from_week, to_week])?;
    while let Some(r) = rows.next()? {
        *out.entry(r.get(0)?).or_default() += r.get::<_, i64>(1)?;
    }
    out.retain(|_, n: &mut i64| *n > 0);
    Ok(out)
}

impl Sqlite {
    /// Brings the roll-ups up to date with every committed entry. Looks
    /// first, so a report viewed when nothing is pending writes nothing.
    pub async fn roll_up(&self) -> Result<usize, StoreError> {
        if self.rollup_backlog().await? == 0 {
            return Ok(0);
        }
        let mut total = 0;
        loop {
            let done = self.write(|conn| roll_pending(conn, BATCH)).await?;
            total += done;
            if i64::try_from(done).unwrap_or(0) < BATCH {
                return Ok(total);
            }
        }
    }

    /// Roughly how many entries the roll-ups have yet to count (ids, so
    /// gaps count too).
    pub async fn rollup_backlog(&self) -> Result<i64, StoreError> {
        self.read(|conn| Ok((super::entries::newest_id(conn)? - rolled_upto(conn)?).max(0)))
            .await
    }

    /// Rolls up at most `limit` entries (while the collector is busy).
    pub(super) async fn roll_some(&self, limit: i64) -> Result<usize, StoreError> {
        self.write(move |conn| roll_pending(conn, limit)).await
    }

    /// The first-response histogram of entries that arrived in these weeks.
    pub async fn first_response_histogram(
        &self,
        from_week: i64,
        to_week: i64,
    ) -> Result<BTreeMap<i64, i64>, StoreError> {
        self.read(move |conn| first_responses(conn, from_week, to_week))
            .await
    }

    /// The roll-ups a report for `period` draws on.
    pub async fn rollups(&self, period: Period) -> Result<Rollups, StoreError> {
        self.read(move |conn| read_rollups(conn, period)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn store_with(entries: usize) -> (tempfile::TempDir, Sqlite) {
        let dir = tempfile::tempdir().unwrap();
        let store = Sqlite::open(&dir.path().join("t.db")).unwrap();
        store
            .write(move |c| {
                c.execute(
                    "INSERT INTO sites (key, name, origins, created_at) VALUES ('k', 'n', '', 0)",
                    [],
                )?;
                for i in 0..entries {
                    let (kind, status) = if i % 10 == 9 {
                        ("idea", "spam")
                    } else {
                        ("complaint", "new")
                    };
                    c.execute(
                        "INSERT INTO entries (public_id, reference, status_token, site_id, kind,
                            status, message, created_at) VALUES (?1, ?1, 't', 1, ?2, ?3, 'm', ?4)",
                        params![format!("e{i}"), kind, status, 1_795_348_800_000_i64],
                    )?;
                }
                Ok(())
            })
            .await
            .unwrap();
        (dir, store)
    }

    #[tokio::test]
    async fn the_backlog_is_counted_then_rolled_up_once_without_spam() {
        let (_dir, store) = store_with(30).await;
        assert_eq!(store.rollup_backlog().await.unwrap(), 30);
        assert_eq!(store.roll_up().await.unwrap(), 30);
        assert_eq!(store.rollup_backlog().await.unwrap(), 0);
        assert_eq!(store.roll_up().await.unwrap(), 0, "nothing twice");
        let week = week_of(1_795_348_800_000);
        let r = store
            .rollups(Period {
                from_week: week,
                to_week: week,
                site: None,
            })
            .await
            .unwrap();
        assert_eq!(
            r.volume_by_kind.get(&(week, "complaint".to_owned())),
            Some(&27)
        );
        assert_eq!(r.volume_by_kind.get(&(week, "idea".to_owned())), None);
        store.shutdown().await;
    }
}
