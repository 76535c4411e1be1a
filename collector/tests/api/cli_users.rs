//! The `earshot user` commands on a database: colleagues added, listed,
//! disabled, re-enabled, given another role and renamed.

use std::process::Command;

use crate::cli::run_with_stdin;
use crate::helpers::{BIN, earshot as run};

#[test]
fn user_commands_add_list_disable_change_role_and_rename_colleagues() {
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
    let (ok, said, _) = run(&["user", "disable", "--email", "bo@example.com"], &db);
    assert!(ok);
    assert!(
        said.contains("Entries assigned to it stay so until handed on"),
        "where its work is: {said}"
    );
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

    // Roles: the last administrator stays one until another is made.
    let role =
        |email: &str, role: &str| run(&["user", "role", "--email", email, "--role", role], &db);
    let (ok, _, stderr) = role("ada@example.com", "agent");
    assert!(!ok);
    assert!(stderr.contains("last active administrator"), "{stderr}");
    let (ok, out, _) = role("bo@example.com", "admin");
    assert!(
        ok && out == "bo@example.com is now an administrator.\n",
        "{out}"
    );
    let (ok, out, _) = role("ada@example.com", "agent");
    assert!(ok && out == "ada@example.com is now an agent.\n", "{out}");
    let (ok, out, _) = role("ada@example.com", "agent");
    assert!(
        ok && out == "ada@example.com is an agent already.\n",
        "{out}"
    );
    let (ok, _, stderr) = role("cy@example.com", "admin");
    assert!(
        !ok && stderr.contains("no account has the email cy@example.com"),
        "{stderr}"
    );
    let (ok, _, stderr) = role("bo@example.com", "owner");
    assert!(!ok && stderr.contains("invalid value 'owner'"), "{stderr}");
    let (_, list, _) = run(&["user", "list"], &db);
    assert_eq!(
        list,
        "ada@example.com\tagent\tAda\nbo@example.com\tadmin\tbo\n"
    );
    for (email, back) in [("ada@example.com", "admin"), ("bo@example.com", "agent")] {
        assert!(role(email, back).0);
    }
    let (ok, out, err) = run(
        &[
            "user",
            "rename",
            "--email",
            "BO@example.com",
            "--name",
            " Bo Jensen ",
        ],
        &db,
    );
    assert!(
        ok && out.contains("bo@example.com is now called Bo Jensen."),
        "{out}{err}"
    );
    assert!(!out.contains("Also called that"), "{out}");
    // A name a colleague bears is allowed, and said.
    let rename_bo = |name: &str| {
        let args = [
            "user",
            "rename",
            "--email",
            "bo@example.com",
            "--name",
            name,
        ];
        run(&args, &db)
    };
    let (ok, out, err) = rename_bo("ADA");
    assert!(
        ok && out.contains("Also called that: ada@example.com. The console adds the email"),
        "{out}{err}"
    );
    let (ok, _, err) = rename_bo("Bo Jensen");
    assert!(ok, "{err}");
    let (ok, _, err) = rename_bo("Bo\nJ");
    assert!(!ok && err.contains("invalid --name"), "{err}");
    let (_, list, _) = run(&["user", "list"], &db);
    assert!(
        list.ends_with("bo@example.com\tagent\tBo Jensen\n"),
        "{list}"
    );
    // A taken address or an unknown account is said before any password
    // is read (here there is none to read).
    let (ok, _, stderr) = run(&["user", "add", "--email", "BO@example.com"], &db);
    assert!(!ok && stderr.contains("exists already"), "{stderr}");
    let (ok, _, stderr) = run(&["user", "password", "--email", "cy@example.com"], &db);
    assert!(
        !ok && stderr.contains("no account has the email"),
        "{stderr}"
    );
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
    // Each account added, disabled, enabled, given a role and renamed is in the audit log, done
    // by the command line (no one signed in); refusals are not.
    let log: Vec<(String, String, Option<i64>)> = rusqlite::Connection::open(&db)
        .unwrap()
        .prepare("SELECT action, subject, actor_id FROM audit_log ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let actions: Vec<(&str, &str)> = log
        .iter()
        .map(|(action, subject, _)| (action.as_str(), subject.as_str()))
        .collect();
    assert_eq!(
        actions,
        [
            ("staff.added", "ada@example.com"),
            ("staff.added", "bo@example.com"),
            ("staff.disabled", "bo@example.com"),
            ("staff.enabled", "bo@example.com"),
            ("staff.role", "bo@example.com"),
            ("staff.role", "ada@example.com"),
            ("staff.role", "ada@example.com"),
            ("staff.role", "bo@example.com"),
            ("staff.renamed", "bo@example.com"),
            ("staff.renamed", "bo@example.com"),
            ("staff.renamed", "bo@example.com"),
        ]
    );
    assert!(log.iter().all(|(_, _, actor)| actor.is_none()));

    // A colleague added under a name another bears is told so.
    let (ok, out, err) = run(
        &[
            "user",
            "add",
            "--email",
            "cy@example.com",
            "--name",
            "Áda",
            "--generate-password",
        ],
        &db,
    );
    assert!(
        ok && out.contains("Added agent Áda <cy@example.com>\nAlso called that: ada@example.com."),
        "{out}{err}"
    );
}
