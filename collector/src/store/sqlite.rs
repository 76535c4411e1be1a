//! The SQLite backend's handle: one file, one writer thread, pooled
//! readers.
//!
//! Write path: one dedicated writer thread owns the only read-write
//! connection. Requests queue their work; the writer runs everything waiting
//! in one transaction (group commit), then hands the batch to a flush thread
//! that fsyncs the WAL and only then answers. A 2xx therefore always means
//! committed and on disk, while one fsync covers many submissions and the
//! next batch runs while the last one is flushed.
//!
//! Durability: WAL with `synchronous=NORMAL` plus that explicit fsync before
//! every answer, so an acknowledged entry survives both a process crash and
//! a power loss. `secure_delete` makes erased customer data leave the file.
//!
//! Reads run on pooled read-only connections through `spawn_blocking`, never
//! blocking the async runtime and never waiting for the writer (WAL).
//!
//! The operations themselves live beside their subject (`entries`,
//! `sites`, `review`, …) as `impl Sqlite` blocks.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OpenFlags};

use super::checkpoint::{Checkpointer, Leave, WalCheckpoints};
use super::writer::Writer;
use super::{BUSY_TIMEOUT, StoreError, WriteStats, flush, fold, migrations};

/// Idle read connections kept open.
const READ_POOL_MAX: usize = 8;

/// The SQLite database; cheap to clone.
#[derive(Clone)]
pub struct Sqlite {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) path: PathBuf,
    writer: Writer,
    checkpointer: Checkpointer,
    /// Whether WAL checkpoints are left to another process now.
    pub(super) leave: Leave,
    pub(super) stats: WriteStats,
    readers: Mutex<Vec<Connection>>,
    /// Write jobs handed to the writer so far: how busy ingest is.
    writes: AtomicU64,
    /// Submissions handed to the writer so far.
    submissions: AtomicU64,
    /// Bumped after every committed write, for background work that
    /// follows the database (notifications).
    changed: tokio::sync::watch::Sender<u64>,
}

impl Sqlite {
    /// Opens (creating if needed) and migrates the database, then starts the
    /// writer thread.
    pub fn open(path: &Path) -> Result<Sqlite, StoreError> {
        Sqlite::open_with(path, WalCheckpoints::default())
    }

