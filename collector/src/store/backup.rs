//! Online backup and restore of the SQLite file.
//!
//! A backup is `VACUUM INTO` on a read connection: one consistent snapshot,
//! taken while the server keeps accepting feedback (WAL readers never block
//! its writer), written under a temporary name, checked with
//! `integrity_check` and only then given its name. Attachments live in the
//! database, so they are in it.
//!
//! A restore checks the copy first, refuses while a server holds the
//! database (see [`ServerLock`]), keeps the database it replaces beside it,
//! and never leaves the old write-ahead log next to the new file.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use rusqlite::{Connection, OpenFlags};

use super::{BUSY_TIMEOUT, StoreError};
use crate::ownership::Owner;
use crate::private_files::{FilePathError, with_suffix};

/// What a checked copy holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CopyFacts {
    pub entries: i64,
    pub bytes: u64,
    pub schema_version: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0} already exists; choose another name or remove it first")]
    Exists(PathBuf),
    #[error("{} does not exist", .0.display())]
    Missing(PathBuf),
    #[error("{} is a folder; name a file in it", .0.display())]
    Folder(PathBuf),
    #[error(
        "the folder {} does not exist: create it (mkdir -p {}) or choose another place",
        .0.display(),
        .0.display()
    )]
    NoFolder(PathBuf),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0} is not an Earshot database that passes SQLite's integrity check: {1}")]
    Damaged(PathBuf, String),
    #[error(
        "{path} has schema version {found}, newer than this binary knows ({known}); use a newer earshot"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: usize,
    },
    #[error("{0} is in use by a running earshot server; stop it first")]
    InUse(PathBuf),
    #[error("no space left for the copy at {0}; free space there or choose another place")]
    NoSpace(PathBuf),
    #[error(
        "the restored copy could not be given to {owner}, who owns the database at {}: run earshot restore as root or as that account",
        .db.display()
    )]
    Owner {
        db: PathBuf,
        owner: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Opens `path` read-only and checks it is whole and one we can read.
pub fn check_copy(path: &Path) -> Result<CopyFacts, BackupError> {
    // SQLite says "unable to open database file" for a missing file and
    // "disk I/O error" for a folder: say what is wrong instead.
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(BackupError::Missing(path.to_path_buf()));
        }
        Err(e) => return Err(io(path)(e)),
        Ok(meta) if meta.is_dir() => return Err(BackupError::Folder(path.to_path_buf())),
        // Nor is a copy this account may not read a damaged one.
        Ok(_) => drop(File::open(path).map_err(io(path))?),
    }
    let damaged =
        |e: &dyn std::fmt::Display| BackupError::Damaged(path.to_path_buf(), e.to_string());
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| damaged(&e))?;
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| damaged(&e))?;
    if check != "ok" {
        return Err(damaged(&check));
    }
    let schema_version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(|e| damaged(&e))?;
    let known = super::migrations::known();
    if usize::try_from(schema_version).unwrap_or(usize::MAX) > known {
        return Err(BackupError::TooNew {
            path: path.to_path_buf(),
            found: schema_version,
            known,
        });
    }
    let entries: i64 = conn
        .query_row("SELECT count(*) FROM entries", [], |r| r.get(0))
        .map_err(|e| damaged(&e))?;
    let bytes = std::fs::metadata(path).map_err(io(path))?.len();
    Ok(CopyFacts {
        entries,
        bytes,
        schema_version,
    })
}

