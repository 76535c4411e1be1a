//! The customer answers back from their status page: follow-ups reopen and
//! re-queue entries, are searchable and reach the assignee; the form is
//! guarded by a token bound to the link, limits and a honeypot.

use std::time::Duration;

use earshot_collector::clock::Clock;
use reqwest::StatusCode;
use reqwest::redirect::Policy;

use crate::helpers::TestApp;
use crate::staff::{
    between, complaint, console_app, console_app_with_mail, location, signed_in, submit,
};

/// Reads the status page; returns its HTML and the follow-up form's token.
async fn open_page(client: &reqwest::Client, status_url: &str) -> (String, String) {
    let response = client.get(status_url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("form-action 'self'"),
        "the form may post only here: {csp}"
    );
    let html = response.text().await.unwrap();
    let token = between(&html, "name=\"form\" value=\"", "\"").to_owned();
    (html, token)
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

async fn send(
    client: &reqwest::Client,
    status_url: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    client
        .post(format!("{status_url}/follow-up"))
        .form(form)
        .send()
        .await
        .unwrap()
}

/// Opens the page, waits as a person would, sends `message`.
async fn follow_up(
    client: &reqwest::Client,
    clock: &Clock,
    status_url: &str,
    message: &str,
) -> reqwest::Response {
    let (_, token) = open_page(client, status_url).await;
    clock.advance(5_000);
    send(
        client,
        status_url,
        &[("form", &token), ("message", message)],
    )
    .await
}

fn follow_up_count(app: &TestApp) -> i64 {
    app.db()
        .query_row(
            "SELECT count(*) FROM events WHERE kind = 'follow_up'",
            [],
            |r| r.get(0),
        )
        .unwrap()
}

#[tokio::test]
async fn a_follow_up_puts_an_answered_entry_back_into_needs_a_response_and_is_searchable() {
    let (app, clock) = console_app().await;
    let (id, status_url) = submit(&app, complaint(&app, "Rabattcode abgelehnt")).await;
    let console = signed_in(&app, "ada@example.com").await;
    let reply = console
        .act(
            &format!("/console/entries/{id}/reply"),
            &[("body", "Welche Bestellnummer?")],
        )
        .await;
    assert_eq!(reply.status(), StatusCode::SEE_OTHER);
    assert!(!console.html("/console").await.contains(&id));

    let client = no_redirects();
    let response = follow_up(&client, &clock, &status_url, "Bestellung <b>4411</b>").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&response),
        format!("/s/{}?added=1#add", status_url.rsplit('/').next().unwrap())
    );

    let (page, _) = open_page(&client, &format!("{status_url}?added=1")).await;
    assert!(page.contains("Ihre Nachricht wurde hinzugefügt"), "{page}");
    assert!(page.contains("Sie schrieben"));
    assert!(page.contains("Bestellung &lt;b&gt;4411&lt;/b&gt;"));
    assert!(page.find("Welche Bestellnummer?") < page.find("Bestellung &lt;b&gt;"));

    clock.advance(60_000);
    let inbox = console.html("/console").await;
    assert!(inbox.contains(&id), "back in 'Needs a response'");
    let entry = console.html(&format!("/console/entries/{id}")).await;
    assert!(entry.contains("The customer</strong> wrote again from their status page"));
    assert!(
        entry.contains("The customer wrote again 1 min ago and is waiting"),
        "{entry}"
    );
    assert!(entry.contains("Bestellung &lt;b&gt;4411&lt;/b&gt;"));
    let found = console.html("/console?view=all&q=4411").await;
    assert!(found.contains(&id), "follow-ups are searchable");

    // Answering again takes it off the list.
    console
        .act(
            &format!("/console/entries/{id}/reply"),
            &[("body", "Danke, erstattet.")],
        )
        .await;
    assert!(!console.html("/console").await.contains(&id));
}

