use serde_json::{Value, json};

use crate::helpers::{error_of, spawn_app};

#[tokio::test]
async fn submit_returns_201_with_reference_and_status_url_and_stores_the_entry() {
    let app = spawn_app().await;
    let response = app
        .post_json(&app.valid_body(), Some("http://localhost:3000"))
        .await;
    assert_eq!(response.status().as_u16(), 201);
    let body: Value = response.json().await.unwrap();
    let reference = body["reference"].as_str().unwrap();
    assert!(reference.starts_with("ES-"));
    assert!(body["id"].as_str().unwrap().starts_with("e_"));
    let status_url = body["status_url"].as_str().unwrap();
    assert!(status_url.starts_with(&format!("{}/s/", app.address)));

    let (kind, message, email, language, status): (String, String, String, String, String) = app
        .db()
        .query_row(
            "SELECT kind, message, email, language, status FROM entries WHERE reference = ?1",
            [reference],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .unwrap();
    assert_eq!(kind, "complaint");
    assert_eq!(message, "The discount code was rejected at checkout.");
    assert_eq!(email, "ana@example.com");
    assert_eq!(language, "pt-BR");
    assert_eq!(status, "new");
}

#[tokio::test]
async fn submit_returns_201_for_an_expectation_with_both_sides() {
    let app = spawn_app().await;
    let body = json!({"site": app.site_key, "kind": "expectation",
        "expected": "Free shipping over €50", "actual": "Charged €4.90 shipping on €62"});
    let response = app.post_json(&body, None).await;
    assert_eq!(response.status().as_u16(), 201);
    let (expected, actual): (String, String) = app
        .db()
        .query_row("SELECT expected, actual FROM entries", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(expected, "Free shipping over €50");
    assert_eq!(actual, "Charged €4.90 shipping on €62");
}

#[tokio::test]
async fn submit_returns_415_when_content_type_is_not_json() {
    let app = spawn_app().await;
    let response = app
        .post_raw(app.valid_body().to_string(), "text/plain", None)
        .await;
    assert_eq!(error_of(response, 415).await.0, "unsupported_media_type");
    assert_eq!(app.entry_count(), 0);
}

#[tokio::test]
async fn submit_accepts_json_with_a_charset_parameter() {
    let app = spawn_app().await;
    let response = app
        .post_raw(
            app.valid_body().to_string(),
            "application/json; charset=utf-8",
            None,
        )
        .await;
    assert_eq!(response.status().as_u16(), 201);
}

#[tokio::test]
async fn submit_returns_400_when_json_is_malformed() {
    let app = spawn_app().await;
    for body in ["{\"site\":", "not json", "{} {}"] {
        let response = app.post_raw(body, "application/json", None).await;
        assert_eq!(error_of(response, 400).await.0, "malformed_json", "{body}");
    }
    let response = app
        .post_raw(vec![0xffu8, 0xfe, 0x00], "application/json", None)
        .await;
    assert_eq!(error_of(response, 400).await.0, "malformed_json");
}

#[tokio::test]
async fn submit_returns_422_when_message_is_empty_or_missing() {
    let app = spawn_app().await;
    let mut body = app.valid_body();
    body["message"] = json!("  \n ");
    let (code, field) = error_of(app.post_json(&body, None).await, 422).await;
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("required", Some("message"))
    );
    body.as_object_mut().unwrap().remove("message");
    let (code, field) = error_of(app.post_json(&body, None).await, 422).await;
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("required", Some("message"))
    );
    assert_eq!(app.entry_count(), 0);
}

#[tokio::test]
async fn submit_returns_422_when_kind_or_severity_is_unknown() {
    let app = spawn_app().await;
    for (field, value, code) in [
        ("kind", "rant", "unknown_kind"),
        ("severity", "urgent", "unknown_severity"),
    ] {
        let mut body = app.valid_body();
        body[field] = json!(value);
        let (got_code, got_field) = error_of(app.post_json(&body, None).await, 422).await;
        assert_eq!(
            (got_code.as_str(), got_field.as_deref()),
            (code, Some(field))
        );
    }
    assert_eq!(app.entry_count(), 0);
}

