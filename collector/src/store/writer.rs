//! The single writer thread and its group commit.
//!
//! Everything queued runs in one transaction. After `COMMIT` the batch goes
//! to the flush thread (see `flush`), which answers it once the WAL is on
//! disk, while this thread already runs the next batch. If any job in a
//! batch fails, the batch is rolled back and each job is replayed in its own
//! transaction, so one bad job never takes the others down and the common
//! path pays for no savepoints.

use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use super::StoreError;
use super::checkpoint::Leave;
use super::flush::{Flusher, WalFile};
use super::stats::WriteStats;
use crate::outage::{Failure, Outage};

/// Most jobs committed together; bounds the latency of the last one.
const MAX_BATCH: usize = 512;
/// How often a busy writer completes a checkpoint itself.
const WAL_RESTART_INTERVAL: Duration = Duration::from_millis(250);
/// Queued jobs before callers wait (back-pressure instead of unbounded memory).
const QUEUE_DEPTH: usize = 8_192;

/// One unit of work with its own reply channel. `run` may be called more
/// than once (a replay after a batch rollback); only the last result counts.
pub(super) trait Job: Send {
    /// Runs inside an open transaction; true on success.
    fn run(&mut self, conn: &Connection) -> bool;
    /// Delivers the result once the fate of the transaction is known.
    fn finish(self: Box<Self>, fate: Fate);
    /// Whether its last run failed for want of space.
    fn disk_full(&self) -> bool {
        false
    }
}

/// What became of a job's transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fate {
    /// Committed and synced to disk: the only fate a caller may report as
    /// success.
    Durable,
    /// Rolled back, or never committed.
    Failed,
    /// Rolled back: the disk was full when it was written out.
    DiskFull,
    /// Committed, but the fsync after it failed.
    NotDurable,
}

