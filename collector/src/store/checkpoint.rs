//! WAL checkpoints on their own thread and connection.
//!
//! SQLite's automatic checkpoint runs inside whichever commit crosses the
//! threshold, so one unlucky group of submissions would wait for the whole
//! database file to be written and fsynced. Here the writer never
//! checkpoints; this thread copies the WAL back with PASSIVE checkpoints,
//! which never block the writer, and truncates the WAL on shutdown. While
//! writes stream in it checkpoints every 50 ms, so that the writer's own
//! short checkpoint between batches (which lets the WAL rewind, see
//! `writer`) finds little left to copy.
//!
//! A replication tool that reads the WAL (Litestream) must be the only one
//! to checkpoint: it copies the frames out, then checkpoints itself, and
//! in the moment between it lets go of the read lock that holds the WAL in
//! place. Our checkpoints running back to back would fill that moment, the
//! WAL would start over, and the frames it had not copied yet would be
//! missing from the replica (tried: a restore was corrupt within 15 s of a
//! full load). So a database Litestream replicates is left to it.

use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::{BUSY_TIMEOUT, StoreError};
use crate::outage::Outage;

/// Who checkpoints the write-ahead log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WalCheckpoints {
    /// Litestream, once its tables are in the database (it adds them when
    /// it starts replicating); this process otherwise.
    #[default]
    Auto,
    /// This process, always.
    Own,
    /// Another process, always: this one never checkpoints.
    External,
}

impl FromStr for WalCheckpoints {
    type Err = UnknownCheckpoints;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        match raw {
            "auto" => Ok(WalCheckpoints::Auto),
            "own" => Ok(WalCheckpoints::Own),
            "external" => Ok(WalCheckpoints::External),
            _ => Err(UnknownCheckpoints),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("expected auto, own or external")]
pub struct UnknownCheckpoints;

/// Whether checkpoints are another process's business, as `mode` decides
/// for the database `conn` is open on.
fn left_to_others(conn: &Connection, mode: WalCheckpoints) -> rusqlite::Result<bool> {
    match mode {
        WalCheckpoints::Own => Ok(false),
        WalCheckpoints::External => Ok(true),
        WalCheckpoints::Auto => conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_litestream_seq')",
            [],
            |r| r.get(0),
        ),
    }
}

/// Whether this process may checkpoint now: decided when the database
/// opens, followed by the checkpoint thread, read by the writer.
#[derive(Debug, Clone)]
pub(super) struct Leave(Arc<AtomicBool>);

impl Leave {
    pub(super) fn decide(conn: &Connection, mode: WalCheckpoints) -> Result<Leave, StoreError> {
        let leave = left_to_others(conn, mode)?;
        if leave {
            tracing::info!(mode = ?mode, "WAL checkpoints are left to another process");
        }
        Ok(Leave(Arc::new(AtomicBool::new(leave))))
    }

    pub(super) fn to_others(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    fn follow(&self, conn: &Connection, mode: WalCheckpoints) {
        // A failed look keeps the last answer.
        if let Ok(leave) = left_to_others(conn, mode)
            && self.0.swap(leave, Ordering::Relaxed) != leave
        {
            if leave {
                tracing::info!(
                    "Litestream replicates this database: WAL checkpoints are left to it from now on"
                );
            } else {
                tracing::info!("Litestream's tables are gone: WAL checkpoints are ours again");
            }
        }
    }
}

const INTERVAL: Duration = Duration::from_millis(500);
/// Pause between checkpoints while the WAL keeps filling.
const BUSY_INTERVAL: Duration = Duration::from_millis(50);
/// WAL frames (pages) above which writes count as streaming in.
const BUSY_FRAMES: i64 = 1_000;

pub(super) struct Checkpointer {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Mutex<Option<JoinHandle<()>>>,
    stopped: AtomicBool,
}

impl Checkpointer {
    pub(super) fn start(
        path: &Path,
        mode: WalCheckpoints,
        leave: Leave,
    ) -> Result<Checkpointer, StoreError> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let signal = stop.clone();
        let thread = std::thread::Builder::new()
            .name("earshot-checkpoint".into())
            .spawn(move || run(&conn, &signal, mode, &leave))
            .map_err(|_| StoreError::TaskFailed)?;
        Ok(Checkpointer {
            stop,
            thread: Mutex::new(Some(thread)),
            stopped: AtomicBool::new(false),
        })
    }

