//! Staff notifications by email through a real SMTP sink on loopback: a
//! burst folds into "and N more", the digest on an injected clock,
//! assignments, spam. Delivery itself (retries, failures shown) is in
//! `mail_delivery`.

use std::time::Duration;

use earshot_collector::clock::Clock;
use earshot_collector::config::{Secret, Smtp};
use earshot_collector::notify::Prefs;
use earshot_collector::store::Role;
use serde_json::json;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::helpers::{TestApp, smtp_sink, smtp_sink_refusing, spawn_app_with};
use crate::staff::{NOON, add_staff_at, signed_in};

/// A collector with SMTP, Ada (admin) and Bo (agent), on a manual clock.
pub(crate) async fn app_with_mail(
    start: i64,
    refuse: usize,
) -> (TestApp, Clock, UnboundedReceiver<String>) {
    let relay = if refuse > 0 {
        smtp_sink_refusing(refuse).await
    } else {
        smtp_sink().await
    };
    app_with_relay(start, relay).await
}

/// A collector sending through `relay` (its URL, and what reaches it),
/// with Ada (admin) and Bo (agent), on a manual clock.
pub(crate) async fn app_with_relay(
    start: i64,
    (url, mails): (String, UnboundedReceiver<String>),
) -> (TestApp, Clock, UnboundedReceiver<String>) {
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

pub(crate) fn complaint(app: &TestApp, message: &str) -> serde_json::Value {
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
