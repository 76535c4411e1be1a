//! Attached images on the entry page and through the API: for staff only,
//! served inert.

use reqwest::StatusCode;
use serde_json::Value;

use crate::rest::{Api, token_for};
use crate::staff::{Console, complaint, console_app, signed_in, submit};

#[tokio::test]
async fn attached_images_show_on_the_entry_page_for_staff_only() {
    let (app, _) = console_app().await;
    let (id, status_url) = submit(&app, complaint(&app, "Broken layout, see screenshot")).await;
    let secret = status_url.rsplit_once('.').unwrap().1;
    let gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;".to_vec();
    let response = app
        .client
        .post(format!("{}/api/v1/feedback/{id}/attachments", app.address))
        .header("authorization", format!("Bearer {secret}"))
        .header("content-type", "image/gif")
        .body(gif.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let attachment: Value = response.json().await.unwrap();
    let path = format!(
        "/console/attachments/{}",
        attachment["id"].as_str().unwrap()
    );

    // Without a session: the sign-in page, not the image.
    let anonymous = Console::new(&app).get(&path).await;
    assert_eq!(anonymous.status(), StatusCode::FOUND);

    let console = signed_in(&app, "bo@example.com").await;
    let page = console
        .get(&format!("/console/entries/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains(&path), "the entry page shows the image");
    let image = console.get(&path).await;
    assert_eq!(image.status(), StatusCode::OK);
    assert_eq!(image.headers()["content-type"], "image/gif");
    assert_eq!(image.headers()["x-content-type-options"], "nosniff");
    assert_eq!(image.bytes().await.unwrap().as_ref(), gif.as_slice());
}

#[tokio::test]
async fn attachments_are_served_as_inert_images_and_bombs_are_never_inlined() {
    let (app, _) = console_app().await;
    let (id, status_url) = submit(&app, complaint(&app, "See the screenshot")).await;
    let secret = status_url.rsplit_once('.').unwrap().1;
    // A polyglot: a real PNG header, then markup that would run as HTML.
    let mut polyglot =
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\x02\x80\0\0\x01\xe0\x08\x06\0\0\0".to_vec();
    polyglot.extend_from_slice(b"<html><svg onload=alert(1)><script>alert(2)</script>");
    let response = app
        .client
        .post(format!("{}/api/v1/feedback/{id}/attachments", app.address))
        .header("authorization", format!("Bearer {secret}"))
        .header("content-type", "image/png")
        .body(polyglot.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let attachment: Value = response.json().await.unwrap();
    let att = attachment["id"].as_str().unwrap().to_owned();
    // An image bomb stored before sizes were checked (no size recorded).
    app.db()
        .execute(
            "INSERT INTO attachments (public_id, entry_id, content_type, bytes, size, created_at)
             SELECT 'att_legacybomb', id, 'image/png', x'89504e47', 4, 0 FROM entries WHERE public_id = ?1",
            [&id],
        )
        .unwrap();

    let console = signed_in(&app, "ada@example.com").await;
    let page = console.html(&format!("/console/entries/{id}")).await;
    assert!(
        page.contains(&format!(
            r#"<img src="/console/attachments/{att}" width="640" height="480""#
        )),
        "the thumbnail is sized by the image's header"
    );
    assert!(!page.contains(r#"<img src="/console/attachments/att_legacybomb""#));
    assert!(page.contains("Not shown"));
    assert!(page.contains(r#"/console/attachments/att_legacybomb?download""#));

    let image = console.get(&format!("/console/attachments/{att}")).await;
    let h = image.headers().clone();
    assert_eq!(h["content-type"], "image/png");
    assert_eq!(h["x-content-type-options"], "nosniff");
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.starts_with("default-src 'none'"), "{csp}");
    assert!(csp.contains("sandbox"), "{csp}");
    assert_eq!(
        h["content-disposition"],
        format!("inline; filename=\"{att}.png\"").as_str()
    );
    assert_eq!(image.bytes().await.unwrap().as_ref(), polyglot.as_slice());
    let download = console
        .get(&format!("/console/attachments/{att}?download"))
        .await;
    assert_eq!(
        download.headers()["content-disposition"],
        format!("attachment; filename=\"{att}.png\"").as_str()
    );
}

#[tokio::test]
async fn attachments_are_served_to_tokens_with_the_consoles_protections() {
    let (app, _clock) = console_app().await;
    let (public_id, status_url) = submit(&app, complaint(&app, "See the picture")).await;
    let secret = status_url.rsplit('.').next().unwrap().to_owned();
    let png = {
        let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        b.extend_from_slice(&2u32.to_be_bytes());
        b.extend_from_slice(&2u32.to_be_bytes());
        b.extend_from_slice(&[8, 6, 0, 0, 0]);
        b
    };
    let uploaded = app
        .client
        .post(format!(
            "{}/api/v1/feedback/{public_id}/attachments",
            app.address
        ))
        .bearer_auth(&secret)
        .header("content-type", "image/png")
        .body(png.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), 201);
    let api = Api {
        app: &app,
        token: token_for(&app, "bo@example.com", "read", None).await,
    };
    let page = api.json("/api/v1/entries?view=all").await;
    let entry = api.json(page["entries"][0]["url"].as_str().unwrap()).await;
    let attachment = &entry["attachments"][0];
    assert_eq!(
        (attachment["width"].as_i64(), attachment["height"].as_i64()),
        (Some(2), Some(2))
    );
    let response = api.get(attachment["url"].as_str().unwrap()).await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("sandbox")
    );
    assert_eq!(response.bytes().await.unwrap(), png);
    let anonymous = app
        .client
        .get(attachment["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}