#[tokio::test]
async fn submit_returns_422_when_an_expectation_lacks_what_happened() {
    let app = spawn_app().await;
    let body = json!({"site": app.site_key, "kind": "expectation", "expected": "A refund"});
    let (code, field) = error_of(app.post_json(&body, None).await, 422).await;
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("required", Some("actual"))
    );
}

#[tokio::test]
async fn submit_returns_422_naming_unknown_and_invalid_fields() {
    let app = spawn_app().await;
    let mut body = app.valid_body();
    body["is_admin"] = json!(true);
    let (code, field) = error_of(app.post_json(&body, None).await, 422).await;
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("unknown_field", Some("is_admin"))
    );

    let mut body = app.valid_body();
    body["email"] = json!("not-an-email");
    let (code, field) = error_of(app.post_json(&body, None).await, 422).await;
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("invalid_email", Some("email"))
    );

    let mut body = app.valid_body();
    body["page"]["url"] = json!("javascript:alert(1)");
    let (code, field) = error_of(app.post_json(&body, None).await, 422).await;
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("invalid_url", Some("page.url"))
    );

    let mut body = app.valid_body();
    body["message"] = json!("x".repeat(5_001));
    let (code, field) = error_of(app.post_json(&body, None).await, 422).await;
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("too_long", Some("message"))
    );
    assert_eq!(app.entry_count(), 0);
}

#[tokio::test]
async fn submit_returns_413_when_the_body_exceeds_64_kib() {
    let app = spawn_app().await;
    let mut body = app.valid_body();
    body["message"] = json!("x".repeat(70_000));
    let (code, _) = error_of(app.post_json(&body, None).await, 413).await;
    assert_eq!(code, "payload_too_large");
    assert_eq!(app.entry_count(), 0);
}

#[tokio::test]
async fn submit_returns_403_when_the_site_key_is_unknown() {
    let app = spawn_app().await;
    let mut body = app.valid_body();
    body["site"] = json!("site_doesnotexist000");
    let (code, field) = error_of(app.post_json(&body, None).await, 403).await;
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("unknown_site", Some("site"))
    );
}

#[tokio::test]
async fn submit_returns_a_readable_403_when_the_origin_is_not_allowed() {
    let app = spawn_app().await;
    for origin in [
        "https://evil.example",
        "http://localhost.evil.example:3000",
        "null",
    ] {
        let response = app.post_json(&app.valid_body(), Some(origin)).await;
        // The widget on that page can read why, and stops retrying.
        assert_eq!(response.headers()["access-control-allow-origin"], origin);
        let (code, _) = error_of(response, 403).await;
        assert_eq!(code, "origin_not_allowed", "{origin}");
        // Origins are shown newest first, by the millisecond: refusals in
        // the same one would be ordered by name instead.
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    assert_eq!(app.entry_count(), 0);
    let site_id = app.running.created_site.as_ref().unwrap().id;
    let seen = |running: &earshot_collector::server::Running| {
        let sites = running.sites.clone();
        async move {
            sites
                .rejected_origins(&[site_id], earshot_collector::clock::system_millis())
                .await
                .unwrap()
                .remove(&site_id)
                .unwrap()
        }
    };
    let before = seen(&app.running).await;
    assert_eq!(before.last_day, 3);
    assert_eq!(before.origins[0], "null");
    // Counted in memory, written on the way down, read after a restart.
    app.running.stop().await.unwrap();
    let restarted = earshot_collector::server::start(&crate::helpers::test_config(&app.db_path))
        .await
        .unwrap();
    assert_eq!(seen(&restarted).await, before);
    restarted.stop().await.unwrap();
}

#[tokio::test]
async fn responses_to_allowed_origins_carry_cors_headers_even_for_errors() {
    let app = spawn_app().await;
    let mut body = app.valid_body();
    body["message"] = json!("");
    let response = app.post_json(&body, Some("http://127.0.0.1:5173")).await;
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "http://127.0.0.1:5173"
    );
    assert_eq!(response.headers()["vary"], "Origin");
    // The widget reads Retry-After after a 429.
    assert_eq!(
        response.headers()["access-control-expose-headers"],
        "retry-after"
    );
    assert!(
        response
            .headers()
            .get("access-control-allow-credentials")
            .is_none()
    );
    assert_eq!(response.status().as_u16(), 422);
}

