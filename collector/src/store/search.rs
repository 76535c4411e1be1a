//! Keeping the full-text index current. Entries reach `entries_fts` in
//! batches rather than through a trigger: indexing costs about 30 µs of CPU
//! per entry, and inside every group commit it halved ingest throughput.
//!
//! A background task catches up every two seconds. While submissions pour
//! in it only trickles (acknowledging customers comes first); once traffic
//! calms down it indexes everything pending. A staff search catches up
//! fully before it runs, so staff never search a stale index, and notes on
//! entries not yet indexed are picked up from the timeline when they are.

use std::time::Duration;

use rusqlite::{Connection, OptionalExtension};

use super::{Store, StoreError};

/// Entries indexed per write job, bounding how long one job holds the
/// writer (about 150 ms at 30 µs each).
const BATCH: i64 = 5_000;
/// Entries indexed per tick while the collector is busy.
const TRICKLE: i64 = 500;
/// Writes per tick above which the collector counts as busy (500/s).
const BUSY_WRITES: u64 = 1_000;
/// How often the background task catches up.
pub const INTERVAL: Duration = Duration::from_secs(2);

/// The newest entry id already in the index.
pub(super) fn indexed_upto(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn
        .prepare_cached("SELECT rowid FROM entries_fts ORDER BY rowid DESC LIMIT 1")?
        .query_row([], |r| r.get(0))
        .optional()?
        .unwrap_or(0))
}

/// Indexes up to `limit` entries newer than the newest indexed one, with
/// the internal notes and customer follow-ups they already have; returns
/// how many.
fn index_pending(conn: &Connection, limit: i64) -> Result<usize, StoreError> {
    let upto = indexed_upto(conn)?;
    Ok(conn
        .prepare_cached(
            "INSERT INTO entries_fts (rowid, message, expected, actual, notes)
             SELECT e.id, e.message, e.expected, e.actual,
                    coalesce((SELECT group_concat(n.body, char(10)) FROM events n
                              WHERE n.entry_id = e.id AND n.kind IN ('note', 'follow_up')), '')
             FROM entries e WHERE e.id > ?1 ORDER BY e.id LIMIT ?2",
        )?
        .execute([upto, limit])?)
}

impl Store {
    /// Before a query with full-text search: search what has been
    /// committed, not only what the background indexer reached.
    pub async fn ready_to_search(&self, filter: &super::Filter) -> Result<(), StoreError> {
        if filter.search.is_some() {
            self.index_for_search().await?;
        }
        Ok(())
    }

    /// Brings the search index up to date with every committed entry.
    /// Looks first, so a search when nothing is pending writes nothing.
    pub async fn index_for_search(&self) -> Result<usize, StoreError> {
        let pending = self
            .read(|conn| Ok(super::entries::newest_id(conn)? > indexed_upto(conn)?))
            .await?;
        if !pending {
            return Ok(0);
        }
        let mut total = 0;
        loop {
            let done = self.write(|conn| index_pending(conn, BATCH)).await?;
            total += done;
            if i64::try_from(done).unwrap_or(0) < BATCH {
                return Ok(total);
            }
        }
    }
}

/// Runs until the store closes: indexes new entries every [`INTERVAL`],
/// only a trickle of them while the collector is busy ingesting.
pub async fn keep_indexed(store: Store) {
    let mut seen = store.writes_started();
    loop {
        tokio::time::sleep(INTERVAL).await;
        let writes = store.writes_started();
        let busy = writes.saturating_sub(seen) > BUSY_WRITES;
        seen = writes;
        // Roll-ups for reports follow entries the same way.
        let result = if busy {
            match store.write(|conn| index_pending(conn, TRICKLE)).await {
                Ok(_) => store.roll_some(TRICKLE).await,
                Err(e) => Err(e),
            }
        } else {
            match store.index_for_search().await {
                Ok(_) => store.roll_up().await,
                Err(e) => Err(e),
            }
        };
        match result {
            Ok(_) => {}
            Err(StoreError::Closed) => return,
            Err(e) => tracing::warn!(error = %e, "search indexing or roll-up failed; retrying"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pending_entries_are_indexed_once_in_batches() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).unwrap();
        store
            .write(|c| {
                c.execute(
                    "INSERT INTO sites (key, name, origins, created_at) VALUES ('k', 'n', '', 0)",
                    [],
                )?;
                for i in 0..3 {
                    c.execute(
                        "INSERT INTO entries (public_id, reference, status_token, site_id, kind,
                            message, created_at) VALUES (?1, ?1, 't', 1, 'idea', 'search me', 0)",
                        [format!("e{i}")],
                    )?;
                }
                Ok(())
            })
            .await
            .unwrap();
        assert_eq!(store.index_for_search().await.unwrap(), 3);
        assert_eq!(store.index_for_search().await.unwrap(), 0);
        let hits: i64 = store
            .read(|c| {
                Ok(c.query_row(
                    "SELECT count(*) FROM entries_fts WHERE entries_fts MATCH 'search'",
                    [],
                    |r| r.get(0),
                )?)
            })
            .await
            .unwrap();
        assert_eq!(hits, 3);
        store.shutdown().await;
    }

    #[tokio::test]
    async fn notes_written_before_indexing_are_found() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).unwrap();
        store
            .write(|c| {
                c.execute(
                    "INSERT INTO sites (key, name, origins, created_at) VALUES ('k', 'n', '', 0)",
                    [],
                )?;
                c.execute(
                    "INSERT INTO entries (public_id, reference, status_token, site_id, kind,
                        message, created_at) VALUES ('e1', 'r1', 't', 1, 'idea', 'plain', 0)",
                    [],
                )?;
                c.execute(
                    "INSERT INTO events (entry_id, kind, body, created_at)
                     VALUES (1, 'note', 'refund approved by finance', 0)",
                    [],
                )?;
                Ok(())
            })
            .await
            .unwrap();
        assert_eq!(store.index_for_search().await.unwrap(), 1);
        let hits: i64 = store
            .read(|c| {
                Ok(c.query_row(
                    "SELECT count(*) FROM entries_fts WHERE entries_fts MATCH 'finance'",
                    [],
                    |r| r.get(0),
                )?)
            })
            .await
            .unwrap();
        assert_eq!(hits, 1);
        store.shutdown().await;
    }
}
