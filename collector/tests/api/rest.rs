//! The staff REST API: tokens, reading, writing and exporting.

use std::collections::HashMap;

use earshot_collector::auth::ApiToken;
use earshot_collector::store::NewToken;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_of};
use crate::staff::{NOON, between, complaint, console_app, signed_in, submit};

const DAY: i64 = 24 * 3_600_000;

/// A token for `email` made straight in the store.
async fn token_for(app: &TestApp, email: &str, scope: &str, expires_at: Option<i64>) -> String {
    let store = &app.running.store;
    let user = store.user_by_email(email.into()).await.unwrap().unwrap();
    let token = ApiToken::generate();
    store
        .add_token(
            NewToken {
                user_id: user.id,
                name: format!("{scope} test"),
                scope: scope.into(),
                hash: token.digest(),
                hint: token.hint(),
                expires_at,
            },
            None,
            NOON,
        )
        .await
        .unwrap();
    token.reveal().to_owned()
}

struct Api<'a> {
    app: &'a TestApp,
    token: String,
}

impl Api<'_> {
    async fn get(&self, path: &str) -> reqwest::Response {
        self.app
            .client
            .get(self.url(path))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
    }

    async fn post(&self, path: &str, body: Value) -> reqwest::Response {
        self.app
            .client
            .post(self.url(path))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    async fn json(&self, path: &str) -> Value {
        let response = self.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.json().await.unwrap()
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.app.address)
        }
    }
}

