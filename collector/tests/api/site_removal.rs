//! Removing a site, from the console and the command line: its feedback
//! goes with it, its widget is refused at once, the last site stays.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{BIN, added_site, earshot as run};
use crate::staff::{between, complaint, console_app, location, signed_in, submit};

#[tokio::test]
async fn an_admin_removes_a_site_with_its_feedback_after_typing_its_key() {
    let (app, _) = console_app().await;
    let admin = signed_in(&app, "ada@example.com").await;
    let added = admin
        .act(
            "/console/sites",
            &[("name", "Test"), ("origins", "https://test.example")],
        )
        .await;
    assert_eq!(added.status(), StatusCode::SEE_OTHER);
    let id = between(&location(&added), "/console/sites/", "?").to_owned();
    let page = admin.html(&format!("/console/sites/{id}")).await;
    let key = between(&page, "Key <code>", "</code>").to_owned();
    let mut entries = Vec::new();
    for message in ["First test", "Second test"] {
        let body = json!({"site": key, "kind": "complaint", "message": message});
        entries.push(submit(&app, body).await);
    }
    let (kept, _) = submit(&app, complaint(&app, "A real customer")).await;
    let page = admin.html(&format!("/console/sites/{id}")).await;
    assert!(
        page.contains("Deletes the site with its 2 entries and 0 webhooks for good"),
        "{page}"
    );

    // An agent may not; a key typed wrong removes nothing.
    let agent = signed_in(&app, "bo@example.com").await;
    let forbidden = agent
        .act(&format!("/console/sites/{id}/remove"), &[("key", &key)])
        .await;
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    let wrong = admin
        .act(&format!("/console/sites/{id}/remove"), &[("key", "Test")])
        .await;
    let (first, first_status) = &entries[0];
    let status = reqwest::get(first_status).await.unwrap();
    assert_eq!(status.status(), StatusCode::OK);
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = wrong.text().await.unwrap();
    assert!(
        html.contains(&format!(
            "role=\"alert\">Type the site's key, {key}, to remove it. Nothing was removed."
        )),
        "{html}"
    );
    assert!(
        admin
            .get(&format!("/console/entries/{first}"))
            .await
            .status()
            .is_success()
    );

    let removed = admin
        .act(
            &format!("/console/sites/{id}/remove"),
            &[("key", &format!(" {key} "))],
        )
        .await;
    assert_eq!(removed.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&removed), "/console/sites?done=removed");
    let sites = admin.html("/console/sites?done=removed").await;
    assert!(sites.contains("Site removed with its feedback."), "{sites}");
    assert!(!sites.contains(&key), "{sites}");
    for (entry, _) in &entries {
        let gone = admin.get(&format!("/console/entries/{entry}")).await;
        assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    }
    // Its status links are gone too (not "removed at the customer's
    // request": that was not why).
    let status = reqwest::get(first_status).await.unwrap();
    assert_eq!(status.status(), StatusCode::NOT_FOUND);
    assert!(
        admin
            .get(&format!("/console/entries/{kept}"))
            .await
            .status()
            .is_success()
    );
    assert_eq!(
        admin.get(&format!("/console/sites/{id}")).await.status(),
        StatusCode::NOT_FOUND
    );
    // Its widget is refused at once, not after the site list's refresh.
    let late = app
        .post_json(
            &json!({"site": key, "kind": "idea", "message": "Still here?"}),
            None,
        )
        .await;
    assert_eq!(late.status(), StatusCode::FORBIDDEN);
    let error: serde_json::Value = late.json().await.unwrap();
    assert_eq!(error["error"]["code"], "unknown_site");
    let audit = crate::helpers::audit_details(&app.db(), "site.removed");
    assert_eq!(
        audit,
        [(
            "site.removed".to_owned(),
            Some("entries=2,webhooks=0".to_owned())
        )]
    );

    // The one site left cannot go: its page says so and offers no form.
    let only: i64 = app
        .db()
        .query_row("SELECT id FROM sites", [], |r| r.get(0))
        .unwrap();
    let page = admin.html(&format!("/console/sites/{only}")).await;
    assert!(page.contains("This is the only site."), "{page}");
    assert!(!page.contains("/remove\""), "{page}");
}

#[test]
fn site_remove_says_what_goes_asks_scripts_for_yes_and_keeps_the_last_site() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("earshot.db");
    let shop = added_site(&db, "Shop", "https://shop.example");
    let staging = added_site(&db, "Staging", "https://staging.example");
    let (ok, out, _) = run(&["site", "remove", &staging, "--dry-run"], &db);
    assert!(ok);
    assert_eq!(
        out,
        format!("Would remove site {staging} with 0 entries and 0 webhooks.\n")
    );
    // Not on a terminal, and without --yes: asked for it, nothing removed.
    let (ok, _, err) = run(&["site", "remove", &staging], &db);
    assert!(!ok && err.contains("pass --yes"), "{err}");
    let (ok, out, err) = run(&["site", "remove", &staging, "--yes"], &db);
    assert!(ok, "{err}");
    assert!(
        out.starts_with(&format!(
            "Removed site {staging} with 0 entries and 0 webhooks in "
        )),
        "{out}"
    );
    let (_, list, _) = run(&["site", "list"], &db);
    assert!(list.contains(&shop) && !list.contains(&staging), "{list}");
    let (ok, _, err) = run(&["site", "remove", &staging, "--yes"], &db);
    assert!(
        !ok && err.contains(&format!("no site has the key {staging}")),
        "{err}"
    );
    let (ok, _, err) = run(&["site", "remove", &shop, "--yes"], &db);
    assert!(!ok && err.contains("is the only site"), "{err}");
    let out = std::process::Command::new(BIN)
        .args(["site", "remove", "--help"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("--dry-run"));
}

#[tokio::test]
async fn feedback_for_a_site_removed_from_the_command_line_meanwhile_is_refused_not_failed() {
    let app = crate::helpers::spawn_app().await;
    let shop = added_site(&app.db_path, "Shop", "https://shop.example");
    let idea = |message: &str| json!({"site": shop, "kind": "idea", "message": message});
    // The server has the site in its directory now, for a few seconds.
    submit(&app, idea("Before")).await;
    let (db, key) = (app.db_path.clone(), shop.clone());
    let (ok, _, err) =
        tokio::task::spawn_blocking(move || run(&["site", "remove", &key, "--yes"], &db))
            .await
            .unwrap();
    assert!(ok, "{err}");
    // Its row is gone before the directory looks again: told the site is
    // unknown, as it will be from now on, never a 500.
    for message in ["After", "Again"] {
        let refused = app.post_json(&idea(message), None).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{message}");
        let error: serde_json::Value = refused.json().await.unwrap();
        assert_eq!(error["error"]["code"], "unknown_site");
    }
}