#[tokio::test]
async fn submit_stores_the_host_pages_context_as_json() {
    let app = spawn_app().await;
    let mut body = app.valid_body();
    body["context"] = json!({"plan": "pro", "order.id": "A-17 <b>"});
    let response = app.post_json(&body, None).await;
    assert_eq!(response.status().as_u16(), 201);
    let context: String = app
        .db()
        .query_row("SELECT context FROM entries", [], |r| r.get(0))
        .unwrap();
    let stored: Value = serde_json::from_str(&context).unwrap();
    assert_eq!(stored, json!({"order.id": "A-17 <b>", "plan": "pro"}));
}

#[tokio::test]
async fn submit_returns_422_when_the_context_breaks_a_rule() {
    let app = spawn_app().await;
    for (context, code) in [
        (json!({"<script>": "x"}), "invalid_format"),
        (json!({"plan": "x".repeat(501)}), "too_long"),
        (
            Value::Object((0..21).map(|i| (format!("k{i}"), json!("v"))).collect()),
            "too_many",
        ),
        (json!({"plan": 3}), "invalid_type"),
    ] {
        let mut body = app.valid_body();
        body["context"] = context;
        let (got, field) = error_of(app.post_json(&body, None).await, 422).await;
        assert_eq!(got, code);
        let field = field.unwrap_or_default();
        assert!(field.starts_with("context"), "{code}: {field}");
    }
    assert_eq!(app.entry_count(), 0);
}

#[tokio::test]
async fn preflight_is_answered_for_any_origin_and_the_request_judged_by_its_site() {
    let app = spawn_app().await;
    let preflight = |origin: &'static str| {
        app.client
            .request(
                reqwest::Method::OPTIONS,
                format!("{}/api/v1/feedback", app.address),
            )
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let ok = preflight("http://localhost:8000").await.unwrap();
    assert_eq!(ok.status().as_u16(), 204);
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "http://localhost:8000"
    );
    assert_eq!(ok.headers()["access-control-allow-methods"], "POST");
    // authorization carries the status secret for screenshot uploads.
    assert_eq!(
        ok.headers()["access-control-allow-headers"],
        "content-type, authorization"
    );

    // A preflight carries no site key: it is answered, and the request
    // that follows is refused by its site, readably.
    let other = preflight("https://evil.example").await.unwrap();
    assert_eq!(other.status().as_u16(), 204);
    assert_eq!(
        other.headers()["access-control-allow-origin"],
        "https://evil.example"
    );
    let refused = app
        .post_json(&app.valid_body(), Some("https://evil.example"))
        .await;
    assert_eq!(error_of(refused, 403).await.0, "origin_not_allowed");
    assert_eq!(app.entry_count(), 0);

    // Success never reaches an origin no site allows.
    let none = app
        .client
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/api/v1/feedback", app.address),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(none, 403).await.0, "origin_not_allowed");
}

