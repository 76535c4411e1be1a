//! Promises turning due or overdue are emailed to whoever holds the entry
//! (or, held by nobody, to whoever made the promise), once each, and not
//! once they are kept or broken.

use std::time::Duration;

use earshot_collector::review::workflow::{DAY, HOUR};
use tokio::sync::mpsc::UnboundedReceiver;

use crate::notify::{app_with_mail, collect, header};
use crate::staff::{NOON, between, complaint, signed_in};

/// Emails about promises among those that arrive now.
async fn reminders(mails: &mut UnboundedReceiver<String>) -> Vec<(String, String, String)> {
    collect(mails, Duration::from_secs(2))
        .await
        .into_iter()
        .filter(|m| header(m, "Subject").contains("promise on"))
        .map(|m| (header(&m, "To"), header(&m, "Subject"), m))
        .collect()
}

#[tokio::test]
async fn the_colleague_holding_an_entry_is_reminded_of_its_promise_before_and_after_the_day() {
    // 2026-11-22 12:00 UTC.
    let (app, clock, mut mails) = app_with_mail(NOON, 0).await;
    let console = signed_in(&app, "ada@example.com").await;
    let held = crate::notify::submit(&app, complaint(&app, "The zip broke")).await;
    let bo = app
        .running
        .store
        .user_by_email("bo@example.com".into())
        .await
        .unwrap()
        .unwrap();
    console
        .act(
            &format!("/console/entries/{held}/assign"),
            &[("assignee", bo.id.to_string().as_str())],
        )
        .await;
    console
        .act(
            &format!("/console/entries/{held}/reply"),
            &[
                ("body", "We are on it"),
                ("promise_text", "A new zip by Wednesday"),
                ("promise_due", "2026-11-25"),
            ],
        )
        .await;
    // Unassigned, promised and kept before it was due: nobody is nudged.
    let kept = crate::notify::submit(&app, complaint(&app, "The hem came loose")).await;
    console
        .act(
            &format!("/console/entries/{kept}/reply"),
            &[
                ("body", "Sending a new one"),
                ("promise_text", "A new shirt"),
                ("promise_due", "2026-11-25"),
            ],
        )
        .await;
    let entry = console.html(&format!("/console/entries/{kept}")).await;
    let settle = between(&entry, "/promises/", "\"").to_owned();
    console
        .act(
            &format!("/console/entries/{kept}/promises/{settle}"),
            &[("outcome", "kept")],
        )
        .await;
    // Unassigned, promised for today: its maker knows, until it is late.
    let today = crate::notify::submit(&app, complaint(&app, "Wrong size")).await;
    console
        .act(
            &format!("/console/entries/{today}/reply"),
            &[
                ("body", "Swapping it"),
                ("promise_text", "A swap sent today"),
                ("promise_due", "2026-11-22"),
            ],
        )
        .await;
    // Promised for tomorrow: no reminder it is due, one when it is late.
    let tomorrow = crate::notify::submit(&app, complaint(&app, "No tracking link")).await;
    console
        .act(
            &format!("/console/entries/{tomorrow}/reply"),
            &[
                ("body", "Looking into it"),
                ("promise_text", "A tracking link"),
                ("promise_due", "2026-11-23"),
            ],
        )
        .await;
    assert!(reminders(&mut mails).await.is_empty());

    // 2026-11-23 00:01: the one for today is overdue; its maker hears.
    clock.advance(12 * HOUR + 60_000);
    let got = reminders(&mut mails).await;
    let [(to, subject, mail)] = got.as_slice() else {
        panic!("one reminder: {got:?}");
    };
    assert_eq!(to, "ada@example.com");
    assert!(
        subject.starts_with("[Earshot] Your promise on ES-"),
        "{subject}"
    );
    assert!(subject.ends_with(" is overdue"), "{subject}");
    assert!(mail.contains("> A swap sent today"), "{mail}");
    assert!(
        mail.contains("It was due 2026-11-22 (UTC), 1 min ago."),
        "{mail}"
    );

    // 2026-11-24 00:01: tomorrow's is overdue.
    clock.advance(DAY);
    let got = reminders(&mut mails).await;
    let [(to, subject, mail)] = got.as_slice() else {
        panic!("one reminder: {got:?}");
    };
    assert_eq!(to, "ada@example.com");
    assert!(subject.ends_with(" is overdue"), "{subject}");
    assert!(mail.contains("> A tracking link"), "{mail}");

    // 2026-11-25 00:01: Bo's is due today. Bo has renamed himself Ada:
    // the email says which Ada made the promise.
    app.running
        .store
        .rename_user(bo.id, "Ada".into(), Some(bo.id), NOON)
        .await
        .unwrap();
    clock.advance(DAY);
    let got = reminders(&mut mails).await;
    let [(to, subject, mail)] = got.as_slice() else {
        panic!("one reminder: {got:?}");
    };
    assert_eq!(to, "bo@example.com");
    assert!(
        subject.starts_with("[Earshot] A promise on ES-"),
        "{subject}"
    );
    assert!(subject.ends_with(" is due"), "{subject}");
    assert!(
        mail.contains("Ada (ada@example.com) promised the customer of Complaint ES-"),
        "{mail}"
    );
    assert!(
        mail.contains("It is due 2026-11-25 (UTC), in 23 h 58 min."),
        "{mail}"
    );
    assert!(mail.contains(&format!("/console/entries/{held}")));

    // 2026-11-26 00:01: overdue, once.
    clock.advance(DAY);
    let got = reminders(&mut mails).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, "bo@example.com");
    assert!(got[0].1.ends_with(" is overdue"));
    clock.advance(DAY);
    assert!(reminders(&mut mails).await.is_empty());
}