#[tokio::test]
async fn a_follow_up_on_a_resolved_entry_reopens_it() {
    let (app, clock) = console_app().await;
    let (id, status_url) = submit(&app, complaint(&app, "Checkout bricht ab")).await;
    let console = signed_in(&app, "bo@example.com").await;
    console
        .act(
            &format!("/console/entries/{id}/reply"),
            &[("body", "Behoben.")],
        )
        .await;
    for status in ["resolved"] {
        let moved = console
            .act(
                &format!("/console/entries/{id}/status"),
                &[("status", status)],
            )
            .await;
        assert_eq!(moved.status(), StatusCode::SEE_OTHER);
    }
    let client = no_redirects();
    let (page, _) = open_page(&client, &status_url).await;
    assert!(
        page.contains("Wieder öffnen und senden"),
        "the form says it reopens"
    );

    let response = follow_up(&client, &clock, &status_url, "Leider immer noch kaputt").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let status: String = app
        .db()
        .query_row(
            "SELECT status FROM entries WHERE public_id = ?1",
            [&id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(status, "in_progress");
    let (page, _) = open_page(&client, &status_url).await;
    assert!(page.contains("In Bearbeitung"));
    let entry = console.html(&format!("/console/entries/{id}")).await;
    assert!(
        entry.contains("The customer</strong> changed the status from Resolved to In progress")
    );
    assert!(console.html("/console").await.contains(&id));
}

#[tokio::test]
async fn follow_ups_need_the_pages_own_token_and_keep_the_text_when_refused() {
    let (app, clock) = console_app().await;
    let (_, status_url) = submit(&app, complaint(&app, "Zahlung fehlgeschlagen")).await;
    let (_, other_url) = submit(&app, complaint(&app, "Andere Sache")).await;
    let client = no_redirects();
    let (_, token) = open_page(&client, &status_url).await;
    let (_, other_token) = open_page(&client, &other_url).await;

    // Sent faster than a person could: shown again, text kept and escaped,
    // without the escape sequences and bidi overrides a kept one loses.
    let quick = send(
        &client,
        &status_url,
        &[
            ("form", &token),
            ("message", "Nummer <i>77</i>\r\n\u{202E}zwei\u{1B}[2J\u{0}"),
        ],
    )
    .await;
    assert_eq!(quick.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = quick.text().await.unwrap();
    assert!(html.contains("senden Sie sie erneut"));
    assert!(html.contains("Nummer &lt;i&gt;77&lt;/i&gt;\nzwei[2J</textarea>"));
    assert!(
        !html.contains(['\u{202E}', '\u{1B}', '\u{0}', '\r']),
        "no control or override character is sent back"
    );
    assert!(html.contains("aria-invalid=\"true\""));

    clock.advance(5_000);
    for (form, why) in [
        (vec![("message", "ohne Token")], "no token"),
        (
            vec![("form", other_token.as_str()), ("message", "fremder Token")],
            "another entry's token",
        ),
        (
            vec![("form", "1.AAAA"), ("message", "geraten")],
            "a forged token",
        ),
    ] {
        let response = send(&client, &status_url, &form).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{why}");
    }
    let empty = send(&client, &status_url, &[("form", &token), ("message", "  ")]).await;
    assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty.text().await.unwrap().contains("Bitte schreiben Sie"));
    let long = "x".repeat(5_001);
    let too_long = send(
        &client,
        &status_url,
        &[("form", &token), ("message", &long)],
    )
    .await;
    assert_eq!(too_long.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let huge = "x".repeat(200_000);
    let too_large = send(
        &client,
        &status_url,
        &[("form", &token), ("message", &huge)],
    )
    .await;
    assert_eq!(too_large.status(), StatusCode::PAYLOAD_TOO_LARGE);

    // Posted from another site: refused before anything is read.
    let cross = client
        .post(format!("{status_url}/follow-up"))
        .header("sec-fetch-site", "cross-site")
        .form(&[("form", token.as_str()), ("message", "CSRF")])
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), StatusCode::NOT_FOUND);

    // A bot filling the honeypot is thanked and ignored.
    let bot = send(
        &client,
        &status_url,
        &[
            ("form", &token),
            ("message", "cheap pills"),
            ("website", "x"),
        ],
    )
    .await;
    assert_eq!(bot.status(), StatusCode::SEE_OTHER);
    assert_eq!(follow_up_count(&app), 0, "nothing refused was stored");

    // A wrong link is a 404, not a hint.
    let (id, secret) = status_url
        .rsplit('/')
        .next()
        .unwrap()
        .split_once('.')
        .unwrap();
    let wrong = format!("{}/s/{id}.{}", app.address, "0".repeat(secret.len()));
    let response = send(&client, &wrong, &[("form", &token), ("message", "hallo")]).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    let ok = send(
        &client,
        &status_url,
        &[("form", &token), ("message", "Nummer 77")],
    )
    .await;
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    assert_eq!(follow_up_count(&app), 1);
}

#[tokio::test]
async fn follow_ups_on_one_entry_are_limited_and_the_text_survives_the_refusal() {
    let (app, clock) = console_app().await;
    let (_, status_url) = submit(&app, complaint(&app, "Lieferung fehlt")).await;
    let client = no_redirects();
    for n in 0..5 {
        let response = follow_up(&client, &clock, &status_url, &format!("Detail {n}")).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "follow-up {n}");
    }
    let refused = follow_up(&client, &clock, &status_url, "Noch ein Detail").await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let html = refused.text().await.unwrap();
    assert!(html.contains("Noch ein Detail</textarea>"));
    assert!(html.contains("Im Moment zu viele Nachrichten"));
    assert_eq!(follow_up_count(&app), 5);
}

