//! Telling people: the dispatcher's batches, the email and webhook
//! outboxes, promise notices, and rows no collector can read. What staff
//! choose about it is in `notify_settings`.

use earshot_collector::review::workflow::DAY;
use earshot_collector::store::{
    AttemptRecord, DeliveryResult, Dispatched, Gauges, MailKind, MailResult, NewDelivery, NewMail,
    NewReply, NewUser, NewWebhook, NoticeKind, Pending, Role, Store, User,
};

use crate::ingest::{T0, entry, first_site};
use crate::story;

pub(crate) async fn colleague(db: &Store, name: &str, role: Role) -> User {
    let new = NewUser {
        email: format!("{}@shop.example", name.to_lowercase()),
        name: name.to_owned(),
        role,
        password_hash: "x".into(),
    };
    db.add_user(new, T0).await.unwrap()
}

/// An endpoint of the standard format that hears every event.
pub(crate) fn standard_hook(site_id: i64, secret: &str) -> NewWebhook {
    NewWebhook {
        site_id,
        url: "https://hooks.example/earshot".into(),
        events: "*".into(),
        format: "standard".into(),
        include_email: false,
        secret: secret.into(),
    }
}

/// The batch's fan-out with nothing to send.
pub(crate) fn nothing_for(pending: &Pending, at: i64) -> Dispatched {
    Dispatched {
        taken: pending.taken.clone(),
        notice_ids: pending.notice_ids(),
        at,
        ..Dispatched::default()
    }
}

