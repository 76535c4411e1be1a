//! `earshot site edit`: a provisioning script changes a site's origins,
//! name and response terms, a running server follows within seconds, and
//! anything wrong changes nothing.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{
    added_site, audit_details, audit_log, earshot as run, earshot_beside, spawn_app,
};

/// `earshot site <command> <key> <args>` beside the running server.
async fn site(
    db: &std::path::Path,
    command: &str,
    key: &str,
    args: &[&str],
) -> (bool, String, String) {
    let head = ["site", command, key];
    let all = head.iter().chain(args).map(|a| (*a).to_owned());
    earshot_beside(all.collect(), db).await
}

#[tokio::test]
async fn site_edit_allows_a_new_origin_on_a_running_server_within_seconds() {
    let app = spawn_app().await;
    let staging = "https://staging.shop.example";
    let body = json!({"site": app.site_key, "kind": "idea", "message": "Dark mode"});
    let refused = app.post_json(&body, Some(staging)).await;
    assert_eq!(refused.status().as_u16(), 403);

    let (ok, stdout, stderr) = site(
        &app.db_path,
        "edit",
        &app.site_key,
        &[
            "--add-origin",
            staging,
            "--add-origin",
            "http://localhost:*",
            "--first-response-hours",
            "4",
            "--response-promise",
            " We answer within 4 hours ",
            "--receipt-email",
            "on",
        ],
    )
    .await;
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains(&format!(
            "  origins: http://localhost:* http://127.0.0.1:* http://[::1]:* {staging}\n"
        )),
        "an origin allowed already is kept once: {stdout}"
    );
    assert!(
        stdout.contains("  first response within: 4 hours\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("  response promise: \"We answer within 4 hours\"\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("  receipts to customers: emailed\n"),
        "{stdout}"
    );

    let deadline = Instant::now() + Duration::from_secs(8);
    let accepted = loop {
        let response = app.post_json(&body, Some(staging)).await;
        if response.status().as_u16() == 201 {
            break response;
        }
        assert!(
            Instant::now() < deadline,
            "the new origin is allowed within 5 seconds"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let accepted: serde_json::Value = accepted.json().await.unwrap();
    assert_eq!(accepted["response_promise"], "We answer within 4 hours");
    let (ok, shown, _) = site(&app.db_path, "show", &app.site_key, &[]).await;
    assert!(ok);
    assert!(
        shown.contains("  holds: 1 entry and 0 webhooks; last feedback 20")
            && shown.contains(&format!(
                "<script src=\"{}/widget.js\" data-site=\"{}\" defer></script>",
                app.address, app.site_key
            )),
        "the snippet at the URL the server runs with: {shown}"
    );
    let minutes: i64 = app
        .db()
        .query_row(
            "SELECT first_response_minutes FROM sites WHERE key = ?1",
            [&app.site_key],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(minutes, 240);
    assert_eq!(
        audit_details(&app.db(), "site."),
        [(
            "site.changed".to_owned(),
            Some("origins,first_response_target,response_promise,receipt_email".to_owned())
        )]
    );

    // Taken away again, and the promise removed.
    let (ok, stdout, stderr) = site(
        &app.db_path,
        "edit",
        &app.site_key,
        &[
            "--remove-origin",
            staging,
            "--response-promise",
            "",
            "--receipt-email",
            "off",
        ],
    )
    .await;
    assert!(ok, "{stderr}");
    assert!(stdout.contains("  response promise: none\n"), "{stdout}");
    assert!(
        stdout.contains("  receipts to customers: off\n"),
        "{stdout}"
    );
    let deadline = Instant::now() + Duration::from_secs(8);
    while app.post_json(&body, Some(staging)).await.status().as_u16() != 403 {
        assert!(Instant::now() < deadline, "the origin is refused again");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    app.running.stop().await.unwrap();
}

#[test]
fn site_edit_refuses_what_is_wrong_and_then_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("earshot.db");
    let shop = added_site(&db, "Shop", "https://shop.example");
    added_site(&db, "Blog", "https://blog.example");
    let (_, before, _) = run(&["site", "list"], &db);

    for (args, reason) in [
        (vec![], "name what to change: --name, --origin"),
        (
            vec!["--remove-origin", "https://blog.example"],
            "does not allow https://blog.example",
        ),
        (
            vec!["--add-origin", "shop.example"],
            "invalid --add-origin \"shop.example\": origin must start with http:// or https://",
        ),
        (
            vec!["--name", "BLOG"],
            "a site named \"Blog\" exists already",
        ),
        (
            vec!["--name", "Shop 2", "--first-response-hours", "721"],
            "the first-response target is a whole number of hours from 1 to 720",
        ),
        (
            vec!["--response-promise", "Soon\nBcc: all@example.com"],
            "a response promise is one line",
        ),
        (
            vec![
                "--origin",
                "https://a.example",
                "--add-origin",
                "https://b.example",
            ],
            "cannot be used with",
        ),
    ] {
        let mut all = vec!["site", "edit", shop.as_str()];
        all.extend(&args);
        let (ok, _, stderr) = run(&all, &db);
        assert!(!ok, "{args:?}");
        assert!(stderr.contains(reason), "{args:?}: {stderr}");
    }
    let (ok, _, stderr) = run(&["site", "edit", "site_nope", "--name", "X"], &db);
    assert!(!ok);
    assert!(stderr.contains("no site has the key site_nope"), "{stderr}");
    let (_, after, _) = run(&["site", "list"], &db);
    assert_eq!(after, before);

    // Renamed in another case, and its origins replaced outright.
    let (ok, stdout, stderr) = run(
        &[
            "site",
            "edit",
            &shop,
            "--name",
            "SHOP",
            "--origin",
            "https://shop.example",
            "--origin",
            "https://*.shop.example",
        ],
        &db,
    );
    assert!(ok, "{stderr}");
    assert!(
        stdout.starts_with(&format!(
            "Site {shop} \"SHOP\"\n  origins: https://shop.example https://*.shop.example\n  first response within: 24 hours\n"
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("  retention: feedback kept; spam deleted after 30 days\n"),
        "{stdout}"
    );

    // Retention alone: recorded as such, the site's settings untouched.
    let (ok, stdout, stderr) = run(
        &[
            "site",
            "edit",
            &shop,
            "--retention-days",
            "90",
            "--retention-scope",
            "all",
            "--spam-days",
            "1",
        ],
        &db,
    );
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains(
            "  retention: all feedback deleted after 90 days; spam deleted after 1 day\n"
        ),
        "{stdout}"
    );
    let (ok, stdout, _) = run(&["site", "edit", &shop, "--retention-days", "off"], &db);
    assert!(ok);
    assert!(
        stdout.contains("  retention: feedback kept; spam deleted after 1 day\n"),
        "the scope and spam days stay: {stdout}"
    );
    let (ok, shown, _) = run(&["site", "show", &shop], &db);
    assert!(ok);
    assert!(
        shown.starts_with(&format!("Site {shop} \"SHOP\"\n  origins: https://shop.example https://*.shop.example\n"))
            && shown.contains("  retention: feedback kept; spam deleted after 1 day\n  holds: 0 entries and 0 webhooks; last feedback never\n")
            && shown.ends_with(&format!(
                "Add this to its pages:\n  <script src=\"http://127.0.0.1:8080/widget.js\" data-site=\"{shop}\" defer></script>\n"
            )),
        "{shown}"
    );
    // No origin at all: only server-side integrations can send.
    let (ok, stdout, _) = run(&["site", "edit", &shop, "--origin", ""], &db);
    assert!(ok);
    assert!(
        stdout.contains("  origins: none (only server-side integrations can send)\n"),
        "{stdout}"
    );
    let (ok, _, stderr) = run(&["site", "show", "site_nope"], &db);
    assert!(
        !ok && stderr.contains("no site has the key site_nope"),
        "{stderr}"
    );
    let db = rusqlite::Connection::open(&db).unwrap();
    let log = audit_log(&db, "site.");
    let added: Vec<&str> = log[..2]
        .iter()
        .map(|(action, _, _, _)| action.as_str())
        .collect();
    assert_eq!(added, ["site.added", "site.added"]);
    assert_eq!(
        log[2..],
        [
            (
                "site.changed".to_owned(),
                None,
                shop.clone(),
                Some("name,origins".to_owned())
            ),
            (
                "site.retention".to_owned(),
                None,
                shop.clone(),
                Some("days=90,scope=all,spam_days=1".to_owned())
            ),
            (
                "site.retention".to_owned(),
                None,
                shop.clone(),
                Some("days=off,scope=all,spam_days=1".to_owned())
            ),
            (
                "site.changed".to_owned(),
                None,
                shop.clone(),
                Some("origins".to_owned())
            ),
        ]
    );
}

#[test]
fn site_add_takes_the_settings_site_edit_takes_and_refuses_a_bad_one_before_adding() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("earshot.db");
    let shop = added_site(&db, "Shop", "https://shop.example");

    let (ok, _, stderr) = run(
        &[
            "site",
            "add",
            "--name",
            "Blog",
            "--origin",
            "https://blog.example",
            "--spam-days",
            "off",
        ],
        &db,
    );
    assert!(!ok);
    assert!(stderr.contains("--spam-days"), "{stderr}");
    let (_, listed, _) = run(&["site", "list"], &db);
    assert!(
        listed.starts_with(&shop) && !listed.contains("Blog"),
        "{listed}"
    );

    let (ok, stdout, stderr) = run(
        &[
            "site",
            "add",
            "--name",
            "Blog",
            "--origin",
            "https://blog.example",
            "--first-response-hours",
            "4",
            "--response-promise",
            "We answer within 4 hours",
            "--receipt-email",
            "on",
            "--retention-days",
            "90",
            "--retention-scope",
            "all",
            "--spam-days",
            "7",
        ],
        &db,
    );
    assert!(ok, "{stderr}");
    let blog = stdout
        .split("with key ")
        .nth(1)
        .and_then(|rest| rest.lines().next())
        .unwrap()
        .to_owned();
    let settings = "  first response within: 4 hours\n  response promise: \"We answer within 4 hours\"\n  receipts to customers: emailed\n  retention: all feedback deleted after 90 days; spam deleted after 7 days\n";
    assert!(stdout.contains(settings), "{stdout}");
    let (ok, shown, _) = run(&["site", "show", &blog], &db);
    assert!(ok);
    assert!(shown.contains(settings), "{shown}");
    // Recorded as the console's additions and changes are, by nobody
    // signed in.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let added = audit_log(&conn, "site.");
    let actions: Vec<(&str, &str)> = added
        .iter()
        .map(|(action, who, subject, _)| {
            assert_eq!(who, &None);
            (action.as_str(), subject.as_str())
        })
        .collect();
    assert_eq!(
        actions,
        [
            ("site.added", shop.as_str()),
            ("site.added", blog.as_str()),
            ("site.changed", blog.as_str()),
            ("site.retention", blog.as_str()),
        ]
    );

    // Without settings, a site starts as every new site does.
    let (_, shop_shown, _) = run(&["site", "show", &shop], &db);
    assert!(
        shop_shown.contains("  first response within: 24 hours\n  response promise: none\n  receipts to customers: off\n  retention: feedback kept; spam deleted after 30 days\n"),
        "{shop_shown}"
    );
}
