//! Receipts: a site can email each customer who leaves an address their
//! reference and status link, through a real SMTP sink on loopback, and
//! tell them when their feedback is closed unless a reply did. Off until
//! an admin turns it on; never for spam; never the customer's own words;
//! at most three receipts and three closing emails a day to one address.

use std::time::Duration;

use earshot_collector::store::CLOSED_GRACE_MS;
use serde_json::json;

use crate::helpers::{Answers, SINK, TestApp, audit_details, smtp_sink_answering};
use crate::notify::{app_with_mail, app_with_relay, collect, decoded_header, header};
use crate::staff::{Console, NOON, between, signed_in, submit};

/// Turns receipts on or off for the first site from its console page.
async fn set_receipts(app: &TestApp, on: bool) {
    let id = app.running.created_site.as_ref().unwrap().id;
    let console = signed_in(app, "ada@example.com").await;
    let mut form = vec![("first_response_hours", "24"), ("receipt_email_shown", "1")];
    if on {
        form.push(("receipt_email", "on"));
    }
    let response = console.act(&format!("/console/sites/{id}"), &form).await;
    assert_eq!(response.status().as_u16(), 303);
    let page = console.html(&format!("/console/sites/{id}")).await;
    let checkbox = page
        .split("name=\"receipt_email\"")
        .nth(1)
        .and_then(|rest| rest.split('>').next())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(checkbox.contains("checked"), on, "{checkbox}");
}

fn from_ana(app: &TestApp, message: &str, email: &str) -> serde_json::Value {
    json!({"site": app.site_key, "kind": "idea", "message": message, "email": email,
           "client": {"language": "fr-FR"}})
}

/// The mails among `got` addressed to `to`.
fn to<'a>(got: &'a [String], to: &str) -> Vec<&'a String> {
    got.iter().filter(|m| header(m, "To") == to).collect()
}

#[tokio::test]
async fn a_customer_who_leaves_an_address_is_emailed_a_receipt_with_their_status_link() {
    let (app, _, mut mails) = app_with_mail(NOON, 0).await;
    set_receipts(&app, true).await;
    let (action, detail) = audit_details(&app.db(), "site.changed")
        .pop()
        .expect("the change is in the audit log");
    assert_eq!(action, "site.changed");
    assert!(detail.unwrap_or_default().contains("receipt_email"));
    let (id, status_url) = submit(
        &app,
        from_ana(
            &app,
            "Une secret phrase <b>unique</b>",
            "ana@customer.example",
        ),
    )
    .await;
    let got = collect(&mut mails, Duration::from_secs(2)).await;
    let receipts = to(&got, "ana@customer.example");
    let [receipt] = receipts.as_slice() else {
        panic!("one receipt: {got:?}");
    };
    let reference = app
        .db()
        .query_row("SELECT reference FROM entries", [], |r| {
            r.get::<_, String>(0)
        })
        .unwrap();
    assert!(header(receipt, "Subject").contains(&reference), "{receipt}");
    // In the customer's language, with the page where the answer will be.
    assert!(receipt.contains("Suivez votre message"), "{receipt}");
    assert!(receipt.contains(&status_url), "{receipt}");
    assert!(
        !receipt.contains("secret phrase") && !receipt.contains("unique"),
        "never the customer's own words: {receipt}"
    );
    assert_eq!(header(receipt, "Auto-Submitted"), "auto-generated");
    assert!(header(receipt, "References").contains(&reference));
    // Staff see that it went, beside the customer's address.
    let console = signed_in(&app, "ada@example.com").await;
    let page = console.html(&format!("/console/entries/{id}")).await;
    assert!(
        page.contains("ana@customer.example</a> (receipt emailed)"),
        "{page}"
    );
}

#[tokio::test]
async fn no_receipt_goes_unless_the_site_sends_them_nor_for_spam_or_without_an_address() {
    let (app, _, mut mails) = app_with_mail(NOON, 0).await;
    submit(&app, from_ana(&app, "Before", "ana@customer.example")).await;
    let got = collect(&mut mails, Duration::from_secs(2)).await;
    assert!(to(&got, "ana@customer.example").is_empty(), "off: {got:?}");

    set_receipts(&app, true).await;
    let mut bot = from_ana(&app, "cheap pills", "victim@customer.example");
    bot["hp"] = json!("x");
    submit(&app, bot).await;
    let anonymous = json!({"site": app.site_key, "kind": "idea", "message": "No address"});
    submit(&app, anonymous).await;
    let got = collect(&mut mails, Duration::from_secs(2)).await;
    assert!(
        got.iter()
            .all(|m| header(m, "To").ends_with("@example.com")),
        "only staff hear: {got:?}"
    );

    set_receipts(&app, false).await;
    submit(&app, from_ana(&app, "After", "ana@customer.example")).await;
    let got = collect(&mut mails, Duration::from_secs(2)).await;
    assert!(
        to(&got, "ana@customer.example").is_empty(),
        "off again: {got:?}"
    );
}

