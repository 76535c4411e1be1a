//! `earshot serve` from a shell: what it refuses before starting, what it
//! prints, how it stops, and its logs.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::{BIN, add_shop, earshot};

#[test]
fn serve_refuses_a_public_url_that_links_cannot_be_built_on() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("earshot.db");
    for (url, reason) in [
        ("not a url", "write the address browsers use"),
        ("https://feedback.example.com/?x=1", "?query or #fragment"),
        (
            "https://example.com/feedback",
            "not served under a path such as /feedback",
        ),
    ] {
        let out = Command::new(BIN)
            .args([
                "serve",
                "--addr",
                "127.0.0.1:0",
                "--public-url",
                url,
                "--db",
            ])
            .arg(&db)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{url} was accepted");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(
            stderr.contains("--public-url") && stderr.contains(reason),
            "{stderr}"
        );
    }
    assert!(!db.exists(), "refused before anything was created");
}

#[test]
fn serve_and_commands_name_the_missing_folder_of_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("missing");
    let db = folder.join("earshot.db");
    let said = format!(
        "database {}: the folder {} does not exist: create it (mkdir -p {})",
        db.display(),
        folder.display(),
        folder.display()
    );
    let out = Command::new(BIN)
        .args(["serve", "--addr", "127.0.0.1:0", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains(&said), "{stderr}");
    // A command that creates a database named with --db says the same.
    let (ok, _, stderr) = add_shop(&db);
    assert!(!ok);
    assert!(stderr.contains(&said), "{stderr}");
    assert!(!folder.exists());
}

#[test]
fn serve_and_commands_say_when_the_database_named_is_a_folder_or_not_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path();
    let is_folder = format!(
        "{} is a folder: name a file in it, like {}",
        folder.display(),
        folder.join("earshot.db").display()
    );
    let notes = folder.join("notes.txt");
    let text = "not a database at all, but long enough to have a header".repeat(20);
    std::fs::write(&notes, &text).unwrap();
    for (db, said) in [
        (folder.to_path_buf(), is_folder.as_str()),
        (
            notes.clone(),
            "the file is not an SQLite database, or is damaged",
        ),
    ] {
        let (ok, _, stderr) = earshot(&["serve", "--addr", "127.0.0.1:0"], &db);
        assert!(!ok);
        assert!(stderr.contains(said), "serve: {stderr}");
        let (ok, _, stderr) = earshot(&["site", "list"], &db);
        assert!(!ok);
        assert!(stderr.contains(said), "site list: {stderr}");
    }
    assert_eq!(
        std::fs::read_to_string(&notes).unwrap(),
        text,
        "the file named is left as it was"
    );
    assert!(!folder.join("earshot.db").exists());
}

#[test]
fn serve_says_what_to_do_when_its_address_is_taken_and_leaves_no_database_behind() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let db = dir.path().join("earshot.db");
    for (args, flag) in [
        (vec!["serve", "--addr", &addr], "--addr"),
        (
            vec!["serve", "--addr", "127.0.0.1:0", "--metrics-addr", &addr],
            "--metrics-addr",
        ),
    ] {
        let (ok, _, stderr) = earshot(&args, &db);
        assert!(!ok);
        assert!(
            stderr.contains(&format!("error: could not listen on {addr}: "))
                && stderr.contains(&format!("another program, or another earshot, listens there: stop it or choose another {flag})")),
            "{args:?}: {stderr}"
        );
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(left.is_empty(), "{args:?} left {left:?}");
    }
}

#[test]
fn serve_refuses_unusable_mail_settings_before_making_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("earshot.db");
    for (args, said) in [
        (
            vec!["serve", "--addr", "127.0.0.1:0", "--smtp-url", "bogus://x"],
            "error: SMTP settings: invalid SMTP URL",
        ),
        (
            vec![
                "serve",
                "--addr",
                "127.0.0.1:0",
                "--smtp-url",
                "smtp://127.0.0.1:9",
                "--smtp-from",
                "not an address",
            ],
            "error: SMTP settings: invalid sender address",
        ),
        (
            vec![
                "serve",
                "--addr",
                "127.0.0.1:0",
                "--smtp-url",
                "smtp://me:s3cret@smtp.example.com:587",
            ],
            "error: SMTP settings: --smtp-url could send its password to smtp.example.com unencrypted: use ?tls=required",
        ),
    ] {
        let (ok, _, stderr) = earshot(&args, &db);
        assert!(!ok);
        assert!(stderr.contains(said), "{args:?}: {stderr}");
        assert!(!stderr.contains("s3cret"), "{stderr}");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(left.is_empty(), "{args:?} left {left:?}");
    }
}

#[test]
fn serve_prints_the_snippet_and_exits_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    // A relay named without a sender: the default one is noted at start.
    let mut child = Command::new(BIN)
        .args(["--addr", "127.0.0.1:0", "--smtp-url", "smtp://127.0.0.1:9"])
        .arg("--db")
        .arg(dir.path().join("earshot.db"))
        .env("EARSHOT_LOG", "warn")
        .env_remove("EARSHOT_SMTP_FROM")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut s).unwrap();
        s
    });
    // Wait until the database exists and has its default site.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !dir.path().join("earshot.db").exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "exit status {status:?}");
    let stdout = reader.join().unwrap();
    assert!(
        stdout.contains("/widget.js\" data-site=\"site_"),
        "{stdout}"
    );
    assert!(stdout.contains("(created now)"));
    assert!(
        stdout.contains("It accepts feedback from pages at http://localhost:*, http://127.0.0.1:*, http://[::1]:*."),
        "the first start says which pages may send: {stdout}"
    );
    assert!(
        stdout.contains("Note: email goes out from earshot@localhost (--smtp-from)"),
        "{stdout}"
    );
}

