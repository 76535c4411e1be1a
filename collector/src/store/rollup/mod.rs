//! Roll-ups for reports. A background task (beside the search indexer)
//! folds new entries in, in batches and off the ingest path; staff actions
//! that change a counted fact (a first reply, a resolution, marking spam)
//! adjust them in their own transaction. A report then reads a few hundred
//! aggregated rows instead of scanning entries.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, params};

use super::{Sqlite, StoreError};
use crate::report::{bucket, page_key, week_of, words};

mod read;

pub use read::{PageMismatches, Period, PromiseCounts, Rollups};
pub(in crate::store) use read::{TOP_PAGES, TOP_WORDS, most};

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

/// How a status change moves an entry's counts: out when it becomes spam,
/// back when rescued; `None` when neither.
pub(in crate::store) fn spam_delta(from: &str, to: &str) -> Option<i64> {
    match (from, to) {
        (_, "spam") => Some(-1),
        ("spam", _) => Some(1),
        _ => None,
    }
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
                sites: vec![],
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
