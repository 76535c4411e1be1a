//! Makes committed transactions durable before anyone is told so.
//!
//! The writer commits with `synchronous=NORMAL`: `COMMIT` writes the WAL
//! frames into the page cache and returns without an fsync. This thread then
//! fsyncs the WAL file and only afterwards releases the answers. Committing
//! the next batch and flushing the previous one overlap, and one fsync
//! covers every batch committed while the last one ran: the durability of
//! `synchronous=FULL` (a 2xx survives a power loss) without a commit
//! waiting for the disk.
//!
//! Why that is enough: in WAL mode every change reaches the database file
//! through the WAL. Frames are appended in order and checksummed in a chain,
//! so once the file is synced every commit written before the sync is
//! recovered after a power loss. SQLite syncs the rest itself in NORMAL
//! mode: the WAL before a checkpoint copies it back, the database file after
//! a checkpoint, and the WAL header when the file starts over.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;

use prometheus_client::metrics::histogram::Histogram;

use super::StoreError;
use super::writer::{Fate, Job};

/// The write-ahead log of the database at `db`, opened on demand.
pub(super) struct WalFile {
    path: PathBuf,
    file: Option<File>,
}

impl WalFile {
    pub(super) fn of(db: &Path) -> WalFile {
        WalFile {
            path: crate::private_files::with_suffix(db, "-wal"),
            file: None,
        }
    }

    /// fsyncs the WAL. Any descriptor of the file will do: the kernel
    /// flushes the file, not one descriptor's writes.
    fn sync(&mut self) -> std::io::Result<()> {
        if self.replaced() {
            self.file = None;
        }
        let file = match &mut self.file {
            Some(file) => file,
            None => self.file.insert(File::open(&self.path)?),
        };
        file.sync_data()
    }

    /// SQLite deletes the WAL only when its last connection closes, which
    /// the writer's own prevents; checking the inode costs a `stat` per
    /// flush and guards against syncing a file that is no longer the log.
    #[cfg(unix)]
    fn replaced(&self) -> bool {
        use std::os::unix::fs::MetadataExt;
        let Some(file) = &self.file else {
            return false;
        };
        match (file.metadata(), std::fs::metadata(&self.path)) {
            (Ok(open), Ok(now)) => (open.dev(), open.ino()) != (now.dev(), now.ino()),
            _ => true,
        }
    }

    #[cfg(not(unix))]
    fn replaced(&self) -> bool {
        false
    }
}

/// Committed batches wait here for their flush.
pub(super) type Committed = Vec<Box<dyn Job>>;

pub(super) struct Flusher {
    queue: mpsc::SyncSender<Committed>,
    thread: JoinHandle<()>,
}

/// Committed batches that may wait for one flush; beyond that the writer
/// waits (the disk is the bottleneck, and memory must stay bounded).
const PENDING_BATCHES: usize = 64;

impl Flusher {
    /// `fsync_seconds` learns how long each fsync took.
    pub(super) fn start(wal: WalFile, fsync_seconds: Histogram) -> Result<Flusher, StoreError> {
        let (queue, rx) = mpsc::sync_channel::<Committed>(PENDING_BATCHES);
        let thread = std::thread::Builder::new()
            .name("earshot-flush".into())
            .spawn(move || run(wal, &rx, &fsync_seconds))
            .map_err(|_| StoreError::TaskFailed)?;
        Ok(Flusher { queue, thread })
    }

    /// Hands a committed batch over; its jobs are answered after the flush.
    pub(super) fn push(&self, batch: Committed) {
        // A replay where every job failed leaves nothing to make durable.
        if batch.is_empty() {
            return;
        }
        if let Err(mpsc::SendError(batch)) = self.queue.send(batch) {
            // The thread is gone (it only stops once the queue is closed,
            // so this is a bug); never claim durability we did not get.
            tracing::error!("flush thread is gone; failing committed writes");
            batch
                .into_iter()
                .for_each(|job| job.finish(Fate::NotDurable));
        }
    }

