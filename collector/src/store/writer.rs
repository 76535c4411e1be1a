//! The single writer thread and its group commit.

use std::sync::Mutex;
use std::thread::JoinHandle;

use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use super::StoreError;

/// Most jobs committed together; bounds the latency of the last one.
const MAX_BATCH: usize = 512;
/// Queued jobs before callers wait (back-pressure instead of unbounded memory).
const QUEUE_DEPTH: usize = 8_192;

/// One unit of work with its own reply channel.
trait Job: Send {
    /// Runs inside the open transaction.
    fn run(&mut self, conn: &Connection);
    /// Delivers the result once the fate of the transaction is known.
    fn finish(self: Box<Self>, committed: bool);
}

struct TypedJob<T, F> {
    work: Option<F>,
    result: Option<Result<T, StoreError>>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> Job for TypedJob<T, F>
where
    T: Send,
    F: FnOnce(&Connection) -> Result<T, StoreError> + Send,
{
    fn run(&mut self, conn: &Connection) {
        let Some(work) = self.work.take() else { return };
        // A savepoint per job: one failing job rolls back alone and the rest
        // of the batch still commits.
        if let Err(e) = conn.execute_batch("SAVEPOINT job") {
            self.result = Some(Err(e.into()));
            return;
        }
        let result = work(conn);
        let end = if result.is_ok() {
            "RELEASE job"
        } else {
            "ROLLBACK TO job; RELEASE job"
        };
        let result = match conn.execute_batch(end) {
            Ok(()) => result,
            Err(e) => Err(e.into()),
        };
        self.result = Some(result);
    }

    fn finish(self: Box<Self>, committed: bool) {
        let result = match (committed, self.result) {
            (true, Some(result)) => result,
            (_, Some(Err(e))) => Err(e),
            _ => Err(StoreError::CommitFailed),
        };
        // The caller may have gone away (client disconnected); the data is
        // committed either way.
        let _ = self.reply.send(result);
    }
}

pub(super) struct Writer {
    queue: Mutex<Option<mpsc::Sender<Box<dyn Job>>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Writer {
    pub(super) fn start(conn: Connection) -> Result<Writer, StoreError> {
        let (tx, rx) = mpsc::channel::<Box<dyn Job>>(QUEUE_DEPTH);
        let thread = std::thread::Builder::new()
            .name("earshot-writer".into())
            .spawn(move || run(conn, rx))
            .map_err(|_| StoreError::TaskFailed)?;
        Ok(Writer {
            queue: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
        })
    }

    pub(super) async fn submit<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let sender = self
            .queue
            .lock()
            .ok()
            .and_then(|q| q.clone())
            .ok_or(StoreError::Closed)?;
        let (reply, answer) = oneshot::channel();
        let job = Box::new(TypedJob {
            work: Some(work),
            result: None,
            reply,
        });
        sender.send(job).await.map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// Closes the queue and waits until every queued job is committed.
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

fn run(conn: Connection, mut rx: mpsc::Receiver<Box<dyn Job>>) {
    let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(MAX_BATCH);
    // Returns None only when the queue is closed and drained.
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let committed = commit_batch(&conn, &mut batch);
        if !committed {
            tracing::error!(
                jobs = batch.len(),
                "group commit failed; callers get an error"
            );
        }
        for job in batch.drain(..) {
            job.finish(committed);
        }
    }
    tracing::debug!("writer drained and stopped");
}

fn commit_batch(conn: &Connection, batch: &mut [Box<dyn Job>]) -> bool {
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        tracing::error!(error = %e, "could not begin write transaction");
        return false;
    }
    for job in batch.iter_mut() {
        job.run(conn);
    }
    match conn.execute_batch("COMMIT") {
        Ok(()) => true,
        Err(e) => {
            tracing::error!(error = %e, "commit failed");
            let _ = conn.execute_batch("ROLLBACK");
            false
        }
    }
}
