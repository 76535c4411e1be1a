//! The review console over real HTTP: workflow, promises, search,
//! pagination, reply emails and escaping of hostile customer text.

use earshot_collector::auth::{Password, password};
use earshot_collector::store::{NewUser, Role};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{smtp_sink, spawn_app_with};
use crate::staff::*;

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
    let response = console
        .act(
            &format!("/console/entries/{id}/note"),
            &[("body", "Internal: PSP bug #42")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
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
    assert!(entry.contains("Internal: PSP bug #42"));
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
    assert!(overdue.contains("1 overdue promises"));
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
async fn search_finds_customer_words_and_notes_and_survives_query_syntax() {
    let (app, _) = console_app().await;
    let (discount, _) = submit(&app, complaint(&app, "The discount code was rejected")).await;
    let (other, _) = submit(&app, complaint(&app, "Delivery was late")).await;
    let (expectation, _) = submit(
        &app,
        json!({"site": app.site_key, "kind": "expectation",
               "expected": "A confirmation email", "actual": "Silence"}),
    )
    .await;
    let console = signed_in(&app, "ada@example.com").await;
    console
        .act(
            &format!("/console/entries/{other}/note"),
            &[("body", "Courier is Parcelforce")],
        )
        .await;
    let search = |q: &'static str| {
        let console = &console;
        async move {
            console
                .html(&format!(
                    "/console?view=all&q={}",
                    serde_html_form::to_string([("", q)])
                        .unwrap()
                        .trim_start_matches('=')
                ))
                .await
        }
    };
    let hits = search("discount").await;
    assert!(hits.contains(&discount) && !hits.contains(&other));
    let hits = search("disc").await;
    assert!(hits.contains(&discount), "prefix match while typing");
    let hits = search("parcelforce").await;
    assert!(
        hits.contains(&other) && !hits.contains(&discount),
        "notes are searched"
    );
    let hits = search("confirmation").await;
    assert!(hits.contains(&expectation), "expected/actual are searched");
    for hostile in ["\"", "NEAR(", "a OR", "*", "code\" OR \"x"] {
        let response = console
            .get(&format!(
                "/console?view=all&q={}",
                serde_html_form::to_string([("", hostile)])
                    .unwrap()
                    .trim_start_matches('=')
            ))
            .await;
        assert!(
            response.status().is_success() || response.status() == StatusCode::UNPROCESSABLE_ENTITY,
            "{hostile}"
        );
    }
    let bad = console.get("/console?status=deleted").await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text().await.unwrap().contains("unknown status"));
}

#[tokio::test]
async fn keyset_pages_cover_every_entry_exactly_once() {
    let (app, _) = console_app().await;
    let mut ids = Vec::new();
    for i in 0..120 {
        ids.push(
            submit(&app, complaint(&app, &format!("Complaint number {i}")))
                .await
                .0,
        );
    }
    let console = signed_in(&app, "bo@example.com").await;
    let mut seen = Vec::new();
    let mut path = "/console".to_owned();
    loop {
        let html = console.html(&path).await;
        for id in &ids {
            if html.contains(&format!("value=\"{id}\"")) {
                seen.push(id.clone());
            }
        }
        match html.find("rel=\"next\" href=\"") {
            Some(_) => path = between(&html, "rel=\"next\" href=\"", "\"").replace("&amp;", "&"),
            None => break,
        }
    }
    assert_eq!(seen, ids, "oldest first, no gaps, no repeats");

    // And back again, page by page, to the first.
    let ids_on = |html: &str| -> Vec<String> {
        ids.iter()
            .filter(|id| html.contains(&format!("value=\"{id}\"")))
            .cloned()
            .collect()
    };
    let last = console.html(&path).await;
    assert!(last.contains("120 entries"), "the total is shown");
    assert_eq!(ids_on(&last), ids[100..]);
    let prev = between(&last, "rel=\"prev\" href=\"", "\"").replace("&amp;", "&");
    let middle = console.html(&prev).await;
    assert_eq!(ids_on(&middle), ids[50..100]);
    let prev = between(&middle, "rel=\"prev\" href=\"", "\"").replace("&amp;", "&");
    let first = console.html(&prev).await;
    assert_eq!(ids_on(&first), ids[..50]);
    assert!(
        !first.contains("rel=\"prev\""),
        "nothing before the first page"
    );
}

