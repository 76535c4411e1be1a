//! The `earshot` binary itself.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::{BIN, earshot as run};

#[test]
fn site_add_prints_a_snippet_and_site_list_shows_the_site() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("earshot.db");
    let out = Command::new(BIN)
        .args([
            "site",
            "add",
            "--name",
            "Fern & Fig",
            "--origin",
            "https://shop.example",
        ])
        .args([
            "--origin",
            "https://*.shop.example",
            "--public-url",
            "https://feedback.example/",
        ])
        .arg("--db")
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let key = stdout
        .split("with key ")
        .nth(1)
        .and_then(|s| s.lines().next())
        .unwrap()
        .to_owned();
    assert!(stdout.contains(&format!(
        r#"<script src="https://feedback.example/widget.js" data-site="{key}" defer></script>"#
    )));

    let list = Command::new(BIN)
        .args(["site", "list", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    let list = String::from_utf8(list.stdout).unwrap();
    assert!(list.contains(&key));
    assert!(list.contains("https://shop.example https://*.shop.example"));
}

#[test]
fn site_add_rejects_a_malformed_origin_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args([
            "site",
            "add",
            "--name",
            "x",
            "--origin",
            "shop.example",
            "--db",
        ])
        .arg(dir.path().join("earshot.db"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("invalid --origin \"shop.example\""),
        "{stderr}"
    );
}

#[test]
fn serve_prints_the_snippet_and_exits_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args(["--addr", "127.0.0.1:0", "--db"])
        .arg(dir.path().join("earshot.db"))
        .env("EARSHOT_LOG", "warn")
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
}