struct TypedJob<T, F> {
    work: F,
    result: Option<Result<T, StoreError>>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> Job for TypedJob<T, F>
where
    T: Send,
    F: Fn(&Connection) -> Result<T, StoreError> + Send,
{
    fn run(&mut self, conn: &Connection) -> bool {
        let result = (self.work)(conn);
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn disk_full(&self) -> bool {
        matches!(self.result, Some(Err(StoreError::Full)))
    }

    fn finish(self: Box<Self>, fate: Fate) {
        let result = match (fate, self.result) {
            (Fate::Durable, Some(result)) => result,
            (_, Some(Err(e))) => Err(e),
            (Fate::NotDurable, _) => Err(StoreError::NotDurable),
            (Fate::DiskFull, _) => Err(StoreError::Full),
            _ => Err(StoreError::CommitFailed),
        };
        // The caller may have gone away (client disconnected); the data is
        // committed either way.
        let _ = self.reply.send(result);
    }
}

/// Runs a statement through the prepared-statement cache: these run for
/// every batch and re-parsing them is wasted work.
fn run_cached(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}

pub(super) struct Writer {
    queue: Mutex<Option<mpsc::Sender<Box<dyn Job>>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Writer {
    pub(super) fn start(
        conn: Connection,
        wal: WalFile,
        stats: WriteStats,
        leave: Leave,
    ) -> Result<Writer, StoreError> {
        let (tx, rx) = mpsc::channel::<Box<dyn Job>>(QUEUE_DEPTH);
        let flusher = Flusher::start(wal, stats.fsync_seconds.clone())?;
        let thread = std::thread::Builder::new()
            .name("earshot-writer".into())
            .spawn(move || {
                run(&conn, rx, &flusher, &stats, &leave);
                flusher.stop();
            })
            .map_err(|_| StoreError::TaskFailed)?;
        Ok(Writer {
            queue: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
        })
    }

    pub(super) async fn submit<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: Fn(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let sender = self
            .queue
            .lock()
            .ok()
            .and_then(|q| q.clone())
            .ok_or(StoreError::Closed)?;
        let (reply, answer) = oneshot::channel();
        let job = Box::new(TypedJob {
            work,
            result: None,
            reply,
        });
        sender.send(job).await.map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// Closes the queue and waits until every queued job is committed,
    /// flushed and answered.
    pub(super) fn shutdown(&self) {
        if let Ok(mut q) = self.queue.lock() {
            q.take();
        }
        let thread = self.thread.lock().ok().and_then(|mut t| t.take());
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
}

fn run(
    conn: &Connection,
    mut rx: mpsc::Receiver<Box<dyn Job>>,
    flusher: &Flusher,
    stats: &WriteStats,
    leave: &Leave,
) {
    let mut last_checkpoint = Instant::now();
    let mut full = Outage::default();
    let mut rewinding = Outage::default();
    // Returns None only when the queue is closed and drained.
    while let Some(first) = rx.blocking_recv() {
        let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(MAX_BATCH);
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        stats.batch_jobs.observe(batch.len() as f64);
        let began = Instant::now();
        let outcome = watched(conn, &mut batch, &mut full);
        stats.commit_seconds.observe(began.elapsed().as_secs_f64());
        match outcome {
            Ok(()) => flusher.push(batch),
            Err(BatchError::JobFailed { .. }) if batch.len() > 1 => {
                // Replay one by one so only the failing job fails.
                let mut committed = Vec::with_capacity(batch.len());
                for mut job in batch {
                    match watched(conn, std::slice::from_mut(&mut job), &mut full) {
                        Ok(()) => committed.push(job),
                        Err(e) => job.finish(e.fate()),
                    }
                }
                flusher.push(committed);
            }
            Err(e) => batch.drain(..).for_each(|job| job.finish(e.fate())),
        }
        if last_checkpoint.elapsed() >= WAL_RESTART_INTERVAL && !leave.to_others() {
            let began = Instant::now();
            let busy = finish_checkpoint(conn, &mut rewinding);
            stats.rewind_seconds.observe(began.elapsed().as_secs_f64());
            // The checkpoint thread was mid-pass: again after the next
            // batch, not a whole interval later.
            if !busy {
                last_checkpoint = Instant::now();
            }
        }
    }
    tracing::debug!("writer drained and stopped");
}

/// Lets the WAL start over from its beginning under sustained load.
///
/// SQLite rewinds the WAL only when a write begins after a checkpoint copied
/// every frame back. The checkpoint thread (see `checkpoint`) does the bulk
/// of the copying, but while commits arrive every few milliseconds it never
/// catches the very end, so the WAL would grow without bound (hundreds of
/// MB in a ten-second benchmark, every frame a fresh block for the file
/// system to allocate). Between batches no commit can intervene: this
/// PASSIVE checkpoint copies only the frames the thread has not reached
/// yet, and the next transaction rewinds the WAL. Batches still waiting for
/// their flush lose nothing: a checkpoint syncs the WAL before it copies it
/// and the database file after, so their frames are on disk either way.
///
/// True when it could not run because the checkpoint thread was in the
/// middle of a pass: one checkpoint runs at a time, and PASSIVE does not
/// wait. (A reader still holding old frames also stops the WAL from
/// rewinding; trying again sooner would not help that.)
fn finish_checkpoint(conn: &Connection, outage: &mut Outage) -> bool {
    const WORK: &str = "the writer's WAL checkpoint";
    match conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(0)) {
        Ok(busy) => {
            outage.recover(Instant::now(), WORK);
            busy != 0
        }
        Err(e) => {
            outage.warn(Instant::now(), WORK, &e);
            false
        }
    }
}

/// [`in_transaction`], watching what it says of the disk's space.
fn watched(
    conn: &Connection,
    jobs: &mut [Box<dyn Job>],
    full: &mut Outage,
) -> Result<(), BatchError> {
    let changes = conn.total_changes();
    let outcome = in_transaction(conn, jobs);
    watch_space(full, &outcome, conn.total_changes() > changes);
    outcome
}

/// Logs that the disk is full when writes start failing for it, again
/// once a minute while they do, and when one that `wrote` succeeds again
/// (a transaction that changed nothing commits on a full disk too).
fn watch_space(full: &mut Outage, outcome: &Result<(), BatchError>, wrote: bool) {
    let now = Instant::now();
    match outcome {
        Ok(()) if !wrote => {}
        Ok(()) => {
            if let Some(lasted) = full.succeeded(now) {
                tracing::info!(
                    full_for_s = lasted.as_secs(),
                    "the database takes writes again after its disk was full"
                );
            }
        }
        Err(e) if e.disk_full() => match full.failed(now) {
            Failure::First => tracing::error!(
                "the disk holding the database is full: nothing is stored until space is freed"
            ),
            Failure::Ongoing(lasted) => tracing::error!(
                full_for_s = lasted.as_secs(),
                "the disk holding the database is still full: nothing is stored until space is freed"
            ),
            Failure::Quiet => {}
        },
        Err(_) => {}
    }
}

enum BatchError {
    /// A job failed (and said why to its caller); `disk_full`: for want of
    /// space.
    JobFailed {
        disk_full: bool,
    },
    Sqlite,
    /// The commit could not be written out: the disk is full.
    DiskFull,
}

impl BatchError {
    fn fate(&self) -> Fate {
        match self {
            BatchError::DiskFull => Fate::DiskFull,
            BatchError::JobFailed { .. } | BatchError::Sqlite => Fate::Failed,
        }
    }

    fn disk_full(&self) -> bool {
        matches!(
            self,
            BatchError::DiskFull | BatchError::JobFailed { disk_full: true }
        )
    }
}

/// Runs `jobs` in one transaction; commits only if all succeed.
fn in_transaction(conn: &Connection, jobs: &mut [Box<dyn Job>]) -> Result<(), BatchError> {
    if let Err(e) = run_cached(conn, "BEGIN IMMEDIATE") {
        tracing::error!(error = %e, "could not begin write transaction");
        return Err(BatchError::Sqlite);
    }
    for job in jobs.iter_mut() {
        if !job.run(conn) {
            // Stop at the first failure: the batch is replayed job by job
            // anyway, and SQLite may have ended the transaction itself
            // (it does on SQLITE_FULL, IOERR, NOMEM): a job run after that
            // would commit alone, outside the batch, and run again in the
            // replay.
            if !conn.is_autocommit() {
                let _ = run_cached(conn, "ROLLBACK");
            }
            return Err(BatchError::JobFailed {
                disk_full: job.disk_full(),
            });
        }
        if conn.is_autocommit() {
            // The job went on past an error that ended the transaction:
            // what it wrote after that is committed, and the jobs before it
            // are not.
            tracing::error!("a write transaction ended before its commit");
            return Err(BatchError::Sqlite);
        }
    }
    match run_cached(conn, "COMMIT") {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = run_cached(conn, "ROLLBACK");
            match StoreError::from(e) {
                StoreError::Full => Err(BatchError::DiskFull),
                e => {
                    tracing::error!(error = %e, "commit failed");
                    Err(BatchError::Sqlite)
                }
            }
        }
    }
}
