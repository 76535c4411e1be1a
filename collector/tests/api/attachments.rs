use serde_json::Value;

use crate::helpers::{TestApp, error_of, spawn_app};

/// A 1×1 PNG.
pub const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0xF8, 0xCF, 0xC0, 0xF0,
    0x1F, 0x00, 0x05, 0x00, 0x01, 0xFF, 0x89, 0x99, 0x3D, 0x1D, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];

/// Submits an entry and returns (id, status secret).
async fn entry(app: &TestApp) -> (String, String) {
    let response = app.post_json(&app.valid_body(), None).await;
    let body: Value = response.json().await.unwrap();
    let secret = body["status_url"]
        .as_str()
        .unwrap()
        .rsplit_once('.')
        .unwrap()
        .1
        .to_owned();
    (body["id"].as_str().unwrap().to_owned(), secret)
}

async fn upload(
    app: &TestApp,
    id: &str,
    secret: &str,
    content_type: &str,
    bytes: Vec<u8>,
) -> reqwest::Response {
    app.client
        .post(format!("{}/api/v1/feedback/{id}/attachments", app.address))
        .header("authorization", format!("Bearer {secret}"))
        .header("content-type", content_type)
        .body(bytes)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_image_is_stored_with_its_entry() {
    let app = spawn_app().await;
    let (id, secret) = entry(&app).await;
    let response = upload(&app, &id, &secret, "image/png", PNG.to_vec()).await;
    assert_eq!(response.status().as_u16(), 201);
    let body: Value = response.json().await.unwrap();
    assert!(body["id"].as_str().unwrap().starts_with("att_"));
    assert_eq!(body["size"], PNG.len());
    let (content_type, bytes): (String, Vec<u8>) = app
        .db()
        .query_row(
            "SELECT a.content_type, a.bytes FROM attachments a JOIN entries e ON e.id = a.entry_id
             WHERE e.public_id = ?1",
            [&id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        (content_type.as_str(), bytes.as_slice()),
        ("image/png", PNG)
    );
}

#[tokio::test]
async fn upload_returns_404_without_the_entrys_secret() {
    let app = spawn_app().await;
    let (id, _) = entry(&app).await;
    let response = upload(&app, &id, "not-the-secret", "image/png", PNG.to_vec()).await;
    let (code, _) = error_of(response, 404).await;
    assert_eq!(code, "unknown_entry");
    let response = upload(&app, "e_nonexistent", "x", "image/png", PNG.to_vec()).await;
    assert_eq!(error_of(response, 404).await.0, "unknown_entry");
}

#[tokio::test]
async fn upload_returns_415_for_svg_or_bytes_that_are_not_what_they_claim() {
    let app = spawn_app().await;
    let (id, secret) = entry(&app).await;
    let svg = b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>".to_vec();
    for (content_type, bytes) in [
        ("image/svg+xml", svg.clone()),
        ("image/png", svg),
        ("image/jpeg", PNG.to_vec()),
        ("application/octet-stream", PNG.to_vec()),
    ] {
        let response = upload(&app, &id, &secret, content_type, bytes).await;
        assert_eq!(
            error_of(response, 415).await.0,
            "unsupported_image",
            "{content_type}"
        );
    }
    let stored: i64 = app
        .db()
        .query_row("SELECT count(*) FROM attachments", [], |r| r.get(0))
        .unwrap();
    assert_eq!(stored, 0);
}

#[tokio::test]
async fn upload_returns_413_above_two_mib_and_409_after_three_images() {
    let app = spawn_app().await;
    let (id, secret) = entry(&app).await;
    let mut big = PNG.to_vec();
    big.resize(earshot_protocol::limits::ATTACHMENT_MAX_BYTES + 1, 0);
    let response = upload(&app, &id, &secret, "image/png", big).await;
    assert_eq!(error_of(response, 413).await.0, "attachment_too_large");
    for _ in 0..earshot_protocol::limits::ATTACHMENTS_PER_ENTRY {
        let response = upload(&app, &id, &secret, "image/png", PNG.to_vec()).await;
        assert_eq!(response.status().as_u16(), 201);
    }
    let response = upload(&app, &id, &secret, "image/png", PNG.to_vec()).await;
    assert_eq!(error_of(response, 409).await.0, "too_many_attachments");
}

#[tokio::test]
async fn upload_from_an_origin_the_site_does_not_allow_returns_403() {
    let app = spawn_app().await;
    let (id, secret) = entry(&app).await;
    let response = app
        .client
        .post(format!("{}/api/v1/feedback/{id}/attachments", app.address))
        .header("authorization", format!("Bearer {secret}"))
        .header("content-type", "image/png")
        .header("origin", "https://evil.example")
        .body(PNG.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(response, 403).await.0, "origin_not_allowed");
}

/// A PNG whose header declares `width` × `height`, padded to `len` bytes.
fn png_declaring(width: u32, height: u32, len: usize) -> Vec<u8> {
    let mut png = PNG[..16].to_vec();
    png.extend_from_slice(&width.to_be_bytes());
    png.extend_from_slice(&height.to_be_bytes());
    png.extend_from_slice(&PNG[24..]);
    png.resize(len.max(png.len()), 0);
    png
}

#[tokio::test]
async fn upload_returns_422_for_an_image_declaring_more_than_40_megapixels() {
    let app = spawn_app().await;
    let (id, secret) = entry(&app).await;
    // The PNG from the report: 1.5 MB, 40000×40000 (6.4 GB decoded).
    let bomb = png_declaring(40_000, 40_000, 1_500_000);
    let response = upload(&app, &id, &secret, "image/png", bomb).await;
    let body: Value = response.json().await.unwrap_or_default();
    assert_eq!(body["error"]["code"], "image_too_large", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("40000×40000"),
        "{body}"
    );
    // A WebP canvas of 16384×16384 (VP8X stores width-1 and height-1).
    let mut webp = b"RIFF\0\0\0\0WEBPVP8X\x0a\0\0\0\0\0\0\0".to_vec();
    webp.extend_from_slice(&[0xFF, 0x3F, 0x00, 0xFF, 0x3F, 0x00]);
    let response = upload(&app, &id, &secret, "image/webp", webp).await;
    assert_eq!(error_of(response, 422).await.0, "image_too_large");
    // A GIF whose tiny screen hides one huge frame.
    let mut gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00\x2c\0\0\0\0".to_vec();
    gif.extend_from_slice(&[0x60, 0xEA, 0x60, 0xEA, 0x00, 0x02, 0x00, 0x3B]);
    let response = upload(&app, &id, &secret, "image/gif", gif).await;
    assert_eq!(error_of(response, 422).await.0, "image_too_large");
    // A header too short to read is no image at all.
    let response = upload(&app, &id, &secret, "image/png", PNG[..14].to_vec()).await;
    assert_eq!(error_of(response, 415).await.0, "unsupported_image");
    // Just under the limit is fine.
    let response = upload(
        &app,
        &id,
        &secret,
        "image/png",
        png_declaring(8_000, 5_000, 0),
    )
    .await;
    assert_eq!(response.status().as_u16(), 201);
    let (width, height): (i64, i64) = app
        .db()
        .query_row("SELECT width, height FROM attachments", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!((width, height), (8_000, 5_000));
}

#[test]
fn every_input_in_the_image_fuzz_corpus_is_read_without_a_panic() {
    use crate::fuzz::{Seen, image_header, replay};
    let corpus =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/image_header");
    let seen = replay(&corpus, image_header).unwrap();
    eprintln!("image fuzz corpus: {seen:?}");
    // The corpus reaches every outcome, so the replay tests each of them.
    for outcome in [
        Seen::NotAnImage,
        Seen::Unreadable,
        Seen::Displayable,
        Seen::Refused,
    ] {
        assert!(
            seen.get(&outcome).is_some_and(|n| *n >= 2),
            "{outcome:?}: {seen:?}"
        );
    }
}
