//! Origins as an admin types them and as browsers send them: an
//! international name is kept in the form a browser's `Origin` header
//! uses, and a pasted list is refused with the reason.

use reqwest::StatusCode;
use serde_json::json;

use crate::staff::{between, console_app, location, signed_in};

#[tokio::test]
async fn a_site_typed_with_an_international_name_accepts_what_browsers_send() {
    let (app, _) = console_app().await;
    let admin = signed_in(&app, "ada@example.com").await;
    let added = admin
        .act(
            "/console/sites",
            &[
                ("name", "Bücherstube"),
                ("origins", "https://Bücher.example"),
            ],
        )
        .await;
    assert_eq!(added.status(), StatusCode::SEE_OTHER);
    let detail = admin.html(&location(&added)).await;
    assert!(detail.contains("https://xn--bcher-kva.example"), "{detail}");
    let key = between(&detail, "Key <code>", "<").to_owned();
    // What Chromium, Firefox and Safari send for a page on bücher.example.
    let body = json!({"site": key, "kind": "idea", "message": "Mehr Krimis"});
    let sent = app
        .post_json(&body, Some("https://xn--bcher-kva.example"))
        .await;
    assert_eq!(sent.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn origins_pasted_as_a_list_or_no_browser_could_send_are_refused_by_line() {
    let (app, _) = console_app().await;
    let admin = signed_in(&app, "ada@example.com").await;
    for (origins, why) in [
        (
            "https://shop.example\nhttps://a.example, https://b.example",
            "Line 2, “https://a.example, https://b.example”: this looks like several origins: give one per line (or one per --origin).",
        ),
        (
            "https://exa<mple.example",
            "Line 1, “https://exa&lt;mple.example”: origin host is not a name or address a browser could send (letters, digits, dots and hyphens).",
        ),
    ] {
        let refused = admin
            .act("/console/sites", &[("name", "Shop"), ("origins", origins)])
            .await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let page = refused.text().await.unwrap();
        assert!(page.contains(why), "{page}");
    }
}
