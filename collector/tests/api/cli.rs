//! The `earshot` binary's commands on a database: sites, listings and
//! seeding (the user commands are in `cli_users`).

use std::process::{Command, Stdio};

use crate::cli_integrations::{add_admin, add_colleague};
use crate::helpers::{BIN, add_shop, earshot as run};
use crate::staff::between;

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
fn site_add_takes_a_one_line_name_no_other_site_has() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("earshot.db");
    let add = |name: &str| {
        run(
            &[
                "site",
                "add",
                "--name",
                name,
                "--origin",
                "https://shop.example",
            ],
            &db,
        )
    };
    let (ok, stdout, _) = add("  Fern & Fig ");
    assert!(ok);
    assert!(
        stdout.starts_with("Added site \"Fern & Fig\" with key "),
        "{stdout}"
    );
    let key = between(&stdout, "with key ", "\n").to_owned();
    // The same script run again: refused, naming the site that has it.
    for (name, reason) in [
        (
            "Fern & Fig",
            format!("a site named \"Fern & Fig\" exists already, with key {key}"),
        ),
        (
            "FERN & FIG",
            format!("a site named \"Fern & Fig\" exists already, with key {key}"),
        ),
        ("   ", "invalid --name: enter a name".to_owned()),
        ("Fern\nBcc: all@example.com", "line breaks".to_owned()),
        (&"x".repeat(101), "at most 100 characters".to_owned()),
    ] {
        let (ok, _, stderr) = add(name);
        assert!(!ok, "{name:?}");
        assert!(stderr.contains(&reason), "{name:?}: {stderr}");
    }
    let (_, list, _) = run(&["site", "list"], &db);
    assert_eq!(list.lines().count(), 1, "{list}");
}

/// `earshot site list | head -1`: the reader gone, the command stops
/// quietly as a Unix tool stopped by SIGPIPE does (141), not with a panic
/// in the log.
#[test]
fn a_listing_whose_reader_has_gone_stops_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("earshot.db");
    let (ok, _, _) = add_shop(&db);
    assert!(ok);
    let mut child = Command::new(BIN)
        .args(["site", "list", "--db"])
        .arg(&db)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Closed long before the command has opened the database.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(141));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn commands_run_away_from_the_database_refuse_rather_than_start_an_empty_one() {
    let dir = tempfile::tempdir().unwrap();
    let commands: [&[&str]; 5] = [
        &[
            "user",
            "add",
            "--email",
            "bo@example.com",
            "--generate-password",
        ],
        &["user", "list"],
        &["erase", "--email", "ana@example.com", "--yes"],
        &["token", "list"],
        &["backup", "--to", "copy.db"],
    ];
    for args in commands {
        let out = Command::new(BIN)
            .args(args)
            .current_dir(dir.path())
            .env_remove("EARSHOT_DB")
            .env_remove("EARSHOT_DATABASE_URL")
            .output()
            .unwrap();
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(!out.status.success(), "{args:?}");
        assert!(
            err.contains("no database at ./earshot.db (") && err.contains("--db <file>"),
            "{args:?}: {err}"
        );
    }
    // Not "nothing is held about ana@…" from an empty database of its own.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

    // Named, a missing database is refused where only an existing one makes
    // sense, and created where an installation may begin.
    let db = dir.path().join("new.db");
    let (ok, _, err) = run(&["erase", "--email", "ana@example.com", "--yes"], &db);
    assert!(!ok && err.contains("no database at"), "{err}");
    assert!(!db.exists());
    add_colleague(&db, "bo@example.com");
    assert!(db.exists());
}

#[test]
fn a_blank_address_names_nobody_to_erase_or_export() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("earshot.db");
    add_colleague(&db, "bo@example.com");
    for args in [
        &["erase", "--email", "  ", "--yes"][..],
        &["export-person", "--email", ""],
    ] {
        let (ok, out, err) = run(args, &db);
        assert!(!ok, "{args:?}: {out}");
        assert!(
            err.contains("'--email <EMAIL>'") && err.contains("this one is blank"),
            "{args:?}: {err}"
        );
        assert!(!out.contains("Nothing is held about"), "{args:?}: {out}");
    }
}

