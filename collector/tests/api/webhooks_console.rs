//! Webhooks managed by admins in the console: adding, reviewing
//! deliveries, redelivering, rotating the secret and removing.

use std::time::Duration;

use crate::receiver::Receiver;
use crate::webhooks::{WAIT, app, submit, verify};

#[tokio::test]
async fn admins_add_review_redeliver_rotate_and_remove_webhooks_in_the_console() {
    let (app, _) = app().await;
    crate::staff::add_staff(&app.running.store).await;
    let receiver = Receiver::start().await;
    let site_id = app.running.store.sites().await.unwrap()[0].id;
    let agent = crate::staff::signed_in(&app, "bo@example.com").await;
    let refused = agent
        .act(
            &format!("/console/sites/{site_id}/webhooks"),
            &[("url", receiver.url.as_str()), ("format", "standard")],
        )
        .await;
    assert_eq!(refused.status().as_u16(), 403);

    let admin = crate::staff::signed_in(&app, "ada@example.com").await;
    let bad = admin
        .act(
            &format!("/console/sites/{site_id}/webhooks"),
            &[
                ("url", "ftp://x.example/"),
                ("format", "slack"),
                ("event", "entry.replied"),
                ("include_email", "on"),
            ],
        )
        .await;
    assert_eq!(bad.status().as_u16(), 422);
    // The site's page again, the form open as it was filled in.
    let html = bad.text().await.unwrap();
    let form = crate::staff::between(&html, "<details open>", "</details>");
    assert!(form.contains("role=\"alert\""), "{form}");
    assert!(form.contains("value=\"ftp://x.example/\""), "{form}");
    assert!(form.contains("value=\"slack\" selected"), "{form}");
    assert!(form.contains("value=\"entry.replied\" checked"), "{form}");
    assert!(!form.contains("value=\"entry.created\" checked"), "{form}");
    assert!(form.contains("value=\"on\" checked"), "{form}");
    let added = admin
        .act(
            &format!("/console/sites/{site_id}/webhooks"),
            &[
                ("url", receiver.url.as_str()),
                ("format", "standard"),
                ("event", "entry.created"),
            ],
        )
        .await;
    assert_eq!(added.status().as_u16(), 200);
    let page = added.text().await.unwrap();
    let secret = crate::staff::between(&page, r#"<p class="secret">"#, "<").to_owned();
    assert!(secret.starts_with("whsec_"));
    let public_id = crate::staff::between(&page, "/console/webhooks/", "\"").to_owned();
    let sites_page = admin.html(&format!("/console/sites/{site_id}")).await;
    assert!(sites_page.contains(&format!("/console/webhooks/{public_id}")));
    assert!(
        !sites_page.contains("blocked: a private address"),
        "a private receiver is allowed here"
    );
    assert!(
        !sites_page.contains(&secret),
        "the secret is shown only once"
    );

    submit(&app, app.valid_body()).await;
    let got = receiver.wait_for(1, WAIT).await;
    assert!(verify(&secret, &got[0]));
    // The attempt is listed; redeliver sends the same message again.
    let mut detail = String::new();
    for _ in 0..100 {
        detail = admin.html(&format!("/console/webhooks/{public_id}")).await;
        if detail.contains("delivered") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(detail.contains("entry.created") && detail.contains("200"));
    let redeliver = crate::staff::between(&detail, "/deliveries/", "/redeliver").to_owned();
    let response = admin
        .act(
            &format!("/console/webhooks/{public_id}/deliveries/{redeliver}/redeliver"),
            &[],
        )
        .await;
    assert_eq!(response.status().as_u16(), 303);
    let got = receiver.wait_for(2, WAIT).await;
    assert_eq!(got[0].header("webhook-id"), got[1].header("webhook-id"));

    let rotated = admin
        .act(&format!("/console/webhooks/{public_id}/rotate"), &[])
        .await;
    let page = rotated.text().await.unwrap();
    let new_secret = crate::staff::between(&page, r#"<p class="secret">"#, "<").to_owned();
    assert_ne!(new_secret, secret);
    let removed = admin
        .act(&format!("/console/webhooks/{public_id}/remove"), &[])
        .await;
    assert_eq!(removed.status().as_u16(), 303);
    assert!(
        !admin
            .html(&format!("/console/sites/{site_id}"))
            .await
            .contains(&public_id)
    );
    let left: i64 = app
        .db()
        .query_row("SELECT count(*) FROM webhook_deliveries", [], |r| r.get(0))
        .unwrap();
    assert_eq!(left, 0, "its queue went with it");
    let site_key = app.site_key.clone();
    assert_eq!(
        crate::helpers::audit_rows(&app),
        [
            (
                "webhook.added",
                format!("site={site_key},format=standard,events=entry.created")
            ),
            ("webhook.rotated", format!("site={site_key}")),
            ("webhook.removed", format!("site={site_key}")),
        ]
        .map(|(action, detail)| (
            action.to_owned(),
            Some("ada@example.com".to_owned()),
            public_id.clone(),
            Some(detail)
        )),
        "who changed which endpoint, never its URL"
    );
}
