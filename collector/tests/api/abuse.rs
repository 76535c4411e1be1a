//! Rate limits, client identification behind proxies, spam and privacy.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{TestApp, error_of, spawn_app_with};

async fn burst(app: &TestApp, n: usize, xff: impl Fn(usize) -> Option<String>) -> (usize, usize) {
    let requests = (0..n).map(|i| {
        let mut req = app
            .client
            .post(format!("{}/api/v1/feedback", app.address))
            .json(&app.valid_body());
        if let Some(xff) = xff(i) {
            req = req.header("x-forwarded-for", xff);
        }
        req.send()
    });
    let mut created = 0;
    let mut limited = 0;
    for response in futures::future::join_all(requests).await {
        let response = response.unwrap();
        match response.status().as_u16() {
            201 => created += 1,
            429 => {
                let retry: u64 = response.headers()["retry-after"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!((1..=60).contains(&retry), "retry-after {retry}");
                assert_eq!(error_of(response, 429).await.0, "rate_limited");
                limited += 1;
            }
            other => panic!("unexpected status {other}"),
        }
    }
    (created, limited)
}

#[tokio::test]
async fn exactly_the_per_ip_limit_of_concurrent_submissions_succeeds() {
    let app = spawn_app_with(|c| c.limits.per_ip_per_minute = 5).await;
    assert_eq!(burst(&app, 12, |_| None).await, (5, 7));
    assert_eq!(app.entry_count(), 5);
}

#[tokio::test]
async fn the_per_site_limit_caps_all_clients_together() {
    let app = spawn_app_with(|c| {
        c.limits.per_site_per_minute = 4;
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    // Ten different clients behind our proxy, one site.
    let (created, limited) = burst(&app, 10, |i| Some(format!("198.51.100.{i}"))).await;
    assert_eq!((created, limited), (4, 6));
}

#[tokio::test]
async fn a_spoofed_x_forwarded_for_does_not_bypass_the_limit() {
    let app = spawn_app_with(|c| c.limits.per_ip_per_minute = 3).await;
    // No trusted proxy: every request comes from 127.0.0.1 whatever it claims.
    let (created, limited) = burst(&app, 8, |i| Some(format!("203.0.113.{i}"))).await;
    assert_eq!((created, limited), (3, 5));
}

#[tokio::test]
async fn behind_a_trusted_proxy_clients_are_told_apart_but_cannot_spoof() {
    let app = spawn_app_with(|c| {
        c.limits.per_ip_per_minute = 2;
        c.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await;
    // Distinct real clients (the proxy appends the address it saw).
    let (created, _) = burst(&app, 6, |i| Some(format!("198.51.100.{i}"))).await;
    assert_eq!(created, 6);
    // One real client prepending random addresses is still one client.
    let (created, limited) = burst(&app, 6, |i| Some(format!("10.9.9.{i}, 192.0.2.77"))).await;
    assert_eq!((created, limited), (2, 4));
}

#[tokio::test]
async fn honeypot_and_too_fast_submissions_are_stored_as_spam_not_dropped() {
    let app = spawn_app_with(|c| c.limits.min_fill = Duration::from_millis(1_500)).await;
    let cases = [
        (
            json!({"hp": "https://cheap-pills.example"}),
            "spam",
            Some("honeypot"),
        ),
        (json!({"fill_ms": 300}), "spam", Some("too_fast")),
        (json!({"fill_ms": 42_000, "hp": ""}), "new", None),
        (json!({}), "new", None),
    ];
    for (extra, status, reason) in cases {
        let mut body = app.valid_body();
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let response = app.post_json(&body, None).await;
        // A bot learns nothing from the answer.
        assert_eq!(response.status().as_u16(), 201);
        let accepted: Value = response.json().await.unwrap();
        let (stored_status, stored_reason): (String, Option<String>) = app
            .db()
            .query_row(
                "SELECT status, spam_reason FROM entries WHERE reference = ?1",
                [accepted["reference"].as_str().unwrap()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(stored_status, status, "{extra}");
        assert_eq!(stored_reason.as_deref(), reason, "{extra}");
    }
}

#[tokio::test]
async fn client_ips_are_stored_only_as_a_keyed_hash() {
    let app = spawn_app_with(|c| c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()]).await;
    for _ in 0..2 {
        let response = app
            .client
            .post(format!("{}/api/v1/feedback", app.address))
            .header("x-forwarded-for", "198.51.100.23")
            .json(&app.valid_body())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 201);
    }
    let db = app.db();
    let hashes: Vec<String> = db
        .prepare("SELECT ip_hash FROM entries")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(hashes.len(), 2);
    assert_eq!(hashes[0], hashes[1], "same client, same day, same hash");
    assert_eq!(hashes[0].len(), 32);
    drop(db);
    app.running.stop().await.unwrap();
    let file = std::fs::read(&app.db_path).unwrap();
    let needle = b"198.51.100.23";
    assert!(
        !crate::raw_file::contains(&file, needle),
        "the raw IP reached the database file"
    );
}