#[test]
fn an_empty_list_says_so_and_how_to_add_one_on_stderr_only() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("earshot.db");
    add_colleague(&db, "bo@example.com");
    for (args, hint) in [
        (&["site", "list"][..], "No sites yet: earshot site add"),
        (
            &["webhook", "list"][..],
            "No webhooks yet: earshot webhook add",
        ),
        (
            &["token", "list"][..],
            "No API tokens yet: earshot token add",
        ),
        (
            &["token", "list", "--email", "bo@example.com"][..],
            "bo@example.com has no API tokens.",
        ),
    ] {
        let (ok, stdout, stderr) = run(args, &db);
        assert!(ok, "{args:?}: {stderr}");
        // Scripts reading the list see no line at all.
        assert_eq!(stdout, "", "{args:?}");
        assert!(stderr.contains(hint), "{args:?}: {stderr}");
    }
    // A list with something in it has no hint.
    let (ok, stdout, stderr) = run(&["user", "list"], &db);
    assert!(ok && stdout.contains("bo@example.com"), "{stdout}");
    assert!(!stderr.contains("No staff accounts"), "{stderr}");
}

#[test]
fn database_and_log_options_may_come_before_the_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("earshot.db");
    add_colleague(&db, "bo@example.com");
    let out = Command::new(BIN)
        .arg("--db")
        .arg(&db)
        .args(["--log-format", "json", "user", "list"])
        .output()
        .unwrap();
    let listed = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(listed.contains("bo@example.com"), "{listed}");
    // Options that belong to the server alone still say so.
    let out = Command::new(BIN)
        .arg("--db")
        .arg(&db)
        .args(["--addr", "127.0.0.1:9", "user", "list"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be used with '--addr"));
}

/// Runs `earshot <args> --db <db>` with `input` on its standard input.
pub(crate) fn run_with_stdin(
    args: &[&str],
    db: &std::path::Path,
    input: &str,
) -> std::process::Output {
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
fn dev_seed_fills_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("earshot.db");
    add_admin(&db, "ada@example.com");
    let out = Command::new(BIN)
        .args(["dev", "seed", "--count", "2500", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("no administrator"), "{stderr}");
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
    // Closed entries were closed by someone, when: the reports' resolution
    // times and the timelines have it.
    let (closed, unexplained, resolution_rows): (i64, i64, i64) = conn
        .query_row(
            "SELECT (SELECT count(*) FROM entries WHERE status IN ('resolved', 'wont_fix')),
                    (SELECT count(*) FROM entries e WHERE status NOT IN ('new', 'spam')
                       AND NOT EXISTS (SELECT 1 FROM events ev WHERE ev.entry_id = e.id
                         AND ev.kind = 'status' AND ev.new_value = e.status
                         AND ev.created_at >= e.created_at)),
                    (SELECT coalesce(sum(n), 0) FROM rollup_resolution)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert!(closed > 1_000, "{closed}");
    assert_eq!(unexplained, 0);
    // By the administrator, never the customer, and never in the future.
    let (by_nobody, ahead): (i64, i64) = conn
        .query_row(
            "SELECT (SELECT count(*) FROM events WHERE actor_id IS NULL),
                    (SELECT count(*) FROM events WHERE created_at > ?1)",
            [earshot_collector::clock::system_millis()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((by_nobody, ahead), (0, 0));
    assert_eq!(resolution_rows, closed, "every resolution is in the report");
    // Made-up entries from the past year are not news to announce.
    let announced_upto: i64 = conn
        .query_row(
            "SELECT upto FROM cursors WHERE name = 'dispatched_entries'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let newest: i64 = conn
        .query_row("SELECT max(id) FROM entries", [], |r| r.get(0))
        .unwrap();
    assert_eq!(announced_upto, newest);
}

/// `--json` on every list: one object per line with every field, times in
/// RFC 3339 and null when unset, for scripts (an audit of who never signed
/// in, tokens about to expire) that columns cannot serve.
#[test]
fn every_list_prints_one_json_object_per_line_with_every_field_for_scripts() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("earshot.db");
    add_admin(&db, "ada@example.com");
    add_colleague(&db, "bo@example.com");
    let (ok, _, err) = run(&["user", "disable", "--email", "bo@example.com"], &db);
    assert!(ok, "{err}");
    let (ok, added, err) = add_shop(&db);
    assert!(ok, "{err}");
    let key = between(&added, "with key ", "\n").to_owned();
    let (ok, token_added, err) = run(
        &[
            "token",
            "add",
            "--email",
            "ada@example.com",
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
    let (ok, _, err) = run(
        &[
            "webhook",
            "add",
            "--site",
            &key,
            "--url",
            "https://93.184.216.34/earshot",
            "--event",
            "entry.created",
        ],
        &db,
    );
    assert!(ok, "{err}");

    let listed = |args: &[&str]| -> Vec<serde_json::Value> {
        let mut args = args.to_vec();
        args.push("--json");
        let (ok, out, err) = run(&args, &db);
        assert!(ok, "{args:?}: {err}");
        out.lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
            .collect()
    };
    let rfc3339 = |v: &serde_json::Value| {
        v.as_str()
            .is_some_and(|t| t.len() >= 20 && t.as_bytes()[10] == b'T' && t.ends_with('Z'))
    };

    let users = listed(&["user", "list"]);
    assert_eq!(users.len(), 2, "{users:?}");
    let ada = users
        .iter()
        .find(|u| u["email"] == "ada@example.com")
        .unwrap();
    assert_eq!(
        (&ada["role"], &ada["name"]),
        (&"admin".into(), &"ada".into())
    );
    assert!(rfc3339(&ada["created_at"]), "{ada}");
    assert!(ada["last_sign_in_at"].is_null() && ada["disabled_at"].is_null());
    let bo = users
        .iter()
        .find(|u| u["email"] == "bo@example.com")
        .unwrap();
    assert!(rfc3339(&bo["disabled_at"]), "{bo}");

    let sites = listed(&["site", "list"]);
    assert_eq!(sites.len(), 1, "{sites:?}");
    assert_eq!(sites[0]["key"], key.as_str());
    assert_eq!(sites[0]["name"], "Shop");
    assert_eq!(
        sites[0]["origins"],
        serde_json::json!(["https://shop.example"])
    );

    let tokens = listed(&["token", "list"]);
    assert_eq!(tokens.len(), 1, "{tokens:?}");
    let token = &tokens[0];
    assert!(token["id"].as_str().unwrap().starts_with("tok_"), "{token}");
    assert_eq!(
        (
            &token["email"],
            &token["scope"],
            &token["name"],
            &token["state"]
        ),
        (
            &"ada@example.com".into(),
            &"read".into(),
            &"nightly export".into(),
            &"active".into()
        )
    );
    assert!(rfc3339(&token["expires_at"]) && token["last_used_at"].is_null());
    let secret = between(&token_added, "Token (shown once): ", "\n");
    assert!(
        secret.len() > 40 && !token.to_string().contains(secret),
        "never the token, only its start: {token}"
    );
    assert!(secret.starts_with(token["hint"].as_str().unwrap()));

    let hooks = listed(&["webhook", "list"]);
    assert_eq!(hooks.len(), 1, "{hooks:?}");
    let hook = &hooks[0];
    assert!(hook["id"].as_str().unwrap().starts_with("wh_"), "{hook}");
    assert_eq!(hook["site"], key.as_str());
    assert_eq!(hook["url"], "https://93.184.216.34/earshot");
    assert_eq!(hook["events"], serde_json::json!(["entry.created"]));
    assert_eq!(
        (&hook["state"], &hook["pending"]),
        (&"active".into(), &0.into())
    );
    assert!(
        !hook.to_string().contains("whsec_"),
        "never the secret: {hook}"
    );

    // Without it, the columns scripts already read are unchanged.
    let (_, columns, _) = run(&["user", "list"], &db);
    assert!(
        columns.contains("bo@example.com\tagent\tbo\tdisabled\n"),
        "{columns}"
    );
}
