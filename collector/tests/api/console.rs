//! The review console over real HTTP: sessions, CSRF, workflow, promises,
//! search, pagination and escaping of hostile customer text.

use earshot_collector::auth::{Password, password};
use earshot_collector::clock::Clock;
use earshot_collector::store::{NewUser, Role};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app_with};

const PASSWORD: &str = "a long staff passphrase";
const DAY: i64 = 86_400_000;
/// 2026-11-22 12:00 UTC.
const NOON: i64 = 1_795_348_800_000;

/// A browser-like client: no automatic redirects, cookie kept by hand.
struct Console {
    http: reqwest::Client,
    base: String,
    cookie: Option<String>,
}

impl Console {
    fn new(app: &TestApp) -> Console {
        Console {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: app.address.clone(),
            cookie: None,
        }
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some(c) = &self.cookie {
            req = req.header("cookie", c);
        }
        req.send().await.unwrap()
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.post_with(path, form, &[]).await
    }

    async fn post_with(
        &self,
        path: &str,
        form: &[(&str, &str)],
        headers: &[(&'static str, &str)],
    ) -> reqwest::Response {
        let body = serde_html_form::to_string(form).unwrap();
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some(c) = &self.cookie {
            req = req.header("cookie", c);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.send().await.unwrap()
    }

    async fn login(&mut self, email: &str, password: &str) -> reqwest::Response {
        let response = self
            .post(
                "/console/login",
                &[("email", email), ("password", password)],
            )
            .await;
        if let Some(cookie) = session_cookie(response.headers()) {
            self.cookie = Some(cookie);
        }
        response
    }

    async fn html(&self, path: &str) -> String {
        let response = self.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.text().await.unwrap()
    }

    /// The CSRF token from a console page's forms.
    async fn csrf(&self) -> String {
        let html = self.html("/console").await;
        between(&html, r#"name="_csrf" value=""#, "\"").to_owned()
    }

    /// Posts a form with the session's CSRF token; returns the response.
    async fn act(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let token = self.csrf().await;
        let mut fields = vec![("_csrf", token.as_str())];
        fields.extend_from_slice(form);
        self.post(path, &fields).await
    }
}

fn session_cookie(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(SET_COOKIE)?.to_str().ok()?;
    let pair = value.split(';').next()?.to_owned();
    (!pair.ends_with('=')).then_some(pair)
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text
        .find(start)
        .unwrap_or_else(|| panic!("{start:?} not in page"))
        + start.len();
    let len = text[from..].find(end).unwrap();
    &text[from..from + len]
}

fn location(response: &reqwest::Response) -> String {
    response.headers()[LOCATION].to_str().unwrap().to_owned()
}

/// A collector on a manual clock with one admin and one agent.
async fn console_app() -> (TestApp, Clock) {
    let clock = Clock::manual(NOON);
    let for_config = clock.clone();
    let app = spawn_app_with(move |c| c.clock = for_config).await;
    let hash = password::hash(&Password::parse(PASSWORD).unwrap()).unwrap();
    for (email, name, role) in [
        ("ada@example.com", "Ada", Role::Admin),
        ("bo@example.com", "Bo", Role::Agent),
    ] {
        app.running
            .store
            .add_user(NewUser {
                email: email.into(),
                name: name.into(),
                role,
                password_hash: hash.clone(),
            })
            .await
            .unwrap();
    }
    (app, clock)
}

async fn signed_in(app: &TestApp, email: &str) -> Console {
    let mut console = Console::new(app);
    let response = console.login(email, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    console
}

/// Submits feedback through the public API; returns (public id, status url).
async fn submit(app: &TestApp, body: Value) -> (String, String) {
    let response = app.post_json(&body, None).await;
    assert_eq!(response.status().as_u16(), 201);
    let accepted: Value = response.json().await.unwrap();
    (
        accepted["id"].as_str().unwrap().to_owned(),
        accepted["status_url"].as_str().unwrap().to_owned(),
    )
}

fn complaint(app: &TestApp, message: &str) -> Value {
    json!({"site": app.site_key, "kind": "complaint", "message": message,
           "client": {"language": "de-DE"}})
}

#[tokio::test]
async fn console_routes_redirect_to_login_or_answer_401_without_a_session() {
    let (app, _) = console_app().await;
    let anonymous = Console::new(&app);
    for path in [
        "/console",
        "/console/promises",
        "/console/sites",
        "/console/entries/e_00000000000000000000000",
    ] {
        let response = anonymous.get(path).await;
        assert_eq!(response.status(), StatusCode::FOUND, "{path}");
        assert!(location(&response).starts_with("/console/login?next=%2Fconsole"));
    }
    for path in [
        "/console/bulk",
        "/console/logout",
        "/console/entries/x/note",
    ] {
        let response = anonymous.post(path, &[("_csrf", "x")]).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    // A forged cookie is no session either.
    let mut forged = Console::new(&app);
    forged.cookie = Some(format!("earshot_session={}", "a".repeat(52)));
    assert_eq!(forged.get("/console").await.status(), StatusCode::FOUND);
}

#[tokio::test]
async fn every_console_response_carries_the_strict_headers() {
    let (app, _) = console_app().await;
    let console = signed_in(&app, "ada@example.com").await;
    for response in [
        Console::new(&app).get("/console/login").await,
        Console::new(&app).get("/console").await,
        console.get("/console").await,
        console.get("/console/nowhere").await,
    ] {
        let h = response.headers();
        assert_eq!(
            h["content-security-policy"],
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        );
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["cache-control"], "no-store");
        assert!(h.contains_key("referrer-policy"));
    }
}

#[tokio::test]
async fn login_sets_a_strict_cookie_rotates_the_session_and_logout_ends_it() {
    let (app, _) = console_app().await;
    let mut console = Console::new(&app);
    let response = console.login("ada@example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/console");
    let set_cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Strict"), "{set_cookie}");
    assert!(!set_cookie.contains("Secure"), "plain http: {set_cookie}");
    let first = console.cookie.clone().unwrap();
    assert!(first.len() > "earshot_session=".len() + 50, "≥ 256 bits");

    // Signing in again from the same browser replaces the session.
    console.login("ada@example.com", PASSWORD).await;
    let second = console.cookie.clone().unwrap();
    assert_ne!(first, second);
    let mut old = Console::new(&app);
    old.cookie = Some(first);
    assert_eq!(old.get("/console").await.status(), StatusCode::FOUND);
    assert_eq!(console.get("/console").await.status(), StatusCode::OK);

    let response = console.act("/console/logout", &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(
        response.headers()[SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_eq!(console.get("/console").await.status(), StatusCode::FOUND);
}

#[tokio::test]
async fn wrong_passwords_and_unknown_accounts_get_the_same_answer_then_throttling() {
    let (app, _) = console_app().await;
    let mut console = Console::new(&app);
    let wrong = console.login("ada@example.com", "not the password").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let wrong = wrong.text().await.unwrap();
    let unknown = console
        .login("nobody@example.com", "not the password")
        .await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    let unknown = unknown.text().await.unwrap();
    assert!(wrong.contains("Wrong email or password."));
    assert_eq!(
        wrong.replace("ada@example.com", ""),
        unknown.replace("nobody@example.com", "")
    );
    // Five attempts per account, then 429 even with the right password.
    for _ in 0..4 {
        console.login("ada@example.com", "guess guess guess").await;
    }
    let throttled = console.login("ada@example.com", PASSWORD).await;
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(throttled.headers().contains_key("retry-after"));
    // Another account from the same place is still fine.
    assert_eq!(
        console.login("bo@example.com", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn idle_sessions_end_on_the_clock() {
    let (app, clock) = console_app().await;
    let console = signed_in(&app, "ada@example.com").await;
    clock.advance(7 * 3_600_000);
    assert_eq!(console.get("/console").await.status(), StatusCode::OK);
    // Activity kept it alive; another idle stretch past 8 h ends it.
    clock.advance(8 * 3_600_000 + 1);
    assert_eq!(console.get("/console").await.status(), StatusCode::FOUND);
}

#[tokio::test]
async fn forms_without_the_sessions_csrf_token_or_from_another_origin_are_refused() {
    let (app, _) = console_app().await;
    let (id, _) = submit(&app, complaint(&app, "Refund never arrived")).await;
    let console = signed_in(&app, "ada@example.com").await;
    let path = format!("/console/entries/{id}/note");
    let token = console.csrf().await;
    let missing = console.post(&path, &[("body", "x")]).await;
    assert_eq!(missing.status(), StatusCode::FORBIDDEN);
    let wrong = console
        .post(
            &path,
            &[("_csrf", "0".repeat(token.len()).as_str()), ("body", "x")],
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    let cross_site = console
        .post_with(
            &path,
            &[("_csrf", token.as_str()), ("body", "x")],
            &[
                ("origin", "https://evil.example"),
                ("sec-fetch-site", "cross-site"),
            ],
        )
        .await;
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);
    let ok = console
        .post(
            &path,
            &[("_csrf", token.as_str()), ("body", "Checked the PSP logs")],
        )
        .await;
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    let notes: i64 = app
        .db()
        .query_row("SELECT count(*) FROM events WHERE kind = 'note'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(notes, 1, "only the accepted form wrote");
}

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
        format!("/console/entries/{id}#timeline")
    );

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
    let action = between(&page, "action=\"/console/sites/", "\"").to_owned();
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
async fn the_setup_link_creates_the_first_admin_once() {
    let app = spawn_app_with(|_| {}).await;
    let setup = app.running.setup_url.clone().expect("no users yet");
    let path = setup.trim_start_matches(&app.address).to_owned();
    let token = path.split("token=").nth(1).unwrap().to_owned();
    let mut console = Console::new(&app);
    assert_eq!(console.get(&path).await.status(), StatusCode::OK);
    assert_eq!(
        console.get("/console/setup?token=wrong").await.status(),
        StatusCode::NOT_FOUND
    );
    let short = console
        .post(
            "/console/setup",
            &[
                ("token", &token),
                ("name", "Ada"),
                ("email", "ada@example.com"),
                ("password", "short"),
            ],
        )
        .await;
    assert_eq!(short.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let created = console
        .post(
            "/console/setup",
            &[
                ("token", &token),
                ("name", "Ada"),
                ("email", "ada@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    console.cookie = session_cookie(created.headers());
    assert!(console.html("/console").await.contains("Ada"));
    assert_eq!(
        console.get(&path).await.status(),
        StatusCode::NOT_FOUND,
        "used up"
    );
    let role: String = app
        .db()
        .query_row("SELECT role FROM users", [], |r| r.get(0))
        .unwrap();
    assert_eq!(role, "admin");
}

/// A minimal SMTP server on loopback that accepts every message and hands
/// each one's DATA over the channel.
async fn smtp_sink() -> (String, tokio::sync::mpsc::UnboundedReceiver<String>) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("smtp://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 sink ESMTP\r\n").await.unwrap();
                let mut data: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(body) = data.as_mut() {
                        if line == "." {
                            tx.send(data.take().unwrap()).unwrap();
                            write.write_all(b"250 queued\r\n").await.unwrap();
                        } else {
                            body.push_str(&line);
                            body.push('\n');
                        }
                        continue;
                    }
                    let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                    let answer: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250 sink\r\n",
                        "DATA" => {
                            data = Some(String::new());
                            b"354 go ahead\r\n"
                        }
                        "QUIT" => {
                            write.write_all(b"221 bye\r\n").await.unwrap();
                            break;
                        }
                        _ => b"250 ok\r\n",
                    };
                    write.write_all(answer).await.unwrap();
                }
            });
        }
    });
    (url, rx)
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
        .add_user(NewUser {
            email: "ada@example.com".into(),
            name: "Ada".into(),
            role: Role::Admin,
            password_hash: hash,
        })
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
    let mail = tokio::time::timeout(std::time::Duration::from_secs(10), mails.recv())
        .await
        .expect("the reply is emailed")
        .unwrap()
        // Undo quoted-printable soft line breaks.
        .replace("=\n", "");
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
