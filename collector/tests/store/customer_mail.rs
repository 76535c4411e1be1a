//! Emails to customers: a receipt, a closing email and a kept promise's
//! email go only where the site writes to customers, only while nothing
//! else told the customer, and are counted by address.

use earshot_collector::review::workflow::{DAY, HOUR};
use earshot_collector::store::{MailKind, MailResult, NewMail, Receipt, Role, SiteChange, Store};

use crate::ingest::{T0, entry, first_site};
use crate::notify::{colleague, nothing_for};
use crate::story;

/// The change that makes a site write to customers on its own, or stop.
fn receipts(on: bool) -> SiteChange {
    SiteChange {
        receipt_email: Some(on),
        ..SiteChange::default()
    }
}

async fn a_receipt_goes_only_where_its_site_sends_them_and_counts_its_address(db: &Store) {
    use earshot_collector::abuse::SpamReason;
    let shop = first_site(db).await;
    let with_email = |at, email: &str| {
        entry(
            &shop,
            at,
            serde_json::json!({"message": "The code failed", "email": email}),
        )
    };
    let first = db
        .insert_entry(with_email(T0 + 1, "Ana@Customer.example"))
        .await
        .unwrap();
    // Off as every site starts: no receipt, and none planned.
    let pending = db.pending_dispatch(100).await.unwrap();
    assert!(pending.receipt_sites.is_empty());
    let first_id = pending.entries[0].id;
    assert!(db.receipt_parts(first_id, T0).await.unwrap().is_none());
    assert!(
        db.complete_dispatch(nothing_for(&pending, T0 + 2))
            .await
            .unwrap()
    );

    assert!(
        db.update_site(shop.id, receipts(true), None, T0 + 3)
            .await
            .unwrap()
    );
    let again = db
        .insert_entry(with_email(T0 + 4, " ana@customer.EXAMPLE "))
        .await
        .unwrap();
    db.insert_entry(entry(&shop, T0 + 5, serde_json::json!({"message": "x"})))
        .await
        .unwrap();
    let mut spam = with_email(T0 + 6, "ana@customer.example");
    spam.spam = Some(SpamReason::Honeypot);
    db.insert_entry(spam).await.unwrap();
    let pending = db.pending_dispatch(100).await.unwrap();
    assert_eq!(pending.receipt_sites, [shop.id]);
    let ids: Vec<i64> = pending.entries.iter().map(|f| f.id).collect();
    assert_eq!(ids.len(), 2, "spam is never announced");
    let (again_id, no_email_id) = (ids[0], ids[1]);
    assert!(db.receipt_parts(no_email_id, T0).await.unwrap().is_none());
    let parts = db.receipt_parts(again_id, T0).await.unwrap().unwrap();
    assert_eq!(parts.customer.to, " ana@customer.EXAMPLE ".trim());
    assert_eq!(
        (
            parts.customer.reference.as_str(),
            parts.customer.public_id.as_str()
        ),
        (again.reference.as_str(), again.public_id.as_str())
    );
    assert_eq!(parts.customer.status_token, again.status_token);
    assert_eq!(
        (parts.customer.site_name.as_str(), parts.sent_lately),
        ("Shop", 0)
    );
    // The first entry's receipt, sent (its site sends them now): the same
    // address in another case counts it, from when it went out.
    let receipt = |entry_id| NewMail {
        kind: MailKind::Receipt,
        user_id: None,
        entry_id: Some(entry_id),
        event_id: None,
        actor_id: None,
    };
    let mut done = nothing_for(&pending, T0 + 7);
    done.mails = vec![receipt(first_id)];
    assert!(db.complete_dispatch(done).await.unwrap());
    let receipt_of = |public_id: &str| {
        let public_id = public_id.to_owned();
        async move { db.entry_detail(public_id).await.unwrap().unwrap().receipt }
    };
    assert_eq!(receipt_of(&first.public_id).await, Some(Receipt::Waiting));
    assert_eq!(receipt_of(&again.public_id).await, None, "none queued");
    let jobs = db.due_mail(T0 + 7, 10).await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(
        (jobs[0].kind, jobs[0].entry_id, jobs[0].user.is_none()),
        (MailKind::Receipt, Some(first_id), true)
    );
    db.record_mail(jobs[0].id, MailResult::Sent { folded_upto: None }, T0 + 8)
        .await
        .unwrap();
    let counted = |since| async move {
        db.receipt_parts(again_id, since)
            .await
            .unwrap()
            .unwrap()
            .sent_lately
    };
    assert_eq!(receipt_of(&first.public_id).await, Some(Receipt::Sent));
    assert_eq!(counted(T0 + 8).await, 1);
    assert_eq!(counted(T0 + 9).await, 0);
    // Turned off: what still waits is not sent.
    db.update_site(shop.id, receipts(false), None, T0 + 10)
        .await
        .unwrap();
    assert!(db.receipt_parts(again_id, T0).await.unwrap().is_none());
    assert!(
        !db.site_detail(shop.id)
            .await
            .unwrap()
            .unwrap()
            .receipt_email
    );
}
story!(a_receipt_goes_only_where_its_site_sends_them_and_counts_its_address);

