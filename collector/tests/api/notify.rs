//! Staff notifications by email through a real SMTP sink on loopback: a
//! burst folds into "and N more", the digest on an injected clock,
//! assignments, spam, retries with every attempt recorded.

use std::time::Duration;

use earshot_collector::clock::Clock;
use earshot_collector::config::{Secret, Smtp};
use earshot_collector::notify::Prefs;
use earshot_collector::store::Role;
use serde_json::json;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::helpers::{TestApp, smtp_sink, smtp_sink_refusing, spawn_app_with};
use crate::staff::{NOON, add_staff, add_staff_at, signed_in};

/// A collector with SMTP, Ada (admin) and Bo (agent), on a manual clock.
pub(crate) async fn app_with_mail(
    start: i64,
    refuse: usize,
) -> (TestApp, Clock, UnboundedReceiver<String>) {
    let (url, mails) = if refuse > 0 {
        smtp_sink_refusing(refuse).await
    } else {
        smtp_sink().await
    };
    let clock = Clock::manual(start);
    let c = clock.clone();
    let app = spawn_app_with(move |config| {
        config.clock = c;
        config.smtp = Some(Smtp {
            url: Secret::new(url),
            from: "Earshot <earshot@fernandfig.example>".into(),
        });
    })
    .await;
    add_staff_at(&app.running.store, start).await;
    (app, clock, mails)
}

/// Mails that arrive within `wait`, soft line breaks undone.
pub(crate) async fn collect(mails: &mut UnboundedReceiver<String>, wait: Duration) -> Vec<String> {
    let mut got = Vec::new();
    while let Ok(Some(mail)) = tokio::time::timeout(wait, mails.recv()).await {
        got.push(mail.replace("=\n", ""));
    }
    got
}

/// A header's value, with folded continuation lines joined.
pub(crate) fn header(mail: &str, name: &str) -> String {
    let mut lines = mail
        .lines()
        .skip_while(|l| !l.starts_with(&format!("{name}: ")));
    let Some(first) = lines.next() else {
        return String::new();
    };
    let mut value = first[name.len() + 2..].to_owned();
    for more in lines.take_while(|l| l.starts_with([' ', '\t'])) {
        value.push(' ');
        value.push_str(more.trim());
    }
    value
}

/// A header's value with RFC 2047 encoded words (`=?utf-8?b?…?=`, as
/// lettre writes non-ASCII) decoded.
pub(crate) fn decoded_header(mail: &str, name: &str) -> String {
    use base64::Engine;
    let mut out = String::new();
    let mut after_encoded = false;
    for word in header(mail, name).split(' ') {
        let encoded = word
            .strip_prefix("=?utf-8?b?")
            .and_then(|rest| rest.strip_suffix("?="));
        // Space between two encoded words is not part of the text.
        let joined = after_encoded && encoded.is_some();
        if !out.is_empty() && !joined {
            out.push(' ');
        }
        match encoded {
            Some(b64) => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .unwrap();
                out.push_str(&String::from_utf8(bytes).unwrap());
            }
            None => out.push_str(word),
        }
        after_encoded = encoded.is_some();
    }
    out
}

fn complaint(app: &TestApp, message: &str) -> serde_json::Value {
    json!({"site": app.site_key, "kind": "complaint", "message": message,
           "email": "ana@customer.example"})
}

pub(crate) async fn submit(app: &TestApp, body: serde_json::Value) -> String {
    let response = app.post_json(&body, None).await;
    assert_eq!(response.status().as_u16(), 201);
    let accepted: serde_json::Value = response.json().await.unwrap();
    accepted["id"].as_str().unwrap().to_owned()
}

/// How many entries an immediate email covers: one, plus "and N more".
fn covered(subject: String) -> usize {
    subject
        .split(" and ")
        .nth(1)
        .and_then(|rest| rest.strip_suffix(" more"))
        .map_or(1, |n| n.parse::<usize>().unwrap() + 1)
}

