//! Giving deleted space back to the file system.
//!
//! New databases are created with `auto_vacuum=INCREMENTAL`: after
//! retention or an erasure deletes entries, [`Sqlite::reclaim`] releases the
//! free pages a slice per write job, so ingest waits at most one slice
//! between its own commits. The file shrinks at the next checkpoint.
//! A database created before this keeps its free pages for reuse by new
//! feedback until `earshot vacuum` converts it (offline: `VACUUM` rewrites
//! the whole file).

use std::path::Path;

use rusqlite::Connection;

use super::backup::{BackupError, ServerLock};
use super::{Sqlite, StoreError};

/// Free pages released per write job (1 MiB at 4 KiB pages): moving pages
/// costs about 20 ms per 256 in a large file, and ingest waits meanwhile.
const PAGES_PER_JOB: i64 = 256;

/// `PRAGMA auto_vacuum` says 2 for INCREMENTAL.
const INCREMENTAL: i64 = 2;

fn pages(conn: &Connection, pragma: &str) -> Result<i64, StoreError> {
    Ok(conn.pragma_query_value(None, pragma, |r| r.get(0))?)
}

/// Releases up to [`PAGES_PER_JOB`] free pages; returns (released, left).
fn release_some(conn: &Connection) -> Result<(i64, i64), StoreError> {
    if pages(conn, "auto_vacuum")? != INCREMENTAL {
        return Ok((0, 0));
    }
    let before = pages(conn, "freelist_count")?;
    if before == 0 {
        return Ok((0, 0));
    }
    conn.execute_batch(&format!("PRAGMA incremental_vacuum({PAGES_PER_JOB})"))?;
    let after = pages(conn, "freelist_count")?;
    Ok((before - after, after))
}

impl Sqlite {
    /// Returns every free page to the file system, a slice at a time;
    /// returns how many bytes were released (0 on a database without
    /// incremental auto-vacuum).
    pub async fn reclaim(&self) -> Result<u64, StoreError> {
        let page_size = self
            .read(|conn| pages(conn, "page_size"))
            .await?
            .unsigned_abs();
        let mut released = 0u64;
        loop {
            let (freed, left) = self.write(release_some).await?;
            released += freed.unsigned_abs() * page_size;
            if freed == 0 || left == 0 {
                return Ok(released);
            }
        }
    }

    /// [`reclaim`](Self::reclaim) after a deletion that already succeeded:
    /// space not given back now is reused by new feedback, so a failure is
    /// only logged.
    pub(super) async fn reclaim_logged(&self) {
        match self.reclaim().await {
            Ok(0) => {}
            Ok(bytes) => tracing::info!(bytes, "gave deleted space back to the file system"),
            Err(e) => tracing::warn!(error = %e, "could not give deleted space back"),
        }
    }
}

/// Sizes before and after `earshot vacuum`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compacted {
    pub before: u64,
    pub after: u64,
}

/// Rewrites the database at `db` without free space and with incremental
/// auto-vacuum from then on. Refused while a server has it open.
pub fn compact(db: &Path) -> Result<Compacted, BackupError> {
    let io = |source| BackupError::Io {
        path: db.to_path_buf(),
        source,
    };
    if !db.exists() {
        return Err(io(std::io::Error::from(std::io::ErrorKind::NotFound)));
    }
    let _lock = ServerLock::offline(db)?;
    let conn = Connection::open(db).map_err(StoreError::from)?;
    conn.busy_timeout(super::BUSY_TIMEOUT)
        .map_err(StoreError::from)?;
    // Count the WAL too: what it holds is part of the database until a
    // checkpoint.
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .map_err(StoreError::from)?;
    let before = std::fs::metadata(db).map_err(io)?.len();
    conn.execute_batch(
        "PRAGMA auto_vacuum = INCREMENTAL; VACUUM; PRAGMA wal_checkpoint(TRUNCATE);",
    )
    .map_err(StoreError::from)?;
    let after = std::fs::metadata(db).map_err(io)?.len();
    Ok(Compacted { before, after })
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn filled(dir: &Path, name: &str) -> Sqlite {
        let store = Sqlite::open(&dir.join(name)).unwrap();
        store
            .write(|conn| {
                conn.execute_batch(
                    "CREATE TABLE ballast (b BLOB);
                     WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000)
                     INSERT INTO ballast SELECT randomblob(4000) FROM n;",
                )?;
                Ok(())
            })
            .await
            .unwrap();
        store
            .write(|conn| Ok(conn.execute_batch("DELETE FROM ballast")?))
            .await
            .unwrap();
        store
    }

    #[tokio::test]
    async fn a_new_database_gives_deleted_pages_back_in_slices() {
        let dir = tempfile::tempdir().unwrap();
        let store = filled(dir.path(), "t.db").await;
        let free = store
            .read(|conn| pages(conn, "freelist_count"))
            .await
            .unwrap();
        assert!(free > PAGES_PER_JOB, "more than one slice to release");
        let released = store.reclaim().await.unwrap();
        assert_eq!(released, free.unsigned_abs() * 4096);
        let left = store
            .read(|conn| pages(conn, "freelist_count"))
            .await
            .unwrap();
        assert_eq!(left, 0);
        store.shutdown().await;
        let len = std::fs::metadata(dir.path().join("t.db")).unwrap().len();
        assert!(len < 2 * 1024 * 1024, "the file shrank: {len} bytes");
    }

    #[tokio::test]
    async fn compacting_converts_an_old_database_and_refuses_a_served_one() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("old.db");
        {
            // As databases were made before incremental auto-vacuum.
            let conn = Connection::open(&db).unwrap();
            conn.execute_batch("PRAGMA auto_vacuum = NONE; PRAGMA journal_mode = WAL;")
                .unwrap();
        }
        let store = filled(dir.path(), "old.db").await;
        assert_eq!(
            store.reclaim().await.unwrap(),
            0,
            "nothing to do without it"
        );
        store.shutdown().await;
        drop(store);

        let lock = ServerLock::acquire(&db).unwrap();
        assert!(matches!(compact(&db), Err(BackupError::InUse(_))));
        drop(lock);
        let done = compact(&db).unwrap();
        assert!(done.before > 16 * 1024 * 1024, "{done:?}");
        assert!(done.after < 2 * 1024 * 1024, "{done:?}");
        let conn = Connection::open(&db).unwrap();
        assert_eq!(pages(&conn, "auto_vacuum").unwrap(), INCREMENTAL);
    }
}