/// The limit per entry is read from the entry's timeline, which every
/// collector sharing the database writes (and a restart keeps): follow-ups
/// another collector took count here.
#[tokio::test]
async fn follow_ups_another_collector_took_count_against_the_entry() {
    let (app, clock) = console_app().await;
    let (_, status_url) = submit(&app, complaint(&app, "Lieferung fehlt")).await;
    let client = no_redirects();
    let (_, token) = open_page(&client, &status_url).await;
    clock.advance(5_000);
    let now = clock.now_millis();
    let db = app.db();
    for n in 0..5 {
        db.execute(
            "INSERT INTO events (entry_id, kind, body, created_at)
             SELECT id, 'follow_up', ?1, ?2 FROM entries",
            rusqlite::params![format!("Elsewhere {n}"), now - 60_000 + n],
        )
        .unwrap();
    }
    let refused = send(
        &client,
        &status_url,
        &[("form", &token), ("message", "Noch ein Detail")],
    )
    .await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("Noch ein Detail</textarea>")
    );

    // Ten minutes on, one more is taken.
    clock.advance(10 * 60_000);
    let taken = follow_up(&client, &clock, &status_url, "Noch ein Detail").await;
    assert_eq!(taken.status(), StatusCode::SEE_OTHER);
    assert_eq!(follow_up_count(&app), 6);
}

