//! What every answer carries and what is refused before a body is read:
//! JSON shape rules, security headers, CORS on every answer to an allowed
//! origin, early 413 and 429.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{TestApp, error_of, spawn_app, spawn_app_with};

const ORIGIN: &str = "http://localhost:3000";

/// Sends raw request bytes and returns the first answer, as text.
async fn raw(app: &TestApp, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(app.address.trim_start_matches("http://"))
        .await
        .unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = vec![0u8; 8192];
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut answer))
        .await
        .expect("an answer")
        .unwrap();
    String::from_utf8_lossy(&answer[..read]).into_owned()
}

#[tokio::test]
async fn submit_returns_422_for_a_body_that_is_not_an_object() {
    let app = spawn_app().await;
    let positional = json!([app.site_key, "idea", "positional"]);
    let response = app.post_json(&positional, None).await;
    assert_eq!(error_of(response, 422).await, ("invalid_type".into(), None));
    let mut body = app.valid_body();
    body["page"] = json!(["https://shop.example/checkout"]);
    let response = app.post_json(&body, None).await;
    assert_eq!(
        error_of(response, 422).await,
        ("invalid_type".into(), Some("page".into()))
    );
    assert_eq!(app.entry_count(), 0);
}

#[tokio::test]
async fn submit_treats_null_as_absent_for_every_optional_field() {
    let app = spawn_app().await;
    let body = json!({
        "site": app.site_key, "kind": "idea", "message": "Dark mode, please",
        "severity": null, "email": null, "name": null, "page": null, "client": null,
        "context": null, "idempotency_key": null, "hp": null, "fill_ms": null,
        "expected": null, "actual": null
    });
    assert_eq!(app.post_json(&body, None).await.status().as_u16(), 201);
}

#[tokio::test]
async fn submit_returns_422_when_the_message_shows_nothing() {
    let app = spawn_app().await;
    for invisible in ["\u{200B}\u{200E}\u{200F}", "\u{FEFF}\u{2060} \u{3164}"] {
        let mut body = app.valid_body();
        body["message"] = json!(invisible);
        let response = app.post_json(&body, None).await;
        assert_eq!(
            error_of(response, 422).await,
            ("required".into(), Some("message".into())),
            "{invisible:?}"
        );
    }
    assert_eq!(app.entry_count(), 0);
}

#[tokio::test]
async fn submit_returns_422_naming_a_duplicated_field() {
    let app = spawn_app().await;
    let body = format!(
        r#"{{"site":"{}","kind":"idea","message":"one","message":"two"}}"#,
        app.site_key
    );
    let response = app.post_raw(body, "application/json", None).await;
    assert_eq!(
        error_of(response, 422).await,
        ("duplicate_field".into(), Some("message".into()))
    );
}

#[tokio::test]
async fn submit_returns_422_for_the_sides_of_an_expectation_on_another_kind() {
    let app = spawn_app().await;
    let mut body = app.valid_body();
    body["expected"] = json!("A discount");
    let response = app.post_json(&body, None).await;
    assert_eq!(
        error_of(response, 422).await,
        ("not_for_kind".into(), Some("expected".into()))
    );
}

#[tokio::test]
async fn every_answer_is_nosniff_and_https_adds_hsts() {
    let app = spawn_app().await;
    for path in ["/api/v1/feedback", "/healthz", "/nope", "/api/openapi.json"] {
        let response = app
            .client
            .get(format!("{}{path}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.headers()["x-content-type-options"],
            "nosniff",
            "{path}"
        );
        assert!(!response.headers().contains_key("strict-transport-security"));
    }
    let hostile = json!({"site": app.site_key, "kind": "idea", "message": "m", "<img src=x onerror=alert(1)>": 1});
    let response = app.post_json(&hostile, None).await;
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert_eq!(response.headers()["content-type"], "application/json");

    let https = spawn_app_with(|c| c.public_url = Some("https://feedback.example".into())).await;
    let response = https
        .client
        .post(format!("http://{}/api/v1/feedback", https.running.addr))
        .json(&https.valid_body())
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["strict-transport-security"],
        "max-age=31536000"
    );
}

