//! The review console over real HTTP: workflow, replies, promises, bulk
//! actions, and customer text shown safely.

use reqwest::StatusCode;
use serde_json::json;

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
    // The due day, unbroken where the line wraps.
    assert!(status_page.contains(r#"<time datetime="2026-11-27">2026-11-27</time>"#));
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
    assert_eq!(missing.status(), StatusCode::UNPROCESSABLE_ENTITY);

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
    assert!(report.contains("1 open, due soonest first."));
    // The figure leads to the entries that carry them.
    assert!(report.contains("<a href=\"/console?view=all&amp;promise=overdue\">overdue now</a>"));
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
    // The timeline says which reply made the promise, not only its outcome.
    let timeline = between(&entry, "<ol class=\"timeline\">", "</ol>");
    let reply = between(timeline, "replied to the customer", "</li>");
    assert!(
        reply.contains("On it")
            && reply.contains(
                "and promised <q dir=\"auto\">Fixed by Friday</q> by <time datetime=\"2026-11-27\">2026-11-27</time>"
            ),
        "{timeline}"
    );
    let status_page = reqwest::get(&status_url)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(status_page.contains("erledigt"));
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

    // All three in the inbox, by a link that names this entry, not her
    // address; the filters' form keeps her while others change.
    let link = between(panel, "href=\"/console?view=all&amp;customer=", "\"");
    assert!(link.starts_with("ES-") && !link.contains('@'), "{link}");
    let inbox = console
        .html(&format!("/console?view=all&customer={link}"))
        .await;
    assert!(inbox.contains("3 entries"), "{inbox}");
    for id in [&earlier, &idea, &latest] {
        assert!(inbox.contains(&format!("/console/entries/{id}")), "{id}");
    }
    assert!(!inbox.contains(&format!("/console/entries/{stranger}")));
    assert!(inbox.contains("Only feedback from the customer who sent"));
    assert!(inbox.contains(&format!(
        "<input type=\"hidden\" name=\"customer\" value=\"{link}\">"
    )));
    let ideas = console
        .html(&format!("/console?view=all&kind=idea&customer={link}"))
        .await;
    assert!(ideas.contains("1 entry"), "{ideas}");
    let refused = console.get("/console?customer=ana@example.com").await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
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
async fn an_entry_sent_without_context_says_so_instead_of_an_empty_box() {
    let (app, _) = console_app().await;
    let (bare, _) = submit(
        &app,
        json!({"site": app.site_key, "kind": "complaint", "message": "Sent by a script"}),
    )
    .await;
    let mut with_page = complaint(&app, "Sent from a page");
    with_page["page"] = json!({"url": "https://shop.example/cart"});
    let (from_page, _) = submit(&app, with_page).await;
    let console = signed_in(&app, "ada@example.com").await;

    let entry = console.html(&format!("/console/entries/{bare}")).await;
    let context = between(&entry, "<h2>Context</h2>", "</section>");
    assert!(context.contains("Nothing was sent with it"), "{context}");
    assert!(!context.contains("<dl"), "{context}");

    let entry = console.html(&format!("/console/entries/{from_page}")).await;
    let context = between(&entry, "<h2>Context</h2>", "</section>");
    assert!(context.contains("https://shop.example/cart"), "{context}");
    assert!(!context.contains("Nothing was sent with it"), "{context}");
}

/// Hebrew or Arabic in an English console (or on a status page in the
/// site's language) reads right to left, each text in its own direction,
/// without reordering what stands beside it.
#[tokio::test]
async fn customer_text_in_any_script_is_shown_in_its_own_direction() {
    let (app, _) = console_app().await;
    let words = "ההזמנה שלי לא הגיעה (מספר 4417)";
    let (id, status_url) = submit(
        &app,
        json!({"site": app.site_key, "kind": "complaint", "message": words, "name": "דנה לוי"}),
    )
    .await;
    let console = signed_in(&app, "ada@example.com").await;
    let inbox = console.html("/console").await;
    assert!(
        inbox.contains(&format!("dir=\"auto\">{words}</a>")),
        "{inbox}"
    );
    let entry = console.html(&format!("/console/entries/{id}")).await;
    assert!(
        entry.contains(&format!("<p dir=\"auto\">{words}</p>")),
        "{entry}"
    );
    assert!(entry.contains("From <bdi>דנה לוי</bdi> · "), "{entry}");
    for field in ["textarea id=\"reply\"", "textarea id=\"note\""] {
        let at = entry
            .find(field)
            .unwrap_or_else(|| panic!("{field}: {entry}"));
        let tag = &entry[at..at + entry[at..].find('>').unwrap()];
        assert!(
            tag.contains("dir=\"auto\""),
            "staff type in either direction: {tag}"
        );
    }
    let status = reqwest::get(&status_url)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        status.contains(&format!("<p class=\"words\" dir=\"auto\">{words}</p>")),
        "{status}"
    );
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

/// A console page asked for under `host`, as a browser behind a proxy
/// would ask for it.
async fn page_at_host(console: &crate::staff::Console, path: &str, host: &str) -> String {
    page_with(console, path, &[("host", host)]).await
}

/// A console page asked for with `headers` beside the session's cookie.
async fn page_with(
    console: &crate::staff::Console,
    path: &str,
    headers: &[(&str, &str)],
) -> String {
    let mut request = console
        .http
        .get(format!("{}{path}", console.base))
        .header("cookie", console.cookie_header().unwrap());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200, "{path} with {headers:?}");
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
    // A proxy that rewrites Host to the collector's own address (nginx's
    // default) still gives the browser's address away: in the headers it
    // forwards, or in the browser's own Referer within the console.
    let addr = app.running.addr.to_string();
    let forwarded = page_with(
        &ada,
        "/console",
        &[
            ("host", addr.as_str()),
            ("x-forwarded-host", "feedback.example.com"),
            ("x-forwarded-proto", "https"),
        ],
    )
    .await;
    assert!(forwarded.contains(WARNING), "{forwarded}");
    assert!(
        forwarded.contains("<code>--public-url https://feedback.example.com</code>"),
        "{forwarded}"
    );
    let within = page_with(
        &ada,
        "/console/sites",
        &[
            ("host", addr.as_str()),
            ("referer", "http://feedback.internal:8000/console"),
            ("sec-fetch-site", "same-origin"),
        ],
    )
    .await;
    assert!(
        within.contains("<code>--public-url http://feedback.internal:8000</code>"),
        "{within}"
    );
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
