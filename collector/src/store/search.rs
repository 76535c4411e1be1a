//! Keeping the full-text index current. Entries reach `entries_fts` in
//! batches rather than through a trigger: an FTS5 insert inside every group
//! commit writes a new index segment per batch and halved ingest throughput.
//! A background task indexes every two seconds, and a search or a
//! note first catches up, so staff never search a stale index.

use std::time::Duration;

use rusqlite::Connection;

use super::{Store, StoreError};

/// Entries indexed per write job, bounding how long one job holds the writer.
const BATCH: i64 = 20_000;
/// How often the background task catches up.
pub const INTERVAL: Duration = Duration::from_secs(2);

/// Indexes up to [`BATCH`] entries newer than the newest indexed one;
/// returns how many.
pub(super) fn index_pending(conn: &Connection) -> Result<usize, StoreError> {
    let upto: i64 = conn
        .prepare_cached(
            "SELECT coalesce((SELECT rowid FROM entries_fts ORDER BY rowid DESC LIMIT 1), 0)",
        )?
        .query_row([], |r| r.get(0))?;
    Ok(conn
        .prepare_cached(
            "INSERT INTO entries_fts (rowid, message, expected, actual, notes)
             SELECT id, message, expected, actual, '' FROM entries
             WHERE id > ?1 ORDER BY id LIMIT ?2",
        )?
        .execute([upto, BATCH])?)
}

impl Store {
    /// Brings the search index up to date with every committed entry.
    pub async fn index_for_search(&self) -> Result<usize, StoreError> {
        let mut total = 0;
        loop {
            let done = self.write(index_pending).await?;
            total += done;
            if i64::try_from(done).unwrap_or(0) < BATCH {
                return Ok(total);
            }
        }
    }
}

/// Runs until the store closes: indexes new entries every [`INTERVAL`].
pub async fn keep_indexed(store: Store) {
    loop {
        tokio::time::sleep(INTERVAL).await;
        match store.index_for_search().await {
            Ok(_) => {}
            Err(StoreError::Closed) => return,
            Err(e) => tracing::warn!(error = %e, "search indexing failed; retrying"),
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
}