#[tokio::test]
async fn a_timeout_and_oversized_headers_still_carry_cors_for_an_allowed_origin() {
    let app = spawn_app_with(|c| c.limits.request_timeout = Duration::from_secs(1)).await;
    let slow = raw(
        &app,
        format!(
            "POST /api/v1/feedback HTTP/1.1\r\nHost: x\r\nOrigin: {ORIGIN}\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n{{\"site\":"
        )
        .as_bytes(),
    )
    .await;
    assert!(slow.starts_with("HTTP/1.1 408"), "{slow}");
    assert!(
        slow.to_ascii_lowercase()
            .contains(&format!("access-control-allow-origin: {ORIGIN}")),
        "{slow}"
    );
    assert!(slow.contains(r#""code":"request_timeout""#), "{slow}");

    let mut request = format!(
        "POST /api/v1/feedback HTTP/1.1\r\nHost: x\r\nOrigin: {ORIGIN}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
    );
    for i in 0..150 {
        request.push_str(&format!("X-Filler-{i}: {i}\r\n"));
    }
    request.push_str("\r\n{}");
    let crowded = raw(&app, request.as_bytes()).await;
    assert!(crowded.starts_with("HTTP/1.1 431"), "{crowded}");
    assert!(
        crowded
            .to_ascii_lowercase()
            .contains(&format!("access-control-allow-origin: {ORIGIN}")),
        "{crowded}"
    );
    assert!(
        crowded.contains(r#""code":"headers_too_large""#),
        "{crowded}"
    );
}

#[tokio::test]
async fn a_declared_length_over_the_limit_gets_413_at_once() {
    let app = spawn_app().await;
    // With `Expect: 100-continue` the client waits for leave to send; it
    // must get the refusal instead, not a 100 and then a timeout.
    let answer = raw(
        &app,
        b"POST /api/v1/feedback HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: 10000000\r\n\r\n",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains(r#""code":"payload_too_large""#), "{answer}");
    let (id, secret) = {
        let body: Value = app
            .post_json(&app.valid_body(), None)
            .await
            .json()
            .await
            .unwrap();
        let url = body["status_url"].as_str().unwrap().to_owned();
        (
            body["id"].as_str().unwrap().to_owned(),
            url.rsplit_once('.').unwrap().1.to_owned(),
        )
    };
    let answer = raw(
        &app,
        format!(
            "POST /api/v1/feedback/{id}/attachments HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {secret}\r\nContent-Type: image/png\r\nExpect: 100-continue\r\nContent-Length: 50000000\r\n\r\n"
        )
        .as_bytes(),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(
        answer.contains(r#""code":"attachment_too_large""#),
        "{answer}"
    );
}

/// Sends `head` and `body_len` bytes of body as a proxy that buffered the
/// request writes it on, 16 KiB at a time as the connection takes them,
/// and only then reads the answer. A server that answers before reading
/// the body and then closes the connection with the rest unread resets
/// it: writing the rest then fails (a broken pipe: nginx's 502).
async fn sent_whole(app: &TestApp, head: &str, body_len: usize) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(app.address.trim_start_matches("http://")).await?;
    stream.write_all(head.as_bytes()).await?;
    for _ in 0..body_len.div_ceil(16 * 1024) {
        stream.write_all(&[b'x'; 16 * 1024]).await?;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), async {
        let mut buf = [0u8; 8192];
        loop {
            let n = stream.read(&mut buf).await?;
            answer.extend_from_slice(&buf[..n]);
            if n == 0 || answer.windows(4).any(|w| w == b"\r\n\r\n") && answer.ends_with(b"}") {
                return Ok::<_, std::io::Error>(());
            }
        }
    })
    .await
    .expect("an answer")?;
    Ok(String::from_utf8_lossy(&answer).into_owned())
}

#[tokio::test]
async fn a_refusal_before_the_body_is_read_reaches_a_client_that_sent_it_whole() {
    // Two a minute: the first goes to the refusal for size.
    let app = spawn_app_with(|c| c.limits.per_ip_per_minute = 2).await;
    // Too large by its declared length: refused before a byte is read.
    let answer = sent_whole(
        &app,
        "POST /api/v1/feedback HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 196608\r\n\r\n",
        196_608,
    )
    .await
    .expect("the 413, not a reset");
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains(r#""code":"payload_too_large""#), "{answer}");
    // Rate limited: refused before the body is read too.
    assert_eq!(
        app.post_json(&app.valid_body(), None)
            .await
            .status()
            .as_u16(),
        201
    );
    let answer = sent_whole(
        &app,
        "POST /api/v1/feedback HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 65536\r\n\r\n",
        65_536,
    )
    .await
    .expect("the 429, not a reset");
    assert!(answer.starts_with("HTTP/1.1 429"), "{answer}");
}

#[tokio::test]
async fn a_rate_limited_client_gets_429_before_its_body_is_read() {
    let app = spawn_app_with(|c| c.limits.per_ip_per_minute = 1).await;
    assert_eq!(
        app.post_json(&app.valid_body(), None)
            .await
            .status()
            .as_u16(),
        201
    );
    let answer = raw(
        &app,
        b"POST /api/v1/feedback HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: 60000\r\n\r\n",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 429"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("retry-after:"),
        "{answer}"
    );
}

#[tokio::test]
async fn an_upload_without_credentials_gets_401_with_a_challenge() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(format!("{}/api/v1/feedback/e_x/attachments", app.address))
        .header("content-type", "image/png")
        .body(vec![0u8; 10])
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert_eq!(error_of(response, 401).await.0, "unauthorized");
}
