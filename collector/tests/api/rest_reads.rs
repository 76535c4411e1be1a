//! The staff REST API's list paged: keyset pages that miss nothing while
//! entries arrive, and the waiting order.

use std::collections::HashMap;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::error_of;
use crate::rest::{Api, reference_of, refs, token_for};
use crate::staff::{complaint, console_app, signed_in};

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
    for view in ["all", "waiting", "open"] {
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
            let listed = refs(&page);
            assert!(listed.len() <= 7);
            for reference in listed {
                *seen.entry(reference).or_default() += 1;
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
        order.extend(refs(&page));
        next = page["next"].as_str().map(str::to_owned);
    }
    assert_eq!(order, [b.clone(), a.clone(), c.clone()]);

    // The console lists them in the same order.
    let console = signed_in(&app, "ada@example.com").await;
    let inbox = console.html("/console").await;
    let at = |reference: &str| inbox.find(reference).unwrap();
    assert!(at(&b) < at(&a) && at(&a) < at(&c), "{inbox}");
}