/// Writes a consistent copy of the database at `db` to `to`, checked.
/// Safe while a server runs on `db`.
pub fn backup(db: &Path, to: &Path) -> Result<CopyFacts, BackupError> {
    crate::private_files::check_file_path(to).map_err(|e| match e {
        FilePathError::Folder(path) => BackupError::Folder(path),
        FilePathError::NoFolder(path) => BackupError::NoFolder(path),
    })?;
    if to.exists() {
        return Err(BackupError::Exists(to.to_path_buf()));
    }
    let partial = with_suffix(to, ".partial");
    let _ = std::fs::remove_file(&partial);
    let conn = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(StoreError::from)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(StoreError::from)?;
    // Made empty and private before SQLite fills it (`VACUUM INTO` accepts
    // an empty file): under the usual umask the copy would be readable by
    // every account while it is written, and a folder we may not write in
    // is reported as such rather than as "unable to open database".
    crate::private_files::create_new(&partial).map_err(io(&partial))?;
    let target = partial.to_string_lossy().into_owned();
    if let Err(e) = conn.execute("VACUUM INTO ?1", [&target]) {
        drop(conn);
        // What was written is of no use, and on a full disk in the way.
        let _ = std::fs::remove_file(&partial);
        let _ = std::fs::remove_file(with_suffix(&partial, "-journal"));
        return Err(match StoreError::from(e) {
            StoreError::Full => BackupError::NoSpace(to.to_path_buf()),
            e => e.into(),
        });
    }
    drop(conn);
    let facts = match check_copy(&partial) {
        Ok(facts) => facts,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    File::open(&partial)
        .and_then(|f| f.sync_all())
        .map_err(io(&partial))?;
    std::fs::rename(&partial, to).map_err(io(to))?;
    sync_dir(to);
    Ok(facts)
}

/// Replaces the database at `db` with the checked copy at `from`. The
/// database it replaces (with its write-ahead log) is kept as
/// `<db>.replaced-<unix seconds>`; returns that name, if there was one.
pub fn restore(
    from: &Path,
    db: &Path,
    now_secs: i64,
) -> Result<(CopyFacts, Option<PathBuf>), BackupError> {
    let facts = check_copy(from)?;
    let _lock = ServerLock::offline(db)?;
    let incoming = with_suffix(db, ".restoring");
    let owner = Owner::of_database(db);
    std::fs::copy(from, &incoming).map_err(io(&incoming))?;
    // Restored as root, the database must stay the service's account's. A
    // new one is its folder owner's where that can be (not for anyone but
    // root in a folder such as /tmp).
    if let Some(owner) = owner
        && let Err(source) = owner.give(&incoming)
        && db.exists()
    {
        let _ = std::fs::remove_file(&incoming);
        return Err(BackupError::Owner {
            db: db.to_path_buf(),
            owner: owner.account(),
            source,
        });
    }
    File::open(&incoming)
        .and_then(|f| f.sync_all())
        .map_err(io(&incoming))?;
    let kept = if db.exists() {
        let kept = with_suffix(db, &format!(".replaced-{now_secs}"));
        std::fs::rename(db, &kept).map_err(io(db))?;
        for side in ["-wal", "-shm"] {
            let from = with_suffix(db, side);
            if from.exists() {
                std::fs::rename(&from, with_suffix(&kept, side)).map_err(io(&from))?;
            }
        }
        Some(kept)
    } else {
        None
    };
    std::fs::rename(&incoming, db).map_err(io(db))?;
    sync_dir(db);
    Ok((facts, kept))
}

/// Makes a rename durable (best effort: not every platform can).
fn sync_dir(path: &Path) {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(dir) = File::open(dir)
    {
        let _ = dir.sync_all();
    }
}

/// Makes the scheduled backups' folder if it is missing and proves that
/// files can be written in it.
pub fn prepare_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let probe = dir.join(format!(".earshot-probe-{}", std::process::id()));
    let _ = std::fs::remove_file(&probe);
    crate::private_files::create_new(&probe)?;
    std::fs::remove_file(&probe)
}

/// When the newest scheduled backup in `dir` was written, if there is one.
fn newest_backup(dir: &Path) -> Option<SystemTime> {
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| is_scheduled_backup(&e.file_name().to_string_lossy()))
        .filter_map(|e| e.metadata().ok()?.modified().ok())
        .max()
}

fn is_scheduled_backup(name: &str) -> bool {
    name.starts_with("earshot-") && name.ends_with(".db")
}

