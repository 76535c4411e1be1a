//! The database of a service that runs as its own account (systemd's
//! `DynamicUser`, a `earshot` user), worked on by an operator as root
//! (`sudo earshot restore`, `sudo earshot user add`): what root makes beside
//! the database stays the service's, and a file the service may not write
//! is named with its owner instead of SQLite's "unable to open database
//! file".
//!
//! The service's account is `nobody`, entered with util-linux's `setpriv`,
//! when the tests run as root (as in CI). Run as another account, the
//! tests cannot hand files to anyone else: the service is then that
//! account, and an unwritable database is made so by its permissions.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Stdio};

use crate::helpers::{BIN, Binary, earshot};

const NOBODY: u32 = 65534;

fn uid_of(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().uid()
}

fn running_as_root() -> bool {
    uid_of(Path::new("/proc/self")) == 0
}

/// The service's account: `nobody` when the tests run as root, else the
/// tests' own.
fn service_uid() -> u32 {
    if running_as_root() {
        NOBODY
    } else {
        uid_of(Path::new("/proc/self"))
    }
}

/// `earshot` as the service's account runs it.
fn as_service() -> Command {
    if running_as_root() {
        let mut command = Command::new("setpriv");
        command
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(BIN);
        command
    } else {
        Command::new(BIN)
    }
}

/// A folder of the service's own, as systemd's `StateDirectory=` makes it,
/// inside a temporary folder the service may pass through.
fn state_folder() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir(&state).unwrap();
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o700)).unwrap();
    if running_as_root() {
        std::os::unix::fs::chown(&state, Some(NOBODY), Some(NOBODY)).unwrap();
    }
    (dir, state)
}

fn serve_as_service(db: &Path) -> Binary {
    Binary::launch(
        Binary::serving(as_service(), &["--db".as_ref(), db.as_os_str()], &[]),
        Stdio::null(),
    )
}

/// What `earshot serve` as the service's account says when it cannot
/// start on `db`.
fn refusal_to_serve(db: &Path) -> String {
    let out = Binary::serving(as_service(), &["--db".as_ref(), db.as_os_str()], &[])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success(), "it must not start");
    String::from_utf8(out.stderr).unwrap()
}

/// Prepares an installation at `db` as an operator does before its first
/// start: a new database with a colleague in it.
fn prepare(db: &Path) {
    let (ok, _, err) = earshot(
        &[
            "user",
            "add",
            "--email",
            "ops@shop.example",
            "--generate-password",
        ],
        db,
    );
    assert!(ok, "{err}");
}

#[tokio::test]
async fn what_root_makes_beside_a_services_database_stays_the_services() {
    let (dir, state) = state_folder();
    let db = state.join("earshot.db");
    let service = service_uid();

    prepare(&db);
    assert_eq!(uid_of(&db), service, "a new database is its folder owner's");

    let server = serve_as_service(&db);
    assert_eq!(server.post_idea("Gift wrapping").await, 201);
    drop(server);

    // Restored by the operator, with the lock file gone (as after a
    // reboot that emptied it, or never made by this service).
    let copy = dir.path().join("copy.db");
    let (ok, _, err) = earshot(&["backup", "--to", copy.to_str().unwrap()], &db);
    assert!(ok, "{err}");
    std::fs::remove_file(state.join("earshot.db.lock")).unwrap();
    let (ok, _, err) = earshot(&["restore", "--from", copy.to_str().unwrap()], &db);
    assert!(ok, "{err}");
    assert_eq!(uid_of(&db), service, "the restored database");
    assert_eq!(uid_of(&state.join("earshot.db.lock")), service, "its lock");

    let server = serve_as_service(&db);
    assert_eq!(server.post_idea("Gift wrapping, again").await, 201);
}

#[tokio::test]
async fn a_database_the_service_may_not_write_is_named_with_its_owner() {
    let (dir, state) = state_folder();
    let db = state.join("earshot.db");
    prepare(&db);
    // Copied into place by hand: as root, the copy is root's; as anyone
    // else, made read-only.
    let copy = dir.path().join("copy.db");
    std::fs::copy(&db, &copy).unwrap();
    std::fs::remove_file(&db).unwrap();
    std::fs::copy(&copy, &db).unwrap();
    if !running_as_root() {
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o400)).unwrap();
    }
    let said = refusal_to_serve(&db);
    assert!(
        said.contains(&format!("may not write {}", db.display())),
        "{said}"
    );
    let owner = if running_as_root() {
        "which belongs to uid 0 (root)".to_owned()
    } else {
        format!("which belongs to uid {}", service_uid())
    };
    assert!(said.contains(&owner), "{said}");
    assert!(!said.contains("unable to open database file"), "{said}");

    // The service's account cannot restore over root's database: the
    // copy could not be root's, so it is not put in place.
    if running_as_root() {
        // A copy of a live database keeps its write-ahead-log mode: read,
        // it needs a folder the reader may write its shared memory in.
        let offered = state.join("offered.db");
        std::fs::copy(&copy, &offered).unwrap();
        std::fs::set_permissions(&offered, std::fs::Permissions::from_mode(0o644)).unwrap();
        let out = as_service()
            .args(["restore", "--from"])
            .arg(&offered)
            .arg("--db")
            .arg(&db)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let said = String::from_utf8(out.stderr).unwrap();
        assert!(!out.status.success());
        assert!(
            said.contains("could not be given to uid 0 (root), who owns the database"),
            "{said}"
        );
        assert_eq!(uid_of(&db), 0, "root's database is left in place");
        assert!(!state.join("earshot.db.restoring").exists());
    }

    // A folder the service may not create its write-ahead log in.
    std::fs::remove_file(&db).unwrap();
    let shared = dir.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o755)).unwrap();
    if !running_as_root() {
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o555)).unwrap();
    }
    let said = refusal_to_serve(&shared.join("earshot.db"));
    assert!(
        said.contains(&format!(
            "may not create files in the folder {}",
            shared.display()
        )),
        "{said}"
    );
    if !running_as_root() {
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}