#[tokio::test]
async fn the_assignee_is_emailed_when_the_customer_writes_again() {
    let (app, clock, mut mails) = console_app_with_mail().await;
    let (id, status_url) = submit(&app, complaint(&app, "Rechnung falsch")).await;
    let console = signed_in(&app, "ada@example.com").await;
    let users: i64 = app
        .db()
        .query_row(
            "SELECT id FROM users WHERE email = 'bo@example.com'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let assign = console
        .act(
            &format!("/console/entries/{id}/assign"),
            &[("assignee", &users.to_string())],
        )
        .await;
    assert_eq!(assign.status(), StatusCode::SEE_OTHER);
    let response = follow_up(&no_redirects(), &clock, &status_url, "Rechnung Nr. 9081").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let mail = loop {
        let mail = tokio::time::timeout(Duration::from_secs(15), mails.recv())
            .await
            .expect("the assignee hears of the follow-up")
            .unwrap()
            .replace("=\n", "");
        if mail.contains("wrote again") {
            break mail;
        }
    };
    assert!(mail.contains("To: bo@example.com"), "{mail}");
    assert!(mail.contains("Rechnung Nr. 9081"));
    assert!(mail.contains("assigned to you"), "{mail}");
}

#[tokio::test]
async fn a_follow_up_nobody_holds_reaches_whoever_hears_of_such_feedback_at_once() {
    let (app, clock, mut mails) = console_app_with_mail().await;
    // Unassigned. Ada (an administrator) hears of complaints at once by
    // default; Bo (an agent) does not.
    let (_, status_url) = submit(&app, complaint(&app, "Paket beschädigt")).await;
    let response = follow_up(&no_redirects(), &clock, &status_url, "Foto anbei folgt").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let mut wrote_again = Vec::new();
    while let Ok(Some(mail)) = tokio::time::timeout(Duration::from_secs(5), mails.recv()).await {
        let mail = mail.replace("=\n", "");
        if mail.contains("wrote again") {
            wrote_again.push(mail);
        }
    }
    assert_eq!(wrote_again.len(), 1, "{wrote_again:?}");
    let mail = &wrote_again[0];
    assert!(mail.contains("To: ada@example.com"), "{mail}");
    assert!(mail.contains("Foto anbei folgt"), "{mail}");
    assert!(mail.contains("which no active colleague holds"), "{mail}");
}

#[tokio::test]
async fn a_follow_up_the_store_cannot_keep_shows_the_page_again_with_the_text() {
    let (app, clock) = console_app().await;
    let (_, status_url) = submit(&app, complaint(&app, "Lieferung fehlt")).await;
    // A real failure of the real database: a trigger refuses follow-ups.
    app.db()
        .execute_batch(
            "CREATE TRIGGER refuse_follow_ups BEFORE INSERT ON events
             WHEN NEW.kind = 'follow_up' BEGIN SELECT RAISE(ABORT, 'refused'); END",
        )
        .unwrap();
    let client = no_redirects();
    let refused = follow_up(&client, &clock, &status_url, "Bestellung 4711").await;
    assert_eq!(refused.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        refused.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = refused.text().await.unwrap();
    assert!(html.contains("Bestellung 4711</textarea>"), "{html}");
    assert!(
        html.contains("konnte gerade nicht gespeichert werden"),
        "{html}"
    );
    assert_eq!(follow_up_count(&app), 0);
    app.db()
        .execute_batch("DROP TRIGGER refuse_follow_ups")
        .unwrap();
    let kept = follow_up(&client, &clock, &status_url, "Bestellung 4711").await;
    assert_eq!(kept.status(), StatusCode::SEE_OTHER);
    assert_eq!(follow_up_count(&app), 1);
}

fn assert_html(response: &reqwest::Response) {
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(content_type.starts_with("text/html"), "{content_type}");
}

#[tokio::test]
async fn a_status_page_the_store_cannot_read_is_a_page_in_the_customers_language() {
    let (app, _) = console_app().await;
    let (_, status_url) = submit(&app, complaint(&app, "Lieferung fehlt")).await;
    // A real failure of the real database: the page's conversation cannot
    // be read.
    app.db()
        .execute_batch("ALTER TABLE promises RENAME TO promises_away")
        .unwrap();
    let failed = reqwest::Client::new()
        .get(&status_url)
        .header("accept-language", "de-DE,de;q=0.9")
        .send()
        .await
        .unwrap();
    assert_eq!(failed.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_html(&failed);
    assert_eq!(failed.headers()["cache-control"], "no-store");
    let html = failed.text().await.unwrap();
    assert!(
        html.contains("Diese Seite kann gerade nicht angezeigt werden"),
        "{html}"
    );
    assert!(!html.contains("\"error\""), "{html}");
    assert!(
        !html.contains("promises"),
        "no detail reaches the customer: {html}"
    );

    app.db()
        .execute_batch("ALTER TABLE promises_away RENAME TO promises")
        .unwrap();
    let (html, _) = open_page(&reqwest::Client::new(), &status_url).await;
    assert!(html.contains("Lieferung fehlt"));
}

#[tokio::test]
async fn a_follow_up_far_past_the_limit_shows_the_form_again_saying_it_is_too_long() {
    let (app, clock) = console_app().await;
    let (_, status_url) = submit(&app, complaint(&app, "Lieferung fehlt")).await;
    let client = no_redirects();
    let (_, token) = open_page(&client, &status_url).await;
    clock.advance(5_000);
    let huge = "x".repeat(earshot_protocol::limits::MESSAGE_MAX * 13);
    let refused = send(
        &client,
        &status_url,
        &[("form", &token), ("message", &huge)],
    )
    .await;
    assert_eq!(refused.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_html(&refused);
    let html = refused.text().await.unwrap();
    assert!(html.contains("Diese Nachricht ist zu lang"), "{html}");
    assert!(
        html.contains("name=\"form\""),
        "the form is there to try again"
    );
    assert_eq!(follow_up_count(&app), 0);
}

#[tokio::test]
async fn opening_the_follow_up_address_leads_back_to_the_page_and_its_form() {
    let (app, _) = console_app().await;
    let (_, status_url) = submit(&app, complaint(&app, "Lieferung fehlt")).await;
    let client = no_redirects();
    let back = client
        .get(format!("{status_url}/follow-up"))
        .send()
        .await
        .unwrap();
    assert_eq!(back.status(), StatusCode::SEE_OTHER);
    let path = status_url.split_once("/s/").unwrap().1;
    assert_eq!(back.headers()["location"], format!("/s/{path}#add"));

    let junk = client
        .get(format!("{}/s/not-a-link/follow-up", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(junk.status(), StatusCode::NOT_FOUND);
    assert_html(&junk);
}

#[tokio::test]
async fn the_same_follow_up_sent_twice_is_kept_once_even_at_the_limit() {
    let (app, clock) = console_app().await;
    let (_, status_url) = submit(&app, complaint(&app, "Lieferung fehlt")).await;
    let client = no_redirects();
    for n in 0..4 {
        let response = follow_up(&client, &clock, &status_url, &format!("Detail {n}")).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "follow-up {n}");
    }
    // The fifth, the last the limit allows, sent twice: a double click, or
    // the sent form reloaded.
    let (_, token) = open_page(&client, &status_url).await;
    clock.advance(5_000);
    let form = [("form", token.as_str()), ("message", "Es ist Paket 7781")];
    let first = send(&client, &status_url, &form).await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    clock.advance(2_000);
    let again = send(&client, &status_url, &form).await;
    assert_eq!(
        again.status(),
        StatusCode::SEE_OTHER,
        "told it was added, not that it was one too many"
    );
    assert_eq!(location(&again), location(&first));
    assert_eq!(follow_up_count(&app), 5);
}