/// How long until the next backup is due: `every` after the newest one,
/// at once if that is past or there is none. Counted from the folder, not
/// from the start, so a server restarted more often than `every` (a daily
/// deploy, with daily backups) still takes them.
fn due_in(newest: Option<SystemTime>, every: Duration, now: SystemTime) -> Duration {
    newest.map_or(Duration::ZERO, |newest| {
        let age = now.duration_since(newest).unwrap_or_default();
        every.saturating_sub(age)
    })
}

/// Backs up `db` into `schedule.dir` every `schedule.every`, keeping the
/// newest `schedule.keep` (`earshot-<UTC time>.db`, so names sort by age),
/// until `stop` fires. A backup under way when it fires is finished, not
/// left half-written: the copy runs on a blocking thread that an abort
/// would not stop, and the server lock would be gone under it.
pub async fn scheduled(
    db: PathBuf,
    schedule: crate::config::BackupSchedule,
    mut stop: tokio::sync::oneshot::Receiver<()>,
    metrics: std::sync::Arc<crate::metrics::Metrics>,
) {
    let newest = newest_backup(&schedule.dir);
    if let Some(at) = newest {
        metrics.newest_backup(at);
    }
    let mut wait = due_in(newest, schedule.every, SystemTime::now());
    loop {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = &mut stop => return,
        }
        wait = schedule.every;
        let (db, schedule) = (db.clone(), schedule.clone());
        let outcome = tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(&schedule.dir).map_err(io(&schedule.dir))?;
            let stamp =
                crate::clock::rfc3339(crate::clock::system_millis()).replace([':', '-', '.'], "");
            let to = schedule.dir.join(format!("earshot-{stamp}.db"));
            let facts = backup(&db, &to)?;
            prune(&schedule.dir, schedule.keep)?;
            Ok::<_, BackupError>((to, facts))
        })
        .await;
        match outcome {
            Ok(Ok((to, facts))) => {
                metrics.backup_written(SystemTime::now());
                tracing::info!(
                    path = %to.display(), entries = facts.entries, bytes = facts.bytes,
                    "scheduled backup written and checked"
                )
            }
            Ok(Err(e)) => {
                metrics.backup_failed();
                tracing::warn!(error = %e, "scheduled backup failed; trying again next time")
            }
            Err(_) => {
                metrics.backup_failed();
                tracing::warn!("scheduled backup task failed")
            }
        }
    }
}

/// Removes all but the newest `keep` scheduled backups in `dir`.
pub fn prune(dir: &Path, keep: usize) -> Result<(), BackupError> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(is_scheduled_backup)
        })
        .collect();
    names.sort();
    let excess = names.len().saturating_sub(keep);
    for old in names.into_iter().take(excess) {
        std::fs::remove_file(&old).map_err(io(&old))?;
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("the database is in use by a running server")]
    Held,
    /// The lock file beside the database could not be made (most often:
    /// its folder does not exist, or this user may not write there).
    #[error("cannot create its lock file {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Held by a running server for as long as it serves a database file (an
/// exclusive lock on `<db>.lock`), so a restore cannot swap the file under
/// it. Other commands (`site add`, `backup`…) work beside a server and do
/// not take it. The operating system releases it if the process dies.
#[derive(Debug)]
pub struct ServerLock {
    _file: File,
}

impl ServerLock {
    /// For work that must not run beside a server (restore, vacuum): the
    /// lock, or why not, as [`BackupError`].
    pub fn offline(db: &Path) -> Result<ServerLock, BackupError> {
        ServerLock::acquire(db).map_err(|e| match e {
            LockError::Held => BackupError::InUse(db.to_path_buf()),
            LockError::Io { path, source } => BackupError::Io { path, source },
        })
    }