    /// Stops the thread after a final checkpoint that empties the WAL.
    pub(super) fn shutdown(&self) {
        if self.stopped.swap(true, Ordering::SeqCst) {
            return;
        }
        let (lock, cvar) = &*self.stop;
        if let Ok(mut stop) = lock.lock() {
            *stop = true;
            cvar.notify_all();
        }
        let thread = self.thread.lock().ok().and_then(|mut t| t.take());
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
}

fn run(conn: &Connection, stop: &(Mutex<bool>, Condvar), mode: WalCheckpoints, leave: &Leave) {
    let (lock, cvar) = stop;
    let mut wait = INTERVAL;
    let mut outage = Outage::default();
    loop {
        let stopping = match lock.lock() {
            Ok(guard) => match cvar.wait_timeout_while(guard, wait, |stop| !*stop) {
                Ok((guard, _)) => *guard,
                Err(_) => true,
            },
            Err(_) => true,
        };
        leave.follow(conn, mode);
        if leave.to_others() {
            if stopping {
                return;
            }
            wait = INTERVAL;
            continue;
        }
        let mode = if stopping { "TRUNCATE" } else { "PASSIVE" };
        // (busy, frames in the WAL, frames copied back)
        let result = conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
            Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
        });
        if result.is_ok() {
            outage.recover(Instant::now(), "the WAL checkpoint");
        }
        wait = match result {
            // Writes are streaming in: keep up, so the writer's own final
            // checkpoint (see `writer`) has little left to copy.
            Ok((frames, _)) if frames > BUSY_FRAMES => BUSY_INTERVAL,
            Ok(_) => INTERVAL,
            Err(e) => {
                outage.warn(Instant::now(), "the WAL checkpoint", &e);
                INTERVAL
            }
        };
        if stopping {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::super::Sqlite;
    use super::*;

    async fn with_scratch_table(path: &Path) -> Sqlite {
        let store = Sqlite::open(path).unwrap();
        store
            .write(|c| Ok(c.execute("CREATE TABLE scratch (b BLOB)", [])?))
            .await
            .unwrap();
        store
    }

    /// Eight writers adding 16 KiB blobs for `seconds`: the bytes written.
    async fn stream_writes(store: &Sqlite, seconds: u64) -> u64 {
        let started = Instant::now();
        let writers: Vec<_> = (0..8)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move {
                    let mut written = 0u64;
                    while started.elapsed() < Duration::from_secs(seconds) {
                        store
                            .write(|c| {
                                Ok(c.execute(
                                    "INSERT INTO scratch (b) VALUES (randomblob(16384))",
                                    [],
                                )?)
                            })
                            .await
                            .unwrap();
                        written += 16_384;
                    }
                    written
                })
            })
            .collect();
        let mut written = 0;
        for writer in writers {
            written += writer.await.unwrap();
        }
        written
    }

    fn wal_len(path: &Path) -> u64 {
        std::fs::metadata(path.with_extension("db-wal"))
            .unwrap()
            .len()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_wal_keeps_rewinding_while_writes_stream_in() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let store = with_scratch_table(&path).await;
        let written = stream_writes(&store, 3).await;
        let wal = wal_len(&path);
        assert!(
            wal * 2 < written,
            "the WAL ({wal} bytes) should start over, not hold all {written} bytes written"
        );
        store.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_database_litestream_replicates_is_left_to_it_to_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let store = with_scratch_table(&path).await;
        // What Litestream adds to a database when it starts replicating it;
        // the checkpoint thread looks between passes.
        store
            .write(|c| {
                Ok(c.execute_batch(
                    "CREATE TABLE _litestream_seq (id INTEGER PRIMARY KEY, seq INTEGER);
                     CREATE TABLE _litestream_lock (id INTEGER);",
                )?)
            })
            .await
            .unwrap();
        tokio::time::sleep(INTERVAL * 2).await;
        assert!(store.gauges().await.unwrap().wal_checkpoints_left);
        let before = wal_len(&path);
        let written = stream_writes(&store, 2).await;
        let kept = wal_len(&path);
        assert!(
            kept >= before + written,
            "every frame stays in the WAL for Litestream to copy: {kept} bytes after {before} and {written} written"
        );
        // Nor is it truncated on the way out (Litestream, still connected,
        // is who checkpoints; this connection stands in for it).
        let litestream = Connection::open(&path).unwrap();
        let _: i64 = litestream
            .query_row("SELECT count(*) FROM _litestream_seq", [], |r| r.get(0))
            .unwrap();
        store.shutdown().await;
        assert_eq!(wal_len(&path), kept);
        drop(litestream);

        // Without Litestream's tables the checkpoints are ours again.
        let store = Sqlite::open(&path).unwrap();
        store
            .write(|c| {
                Ok(c.execute_batch("DROP TABLE _litestream_seq; DROP TABLE _litestream_lock;")?)
            })
            .await
            .unwrap();
        tokio::time::sleep(INTERVAL * 2).await;
        assert!(!store.gauges().await.unwrap().wal_checkpoints_left);
        let before = wal_len(&path);
        let written = stream_writes(&store, 1).await;
        let after = wal_len(&path);
        assert!(
            after < before + written / 2,
            "the WAL should start over again: {after} bytes after {before} and {written} written"
        );
        store.shutdown().await;
    }

    #[test]
    fn who_checkpoints_is_named_in_words() {
        assert_eq!(
            "auto".parse::<WalCheckpoints>().ok(),
            Some(WalCheckpoints::Auto)
        );
        assert_eq!(
            "own".parse::<WalCheckpoints>().ok(),
            Some(WalCheckpoints::Own)
        );
        assert_eq!(
            "external".parse::<WalCheckpoints>().ok(),
            Some(WalCheckpoints::External)
        );
        assert!("litestream".parse::<WalCheckpoints>().is_err());
    }
}