async fn what_happens_is_announced_once_and_sent_once(db: &Store) {
    let shop = first_site(db).await;
    let ada = colleague(db, "Ada", Role::Admin).await;
    let hook = standard_hook(shop.id, "whsec_first");
    let hook = db.add_webhook(hook, Some(ada.id), T0).await.unwrap();
    assert!(hook.public_id.starts_with("wh_"));
    assert_eq!(
        (hook.site_name.as_str(), hook.state.as_str(), hook.pending),
        ("Shop", "active", 0)
    );
    let request = serde_json::json!({"message": "Cart emptied itself", "email": "cy@mail.example",
        "client": {"language": "fr-CA"}});
    let inserted = db
        .insert_entry(entry(&shop, T0 + 1, request))
        .await
        .unwrap();
    let mut bot = entry(&shop, T0 + 2, serde_json::json!({"message": "spam"}));
    bot.spam = Some(earshot_collector::abuse::SpamReason::TooFast);
    db.insert_entry(bot).await.unwrap();

    // The new entry (never the spam), and where it may go.
    let pending = db.pending_dispatch(100).await.unwrap();
    let [fact] = pending.entries.as_slice() else {
        panic!("one entry to announce: {:?}", pending.entries);
    };
    assert_eq!(fact.entry.reference, inserted.reference);
    assert_eq!(
        (fact.site_id, fact.entry.site_name.as_str()),
        (shop.id, "Shop")
    );
    assert_eq!(fact.entry.message.as_deref(), Some("Cart emptied itself"));
    assert!(pending.notices.is_empty());
    assert_eq!(pending.endpoints.len(), 1);
    assert_eq!(pending.endpoints[0].id, hook.id);
    let mut done = nothing_for(&pending, T0 + 3);
    done.deliveries.push(NewDelivery {
        webhook_id: hook.id,
        msg_id: "msg_1".into(),
        event: "entry.created",
        entry_id: fact.id,
        body: "{\"type\":\"entry.created\"}".into(),
    });
    done.mails.push(NewMail {
        kind: MailKind::NewEntry,
        user_id: Some(ada.id),
        entry_id: Some(fact.id),
        event_id: None,
        actor_id: None,
    });
    // Two dispatchers finishing the same batch: one queues it.
    let (a, b) = tokio::join!(
        db.complete_dispatch(done.clone()),
        db.complete_dispatch(done)
    );
    assert!(a.unwrap() != b.unwrap(), "exactly one completes the batch");
    assert!(db.pending_dispatch(100).await.unwrap().is_empty());
    let outboxes = |g: Gauges| {
        (
            g.mail_pending,
            g.mail_failed,
            g.webhooks_pending,
            g.webhooks_failed,
        )
    };
    assert_eq!(outboxes(db.gauges().await.unwrap()), (1, 0, 1, 0));

    // The email goes out once.
    assert_eq!(db.next_mail_due().await.unwrap(), Some(T0 + 3));
    // Held (the fold window of an email just sent), then due.
    db.hold_folding_mail(MailKind::NewEntry, ada.id, T0 + 5)
        .await
        .unwrap();
    assert!(db.due_mail(T0 + 4, 10).await.unwrap().is_empty());
    let jobs = db.due_mail(T0 + 5, 10).await.unwrap();
    let [job] = jobs.as_slice() else {
        panic!("one email due: {jobs:?}");
    };
    assert_eq!(
        (job.kind, job.user.as_ref(), job.entry_id),
        (MailKind::NewEntry, Some(&ada), Some(fact.id))
    );
    let line = db.entry_line(fact.id).await.unwrap().unwrap();
    assert_eq!(
        (line.reference.as_str(), line.words.as_str()),
        (inserted.reference.as_str(), "Cart emptied itself")
    );
    let waiting = db
        .pending_folding(MailKind::NewEntry, ada.id, 10)
        .await
        .unwrap();
    assert_eq!((waiting.total, waiting.newest), (1, job.id));
    db.record_mail(job.id, MailResult::Sent { folded_upto: None }, T0 + 6)
        .await
        .unwrap();
    assert!(db.due_mail(T0 + 7, 10).await.unwrap().is_empty());
    assert_eq!(
        db.last_folding_mail(MailKind::NewEntry, ada.id)
            .await
            .unwrap(),
        Some(T0 + 6)
    );
    assert_eq!(db.next_mail_due().await.unwrap(), None);
    assert_eq!(outboxes(db.gauges().await.unwrap()), (0, 0, 1, 0));

    // The webhook message too, after one retry.
    let due = db.due_deliveries(T0 + 5, 10).await.unwrap();
    let [delivery] = due.as_slice() else {
        panic!("one message due: {due:?}");
    };
    assert_eq!(
        (delivery.url.as_str(), delivery.secret.as_str()),
        ("https://hooks.example/earshot", "whsec_first")
    );
    assert_eq!(
        (
            delivery.msg_id.as_str(),
            delivery.attempts,
            delivery.entry_is_spam
        ),
        ("msg_1", 0, false)
    );
    let attempt = |result, status, at| AttemptRecord {
        delivery_id: delivery.id,
        webhook_id: hook.id,
        at,
        status,
        latency_ms: 12,
        error: None,
        result,
    };
    db.record_attempts(vec![attempt(
        DeliveryResult::Retry(T0 + 100),
        Some(503),
        T0 + 6,
    )])
    .await
    .unwrap();
    assert!(db.due_deliveries(T0 + 50, 10).await.unwrap().is_empty());
    assert_eq!(db.next_delivery_due().await.unwrap(), Some(T0 + 100));
    let again = db.due_deliveries(T0 + 100, 10).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 1);
    db.record_attempts(vec![attempt(
        DeliveryResult::Delivered,
        Some(200),
        T0 + 101,
    )])
    .await
    .unwrap();
    assert!(db.due_deliveries(T0 + 200, 10).await.unwrap().is_empty());
    let log = db.webhook_deliveries(hook.id, 10).await.unwrap();
    assert_eq!(log[0].state, "delivered");
    let statuses: Vec<Option<i64>> = log[0].attempts.iter().map(|a| a.status).collect();
    assert_eq!(statuses, [Some(503), Some(200)]);
    assert_eq!(outboxes(db.gauges().await.unwrap()), (0, 0, 0, 0));
    assert!(db.redeliver(hook.id, log[0].id, T0 + 300).await.unwrap());
    let again = db.due_deliveries(T0 + 300, 10).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(outboxes(db.gauges().await.unwrap()), (0, 0, 1, 0));
    // Given up after its last retry: counted as failed, no longer pending.
    db.record_attempts(vec![AttemptRecord {
        delivery_id: again[0].id,
        ..attempt(DeliveryResult::Failed, Some(500), T0 + 301)
    }])
    .await
    .unwrap();
    assert_eq!(outboxes(db.gauges().await.unwrap()), (0, 0, 0, 1));
    assert!(
        !db.redeliver(hook.id + 1, log[0].id, T0 + 300)
            .await
            .unwrap()
    );

    // What staff do is announced too, with what the message needs.
    let reply = NewReply {
        body: "A fix is on its way".into(),
        promise: Some(("Fixed by Friday".into(), T0 + 3 * DAY)),
    };
    let event = db
        .reply(inserted.public_id.clone(), reply, ada.id, T0 + 400)
        .await
        .unwrap();
    let pending = db.pending_dispatch(100).await.unwrap();
    let kinds: Vec<NoticeKind> = pending.notices.iter().map(|n| n.kind).collect();
    assert_eq!(
        kinds,
        [
            NoticeKind::Status,
            NoticeKind::Reply,
            NoticeKind::PromiseMade
        ]
    );
    let said = &pending.notices[1];
    assert_eq!(
        (said.reply.as_deref(), said.actor.as_deref()),
        (Some("A fix is on its way"), Some("Ada"))
    );
    let promised = pending.notices[2].promise.as_ref().expect("the promise");
    assert_eq!(
        (promised.text.as_str(), promised.due_at),
        ("Fixed by Friday", T0 + 3 * DAY)
    );
    assert!(
        db.complete_dispatch(nothing_for(&pending, T0 + 401))
            .await
            .unwrap()
    );
    assert!(db.pending_dispatch(100).await.unwrap().is_empty());
    let parts = db
        .reply_parts(event)
        .await
        .unwrap()
        .expect("the customer left an address");
    assert_eq!(
        (parts.customer.to.as_str(), parts.body.as_str()),
        ("cy@mail.example", "A fix is on its way")
    );
    assert_eq!(
        parts.promise,
        Some(("Fixed by Friday".into(), T0 + 3 * DAY))
    );
    assert_eq!(
        parts.customer.language.as_deref(),
        Some("fr-CA"),
        "for the mail's words"
    );
    assert_eq!(
        db.event_body(event).await.unwrap().as_deref(),
        Some("A fix is on its way")
    );
    assert_eq!(db.user_name(ada.id).await.unwrap().as_deref(), Some("Ada"));

    // A note leaves a notice only when it names someone, with its words
    // for the dispatcher to find who; the mention email it queues is kept.
    for body in ["Checked the courier", "@bo can you call the courier?"] {
        db.add_note(inserted.public_id.clone(), body.into(), ada.id, T0 + 402)
            .await
            .unwrap();
    }
    let pending = db.pending_dispatch(100).await.unwrap();
    let [noted] = pending.notices.as_slice() else {
        panic!(
            "one notice, for the note naming someone: {:?}",
            pending.notices
        );
    };
    assert_eq!(
        (noted.kind, noted.reply.as_deref(), noted.actor_id),
        (
            NoticeKind::Note,
            Some("@bo can you call the courier?"),
            Some(ada.id)
        )
    );
    let note_event = noted.subject.expect("the note's event");
    let mut done = nothing_for(&pending, T0 + 403);
    done.mails.push(NewMail {
        kind: MailKind::Mention,
        user_id: Some(ada.id),
        entry_id: Some(noted.entry_id),
        event_id: Some(note_event),
        actor_id: Some(ada.id),
    });
    assert!(db.complete_dispatch(done).await.unwrap());
    let jobs = db.due_mail(T0 + 403, 10).await.unwrap();
    let [job] = jobs.as_slice() else {
        panic!("the mention email: {jobs:?}");
    };
    assert_eq!(
        (job.kind, job.event_id, job.actor_id),
        (MailKind::Mention, Some(note_event), Some(ada.id))
    );
    assert_eq!(
        db.event_body(note_event).await.unwrap().as_deref(),
        Some("@bo can you call the courier?")
    );
    db.record_mail(job.id, MailResult::Sent { folded_upto: None }, T0 + 404)
        .await
        .unwrap();

    // A promise is noticed once when due soon and once when overdue.
    assert_eq!(db.notice_promises(T0 + DAY).await.unwrap(), 0);
    assert_eq!(db.notice_promises(T0 + 2 * DAY + 1).await.unwrap(), 1);
    assert_eq!(db.notice_promises(T0 + 2 * DAY + 2).await.unwrap(), 0);
    assert_eq!(db.notice_promises(T0 + 4 * DAY).await.unwrap(), 1);
    let pending = db.pending_dispatch(100).await.unwrap();
    let kinds: Vec<NoticeKind> = pending.notices.iter().map(|n| n.kind).collect();
    assert_eq!(kinds, [NoticeKind::PromiseDue, NoticeKind::PromiseOverdue]);
    // Whom to remind: who holds the entry (nobody), else who made it, and
    // the reply that made it, for the email.
    let due = &pending.notices[0];
    let promise = due.promise.as_ref().expect("the promise");
    assert_eq!(
        (due.assignee_id, promise.made_by, promise.event_id),
        (None, Some(ada.id), event)
    );
    let mut done = nothing_for(&pending, T0 + 4 * DAY);
    done.mails.push(NewMail {
        kind: MailKind::Promise,
        user_id: Some(ada.id),
        entry_id: Some(due.entry_id),
        event_id: Some(promise.event_id),
        actor_id: promise.made_by,
    });
    assert!(db.complete_dispatch(done).await.unwrap());
    let jobs = db.due_mail(T0 + 4 * DAY, 10).await.unwrap();
    assert_eq!(
        jobs.iter()
            .map(|j| (j.kind, j.event_id))
            .collect::<Vec<_>>(),
        [(MailKind::Promise, Some(event))]
    );
}
story!(what_happens_is_announced_once_and_sent_once);

