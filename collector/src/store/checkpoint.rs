//! WAL checkpoints on their own thread and connection.
//!
//! SQLite's automatic checkpoint runs inside whichever commit crosses the
//! threshold, so one unlucky group of submissions would wait for the whole
//! database file to be written and fsynced. Here the writer never
//! checkpoints; this thread copies the WAL back with PASSIVE checkpoints,
//! which never block the writer, and truncates the WAL on shutdown.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

use super::{BUSY_TIMEOUT, StoreError};

const INTERVAL: Duration = Duration::from_millis(500);

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
    loop {
        let stopping = match lock.lock() {
            Ok(guard) => match cvar.wait_timeout_while(guard, INTERVAL, |stop| !*stop) {
                Ok((guard, _)) => *guard,
                Err(_) => true,
            },
            Err(_) => true,
        };
        let mode = if stopping { "TRUNCATE" } else { "PASSIVE" };
        if let Err(e) = conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |_| Ok(())) {
            tracing::warn!(error = %e, mode, "WAL checkpoint failed");
        }
        if stopping {
            return;
        }
    }
}
