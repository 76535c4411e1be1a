//! Prometheus metrics on their own listener: what they count, and who may
//! read them.

use std::time::Duration;

use earshot_collector::config::{MetricsListener, Secret};
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, earshot};
use crate::receiver::{Receiver, Reply};
use crate::staff::{Console, console_app_with};

fn listener(token: Option<&str>) -> MetricsListener {
    MetricsListener {
        addr: "127.0.0.1:0".parse().unwrap(),
        token: token.map(Secret::new),
    }
}

async fn scrape(app: &TestApp) -> String {
    let addr = app.running.metrics_addr.expect("metrics are served");
    let response = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    response.text().await.unwrap()
}

/// The value of the one series written exactly as `series`.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.trim().parse().unwrap())
}

#[tokio::test]
async fn metrics_count_submissions_by_outcome_requests_by_route_and_sign_ins() {
    let (app, _) = console_app_with(|c| c.metrics = Some(listener(None))).await;
    assert_eq!(app.post_json(&app.valid_body(), None).await.status(), 201);
    let mut keyed = app.valid_body();
    keyed["idempotency_key"] = json!("metrics-retry-key-0001");
    assert_eq!(app.post_json(&keyed, None).await.status(), 201);
    assert_eq!(app.post_json(&keyed, None).await.status(), 200);
    let mut bot = app.valid_body();
    bot["hp"] = json!("https://cheap-pills.example");
    assert_eq!(app.post_json(&bot, None).await.status(), 201);
    let refused = app
        .post_json(&app.valid_body(), Some("https://elsewhere.example"))
        .await;
    assert_eq!(refused.status(), 403);
    let malformed = app.post_raw("{", "application/json", None).await;
    assert_eq!(malformed.status(), 400);
    let mut console = Console::new(&app);
    let wrong = console.login("ada@example.com", "not the password").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);

    let text = scrape(&app).await;
    let submissions = |outcome: &str, code: &str| {
        value(
            &text,
            &format!("earshot_submissions_total{{outcome=\"{outcome}\",code=\"{code}\"}}"),
        )
    };
    assert_eq!(submissions("stored", ""), Some(2.0));
    assert_eq!(submissions("duplicate", ""), Some(1.0));
    assert_eq!(submissions("spam", ""), Some(1.0));
    assert_eq!(submissions("rejected", "origin_not_allowed"), Some(1.0));
    assert_eq!(submissions("rejected", "malformed_json"), Some(1.0));
    assert_eq!(
        value(
            &text,
            "earshot_http_request_duration_seconds_count{method=\"POST\",route=\"/api/v1/feedback\",status=\"2xx\"}"
        ),
        Some(4.0)
    );
    assert_eq!(
        value(
            &text,
            "earshot_http_request_duration_seconds_count{method=\"POST\",route=\"/api/v1/feedback\",status=\"4xx\"}"
        ),
        Some(2.0)
    );
    assert_eq!(
        value(&text, "earshot_sign_ins_total{result=\"wrong_password\"}"),
        Some(1.0)
    );
    // Three new entries and the staff accounts were written, each synced.
    assert!(value(&text, "earshot_writer_batch_jobs_count").unwrap() >= 3.0);
    assert!(value(&text, "earshot_writer_fsync_seconds_count").unwrap() >= 1.0);
    assert!(value(&text, "earshot_writer_commit_seconds_count").unwrap() >= 3.0);
    assert!(value(&text, "earshot_writer_rewind_seconds_count").is_some());
    assert!(value(&text, "earshot_database_bytes").unwrap() > 0.0);
    assert!(value(&text, "earshot_wal_bytes").is_some());
    assert_eq!(
        value(&text, "earshot_wal_checkpoints_left_to_others"),
        Some(0.0)
    );
    assert!(value(&text, "earshot_database_free_bytes").is_some());
    assert!(value(&text, "earshot_search_index_lag_entries").is_some());
    assert_eq!(
        value(&text, "earshot_outbox_pending{channel=\"webhook\"}"),
        Some(0.0)
    );
    if cfg!(target_os = "linux") {
        assert!(value(&text, "earshot_resident_memory_bytes").unwrap() > 1e6);
    }
    // Never the concrete path of a status link, and never a customer's words.
    assert!(!text.contains("discount code"));
    assert!(!text.contains("/s/") || text.contains("/s/{token}"));

    // Not on the public port.
    let public = reqwest::get(format!("{}/metrics", app.address))
        .await
        .unwrap();
    assert_eq!(public.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn metrics_answer_401_without_the_token_when_one_is_set() {
    let (app, _) = console_app_with(|c| c.metrics = Some(listener(Some("scrape-me-1234")))).await;
    let url = format!("http://{}/metrics", app.running.metrics_addr.unwrap());
    let client = reqwest::Client::new();
    let bare = client.get(&url).send().await.unwrap();
    assert_eq!(bare.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(bare.headers()["www-authenticate"], "Bearer");
    let wrong = client
        .get(&url)
        .bearer_auth("scrape-me-123")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let right = client
        .get(&url)
        .bearer_auth("scrape-me-1234")
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), StatusCode::OK);
    assert!(right.text().await.unwrap().contains("earshot_build_info"));
}

#[tokio::test]
async fn failed_webhook_attempts_are_counted_and_the_retry_waits_in_the_outbox() {
    let (app, _) = console_app_with(|c| {
        c.allow_private_webhooks = true;
        c.metrics = Some(listener(None));
    })
    .await;
    let receiver = Receiver::start().await;
    receiver.script(&[Reply::Status(500)]);
    crate::webhooks::add_endpoint(&app.running.store, &receiver.url, "*", "standard", false).await;
    assert_eq!(app.post_json(&app.valid_body(), None).await.status(), 201);
    receiver.wait_for(1, Duration::from_secs(10)).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let text = scrape(&app).await;
        let failures = value(
            &text,
            "earshot_delivery_failures_total{channel=\"webhook\"}",
        );
        if failures == Some(1.0) {
            assert_eq!(
                value(&text, "earshot_outbox_pending{channel=\"webhook\"}"),
                Some(1.0)
            );
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no failure counted:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[test]
fn a_metrics_token_without_a_metrics_address_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, err) = earshot(&["serve", "--metrics-token", "x"], &dir.path().join("e.db"));
    assert!(!ok);
    assert!(err.contains("--metrics-addr"), "{err}");
}

#[tokio::test]
async fn a_test_email_the_relay_refuses_counts_as_a_failed_email_attempt() {
    let (url, _mails) = crate::helpers::smtp_sink_refusing(1).await;
    let (app, _) = console_app_with(move |c| {
        c.metrics = Some(listener(None));
        c.smtp = Some(earshot_collector::config::Smtp {
            url: Secret::new(url),
            from: "Earshot <earshot@example.com>".into(),
        });
    })
    .await;
    let series = "earshot_delivery_failures_total{channel=\"email\"}";
    let before = value(&scrape(&app).await, series).unwrap_or(0.0);
    let ada = crate::staff::signed_in(&app, "ada@example.com").await;
    for outcome in ["451", "sent-0"] {
        let tested = ada.act("/console/notifications/test", &[]).await;
        let to = tested.headers()["location"].to_str().unwrap().to_owned();
        assert_eq!(to, format!("/console/notifications?tested={outcome}#email"));
    }
    // The refused test counts; the one that went does not.
    assert_eq!(value(&scrape(&app).await, series), Some(before + 1.0));
}
