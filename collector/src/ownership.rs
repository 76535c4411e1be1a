//! Whose the database's files are. An operator runs commands as root
//! (`sudo earshot restore`) against a database that belongs to the
//! service's own account (systemd's `DynamicUser`): what root makes beside
//! it must stay the service's, and a file the service may not write is
//! named with its owner before SQLite says "unable to open database file".

use std::fs::OpenOptions;
use std::io;
use std::path::{Path, PathBuf};

use crate::private_files::{create_new, folder_of, with_suffix};

/// A database this process may not use because another account owns it.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error(
        "this process runs as {me} and may not write {}, which belongs to {owner}: run the collector as the account that owns the database, or give the file to this one (chown {ids} {}); a file copied into place as root stays root's",
        .path.display(),
        .path.display()
    )]
    File {
        path: PathBuf,
        owner: String,
        me: String,
        /// This process's `uid:gid`, for `chown`.
        ids: String,
    },
    #[error(
        "this process runs as {me} and may not create files in the folder {} (it belongs to {owner}), where the database's write-ahead log and lock file go: run the collector as the folder's owner, or give the folder to this account (chown {ids} {})",
        .folder.display(),
        .folder.display()
    )]
    Folder {
        folder: PathBuf,
        owner: String,
        me: String,
        ids: String,
    },
}

/// Refuses to serve the database at `db` when this process may not write
/// it, its write-ahead log, its shared memory or its lock file, or may not
/// create the ones that are missing, naming whose they are. Said before
/// SQLite's "unable to open database file", which names neither.
pub fn check_writable(db: &Path) -> Result<(), AccessError> {
    let mut missing = false;
    for file in [
        db.to_path_buf(),
        with_suffix(db, "-wal"),
        with_suffix(db, "-shm"),
        with_suffix(db, ".lock"),
    ] {
        match OpenOptions::new().read(true).write(true).open(&file) {
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                return Err(AccessError::File {
                    owner: account::owner(&file),
                    me: account::me(),
                    ids: account::my_ids(),
                    path: file,
                });
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => missing = true,
            // Opening says the rest in SQLite's words.
            Ok(_) | Err(_) => {}
        }
    }
    if missing {
        let folder = folder_of(db);
        let probe = folder.join(format!(".earshot-probe-{}", std::process::id()));
        match create_new(&probe) {
            Ok(_) => {
                let _ = std::fs::remove_file(&probe);
            }
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                return Err(AccessError::Folder {
                    folder: folder.to_path_buf(),
                    owner: account::owner(folder),
                    me: account::me(),
                    ids: account::my_ids(),
                });
            }
            Err(_) => {}
        }
    }
    Ok(())
}

/// The account (user and group) the files of a database belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    #[cfg(unix)]
    uid: u32,
    #[cfg(unix)]
    gid: u32,
}

impl Owner {
    /// Whose the files beside the database at `db` should be: the
    /// database's owner's, or while there is none, its folder's. Asked
    /// before making a file there.
    pub fn of_database(db: &Path) -> Option<Owner> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let meta = std::fs::metadata(db)
                .or_else(|_| std::fs::metadata(folder_of(db)))
                .ok()?;
            Some(Owner {
                uid: meta.uid(),
                gid: meta.gid(),
            })
        }
        #[cfg(not(unix))]
        {
            let _ = db;
            None
        }
    }

    /// Gives `file`, just made by this process, to this owner when it is
    /// another account (as SQLite does with the write-ahead log it makes
    /// as root). Only root may give a file away: for anyone else, that
    /// fails with `PermissionDenied`.
    pub fn give(self, file: &Path) -> io::Result<()> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            if std::fs::metadata(file)?.uid() != self.uid {
                std::os::unix::fs::chown(file, Some(self.uid), Some(self.gid))?;
            }
        }
        #[cfg(not(unix))]
        let _ = file;
        Ok(())
    }

    /// The account, as an operator reads it (`uid 0 (root)`).
    pub fn account(self) -> String {
        #[cfg(unix)]
        {
            account::named(self.uid)
        }
        #[cfg(not(unix))]
        String::new()
    }
}

/// Accounts by number and, where the password file knows it, by name.
mod account {
    use std::path::Path;

    /// `uid 0 (root)`, or `uid 61234` for an account that only systemd knows
    /// (a `DynamicUser`).
    #[cfg(unix)]
    pub(super) fn named(uid: u32) -> String {
        let name = std::fs::read_to_string("/etc/passwd").ok().and_then(|all| {
            all.lines().find_map(|line| {
                let mut fields = line.split(':');
                let name = fields.next()?;
                (fields.nth(1)?.parse::<u32>().ok()? == uid).then(|| name.to_owned())
            })
        });
        match name {
            Some(name) => format!("uid {uid} ({name})"),
            None => format!("uid {uid}"),
        }
    }

    /// Whose `path` is.
    pub(super) fn owner(path: &Path) -> String {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            if let Ok(meta) = std::fs::metadata(path) {
                return named(meta.uid());
            }
        }
        #[cfg(not(unix))]
        let _ = path;
        "an account not known here".to_owned()
    }

    /// The account this process runs as (Linux says it by `/proc/self`).
    pub(super) fn me() -> String {
        owner(Path::new("/proc/self"))
    }

    /// This process's `uid:gid`, as `chown` takes them.
    pub(super) fn my_ids() -> String {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            if let Ok(meta) = std::fs::metadata("/proc/self") {
                return format!("{}:{}", meta.uid(), meta.gid());
            }
        }
        "<account>".to_owned()
    }
}
