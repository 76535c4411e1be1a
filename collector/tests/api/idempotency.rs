//! Retries of one submission: an `idempotency_key` names it, so the widget
//! can resend after a lost answer without filing the feedback twice.

use serde_json::{Value, json};

use crate::helpers::spawn_app;

#[tokio::test]
async fn repeated_idempotency_key_returns_the_original_entry_and_stores_once() {
    let app = spawn_app().await;
    let mut body = app.valid_body();
    body["idempotency_key"] = json!("6f1d2c3b-4a59-4e8f-9a0b-1c2d3e4f5a6b");
    let first = app.post_json(&body, None).await;
    assert_eq!(first.status().as_u16(), 201);
    let first: Value = first.json().await.unwrap();

    // A retry, even with different text, is the same submission.
    body["message"] = json!("edited on retry");
    let again = app.post_json(&body, None).await;
    assert_eq!(again.status().as_u16(), 200);
    let again: Value = again.json().await.unwrap();
    assert_eq!(first, again);
    assert_eq!(app.entry_count(), 1);
}

#[tokio::test]
async fn concurrent_retries_with_one_idempotency_key_store_exactly_one_entry() {
    let app = spawn_app().await;
    let mut body = app.valid_body();
    body["idempotency_key"] = json!("concurrent-retry-key-0001");
    let responses = futures::future::join_all((0..20).map(|_| app.post_json(&body, None))).await;
    let mut references = std::collections::HashSet::new();
    for response in responses {
        assert!(response.status().is_success());
        let body: Value = response.json().await.unwrap();
        references.insert(body["reference"].as_str().unwrap().to_owned());
    }
    assert_eq!(references.len(), 1);
    assert_eq!(app.entry_count(), 1);
}

#[tokio::test]
async fn the_same_idempotency_key_on_another_site_is_a_different_entry() {
    let app = spawn_app().await;
    let other = app
        .running
        .store
        .add_site(
            earshot_collector::store::NewSite {
                name: "Other".into(),
                origins: vec![
                    earshot_collector::origin::OriginPattern::parse("https://other.example")
                        .unwrap(),
                ],
            },
            earshot_collector::clock::system_millis(),
        )
        .await
        .unwrap();
    let mut body = app.valid_body();
    body["idempotency_key"] = json!("shared-key-across-sites-01");
    assert_eq!(app.post_json(&body, None).await.status().as_u16(), 201);
    body["site"] = json!(other.key);
    // The directory caches sites briefly; a new site may take a moment.
    let mut status = 0;
    for _ in 0..60 {
        status = app
            .post_json(&body, Some("https://other.example"))
            .await
            .status()
            .as_u16();
        if status != 403 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, 201);
    assert_eq!(app.entry_count(), 2);
}
