//! Replies and notes from the console: emailed to the customer when SMTP
//! is set, and what was typed shown again with the reason when one is
//! refused or cannot be kept.

use earshot_collector::auth::{Password, password};
use earshot_collector::store::{NewUser, Role};
use reqwest::StatusCode;

use crate::helpers::{smtp_sink, spawn_app_with};
use crate::staff::{PASSWORD, complaint, console_app, signed_in, submit};

#[tokio::test]
async fn replies_are_emailed_to_customers_when_smtp_is_configured() {
    let (url, mut mails) = smtp_sink().await;
    let app = spawn_app_with(move |c| {
        c.smtp = Some(earshot_collector::config::Smtp {
            url: earshot_collector::config::Secret::new(url),
            from: "Fern & Fig <care@fernandfig.example>".into(),
        });
    })
    .await;
    let hash = password::hash(&Password::parse(PASSWORD).unwrap()).unwrap();
    app.running
        .store
        .add_user(
            NewUser {
                email: "ada@example.com".into(),
                name: "Ada".into(),
                role: Role::Admin,
                password_hash: hash,
            },
            earshot_collector::clock::system_millis(),
        )
        .await
        .unwrap();
    let (id, status_url) = submit(&app, app.valid_body()).await;
    let console = signed_in(&app, "ada@example.com").await;
    let page = console.html(&format!("/console/entries/{id}")).await;
    assert!(page.contains("Shown on the customer's status page and emailed to them."));
    let due = crate::helpers::due_in_six_weeks();
    let form = [
        ("body", "The code works again, sorry!"),
        ("promise_text", "A voucher"),
        ("promise_due", due.as_str()),
    ];
    let response = console
        .act(&format!("/console/entries/{id}/reply"), &form)
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    // Sent twice (a double click): the customer hears it once.
    let again = console
        .act(&format!("/console/entries/{id}/reply"), &form)
        .await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    // Ada, an administrator, is also told of the new complaint: skip that.
    let mail = loop {
        let mail = tokio::time::timeout(std::time::Duration::from_secs(10), mails.recv())
            .await
            .expect("the reply is emailed")
            .unwrap()
            // Undo quoted-printable soft line breaks.
            .replace("=\n", "");
        if !mail.contains("To: ada@example.com") {
            break mail;
        }
    };
    assert!(mail.contains("To: ana@example.com"), "{mail}");
    assert!(mail.contains("The code works again, sorry!"), "{mail}");
    // Around the colleague's own words, the customer's language (pt-BR).
    assert!(
        mail.contains(&format!("O nosso compromisso: A voucher (at=C3=A9 {due}).")),
        "{mail}"
    );
    assert!(mail.contains("Subject: Re: a sua mensagem para"), "{mail}");
    // Threaded under the entry, with an id in the sender's domain; written
    // by a person, so not marked automatic.
    assert!(mail.contains("References: <entry.ES-"), "{mail}");
    assert!(mail.contains("@fernandfig.example>"), "{mail}");
    assert!(!mail.contains("Auto-Submitted"), "{mail}");
    assert!(mail.contains(&status_url), "{mail}");
    while let Ok(Some(more)) =
        tokio::time::timeout(std::time::Duration::from_secs(2), mails.recv()).await
    {
        assert!(
            more.contains("To: ada@example.com"),
            "a second reply: {more}"
        );
    }
    let replies: i64 = app
        .db()
        .query_row(
            "SELECT count(*) FROM events WHERE kind = 'reply'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(replies, 1);
    // The timeline says so, once the relay has answered.
    let mut emailed = false;
    for _ in 0..50 {
        if console
            .html(&format!("/console/entries/{id}"))
            .await
            .contains("(also emailed)")
        {
            emailed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(emailed);
}

#[tokio::test]
async fn a_refused_reply_shows_the_entry_again_with_what_was_typed_and_why() {
    let (app, _) = console_app().await;
    let (id, _) = submit(&app, complaint(&app, "Export is broken")).await;
    let console = signed_in(&app, "ada@example.com").await;
    let refused = console
        .act(
            &format!("/console/entries/{id}/reply"),
            &[
                ("body", "We found it: <b>the CSV writer</b>"),
                ("promise_text", "Fixed \"soon\""),
                ("promise_due", "2026-11-21"),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    assert!(
        html.contains("Export is broken"),
        "the entry itself: {html}"
    );
    assert!(
        html.contains("role=\"alert\">The due date is in the past.</p>"),
        "{html}"
    );
    assert!(
        html.contains("We found it: &lt;b&gt;the CSV writer&lt;/b&gt;</textarea>"),
        "{html}"
    );
    assert!(html.contains("value=\"Fixed &quot;soon&quot;\""), "{html}");
    assert!(html.contains("value=\"2026-11-21\""), "{html}");
    let entry = console.html(&format!("/console/entries/{id}")).await;
    assert!(!entry.contains("the CSV writer"), "nothing was sent");
}

#[tokio::test]
async fn a_note_the_store_cannot_keep_shows_the_entry_again_with_the_text() {
    let (app, _) = console_app().await;
    let (id, _) = submit(&app, complaint(&app, "Export is broken")).await;
    let console = signed_in(&app, "ada@example.com").await;
    // A real failure of the real database: a trigger refuses notes.
    app.db()
        .execute_batch(
            "CREATE TRIGGER refuse_notes BEFORE INSERT ON events
             WHEN NEW.kind = 'note' BEGIN SELECT RAISE(ABORT, 'refused'); END",
        )
        .unwrap();
    let note = [("body", "Ask the payments team about PSP-42")];
    let refused = console
        .act(&format!("/console/entries/{id}/note"), &note)
        .await;
    assert_eq!(refused.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let html = refused.text().await.unwrap();
    assert!(
        html.contains("Ask the payments team about PSP-42</textarea>"),
        "{html}"
    );
    assert!(html.contains("nothing was changed"), "{html}");
    assert!(
        !html.contains("refused"),
        "no detail reaches the page: {html}"
    );

    app.db().execute_batch("DROP TRIGGER refuse_notes").unwrap();
    let kept = console
        .act(&format!("/console/entries/{id}/note"), &note)
        .await;
    assert_eq!(kept.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_reply_form_says_where_a_reply_will_reach_the_customer() {
    let (app, _) = console_app().await;
    let ada = signed_in(&app, "ada@example.com").await;
    let (anonymous, _) = submit(&app, complaint(&app, "No email given")).await;
    let page = ada.html(&format!("/console/entries/{anonymous}")).await;
    assert!(
        page.contains("They left no email, so they see it when they open that page again."),
        "{page}"
    );
    let mut with_email = complaint(&app, "Email given, none set up");
    with_email["email"] = "ana@example.com".into();
    let (unsent, _) = submit(&app, with_email).await;
    let page = ada.html(&format!("/console/entries/{unsent}")).await;
    assert!(
        page.contains("Email is not set up on this collector (--smtp-url), so it is not emailed."),
        "{page}"
    );
}