/// SQLite keeps whatever bytes a hand edit writes into a text column; a row
/// no collector can read must not stop every announcement behind it.
#[tokio::test]
async fn a_row_edited_into_unreadable_bytes_is_passed_over_not_a_stall_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hand-edited.db");
    let db = Store::open(&path).unwrap();
    let shop = first_site(&db).await;
    let ada = colleague(&db, "Ada", Role::Admin).await;
    let add = async |at: i64, message: &str| {
        db.insert_entry(entry(&shop, at, serde_json::json!({ "message": message })))
            .await
            .unwrap()
            .public_id
    };
    let broken = add(T0 + 1, "Broken by hand later").await;
    let fine = add(T0 + 2, "Fine").await;
    let pending = db.pending_dispatch(100).await.unwrap();
    assert!(
        db.complete_dispatch(nothing_for(&pending, T0 + 3))
            .await
            .unwrap()
    );
    for public_id in [&broken, &fine] {
        let reply = NewReply {
            body: "Looking into it".into(),
            promise: None,
        };
        db.reply(public_id.clone(), reply, ada.id, T0 + 10)
            .await
            .unwrap();
    }
    let unreadable_new = add(T0 + 20, "Also broken by hand").await;
    let readable_new = add(T0 + 21, "Still announced").await;
    let hand = rusqlite::Connection::open(&path).unwrap();
    for public_id in [&broken, &unreadable_new] {
        hand.execute(
            "UPDATE entries SET message = CAST(X'C328' AS TEXT) WHERE public_id = ?1",
            [public_id],
        )
        .unwrap();
    }

    let pending = db.pending_dispatch(100).await.unwrap();
    let announced: Vec<&str> = pending
        .entries
        .iter()
        .map(|f| f.entry.public_id.as_str())
        .collect();
    assert_eq!(announced, [readable_new.as_str()]);
    assert_eq!(
        pending.taken.count(),
        2,
        "the unreadable entry is taken too"
    );
    let heard: Vec<(&str, NoticeKind)> = pending
        .notices
        .iter()
        .map(|n| (n.entry.public_id.as_str(), n.kind))
        .collect();
    assert_eq!(
        heard,
        [
            (fine.as_str(), NoticeKind::Status),
            (fine.as_str(), NoticeKind::Reply)
        ]
    );
    assert_eq!(pending.unreadable_notices.len(), 2, "{pending:?}");
    assert!(
        db.complete_dispatch(nothing_for(&pending, T0 + 30))
            .await
            .unwrap()
    );
    assert!(db.pending_dispatch(100).await.unwrap().is_empty());
    db.shutdown().await;
}
