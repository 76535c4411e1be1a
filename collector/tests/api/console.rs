//! The review console over real HTTP: workflow, replies, promises, bulk
//! actions, and customer text shown safely.

use earshot_collector::auth::{Password, password};
use earshot_collector::store::{NewUser, Role};
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{smtp_sink, spawn_app_with};
use crate::staff::{DAY, PASSWORD, between, complaint, console_app, location, signed_in, submit};

#[tokio::test]
async fn the_inbox_lists_waiting_customers_oldest_first_with_their_wait() {
    let (app, clock) = console_app().await;
    let (old, _) = submit(&app, complaint(&app, "Oldest complaint")).await;
    clock.advance(20 * 3_600_000);
    let (new, _) = submit(&app, complaint(&app, "Newer complaint")).await;
    clock.advance(5 * 3_600_000);
    let console = signed_in(&app, "bo@example.com").await;
    let html = console.html("/console").await;
    let (a, b) = (html.find(&old).unwrap(), html.find(&new).unwrap());
    assert!(a < b, "oldest waiting first");
    assert!(html.contains("<strong>2</strong> waiting for a first response"));
    // The store stamps entries with the real time; the wait is computed
    // against the console's clock, so only check the colour classes exist.
    assert!(html.contains("class=\"wait "));
}

