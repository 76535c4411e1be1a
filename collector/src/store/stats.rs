//! What the storage measures about itself for `/metrics`: the writer's
//! batches, how long their commits and fsyncs take, and a few sizes read
//! when metrics are scraped.

use std::path::Path;

use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use rusqlite::Connection;

use super::{Sqlite, StoreError};

/// Filled by the writer and flush threads; cheap to clone (shared).
#[derive(Clone)]
pub struct WriteStats {
    /// Jobs committed together in one transaction.
    pub batch_jobs: Histogram,
    /// From `BEGIN` to `COMMIT` of one batch, in seconds.
    pub commit_seconds: Histogram,
    /// One fsync of the WAL, in seconds.
    pub fsync_seconds: Histogram,
    /// The writer's own checkpoint between batches, which lets the WAL
    /// rewind, in seconds: time the next batch waited.
    pub rewind_seconds: Histogram,
}

impl WriteStats {
    pub(super) fn new() -> WriteStats {
        WriteStats {
            // 1 … 512 (the writer's largest batch).
            batch_jobs: Histogram::new(exponential_buckets(1.0, 2.0, 10)),
            // 50 µs … about 1.6 s.
            commit_seconds: Histogram::new(exponential_buckets(0.000_05, 2.0, 16)),
            fsync_seconds: Histogram::new(exponential_buckets(0.000_05, 2.0, 16)),
            rewind_seconds: Histogram::new(exponential_buckets(0.000_05, 2.0, 16)),
        }
    }
}

/// Sizes and backlogs, read when metrics are scraped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Gauges {
    pub database_bytes: u64,
    /// Free pages inside the database file, reused by new data (and given
    /// back to the file system with incremental auto-vacuum).
    pub free_bytes: i64,
    pub wal_bytes: u64,
    /// WAL checkpoints are left to another process (Litestream).
    pub wal_checkpoints_left: bool,
    /// Entries committed but not yet in the search index.
    pub search_lag: i64,
    pub mail_pending: i64,
    /// Emails given up on after every retry.
    pub mail_failed: i64,
    pub webhooks_pending: i64,
    pub webhooks_failed: i64,
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

fn count(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> Result<i64, StoreError> {
    Ok(conn.prepare_cached(sql)?.query_row(params, |r| r.get(0))?)
}

fn counts(conn: &Connection) -> Result<Gauges, StoreError> {
    let upto = super::search::indexed_upto(conn)?;
    let pragma = |name: &str| -> Result<i64, StoreError> {
        Ok(conn.pragma_query_value(None, name, |r| r.get(0))?)
    };
    Ok(Gauges {
        free_bytes: pragma("freelist_count")? * pragma("page_size")?,
        search_lag: count(conn, "SELECT count(*) FROM entries WHERE id > ?1", [upto])?,
        mail_pending: count(
            conn,
            "SELECT count(*) FROM mail_outbox WHERE state = 'pending'",
            [],
        )?,
        mail_failed: count(
            conn,
            "SELECT count(*) FROM mail_outbox WHERE state = 'failed'",
            [],
        )?,
        webhooks_pending: count(
            conn,
            "SELECT count(*) FROM webhook_deliveries WHERE state = 'pending'",
            [],
        )?,
        webhooks_failed: count(
            conn,
            "SELECT count(*) FROM webhook_deliveries WHERE state = 'failed'",
            [],
        )?,
        ..Gauges::default()
    })
}

impl Sqlite {
    pub fn write_stats(&self) -> &WriteStats {
        &self.inner.stats
    }

    /// File sizes and backlogs as they are now.
    pub async fn gauges(&self) -> Result<Gauges, StoreError> {
        let mut gauges = self.read(counts).await?;
        let path = self.path();
        gauges.database_bytes = file_len(path);
        gauges.wal_bytes = file_len(&crate::private_files::with_suffix(path, "-wal"));
        gauges.wal_checkpoints_left = self.inner.leave.to_others();
        Ok(gauges)
    }
}
