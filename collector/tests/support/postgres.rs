//! A throwaway PostgreSQL server for tests and benches: `initdb` into a
//! temporary directory, `pg_ctl start` on a free loopback port, stopped
//! and deleted on drop. Needs Debian's `postgresql` package (or `PG_BIN`
//! naming the directory holding `initdb` and `pg_ctl`); without it the
//! test fails with the install command, it never skips.
//!
//! PostgreSQL refuses to run as root, so under root (CI containers) the
//! server runs as the `postgres` user the Debian package creates.

// Tests and benches each use part of it.
#![allow(dead_code)]

use std::net::TcpListener;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub struct TempPostgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    as_user: Option<&'static str>,
    databases: AtomicU32,
}

impl TempPostgres {
    /// Runs with `fsync=off`: a test kills collectors, never PostgreSQL, so
    /// nothing a test checks depends on PostgreSQL's own durability.
    pub fn start() -> TempPostgres {
        TempPostgres::start_with("-c fsync=off -c full_page_writes=off", None)
    }

    /// PostgreSQL's own defaults (every commit flushed to disk), for
    /// benchmarks that compare it with SQLite's fsync before each answer.
    pub fn start_durable() -> TempPostgres {
        TempPostgres::start_with("", None)
    }

    /// [`TempPostgres::start`] offering TLS with this certificate and key
    /// (PEM files).
    pub fn start_with_tls(cert: &Path, key: &Path) -> TempPostgres {
        TempPostgres::start_with("-c fsync=off -c full_page_writes=off", Some((cert, key)))
    }

