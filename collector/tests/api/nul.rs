//! A NUL character (U+0000) in what staff send, or in an address.
//! PostgreSQL's text cannot hold one, SQLite's can: both backends refuse
//! it alike with a specific 4xx (it was a 500 on PostgreSQL), and a
//! customer's text is cleaned of it rather than refused.

use earshot_collector::config::Secret;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_of};
use crate::postgres_server::TempPostgres;
use crate::rest::{Api, token_for};
use crate::staff::{Console, PASSWORD, console_app, console_app_with, signed_in, submit};

/// The same collector (admin Ada, agent Bo) on SQLite and on PostgreSQL.
async fn on_both_backends() -> Vec<(&'static str, TestApp)> {
    let url = TempPostgres::shared().fresh_database();
    let (sqlite, _) = console_app().await;
    let (postgres, _) = console_app_with(move |c| c.database_url = Some(Secret::new(url))).await;
    vec![("sqlite", sqlite), ("postgres", postgres)]
}

async fn events_of(api: &Api<'_>, reference: &str) -> Vec<Value> {
    let response = api.get(&format!("/api/v1/entries/{reference}")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let detail: Value = response.json().await.unwrap();
    detail["timeline"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nul_in_a_staff_api_body_is_refused_with_422_naming_the_field_on_both_backends() {
    for (backend, app) in on_both_backends().await {
        let token = token_for(&app, "ada@example.com", "write", None).await;
        let api = Api { app: &app, token };
        let mut body = app.valid_body();
        body["message"] = json!("Broken\u{0} checkout");
        let answer: Value = app.post_json(&body, None).await.json().await.unwrap();
        let reference = answer["reference"].as_str().unwrap().to_owned();
        let before = events_of(&api, &reference).await;

        for (path, body, field) in [
            ("notes", json!({"body": "Called\u{0} her"}), "body"),
            ("replies", json!({"body": "On it\u{0}"}), "body"),
            (
                "replies",
                json!({"body": "On it", "promise": {"text": "Fixed\u{0}", "due": "2099-01-01"}}),
                "promise.text",
            ),
        ] {
            let response = api
                .post(&format!("/api/v1/entries/{reference}/{path}"), body)
                .await;
            let (code, named) = error_of(response, 422).await;
            assert_eq!(code, "invalid_format", "{backend} {path}");
            assert_eq!(named.as_deref(), Some(field), "{backend} {path}");
        }
        assert_eq!(events_of(&api, &reference).await, before, "{backend}");

        // The customer's NUL was cleaned away, not refused; staff text
        // without one is taken, cleaned of other control characters and
        // bidi overrides as a customer's is.
        let detail: Value = api
            .get(&format!("/api/v1/entries/{reference}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(detail["message"], "Broken checkout", "{backend}");
        let response = api
            .post(
                &format!("/api/v1/entries/{reference}/notes"),
                json!({"body": "Called\u{7} \u{202E}her"}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED, "{backend}");
        let timeline = events_of(&api, &reference).await;
        assert_eq!(timeline.last().unwrap()["body"], "Called her", "{backend}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nul_in_a_console_form_is_refused_with_a_readable_page_on_both_backends() {
    for (backend, app) in on_both_backends().await {
        let mut stranger = Console::new(&app);
        let response = stranger.login("ada\u{0}@example.com", PASSWORD).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{backend}"
        );
        let page = response.text().await.unwrap();
        assert!(page.contains("NUL character"), "{backend}: {page}");
        assert!(stranger.cookie.is_none(), "{backend}");

        let (id, _) = submit(&app, app.valid_body()).await;
        let console = signed_in(&app, "bo@example.com").await;
        let response = console
            .act(
                &format!("/console/entries/{id}/note"),
                &[("body", "Called\u{0} her")],
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{backend}"
        );
        assert!(
            response.text().await.unwrap().contains("NUL character"),
            "{backend}"
        );
        let entry = console.html(&format!("/console/entries/{id}")).await;
        assert!(!entry.contains("Called"), "{backend}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nul_in_an_address_is_refused_before_any_lookup_on_both_backends() {
    for (backend, app) in on_both_backends().await {
        let token = token_for(&app, "ada@example.com", "read", None).await;
        let api = Api { app: &app, token };
        for path in [
            "/api/v1/entries?q=a%00b",
            "/api/v1/entries/ES-0000-%00",
            "/api/v1/attachments/%00",
        ] {
            let (code, field) = error_of(api.get(path).await, 400).await;
            assert_eq!(code, "invalid_address", "{backend} {path}");
            assert_eq!(field, None, "{backend} {path}");
        }

        let console = signed_in(&app, "ada@example.com").await;
        for path in [
            "/console/entries/%00",
            "/console/sites?q=%00",
            "/console?q=a%00b",
        ] {
            let response = console.get(path).await;
            assert_eq!(
                response.status(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "{backend} {path}"
            );
            let page = response.text().await.unwrap();
            assert!(page.contains("NUL character (%00)"), "{backend} {path}");
        }

        // To a customer, a status link with one leads nowhere.
        let response = app
            .client
            .get(format!("{}/s/e_1%00.x", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{backend}");
        assert!(
            response
                .text()
                .await
                .unwrap()
                .starts_with("<!DOCTYPE html>")
        );

        // The widget can read the refusal (CORS), as every other one.
        let response = app
            .client
            .post(format!("{}/api/v1/feedback%00", app.address))
            .header("origin", "http://localhost:3000")
            .json(&app.valid_body())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{backend}");
        assert_eq!(
            response.headers()["access-control-allow-origin"],
            "http://localhost:3000"
        );
    }
}
