//! The staff REST API: reading and writing as the console does.

use earshot_collector::auth::ApiToken;
use earshot_collector::store::NewToken;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_of};
use crate::staff::{NOON, complaint, console_app, signed_in, user_id};

/// A token for `email` made straight in the store.
pub(crate) async fn token_for(
    app: &TestApp,
    email: &str,
    scope: &str,
    expires_at: Option<i64>,
) -> String {
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

pub(crate) struct Api<'a> {
    pub(crate) app: &'a TestApp,
    pub(crate) token: String,
}

impl Api<'_> {
    pub(crate) async fn get(&self, path: &str) -> reqwest::Response {
        self.app
            .client
            .get(self.url(path))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> reqwest::Response {
        self.app
            .client
            .post(self.url(path))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub(crate) async fn json(&self, path: &str) -> Value {
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

/// The references a page of `GET /api/v1/entries` lists, in order.
pub(crate) fn refs(page: &Value) -> Vec<String> {
    page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["reference"].as_str().unwrap().to_owned())
        .collect()
}

pub(crate) async fn reference_of(app: &TestApp, body: Value) -> String {
    let response = app.post_json(&body, None).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let accepted: Value = response.json().await.unwrap();
    accepted["reference"].as_str().unwrap().to_owned()
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
    // A year typed wrong (2062 for 2026) would never turn overdue.
    let response = api
        .post(
            &path("replies"),
            json!({"body": "On it", "promise": {"text": "Fixed", "due": "2062-11-27"}}),
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
    let timeline = entry["timeline"].as_array().unwrap();
    let made_by: Vec<_> = timeline
        .iter()
        .filter(|e| e["promise"].is_i64())
        .map(|e| {
            (
                e["kind"].as_str(),
                e["body"].as_str(),
                e["promise"].as_i64(),
            )
        })
        .collect();
    assert_eq!(
        made_by,
        [(Some("reply"), Some("On it"), Some(id))],
        "the reply that made the promise names it: {timeline:?}"
    );
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
    assert_eq!(seen["sites"][0]["receipt_email"], false);
    assert!(seen["sites"][0].get("origins").is_none());
    let seen = admin.json("/api/v1/sites").await;
    assert!(seen["sites"][0]["origins"].is_array());
}

/// Colleagues by the ids the API names them with; a disabled one is still
/// listed (its id stays on past events) but can be given no work.
#[tokio::test]
async fn colleagues_are_listed_by_the_ids_the_api_names_them_with() {
    let (app, _clock) = console_app().await;
    let (ada_id, bo_id) = (
        user_id(&app, "ada@example.com"),
        user_id(&app, "bo@example.com"),
    );
    let agent = Api {
        app: &app,
        token: token_for(&app, "bo@example.com", "read", None).await,
    };
    let admin = Api {
        app: &app,
        token: token_for(&app, "ada@example.com", "write", None).await,
    };
    let seen = agent.json("/api/v1/staff").await;
    assert_eq!(
        seen,
        json!({"staff": [
            {"id": ada_id, "name": "Ada", "email": "ada@example.com", "active": true},
            {"id": bo_id, "name": "Bo", "email": "bo@example.com", "active": true},
        ]}),
        "roles are administrators' business"
    );
    let agent_token = agent.token.clone();
    app.running
        .store
        .set_disabled(bo_id, true, Some(ada_id), NOON)
        .await
        .unwrap();
    let seen = admin.json("/api/v1/staff").await;
    assert_eq!(
        seen,
        json!({"staff": [
            {"id": ada_id, "name": "Ada", "email": "ada@example.com", "active": true, "role": "admin"},
            {"id": bo_id, "name": "Bo", "email": "bo@example.com", "active": false, "role": "agent"},
        ]}),
        "active ones first"
    );
    // Whom the list names as inactive cannot be given work.
    let reference = reference_of(&app, complaint(&app, "Parcel lost")).await;
    let refused = admin
        .post(
            &format!("/api/v1/entries/{reference}/assign"),
            json!({"assignee": bo_id}),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let unknown = app
        .client
        .get(format!("{}/api/v1/staff", app.address))
        .bearer_auth(&agent_token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_of(unknown, 401).await.0,
        "invalid_token",
        "a disabled colleague's token stops"
    );
}