    fn start_with(settings: &str, tls: Option<(&Path, &Path)>) -> TempPostgres {
        let bin = pg_bin();
        let dir = tempfile::Builder::new()
            .prefix("earshot-pg-")
            .tempdir()
            .expect("temporary directory for PostgreSQL");
        let as_user = running_as_root().then_some("postgres");
        if let Some(user) = as_user {
            hand_over(dir.path(), user);
        }
        let data = dir.path().join("data");
        run(
            as_user,
            Command::new(bin.join("initdb"))
                .arg("-D")
                .arg(&data)
                .args(["-U", "earshot", "--auth=trust", "--no-sync", "-E", "UTF8"])
                .arg("--locale=C.UTF-8"),
            "initdb",
        );
        let port = free_port();
        let mut options = format!(
            "-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c max_connections=200 {settings}",
            dir.path().display()
        );
        if let Some((cert, key)) = tls {
            // PostgreSQL reads the key only if its own user owns it and
            // nobody else may read it.
            for (from, name) in [(cert, "server.crt"), (key, "server.key")] {
                let to = dir.path().join(name);
                std::fs::copy(from, &to).expect("copy the certificate");
                std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o600))
                    .expect("chmod the certificate");
                if let Some(user) = as_user {
                    hand_over(&to, user);
                }
            }
            options.push_str(&format!(
                " -c ssl=on -c ssl_cert_file={0}/server.crt -c ssl_key_file={0}/server.key",
                dir.path().display()
            ));
        }
        run(
            as_user,
            Command::new(bin.join("pg_ctl"))
                .arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(dir.path().join("server.log"))
                .args(["-o", &options, "-w", "-t", "60", "start"]),
            "pg_ctl start",
        );
        let server = TempPostgres {
            dir,
            bin,
            port,
            as_user,
            databases: AtomicU32::new(0),
        };
        server.wait_until_ready();
        server
    }

    /// One server for the whole test process, for tests that only need a
    /// database of their own: starting a server costs seconds (`initdb`),
    /// a database on it milliseconds. A static is never dropped, so a
    /// watchdog stops the server and deletes its files once this process
    /// has exited.
    pub fn shared() -> &'static TempPostgres {
        static SHARED: OnceLock<TempPostgres> = OnceLock::new();
        SHARED.get_or_init(|| {
            let server = TempPostgres::start();
            server.stop_after_exit();
            server
        })
    }

    // Nothing waits for the watchdog: it must outlive this process.
    #[allow(clippy::zombie_processes)]
    fn stop_after_exit(&self) {
        let stop = self.stop_command();
        Command::new("sh")
            .args([
                "-c",
                r#"pid=$1 dir=$2; shift 2
                   while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
                   "$@"; rm -rf "$dir""#,
                "watchdog",
            ])
            .arg(std::process::id().to_string())
            .arg(self.dir.path())
            .arg(stop.get_program())
            .args(stop.get_args())
            // Not the test's own output: a pipe held open would keep
            // whoever reads it waiting.
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the PostgreSQL watchdog");
    }

    /// `pg_ctl stop` at once (nothing a test checks needs a clean
    /// shutdown), as the user the server runs as.
    fn stop_command(&self) -> Command {
        let mut stop = Command::new(self.bin.join("pg_ctl"));
        stop.arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "immediate", "-w", "stop"]);
        as_user(self.as_user, &mut stop)
    }

    /// The URL of a new, empty database on this server. It sorts text by
    /// ICU's `en-US`, as a production database often does (and as the
    /// server's `C.UTF-8` does not): what Earshot lists must come out in
    /// the same order as on SQLite whatever the collation. Needs
    /// PostgreSQL 15 or newer, built with ICU (Debian's is).
    pub fn fresh_database(&self) -> String {
        self.create_database(&[
            "--template=template0",
            "--locale-provider=icu",
            "--icu-locale=en-US",
        ])
    }

    /// A new, empty database in the server's own `C.UTF-8`, for benches:
    /// their figures compare with those measured before.
    pub fn fresh_c_database(&self) -> String {
        self.create_database(&[])
    }

    fn create_database(&self, options: &[&str]) -> String {
        let name = format!("t{}", self.databases.fetch_add(1, Ordering::Relaxed));
        let created = Command::new(self.bin.join("createdb"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "earshot",
            ])
            .args(options)
            .arg(&name)
            .output()
            .expect("run createdb");
        assert!(
            created.status.success(),
            "createdb failed: {}",
            String::from_utf8_lossy(&created.stderr)
        );
        self.url(&name)
    }

    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://earshot@127.0.0.1:{}/{database}?sslmode=disable",
            self.port
        )
    }

    /// The server's own log, for a failing test's message.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    fn wait_until_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = Command::new(self.bin.join("pg_isready"))
                .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "PostgreSQL did not start: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for TempPostgres {
    fn drop(&mut self) {
        let _ = self
            .stop_command()
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Where `initdb` and `pg_ctl` are: `PG_BIN`, else the newest Debian
/// `/usr/lib/postgresql/<version>/bin`.
fn pg_bin() -> PathBuf {
    if let Some(dir) = std::env::var_os("PG_BIN") {
        return PathBuf::from(dir);
    }
    let newest = std::fs::read_dir("/usr/lib/postgresql")
        .ok()
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|d| {
            let version: u32 = d.file_name().to_str()?.parse().ok()?;
            let bin = d.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .max();
    match newest {
        Some((_, bin)) => bin,
        None => panic!(
            "PostgreSQL tests need initdb and pg_ctl: apt-get install postgresql (./test and .ci/run do), or set PG_BIN"
        ),
    }
}

fn running_as_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// Gives `dir` to `user` (initdb wants to own the data directory's parent
/// too, for the socket and log).
fn hand_over(dir: &Path, user: &str) {
    let out = Command::new("chown")
        .arg(user)
        .arg(dir)
        .output()
        .expect("run chown");
    assert!(
        out.status.success(),
        "chown {user} {}: {} (Debian's postgresql package creates the user)",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn as_user(user: Option<&str>, command: &mut Command) -> Command {
    match user {
        Some(user) => {
            let mut wrapped = Command::new("runuser");
            wrapped
                .args(["-u", user, "--"])
                .arg(command.get_program())
                .args(command.get_args());
            wrapped
        }
        None => {
            let mut plain = Command::new(command.get_program());
            plain.args(command.get_args());
            plain
        }
    }
}

fn run(user: Option<&str>, command: &mut Command, what: &str) {
    let out = as_user(user, command).output().expect(what);
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// PgBouncer in front of a [`TempPostgres`], pooling in one mode; stopped
/// on drop. Needs Debian's `pgbouncer` package (or `PGBOUNCER` naming the
/// binary); without it the test fails with the install command.
pub struct Pooler {
    dir: tempfile::TempDir,
    pub port: u16,
    as_user: Option<&'static str>,
}

impl TempPostgres {
    /// PgBouncer for `database` on this server, `pool_mode = mode`.
    pub fn pooler(&self, database: &str, mode: &str) -> Pooler {
        let bin = std::env::var_os("PGBOUNCER")
            .map_or_else(|| PathBuf::from("/usr/sbin/pgbouncer"), PathBuf::from);
        assert!(
            bin.exists(),
            "{} not found: apt-get install pgbouncer (or set PGBOUNCER to the binary)",
            bin.display()
        );
        let dir = tempfile::Builder::new()
            .prefix("earshot-pgbouncer-")
            .tempdir()
            .expect("temporary directory for PgBouncer");
        let port = free_port();
        let d = dir.path().display();
        std::fs::write(dir.path().join("users.txt"), "\"earshot\" \"\"\n").unwrap();
        std::fs::write(
            dir.path().join("pgbouncer.ini"),
            format!(
                "[databases]\n{database} = host=127.0.0.1 port={} dbname={database} user=earshot\n\
                 [pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n\
                 auth_type = trust\nauth_file = {d}/users.txt\npool_mode = {mode}\n\
                 logfile = {d}/pgbouncer.log\npidfile = {d}/pgbouncer.pid\n",
                self.port
            ),
        )
        .unwrap();
        // PgBouncer refuses to run as root.
        if let Some(user) = self.as_user {
            for name in ["", "users.txt", "pgbouncer.ini"] {
                hand_over(&dir.path().join(name), user);
            }
        }
        run(
            self.as_user,
            Command::new(bin)
                .arg("-d")
                .arg(dir.path().join("pgbouncer.ini")),
            "pgbouncer",
        );
        let pooler = Pooler {
            dir,
            port,
            as_user: self.as_user,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "PgBouncer did not start: {}",
                std::fs::read_to_string(pooler.dir.path().join("pgbouncer.log"))
                    .unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        pooler
    }
}

impl Pooler {
    /// The URL of `database` through this pooler.
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://earshot@127.0.0.1:{}/{database}?sslmode=disable",
            self.port
        )
    }
}

impl Drop for Pooler {
    fn drop(&mut self) {
        let pid =
            std::fs::read_to_string(self.dir.path().join("pgbouncer.pid")).unwrap_or_default();
        let _ = as_user(self.as_user, Command::new("kill").arg(pid.trim()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