#[tokio::test]
async fn a_reply_stops_the_clock_acknowledges_and_reaches_the_status_page_but_notes_do_not() {
    let (app, _) = console_app().await;
    let (id, status_url) = submit(&app, complaint(&app, "Rabattcode abgelehnt")).await;
    let console = signed_in(&app, "ada@example.com").await;
    // Clicked twice: one note.
    for _ in 0..2 {
        let response = console
            .act(
                &format!("/console/entries/{id}/note"),
                &[("body", "Internal: PSP bug #42")],
            )
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
    }
    let response = console
        .act(
            &format!("/console/entries/{id}/reply"),
            &[
                ("body", "Danke! Wir haben den Fehler gefunden."),
                ("promise_text", "Behoben im nächsten Release"),
                ("promise_due", "2026-11-27"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&response),
        format!("/console/entries/{id}?done=reply#timeline")
    );

    let confirmed = console
        .html(&format!("/console/entries/{id}?done=reply"))
        .await;
    assert!(confirmed.contains("Reply sent: it is on the customer"));
    let inbox = console.html("/console").await;
    assert!(
        !inbox.contains(&id),
        "answered entries leave 'Needs a response'"
    );
    let entry = console.html(&format!("/console/entries/{id}")).await;
    assert!(entry.contains("First response after"));
    assert!(entry.contains("changed the status from New to Acknowledged"));
    assert_eq!(entry.matches("Internal: PSP bug #42").count(), 1);
    assert!(entry.contains("Behoben im nächsten Release"));

    let status_page = reqwest::get(&status_url)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(status_page.contains("lang=\"de\""));
    assert!(
        status_page.contains("Bestätigt"),
        "status in the customer's language"
    );
    assert!(status_page.contains("Danke! Wir haben den Fehler gefunden."));
    assert!(status_page.contains("Behoben im nächsten Release"));
    assert!(status_page.contains("2026-11-27"));
    assert!(
        !status_page.contains("PSP bug"),
        "notes never reach the customer"
    );
    assert!(!status_page.contains("Ada"), "nor staff names");
}

#[tokio::test]
async fn an_answered_entry_rescued_from_spam_goes_back_to_where_it_was() {
    let (app, _) = console_app().await;
    let (id, _) = submit(&app, complaint(&app, "Looks like spam, is not")).await;
    let console = signed_in(&app, "bo@example.com").await;
    let path = |action: &str| format!("/console/entries/{id}/{action}");
    let replied = console
        .act(&path("reply"), &[("body", "Which order?")])
        .await;
    assert_eq!(replied.status(), StatusCode::SEE_OTHER);
    let marked = console.act(&path("status"), &[("status", "spam")]).await;
    assert_eq!(marked.status(), StatusCode::SEE_OTHER);
    // The page offers the status it had, not "new": it was answered.
    let page = console.html(&format!("/console/entries/{id}")).await;
    assert!(
        page.contains("<option value=\"acknowledged\" selected>Acknowledged</option>"),
        "{page}"
    );
    assert!(
        page.contains("<option value=\"new\">New</option>"),
        "{page}"
    );
    let rescued = console
        .act(&path("status"), &[("status", "acknowledged")])
        .await;
    assert_eq!(rescued.status(), StatusCode::SEE_OTHER);
    let status: String = app
        .db()
        .query_row("SELECT status FROM entries", [], |r| r.get(0))
        .unwrap();
    assert_eq!(status, "acknowledged");
    // Out of spam only to an open status.
    console.act(&path("status"), &[("status", "spam")]).await;
    let closed = console
        .act(&path("status"), &[("status", "resolved")])
        .await;
    assert_eq!(closed.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn workflow_moves_are_recorded_and_impossible_ones_are_refused() {
    let (app, _) = console_app().await;
    let (id, _) = submit(&app, complaint(&app, "Broken link")).await;
    let console = signed_in(&app, "bo@example.com").await;
    let status = |to: &'static str| {
        let path = format!("/console/entries/{id}/status");
        let console = &console;
        async move { console.act(&path, &[("status", to)]).await.status() }
    };
    assert_eq!(status("in_progress").await, StatusCode::SEE_OTHER);
    assert_eq!(status("resolved").await, StatusCode::SEE_OTHER);
    let refused = console
        .act(
            &format!("/console/entries/{id}/status"),
            &[("status", "new")],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    assert!(refused.text().await.unwrap().contains("cannot move to new"));
    assert_eq!(status("bogus").await, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(status("in_progress").await, StatusCode::SEE_OTHER, "reopen");

    let response = console
        .act(
            &format!("/console/entries/{id}/assign"),
            &[("assignee", "1")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let missing = console
        .act(
            &format!("/console/entries/{id}/assign"),
            &[("assignee", "999")],
        )
        .await;
    assert_eq!(missing.status(), StatusCode::CONFLICT);

    let moves: Vec<(String, Option<String>, Option<String>, String)> = {
        let db = app.db();
        let mut stmt = db
            .prepare(
                "SELECT ev.kind, ev.old_value, ev.new_value, u.name FROM events ev
                 JOIN users u ON u.id = ev.actor_id ORDER BY ev.id",
            )
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let expected = [
        ("status", Some("new"), Some("in_progress")),
        ("status", Some("in_progress"), Some("resolved")),
        ("status", Some("resolved"), Some("in_progress")),
        ("assign", None, Some("Ada")),
    ];
    assert_eq!(moves.len(), expected.len());
    for (got, want) in moves.iter().zip(expected) {
        assert_eq!(got.0, want.0);
        assert_eq!(got.1.as_deref(), want.1);
        assert_eq!(got.2.as_deref(), want.2);
        assert_eq!(got.3, "Bo", "who did it");
    }
}

#[tokio::test]
async fn a_status_change_made_on_a_stale_page_does_not_undo_a_colleagues_move() {
    let (app, _) = console_app().await;
    let (id, _) = submit(&app, complaint(&app, "Broken link")).await;
    let (ada, bo) = (
        signed_in(&app, "ada@example.com").await,
        signed_in(&app, "bo@example.com").await,
    );
    let path = format!("/console/entries/{id}/status");
    // Ada opens the entry while it is new; Bo closes it meanwhile.
    let page = ada.html(&format!("/console/entries/{id}")).await;
    let seen = between(&page, r#"name="seen" value=""#, "\"").to_owned();
    assert_eq!(seen, "new");
    let closed = bo
        .act(&path, &[("status", "wont_fix"), ("seen", "new")])
        .await;
    assert_eq!(closed.status(), StatusCode::SEE_OTHER);

    let stale = ada
        .act(&path, &[("status", "resolved"), ("seen", &seen)])
        .await;
    assert_eq!(stale.status(), StatusCode::CONFLICT);
    let said = stale.text().await.unwrap();
    assert!(
        said.contains("moved the entry to won") && said.contains("look at it again"),
        "{said}"
    );
    let status = || -> String {
        app.db()
            .query_row("SELECT status FROM entries", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(status(), "wont_fix", "Bo's move stands");

    // Looking again, Ada sees it closed and may reopen it.
    let page = ada.html(&format!("/console/entries/{id}")).await;
    let seen = between(&page, r#"name="seen" value=""#, "\"").to_owned();
    let reopened = ada
        .act(&path, &[("status", "in_progress"), ("seen", &seen)])
        .await;
    assert_eq!(reopened.status(), StatusCode::SEE_OTHER);
    assert_eq!(status(), "in_progress");
    let junk = ada
        .act(&path, &[("status", "resolved"), ("seen", "closed")])
        .await;
    assert_eq!(junk.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn an_assignment_made_on_a_stale_page_does_not_take_the_entry_from_a_colleague() {
    let (app, _) = console_app().await;
    let (id, _) = submit(&app, complaint(&app, "Broken link")).await;
    let (ada, bo) = (
        signed_in(&app, "ada@example.com").await,
        signed_in(&app, "bo@example.com").await,
    );
    let user_id = |email: &str| -> String {
        app.db()
            .query_row("SELECT id FROM users WHERE email = ?1", [email], |r| {
                r.get::<_, i64>(0)
            })
            .unwrap()
            .to_string()
    };
    let (ada_id, bo_id) = (user_id("ada@example.com"), user_id("bo@example.com"));
    let path = format!("/console/entries/{id}/assign");
    let seen_on = async |console: &crate::staff::Console| -> String {
        let page = console.html(&format!("/console/entries/{id}")).await;
        let form = between(&page, "/assign\"", "</form>").to_owned();
        between(&form, r#"name="seen" value=""#, "\"").to_owned()
    };
    // Ada opens the entry while nobody has it; Bo takes it meanwhile.
    let seen = seen_on(&ada).await;
    assert_eq!(seen, "none");
    let taken = bo
        .act(
            &path,
            &[("assignee", &bo_id), ("seen", &seen_on(&bo).await)],
        )
        .await;
    assert_eq!(taken.status(), StatusCode::SEE_OTHER);

    let stale = ada
        .act(&path, &[("assignee", &ada_id), ("seen", &seen)])
        .await;
    assert_eq!(stale.status(), StatusCode::CONFLICT);
    let said = stale.text().await.unwrap();
    assert!(
        said.contains("changed who the entry is assigned to"),
        "{said}"
    );
    let assignee = || -> Option<i64> {
        app.db()
            .query_row("SELECT assignee_id FROM entries", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(assignee().map(|a| a.to_string()), Some(bo_id.clone()));

    // Seen as Bo's now, it may be handed over; asking for what it already
    // is succeeds whatever the page showed.
    let seen = seen_on(&ada).await;
    assert_eq!(seen, bo_id);
    let handed = ada
        .act(&path, &[("assignee", &ada_id), ("seen", &seen)])
        .await;
    assert_eq!(handed.status(), StatusCode::SEE_OTHER);
    let again = bo
        .act(&path, &[("assignee", &ada_id), ("seen", "none")])
        .await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    assert_eq!(assignee().map(|a| a.to_string()), Some(ada_id));
}

#[tokio::test]
async fn promises_turn_overdue_on_the_clock_and_their_outcome_is_recorded() {
    let (app, clock) = console_app().await;
    let (id, status_url) = submit(&app, complaint(&app, "Export is broken")).await;
    let console = signed_in(&app, "ada@example.com").await;
    console
        .act(
            &format!("/console/entries/{id}/reply"),
            &[
                ("body", "On it"),
                ("promise_text", "Fixed by Friday"),
                ("promise_due", "2026-11-27"),
            ],
        )
        .await;
    let past = console
        .act(
            &format!("/console/entries/{id}/reply"),
            &[
                ("body", "x"),
                ("promise_text", "Yesterday"),
                ("promise_due", "2026-11-21"),
            ],
        )
        .await;
    assert_eq!(past.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let open = console.html("/console?view=all&promise=open").await;
    assert!(open.contains(&id));
    assert!(
        !console
            .html("/console?view=all&promise=overdue")
            .await
            .contains(&id)
    );

    // Friday passes (and with it the idle session).
    clock.advance(6 * DAY);
    let console = signed_in(&app, "ada@example.com").await;
    let overdue = console.html("/console?view=all&promise=overdue").await;
    assert!(overdue.contains(&id));
    assert!(overdue.contains("1 overdue promise<"));
    let report = console.html("/console/promises").await;
    assert!(report.contains("Fixed by Friday"));
    assert!(report.contains("overdue"));
    assert!(
        report.contains("0 %"),
        "an overdue promise counts as not kept"
    );

    let entry = console.html(&format!("/console/entries/{id}")).await;
    let settle = between(&entry, "/promises/", "\"").to_owned();
    let response = console
        .act(
            &format!("/console/entries/{id}/promises/{settle}"),
            &[("outcome", "kept")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let again = console
        .act(
            &format!("/console/entries/{id}/promises/{settle}"),
            &[("outcome", "broken")],
        )
        .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    let entry = console.html(&format!("/console/entries/{id}")).await;
    assert!(entry.contains("kept late"));
    assert!(entry.contains("recorded a promise as kept"));
    let status_page = reqwest::get(&status_url)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(status_page.contains("erledigt"));
}

#[tokio::test]
async fn bulk_actions_assign_and_mark_spam_and_skip_what_does_not_apply() {
    let (app, _) = console_app().await;
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(submit(&app, complaint(&app, &format!("Bulk {i}"))).await.0);
    }
    let console = signed_in(&app, "bo@example.com").await;
    let token = console.csrf().await;
    let mut form = vec![
        ("_csrf", token.as_str()),
        ("action", "assign:me"),
        ("back", "view=all"),
    ];
    for id in &ids {
        form.push(("ids", id));
    }
    let response = console.post("/console/bulk", &form).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&response),
        "/console?view=all&changed=3&skipped=0&stale=0"
    );
    let mine = console.html("/console?view=all&assignee=me").await;
    assert!(ids.iter().all(|id| mine.contains(id.as_str())));

    form[1] = ("action", "status:spam");
    form.push(("ids", "e_00000000000000000000000"));
    let response = console.post("/console/bulk", &form).await;
    assert!(location(&response).ends_with("changed=3&skipped=1&stale=0"));
    let waiting = console.html("/console").await;
    assert!(ids.iter().all(|id| !waiting.contains(id.as_str())));
    let spam = console.html("/console?view=spam").await;
    assert!(ids.iter().all(|id| spam.contains(id.as_str())));
    let bo = Some("bo@example.com".to_owned());
    assert_eq!(
        crate::helpers::audit_rows(&app),
        [
            (
                "entries.bulk_assign",
                "to=bo@example.com,skipped=0,stale=0".to_owned()
            ),
            (
                "entries.bulk_status",
                "to=spam,skipped=1,stale=0".to_owned()
            ),
        ]
        .map(|(action, detail)| (
            action.to_owned(),
            bo.clone(),
            "3 entries".to_owned(),
            Some(detail)
        ))
    );
}

#[tokio::test]
async fn a_bulk_action_leaves_entries_a_colleague_changed_after_the_inbox_was_shown() {
    let (app, _) = console_app().await;
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(submit(&app, complaint(&app, &format!("Stale {i}"))).await.0);
    }
    let bo = signed_in(&app, "bo@example.com").await;
    let page = bo.html("/console").await;
    // What Bo's page showed of each row, as the browser would send it.
    let values: Vec<String> = ids
        .iter()
        .map(|id| {
            let start = format!(r#"name="ids" value="{id}"#);
            format!("{id}{}", between(&page, &start, "\""))
        })
        .collect();
    assert!(
        values.iter().all(|v| v.ends_with(":new:none")),
        "{values:?}"
    );

    // Meanwhile Ada resolves the first and takes the second.
    let ada = signed_in(&app, "ada@example.com").await;
    let response = ada
        .act(
            &format!("/console/entries/{}/status", ids[0]),
            &[("status", "resolved")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let ada_id: i64 = app
        .db()
        .query_row(
            "SELECT id FROM users WHERE email = 'ada@example.com'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let response = ada
        .act(
            &format!("/console/entries/{}/assign", ids[1]),
            &[("assignee", &ada_id.to_string())],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    let token = bo.csrf().await;
    let mut form = vec![("_csrf", token.as_str()), ("action", "status:spam")];
    form.extend(values.iter().map(|v| ("ids", v.as_str())));
    let response = bo.post("/console/bulk", &form).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let back = location(&response);
    assert!(back.ends_with("changed=2&skipped=0&stale=1"), "{back}");
    let notice = bo.html(&back).await;
    assert!(
        notice.contains(
            "Changed 2 entries; 1 left alone: a colleague changed it after this page was shown."
        ),
        "{notice}"
    );
    let status = |id: &str| -> String {
        app.db()
            .query_row(
                "SELECT status FROM entries WHERE public_id = ?1",
                [id],
                |r| r.get(0),
            )
            .unwrap()
    };
    let statuses: Vec<String> = ids.iter().map(|id| status(id)).collect();
    assert_eq!(
        statuses,
        ["resolved", "spam", "spam"],
        "Ada's resolution stands"
    );

    form[1] = ("action", "assign:me");
    let response = bo.post("/console/bulk", &form).await;
    assert!(location(&response).ends_with("changed=2&skipped=0&stale=1"));
    let assignee = |id: &str| -> String {
        app.db()
            .query_row(
                "SELECT u.email FROM entries e JOIN users u ON u.id = e.assignee_id
                 WHERE e.public_id = ?1",
                [id],
                |r| r.get(0),
            )
            .unwrap()
    };
    let assignees: Vec<String> = ids.iter().map(|id| assignee(id)).collect();
    assert_eq!(
        assignees,
        ["bo@example.com", "ada@example.com", "bo@example.com"],
        "Ada keeps what she took"
    );
}

#[tokio::test]
async fn a_bulk_action_refuses_a_selection_it_cannot_read() {
    let (app, _) = console_app().await;
    let id = submit(&app, complaint(&app, "Unreadable")).await.0;
    let console = signed_in(&app, "bo@example.com").await;
    let token = console.csrf().await;
    let value = format!("{id}:closed:none");
    let form = [
        ("_csrf", token.as_str()),
        ("action", "status:spam"),
        ("ids", value.as_str()),
    ];
    let response = console.post("/console/bulk", &form).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.unwrap();
    assert!(page.contains("The selection could not be read"), "{page}");
    assert!(
        console.html("/console").await.contains(id.as_str()),
        "nothing changed"
    );
}

#[tokio::test]
async fn an_entry_lists_the_customers_other_feedback_newest_first() {
    let (app, _) = console_app().await;
    let from_ana = |message: &str| {
        let mut body = complaint(&app, message);
        body["email"] = json!("ana@example.com");
        body
    };
    let (earlier, _) = submit(&app, from_ana("<b>Refund</b> never came")).await;
    let (idea, _) = submit(
        &app,
        json!({"site": app.site_key, "kind": "idea", "message": "Dark mode",
               "email": " ANA@example.com "}),
    )
    .await;
    let (latest, _) = submit(&app, from_ana("Still no refund")).await;
    let (stranger, _) = submit(&app, complaint(&app, "No email given")).await;
    let console = signed_in(&app, "bo@example.com").await;

    let page = console.html(&format!("/console/entries/{latest}")).await;
    assert!(page.contains("Also from this customer"), "{page}");
    assert!(
        page.contains("2 other entries from ana@example.com"),
        "{page}"
    );
    let panel = between(&page, "id=\"same-customer\"", "</section>");
    let (at_idea, at_earlier) = (
        panel.find(&format!("/console/entries/{idea}")).unwrap(),
        panel.find(&format!("/console/entries/{earlier}")).unwrap(),
    );
    assert!(at_idea < at_earlier, "newest first: {panel}");
    assert!(
        panel.contains("&lt;b&gt;Refund&lt;/b&gt;"),
        "escaped: {panel}"
    );
    assert!(
        !panel.contains(&format!("/console/entries/{latest}")),
        "not itself"
    );
    let alone = console.html(&format!("/console/entries/{stranger}")).await;
    assert!(!alone.contains("Also from this customer"));
}

#[tokio::test]
async fn hostile_customer_text_is_shown_verbatim_and_never_as_markup() {
    let (app, _) = console_app().await;
    let hostile = r#"<script>alert(1)</script><img src=x onerror=alert(2)>"#;
    let (id, status_url) = submit(
        &app,
        json!({"site": app.site_key, "kind": "expectation", "expected": hostile,
               "actual": "<a href=\"javascript:alert(3)\">click</a>", "name": "<b>Eve</b>",
               "page": {"url": "https://shop.example/?q=\"><script>alert(4)</script>"}}),
    )
    .await;
    let console = signed_in(&app, "ada@example.com").await;
    let escaped = "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;";
    for html in [
        console.html("/console").await,
        console.html(&format!("/console/entries/{id}")).await,
        reqwest::get(&status_url)
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    ] {
        assert!(html.contains(escaped), "shown verbatim, escaped");
        assert!(!html.contains("<script>alert"), "never markup");
        assert!(!html.contains("<img src=x"));
        assert!(!html.contains("href=\"javascript:"));
    }
    let entry = console.html(&format!("/console/entries/{id}")).await;
    assert!(entry.contains("&lt;b&gt;Eve&lt;/b&gt;"));
    assert!(entry.contains(
        "href=\"https://shop.example/?q=&quot;&gt;&lt;script&gt;alert(4)&lt;/script&gt;\""
    ));
}

#[tokio::test]
async fn site_settings_are_for_administrators_only() {
    let (app, _) = console_app().await;
    let agent = signed_in(&app, "bo@example.com").await;
    assert_eq!(
        agent.get("/console/sites").await.status(),
        StatusCode::FORBIDDEN
    );
    let admin = signed_in(&app, "ada@example.com").await;
    let page = admin.html("/console/sites").await;
    let action = between(&page, "href=\"/console/sites/", "\"").to_owned();
    let response = admin
        .act(
            &format!("/console/sites/{action}"),
            &[
                ("first_response_hours", "4"),
                ("response_promise", "We answer within 4 hours"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let bad = admin
        .act(
            &format!("/console/sites/{action}"),
            &[("first_response_hours", "0")],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let minutes: i64 = app
        .db()
        .query_row("SELECT first_response_minutes FROM sites", [], |r| r.get(0))
        .unwrap();
    assert_eq!(minutes, 240);
}

#[tokio::test]
async fn replies_are_emailed_to_customers_when_smtp_is_configured() {
    let (url, mut mails) = smtp_sink().await;
    let app = spawn_app_with(move |c| {
        c.smtp = Some(earshot_collector::config::Smtp {
            url: earshot_collector::config::Secret::new(url),
            from: "Fern & Fig <care@fernandfig.example>".into(),
        });
    })
    .await;
    let hash = password::hash(&Password::parse(PASSWORD).unwrap()).unwrap();
    app.running
        .store
        .add_user(
            NewUser {
                email: "ada@example.com".into(),
                name: "Ada".into(),
                role: Role::Admin,
                password_hash: hash,
            },
            earshot_collector::clock::system_millis(),
        )
        .await
        .unwrap();
    let (id, status_url) = submit(&app, app.valid_body()).await;
    let console = signed_in(&app, "ada@example.com").await;
    let due = crate::helpers::due_in_six_weeks();
    let form = [
        ("body", "The code works again, sorry!"),
        ("promise_text", "A voucher"),
        ("promise_due", due.as_str()),
    ];
    let response = console
        .act(&format!("/console/entries/{id}/reply"), &form)
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    // Sent twice (a double click): the customer hears it once.
    let again = console
        .act(&format!("/console/entries/{id}/reply"), &form)
        .await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    // Ada, an administrator, is also told of the new complaint: skip that.
    let mail = loop {
        let mail = tokio::time::timeout(std::time::Duration::from_secs(10), mails.recv())
            .await
            .expect("the reply is emailed")
            .unwrap()
            // Undo quoted-printable soft line breaks.
            .replace("=\n", "");
        if !mail.contains("To: ada@example.com") {
            break mail;
        }
    };
    assert!(mail.contains("To: ana@example.com"), "{mail}");
    assert!(mail.contains("The code works again, sorry!"), "{mail}");
    // Around the colleague's own words, the customer's language (pt-BR).
    assert!(
        mail.contains(&format!("O nosso compromisso: A voucher (at=C3=A9 {due}).")),
        "{mail}"
    );
    assert!(mail.contains("Subject: Re: a sua mensagem para"), "{mail}");
    // Threaded under the entry, with an id in the sender's domain; written
    // by a person, so not marked automatic.
    assert!(mail.contains("References: <entry.ES-"), "{mail}");
    assert!(mail.contains("@fernandfig.example>"), "{mail}");
    assert!(!mail.contains("Auto-Submitted"), "{mail}");
    assert!(mail.contains(&status_url), "{mail}");
    while let Ok(Some(more)) =
        tokio::time::timeout(std::time::Duration::from_secs(2), mails.recv()).await
    {
        assert!(
            more.contains("To: ada@example.com"),
            "a second reply: {more}"
        );
    }
    let replies: i64 = app
        .db()
        .query_row(
            "SELECT count(*) FROM events WHERE kind = 'reply'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(replies, 1);
    // The timeline says so, once the relay has answered.
    let mut emailed = false;
    for _ in 0..50 {
        if console
            .html(&format!("/console/entries/{id}"))
            .await
            .contains("(also emailed)")
        {
            emailed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(emailed);
}

#[tokio::test]
async fn a_refused_reply_shows_the_entry_again_with_what_was_typed_and_why() {
    let (app, _) = console_app().await;
    let (id, _) = submit(&app, complaint(&app, "Export is broken")).await;
    let console = signed_in(&app, "ada@example.com").await;
    let refused = console
        .act(
            &format!("/console/entries/{id}/reply"),
            &[
                ("body", "We found it: <b>the CSV writer</b>"),
                ("promise_text", "Fixed \"soon\""),
                ("promise_due", "2026-11-21"),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    assert!(
        html.contains("Export is broken"),
        "the entry itself: {html}"
    );
    assert!(
        html.contains("role=\"alert\">The due date is in the past.</p>"),
        "{html}"
    );
    assert!(
        html.contains("We found it: &lt;b&gt;the CSV writer&lt;/b&gt;</textarea>"),
        "{html}"
    );
    assert!(html.contains("value=\"Fixed &quot;soon&quot;\""), "{html}");
    assert!(html.contains("value=\"2026-11-21\""), "{html}");
    let entry = console.html(&format!("/console/entries/{id}")).await;
    assert!(!entry.contains("the CSV writer"), "nothing was sent");
}

#[tokio::test]
async fn a_note_the_store_cannot_keep_shows_the_entry_again_with_the_text() {
    let (app, _) = console_app().await;
    let (id, _) = submit(&app, complaint(&app, "Export is broken")).await;
    let console = signed_in(&app, "ada@example.com").await;
    // A real failure of the real database: a trigger refuses notes.
    app.db()
        .execute_batch(
            "CREATE TRIGGER refuse_notes BEFORE INSERT ON events
             WHEN NEW.kind = 'note' BEGIN SELECT RAISE(ABORT, 'refused'); END",
        )
        .unwrap();
    let note = [("body", "Ask the payments team about PSP-42")];
    let refused = console
        .act(&format!("/console/entries/{id}/note"), &note)
        .await;
    assert_eq!(refused.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let html = refused.text().await.unwrap();
    assert!(
        html.contains("Ask the payments team about PSP-42</textarea>"),
        "{html}"
    );
    assert!(html.contains("nothing was changed"), "{html}");
    assert!(
        !html.contains("refused"),
        "no detail reaches the page: {html}"
    );

    app.db().execute_batch("DROP TRIGGER refuse_notes").unwrap();
    let kept = console
        .act(&format!("/console/entries/{id}/note"), &note)
        .await;
    assert_eq!(kept.status(), StatusCode::SEE_OTHER);
}

/// A console page asked for under `host`, as a browser behind a proxy
/// would ask for it.
async fn page_at_host(console: &crate::staff::Console, path: &str, host: &str) -> String {
    let response = console
        .http
        .get(format!("{}{path}", console.base))
        .header("cookie", console.cookie_header().unwrap())
        .header("host", host)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{path} at {host}");
    response.text().await.unwrap()
}

#[tokio::test]
async fn an_admin_reaching_the_console_at_another_address_is_told_to_set_the_public_url() {
    use crate::staff::{console_app, console_app_with, signed_in};
    const WARNING: &str = "This collector does not know its public address.";
    let (app, _) = console_app().await;
    let ada = signed_in(&app, "ada@example.com").await;
    let bo = signed_in(&app, "bo@example.com").await;
    // Where it listens: nothing to say.
    assert!(!ada.html("/console").await.contains(WARNING));
    // Behind a proxy, without --public-url: every page says so to admins,
    // with the address to give it.
    for path in ["/console", "/console/sites/1"] {
        let page = page_at_host(&ada, path, "feedback.example.com").await;
        assert!(page.contains(WARNING), "{path}: {page}");
        assert!(
            page.contains("<code>--public-url https://feedback.example.com</code>"),
            "{path}: {page}"
        );
    }
    let hostile = page_at_host(&ada, "/console", "x.example<script>").await;
    assert!(!hostile.contains("x.example<script>"), "escaped");
    // Agents cannot change it; a named public URL is what it says.
    assert!(
        !page_at_host(&bo, "/console", "feedback.example.com")
            .await
            .contains(WARNING)
    );
    let (named, _) =
        console_app_with(|c| c.public_url = Some("https://feedback.example.com".into())).await;
    // (Its TestApp's address is the public one, which resolves nowhere.)
    let mut ada = crate::staff::Console::at(&format!("http://{}", named.running.addr));
    let response = ada.login("ada@example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    // Over https the session cookie is bound to the origin by its name.
    ada.cookie = crate::staff::named_set_cookie(response.headers(), "__Host-earshot_session");
    assert!(
        !page_at_host(&ada, "/console", "10.0.0.5:8080")
            .await
            .contains(WARNING)
    );
}