#[tokio::test]
async fn one_address_is_sent_at_most_three_receipts_a_day() {
    let (app, _, mut mails) = app_with_mail(NOON, 0).await;
    set_receipts(&app, true).await;
    for (n, email) in [
        "ana@customer.example",
        "Ana@Customer.example",
        " ANA@customer.example",
        "ana@customer.example",
    ]
    .into_iter()
    .enumerate()
    {
        submit(&app, from_ana(&app, &format!("Idea {n}"), email)).await;
    }
    submit(&app, from_ana(&app, "Mine", "bo@customer.example")).await;
    let got = collect(&mut mails, Duration::from_secs(2)).await;
    let receipts = got
        .iter()
        .filter(|m| header(m, "To").eq_ignore_ascii_case("ana@customer.example"))
        .count();
    assert_eq!(receipts, 3, "{got:?}");
    assert_eq!(to(&got, "bo@customer.example").len(), 1, "another address");
    let cancelled: i64 = app
        .db()
        .query_row(
            "SELECT count(*) FROM mail_outbox WHERE kind = 'receipt' AND state = 'cancelled'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(cancelled, 1);
}

/// Firefox and Safari send an international domain as typed, Chromium in
/// Punycode. Lettre refuses to send to a Unicode domain through a relay
/// that offers no SMTPUTF8 (as this sink, and many relays), so such a
/// customer got no receipt, and the failure read as the relay's; and each
/// way of writing the domain had three receipts a day of its own.
#[tokio::test]
async fn a_customer_at_an_international_domain_is_sent_receipts_through_any_relay() {
    let (app, _, mut mails) = app_with_mail(NOON, 0).await;
    set_receipts(&app, true).await;
    for (n, email) in [
        "ana@bücher.example",
        "ana@xn--bcher-kva.example",
        "Ana@BÜCHER.example",
        "ana@bücher.example",
    ]
    .into_iter()
    .enumerate()
    {
        submit(&app, from_ana(&app, &format!("Idea {n}"), email)).await;
    }
    let got = collect(&mut mails, Duration::from_secs(2)).await;
    let mut receipts: Vec<String> = got.iter().map(|m| header(m, "To")).collect();
    receipts.sort();
    assert_eq!(
        receipts,
        [
            "Ana@xn--bcher-kva.example",
            "ana@xn--bcher-kva.example",
            "ana@xn--bcher-kva.example"
        ],
        "three receipts, to one address: {got:?}"
    );
    let (cancelled, failed): (i64, i64) = app
        .db()
        .query_row(
            "SELECT count(*) FILTER (WHERE state = 'cancelled'),
                    (SELECT count(*) FROM mail_attempts WHERE ok = 0)
             FROM mail_outbox WHERE kind = 'receipt'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        (cancelled, failed),
        (1, 0),
        "one address, no failed attempt"
    );
}

/// Letters beyond ASCII before the `@` have no ASCII form: only a relay
/// that offers SMTPUTF8 takes them. Through one that does not, the receipt
/// was tried five times over nine hours, and each failure told every
/// administrator that email was not getting through, with advice about
/// the relay's host and port.
#[tokio::test]
async fn a_receipt_the_relay_cannot_take_for_its_address_is_given_up_at_once_and_alarms_nobody() {
    let relay = smtp_sink_answering(SINK).await;
    a_receipt_is_given_up_at_once_and_alarms_nobody(
        relay,
        "änna@customer.example",
        "does not offer SMTPUTF8",
    )
    .await;
}

/// A relay that refuses an address for good says so with its enhanced
/// status code (`550 5.1.1`: no such mailbox). The receipt to it was
/// tried five times over nine hours as if the relay were failing.
#[tokio::test]
async fn a_receipt_to_an_address_the_relay_refuses_for_good_is_given_up_at_once_and_alarms_nobody()
{
    let relay = smtp_sink_answering(Answers {
        unknown: "nobody@",
        ..SINK
    })
    .await;
    a_receipt_is_given_up_at_once_and_alarms_nobody(
        relay,
        "nobody@customer.example",
        "SMTP status 550 5.1.1",
    )
    .await;
}

/// Receipts go to `address` and to Bo through `relay`: Bo's arrives; the
/// one to `address` is tried once, recorded as refused with `said` (and
/// not the address), never tried again, and shown as such on its entry,
/// while email still reads as getting through.
async fn a_receipt_is_given_up_at_once_and_alarms_nobody(
    relay: (String, tokio::sync::mpsc::UnboundedReceiver<String>),
    address: &str,
    said: &str,
) {
    let (app, clock, mut mails) = app_with_relay(NOON, relay).await;
    set_receipts(&app, true).await;
    let (id, _) = submit(&app, from_ana(&app, "Idea", address)).await;
    submit(&app, from_ana(&app, "Idea", "bo@customer.example")).await;
    let got = collect(&mut mails, Duration::from_secs(2)).await;
    assert_eq!(to(&got, "bo@customer.example").len(), 1, "{got:?}");
    assert!(to(&got, address).is_empty(), "{got:?}");
    clock.advance(10 * 60 * 60_000);
    assert!(collect(&mut mails, Duration::from_secs(2)).await.is_empty());
    let attempts: Vec<(String, i64, i64, String)> = {
        let db = app.db();
        let mut stmt = db
            .prepare(
                "SELECT m.state, m.attempts, a.address_refused, a.error
                 FROM mail_attempts a JOIN mail_outbox m ON m.id = a.outbox_id
                 JOIN entries e ON e.id = m.entry_id
                 WHERE e.email = ?1",
            )
            .unwrap();
        stmt.query_map([address], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
    };
    let [(state, tries, address_refused, error)] = attempts.as_slice() else {
        panic!("one attempt: {attempts:?}");
    };
    assert_eq!((state.as_str(), *tries, *address_refused), ("failed", 1, 1));
    assert!(error.contains(said), "{error}");
    let local = address.split('@').next().unwrap();
    assert!(!error.contains(local), "no address in the record: {error}");

    let console = signed_in(&app, "ada@example.com").await;
    let inbox = console.html("/console").await;
    assert!(!inbox.contains("Email is not getting through"), "{inbox}");
    let notifications = console.html("/console/notifications").await;
    assert!(
        notifications.contains("Email is getting through"),
        "{notifications}"
    );
    let page = console.html(&format!("/console/entries/{id}")).await;
    assert!(
        page.contains(
            "(the receipt could not be emailed: the collector's relay cannot take this address"
        ),
        "{page}"
    );
}

#[tokio::test]
async fn a_relay_that_offers_smtputf8_takes_letters_beyond_ascii_before_the_at() {
    let relay = smtp_sink_answering(Answers {
        ehlo: "250-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n",
        ..SINK
    })
    .await;
    let (app, _, mut mails) = app_with_relay(NOON, relay).await;
    set_receipts(&app, true).await;
    let (id, _) = submit(&app, from_ana(&app, "Idea", "änna@bücher.example")).await;
    let got = collect(&mut mails, Duration::from_secs(2)).await;
    let [receipt] = got.as_slice() else {
        panic!("one receipt: {got:?}");
    };
    assert_eq!(
        decoded_header(receipt, "To"),
        "änna@xn--bcher-kva.example",
        "{receipt}"
    );
    let console = signed_in(&app, "ada@example.com").await;
    let page = console.html(&format!("/console/entries/{id}")).await;
    assert!(page.contains("(receipt emailed)"), "{page}");
}

/// Moves an entry to `status` from Ada's console.
async fn set_status(console: &Console, id: &str, status: &str) {
    let response = console
        .act(
            &format!("/console/entries/{id}/status"),
            &[("status", status)],
        )
        .await;
    assert_eq!(response.status().as_u16(), 303, "{status}");
}

#[tokio::test]
async fn a_customer_is_told_in_their_language_when_their_feedback_is_resolved_or_closed() {
    let (app, clock, mut mails) = app_with_mail(NOON, 0).await;
    set_receipts(&app, true).await;
    let (id, status_url) = submit(
        &app,
        from_ana(&app, "Une secret phrase", "ana@customer.example"),
    )
    .await;
    collect(&mut mails, Duration::from_secs(2)).await;
    let console = signed_in(&app, "ada@example.com").await;
    // Staff are told before they close it.
    let hint =
        "Resolved or Won't fix emails the customer 5 minutes later, unless a reply tells them.";
    let page = console.html(&format!("/console/entries/{id}")).await;
    assert!(page.contains(hint), "{page}");
    let inbox = console.html("/console").await;
    assert!(
        inbox.contains("Resolved or Won't fix emails each customer who left an address"),
        "the bulk actions say so too: {inbox}"
    );
    set_status(&console, &id, "resolved").await;
    // It waits out its grace, in case the close was a slip.
    let got = collect(&mut mails, Duration::from_secs(2)).await;
    assert!(to(&got, "ana@customer.example").is_empty(), "{got:?}");
    let page = console.html(&format!("/console/entries/{id}")).await;
    assert!(
        page.contains("to Resolved (the customer will be emailed in a few minutes"),
        "{page}"
    );
    clock.advance(CLOSED_GRACE_MS);
    let got = collect(&mut mails, Duration::from_secs(3)).await;
    let [resolved] = to(&got, "ana@customer.example")[..] else {
        panic!("one email: {got:?}");
    };
    let reference = app
        .db()
        .query_row("SELECT reference FROM entries", [], |r| {
            r.get::<_, String>(0)
        })
        .unwrap();
    assert_eq!(
        decoded_header(resolved, "Subject"),
        format!("Votre message à Default (local development) est résolu ({reference})")
    );
    assert!(resolved.contains(&status_url), "{resolved}");
    assert!(
        resolved.contains("Dites-le sur cette page et votre demande sera rouverte"),
        "{resolved}"
    );
    assert!(!resolved.contains("secret phrase"), "{resolved}");
    assert_eq!(header(resolved, "Auto-Submitted"), "auto-generated");
    assert!(header(resolved, "References").contains(&reference));
    let page = console.html(&format!("/console/entries/{id}")).await;
    assert!(
        page.contains("to Resolved (the customer was emailed)"),
        "{page}"
    );

    // Reopened and closed without a change: told again, as the page says.
    set_status(&console, &id, "in_progress").await;
    set_status(&console, &id, "wont_fix").await;
    clock.advance(CLOSED_GRACE_MS);
    let got = collect(&mut mails, Duration::from_secs(3)).await;
    let [closed] = to(&got, "ana@customer.example")[..] else {
        panic!("one email: {got:?}");
    };
    assert!(
        decoded_header(closed, "Subject").ends_with(&format!("est clos ({reference})")),
        "{closed}"
    );
}

#[tokio::test]
async fn no_closing_email_goes_when_a_reply_told_the_customer_or_the_close_was_undone() {
    let (app, clock, mut mails) = app_with_mail(NOON, 0).await;
    set_receipts(&app, true).await;
    let mut ids = Vec::new();
    for who in ["answered", "undone", "later", "off"] {
        let email = format!("{who}@customer.example");
        ids.push(submit(&app, from_ana(&app, "Une idée", &email)).await.0);
    }
    collect(&mut mails, Duration::from_secs(2)).await;
    let console = signed_in(&app, "ada@example.com").await;
    let reply = |id: &str| {
        let path = format!("/console/entries/{id}/reply");
        let console = &console;
        async move {
            let response = console.act(&path, &[("body", "C'est réparé.")]).await;
            assert_eq!(response.status().as_u16(), 303);
        }
    };
    // Answered, then resolved: the reply was the message.
    reply(&ids[0]).await;
    set_status(&console, &ids[0], "resolved").await;
    // Resolved by mistake and reopened within the grace.
    set_status(&console, &ids[1], "resolved").await;
    set_status(&console, &ids[1], "in_progress").await;
    // Resolved, then answered within the grace.
    set_status(&console, &ids[2], "wont_fix").await;
    reply(&ids[2]).await;
    // Closed on a site that no longer writes to customers (nor says so).
    set_receipts(&app, false).await;
    let page = console.html(&format!("/console/entries/{}", ids[3])).await;
    assert!(
        !page.contains("emails the customer 5 minutes later"),
        "{page}"
    );
    let inbox = console.html("/console").await;
    assert!(!inbox.contains("Won't fix emails each customer"), "{inbox}");
    set_status(&console, &ids[3], "resolved").await;
    let replies = collect(&mut mails, Duration::from_secs(3)).await;
    clock.advance(CLOSED_GRACE_MS);
    let got = collect(&mut mails, Duration::from_secs(3)).await;
    for who in ["answered", "undone", "later", "off"] {
        let address = format!("{who}@customer.example");
        assert!(to(&got, &address).is_empty(), "{who}: {got:?}");
        let answered = matches!(who, "answered" | "later");
        assert_eq!(to(&replies, &address).len(), usize::from(answered), "{who}");
    }
    let page = console.html(&format!("/console/entries/{}", ids[1])).await;
    assert!(!page.contains("(the customer"), "{page}");
    let closing: Vec<(String, String)> = app
        .db()
        .prepare("SELECT m.state, e.email FROM mail_outbox m JOIN entries e ON e.id = m.entry_id WHERE m.kind = 'closed' ORDER BY m.id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let cancelled = |who: &str| ("cancelled".to_owned(), format!("{who}@customer.example"));
    assert_eq!(
        closing,
        [
            cancelled("answered"),
            cancelled("undone"),
            cancelled("later")
        ],
        "queued while the site wrote to customers, and none sent"
    );
}

#[tokio::test]
async fn one_address_is_told_of_at_most_three_closes_a_day() {
    let (app, clock, mut mails) = app_with_mail(NOON, 0).await;
    set_receipts(&app, true).await;
    let mut ids = Vec::new();
    for n in 0..4 {
        let body = from_ana(&app, &format!("Idée {n}"), "ana@customer.example");
        ids.push(submit(&app, body).await.0);
    }
    collect(&mut mails, Duration::from_secs(2)).await;
    let console = signed_in(&app, "ada@example.com").await;
    for id in &ids {
        set_status(&console, id, "resolved").await;
    }
    collect(&mut mails, Duration::from_secs(2)).await;
    clock.advance(CLOSED_GRACE_MS);
    let got = collect(&mut mails, Duration::from_secs(3)).await;
    let closings = to(&got, "ana@customer.example");
    assert_eq!(closings.len(), 3, "{got:?}");
    assert!(
        closings
            .iter()
            .all(|m| decoded_header(m, "Subject").contains("est résolu"))
    );
    let cancelled: i64 = app
        .db()
        .query_row(
            "SELECT count(*) FROM mail_outbox WHERE kind = 'closed' AND state = 'cancelled'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(cancelled, 1, "the fourth is not sent");
}

#[tokio::test]
async fn a_customer_is_told_a_promise_was_kept_unless_the_entry_was_closed() {
    let (app, clock, mut mails) = app_with_mail(NOON, 0).await;
    set_receipts(&app, true).await;
    let mut ids = Vec::new();
    for who in ["kept", "closed"] {
        let email = format!("{who}@customer.example");
        ids.push(submit(&app, from_ana(&app, "Colis abîmé", &email)).await.0);
    }
    collect(&mut mails, Duration::from_secs(2)).await;
    let console = signed_in(&app, "ada@example.com").await;
    let due = crate::helpers::due_in_six_weeks();
    for id in &ids {
        let promise = [
            ("body", "Nous vous remboursons."),
            ("promise_text", "Remboursement du colis"),
            ("promise_due", due.as_str()),
        ];
        let response = console
            .act(&format!("/console/entries/{id}/reply"), &promise)
            .await;
        assert_eq!(response.status().as_u16(), 303);
    }
    collect(&mut mails, Duration::from_secs(2)).await;
    // Kept an hour later, with no word to the customer; the second entry
    // is closed too.
    clock.advance(3_600_000);
    for id in &ids {
        let entry = console.html(&format!("/console/entries/{id}")).await;
        let promise = between(&entry, "/promises/", "\"").to_owned();
        let response = console
            .act(
                &format!("/console/entries/{id}/promises/{promise}"),
                &[("outcome", "kept")],
            )
            .await;
        assert_eq!(response.status().as_u16(), 303);
    }
    set_status(&console, &ids[1], "resolved").await;
    let got = collect(&mut mails, Duration::from_secs(2)).await;
    assert!(to(&got, "kept@customer.example").is_empty(), "{got:?}");
    clock.advance(CLOSED_GRACE_MS);
    let got = collect(&mut mails, Duration::from_secs(3)).await;
    let [kept] = to(&got, "kept@customer.example")[..] else {
        panic!("one email: {got:?}");
    };
    assert!(
        decoded_header(kept, "Subject").contains("a tenu son engagement"),
        "{kept}"
    );
    assert!(
        kept.contains("Nous avons fait ce que nous vous avions promis :\nRemboursement du colis"),
        "{kept}"
    );
    let page = console.html(&format!("/console/entries/{}", ids[0])).await;
    assert!(page.contains("; kept (the customer was emailed)"), "{page}");
    let page = console.html(&format!("/console/entries/{}", ids[1])).await;
    assert!(
        !page.contains("; kept"),
        "its closing email told them: {page}"
    );
    // The closing email tells the other customer, once.
    let [closed] = to(&got, "closed@customer.example")[..] else {
        panic!("one email: {got:?}");
    };
    assert!(
        decoded_header(closed, "Subject").contains("est résolu"),
        "{closed}"
    );
}
