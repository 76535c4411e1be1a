//! Telling people: the dispatcher's batches, the email and webhook
//! outboxes, endpoints, preferences, promise notices and digests.

use earshot_collector::notify::Prefs;
use earshot_collector::review::workflow::{DAY, HOUR};
use earshot_collector::store::{
    AttemptRecord, DeliveryResult, Dispatched, Gauges, MailKind, MailResult, NewDelivery, NewMail,
    NewReply, NewUser, NewWebhook, NoticeKind, Pending, Role, User,
};

use crate::ingest::{T0, entry, first_site};
use crate::story;
use earshot_collector::store::Store;

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

async fn endpoints_are_managed_and_every_change_recorded(db: &Store) {
    let shop = first_site(db).await;
    let ada = colleague(db, "Ada", Role::Admin).await;
    let new = NewWebhook {
        site_id: shop.id,
        url: "https://chat.example/hook".into(),
        events: "entry.created".into(),
        format: "slack".into(),
        include_email: true,
        secret: "whsec_one".into(),
    };
    let hook = db.add_webhook(new, Some(ada.id), T0).await.unwrap();
    assert!(
        db.rotate_webhook(
            hook.public_id.clone(),
            "whsec_two".into(),
            Some(ada.id),
            T0 + 1
        )
        .await
        .unwrap()
    );
    let rotated = db.webhook(hook.public_id.clone()).await.unwrap().unwrap();
    assert_eq!(rotated.previous_until, Some(T0 + 1 + 24 * HOUR));
    assert!(rotated.include_email);
    assert!(
        db.enable_webhook(hook.public_id.clone(), None, T0 + 2)
            .await
            .unwrap()
    );
    assert_eq!(db.webhooks().await.unwrap().len(), 1);
    assert!(
        db.remove_webhook(hook.public_id.clone(), Some(ada.id), T0 + 3)
            .await
            .unwrap()
    );
    assert!(
        !db.remove_webhook(hook.public_id.clone(), Some(ada.id), T0 + 4)
            .await
            .unwrap()
    );
    assert!(
        !db.rotate_webhook(hook.public_id.clone(), "x".into(), None, T0)
            .await
            .unwrap()
    );
    assert!(db.webhook(hook.public_id).await.unwrap().is_none());
    let actions: Vec<String> = db
        .audit_log(Some("webhook.".into()), 10)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        [
            "webhook.removed",
            "webhook.enabled",
            "webhook.rotated",
            "webhook.added"
        ]
    );
}
story!(endpoints_are_managed_and_every_change_recorded);

