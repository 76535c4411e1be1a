//! The console's inbox over real HTTP: search, keyset pages, counts,
//! dates, and many sites.

use reqwest::StatusCode;
use serde_json::json;

use crate::staff::{add_branches, between, complaint, console_app, signed_in, submit};

#[tokio::test]
async fn searching_for_a_reference_as_a_customer_quotes_it_opens_the_entry() {
    let (app, _) = console_app().await;
    let (id, _) = submit(&app, complaint(&app, "The discount code was rejected")).await;
    let reference: String = app
        .db()
        .query_row("SELECT reference FROM entries", [], |r| r.get(0))
        .unwrap();
    let console = signed_in(&app, "ada@example.com").await;
    // Read out on the phone: lower case, spaces, an O for a zero.
    let spoken = reference.to_lowercase().replace('-', " ").replace('0', "o");
    for typed in [reference.clone(), spoken] {
        let query = serde_html_form::to_string([("q", typed.as_str())]).unwrap();
        let response = console.get(&format!("/console?{query}")).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{typed}");
        assert_eq!(
            crate::staff::location(&response),
            format!("/console/entries/{id}"),
            "{typed}"
        );
    }
    // Typed into the address bar in place of the id, it opens the entry
    // at its own address; one that names no entry goes to the search,
    // which says it is unknown.
    let response = console
        .get(&format!("/console/entries/{}", reference.to_lowercase()))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        crate::staff::location(&response),
        format!("/console/entries/{id}")
    );
    let response = console.get("/console/entries/es-oooo-oooo").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(crate::staff::location(&response), "/console?q=ES-0000-0000");
    // Signed out, the address asks for a sign-in before telling anything.
    let anonymous = crate::staff::Console::new(&app);
    let response = anonymous
        .get(&format!("/console/entries/{reference}"))
        .await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert!(crate::staff::location(&response).starts_with("/console/login?next="));
    // One that does not exist says so, rather than listing nothing.
    let response = console.get("/console?q=ES-0000-0000").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let page = response.text().await.unwrap();
    assert!(
        page.contains("No entry has the reference ES-0000-0000"),
        "{page}"
    );
    // Through the API too, however it is typed.
    let token = crate::rest::token_for(&app, "ada@example.com", "read", None).await;
    let api = crate::rest::Api { app: &app, token };
    let lower = reference.to_lowercase();
    let entry = api.json(&format!("/api/v1/entries/{lower}")).await;
    assert_eq!(entry["reference"], reference.as_str());
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
    let page = bad.text().await.unwrap();
    assert!(
        page.contains(
            "role=\"alert\">Status is new, acknowledged, in_progress, resolved, wont_fix or spam, or several of these separated by commas.</p>"
        ),
        "said as a sentence: {page}"
    );
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
            if html.contains(&format!("name=\"ids\" value=\"{id}:")) {
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
            .filter(|id| html.contains(&format!("name=\"ids\" value=\"{id}:")))
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
async fn an_answered_entry_stays_still_open_until_it_is_closed() {
    let (app, _) = console_app().await;
    let (answered, _) = submit(&app, complaint(&app, "Parcel lost")).await;
    let (closed, _) = submit(&app, complaint(&app, "Parcel late")).await;
    let (untouched, _) = submit(&app, complaint(&app, "Parcel damaged")).await;
    let console = signed_in(&app, "bo@example.com").await;
    let bo: i64 = app
        .db()
        .query_row(
            "SELECT id FROM users WHERE email = 'bo@example.com'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let bo = bo.to_string();
    for (path, form) in [
        (
            format!("/console/entries/{answered}/reply"),
            ("body", "Which order?"),
        ),
        (
            format!("/console/entries/{answered}/assign"),
            ("assignee", bo.as_str()),
        ),
        (
            format!("/console/entries/{closed}/status"),
            ("status", "resolved"),
        ),
    ] {
        let done = console.act(&path, &[form]).await;
        assert_eq!(done.status(), StatusCode::SEE_OTHER, "{path}");
    }
    let waiting = console.html("/console").await;
    assert!(!waiting.contains(&answered) && waiting.contains(&untouched));
    let open = console.html("/console?view=open").await;
    assert!(open.contains("<h1>Still open</h1>"), "{open}");
    assert!(open.contains("aria-current=\"page\">Still open"));
    assert!(open.contains("<option value=\"open\" selected>Still open"));
    assert!(open.contains("2 entries"), "{open}");
    // Longest open first; the closed one is gone.
    let at = |page: &str, id: &str| page.find(id);
    assert!(at(&open, &answered) < at(&open, &untouched));
    assert_eq!(at(&open, &closed), None);
    // The navigation's "Assigned to me" is one's own open work.
    assert!(open.contains("<a href=\"/console?assignee=me&amp;view=open\">Assigned to me</a>"));
    let mine = console.html("/console?assignee=me&view=open").await;
    assert!(mine.contains("aria-current=\"page\">Assigned to me"));
    assert!(mine.contains(&answered) && !mine.contains(&untouched));
    console
        .act(
            &format!("/console/entries/{answered}/status"),
            &[("status", "resolved")],
        )
        .await;
    let mine = console.html("/console?assignee=me&view=open").await;
    assert!(!mine.contains(&answered), "{mine}");
    let all = console.html("/console?view=all&assignee=me").await;
    assert!(all.contains(&answered));
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
async fn with_many_sites_the_inbox_filter_takes_a_typed_site_name_instead_of_a_list() {
    let (app, _) = console_app().await;
    let now = earshot_collector::clock::system_millis();
    let europe = add_branches(&app.running.store, 120, now)
        .await
        .swap_remove(42);
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

#[tokio::test]
async fn a_new_installations_inbox_says_how_feedback_gets_in_until_some_arrives() {
    let (app, _) = console_app().await;
    let admin = signed_in(&app, "ada@example.com").await;
    let agent = signed_in(&app, "bo@example.com").await;
    let first = admin.html("/console").await;
    assert!(first.contains("No feedback has arrived yet"), "{first}");
    assert!(first.contains("<a href=\"/console/sites\">Sites</a> page"));
    assert!(!first.contains("Well done"));
    let for_agent = agent.html("/console").await;
    assert!(for_agent.contains("No feedback has arrived yet"));
    assert!(
        !for_agent.contains("<a href=\"/console/sites\">Sites</a> page"),
        "agents cannot open the Sites page"
    );

    let (answered, _) = submit(&app, complaint(&app, "Wo bleibt mein Paket?")).await;
    let waiting = admin.html("/console").await;
    assert!(!waiting.contains("No feedback has arrived yet"));
    admin
        .act(
            &format!("/console/entries/{answered}/reply"),
            &[("body", "Es ist unterwegs")],
        )
        .await;
    let done = admin.html("/console").await;
    assert!(done.contains("Nobody is waiting. Well done."), "{done}");
    assert!(!done.contains("No feedback has arrived yet"));
    let filtered = admin.html("/console?kind=idea").await;
    assert!(filtered.contains("No feedback matches."), "{filtered}");
}

#[tokio::test]
async fn a_setting_given_twice_or_an_unknown_audit_area_is_refused_not_read_as_no_setting() {
    let (app, _) = console_app().await;
    let (id, _) = submit(&app, complaint(&app, "Shown only when asked for")).await;
    let admin = signed_in(&app, "ada@example.com").await;
    // Each would otherwise show, or download, something other than asked:
    // the default view, every site, or the whole audit log.
    for path in [
        "/console?view=all&view=spam",
        "/console?view=all&q=shown&q=asked",
        "/console/export.csv?view=all&view=spam",
        "/console/export.ndjson?q=a&q=b",
        "/console/sites?q=a&q=b",
        "/console/reports?site=1&site=2",
        "/console/reports/first-response.csv?from=2026-01-01&from=2026-02-01",
        "/console/audit?area=site&area=staff",
        "/console/audit.csv?area=site&area=staff",
        "/console/login?next=/console&next=/console/sites",
        "/console/setup?token=a&token=b",
    ] {
        let refused = admin.get(path).await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY, "{path}");
        let page = refused.text().await.unwrap();
        assert!(
            page.contains("This address could not be read: give each setting in it once."),
            "{path}: {page}"
        );
        assert!(!page.contains(&id), "{path}");
    }
    for path in ["/console/audit?area=sites", "/console/audit.csv?area=x%26y"] {
        let refused = admin.get(path).await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY, "{path}");
        let page = refused.text().await.unwrap();
        assert!(
            page.contains("The audit log has no such area: choose one from the list."),
            "{path}: {page}"
        );
    }
    // A confirmation given twice (only the console's redirects write
    // them) shows none, not an error.
    for path in [
        "/console/account?done=password&done=name",
        "/console/notifications?saved=1&saved=1",
        "/console/staff?done=disabled&done=enabled",
        &format!("/console/entries/{id}?done=note&done=reply"),
    ] {
        let page = admin.get(path).await;
        assert_eq!(page.status(), StatusCode::OK, "{path}");
        assert!(
            !page.text().await.unwrap().contains("role=\"status\""),
            "{path}"
        );
    }
    // Given once, each is read as before.
    assert!(
        admin
            .html("/console/account?done=password")
            .await
            .contains("role=\"status\">Password changed.")
    );
    assert!(admin.html("/console?view=all&q=shown").await.contains(&id));
    let audit = admin.html("/console/audit?area=site").await;
    assert!(
        audit.contains(r#"<a href="/console/audit.csv?area=site" download>"#),
        "{audit}"
    );
}