/// What `serve` prints on `db` up to the console's address, then stopped.
fn start_output(db: &std::path::Path, args: &[&str]) -> String {
    use std::io::BufRead;
    let mut child = Command::new(BIN)
        .args(["--addr", "127.0.0.1:0", "--db"])
        .arg(db)
        .args(args)
        .env("EARSHOT_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let (lines, seen) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let mut printed = Vec::new();
    while let Ok(line) = seen.recv_timeout(Duration::from_secs(20)) {
        let done = line.starts_with("Review console:");
        printed.push(line);
        if done {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    printed.join("\n")
}

#[test]
fn serve_warns_when_https_pages_cannot_load_the_widget_from_its_plain_http_address() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("earshot.db");
    let (ok, _, stderr) = add_shop(&db);
    assert!(ok, "{stderr}");
    let printed = start_output(&db, &["--public-url", "http://feedback.shop.example:8080"]);
    assert!(
        printed.contains("  Warning: Browsers will not show the feedback button on pages at https://shop.example: they refuse a script from http://feedback.shop.example:8080"),
        "{printed}"
    );
    // Over https, nothing to say.
    let printed = start_output(&db, &["--public-url", "https://feedback.shop.example"]);
    assert!(printed.contains("Review console:"), "{printed}");
    assert!(!printed.contains("Browsers will not show"), "{printed}");
}

#[cfg(unix)]
#[test]
fn serve_notes_a_database_other_accounts_may_read() {
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("earshot.db");
    // As an older version, or `cp` under umask 022, left it.
    std::fs::write(&db, b"").unwrap();
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let printed = start_output(&db, &[]);
    assert!(
        printed.contains(&format!(
            "Note: other accounts on this machine may read the database (mode 644), which holds customers' words and emails: `chmod 600 {}*`",
            db.display()
        )),
        "{printed}"
    );
}

#[test]
fn logs_written_to_a_file_or_pipe_carry_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("earshot.db");
    // A command that may start an installation, so the schema is made.
    let out = Command::new(BIN)
        .args([
            "user",
            "add",
            "--email",
            "bo@example.com",
            "--generate-password",
        ])
        .arg("--db")
        .arg(&db)
        .env("EARSHOT_LOG", "info")
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("created the database schema"), "{stderr}");
    assert!(!stderr.contains('\x1b'), "escape codes in: {stderr:?}");
}

#[test]
fn logs_can_be_json_lines_for_log_shippers() {
    let dir = tempfile::tempdir().unwrap();
    // After the subcommand or before it. (Commands that may start an
    // installation, so the schema is made.)
    let add = [
        "user",
        "add",
        "--email",
        "bo@example.com",
        "--generate-password",
    ];
    for (n, args) in [
        [&add[..], &["--log-format", "json", "--db"]].concat(),
        [&["--log-format", "json"], &add[..], &["--db"]].concat(),
    ]
    .into_iter()
    .enumerate()
    {
        let db = dir.path().join(format!("earshot-{n}.db"));
        let out = Command::new(BIN)
            .args(&args)
            .arg(&db)
            .env("EARSHOT_LOG", "info")
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        let line = stderr
            .lines()
            .find(|l| l.contains("created the database schema"))
            .unwrap_or_else(|| panic!("no migration log line in {stderr:?}"));
        let parsed: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(parsed["level"], "INFO", "{line}");
        assert_eq!(parsed["fields"]["message"], "created the database schema");
        assert!(
            parsed["fields"]["version"].as_u64().is_some_and(|v| v > 1),
            "the version made: {line}"
        );
    }
    let out = Command::new(BIN)
        .args(["user", "list", "--log-format", "yaml"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "an unknown format is refused");
}

/// `earshot healthcheck`, a container's HEALTHCHECK: 0 while the server
/// answers, 1 with the reason once it does not, whether nothing listens
/// or what listens answers anything but 200.
#[test]
fn healthcheck_exits_0_for_a_healthy_server_and_1_with_the_reason_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("earshot.db");
    let server = crate::helpers::Binary::start(&db, &[]);
    let port = server.url.rsplit(':').next().unwrap().to_owned();
    let check = |addr: &str, env: Option<&str>| {
        let mut command = Command::new(BIN);
        command.arg("healthcheck").env_remove("EARSHOT_ADDR");
        match env {
            Some(value) => command.env("EARSHOT_ADDR", value),
            None => command.args(["--addr", addr]),
        };
        let out = command.output().unwrap();
        (
            out.status.code(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    // As the image runs it: listening on every interface, asked on loopback.
    let everywhere = format!("0.0.0.0:{port}");
    let (code, out, err) = check("", Some(&everywhere));
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out, format!("healthy: http://127.0.0.1:{port}/healthz\n"));

    drop(server);
    let (code, _, err) = check(&everywhere, None);
    assert_eq!(code, Some(1));
    assert!(err.contains("nothing listens there"), "{err}");

    // Something answers, but not that all is well (a collector whose
    // database does not answer says 503).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let answering = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let (mut stream, _) = listener.accept().unwrap();
        let mut request = [0u8; 1024];
        let _ = stream.read(&mut request).unwrap();
        stream
            .write_all(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            .unwrap();
    });
    let (code, _, err) = check(&addr, None);
    answering.join().unwrap();
    assert_eq!(code, Some(1));
    assert!(
        err.contains(&format!("http://{addr}/healthz answered 503")),
        "{err}"
    );
}