    /// Flushes and answers everything handed over, then stops.
    pub(super) fn stop(self) {
        drop(self.queue);
        let _ = self.thread.join();
    }
}

fn run(mut wal: WalFile, rx: &mpsc::Receiver<Committed>, fsync_seconds: &Histogram) {
    let mut waiting: Vec<Committed> = Vec::new();
    while let Ok(first) = rx.recv() {
        waiting.push(first);
        waiting.extend(rx.try_iter());
        flush(&mut wal, &mut waiting, fsync_seconds);
    }
}

/// One fsync for every batch in `waiting`, then their answers.
fn flush(wal: &mut WalFile, waiting: &mut Vec<Committed>, fsync_seconds: &Histogram) {
    let began = std::time::Instant::now();
    let synced = wal.sync();
    fsync_seconds.observe(began.elapsed().as_secs_f64());
    let fate = match synced {
        Ok(()) => Fate::Durable,
        Err(e) => {
            // Fail the answers: the client keeps its copy and retries with
            // the same idempotency key, and the retry is answered only
            // after a flush that succeeds.
            tracing::error!(error = %e, "fsync of the WAL failed");
            Fate::NotDurable
        }
    };
    for job in waiting.drain(..).flatten() {
        job.finish(fate);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reports what the flusher told it.
    struct Probe(std::sync::mpsc::Sender<Fate>);

    impl Job for Probe {
        fn run(&mut self, _: &rusqlite::Connection) -> bool {
            true
        }
        fn finish(self: Box<Self>, fate: Fate) {
            self.0.send(fate).unwrap();
        }
    }

    fn flushed(wal: WalFile, jobs: usize) -> Vec<Fate> {
        let (tx, rx) = std::sync::mpsc::channel();
        let flusher =
            Flusher::start(wal, super::super::stats::WriteStats::new().fsync_seconds).unwrap();
        for _ in 0..jobs {
            flusher.push(vec![Box::new(Probe(tx.clone()))]);
        }
        flusher.stop();
        drop(tx);
        rx.iter().collect()
    }

    #[test]
    fn batches_are_answered_as_durable_after_the_wal_is_synced() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("t.db-wal"), b"frames").unwrap();
        let answers = flushed(WalFile::of(&dir.path().join("t.db")), 3);
        assert_eq!(answers, vec![Fate::Durable; 3]);
    }

    #[test]
    fn batches_fail_when_the_wal_cannot_be_synced() {
        let dir = tempfile::tempdir().unwrap();
        let answers = flushed(WalFile::of(&dir.path().join("gone.db")), 2);
        assert_eq!(answers, vec![Fate::NotDurable; 2]);
    }

    #[test]
    fn the_wal_path_sits_beside_the_database() {
        let wal = WalFile::of(Path::new("/var/lib/earshot/earshot.db"));
        assert_eq!(wal.path, Path::new("/var/lib/earshot/earshot.db-wal"));
    }

    #[test]
    fn a_wal_that_cannot_be_synced_is_an_error_not_a_silent_success() {
        let dir = tempfile::tempdir().unwrap();
        let mut wal = WalFile::of(&dir.path().join("missing.db"));
        assert!(wal.sync().is_err());
        std::fs::write(dir.path().join("missing.db-wal"), b"frames").unwrap();
        assert!(wal.sync().is_ok());
    }

    #[test]
    fn a_replaced_wal_is_reopened() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("t.db");
        let wal_path = dir.path().join("t.db-wal");
        std::fs::write(&wal_path, b"one").unwrap();
        let mut wal = WalFile::of(&db);
        wal.sync().unwrap();
        assert!(!wal.replaced());
        std::fs::remove_file(&wal_path).unwrap();
        std::fs::write(&wal_path, b"two").unwrap();
        assert!(wal.replaced());
        wal.sync().unwrap();
        assert!(!wal.replaced());
    }
}