async fn reference_of(app: &TestApp, body: Value) -> String {
    let response = app.post_json(&body, None).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let accepted: Value = response.json().await.unwrap();
    accepted["reference"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn calls_without_a_valid_token_get_401_and_guessing_is_throttled() {
    let (app, _clock) = console_app().await;
    let url = format!("{}/api/v1/entries", app.address);
    let response = app.client.get(&url).send().await.unwrap();
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert_eq!(error_of(response, 401).await.0, "unauthorized");
    // A staff session is no API credential.
    let console = signed_in(&app, "ada@example.com").await;
    assert_eq!(console.get("/api/v1/entries").await.status(), 401);

    let guess = format!("esk_{}", "a".repeat(52));
    for attempt in 0..10 {
        let response = app
            .client
            .get(&url)
            .bearer_auth(&guess)
            .send()
            .await
            .unwrap();
        assert_eq!(
            error_of(response, 401).await.0,
            "invalid_token",
            "attempt {attempt}"
        );
    }
    let response = app
        .client
        .get(&url)
        .bearer_auth(&guess)
        .send()
        .await
        .unwrap();
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(error_of(response, 429).await.0, "rate_limited");
    // Even a valid token waits out the throttle from that network.
    let valid = token_for(&app, "ada@example.com", "read", None).await;
    let response = app
        .client
        .get(&url)
        .bearer_auth(&valid)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
}

#[tokio::test]
async fn a_token_made_in_the_console_is_shown_once_works_and_stops_when_revoked() {
    let (app, clock) = console_app().await;
    let reference = reference_of(&app, complaint(&app, "Checkout <b>broke</b>")).await;
    let bo = signed_in(&app, "bo@example.com").await;
    let created = bo
        .act(
            "/console/tokens",
            &[
                ("name", "Nightly <export>"),
                ("scope", "read"),
                ("expires_days", ""),
            ],
        )
        .await;
    assert_eq!(created.status(), StatusCode::OK);
    let html = created.text().await.unwrap();
    assert!(
        html.contains("Nightly &lt;export&gt;"),
        "the label is escaped"
    );
    let token = format!("esk_{}", between(&html, "<code class=\"secret\">esk_", "<"));
    assert_eq!(token.len(), 56);
    // Only its fingerprint is stored.
    let stored: Vec<u8> = app
        .db()
        .query_row("SELECT hash FROM api_tokens", [], |r| r.get(0))
        .unwrap();
    assert_eq!(stored, ApiToken::parse(&token).unwrap().digest());
    let listed = bo.html("/console/tokens").await;
    assert!(!listed.contains(&token), "never shown again");
    assert!(listed.contains(&token[..10]), "a hint tells tokens apart");
    assert!(listed.contains("never"), "not used yet");

    let api = Api {
        app: &app,
        token: token.clone(),
    };
    let entry = api.json(&format!("/api/v1/entries/{reference}")).await;
    assert_eq!(entry["message"], "Checkout <b>broke</b>");
    // References are accepted in any case.
    api.json(&format!("/api/v1/entries/{}", reference.to_lowercase()))
        .await;
    clock.advance(5 * 60_000);
    assert!(
        !bo.html("/console/tokens").await.contains(">never<"),
        "last use shown"
    );

    // Bo's token is not Ada's to see… but Ada, an admin, sees and may revoke it.
    let ada = signed_in(&app, "ada@example.com").await;
    let admin_view = ada.html("/console/tokens").await;
    assert!(admin_view.contains("bo@example.com"));
    let id = between(&admin_view, "/console/tokens/", "/revoke").to_owned();
    let revoked = bo.act(&format!("/console/tokens/{id}/revoke"), &[]).await;
    assert_eq!(revoked.status(), StatusCode::SEE_OTHER);
    let response = api.get(&format!("/api/v1/entries/{reference}")).await;
    assert_eq!(error_of(response, 401).await.0, "invalid_token");
    assert!(bo.html("/console/tokens").await.contains("revoked"));
    let bo_email = Some("bo@example.com".to_owned());
    assert_eq!(
        crate::helpers::audit_rows(&app),
        [
            ("token.created", format!("id={id},scope=read")),
            ("token.revoked", format!("id={id}")),
        ]
        .map(|(action, detail)| (
            action.to_owned(),
            bo_email.clone(),
            "bo@example.com".to_owned(),
            Some(detail)
        ))
    );
}

#[tokio::test]
async fn expired_tokens_stop_working_on_the_clock() {
    let (app, clock) = console_app().await;
    let token = token_for(&app, "bo@example.com", "read", Some(NOON + DAY)).await;
    let api = Api { app: &app, token };
    assert_eq!(api.get("/api/v1/sites").await.status(), 200);
    clock.advance(DAY);
    assert_eq!(
        error_of(api.get("/api/v1/sites").await, 401).await.0,
        "invalid_token"
    );
}

#[tokio::test]
async fn read_tokens_cannot_write_and_write_tokens_act_as_their_owner_under_the_consoles_rules() {
    let (app, _clock) = console_app().await;
    let reference = reference_of(&app, complaint(&app, "The export is empty")).await;
    let read = Api {
        app: &app,
        token: token_for(&app, "bo@example.com", "read", None).await,
    };
    let path = |action: &str| format!("/api/v1/entries/{reference}/{action}");
    for (action, body) in [
        ("status", json!({"status": "acknowledged"})),
        ("assign", json!({"assignee": "me"})),
        ("notes", json!({"body": "a note"})),
        ("replies", json!({"body": "a reply"})),
        ("promises/1/settle", json!({"outcome": "kept"})),
        // Refused before the body is read: a read token learns nothing.
        ("assign", json!({"bogus": true})),
    ] {
        let response = read.post(&path(action), body).await;
        assert_eq!(error_of(response, 403).await.0, "forbidden", "{action}");
    }
    let untouched = read.json(&format!("/api/v1/entries/{reference}")).await;
    assert_eq!(
        untouched["timeline"],
        json!([]),
        "a read token changed nothing"
    );

    let api = Api {
        app: &app,
        token: token_for(&app, "bo@example.com", "write", None).await,
    };
    let entry: Value = api
        .post(&path("status"), json!({"status": "in_progress"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(entry["status"], "in_progress");
    let event = &entry["timeline"][0];
    assert_eq!(
        (event["kind"].as_str(), event["by"].as_str()),
        (Some("status"), Some("Bo"))
    );
    assert_eq!(event["to"], "in_progress");

    // Moves the console refuses are refused here, with the reason.
    let response = api
        .post(&path("status"), json!({"status": "in_progress"}))
        .await;
    assert_eq!(
        error_of(response, 409).await,
        ("unchanged".into(), Some("status".into()))
    );
    let resolved = api
        .post(&path("status"), json!({"status": "resolved"}))
        .await;
    assert_eq!(resolved.status(), 200);
    let response = api.post(&path("status"), json!({"status": "spam"})).await;
    assert_eq!(response.status(), 409);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "status_not_allowed");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("resolved")
    );
    let response = api.post(&path("status"), json!({"status": "closed"})).await;
    assert_eq!(error_of(response, 422).await.1.as_deref(), Some("status"));

    // Assign by email, "me", id, and back to nobody.
    let entry: Value = api
        .post(&path("assign"), json!({"assignee": "ada@example.com"}))
        .await
        .json()
        .await
        .unwrap();
    let ada_id = entry["assignee_id"].as_i64().unwrap();
    let entry: Value = api
        .post(&path("assign"), json!({"assignee": "me"}))
        .await
        .json()
        .await
        .unwrap();
    assert_ne!(entry["assignee_id"].as_i64(), Some(ada_id));
    let entry: Value = api
        .post(&path("assign"), json!({"assignee": ada_id}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(entry["assignee_id"].as_i64(), Some(ada_id));
    let entry: Value = api
        .post(&path("assign"), json!({"assignee": null}))
        .await
        .json()
        .await
        .unwrap();
    assert!(entry["assignee_id"].is_null());
    let response = api
        .post(&path("assign"), json!({"assignee": "nobody@example.com"}))
        .await;
    assert_eq!(
        error_of(response, 422).await,
        ("unknown_colleague".into(), Some("assignee".into()))
    );

    // Notes and replies follow the console's text rules.
    let response = api
        .post(&path("notes"), json!({"body": " \u{200B} "}))
        .await;
    assert_eq!(error_of(response, 422).await.1.as_deref(), Some("body"));
    let response = api
        .post(&path("notes"), json!({"body": "x".repeat(10_001)}))
        .await;
    assert_eq!(error_of(response, 422).await.1.as_deref(), Some("body"));
    let response = api
        .post(
            &path("notes"),
            json!({"body": "Customer is on the old plan", "extra": 1}),
        )
        .await;
    assert_eq!(error_of(response, 422).await.0, "unknown_field");
    let noted = api
        .post(
            &path("notes"),
            json!({"body": "Customer is on the old plan"}),
        )
        .await;
    assert_eq!(noted.status(), 201);
    let entry: Value = noted.json().await.unwrap();
    assert_eq!(entry["notes"][0]["body"], "Customer is on the old plan");

    let response = api
        .post(
            &path("replies"),
            json!({"body": "On it", "promise": {"text": "Fixed", "due": "2020-01-01"}}),
        )
        .await;
    assert_eq!(
        error_of(response, 422).await.1.as_deref(),
        Some("promise.due")
    );
    let replied = api
        .post(
            &path("replies"),
            json!({"body": "On it", "promise": {"text": "Fixed by Friday", "due": "2026-11-27"}}),
        )
        .await;
    assert_eq!(replied.status(), 201);
    let entry: Value = replied.json().await.unwrap();
    assert_eq!(entry["replies"][0]["body"], "On it");
    assert!(
        entry["first_response"].is_string(),
        "the first reply stops the clock"
    );
    let promise = &entry["promises"][0];
    assert_eq!(
        (promise["text"].as_str(), promise["state"].as_str()),
        (Some("Fixed by Friday"), Some("open"))
    );
    let id = promise["id"].as_i64().unwrap();
    let settle = format!("/api/v1/entries/{reference}/promises/{id}/settle");
    let response = api.post(&settle, json!({"outcome": "maybe"})).await;
    assert_eq!(error_of(response, 422).await.1.as_deref(), Some("outcome"));
    let entry: Value = api
        .post(&settle, json!({"outcome": "kept"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(entry["promises"][0]["state"], "kept");
    let response = api.post(&settle, json!({"outcome": "kept"})).await;
    assert_eq!(error_of(response, 409).await.0, "already_settled");
    let response = api
        .post(
            &format!("/api/v1/entries/{reference}/promises/999/settle"),
            json!({"outcome": "kept"}),
        )
        .await;
    assert_eq!(error_of(response, 404).await.0, "unknown_promise");

    // The console shows the same timeline.
    let ada = signed_in(&app, "ada@example.com").await;
    let public_id = entry["console_url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let html = ada.html(&format!("/console/entries/{public_id}")).await;
    assert!(html.contains("Customer is on the old plan"));
    assert!(html.contains("Fixed by Friday"));

    let response = api.get("/api/v1/entries/ES-0000-0000").await;
    assert_eq!(error_of(response, 404).await.0, "unknown_entry");
    let response = api
        .app
        .client
        .post(api.url(&path("notes")))
        .bearer_auth(&api.token)
        .header("content-type", "text/plain")
        .body("hi")
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(response, 415).await.0, "unsupported_media_type");
}

#[tokio::test]
async fn sites_are_listed_for_everyone_and_origins_only_for_admins() {
    let (app, _clock) = console_app().await;
    let agent = Api {
        app: &app,
        token: token_for(&app, "bo@example.com", "read", None).await,
    };
    let admin = Api {
        app: &app,
        token: token_for(&app, "ada@example.com", "read", None).await,
    };
    let seen = agent.json("/api/v1/sites").await;
    assert_eq!(seen["sites"][0]["key"], app.site_key.as_str());
    assert!(seen["sites"][0].get("origins").is_none());
    let seen = admin.json("/api/v1/sites").await;
    assert!(seen["sites"][0]["origins"].is_array());
}

#[tokio::test]
async fn pages_cover_every_entry_exactly_once_while_new_ones_arrive() {
    let (app, _clock) = console_app().await;
    let mut before = Vec::new();
    for i in 0..45 {
        before.push(reference_of(&app, complaint(&app, &format!("entry {i}"))).await);
    }
    let api = Api {
        app: &app,
        token: token_for(&app, "bo@example.com", "read", None).await,
    };
    for view in ["all", "waiting"] {
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut next = Some(format!("/api/v1/entries?view={view}&limit=7"));
        let mut pages = 0;
        while let Some(url) = next.take() {
            let response = api.get(&url).await;
            assert_eq!(response.status(), 200);
            let link = response
                .headers()
                .get("link")
                .map(|v| v.to_str().unwrap().to_owned());
            let page: Value = response.json().await.unwrap();
            let entries = page["entries"].as_array().unwrap();
            assert!(entries.len() <= 7);
            for entry in entries {
                *seen
                    .entry(entry["reference"].as_str().unwrap().to_owned())
                    .or_default() += 1;
            }
            next = page["next"].as_str().map(str::to_owned);
            assert_eq!(link, next.as_ref().map(|n| format!("<{n}>; rel=\"next\"")));
            // Someone files feedback between pages.
            reference_of(&app, complaint(&app, "meanwhile")).await;
            pages += 1;
        }
        assert!(pages >= 7);
        for reference in &before {
            assert_eq!(seen.get(reference), Some(&1), "{view}: {reference}");
        }
        assert!(seen.values().all(|n| *n == 1), "{view}: nothing twice");
    }
    for limit in ["201", "0", "", "ten"] {
        let response = api.get(&format!("/api/v1/entries?limit={limit}")).await;
        assert_eq!(error_of(response, 422).await.1.as_deref(), Some("limit"));
    }
    let response = api.get("/api/v1/entries?cursor=bm9wZQ").await;
    assert_eq!(error_of(response, 422).await.1.as_deref(), Some("cursor"));
}

#[tokio::test]
async fn the_waiting_view_puts_whoever_has_waited_longest_first_counting_from_a_follow_up() {
    let (app, clock) = console_app().await;
    let api = Api {
        app: &app,
        token: token_for(&app, "bo@example.com", "write", None).await,
    };
    // A arrives and is answered; B arrives ten minutes later; ten more and
    // A's customer writes again; ten more and C arrives. Waiting now: B for
    // 20 minutes, A for 10 (since the follow-up), C just in.
    let a = reference_of(&app, complaint(&app, "The invoice is wrong")).await;
    let reply = api
        .post(
            &format!("/api/v1/entries/{a}/replies"),
            json!({"body": "Which line?"}),
        )
        .await;
    assert_eq!(reply.status(), StatusCode::CREATED);
    clock.advance(10 * 60_000);
    let b = reference_of(&app, complaint(&app, "The app logs me out")).await;
    clock.advance(10 * 60_000);
    let a_id: i64 = app
        .db()
        .query_row("SELECT id FROM entries WHERE reference = ?1", [&a], |r| {
            r.get(0)
        })
        .unwrap();
    app.running
        .store
        .follow_up(a_id, "Line 3, the shipping".into(), clock.now_millis())
        .await
        .unwrap()
        .unwrap();
    clock.advance(10 * 60_000);
    let c = reference_of(&app, complaint(&app, "No receipt")).await;

    // One at a time, so every step goes through the cursor.
    let mut order = Vec::new();
    let mut next = Some("/api/v1/entries?view=waiting&limit=1".to_owned());
    while let Some(url) = next.take() {
        let page = api.json(&url).await;
        for entry in page["entries"].as_array().unwrap() {
            order.push(entry["reference"].as_str().unwrap().to_owned());
        }
        next = page["next"].as_str().map(str::to_owned);
    }
    assert_eq!(order, [b.clone(), a.clone(), c.clone()]);

    // The console lists them in the same order.
    let console = signed_in(&app, "ada@example.com").await;
    let inbox = console.html("/console").await;
    let at = |reference: &str| inbox.find(reference).unwrap();
    assert!(at(&b) < at(&a) && at(&a) < at(&c), "{inbox}");
}

#[tokio::test]
async fn the_inbox_filters_apply_to_the_api() {
    let (app, _clock) = console_app().await;
    reference_of(&app, complaint(&app, "The discount code failed")).await;
    let idea = reference_of(
        &app,
        json!({"site": app.site_key, "kind": "idea", "message": "Dark mode please"}),
    )
    .await;
    let api = Api {
        app: &app,
        token: token_for(&app, "bo@example.com", "read", None).await,
    };
    let refs = |page: &Value| -> Vec<String> {
        page["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["reference"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        refs(&api.json("/api/v1/entries?view=all&kind=idea").await),
        std::slice::from_ref(&idea)
    );
    assert_eq!(
        refs(&api.json("/api/v1/entries?view=all&q=dark").await),
        std::slice::from_ref(&idea)
    );
    let by_key = api
        .json(&format!("/api/v1/entries?view=all&site={}", app.site_key))
        .await;
    assert_eq!(refs(&by_key).len(), 2);
    assert_eq!(refs(&api.json("/api/v1/entries?view=spam").await).len(), 0);
    for (query, field) in [
        ("kind=rant", "kind"),
        ("view=trash", "view"),
        ("from=yesterday", "from"),
        ("site=site_nope", "site"),
        ("after=3", "after"),
    ] {
        let response = api.get(&format!("/api/v1/entries?{query}")).await;
        assert_eq!(
            error_of(response, 422).await.1.as_deref(),
            Some(field),
            "{query}"
        );
    }
}

#[tokio::test]
async fn attachments_are_served_to_tokens_with_the_consoles_protections() {
    let (app, _clock) = console_app().await;
    let (public_id, status_url) = submit(&app, complaint(&app, "See the picture")).await;
    let secret = status_url.rsplit('.').next().unwrap().to_owned();
    let png = {
        let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        b.extend_from_slice(&2u32.to_be_bytes());
        b.extend_from_slice(&2u32.to_be_bytes());
        b.extend_from_slice(&[8, 6, 0, 0, 0]);
        b
    };
    let uploaded = app
        .client
        .post(format!(
            "{}/api/v1/feedback/{public_id}/attachments",
            app.address
        ))
        .bearer_auth(&secret)
        .header("content-type", "image/png")
        .body(png.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), 201);
    let api = Api {
        app: &app,
        token: token_for(&app, "bo@example.com", "read", None).await,
    };
    let page = api.json("/api/v1/entries?view=all").await;
    let entry = api.json(page["entries"][0]["url"].as_str().unwrap()).await;
    let attachment = &entry["attachments"][0];
    assert_eq!(
        (attachment["width"].as_i64(), attachment["height"].as_i64()),
        (Some(2), Some(2))
    );
    let response = api.get(attachment["url"].as_str().unwrap()).await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("sandbox")
    );
    assert_eq!(response.bytes().await.unwrap(), png);
    let anonymous = app
        .client
        .get(attachment["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

/// What a spreadsheet would run, and what breaks naive CSV.
const HOSTILE: [&str; 9] = [
    "=HYPERLINK(\"http://evil.example\",\"click\")",
    "+41 79 000 00 00",
    "-2+3",
    "@SUM(A1:A9)",
    "\tindented",
    "\rreturn first",
    "two\nlines, \"quoted\" and, commas",
    "plain words",
    "Ünïcödé ✓ 日本語",
];

#[tokio::test]
async fn an_export_with_a_search_finds_just_submitted_entries_and_longer_words_in_every_chunk() {
    let (app, _clock) = console_app().await;
    // More than one export chunk (500 rows) matches, and nothing is in the
    // search index yet: the export must catch it up first.
    for i in 0..1_100 {
        let word = if i % 2 == 0 { "refunded" } else { "refund" };
        let body =
            json!({"site": app.site_key, "kind": "complaint", "message": format!("{word} {i}")});
        reference_of(&app, body).await;
    }
    reference_of(
        &app,
        json!({"site": app.site_key, "kind": "complaint", "message": "nothing to see"}),
    )
    .await;
    let api = Api {
        app: &app,
        token: token_for(&app, "bo@example.com", "read", None).await,
    };
    let response = api
        .get("/api/v1/entries/export.ndjson?view=all&q=refund")
        .await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let messages: Vec<String> = text
        .lines()
        .map(|line| {
            serde_json::from_str::<serde_json::Value>(line).unwrap()["message"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(messages.len(), 1_100, "every refund and refunded, once");
    assert_eq!(
        messages
            .iter()
            .filter(|m| m.starts_with("refunded "))
            .count(),
        550
    );
}

#[tokio::test]
async fn csv_export_is_rfc_4180_and_defuses_formulas_for_a_real_csv_parser() {
    let (app, _clock) = console_app().await;
    for text in HOSTILE {
        let body = json!({
            "site": app.site_key, "kind": "expectation", "expected": text, "actual": "=1+1",
            "name": "@admin", "email": "ana@example.com",
        });
        reference_of(&app, body).await;
    }
    let api = Api {
        app: &app,
        token: token_for(&app, "bo@example.com", "read", None).await,
    };
    let response = api.get("/api/v1/entries/export.csv?view=all").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"earshot-")
    );
    let bytes = response.bytes().await.unwrap();
    assert!(
        !bytes.starts_with("\u{FEFF}".as_bytes()),
        "no BOM unless asked"
    );
    let mut reader = csv::Reader::from_reader(&bytes[..]);
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(header, earshot_collector::export::CSV_COLUMNS);
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), HOSTILE.len());
    let mut expected_cells: Vec<String> = rows
        .iter()
        .map(|r| r[column("expected")].to_owned())
        .collect();
    expected_cells.sort();
    // Ingest trims what customers send; a tab or return can only lead a
    // cell through other columns (unit-tested in `export`).
    let mut want: Vec<String> = HOSTILE
        .iter()
        .map(|t| t.trim())
        .map(|t| {
            if t.starts_with(['=', '+', '-', '@', '\t', '\r']) {
                format!("'{t}")
            } else {
                (*t).to_owned()
            }
        })
        .collect();
    want.sort();
    assert_eq!(expected_cells, want);
    for row in &rows {
        assert_eq!(&row[column("actual")], "'=1+1");
        assert_eq!(&row[column("name")], "'@admin");
        assert_eq!(&row[column("email")], "ana@example.com");
        assert_eq!(&row[column("kind")], "expectation");
        assert_eq!(&row[column("promises_open")], "0");
        assert!(row[column("console_url")].starts_with(&app.address));
    }

    let with_bom = api
        .get("/api/v1/entries/export.csv?view=all&bom=1")
        .await
        .bytes()
        .await
        .unwrap();
    assert!(with_bom.starts_with("\u{FEFF}reference,".as_bytes()));

    // NDJSON carries the text as it was written: it is data, not a sheet.
    let response = api.get("/api/v1/entries/export.ndjson?view=all").await;
    assert_eq!(response.headers()["content-type"], "application/x-ndjson");
    let text = response.text().await.unwrap();
    let mut expected: Vec<String> = text
        .lines()
        .map(|line| {
            serde_json::from_str::<Value>(line).unwrap()["expected"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    expected.sort();
    let mut original: Vec<String> = HOSTILE.iter().map(|t| t.trim().to_owned()).collect();
    original.sort();
    assert_eq!(expected, original);
}

#[tokio::test]
async fn the_console_exports_what_its_filters_show_with_times_and_promises() {
    let (app, clock) = console_app().await;
    let (public_id, _) = submit(&app, complaint(&app, "Slow checkout")).await;
    reference_of(
        &app,
        json!({"site": app.site_key, "kind": "idea", "message": "Dark mode"}),
    )
    .await;
    let bo = signed_in(&app, "bo@example.com").await;
    let inbox = bo.html("/console?view=all&kind=complaint").await;
    let link = between(&inbox, "href=\"/console/export.csv?", "\"").replace("&amp;", "&");
    assert_eq!(link, "view=all&kind=complaint");
    clock.advance(90_000);
    bo.act(
        &format!("/console/entries/{public_id}/reply"),
        &[
            ("body", "Looking"),
            ("promise_text", "Faster by Friday"),
            ("promise_due", "2026-11-27"),
        ],
    )
    .await;
    clock.advance(3_600_000);
    bo.act(
        &format!("/console/entries/{public_id}/status"),
        &[("status", "resolved")],
    )
    .await;
    let response = bo.get(&format!("/console/export.csv?{link}")).await;
    assert_eq!(response.status(), 200);
    let bytes = response.bytes().await.unwrap();
    let mut reader = csv::Reader::from_reader(&bytes[..]);
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1, "only complaints");
    let cell = |name: &str| rows[0][header.iter().position(|h| h == name).unwrap()].to_owned();
    assert_eq!(cell("message"), "Slow checkout");
    assert_eq!(cell("first_response_seconds"), "90");
    assert_eq!(cell("resolution_seconds"), "3690");
    assert_eq!(cell("promises_open"), "1");
    assert_eq!(cell("status"), "resolved");
    // Signed out, the sign-in page instead.
    let anonymous = app
        .client
        .get(format!("{}/console/export.csv", app.address))
        .send()
        .await
        .unwrap();
    assert!(anonymous.url().path().starts_with("/console/login"));
    assert!(
        anonymous.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
}

async fn openapi(app: &TestApp) -> Value {
    app.client
        .get(format!("{}/api/openapi.json", app.address))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Every `$ref` inside `value`.
fn refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.push(r.clone());
            }
            map.values().for_each(|v| refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn the_openapi_document_describes_the_staff_api_consistently() {
    let (app, _clock) = console_app().await;
    let doc = openapi(&app).await;
    let mut found = Vec::new();
    refs(&doc, &mut found);
    assert!(found.len() > 20);
    for r in &found {
        let pointer = r.strip_prefix('#').expect("local references only");
        assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
    }
    let mut operation_ids = std::collections::HashSet::new();
    let mut staff = 0;
    for (path, operations) in doc["paths"].as_object().unwrap() {
        let templated: Vec<&str> = path
            .split('{')
            .skip(1)
            .map(|rest| rest.split('}').next().unwrap())
            .collect();
        for (method, op) in operations.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap();
            assert!(operation_ids.insert(id.to_owned()), "{id} twice");
            let tags = op["tags"].as_array().expect("every operation is tagged");
            let declared: Vec<&str> = op["parameters"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .filter(|p| p["in"] == "path")
                        .map(|p| p["name"].as_str().unwrap())
                        .collect()
                })
                .unwrap_or_default();
            assert_eq!(declared, templated, "{method} {path}: path parameters");
            for (status, response) in op["responses"].as_object().unwrap() {
                assert!(status.parse::<u16>().is_ok(), "{path} {status}");
                assert!(
                    response["description"].is_string(),
                    "{method} {path} {status}"
                );
            }
            if tags.contains(&json!("staff")) {
                staff += 1;
                assert_eq!(op["security"], json!([{"apiToken": []}]), "{path}");
                assert!(
                    op["responses"]["401"].is_object(),
                    "{method} {path} documents 401"
                );
                // Without a token, every staff operation answers 401, as documented.
                let method: reqwest::Method = method.to_uppercase().parse().unwrap();
                let concrete = path
                    .replace("{reference}", "ES-0000-0000")
                    .replace("{promise}", "1")
                    .replace("{id}", "att_x");
                let response = app
                    .client
                    .request(method, format!("{}{concrete}", app.address))
                    .json(&json!({}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 401, "{path}");
            }
        }
    }
    assert_eq!(staff, 11);
    // The enums are the server's own.
    let view = &doc["paths"]["/api/v1/entries"]["get"]["parameters"][0];
    assert_eq!(
        view["schema"]["enum"],
        json!(["waiting", "all", "spam", ""])
    );
}

/// The OpenAPI Initiative's JSON Schema for OpenAPI 3.1 documents (as
/// shipped by @seriousme/openapi-schema-validator 2.11.0, MIT).
const OPENAPI_31_SCHEMA: &str = include_str!("schemas/openapi-3.1.json");

#[tokio::test]
async fn the_openapi_document_validates_against_the_openapi_3_1_schema() {
    let (app, _clock) = console_app().await;
    let doc = openapi(&app).await;
    let schema: Value = serde_json::from_str(OPENAPI_31_SCHEMA).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // The check is real: a document missing its info is refused.
    let mut broken = doc.clone();
    broken.as_object_mut().unwrap().remove("info");
    assert!(!validator.is_valid(&broken));
}
