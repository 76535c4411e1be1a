//! Files that hold customers' words and staff secrets (the database, its
//! backups, a person's export) are made readable by their owner alone:
//! with the usual umask of 022 they would be readable by every account on
//! the machine, wherever an operator happened to put them (`/tmp`).
//! Files that exist already keep the permissions their owner gave them.
//!
//! They also stay the account's that serves them: an operator runs
//! commands as root (`sudo earshot restore`) against a database that
//! belongs to the service's own account (systemd's `DynamicUser`), and a
//! database or lock file left root's would keep the service from starting.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// A file named where no file can be: in a folder that does not exist
/// (`--db /var/lib/earshot/earshot.db` before the folder was made), or as
/// a folder itself. Said as such, not as SQLite's "unable to open database
/// file".
#[derive(Debug, thiserror::Error)]
pub enum FilePathError {
    #[error(
        "the folder {} does not exist: create it (mkdir -p {}) or name another with --db",
        .0.display(),
        .0.display()
    )]
    NoFolder(PathBuf),
    #[error(
        "{} is a folder: name a file in it, like {}",
        .0.display(),
        .0.join("earshot.db").display()
    )]
    Folder(PathBuf),
}

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

/// Refuses `path` when it is a folder, or the folder it would be in does
/// not exist.
pub fn check_file_path(path: &Path) -> Result<(), FilePathError> {
    if path.is_dir() {
        return Err(FilePathError::Folder(path.to_path_buf()));
    }
    match path.parent() {
        Some(folder) if !folder.as_os_str().is_empty() && !folder.is_dir() => {
            Err(FilePathError::NoFolder(folder.to_path_buf()))
        }
        _ => Ok(()),
    }
}

/// `path` with `suffix` added to its file name (`earshot.db` → `earshot.db-wal`).
pub fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The folder `path` is in (`.` for a bare file name).
fn folder_of(path: &Path) -> &Path {
    path.parent()
        .filter(|folder| !folder.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
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

/// Creates `path` for writing, readable by its owner only; refuses a path
/// that exists (an export must never land on the database).
pub fn create_new(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Opens `path` for writing, creating it readable by its owner only if it
/// is missing. For the server's lock file: another account able to open it
/// could hold a lock on it and keep the server from starting.
pub fn open_or_create(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// The permission bits of `path` when accounts other than its owner may
/// read or write it; `None` when it is the owner's alone (or unknowable).
pub fn open_to_others(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
        (mode & 0o077 != 0).then_some(mode)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn new_files_are_the_owners_alone_and_never_replace_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("person.json");
        create_new(&path).unwrap();
        assert_eq!(mode(&path), 0o600);
        let again = create_new(&path).unwrap_err();
        assert_eq!(again.kind(), io::ErrorKind::AlreadyExists);

        let shared = dir.path().join("copy.db");
        std::fs::write(&shared, b"x").unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(open_to_others(&shared), Some(0o644));
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(open_to_others(&shared), None);
        assert_eq!(open_to_others(&dir.path().join("absent.db")), None);
    }

    #[test]
    fn a_lock_file_is_made_the_owners_alone_and_kept_when_it_exists() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("earshot.db.lock");
        drop(open_or_create(&path).unwrap());
        assert_eq!(mode(&path), 0o600);
        std::fs::write(&path, b"kept").unwrap();
        drop(open_or_create(&path).unwrap());
        assert_eq!(std::fs::read(&path).unwrap(), b"kept", "never truncated");
    }

    #[test]
    fn a_file_in_a_folder_that_does_not_exist_or_a_folder_is_named_as_such() {
        let dir = tempfile::tempdir().unwrap();
        assert!(check_file_path(&dir.path().join("earshot.db")).is_ok());
        assert!(check_file_path(Path::new("earshot.db")).is_ok());
        let missing = dir.path().join("nope");
        let error = check_file_path(&missing.join("earshot.db")).unwrap_err();
        assert!(matches!(&error, FilePathError::NoFolder(folder) if *folder == missing));
        assert!(error.to_string().contains("mkdir -p"));
        let error = check_file_path(dir.path()).unwrap_err();
        assert!(matches!(&error, FilePathError::Folder(folder) if folder == dir.path()));
        assert!(error.to_string().contains("is a folder"));
    }
}
