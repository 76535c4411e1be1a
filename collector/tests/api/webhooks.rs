//! Webhooks against a real receiver on loopback: signatures checked by an
//! implementation of the specification written here (not the collector's),
//! retries under one webhook-id, 410, Retry-After, spam, restarts, SSRF.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use earshot_collector::clock::Clock;
use earshot_collector::config::Config;
use earshot_collector::server;
use earshot_collector::store::{NewWebhook, Store};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::helpers::{TestApp, spawn_app_with};
use crate::receiver::{Receiver, Reply};

pub(crate) const WAIT: Duration = Duration::from_secs(10);

/// A secret like the collector makes, chosen by the test.
pub(crate) fn test_secret() -> String {
    format!("whsec_{}", STANDARD.encode([7u8; 32]))
}

/// Standard Webhooks v1 verification, independent of the collector's code.
pub(crate) fn verify(secret: &str, headers: &crate::receiver::Received) -> bool {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let signed = format!(
        "{}.{}.{}",
        headers.header("webhook-id"),
        headers.header("webhook-timestamp"),
        headers.body
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(signed.as_bytes());
    let expected = STANDARD.encode(mac.finalize().into_bytes());
    headers
        .header("webhook-signature")
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1,"))
        .any(|s| s == expected)
}

fn now_ms() -> i64 {
    earshot_collector::clock::system_millis()
}

/// A collector whose webhooks may reach loopback, on a manual clock set
/// to the real time.
pub(crate) async fn app() -> (TestApp, Clock) {
    let clock = Clock::manual(now_ms());
    let c = clock.clone();
    let app = spawn_app_with(move |config| {
        config.allow_private_webhooks = true;
        config.clock = c;
    })
    .await;
    (app, clock)
}

pub(crate) async fn add_endpoint(
    store: &Store,
    url: &str,
    events: &str,
    format: &str,
    email: bool,
) -> i64 {
    let site_id = store.sites().await.unwrap()[0].id;
    store
        .add_webhook(
            NewWebhook {
                site_id,
                url: url.to_owned(),
                events: events.to_owned(),
                format: format.to_owned(),
                include_email: email,
                secret: test_secret(),
            },
            None,
            now_ms(),
        )
        .await
        .unwrap()
        .id
}

pub(crate) async fn submit(app: &TestApp, body: Value) -> Value {
    let response = app.post_json(&body, None).await;
    assert_eq!(response.status().as_u16(), 201);
    response.json().await.unwrap()
}

/// Rows of `webhook_attempts`, oldest first: (status, error).
fn attempts(app: &TestApp) -> Vec<(Option<i64>, Option<String>)> {
    let db = app.db();
    let mut stmt = db
        .prepare("SELECT status, error FROM webhook_attempts ORDER BY id")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[tokio::test]
async fn a_new_entry_reaches_a_standard_webhook_signed_as_the_specification_says() {
    let (app, _) = app().await;
    let receiver = Receiver::start().await;
    add_endpoint(&app.running.store, &receiver.url, "*", "standard", false).await;
    let accepted = submit(&app, app.valid_body()).await;
    let got = receiver.wait_for(1, WAIT).await;
    let hit = &got[0];
    assert_eq!(hit.path, "/hooks/earshot");
    assert!(verify(&test_secret(), hit), "signature: {hit:?}");
    assert!(hit.header("webhook-id").starts_with("msg_"));
    let stamp: i64 = hit.header("webhook-timestamp").parse().unwrap();
    assert!((stamp - now_ms() / 1000).abs() <= 5, "fresh timestamp");
    assert_eq!(hit.header("content-type"), "application/json");
    assert!(hit.body.len() < 20_000);
    let body = hit.json();
    assert_eq!(body["type"], "entry.created");
    assert_eq!(body["data"]["entry"]["reference"], accepted["reference"]);
    assert_eq!(
        body["data"]["entry"]["message"],
        "The discount code was rejected at checkout."
    );
    assert_eq!(body["data"]["entry"]["kind"], "complaint");
    assert_eq!(
        body["data"]["entry"]["links"]["console"],
        format!(
            "{}/console/entries/{}",
            app.address,
            accepted["id"].as_str().unwrap()
        )
    );
    assert!(body["data"]["entry"].get("email").is_none());
    assert!(
        !hit.body.contains("ana@example.com"),
        "the email only when configured"
    );
    // A tampered body does not verify.
    let mut forged = hit.clone();
    forged.body = forged.body.replace("discount", "DISCOUNT");
    assert!(!verify(&test_secret(), &forged));
}

#[tokio::test]
async fn the_customers_email_is_included_only_when_the_endpoint_asks() {
    let (app, _) = app().await;
    let receiver = Receiver::start().await;
    add_endpoint(
        &app.running.store,
        &receiver.url,
        "entry.created",
        "standard",
        true,
    )
    .await;
    submit(&app, app.valid_body()).await;
    let got = receiver.wait_for(1, WAIT).await;
    assert_eq!(got[0].json()["data"]["entry"]["email"], "ana@example.com");
}

#[tokio::test]
async fn a_500_and_a_dropped_connection_are_retried_under_the_same_id() {
    let (app, clock) = app().await;
    let receiver = Receiver::start().await;
    receiver.script(&[Reply::Status(500), Reply::Drop]);
    add_endpoint(&app.running.store, &receiver.url, "*", "standard", false).await;
    submit(&app, app.valid_body()).await;
    receiver.wait_for(1, WAIT).await;
    // The first retry waits about 5 s, the second about 5 min.
    clock.advance(6_000);
    receiver.wait_for(2, WAIT).await;
    clock.advance(6 * 60_000);
    let got = receiver.wait_for(3, WAIT).await;
    let ids: Vec<&str> = got.iter().map(|r| r.header("webhook-id")).collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    let stamps: Vec<i64> = got
        .iter()
        .map(|r| r.header("webhook-timestamp").parse().unwrap())
        .collect();
    assert!(stamps[0] < stamps[1] && stamps[1] < stamps[2], "{stamps:?}");
    assert!(got.iter().all(|r| verify(&test_secret(), r)));
    assert!(
        got.iter().all(|r| r.body == got[0].body),
        "the same bytes every time"
    );
    // Every attempt is recorded.
    let mut recorded = Vec::new();
    for _ in 0..100 {
        recorded = attempts(&app);
        if recorded.len() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(recorded[0], (Some(500), Some("HTTP 500".to_owned())));
    assert_eq!(recorded[1].0, None);
    assert!(recorded[1].1.is_some());
    assert_eq!(recorded[2], (Some(200), None));
    // Nothing further arrives.
    clock.advance(3_600_000);
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(receiver.received().len(), 3);
}

#[tokio::test]
async fn a_410_disables_the_endpoint_and_retry_after_is_honoured() {
    let (app, clock) = app().await;
    let gone = Receiver::start().await;
    gone.script(&[Reply::Status(410)]);
    let slow = Receiver::start().await;
    slow.script(&[Reply::RetryAfter(429, 3_600)]);
    add_endpoint(&app.running.store, &gone.url, "*", "standard", false).await;
    add_endpoint(&app.running.store, &slow.url, "*", "standard", false).await;
    submit(&app, app.valid_body()).await;
    gone.wait_for(1, WAIT).await;
    slow.wait_for(1, WAIT).await;
    let mut state = String::new();
    for _ in 0..100 {
        state = app
            .db()
            .query_row(
                "SELECT state FROM webhooks WHERE url = ?1",
                [&gone.url],
                |r| r.get(0),
            )
            .unwrap();
        if state == "disabled" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(state, "disabled");
    // The 429 asked for an hour: the usual 5 s retry does not happen.
    clock.advance(10 * 60_000);
    submit(&app, app.valid_body()).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(
        gone.received().len(),
        1,
        "a disabled endpoint hears nothing"
    );
    assert_eq!(
        slow.received().len(),
        2,
        "only the new entry, not the retry"
    );
    clock.advance(3_600_000);
    slow.wait_for(3, WAIT).await;
}

#[tokio::test]
async fn spam_fires_nothing() {
    let (app, _) = app().await;
    let receiver = Receiver::start().await;
    add_endpoint(&app.running.store, &receiver.url, "*", "standard", false).await;
    let mut bot = app.valid_body();
    bot["hp"] = json!("http://cheap-pills.example");
    submit(&app, bot).await;
    // A real entry after it proves the dispatcher ran past the spam.
    let mut real = app.valid_body();
    real["message"] = json!("A real complaint");
    submit(&app, real).await;
    let got = receiver.wait_for(1, WAIT).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.received().len(), 1);
    assert_eq!(
        got[0].json()["data"]["entry"]["message"],
        "A real complaint"
    );
}

#[tokio::test]
async fn internal_addresses_are_refused_unless_allowed() {
    let app = spawn_app_with(|_| {}).await;
    let receiver = Receiver::start().await;
    add_endpoint(&app.running.store, &receiver.url, "*", "standard", false).await;
    submit(&app, app.valid_body()).await;
    let mut recorded = Vec::new();
    for _ in 0..100 {
        recorded = attempts(&app);
        if !recorded.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(recorded, [(None, Some("blocked address".to_owned()))]);
    assert!(receiver.received().is_empty());

    // Its page says why every delivery fails, and what to do.
    crate::staff::add_staff(&app.running.store).await;
    let admin = crate::staff::signed_in(&app, "ada@example.com").await;
    let public_id = app.running.store.webhooks().await.unwrap()[0]
        .public_id
        .clone();
    let page = admin.html(&format!("/console/webhooks/{public_id}")).await;
    assert!(
        page.contains("Deliveries to this webhook are blocked")
            && page.contains("--allow-private-webhooks"),
        "{page}"
    );
    let site_id = app.running.store.sites().await.unwrap()[0].id;
    let sites = admin.html(&format!("/console/sites/{site_id}")).await;
    assert!(sites.contains("blocked: a private address"), "{sites}");
}

#[tokio::test]
async fn an_endpoint_on_a_private_address_is_refused_when_added_unless_allowed() {
    let app = spawn_app_with(|_| {}).await;
    crate::staff::add_staff(&app.running.store).await;
    let site_id = app.running.store.sites().await.unwrap()[0].id;
    let admin = crate::staff::signed_in(&app, "ada@example.com").await;
    for url in [
        "http://127.0.0.1:9/hook",
        "http://localhost:9/hook",
        "http://169.254.169.254/latest",
    ] {
        let refused = admin
            .act(
                &format!("/console/sites/{site_id}/webhooks"),
                &[("url", url), ("format", "standard")],
            )
            .await;
        assert_eq!(refused.status().as_u16(), 422, "{url}");
        let html = refused.text().await.unwrap();
        assert!(
            html.contains("loopback or private-network address")
                && html.contains("--allow-private-webhooks"),
            "{url}: {html}"
        );
    }
    assert!(app.running.store.webhooks().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_rotated_endpoint_is_signed_with_both_secrets_for_a_day() {
    let (app, clock) = app().await;
    let receiver = Receiver::start().await;
    add_endpoint(&app.running.store, &receiver.url, "*", "standard", false).await;
    let public_id: String = app
        .db()
        .query_row("SELECT public_id FROM webhooks", [], |r| r.get(0))
        .unwrap();
    let new_secret = format!("whsec_{}", STANDARD.encode([9u8; 32]));
    app.running
        .store
        .rotate_webhook(public_id, new_secret.clone(), None, clock.now_millis())
        .await
        .unwrap();
    submit(&app, app.valid_body()).await;
    let got = receiver.wait_for(1, WAIT).await;
    assert_eq!(got[0].header("webhook-signature").split(' ').count(), 2);
    assert!(verify(&test_secret(), &got[0]) && verify(&new_secret, &got[0]));
    clock.advance(25 * 3_600_000);
    submit(&app, app.valid_body()).await;
    let got = receiver.wait_for(2, WAIT).await;
    assert_eq!(got[1].header("webhook-signature").split(' ').count(), 1);
    assert!(verify(&new_secret, &got[1]) && !verify(&test_secret(), &got[1]));
}

#[tokio::test]
async fn a_slack_endpoint_gets_a_slack_message_with_customer_text_escaped() {
    let (app, _) = app().await;
    let receiver = Receiver::start().await;
    add_endpoint(&app.running.store, &receiver.url, "*", "slack", false).await;
    let mut body = app.valid_body();
    body["message"] = json!("<!channel> @here pay me & <https://evil.example|click>");
    submit(&app, body).await;
    let got = receiver.wait_for(1, WAIT).await;
    let slack = got[0].json();
    let escaped = "&lt;!channel&gt; @\u{2060}here pay me &amp; &lt;https://evil.example|click&gt;";
    let section = slack["blocks"][0]["text"]["text"].as_str().unwrap();
    assert!(section.contains(escaped), "{section}");
    // Mattermost shows only `text`: the same words, as safe, and the link.
    let text = slack["text"].as_str().unwrap();
    assert!(text.starts_with("*New complaint on"), "{text}");
    assert!(text.contains(escaped), "{text}");
    assert!(text.contains("|Open in Earshot>"), "{text}");
    assert!(
        !text.contains("<!channel>") && !text.contains(" @here"),
        "{text}"
    );
}

#[tokio::test]
async fn pending_deliveries_resume_after_a_restart_and_arrive_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("earshot.db");
    // A port nothing listens on yet.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let clock = Clock::manual(now_ms());
    let mut config = Config::new("127.0.0.1:0".parse().unwrap(), db.clone());
    config.limits.per_ip_per_minute = 0;
    config.limits.min_fill = Duration::ZERO;
    config.allow_private_webhooks = true;
    config.clock = clock.clone();
    let running = server::start(&config).await.unwrap();
    let url = format!("http://127.0.0.1:{port}/hooks");
    add_endpoint(&running.store, &url, "*", "standard", false).await;
    let key = running.created_site.clone().unwrap().key;
    let client = reqwest::Client::new();
    for i in 0..5 {
        let response = client
            .post(format!("{}/api/v1/feedback", running.public_url))
            .json(&json!({"site": key, "kind": "idea", "message": format!("idea {i}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 201);
    }
    // Wait until every first attempt has failed (connection refused).
    let conn = rusqlite::Connection::open(&db).unwrap();
    for _ in 0..200 {
        let failed: i64 = conn
            .query_row("SELECT count(*) FROM webhook_attempts", [], |r| r.get(0))
            .unwrap();
        if failed == 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    running.stop().await.unwrap();

    let receiver = Receiver::start_on(port).await;
    clock.advance(60_000);
    let running = server::start(&config).await.unwrap();
    let got = receiver.wait_for(5, WAIT).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let got_after = receiver.received();
    running.stop().await.unwrap();
    assert_eq!(got_after.len(), 5, "each exactly once");
    let mut ids: Vec<&str> = got.iter().map(|r| r.header("webhook-id")).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 5);
}

#[tokio::test]
async fn staff_actions_fire_their_events() {
    let (app, _) = app().await;
    let receiver = Receiver::start().await;
    add_endpoint(
        &app.running.store,
        &receiver.url,
        "entry.status_changed,entry.assigned,entry.replied,promise.made,promise.settled",
        "standard",
        false,
    )
    .await;
    let accepted = submit(&app, app.valid_body()).await;
    let id = accepted["id"].as_str().unwrap().to_owned();
    crate::staff::add_staff(&app.running.store).await;
    let console = crate::staff::signed_in(&app, "ada@example.com").await;
    let bo: String = app
        .db()
        .query_row("SELECT id FROM users WHERE name = 'Bo'", [], |r| {
            r.get::<_, i64>(0).map(|id| id.to_string())
        })
        .unwrap();
    let due = crate::helpers::due_in_six_weeks();
    let steps: [(&str, Vec<(&str, &str)>); 3] = [
        ("assign", vec![("assignee", bo.as_str())]),
        (
            "reply",
            vec![
                ("body", "Sorry! A voucher is on its way."),
                ("promise_text", "A voucher"),
                ("promise_due", due.as_str()),
            ],
        ),
        ("status", vec![("status", "resolved")]),
    ];
    for (action, form) in steps {
        let response = console
            .act(&format!("/console/entries/{id}/{action}"), &form)
            .await;
        assert_eq!(response.status().as_u16(), 303, "{action}");
    }
    let promise: i64 = app
        .db()
        .query_row("SELECT id FROM promises", [], |r| r.get(0))
        .unwrap();
    let response = console
        .act(
            &format!("/console/entries/{id}/promises/{promise}"),
            &[("outcome", "kept")],
        )
        .await;
    assert_eq!(response.status().as_u16(), 303);
    // Assign, reply, promise made, the reply's acknowledgement, resolved,
    // promise settled.
    let got = receiver.wait_for(6, WAIT).await;
    let types: Vec<String> = got
        .iter()
        .map(|r| r.json()["type"].as_str().unwrap().to_owned())
        .collect();
    for expected in [
        "entry.assigned",
        "entry.replied",
        "promise.made",
        "entry.status_changed",
        "promise.settled",
    ] {
        assert!(
            types.iter().any(|t| t == expected),
            "{expected} in {types:?}"
        );
    }
    let find = |t: &str| got.iter().find(|r| r.json()["type"] == t).unwrap().json();
    let ada: String = app
        .db()
        .query_row("SELECT id FROM users WHERE name = 'Ada'", [], |r| {
            r.get::<_, i64>(0).map(|id| id.to_string())
        })
        .unwrap();
    let assigned = &find("entry.assigned")["data"];
    assert_eq!(
        (
            &assigned["assignee"],
            assigned["assignee_id"].to_string(),
            &assigned["actor"],
            assigned["actor_id"].to_string()
        ),
        (&json!("Bo"), bo, &json!("Ada"), ada)
    );
    assert_eq!(
        find("entry.replied")["data"]["reply"]["body"],
        "Sorry! A voucher is on its way."
    );
    assert_eq!(find("promise.made")["data"]["promise"]["text"], "A voucher");
    assert_eq!(
        find("promise.settled")["data"]["promise"]["outcome"],
        "kept"
    );
    assert!(got.iter().all(|r| verify(&test_secret(), r)));
}

#[tokio::test]
async fn a_delivery_made_but_not_recorded_is_recorded_later_never_made_again() {
    let (app, _) = app().await;
    let receiver = Receiver::start().await;
    add_endpoint(&app.running.store, &receiver.url, "*", "standard", false).await;
    // As a full disk does: the message arrives, writing that it did fails.
    app.db()
        .execute_batch(
            "CREATE TRIGGER disk_full BEFORE INSERT ON webhook_attempts
             BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;",
        )
        .unwrap();
    submit(&app, app.valid_body()).await;
    receiver.wait_for(1, WAIT).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        receiver.received().len(),
        1,
        "made once, however often its record fails"
    );

    app.db().execute_batch("DROP TRIGGER disk_full").unwrap();
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let state: String = app
            .db()
            .query_row("SELECT state FROM webhook_deliveries", [], |r| r.get(0))
            .unwrap();
        if state == "delivered" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "still {state}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(attempts(&app).len(), 1);
    assert_eq!(receiver.received().len(), 1, "never made again");
}
