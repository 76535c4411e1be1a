//! Getting staff email out: a relay that refuses is retried with every
//! attempt recorded, failing delivery is shown in the console until a test
//! email goes through, a refusal is named for what the operator can mend
//! (or for the one address it concerns), and an email sent but not
//! recorded is never sent twice.

use std::time::Duration;

use earshot_collector::auth::{Password, password};
use earshot_collector::config::{Secret, Smtp};
use earshot_collector::store::{NewUser, Role};

use tokio::sync::mpsc::UnboundedReceiver;

use crate::helpers::{Answers, SINK, TestApp, smtp_sink, smtp_sink_answering, spawn_app_with};
use crate::notify::{app_with_mail, collect, complaint, header, submit};
use crate::staff::{NOON, PASSWORD, add_staff, signed_in};

#[tokio::test]
async fn an_email_the_relay_refuses_is_retried_and_every_attempt_recorded() {
    let (app, clock, mut mails) = app_with_mail(NOON, 1).await;
    submit(&app, complaint(&app, "Parcel lost")).await;
    assert!(collect(&mut mails, Duration::from_secs(2)).await.is_empty());
    clock.advance(61_000);
    let got = collect(&mut mails, Duration::from_secs(3)).await;
    assert_eq!(got.len(), 1);
    let attempts: Vec<(i64, Option<String>)> = {
        let db = app.db();
        let mut stmt = db
            .prepare("SELECT ok, error FROM mail_attempts ORDER BY id")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0].0, 0);
    assert!(
        attempts[0].1.as_deref().unwrap().contains("451"),
        "{attempts:?}"
    );
    assert_eq!(attempts[1], (1, None));
}

