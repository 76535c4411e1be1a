//! Colleagues named in an internal note (`@bo`) are emailed it; notes
//! never leave by webhook.

use std::time::Duration;

use earshot_collector::config::{Secret, Smtp};
use serde_json::json;

use crate::helpers::{TestApp, smtp_sink, spawn_app_with};
use crate::notify::{collect, header};
use crate::receiver::Receiver;
use crate::rest::{Api, token_for};
use crate::staff::{add_staff, signed_in, user_id};
use crate::webhooks::add_endpoint;

/// A collector with SMTP and webhooks to loopback, Ada (admin) and Bo
/// (agent).
async fn app_with_mail() -> (TestApp, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let (url, mails) = smtp_sink().await;
    let app = spawn_app_with(move |config| {
        config.allow_private_webhooks = true;
        config.smtp = Some(Smtp {
            url: Secret::new(url),
            from: "Earshot <earshot@fernandfig.example>".into(),
        });
    })
    .await;
    add_staff(&app.running.store).await;
    (app, mails)
}

/// An entry nobody is emailed about arriving (praise); its public id.
async fn praise(app: &TestApp) -> String {
    let praise =
        json!({"site": app.site_key, "kind": "praise", "message": "The parcel came in a day"});
    let response = app.post_json(&praise, None).await;
    assert_eq!(response.status().as_u16(), 201);
    let accepted: serde_json::Value = response.json().await.unwrap();
    accepted["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_colleague_named_in_a_note_is_emailed_it_and_nobody_else_is() {
    let (app, mut mails) = app_with_mail().await;
    let receiver = Receiver::start().await;
    add_endpoint(&app.running.store, &receiver.url, "*", "standard", false).await;
    let id = praise(&app).await;
    let console = signed_in(&app, "ada@example.com").await;
    // The note form says how to name each colleague (not Ada herself).
    let page = console.html(&format!("/console/entries/{id}")).await;
    assert!(page.contains("<li><code>@bo</code> Bo</li>"), "{page}");
    assert!(!page.contains("<code>@ada</code>"));
    let note = "@bo which carrier was it? The customer wrote to ada@example.com too. Noted, @ada.";
    let response = console
        .act(&format!("/console/entries/{id}/note"), &[("body", note)])
        .await;
    assert_eq!(response.status().as_u16(), 303);
    let got = collect(&mut mails, Duration::from_secs(2)).await;
    assert_eq!(got.len(), 1, "Bo alone: {got:?}");
    let mail = &got[0];
    assert_eq!(header(mail, "To"), "bo@example.com");
    let subject = header(mail, "Subject");
    assert!(
        subject.starts_with("[Earshot] Ada mentioned you on ES-"),
        "{subject}"
    );
    assert!(
        !subject.contains("carrier"),
        "the note stays out of the subject"
    );
    assert!(mail.contains("> @bo which carrier was it?"), "{mail}");
    assert!(mail.contains(&format!("/console/entries/{id}")));
    // The timeline says whom the note names (Ada named herself: not
    // emailed, still named).
    let page = console.html(&format!("/console/entries/{id}")).await;
    assert!(
        page.contains("added an internal note naming <strong>Ada</strong> and <strong>Bo</strong>"),
        "{page}"
    );
    // A status change after the note: the webhook hears of that, and of
    // the entry arriving, never of the note.
    console
        .act(
            &format!("/console/entries/{id}/status"),
            &[("status", "acknowledged")],
        )
        .await;
    let hits = receiver.wait_for(2, Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let types: Vec<String> = receiver
        .received()
        .iter()
        .map(|hit| hit.json()["type"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(types, ["entry.created", "entry.status_changed"], "{hits:?}");
    assert!(
        receiver
            .received()
            .iter()
            .all(|hit| !hit.body.contains("carrier"))
    );
}

#[tokio::test]
async fn a_colleague_who_turned_off_what_is_addressed_to_them_is_not_emailed_a_mention() {
    let (app, mut mails) = app_with_mail().await;
    let id = praise(&app).await;
    let store = &app.running.store;
    let bo = store
        .user_by_email("bo@example.com".into())
        .await
        .unwrap()
        .unwrap();
    let mut prefs = store.notify_prefs(bo.clone()).await.unwrap();
    prefs.on_assign = false;
    store.set_notify_prefs(bo.id, prefs).await.unwrap();
    let console = signed_in(&app, "ada@example.com").await;
    for body in ["@bo could you look?", "A note naming nobody"] {
        let response = console
            .act(&format!("/console/entries/{id}/note"), &[("body", body)])
            .await;
        assert_eq!(response.status().as_u16(), 303);
    }
    // Bo wants it back: the next mention reaches him.
    let mut prefs = store.notify_prefs(bo.clone()).await.unwrap();
    prefs.on_assign = true;
    store.set_notify_prefs(bo.id, prefs).await.unwrap();
    console
        .act(
            &format!("/console/entries/{id}/note"),
            &[("body", "@Bo, now?")],
        )
        .await;
    let got = collect(&mut mails, Duration::from_secs(2)).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].contains("> @Bo, now?"), "{}", got[0]);
}

#[tokio::test]
async fn a_note_added_through_the_api_mentions_as_one_added_in_the_console() {
    let (app, mut mails) = app_with_mail().await;
    praise(&app).await;
    let reference = app
        .db()
        .query_row("SELECT reference FROM entries", [], |r| {
            r.get::<_, String>(0)
        })
        .unwrap();
    let api = Api {
        app: &app,
        token: token_for(&app, "bo@example.com", "write", None).await,
    };
    let response = api
        .post(
            &format!("/api/v1/entries/{reference}/notes"),
            json!({"body": "Over to @ada@example.com: a refund?"}),
        )
        .await;
    assert_eq!(response.status().as_u16(), 201);
    let got = collect(&mut mails, Duration::from_secs(2)).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(header(&got[0], "To"), "ada@example.com");
    assert_eq!(
        header(&got[0], "Subject"),
        format!("[Earshot] Bo mentioned you on {reference}")
    );
}

/// Two colleagues called Ada (Bo renamed himself): an email about what one
/// of them did says which, as the console does.
#[tokio::test]
async fn an_email_says_which_of_two_colleagues_of_one_name_acted() {
    let (app, mut mails) = app_with_mail().await;
    let bo_id = user_id(&app, "bo@example.com");
    app.running
        .store
        .rename_user(bo_id, "Ada".into(), Some(bo_id), 0)
        .await
        .unwrap();
    let id = praise(&app).await;
    let ada = signed_in(&app, "ada@example.com").await;
    let assigned = ada
        .act(
            &format!("/console/entries/{id}/assign"),
            &[("assignee", &bo_id.to_string())],
        )
        .await;
    assert_eq!(assigned.status().as_u16(), 303);
    let got = collect(&mut mails, Duration::from_secs(2)).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(header(&got[0], "To"), "bo@example.com");
    let subject = header(&got[0], "Subject");
    assert!(
        subject.starts_with("[Earshot] Ada (ada@example.com) assigned ES-"),
        "{subject}"
    );

    let bo = signed_in(&app, "bo@example.com").await;
    let noted = bo
        .act(
            &format!("/console/entries/{id}/note"),
            &[("body", "@ada the carrier was DHL")],
        )
        .await;
    assert_eq!(noted.status().as_u16(), 303);
    let got = collect(&mut mails, Duration::from_secs(2)).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(header(&got[0], "To"), "ada@example.com");
    let subject = header(&got[0], "Subject");
    assert!(
        subject.starts_with("[Earshot] Ada (bo@example.com) mentioned you on ES-"),
        "{subject}"
    );
}