#[tokio::test]
async fn graceful_stop_commits_every_acknowledged_submission() {
    let app = spawn_app().await;
    let mut acknowledged = Vec::new();
    let responses = futures::future::join_all((0..200).map(|i| {
        let mut body = app.valid_body();
        body["message"] = json!(format!("submission {i}"));
        app.client
            .post(format!("{}/api/v1/feedback", app.address))
            .json(&body)
            .send()
    }))
    .await;
    for response in responses.into_iter().flatten() {
        if response.status().as_u16() == 201 {
            let body: Value = response.json().await.unwrap();
            acknowledged.push(body["reference"].as_str().unwrap().to_owned());
        }
    }
    let db_path = app.db_path.clone();
    app.running.stop().await.unwrap();
    let db = rusqlite::Connection::open(db_path).unwrap();
    for reference in &acknowledged {
        let n: i64 = db
            .query_row(
                "SELECT count(*) FROM entries WHERE reference = ?1",
                [reference],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(
            n, 1,
            "{reference} was acknowledged but not stored exactly once"
        );
    }
    assert_eq!(acknowledged.len(), 200);
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json_errors() {
    let app = spawn_app().await;
    let missing = app
        .client
        .get(format!("{}/nope", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(missing, 404).await.0, "not_found");
    let wrong = app
        .client
        .get(format!("{}/api/v1/feedback", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(wrong, 405).await.0, "method_not_allowed");
    let health = app
        .client
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 200);
}

#[tokio::test]
async fn the_answer_carries_the_sites_response_promise_when_it_has_one() {
    let app = spawn_app().await;
    let response = app.post_json(&app.valid_body(), None).await;
    let body: Value = response.json().await.unwrap();
    assert!(body.get("response_promise").is_none(), "{body}");

    let app = spawn_app().await;
    app.db()
        .execute(
            "UPDATE sites SET response_promise = 'We answer within 1 business day'",
            [],
        )
        .unwrap();
    let response = app.post_json(&app.valid_body(), None).await;
    assert_eq!(response.status().as_u16(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["response_promise"], "We answer within 1 business day");
}

#[test]
fn every_input_in_the_fuzz_corpus_goes_through_the_parser_without_a_panic() {
    use crate::fuzz::{Outcome, ingest_body, replay};
    let corpus =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/ingest_body");
    let seen = replay(&corpus, ingest_body).unwrap();
    eprintln!("fuzz corpus: {seen:?}");
    // The corpus reaches every stage, so the replay tests each of them.
    for outcome in [Outcome::Unparsed, Outcome::Refused, Outcome::Accepted] {
        assert!(
            seen.get(&outcome).is_some_and(|n| *n >= 5),
            "{outcome:?}: {seen:?}"
        );
    }
}

#[tokio::test]
async fn tokens_and_addresses_in_the_page_urls_are_not_stored() {
    let app = spawn_app().await;
    let mut body = app.valid_body();
    body["page"] = json!({
        "url": "https://shop.example/reset?token=tok_4b1d9&step=2#access_token=eyJhbGci",
        "referrer": "https://mail.example/open?to=ana%40example.com&campaign=spring",
        "title": "Choose a new password",
    });
    let response = app.post_json(&body, Some("http://localhost:3000")).await;
    assert_eq!(response.status().as_u16(), 201);
    let (url, referrer, title): (String, String, String) = app
        .db()
        .query_row(
            "SELECT page_url, page_referrer, page_title FROM entries",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(
        url,
        "https://shop.example/reset?token=[redacted]&step=2#access_token=[redacted]"
    );
    assert_eq!(
        referrer,
        "https://mail.example/open?to=[redacted]&campaign=spring"
    );
    assert_eq!(title, "Choose a new password");
}

#[tokio::test]
async fn card_numbers_in_the_customers_words_are_stored_with_only_their_last_four_digits() {
    let app = spawn_app().await;
    let body = json!({"site": app.site_key, "kind": "expectation",
        "expected": "One charge of €62 for order 1048 2231",
        "actual": "Two charges on 4111 1111 1111 1111",
        "message": "Refund to 5555-5555-5555-4444 please"});
    let response = app.post_json(&body, None).await;
    assert_eq!(response.status().as_u16(), 201);
    let accepted: Value = response.json().await.unwrap();
    let (expected, actual, message): (String, String, String) = app
        .db()
        .query_row("SELECT expected, actual, message FROM entries", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    assert_eq!(expected, "One charge of €62 for order 1048 2231");
    assert_eq!(actual, "Two charges on •••• •••• •••• 1111");
    assert_eq!(message, "Refund to ••••-••••-••••-4444 please");
    // The customer sees what was kept.
    let page = app
        .client
        .get(accepted["status_url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Two charges on •••• •••• •••• 1111"),
        "{page}"
    );
    assert!(!page.contains("4111 1111"), "{page}");
}

#[tokio::test]
async fn a_severity_is_stored_for_problems_and_dropped_for_praise_and_ideas() {
    let app = spawn_app().await;
    for (kind, kept) in [
        ("complaint", true),
        ("question", true),
        ("praise", false),
        ("idea", false),
    ] {
        let body = json!({"site": app.site_key, "kind": kind,
            "message": format!("About the {kind}"), "severity": "blocking"});
        let response = app.post_json(&body, None).await;
        assert_eq!(response.status().as_u16(), 201, "taken, not refused");
        let severity: Option<String> = app
            .db()
            .query_row(
                "SELECT severity FROM entries WHERE kind = ?1",
                [kind],
                |r| r.get(0),
            )
            .unwrap();
        let expected = kept.then(|| "blocking".to_owned());
        assert_eq!(severity, expected, "{kind}");
    }
}