async fn a_closing_email_is_written_only_while_the_close_stands_and_no_reply_told_it(db: &Store) {
    use earshot_collector::review::workflow::{MINUTE, Status};
    use earshot_collector::store::{NewReply, NoticeKind};
    let shop = first_site(db).await;
    let ada = colleague(db, "Ada", Role::Admin).await;
    db.update_site(shop.id, receipts(true), None, T0)
        .await
        .unwrap();
    let with_email = |at, email: &str| {
        entry(
            &shop,
            at,
            serde_json::json!({"message": "The code failed", "email": email}),
        )
    };
    let told = db
        .insert_entry(with_email(T0 + 1, "ana@customer.example"))
        .await
        .unwrap();
    let answered = db
        .insert_entry(with_email(T0 + 2, "bo@customer.example"))
        .await
        .unwrap();
    let undone = db
        .insert_entry(with_email(T0 + 3, "cy@customer.example"))
        .await
        .unwrap();
    let anonymous = db
        .insert_entry(entry(&shop, T0 + 4, serde_json::json!({"message": "x"})))
        .await
        .unwrap();
    let at = T0 + HOUR;
    let reply = |words: &str| NewReply {
        body: words.to_owned(),
        promise: None,
    };
    db.set_status(told.public_id.clone(), Status::Resolved, ada.id, at)
        .await
        .unwrap();
    db.reply(
        answered.public_id.clone(),
        reply("Fixed, sorry"),
        ada.id,
        at,
    )
    .await
    .unwrap();
    db.set_status(
        answered.public_id.clone(),
        Status::WontFix,
        ada.id,
        at + 9 * MINUTE,
    )
    .await
    .unwrap();
    for closed in [&undone, &anonymous] {
        db.set_status(closed.public_id.clone(), Status::WontFix, ada.id, at)
            .await
            .unwrap();
    }
    // Each close's notice names its timeline event, which the email is
    // written from.
    let pending = db.pending_dispatch(100).await.unwrap();
    let close_of = |public_id: &str| {
        pending
            .notices
            .iter()
            .find(|n| {
                n.kind == NoticeKind::Status
                    && n.entry.public_id == public_id
                    && matches!(n.new_value.as_deref(), Some("resolved" | "wont_fix"))
            })
            .and_then(|n| Some((n.entry_id, n.subject?)))
            .expect("the close's notice names its event")
    };
    let (told_id, told_close) = close_of(&told.public_id);
    let parts = db.closed_parts(told_close, T0).await.unwrap().unwrap();
    assert_eq!(
        (
            parts.customer.to.as_str(),
            parts.customer.site_name.as_str(),
            parts.resolved
        ),
        ("ana@customer.example", "Shop", true)
    );
    assert_eq!(
        (
            parts.customer.reference,
            parts.customer.public_id,
            parts.customer.status_token
        ),
        (told.reference, told.public_id.clone(), told.status_token)
    );
    assert!(
        db.closed_parts(close_of(&answered.public_id).1, T0)
            .await
            .unwrap()
            .is_none(),
        "a reply nine minutes before told the customer"
    );
    assert!(
        db.closed_parts(close_of(&anonymous.public_id).1, T0)
            .await
            .unwrap()
            .is_none(),
        "no address, no email"
    );
    let undone_close = close_of(&undone.public_id).1;
    let wont_fix = db.closed_parts(undone_close, T0).await.unwrap().unwrap();
    assert!(!wont_fix.resolved);
    db.set_status(undone.public_id.clone(), Status::InProgress, ada.id, at + 1)
        .await
        .unwrap();
    assert!(
        db.closed_parts(undone_close, T0).await.unwrap().is_none(),
        "reopened before the email went"
    );
    // A site that stops writing to customers stops this email too.
    db.update_site(shop.id, receipts(false), None, at + 2)
        .await
        .unwrap();
    assert!(db.closed_parts(told_close, T0).await.unwrap().is_none());
    db.update_site(shop.id, receipts(true), None, at + 3)
        .await
        .unwrap();
    assert!(db.closed_parts(told_close, T0).await.unwrap().is_some());
    // A reply written after the close tells the customer instead.
    db.reply(told.public_id, reply("All sorted"), ada.id, at + 4 * MINUTE)
        .await
        .unwrap();
    assert!(db.closed_parts(told_close, T0).await.unwrap().is_none());
    // The email waits out its grace from the close, however late the
    // dispatcher came to it.
    let mail = NewMail {
        kind: MailKind::Closed,
        user_id: None,
        entry_id: Some(told_id),
        event_id: Some(told_close),
        actor_id: Some(ada.id),
    };
    let mut done = nothing_for(&pending, at + 3 * MINUTE);
    done.mails = vec![mail];
    assert!(db.complete_dispatch(done).await.unwrap());
    let grace = earshot_collector::store::CLOSED_GRACE_MS;
    assert!(db.due_mail(at + grace - 1, 10).await.unwrap().is_empty());
    let due = db.due_mail(at + grace, 10).await.unwrap();
    assert_eq!(
        due.iter().map(|j| (j.kind, j.event_id)).collect::<Vec<_>>(),
        [(MailKind::Closed, Some(told_close))]
    );
    // Sent, it counts against its address (trimmed, any case) for a day.
    let sent_at = at + grace;
    db.record_mail(due[0].id, MailResult::Sent { folded_upto: None }, sent_at)
        .await
        .unwrap();
    let again = db
        .insert_entry(with_email(sent_at, " ANA@Customer.example "))
        .await
        .unwrap();
    db.set_status(again.public_id.clone(), Status::Resolved, ada.id, sent_at)
        .await
        .unwrap();
    let later = db.pending_dispatch(100).await.unwrap();
    let again_close = later
        .notices
        .iter()
        .find(|n| n.kind == NoticeKind::Status && n.entry.public_id == again.public_id)
        .and_then(|n| n.subject)
        .unwrap();
    let counted = |since| async move {
        db.closed_parts(again_close, since)
            .await
            .unwrap()
            .unwrap()
            .sent_lately
    };
    assert_eq!(counted(sent_at).await, 1);
    assert_eq!(counted(sent_at + 1).await, 0);
}
story!(a_closing_email_is_written_only_while_the_close_stands_and_no_reply_told_it);