#[tokio::test]
async fn a_burst_of_100_entries_is_one_email_per_colleague_and_one_and_n_more() {
    let (app, clock, mut mails) = app_with_mail(NOON, 0).await;
    // Bo (an agent) opts in to complaints too.
    let bo = app
        .running
        .store
        .users()
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.name == "Bo")
        .unwrap();
    let mut prefs = Prefs::defaults(Role::Agent);
    prefs.apply("immediate=complaint", |_| None).unwrap();
    app.running
        .store
        .set_notify_prefs(bo.id, prefs)
        .await
        .unwrap();
    let bodies: Vec<serde_json::Value> = (0..100)
        .map(|i| complaint(&app, &format!("complaint {i}")))
        .collect();
    let sends = bodies.iter().map(|body| app.post_json(body, None));
    for response in futures::future::join_all(sends).await {
        assert_eq!(response.status().as_u16(), 201);
    }
    let first = collect(&mut mails, Duration::from_secs(3)).await;
    assert_eq!(first.len(), 2, "one email each at once");
    // Within the minute nothing more goes out; after it, one folded email.
    clock.advance(61_000);
    let second = collect(&mut mails, Duration::from_secs(3)).await;
    assert_eq!(
        second.len(),
        2,
        "{:?}",
        second
            .iter()
            .map(|m| header(m, "Subject"))
            .collect::<Vec<_>>()
    );
    for person in ["ada@example.com", "bo@example.com"] {
        let theirs: Vec<&String> = first
            .iter()
            .chain(&second)
            .filter(|m| header(m, "To") == person)
            .collect();
        assert_eq!(theirs.len(), 2, "{person}");
        let total: usize = theirs.iter().map(|m| covered(header(m, "Subject"))).sum();
        assert_eq!(total, 100, "{person}: every entry, once");
        assert!(header(theirs[1], "Subject").contains(" more"));
        for mail in theirs {
            let subject = header(mail, "Subject");
            assert!(
                !subject.contains("customer.example"),
                "no customer address in {subject}"
            );
            assert!(mail.contains("Content-Type: multipart/alternative"));
            assert!(mail.contains("text/html"));
        }
    }
    clock.advance(120_000);
    assert!(
        collect(&mut mails, Duration::from_millis(1_500))
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn spam_and_kinds_nobody_asked_for_send_no_email() {
    let (app, _, mut mails) = app_with_mail(NOON, 0).await;
    let mut bot = complaint(&app, "buy cheap pills");
    bot["hp"] = json!("x");
    submit(&app, bot).await;
    // Praise is never a problem, so never "blocking" (which admins hear
    // of at once), whatever a client sends.
    let praise = json!({"site": app.site_key, "kind": "praise", "message": "Lovely shop",
                        "severity": "blocking"});
    submit(&app, praise).await;
    submit(&app, complaint(&app, "The real one")).await;
    let got = collect(&mut mails, Duration::from_secs(2)).await;
    assert_eq!(got.len(), 1, "only Ada, only the real complaint");
    assert_eq!(header(&got[0], "To"), "ada@example.com");
    assert!(got[0].contains("The real one"));
    assert!(!got[0].contains("cheap pills"));
}

#[tokio::test]
async fn a_colleague_hears_when_someone_else_assigns_them_an_entry() {
    let (app, _, mut mails) = app_with_mail(NOON, 0).await;
    let praise = json!({"site": app.site_key, "kind": "praise", "message": "Lovely shop"});
    let id = submit(&app, praise).await;
    let users = app.running.store.users().await.unwrap();
    let bo = users
        .iter()
        .find(|u| u.name == "Bo")
        .unwrap()
        .id
        .to_string();
    let ada = users
        .iter()
        .find(|u| u.name == "Ada")
        .unwrap()
        .id
        .to_string();
    let console = signed_in(&app, "ada@example.com").await;
    let response = console
        .act(
            &format!("/console/entries/{id}/assign"),
            &[("assignee", bo.as_str())],
        )
        .await;
    assert_eq!(response.status().as_u16(), 303);
    // Ada taking it herself is no news to her.
    console
        .act(
            &format!("/console/entries/{id}/assign"),
            &[("assignee", ada.as_str())],
        )
        .await;
    let got = collect(&mut mails, Duration::from_secs(2)).await;
    assert_eq!(got.len(), 1);
    assert_eq!(header(&got[0], "To"), "bo@example.com");
    assert!(header(&got[0], "Subject").starts_with("[Earshot] Ada assigned ES-"));
    assert!(got[0].contains("Lovely shop"));
    // Sent by the collector on its own, threaded under its entry.
    assert_eq!(header(&got[0], "Auto-Submitted"), "auto-generated");
    let reference = header(&got[0], "Subject")
        .rsplit(' ')
        .nth(2)
        .unwrap_or_default()
        .to_owned();
    assert!(reference.starts_with("ES-"), "{reference}");
    assert!(header(&got[0], "References").starts_with(&format!("<entry.{reference}@")));
}

#[tokio::test]
async fn a_bulk_assignment_is_one_email_at_once_and_one_folded_not_one_per_entry() {
    let (app, clock, mut mails) = app_with_mail(NOON, 0).await;
    // Praise: nobody hears of it at once, so only assignments are emailed.
    let mut ids = Vec::new();
    for i in 0..30 {
        let praise =
            json!({"site": app.site_key, "kind": "praise", "message": format!("Praise {i}")});
        ids.push(submit(&app, praise).await);
    }
    let users = app.running.store.users().await.unwrap();
    let bo = users.iter().find(|u| u.name == "Bo").unwrap().id;
    let console = signed_in(&app, "ada@example.com").await;
    let token = console.csrf().await;
    let action = format!("assign:{bo}");
    let mut form = vec![
        ("_csrf", token.as_str()),
        ("action", action.as_str()),
        ("back", "view=all"),
    ];
    form.extend(ids.iter().map(|id| ("ids", id.as_str())));
    let response = console.post("/console/bulk", &form).await;
    assert_eq!(response.status().as_u16(), 303);
    let first = collect(&mut mails, Duration::from_secs(3)).await;
    let subjects = |got: &[String]| got.iter().map(|m| header(m, "Subject")).collect::<Vec<_>>();
    assert_eq!(first.len(), 1, "one at once: {:?}", subjects(&first));
    assert_eq!(header(&first[0], "To"), "bo@example.com");
    let subject = header(&first[0], "Subject");
    assert!(
        subject.starts_with("[Earshot] Ada assigned ES-") && subject.ends_with(" to you"),
        "{subject}"
    );
    assert!(!subject.contains("more"), "{subject}");
    // The rest wait out the minute and go as one.
    clock.advance(61_000);
    let second = collect(&mut mails, Duration::from_secs(3)).await;
    assert_eq!(second.len(), 1, "{:?}", subjects(&second));
    let subject = header(&second[0], "Subject");
    assert!(
        subject.starts_with("[Earshot] Ada assigned ES-")
            && subject.ends_with(" and 28 more to you"),
        "{subject}"
    );
    assert!(second[0].contains("And 28 more:"), "{}", second[0]);
    clock.advance(120_000);
    assert!(
        collect(&mut mails, Duration::from_millis(1_500))
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn the_daily_digest_lists_who_waits_promises_and_counts_on_the_clock() {
    const HOUR: i64 = 3_600_000;
    // 2026-11-20 10:00 UTC.
    let start = NOON - 2 * 24 * HOUR - 2 * HOUR;
    let (app, clock, mut mails) = app_with_mail(start, 0).await;
    let waiting = submit(&app, complaint(&app, "Still no refund")).await;
    let promised = submit(&app, complaint(&app, "Broken zip")).await;
    let console = signed_in(&app, "ada@example.com").await;
    console
        .act(
            &format!("/console/entries/{promised}/reply"),
            &[
                ("body", "On it"),
                ("promise_text", "A fix"),
                ("promise_due", "2026-11-20"),
            ],
        )
        .await;
    // 2026-11-22 07:00: a new one, promised for today.
    clock.advance(2 * 24 * HOUR - 3 * HOUR);
    let today = submit(&app, complaint(&app, "Wrong size")).await;
    let console = signed_in(&app, "ada@example.com").await;
    console
        .act(
            &format!("/console/entries/{today}/reply"),
            &[
                ("body", "Swapping it"),
                ("promise_text", "A new parcel"),
                ("promise_due", "2026-11-22"),
            ],
        )
        .await;
    collect(&mut mails, Duration::from_secs(2)).await;
    // 08:00, the default digest hour.
    clock.advance(HOUR + 30_000);
    let got = collect(&mut mails, Duration::from_secs(3)).await;
    let digests: Vec<&String> = got
        .iter()
        .filter(|m| header(m, "Subject").starts_with("[Earshot] Digest for 2026-11-22"))
        .collect();
    assert_eq!(digests.len(), 2, "Ada and Bo each get one");
    let digest = digests[0];
    assert_eq!(
        header(digest, "Subject"),
        "[Earshot] Digest for 2026-11-22: 1 waiting past target, 1 promise overdue"
    );
    assert!(digest.contains(&format!("/console/entries/{waiting}")));
    assert_eq!(header(digest, "Auto-Submitted"), "auto-generated");
    assert_eq!(header(digest, "References"), "", "about no one entry");
    assert!(digest.contains("Promises due today: 1"));
    assert!(digest.contains("\"A new parcel\""));
    assert!(digest.contains("Promises overdue: 1"));
    assert!(digest.contains("\"A fix\""));
    assert!(digest.contains("New in the last 24 hours: 1"));
    assert!(digest.contains("- Complaint: 1"));
    // Once a day.
    clock.advance(2 * HOUR);
    let later = collect(&mut mails, Duration::from_millis(1_500)).await;
    assert!(
        later
            .iter()
            .all(|m| !header(m, "Subject").contains("Digest for 2026-11-22"))
    );
}

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