/// Runs `earshot <args> --db <db>` with `input` on its standard input.
fn run_with_stdin(args: &[&str], db: &std::path::Path, input: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = Command::new(BIN)
        .args(args)
        .arg("--db")
        .arg(db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn user_add_reads_the_password_from_stdin_or_generates_one_and_lists_users() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("earshot.db");
    let out = run_with_stdin(
        &[
            "user",
            "add",
            "--email",
            "ada@example.com",
            "--role",
            "admin",
            "--name",
            "Ada",
        ],
        &db,
        "a long staff passphrase\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("Added admin Ada <ada@example.com>"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("passphrase"),
        "a typed password is never echoed"
    );

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
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let password = stdout
        .split("Password (shown once): ")
        .nth(1)
        .unwrap()
        .trim();
    assert!(password.len() >= 20, "{password}");

    // Too short a password, a duplicate email, a malformed email: refused.
    for (args, input) in [
        (vec!["--email", "cy@example.com"], "short\n"),
        (
            vec!["--email", "ADA@example.com"],
            "another long passphrase\n",
        ),
        (vec!["--email", "not-an-email"], "another long passphrase\n"),
    ] {
        let out = run_with_stdin(&[["user", "add"].as_slice(), &args].concat(), &db, input);
        assert!(!out.status.success(), "{args:?} was accepted");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.lines().any(|l| l.starts_with("error: ")),
            "{args:?}: {stderr}"
        );
    }

    let out = Command::new(BIN)
        .args(["user", "list", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        stdout,
        "ada@example.com\tadmin\tAda\nbo@example.com\tagent\tbo\n"
    );

    // Disabling: listed last and marked; the last admin cannot be.
    let (ok, _, _) = run(&["user", "disable", "--email", "bo@example.com"], &db);
    assert!(ok);
    let (ok, _, stderr) = run(&["user", "disable", "--email", "ada@example.com"], &db);
    assert!(!ok);
    assert!(stderr.contains("last active administrator"), "{stderr}");
    let (_, list, _) = run(&["user", "list"], &db);
    assert_eq!(
        list,
        "ada@example.com\tadmin\tAda\nbo@example.com\tagent\tbo\tdisabled\n"
    );
    let (ok, _, _) = run(&["user", "enable", "--email", "bo@example.com"], &db);
    assert!(ok);
    let (_, list, _) = run(&["user", "list"], &db);
    assert!(list.ends_with("bo@example.com\tagent\tbo\n"), "{list}");
    let stored: String = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT password_hash FROM users WHERE email = 'bo@example.com'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(stored.starts_with("$argon2id$"));
    assert!(!stored.contains(password));
}

#[test]
fn dev_seed_fills_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("earshot.db");
    let out = Command::new(BIN)
        .args(["dev", "seed", "--count", "2500", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let conn = rusqlite::Connection::open(&db).unwrap();
    let (entries, fts, waiting): (i64, i64, i64) = conn
        .query_row(
            "SELECT (SELECT count(*) FROM entries), (SELECT count(*) FROM entries_fts),
                    (SELECT count(*) FROM entries WHERE first_response_at IS NULL
                       AND status IN ('new', 'acknowledged', 'in_progress'))",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(entries, 2500);
    assert_eq!(fts, 2500, "every entry is searchable");
    assert!(
        waiting > 0 && waiting < 250,
        "a realistic backlog: {waiting}"
    );
}

/// Runs `earshot <args> --db <db>` and returns (success, stdout, stderr).

#[tokio::test]
async fn a_webhook_added_from_the_command_line_works_on_a_running_server_within_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("earshot.db");
    let server = crate::helpers::Binary::start(&db, &[("EARSHOT_ALLOW_PRIVATE_WEBHOOKS", "1")]);
    let receiver = crate::receiver::Receiver::start().await;
    let (ok, out, err) = run(
        &[
            "webhook",
            "add",
            "--site",
            &server.site_key,
            "--url",
            &receiver.url,
            "--event",
            "entry.created,entry.replied",
            "--format",
            "standard",
        ],
        &db,
    );
    assert!(ok, "{err}");
    let id = out
        .split("Added webhook ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap()
        .to_owned();
    assert!(id.starts_with("wh_"), "{out}");
    let secret = out
        .split("(shown once): ")
        .nth(1)
        .unwrap()
        .trim()
        .to_owned();
    assert!(secret.starts_with("whsec_"));
    let started = Instant::now();
    let client = reqwest::Client::new();
    let body =
        serde_json::json!({"site": server.site_key, "kind": "idea", "message": "Gift wrapping"});
    let response = client
        .post(format!("{}/api/v1/feedback", server.url))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let got = receiver.wait_for(1, Duration::from_secs(5)).await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(got[0].json()["type"], "entry.created");

    let (_, list, _) = run(&["webhook", "list"], &db);
    assert!(
        list.contains(&id) && list.contains("entry.created,entry.replied"),
        "{list}"
    );
    assert!(list.contains("active"));
    let (ok, rotated, _) = run(&["webhook", "rotate", &id], &db);
    assert!(ok && rotated.contains("whsec_") && !rotated.contains(&secret));
    let (ok, _, _) = run(&["webhook", "remove", &id], &db);
    assert!(ok);
    let (ok, _, err) = run(&["webhook", "remove", &id], &db);
    assert!(!ok && err.contains("no webhook has the id"), "{err}");
    let (ok, _, err) = run(
        &[
            "webhook",
            "add",
            "--site",
            &server.site_key,
            "--url",
            &receiver.url,
            "--event",
            "entry.deleted",
        ],
        &db,
    );
    assert!(!ok && err.contains("unknown event"), "{err}");
}

#[test]
fn user_notify_shows_and_changes_a_colleagues_settings() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("earshot.db");
    let out = run_with_stdin(
        &[
            "user",
            "add",
            "--email",
            "cy@example.com",
            "--role",
            "admin",
        ],
        &db,
        "a long enough password\n",
    );
    assert!(out.status.success());
    let (ok, shown, _) = run(&["user", "notify", "--email", "cy@example.com"], &db);
    assert!(ok);
    assert_eq!(
        shown.trim(),
        "immediate=complaint,expectation,blocking\nsites=all\ndigest=8\nassigned=on"
    );
    let (ok, changed, err) = run(
        &[
            "user",
            "notify",
            "--email",
            "cy@example.com",
            "--set",
            "immediate=question",
            "--set",
            "digest=off",
            "--set",
            "assigned=off",
        ],
        &db,
    );
    assert!(ok, "{err}");
    assert_eq!(
        changed.trim(),
        "immediate=question\nsites=all\ndigest=off\nassigned=off"
    );
    let (ok, _, err) = run(
        &[
            "user",
            "notify",
            "--email",
            "cy@example.com",
            "--set",
            "digest=25",
        ],
        &db,
    );
    assert!(!ok && err.contains("digest takes off or an hour"), "{err}");
    let (ok, _, err) = run(&["user", "notify", "--email", "nobody@example.com"], &db);
    assert!(!ok && err.contains("no account"), "{err}");
}

/// The token `earshot token add` printed.
fn printed_token(out: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix("Token (shown once): "))
        .expect("the token is printed")
        .to_owned()
}

#[tokio::test]
async fn tokens_from_the_command_line_work_on_a_running_server_and_revoke_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("earshot.db");
    let server = crate::helpers::Binary::start(&db, &[]);
    let (ok, _, err) = run(
        &[
            "user",
            "add",
            "--email",
            "bo@example.com",
            "--generate-password",
        ],
        &db,
    );
    assert!(ok, "{err}");
    let (ok, _, err) = run(
        &[
            "token",
            "add",
            "--email",
            "nobody@example.com",
            "--name",
            "x",
            "--scope",
            "read",
        ],
        &db,
    );
    assert!(!ok && err.contains("nobody@example.com"), "{err}");
    let (ok, _, err) = run(
        &[
            "token",
            "add",
            "--email",
            "bo@example.com",
            "--name",
            "x",
            "--scope",
            "admin",
        ],
        &db,
    );
    assert!(!ok && err.contains("scope"), "{err}");
    let (ok, out, err) = run(
        &[
            "token",
            "add",
            "--email",
            "BO@example.com",
            "--name",
            "nightly export",
            "--scope",
            "read",
            "--expires-days",
            "30",
        ],
        &db,
    );
    assert!(ok, "{err}");
    let token = printed_token(&out);
    assert!(token.starts_with("esk_") && token.len() == 56, "{out}");
    assert!(out.contains("scope read, expires "), "{out}");

    let client = reqwest::Client::new();
    let sites = client
        .get(format!("{}/api/v1/sites", server.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(sites.status(), 200);

    let (ok, list, _) = run(&["token", "list"], &db);
    assert!(ok);
    assert!(!list.contains(&token), "never printed again");
    assert!(
        list.contains(&token[..10]) && list.contains("nightly export"),
        "{list}"
    );
    assert!(
        !list.contains("last used never"),
        "the use is recorded: {list}"
    );
    let id = list.split_whitespace().next().unwrap().to_owned();
    assert!(id.starts_with("tok_"), "{list}");
    let (ok, out, _) = run(&["token", "revoke", &id], &db);
    assert!(ok, "{out}");
    let refused = client
        .get(format!("{}/api/v1/sites", server.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let (ok, _, err) = run(&["token", "revoke", &id], &db);
    assert!(!ok && err.contains(&id), "{err}");
}

#[tokio::test]
async fn an_export_of_a_hundred_thousand_entries_streams_in_flat_memory() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("earshot.db");
    let (ok, _, err) = run(&["dev", "seed", "--count", "100000"], &db);
    assert!(ok, "{err}");
    let (ok, _, err) = run(
        &[
            "user",
            "add",
            "--email",
            "bo@example.com",
            "--generate-password",
        ],
        &db,
    );
    assert!(ok, "{err}");
    let (ok, out, err) = run(
        &[
            "token",
            "add",
            "--email",
            "bo@example.com",
            "--name",
            "export",
            "--scope",
            "read",
        ],
        &db,
    );
    assert!(ok, "{err}");
    let token = printed_token(&out);
    let server = crate::helpers::Binary::start(&db, &[]);
    // The seeded entries are indexed for search and rolled up for reports
    // in the background after start; measure the export after that work,
    // whose memory is not the export's.
    let caught_up = || {
        rusqlite::Connection::open(&db)
            .unwrap()
            .query_row(
                "SELECT (SELECT max(id) FROM entries)
                        = (SELECT max(rowid) FROM entries_fts)
                    AND (SELECT max(id) FROM entries)
                        <= (SELECT upto FROM cursors WHERE name = 'rollup_entries')",
                [],
                |r| r.get::<_, bool>(0),
            )
            .unwrap_or(false)
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !caught_up() {
        assert!(
            std::time::Instant::now() < deadline,
            "background work never caught up"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // Reads one whole export, checking every line; returns (bytes, lines,
    // peak server RSS in KiB).
    let export = async || {
        let mut response = reqwest::Client::new()
            .get(format!(
                "{}/api/v1/entries/export.ndjson?view=all",
                server.url
            ))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let (mut bytes, mut lines, mut peak) = (0usize, 0i64, 0);
        let mut partial = Vec::new();
        while let Some(chunk) = response.chunk().await.unwrap() {
            bytes += chunk.len();
            partial.extend_from_slice(&chunk);
            // Every line is a whole entry.
            while let Some(end) = partial.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = partial.drain(..=end).collect();
                let entry: serde_json::Value = serde_json::from_slice(&line).unwrap();
                assert!(entry["reference"].is_string());
                lines += 1;
            }
            peak = peak.max(server.rss_kib());
        }
        assert!(partial.is_empty(), "the export ends with a whole line");
        (bytes, lines, peak)
    };
    let before = server.rss_kib();
    let (bytes, lines, first_peak) = export().await;
    // `view=all` is everything but spam, as in the console.
    let not_spam: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT count(*) FROM entries WHERE status <> 'spam'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(not_spam > 95_000, "{not_spam}");
    assert_eq!(lines, not_spam);
    let settled = server.rss_kib();
    let (_, again, second_peak) = export().await;
    assert_eq!(again, lines);
    eprintln!(
        "exported {lines} entries ({} MB) twice; server RSS {before} KiB before, peak {first_peak} KiB, {settled} KiB between, peak {second_peak} KiB the second time",
        bytes / 1_000_000
    );
    // The first export also warms what the process keeps for any read
    // (SQLite page caches of the pooled reader connections, allocator arenas
    // of the threads that ran them): 30-52 MB measured on an idle machine,
    // 73 MB once while other builds loaded it, so the first export cannot
    // tell streaming from holding within its size; it only guards against
    // gross growth (rows held as values weigh several times their text).
    // The proof is the second: warm, a whole export adds little, where
    // holding it would add its 68 MB again. "Little" is not zero: the second
    // may run its chunks on reader connections and blocking threads the
    // first did not use, each warming its own page cache (2 MiB) and
    // allocator arena; 10 MB was seen once on a loaded CI machine. A quarter
    // of what was sent keeps a wide gap on both sides.
    let first = first_peak.saturating_sub(before) as usize * 1024;
    assert!(
        first < 2 * bytes,
        "the first export grew the server by {first} bytes, twice the {bytes} it sent"
    );
    let second = second_peak.saturating_sub(settled) as usize * 1024;
    assert!(
        second < bytes / 4,
        "a second export grew the server by {second} bytes, over a quarter of the {bytes} it sent"
    );
}

#[test]
fn logs_written_to_a_file_or_pipe_carry_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("earshot.db");
    let out = Command::new(BIN)
        .args(["user", "list", "--db"])
        .arg(&db)
        .env("EARSHOT_LOG", "info")
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("applied database migration"), "{stderr}");
    assert!(!stderr.contains('\x1b'), "escape codes in: {stderr:?}");
}

#[test]
fn logs_can_be_json_lines_for_log_shippers() {
    let dir = tempfile::tempdir().unwrap();
    // After the subcommand (`earshot serve --log-format json`), or alone
    // for the default `serve`.
    for (n, args) in [vec!["user", "list", "--log-format", "json", "--db"]]
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
            .find(|l| l.contains("applied database migration"))
            .unwrap_or_else(|| panic!("no migration log line in {stderr:?}"));
        let parsed: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(parsed["level"], "INFO", "{line}");
        assert_eq!(parsed["fields"]["message"], "applied database migration");
    }
    let out = Command::new(BIN)
        .args(["user", "list", "--log-format", "yaml"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "an unknown format is refused");
}