async fn a_kept_promise_is_told_only_while_no_reply_or_close_says_it(db: &Store) {
    use earshot_collector::review::workflow::{MINUTE, Status};
    use earshot_collector::store::NewReply;
    let shop = first_site(db).await;
    let ada = colleague(db, "Ada", Role::Admin).await;
    db.update_site(shop.id, receipts(true), None, T0)
        .await
        .unwrap();
    let at = T0 + HOUR;
    // Each customer is promised a refund by reply; the promise is kept an
    // hour later. Returns the reply's event and the promise's id.
    let shop = &shop;
    let promised = |email: &'static str| async move {
        let inserted = db
            .insert_entry(entry(
                shop,
                T0,
                serde_json::json!({"message": "Parcel damaged", "email": email}),
            ))
            .await
            .unwrap();
        let reply = NewReply {
            body: "We will refund you".to_owned(),
            promise: Some(("Refund sent".to_owned(), T0 + 3 * DAY)),
        };
        let public_id = inserted.public_id;
        let event = db
            .reply(public_id.clone(), reply, ada.id, at)
            .await
            .unwrap();
        let detail = db.entry_detail(public_id.clone()).await.unwrap().unwrap();
        (public_id, event, detail.promises[0].id)
    };
    let keep = |public_id: &str, promise, when| {
        let public_id = public_id.to_owned();
        async move {
            db.settle_promise(public_id, promise, true, ada.id, when)
                .await
                .unwrap()
        }
    };
    let (told, told_event, told_promise) = promised("ana@customer.example").await;
    let (closed, closed_event, closed_promise) = promised("bo@customer.example").await;
    let (answered, answered_event, answered_promise) = promised("cy@customer.example").await;
    let (broken, broken_event, broken_promise) = promised("dee@customer.example").await;
    keep(&told, told_promise, at + HOUR).await;
    keep(&closed, closed_promise, at + HOUR).await;
    db.set_status(closed.clone(), Status::Resolved, ada.id, at + HOUR)
        .await
        .unwrap();
    keep(&answered, answered_promise, at + HOUR).await;
    let later = NewReply {
        body: "Refunded!".to_owned(),
        promise: None,
    };
    db.reply(answered, later, ada.id, at + HOUR + MINUTE)
        .await
        .unwrap();
    db.settle_promise(broken, broken_promise, false, ada.id, at + HOUR)
        .await
        .unwrap();

    let parts = db.kept_parts(told_event, T0).await.unwrap().unwrap();
    assert_eq!(
        (
            parts.customer.to.as_str(),
            parts.promise.as_str(),
            parts.sent_lately
        ),
        ("ana@customer.example", "Refund sent", 0)
    );
    for (event, why) in [
        (closed_event, "closed: its email says so"),
        (answered_event, "a reply told them"),
        (broken_event, "not kept"),
    ] {
        assert!(db.kept_parts(event, T0).await.unwrap().is_none(), "{why}");
    }
    db.update_site(shop.id, receipts(false), None, at + 2 * HOUR)
        .await
        .unwrap();
    assert!(db.kept_parts(told_event, T0).await.unwrap().is_none());
    db.update_site(shop.id, receipts(true), None, at + 2 * HOUR)
        .await
        .unwrap();

    // The settled notice names the promise's reply, which the email is
    // queued under; it waits out its grace from when it was kept.
    let pending = db.pending_dispatch(100).await.unwrap();
    let notice = pending
        .notices
        .iter()
        .find(|n| n.entry.public_id == told && n.new_value.as_deref() == Some("kept"))
        .unwrap();
    assert_eq!(
        notice.promise.as_ref().map(|p| p.event_id),
        Some(told_event)
    );
    let mut done = nothing_for(&pending, at + 2 * HOUR);
    done.mails = vec![NewMail {
        kind: MailKind::Kept,
        user_id: None,
        entry_id: Some(notice.entry_id),
        event_id: Some(told_event),
        actor_id: Some(ada.id),
    }];
    assert!(db.complete_dispatch(done).await.unwrap());
    let grace = earshot_collector::store::CLOSED_GRACE_MS;
    assert!(
        db.due_mail(at + HOUR + grace - 1, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let due = db.due_mail(at + HOUR + grace, 10).await.unwrap();
    assert_eq!(
        due.iter().map(|j| (j.kind, j.event_id)).collect::<Vec<_>>(),
        [(MailKind::Kept, Some(told_event))]
    );
}
story!(a_kept_promise_is_told_only_while_no_reply_or_close_says_it);
