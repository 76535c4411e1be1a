use serde_json::{Value, json};

use crate::helpers::spawn_app;

#[tokio::test]
async fn status_page_shows_the_customers_words_escaped_and_is_private() {
    let app = spawn_app().await;
    let hostile = r#"<script>alert(1)</script><img src=x onerror=alert(2)> "quoted" & more"#;
    let body = json!({"site": app.site_key, "kind": "expectation",
        "expected": hostile, "actual": "It <b>broke</b>"});
    let accepted: Value = app.post_json(&body, None).await.json().await.unwrap();
    let status_url = accepted["status_url"].as_str().unwrap();

    let response = app.client.get(status_url).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let headers = response.headers().clone();
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(headers["cache-control"], "no-store");
    assert!(
        headers["x-robots-tag"]
            .to_str()
            .unwrap()
            .contains("noindex")
    );
    let html = response.text().await.unwrap();
    assert!(html.contains(accepted["reference"].as_str().unwrap()));
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;")
    );
    assert!(html.contains("It &lt;b&gt;broke&lt;/b&gt;"));
    assert!(!html.contains("<script>") && !html.contains("<img"));
    assert!(html.contains(r#"<meta name="robots" content="noindex, nofollow">"#));
}

#[tokio::test]
async fn status_page_is_404_for_unknown_or_malformed_tokens() {
    let app = spawn_app().await;
    let accepted: Value = app
        .post_json(&app.valid_body(), None)
        .await
        .json()
        .await
        .unwrap();
    let real = accepted["status_url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let (id, secret) = real.split_once('.').unwrap();
    let wrong_secret = format!("{id}.{}", "0".repeat(secret.len()));
    let wrong_id = format!("e_0000000000000000000000.{secret}");
    for token in [
        wrong_secret.as_str(),
        wrong_id.as_str(),
        id,
        "short",
        "%3Cscript%3E",
    ] {
        let response = app
            .client
            .get(format!("{}/s/{token}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 404, "{token}");
        assert_eq!(response.headers()["cache-control"], "no-store");
    }
}

#[tokio::test]
async fn a_customer_without_an_email_is_told_this_page_is_where_the_answer_will_be() {
    let app = spawn_app().await;
    let page = async |body: Value| {
        let accepted: Value = app.post_json(&body, None).await.json().await.unwrap();
        let url = accepted["status_url"].as_str().unwrap().to_owned();
        app.client
            .get(url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let anonymous = page(json!({"site": app.site_key, "kind": "idea",
        "message": "Dark mode", "client": {"language": "pt-BR"}}))
    .await;
    assert!(
        anonymous.contains(
            "<p class=\"come-back\">Não deixou um endereço de e-mail, por isso não lhe podemos escrever"
        ),
        "in the customer's language: {anonymous}"
    );
    let reachable = page(json!({"site": app.site_key, "kind": "idea",
        "message": "Dark mode", "email": "ana@example.com"}))
    .await;
    assert!(!reachable.contains("come-back"), "{reachable}");
    assert!(
        !reachable.contains("ana@example.com"),
        "the address stays inside"
    );
}
