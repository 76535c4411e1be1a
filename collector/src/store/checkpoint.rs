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

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

use super::{BUSY_TIMEOUT, StoreError};

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
    pub(super) fn start(path: &Path) -> Result<Checkpointer, StoreError> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let signal = stop.clone();
        let thread = std::thread::Builder::new()
            .name("earshot-checkpoint".into())
            .spawn(move || run(&conn, &signal))
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

fn run(conn: &Connection, stop: &(Mutex<bool>, Condvar)) {
    let (lock, cvar) = stop;
    let mut wait = INTERVAL;
    loop {
        let stopping = match lock.lock() {
            Ok(guard) => match cvar.wait_timeout_while(guard, wait, |stop| !*stop) {
                Ok((guard, _)) => *guard,
                Err(_) => true,
            },
            Err(_) => true,
        };
        let mode = if stopping { "TRUNCATE" } else { "PASSIVE" };
        // (busy, frames in the WAL, frames copied back)
        let result = conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
            Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
        });
        wait = match result {
            // Writes are streaming in: keep up, so the writer's own final
            // checkpoint (see `writer`) has little left to copy.
            Ok((frames, _)) if frames > BUSY_FRAMES => BUSY_INTERVAL,
            Ok(_) => INTERVAL,
            Err(e) => {
                tracing::warn!(error = %e, mode, "WAL checkpoint failed");
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_wal_keeps_rewinding_while_writes_stream_in() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let store = Sqlite::open(&path).unwrap();
        store
            .write(|c| Ok(c.execute("CREATE TABLE scratch (b BLOB)", [])?))
            .await
            .unwrap();
        let started = Instant::now();
        let writers: Vec<_> = (0..8)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move {
                    let mut written = 0u64;
                    while started.elapsed() < Duration::from_secs(3) {
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
        let wal = std::fs::metadata(path.with_extension("db-wal"))
            .unwrap()
            .len();
        assert!(
            wal * 2 < written,
            "the WAL ({wal} bytes) should start over, not hold all {written} bytes written"
        );
        store.shutdown().await;
    }
}
