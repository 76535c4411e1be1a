//! API tokens: who may call, for how long, and what guessing costs.

use earshot_collector::auth::ApiToken;
use reqwest::StatusCode;

use crate::helpers::error_of;
use crate::rest::{Api, reference_of, token_for};
use crate::staff::{DAY, NOON, between, complaint, console_app, signed_in};

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
async fn a_refused_token_form_comes_back_as_typed_with_the_reason() {
    let (app, _) = console_app().await;
    let bo = signed_in(&app, "bo@example.com").await;
    let refused = bo
        .act(
            "/console/tokens",
            &[
                ("name", "Nightly <export>"),
                ("scope", "write"),
                ("expires_days", "99999"),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    assert!(
        html.contains("<h1>API tokens</h1>"),
        "the page, not an error page"
    );
    assert!(
        html.contains("role=\"alert\">Expiry is a number of days from 1 to 3650"),
        "{html}"
    );
    assert!(html.contains("value=\"Nightly &lt;export&gt;\""), "{html}");
    assert!(html.contains("value=\"write\" checked"), "{html}");
    assert!(!html.contains("value=\"read\" checked"), "{html}");
    assert!(html.contains("value=\"99999\""), "{html}");
    assert!(!html.contains("class=\"secret\""), "no token was made");
    let tokens: i64 = app
        .db()
        .query_row("SELECT count(*) FROM api_tokens", [], |r| r.get(0))
        .unwrap();
    assert_eq!(tokens, 0);
}
