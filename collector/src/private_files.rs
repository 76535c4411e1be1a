//! Files that hold customers' words and staff secrets (the database, its
//! backups, a person's export) are made readable by their owner alone:
//! with the usual umask of 022 they would be readable by every account on
//! the machine, wherever an operator happened to put them (`/tmp`).
//! Files that exist already keep the permissions their owner gave them.

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
pub fn folder_of(path: &Path) -> &Path {
    path.parent()
        .filter(|folder| !folder.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
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