async fn preferences_are_kept_and_a_digest_queued_once_a_day(db: &Store) {
    let shop = first_site(db).await;
    let ada = colleague(db, "Ada", Role::Admin).await;
    let bo = colleague(db, "Bo", Role::Agent).await;
    assert_eq!(
        db.notify_prefs(ada.clone()).await.unwrap(),
        Prefs::defaults(Role::Admin)
    );
    let mut prefs = Prefs::defaults(Role::Agent);
    prefs.digest_hour = Some(9);
    prefs.on_assign = false;
    db.set_notify_prefs(bo.id, prefs.clone()).await.unwrap();
    assert_eq!(db.notify_prefs(bo.clone()).await.unwrap(), prefs);
    let staff = db.staff_prefs().await.unwrap();
    assert_eq!(staff.len(), 2);
    assert_eq!(staff[1], (bo.clone(), prefs));
    // Quiet everyone else's digest to count Bo's alone.
    let mut quiet = Prefs::defaults(Role::Admin);
    quiet.digest_hour = None;
    db.set_notify_prefs(ada.id, quiet).await.unwrap();
    // The day after the accounts were made.
    let day = (T0 / DAY + 1) * DAY;
    assert_eq!(
        db.queue_digests(day + 8 * HOUR).await.unwrap(),
        0,
        "before the hour"
    );
    assert_eq!(db.queue_digests(day + 9 * HOUR + 5).await.unwrap(), 1);
    assert_eq!(
        db.queue_digests(day + 10 * HOUR).await.unwrap(),
        0,
        "once a day"
    );
    let jobs = db.due_mail(day + 11 * HOUR, 10).await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(
        (jobs[0].kind, jobs[0].day),
        (MailKind::Digest, Some(day / DAY))
    );
    // A colleague who joins after the hour gets the next day's digest,
    // not one at whatever hour they joined.
    let cy = NewUser {
        email: "cy@shop.example".into(),
        name: "Cy".into(),
        role: Role::Agent,
        password_hash: "x".into(),
    };
    let cy = db.add_user(cy, day + 9 * HOUR + 10).await.unwrap();
    let mut nine = Prefs::defaults(Role::Agent);
    nine.digest_hour = Some(9);
    db.set_notify_prefs(cy.id, nine).await.unwrap();
    assert_eq!(db.queue_digests(day + 9 * HOUR + 20).await.unwrap(), 0);
    assert_eq!(
        db.queue_digests(day + DAY + 9 * HOUR).await.unwrap(),
        2,
        "Bo and Cy the next day"
    );
    // What the digest says: who waits past target, promises, counts.
    let request = serde_json::json!({"message": "Waiting long"});
    db.insert_entry(entry(&shop, day, request)).await.unwrap();
    let facts = db.digest_facts(day + 2 * DAY, true).await.unwrap();
    assert_eq!(facts.waiting_late.len(), 1);
    assert_eq!(facts.waiting_late[0].entry.words, "Waiting long");
    let facts = db.digest_facts(day + HOUR, false).await.unwrap();
    assert!(facts.waiting_late.is_empty());
    assert_eq!(facts.counts, [("complaint".to_owned(), 1)]);
}
story!(preferences_are_kept_and_a_digest_queued_once_a_day);

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

async fn a_removed_site_leaves_every_colleagues_choice_of_sites(db: &Store) {
    use earshot_collector::notify::Sites;
    let shop = first_site(db).await;
    let ada = colleague(db, "Ada", Role::Admin).await;
    let bo = colleague(db, "Bo", Role::Agent).await;
    let cy = colleague(db, "Cy", Role::Agent).await;
    let test = db
        .add_site_by(crate::ingest::new_site("Test"), Some(ada.id), T0)
        .await
        .unwrap();
    let choose = |sites: Sites| Prefs {
        sites,
        ..Prefs::defaults(Role::Admin)
    };
    db.set_notify_prefs(ada.id, choose(Sites::Only([shop.id, test.id].into())))
        .await
        .unwrap();
    db.set_notify_prefs(bo.id, choose(Sites::Only([test.id].into())))
        .await
        .unwrap();
    db.set_notify_prefs(cy.id, choose(Sites::All))
        .await
        .unwrap();

    db.remove_site(test.id, Some(ada.id), T0 + 1).await.unwrap();
    let sites_of = async |user: &User| db.notify_prefs(user.clone()).await.unwrap().sites;
    assert_eq!(sites_of(&ada).await, Sites::Only([shop.id].into()));
    assert_eq!(sites_of(&bo).await, Sites::Only([].into()));
    assert_eq!(sites_of(&cy).await, Sites::All);

    // The next site is nobody's choice until someone chooses it, and never
    // gets a removed site's id (SQLite would give it the largest plus one).
    let next = db
        .add_site_by(crate::ingest::new_site("Next"), Some(ada.id), T0 + 2)
        .await
        .unwrap();
    assert!(next.id > test.id, "{} after {}", next.id, test.id);
    for user in [&ada, &bo] {
        let prefs = db.notify_prefs(user.clone()).await.unwrap();
        assert!(
            !prefs.wants_now(next.id, earshot_protocol::Kind::Complaint, None),
            "{}",
            user.name
        );
    }
}
story!(a_removed_site_leaves_every_colleagues_choice_of_sites);