    pub fn acquire(db: &Path) -> Result<ServerLock, LockError> {
        let path = with_suffix(db, ".lock");
        let made = !path.exists();
        let owner = Owner::of_database(db);
        let file = match crate::private_files::open_or_create(&path) {
            Ok(file) => file,
            Err(source) => return Err(LockError::Io { path, source }),
        };
        // Made by `sudo earshot restore`, it must still open for the
        // service. Best effort: only root can give a file away.
        if made && let Some(owner) = owner {
            let _ = owner.give(&path);
        }
        match file.try_lock() {
            Ok(()) => Ok(ServerLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(LockError::Held),
            Err(std::fs::TryLockError::Error(source)) => Err(LockError::Io { path, source }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_backup_is_due_every_after_the_newest_one_not_after_the_start() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let day = Duration::from_secs(86_400);
        let hour = Duration::from_secs(3_600);
        assert_eq!(due_in(None, day, now), Duration::ZERO);
        assert_eq!(due_in(Some(now - hour), day, now), day - hour);
        assert_eq!(due_in(Some(now - 2 * day), day, now), Duration::ZERO);
        // A clock set back: never longer than one period.
        assert_eq!(due_in(Some(now + hour), day, now), day);
    }

    #[test]
    fn a_held_lock_refuses_a_second_holder_until_released() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("e.db");
        let first = ServerLock::acquire(&db).unwrap();
        assert!(matches!(ServerLock::acquire(&db), Err(LockError::Held)));
        drop(first);
        assert!(ServerLock::acquire(&db).is_ok());
    }

    #[test]
    fn pruning_keeps_the_newest_scheduled_backups_only() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "earshot-20261201T010000Z.db",
            "earshot-20261202T010000Z.db",
            "earshot-20261203T010000Z.db",
            "notes.txt",
        ] {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        prune(dir.path(), 2).unwrap();
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                "earshot-20261202T010000Z.db",
                "earshot-20261203T010000Z.db",
                "notes.txt"
            ]
        );
    }

    #[test]
    fn a_backup_into_a_folder_or_a_missing_folder_says_so_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("e.db");
        let error = backup(&db, dir.path()).unwrap_err();
        assert!(matches!(&error, BackupError::Folder(p) if p == dir.path()));
        assert!(error.to_string().contains("is a folder; name a file in it"));

        let missing = dir.path().join("backups");
        let error = backup(&db, &missing.join("monday.db")).unwrap_err();
        assert!(matches!(&error, BackupError::NoFolder(p) if p == &missing));
        assert!(error.to_string().contains("mkdir -p"));
        assert!(!missing.exists());
    }

    #[test]
    fn a_backup_that_cannot_be_created_names_the_file_not_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("e.db");
        Connection::open(&db)
            .unwrap()
            .execute_batch("CREATE TABLE entries (id INTEGER PRIMARY KEY)")
            .unwrap();
        // Nothing is left behind when the database cannot be read either.
        let to = dir.path().join("b.db");
        assert!(backup(&dir.path().join("absent.db"), &to).is_err());
        assert!(!with_suffix(&to, ".partial").exists());
        // A name no file system takes, so the test holds as root too.
        let to = dir.path().join(format!("{}.db", "b".repeat(300)));
        let error = backup(&db, &to).unwrap_err();
        assert!(
            matches!(&error, BackupError::Io { path, .. } if path == &with_suffix(&to, ".partial")),
            "{error}"
        );
        assert!(!error.to_string().contains("sqlite"), "{error}");
    }

    #[test]
    fn restoring_from_a_missing_file_or_a_folder_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let absent = dir.path().join("absent.db");
        let error = check_copy(&absent).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("{} does not exist", absent.display())
        );
        let error = check_copy(dir.path()).unwrap_err();
        assert!(matches!(error, BackupError::Folder(_)), "{error}");
    }

    #[test]
    fn a_damaged_copy_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.db");
        std::fs::write(&junk, b"SQLite format 3\0 but not really").unwrap();
        assert!(matches!(check_copy(&junk), Err(BackupError::Damaged(..))));
    }
}