#[tokio::test]
async fn the_inbox_names_its_scope_counts_matches_and_shows_expected_beside_happened() {
    let (app, _) = console_app().await;
    let (answered, _) = submit(&app, complaint(&app, "Gutschein fehlt")).await;
    submit(&app, complaint(&app, "Gutschein abgelaufen")).await;
    let body = serde_json::json!({"site": app.site_key, "kind": "expectation",
        "expected": "Free shipping over 50", "actual": "Charged 4.90"});
    submit(&app, body).await;
    let console = signed_in(&app, "bo@example.com").await;
    console
        .act(
            &format!("/console/entries/{answered}/reply"),
            &[("body", "Kommt morgen")],
        )
        .await;
    let waiting = console.html("/console?q=gutschein").await;
    assert!(waiting.contains("1 entry among those waiting"), "{waiting}");
    assert!(waiting.contains("<option value=\"waiting\" selected>Needs a response"));
    let all_link =
        between(&waiting, "among those waiting · <a href=\"", "\"").replace("&amp;", "&");
    let all = console.html(&all_link).await;
    assert!(all.contains("2 entries"));
    assert!(all.contains(&answered));
    assert!(
        all.contains("aria-current=\"page\">All feedback"),
        "the nav marks the view shown"
    );
    let inbox = console.html("/console").await;
    assert!(inbox.contains("Free shipping over 50 → Charged 4.90"));
    let spam = console.html("/console?view=spam").await;
    assert!(spam.contains("aria-current=\"page\">Spam"));
    assert!(!spam.contains("aria-current=\"page\">Needs a response"));
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
    assert_eq!(location(&response), "/console?view=all&changed=3&skipped=0");
    let mine = console.html("/console?view=all&assignee=me").await;
    assert!(ids.iter().all(|id| mine.contains(id.as_str())));

    form[1] = ("action", "status:spam");
    form.push(("ids", "e_00000000000000000000000"));
    let response = console.post("/console/bulk", &form).await;
    assert!(location(&response).ends_with("changed=3&skipped=1"));
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
                "to=bo@example.com,skipped=0".to_owned()
            ),
            ("entries.bulk_status", "to=spam,skipped=1".to_owned()),
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
    let response = console
        .act(
            &format!("/console/entries/{id}/reply"),
            &[
                ("body", "The code works again, sorry!"),
                ("promise_text", "A voucher"),
                ("promise_due", "2030-01-15"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
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
    assert!(
        mail.contains("We promise: A voucher (by 2030-01-15)."),
        "{mail}"
    );
    assert!(mail.contains(&status_url), "{mail}");
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
async fn the_date_filter_keeps_whole_utc_days() {
    let (app, _) = console_app().await;
    let (id, _) = submit(&app, complaint(&app, "Dated complaint")).await;
    let console = signed_in(&app, "bo@example.com").await;
    // The entry's own UTC day, so the test holds across midnight.
    let created: i64 = app
        .db()
        .query_row("SELECT created_at FROM entries", [], |r| r.get(0))
        .unwrap();
    let today = time::OffsetDateTime::from_unix_timestamp(created / 1000)
        .unwrap()
        .date();
    let day = |d: time::Date| {
        d.format(time::macros::format_description!("[year]-[month]-[day]"))
            .unwrap()
    };
    let (yesterday, tomorrow) = (
        day(today.previous_day().unwrap()),
        day(today.next_day().unwrap()),
    );
    let today = day(today);
    let shows = |from: &str, to: &str| {
        let path = format!("/console?view=all&from={from}&to={to}");
        let console = &console;
        let id = id.clone();
        async move { console.html(&path).await.contains(&id) }
    };
    assert!(shows(&today, &today).await);
    assert!(shows(&yesterday, &tomorrow).await);
    assert!(!shows(&tomorrow, &tomorrow).await);
    assert!(!shows(&yesterday, &yesterday).await);
}

#[tokio::test]
async fn attached_images_show_on_the_entry_page_for_staff_only() {
    let (app, _) = console_app().await;
    let (id, status_url) = submit(&app, complaint(&app, "Broken layout, see screenshot")).await;
    let secret = status_url.rsplit_once('.').unwrap().1;
    let gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;".to_vec();
    let response = app
        .client
        .post(format!("{}/api/v1/feedback/{id}/attachments", app.address))
        .header("authorization", format!("Bearer {secret}"))
        .header("content-type", "image/gif")
        .body(gif.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let attachment: Value = response.json().await.unwrap();
    let path = format!(
        "/console/attachments/{}",
        attachment["id"].as_str().unwrap()
    );

    // Without a session: the sign-in page, not the image.
    let anonymous = Console::new(&app).get(&path).await;
    assert_eq!(anonymous.status(), StatusCode::FOUND);

    let console = signed_in(&app, "bo@example.com").await;
    let page = console
        .get(&format!("/console/entries/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains(&path), "the entry page shows the image");
    let image = console.get(&path).await;
    assert_eq!(image.status(), StatusCode::OK);
    assert_eq!(image.headers()["content-type"], "image/gif");
    assert_eq!(image.headers()["x-content-type-options"], "nosniff");
    assert_eq!(image.bytes().await.unwrap().as_ref(), gif.as_slice());
}

#[tokio::test]
async fn attachments_are_served_as_inert_images_and_bombs_are_never_inlined() {
    let (app, _) = console_app().await;
    let (id, status_url) = submit(&app, complaint(&app, "See the screenshot")).await;
    let secret = status_url.rsplit_once('.').unwrap().1;
    // A polyglot: a real PNG header, then markup that would run as HTML.
    let mut polyglot =
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\x02\x80\0\0\x01\xe0\x08\x06\0\0\0".to_vec();
    polyglot.extend_from_slice(b"<html><svg onload=alert(1)><script>alert(2)</script>");
    let response = app
        .client
        .post(format!("{}/api/v1/feedback/{id}/attachments", app.address))
        .header("authorization", format!("Bearer {secret}"))
        .header("content-type", "image/png")
        .body(polyglot.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let attachment: Value = response.json().await.unwrap();
    let att = attachment["id"].as_str().unwrap().to_owned();
    // An image bomb stored before sizes were checked (no size recorded).
    app.db()
        .execute(
            "INSERT INTO attachments (public_id, entry_id, content_type, bytes, size, created_at)
             SELECT 'att_legacybomb', id, 'image/png', x'89504e47', 4, 0 FROM entries WHERE public_id = ?1",
            [&id],
        )
        .unwrap();

    let console = signed_in(&app, "ada@example.com").await;
    let page = console.html(&format!("/console/entries/{id}")).await;
    assert!(
        page.contains(&format!(
            r#"<img src="/console/attachments/{att}" width="640" height="480""#
        )),
        "the thumbnail is sized by the image's header"
    );
    assert!(!page.contains(r#"<img src="/console/attachments/att_legacybomb""#));
    assert!(page.contains("Not shown"));
    assert!(page.contains(r#"/console/attachments/att_legacybomb?download""#));

    let image = console.get(&format!("/console/attachments/{att}")).await;
    let h = image.headers().clone();
    assert_eq!(h["content-type"], "image/png");
    assert_eq!(h["x-content-type-options"], "nosniff");
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.starts_with("default-src 'none'"), "{csp}");
    assert!(csp.contains("sandbox"), "{csp}");
    assert_eq!(
        h["content-disposition"],
        format!("inline; filename=\"{att}.png\"").as_str()
    );
    assert_eq!(image.bytes().await.unwrap().as_ref(), polyglot.as_slice());
    let download = console
        .get(&format!("/console/attachments/{att}?download"))
        .await;
    assert_eq!(
        download.headers()["content-disposition"],
        format!("attachment; filename=\"{att}.png\"").as_str()
    );
}

#[tokio::test]
async fn with_many_sites_the_inbox_filter_takes_a_typed_site_name_instead_of_a_list() {
    let (app, _) = console_app().await;
    let now = earshot_collector::clock::system_millis();
    let mut europe = None;
    for i in 0..120 {
        let site = app
            .running
            .store
            .add_site(
                earshot_collector::store::NewSite {
                    name: format!("Branch {i:03}"),
                    origins: Vec::new(),
                },
                now,
            )
            .await
            .unwrap();
        if i == 42 {
            europe = Some(site);
        }
    }
    let europe = europe.unwrap();
    let (ours, _) = submit(&app, complaint(&app, "First site's complaint")).await;
    // Entries are filed by the store here: the new site has no origins.
    app.db()
        .execute(
            "UPDATE entries SET site_id = ?1 WHERE public_id = ?2",
            rusqlite::params![europe.id, ours],
        )
        .unwrap();
    let (theirs, _) = submit(&app, complaint(&app, "Another complaint")).await;
    let console = signed_in(&app, "bo@example.com").await;

    let html = console.html("/console").await;
    assert!(
        !html.contains(r#"<select name="site""#),
        "no list of 121 sites"
    );
    assert!(html.contains(r#"<input type="search" name="site""#));

    // By name (any case), by key, or by a part only one site has.
    for typed in ["branch 042", europe.key.as_str(), "ch 042"] {
        let query = serde_html_form::to_string([("view", "all"), ("site", typed)]).unwrap();
        let html = console.html(&format!("/console?{query}")).await;
        assert!(html.contains(&ours), "{typed}");
        assert!(!html.contains(&theirs), "{typed}");
        assert!(
            html.contains(r#"value="Branch 042""#),
            "the box shows the site's name"
        );
    }
    let unknown = console.get("/console?view=all&site=zebra").await;
    assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        unknown
            .text()
            .await
            .unwrap()
            .contains("No site is called “zebra”.")
    );
    let several = console.get("/console?view=all&site=branch").await;
    assert_eq!(several.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(several.text().await.unwrap().contains("More than one site"));
}