    /// [`Sqlite::open`], with the WAL checkpointed as `checkpoints` says.
    pub fn open_with(path: &Path, checkpoints: WalCheckpoints) -> Result<Sqlite, StoreError> {
        // A new database is made readable by its owner alone (its
        // write-ahead log and shared memory files take the same
        // permissions and, when SQLite runs as root, the same owner). Made
        // by root in the service's folder, it is the folder owner's. If
        // this fails, opening reports why.
        if !path.exists() {
            let owner = crate::ownership::Owner::of_database(path);
            if crate::private_files::create_new(path).is_ok()
                && let Some(owner) = owner
            {
                let _ = owner.give(path);
            }
        }
        let mut conn = Connection::open(path)?;
        configure_writer(&conn)?;
        migrations::run(&mut conn)?;
        let leave = Leave::decide(&conn, checkpoints)?;
        let stats = WriteStats::new();
        let writer = Writer::start(conn, flush::WalFile::of(path), stats.clone(), leave.clone())?;
        let checkpointer = Checkpointer::start(path, checkpoints, leave.clone())?;
        Ok(Sqlite {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                writer,
                checkpointer,
                leave,
                stats,
                readers: Mutex::new(Vec::new()),
                writes: AtomicU64::new(0),
                submissions: AtomicU64::new(0),
                changed: tokio::sync::watch::Sender::new(0),
            }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` in the writer's next group transaction and resolves once it
    /// is committed.
    /// `f` may run more than once (a replay after another job in its batch
    /// failed); only the run that commits counts.
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: Fn(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.inner.writes.fetch_add(1, Ordering::Relaxed);
        let result = self.inner.writer.submit(f).await;
        if result.is_ok() {
            self.inner.changed.send_modify(|n| *n = n.wrapping_add(1));
        }
        result
    }

    /// Changes whenever a write has committed.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.changed.subscribe()
    }

    /// How many writes were started since the store opened.
    pub(crate) fn writes_started(&self) -> u64 {
        self.inner.writes.load(Ordering::Relaxed)
    }

    pub(super) fn note_submission(&self) {
        self.inner.submissions.fetch_add(1, Ordering::Relaxed);
    }

    /// How many submissions were started since the store opened: what
    /// background work watches to keep out of ingest's way.
    pub fn submissions_started(&self) -> u64 {
        self.inner.submissions.load(Ordering::Relaxed)
    }

    /// Runs `f` on a read-only connection off the async runtime.
    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let conn = match inner.take_reader() {
                Some(conn) => conn,
                None => open_reader(&inner.path)?,
            };
            let result = f(&conn);
            inner.give_back(conn);
            result
        })
        .await
        .map_err(|_| StoreError::TaskFailed)?
    }

    /// Answers once the database does: a read through the pool, as any
    /// page would make.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.read(|conn| Ok(conn.query_row("SELECT 1", [], |_| Ok(()))?))
            .await
    }

    /// Stops accepting writes, commits everything queued and waits for the
    /// writer to finish. Later writes fail with [`StoreError::Closed`].
    pub async fn shutdown(&self) {
        let inner = self.inner.clone();
        // Joining a thread blocks; keep it off the runtime's workers.
        let _ = tokio::task::spawn_blocking(move || {
            inner.writer.shutdown();
            inner.checkpointer.shutdown();
        })
        .await;
    }
}

impl Inner {
    fn take_reader(&self) -> Option<Connection> {
        self.readers.lock().ok()?.pop()
    }

    fn give_back(&self, conn: Connection) {
        if let Ok(mut pool) = self.readers.lock()
            && pool.len() < READ_POOL_MAX
        {
            pool.push(conn);
        }
    }
}

fn configure_writer(conn: &Connection) -> Result<(), StoreError> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // Takes effect only in a database with no tables yet; older files are
    // converted by `earshot vacuum` (see `vacuum`).
    conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // NORMAL: COMMIT does not wait for the disk; the flush thread fsyncs
    // the WAL before any answer goes out (see `flush`).
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "secure_delete", "ON")?;
    // Checkpoints run on their own thread (see `checkpoint`), never in a commit.
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    // After a checkpoint empties the WAL, shrink the file back to this size.
    conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;
    fold::register(conn)?;
    Ok(())
}

fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI,
    )?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    fold::register(&conn)?;
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_writer_runs_with_wal_normal_sync_and_secure_delete() {
        let dir = tempfile::tempdir().unwrap();
        let store = Sqlite::open(&dir.path().join("t.db")).unwrap();
        let (mode, sync, secure): (String, i64, i64) = store
            .write(|c| {
                Ok((
                    c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?,
                    c.query_row("PRAGMA synchronous", [], |r| r.get(0))?,
                    c.query_row("PRAGMA secure_delete", [], |r| r.get(0))?,
                ))
            })
            .await
            .unwrap();
        assert_eq!((mode.as_str(), sync, secure), ("wal", 1, 1));
        store.shutdown().await;
    }

    #[tokio::test]
    async fn a_failing_job_rolls_back_alone_and_writes_after_shutdown_fail() {
        let dir = tempfile::tempdir().unwrap();
        let store = Sqlite::open(&dir.path().join("t.db")).unwrap();
        let bad = store.write(|c| {
            c.execute("INSERT INTO settings (name, value) VALUES ('a', x'01')", [])?;
            c.execute("INSERT INTO no_such_table VALUES (1)", [])?;
            Ok(())
        });
        let good = store.write(|c| {
            c.execute("INSERT INTO settings (name, value) VALUES ('b', x'02')", [])?;
            Ok(())
        });
        let (bad, good) = tokio::join!(bad, good);
        assert!(bad.is_err());
        assert!(good.is_ok());
        let names: Vec<String> = store
            .read(|c| {
                let mut stmt = c.prepare("SELECT name FROM settings ORDER BY name")?;
                let rows = stmt.query_map([], |r| r.get(0))?;
                Ok(rows.collect::<Result<_, _>>()?)
            })
            .await
            .unwrap();
        assert_eq!(names, vec!["b".to_owned()]);
        store.shutdown().await;
        assert!(matches!(
            store.write(|_| Ok(())).await,
            Err(StoreError::Closed)
        ));
    }

    /// `max_page_count` makes SQLite answer as a full disk does
    /// (SQLITE_FULL); the writer must say so, and carry on once there is
    /// room again.
    #[tokio::test]
    async fn a_full_database_refuses_writes_as_full_and_takes_them_once_there_is_room() {
        let dir = tempfile::tempdir().unwrap();
        let store = Sqlite::open(&dir.path().join("t.db")).unwrap();
        let cap = |pages: &'static str| {
            store.write(move |c| {
                Ok(
                    c.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |r| {
                        r.get::<_, i64>(0)
                    })?,
                )
            })
        };
        let pages: i64 = store
            .read(|c| Ok(c.query_row("PRAGMA page_count", [], |r| r.get(0))?))
            .await
            .unwrap();
        assert_eq!(
            cap("1").await.unwrap(),
            pages,
            "cannot shrink below its size"
        );
        let big = || {
            store.write(|c| {
                c.execute(
                    "INSERT INTO settings (name, value) VALUES ('big', zeroblob(100000))",
                    [],
                )?;
                Ok(())
            })
        };
        let small = store.write(|c| {
            c.execute(
                "INSERT INTO settings (name, value) VALUES ('small', x'01')",
                [],
            )?;
            Ok(())
        });
        // Holds the writer while the two queue up behind it, so they share
        // a batch: SQLite ends the transaction on SQLITE_FULL, and the
        // small write must neither commit outside it nor run twice.
        let hold = store.write(|_| {
            std::thread::sleep(std::time::Duration::from_millis(200));
            Ok(())
        });
        let (_, full, small) = tokio::join!(hold, big(), small);
        assert!(matches!(full, Err(StoreError::Full)), "{full:?}");
        small.unwrap();
        let names: Vec<String> = store
            .read(|c| {
                let mut stmt = c.prepare("SELECT name FROM settings")?;
                let rows = stmt.query_map([], |r| r.get(0))?;
                Ok(rows.collect::<Result<_, _>>()?)
            })
            .await
            .unwrap();
        assert_eq!(names, ["small"]);
        cap("1073741823").await.unwrap();
        big().await.unwrap();
        store.shutdown().await;
    }
}