/// Waits until `n` attempts to send email are recorded.
async fn attempts_recorded(app: &TestApp, n: i64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let count: i64 = app
            .db()
            .query_row("SELECT count(*) FROM mail_attempts", [], |r| r.get(0))
            .unwrap();
        if count >= n {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{count} of {n} attempts"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn failing_email_is_shown_in_the_console_and_a_test_email_sends_the_waiting_again() {
    // The relay refuses the first four messages: three tries of Ada's
    // notification, then the first test email.
    let (app, clock, mut mails) = app_with_mail(NOON, 4).await;
    let ada = signed_in(&app, "ada@example.com").await;
    let bo = signed_in(&app, "bo@example.com").await;
    let notifications = ada.html("/console/notifications").await;
    assert!(
        notifications.contains("No email has gone out yet."),
        "{notifications}"
    );
    assert!(!notifications.contains("a domain nobody receives mail for"));
    assert!(
        !ada.html("/console")
            .await
            .contains("Email is not getting through")
    );

    submit(&app, complaint(&app, "Parcel lost")).await;
    attempts_recorded(&app, 1).await;
    clock.advance(61_000);
    attempts_recorded(&app, 2).await;
    clock.advance(5 * 60_000 + 1_000);
    attempts_recorded(&app, 3).await;
    // Administrators see it above the inbox; an agent, on Notifications.
    let inbox = ada.html("/console").await;
    assert!(
        inbox.contains("Email is not getting through")
            && inbox.contains("3 attempts failed, the first"),
        "{inbox}"
    );
    assert!(inbox.contains("SMTP status 451"), "{inbox}");
    assert!(
        !bo.html("/console")
            .await
            .contains("Email is not getting through")
    );
    let page = bo.html("/console/notifications").await;
    assert!(
        page.contains("Email is not getting through</strong>: 3 attempts failed"),
        "{page}"
    );

    // A test the relay refuses says what it answered and what to check.
    let tested = ada.act("/console/notifications/test", &[]).await;
    assert_eq!(tested.status().as_u16(), 303);
    let to = tested.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(to, "/console/notifications?tested=451#email");
    let page = ada.html(to.trim_end_matches("#email")).await;
    assert!(
        page.contains("The test email did not go out: SMTP status 451.")
            && page.contains("asked to try again later"),
        "{page}"
    );
    // One it takes arrives, and the notification waiting half an hour for
    // its next retry goes out now.
    let tested = ada.act("/console/notifications/test", &[]).await;
    let to = tested.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(to, "/console/notifications?tested=sent-1#email");
    let got = collect(&mut mails, Duration::from_secs(5)).await;
    assert_eq!(got.len(), 2, "the test and the notification: {got:?}");
    assert!(
        got.iter()
            .any(|m| header(m, "Subject") == "Earshot test email")
    );
    assert!(
        got.iter()
            .any(|m| header(m, "To").contains("ada@example.com"))
    );
    assert!(got.iter().any(|m| m.contains("Parcel lost")));
    let page = ada.html(to.trim_end_matches("#email")).await;
    assert!(
        page.contains("1 email that had failed is being sent again now."),
        "{page}"
    );
    assert!(page.contains("Email is getting through"), "{page}");
    assert!(
        !ada.html("/console")
            .await
            .contains("Email is not getting through")
    );
}

#[tokio::test]
async fn a_test_email_that_goes_out_clears_the_warning_when_nothing_waits_to_be_retried() {
    // The relay refuses all six tries of Ada's notification, which is then
    // given up: no real email is left to show that it works again.
    let (app, clock, mut mails) = app_with_mail(NOON, 6).await;
    submit(&app, complaint(&app, "Parcel lost")).await;
    attempts_recorded(&app, 1).await;
    for (tries, wait) in [(2, 1), (3, 5), (4, 30), (5, 120), (6, 360)] {
        clock.advance(wait * 60_000 + 1_000);
        attempts_recorded(&app, tries).await;
    }
    let ada = signed_in(&app, "ada@example.com").await;
    let inbox = ada.html("/console").await;
    assert!(
        inbox.contains("Email is not getting through") && inbox.contains("6 attempts failed"),
        "{inbox}"
    );

    let tested = ada.act("/console/notifications/test", &[]).await;
    let to = tested.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(to, "/console/notifications?tested=sent-0#email");
    let got = collect(&mut mails, Duration::from_secs(2)).await;
    assert_eq!(got.len(), 1, "only the test: {got:?}");
    let page = ada.html(to.trim_end_matches("#email")).await;
    assert!(
        page.contains("Email is getting through: the last went out"),
        "{page}"
    );
    assert!(
        !ada.html("/console")
            .await
            .contains("Email is not getting through")
    );
}

#[tokio::test]
async fn a_sender_on_a_domain_nobody_receives_for_is_pointed_out_on_notifications() {
    let (url, _mails) = smtp_sink().await;
    let app = spawn_app_with(move |config| {
        config.smtp = Some(Smtp {
            url: Secret::new(url),
            from: "Earshot <earshot@localhost>".into(),
        });
    })
    .await;
    add_staff(&app.running.store).await;
    let admin = signed_in(&app, "ada@example.com")
        .await
        .html("/console/notifications")
        .await;
    assert!(
        admin.contains("Email goes out from <code>earshot@localhost</code></strong>, a domain nobody receives mail for"),
        "{admin}"
    );
    assert!(admin.contains("<code>--smtp-from</code>"), "{admin}");
    let agent = signed_in(&app, "bo@example.com")
        .await
        .html("/console/notifications")
        .await;
    assert!(agent.contains("a domain nobody receives mail for"));
    assert!(agent.contains("An administrator can change the collector's sender."));
    assert!(!agent.contains("--smtp-from"), "{agent}");
}

#[tokio::test]
async fn an_email_sent_but_not_recorded_is_recorded_later_never_sent_again() {
    let (app, _, mut mails) = app_with_mail(NOON, 0).await;
    // As a full disk does: the email goes, writing that it went fails.
    app.db()
        .execute_batch(
            "CREATE TRIGGER disk_full BEFORE INSERT ON mail_attempts
             BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;",
        )
        .unwrap();
    submit(&app, complaint(&app, "Parcel lost")).await;
    // Counted over a fixed window: a sender that repeats itself never
    // falls quiet.
    let window = tokio::time::Instant::now() + Duration::from_secs(4);
    let mut got = 0;
    while let Ok(Some(_)) = tokio::time::timeout_at(window, mails.recv()).await {
        got += 1;
    }
    assert_eq!(got, 1, "sent once, however often its record fails");
    let pending: i64 = app
        .db()
        .query_row(
            "SELECT count(*) FROM mail_outbox WHERE state = 'pending'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(pending, 1, "not recorded yet");

    app.db().execute_batch("DROP TRIGGER disk_full").unwrap();
    assert!(collect(&mut mails, Duration::from_secs(3)).await.is_empty());
    let (state, attempts): (String, i64) = app
        .db()
        .query_row(
            "SELECT state, (SELECT count(*) FROM mail_attempts) FROM mail_outbox",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((state.as_str(), attempts), ("sent", 1));
}

/// The sender of most tests' emails.
const FROM: &str = "Earshot <earshot@fernandfig.example>";

/// Ada's console, her collector sending from `from` through a sink that
/// gives `answers`, named in `--smtp-url` as `relay` makes its URL
/// (`smtp://127.0.0.1:<port>`) into; and what reaches the sink.
async fn console_with_relay(
    answers: Answers,
    relay: fn(String) -> String,
    from: &'static str,
) -> (TestApp, UnboundedReceiver<String>) {
    let (url, mails) = smtp_sink_answering(answers).await;
    let app = spawn_app_with(move |config| {
        config.smtp = Some(Smtp {
            url: Secret::new(relay(url)),
            from: from.into(),
        });
    })
    .await;
    add_staff(&app.running.store).await;
    (app, mails)
}

/// These stop lettre before the relay gives any status: the page said
/// "connection or protocol error" and pointed at the host and port.
#[tokio::test]
async fn a_test_email_says_when_the_relay_offers_no_encryption_or_no_sign_in() {
    tested_through(
        SINK,
        |url| format!("{url}?tls=required"),
        FROM,
        "starttls",
        "the relay does not offer STARTTLS",
        "does not offer encryption on this port",
    )
    .await;
    tested_through(
        SINK,
        |url| url.replacen("smtp://", "smtp://earshot:secret@", 1),
        FROM,
        "sign-in",
        "the relay offers no way to sign in that Earshot speaks",
        "Earshot signs in with PLAIN or LOGIN",
    )
    .await;
}

/// A relay that wants a sign-in answers 530 to a collector that gave it
/// none: the page told the operator to check a password they never set.
#[tokio::test]
async fn a_test_email_says_a_sign_in_is_missing_or_refused_as_the_settings_have_one() {
    let wants_sign_in = Answers {
        ehlo: "250-sink\r\n250 AUTH PLAIN LOGIN\r\n",
        mail: "530 5.7.0 Authentication required\r\n",
        ..SINK
    };
    tested_through(
        wants_sign_in,
        |url| url,
        FROM,
        "no-account",
        "SMTP status 530, sign-in required",
        "put its user name and password in --smtp-url",
    )
    .await;
    tested_through(
        wants_sign_in,
        |url| url.replacen("smtp://", "smtp://earshot:secret@", 1),
        FROM,
        "530",
        "SMTP status 530",
        "check the user name and password in --smtp-url",
    )
    .await;
}

/// A sender's international domain goes in Punycode, which every relay
/// takes; letters beyond ASCII before its `@` fail every email through a
/// relay without SMTPUTF8, which the settings must mend.
#[tokio::test]
async fn a_sender_beyond_ascii_goes_where_it_can_and_is_named_where_it_cannot() {
    let (app, mut mails) =
        console_with_relay(SINK, |url| url, "Rückmeldung <feedback@bücher.example>").await;
    let ada = signed_in(&app, "ada@example.com").await;
    let tested = ada.act("/console/notifications/test", &[]).await;
    let to = tested.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(to, "/console/notifications?tested=sent-0#email");
    let got = collect(&mut mails, Duration::from_secs(1)).await;
    let [mail] = got.as_slice() else {
        panic!("the test email: {got:?}");
    };
    assert!(
        header(mail, "From").ends_with("<feedback@xn--bcher-kva.example>"),
        "{mail}"
    );
    assert!(
        header(mail, "Message-ID").ends_with("@xn--bcher-kva.example>"),
        "{mail}"
    );

    tested_through(
        SINK,
        |url| url,
        "Earshot <rückmeldung@fernandfig.example>",
        "utf8-sender",
        "the sender has letters beyond ASCII before the @, and the relay does not offer SMTPUTF8",
        "Set --smtp-from to an address with plain letters before the @",
    )
    .await;
}

/// Asserts that a test email from `from` through a sink giving `answers`,
/// named as `relay` makes its URL, is refused as `outcome`, said as
/// `said` with `advice`, and that every administrator is told email is
/// failing: the relay or the settings are at fault.
async fn tested_through(
    answers: Answers,
    relay: fn(String) -> String,
    from: &'static str,
    outcome: &str,
    said: &str,
    advice: &str,
) {
    let (app, _) = console_with_relay(answers, relay, from).await;
    let ada = signed_in(&app, "ada@example.com").await;
    let tested = ada.act("/console/notifications/test", &[]).await;
    let to = tested.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(to, format!("/console/notifications?tested={outcome}#email"));
    let page = ada.html(to.trim_end_matches("#email")).await;
    assert!(
        page.contains(&format!("The test email did not go out: {said}.")) && page.contains(advice),
        "{page}"
    );
    let inbox = ada.html("/console").await;
    assert!(
        inbox.contains("Email is not getting through") && inbox.contains(said),
        "{inbox}"
    );
}

/// The relay's refusal of one address (letters beyond ASCII before the
/// `@`, and no SMTPUTF8) is said as such, and is no sign that email
/// fails for others.
#[tokio::test]
async fn a_test_email_to_an_address_the_relay_cannot_take_says_why_and_alarms_nobody() {
    let (app, _, mut mails) = app_with_mail(NOON, 0).await;
    let hash = password::hash(&Password::parse(PASSWORD).unwrap()).unwrap();
    let new = NewUser {
        email: "zoë@example.com".into(),
        name: "Zoë".into(),
        role: Role::Admin,
        password_hash: hash,
    };
    app.running.store.add_user(new, NOON).await.unwrap();
    let zoe = signed_in(&app, "zoë@example.com").await;
    let tested = zoe.act("/console/notifications/test", &[]).await;
    let to = tested.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(to, "/console/notifications?tested=utf8-address#email");
    let page = zoe.html(to.trim_end_matches("#email")).await;
    assert!(
        page.contains("The relay does not take your address: </strong>it has letters beyond ASCII before the @"),
        "{page}"
    );
    assert!(page.contains("No email has gone out yet."), "{page}");
    assert!(
        !zoe.html("/console")
            .await
            .contains("Email is not getting through")
    );
    assert!(collect(&mut mails, Duration::from_secs(1)).await.is_empty());
}

/// A relay that refuses the colleague's own address for good (`550
/// 5.1.1`: no such mailbox) is said to, with the address to check; the
/// page said the relay failed and pointed at its host and port.
#[tokio::test]
async fn a_test_email_to_an_address_the_relay_refuses_for_good_says_so_and_alarms_nobody() {
    let unknown_ada = Answers {
        unknown: "ada@",
        ..SINK
    };
    let (app, mut mails) = console_with_relay(unknown_ada, |url| url, FROM).await;
    let ada = signed_in(&app, "ada@example.com").await;
    let tested = ada.act("/console/notifications/test", &[]).await;
    let to = tested.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(to, "/console/notifications?tested=address-550-5.1.1#email");
    let page = ada.html(to.trim_end_matches("#email")).await;
    assert!(
        page.contains("The relay refused your address for good (SMTP status 550 5.1.1)")
            && page.contains("it is <strong>ada@example.com</strong>"),
        "{page}"
    );
    assert!(page.contains("No email has gone out yet."), "{page}");
    assert!(
        !ada.html("/console")
            .await
            .contains("Email is not getting through")
    );
    assert!(collect(&mut mails, Duration::from_secs(1)).await.is_empty());
}
