//! The email outbox: emails that fold into one a minute per colleague and
//! kind, and failing email told until one gets through.

use earshot_collector::notify::Prefs;
use earshot_collector::review::workflow::{DAY, HOUR};
use earshot_collector::store::{MailKind, MailResult, NewMail, Role, Store};

use crate::ingest::{T0, entry, first_site};
use crate::notify::{colleague, nothing_for, standard_hook};
use crate::story;

async fn failing_email_is_told_until_one_goes_out_and_can_be_retried_at_once(db: &Store) {
    use earshot_collector::store::{LEASE_MS, MailHealth};
    let ada = colleague(db, "Ada", Role::Admin).await;
    let bo = colleague(db, "Bo", Role::Agent).await;
    for who in [&ada, &bo] {
        let mut prefs = Prefs::defaults(who.role);
        prefs.digest_hour = Some(9);
        db.set_notify_prefs(who.id, prefs).await.unwrap();
    }
    assert_eq!(db.mail_health().await.unwrap(), MailHealth::default());
    // The day after the accounts were made.
    let day = (T0 / DAY + 1) * DAY;
    let at = day + 9 * HOUR;
    assert_eq!(db.queue_digests(at).await.unwrap(), 2);
    let jobs = db.due_mail(at, 10).await.unwrap();
    assert_eq!(jobs.len(), 2);
    let failed = |error: &str, retry_at| MailResult::Failed {
        error: error.to_owned(),
        retry_at,
    };
    // Ada's goes out; Bo's fails twice, the second time to wait 2 hours.
    db.record_mail(jobs[0].id, MailResult::Sent { folded_upto: None }, at + 1)
        .await
        .unwrap();
    let healthy = db.mail_health().await.unwrap();
    assert_eq!((healthy.last_sent_at, healthy.failed), (Some(at + 1), 0));
    assert!(!healthy.is_failing());
    db.record_mail(jobs[1].id, failed("timed out", Some(at + 60_000)), at + 2)
        .await
        .unwrap();
    let again = db.due_mail(at + 60_000, 10).await.unwrap();
    assert_eq!(again.len(), 1);
    db.record_mail(
        again[0].id,
        failed("SMTP status 535", Some(at + 2 * HOUR)),
        at + 60_001,
    )
    .await
    .unwrap();
    let failing = db.mail_health().await.unwrap();
    assert_eq!(
        failing,
        MailHealth {
            last_sent_at: Some(at + 1),
            failed: 2,
            failing_since: Some(at + 2),
            last_error: Some("SMTP status 535".to_owned()),
        }
    );
    // A test email the relay refuses is one more failure.
    let refused = Some("the SMTP relay did not take the message (timed out)".to_owned());
    assert_eq!(
        db.mail_tested(at + 60_002, refused.clone()).await.unwrap(),
        0
    );
    let still = db.mail_health().await.unwrap();
    assert_eq!((still.failed, still.last_error), (3, refused));
    // One it takes says email gets through, though no real one has gone
    // since, and moves up the waiting emails: only those that wait past
    // the lease window.
    let lease_end = at + 2 * HOUR - LEASE_MS;
    assert_eq!(db.mail_tested(lease_end, None).await.unwrap(), 0);
    assert_eq!(
        db.mail_health().await.unwrap(),
        MailHealth {
            last_sent_at: Some(lease_end),
            ..MailHealth::default()
        }
    );
    assert_eq!(db.mail_tested(at + 70_000, None).await.unwrap(), 1);
    assert_eq!(db.next_mail_due().await.unwrap(), Some(at + 70_000));
    let retried = db.due_mail(at + 70_000, 10).await.unwrap();
    assert_eq!(retried.len(), 1);
    db.record_mail(
        retried[0].id,
        MailResult::Sent { folded_upto: None },
        at + 70_001,
    )
    .await
    .unwrap();
    let recovered = db.mail_health().await.unwrap();
    assert_eq!(
        recovered,
        MailHealth {
            last_sent_at: Some(at + 70_001),
            ..MailHealth::default()
        }
    );
    assert_eq!(
        db.mail_tested(at + 80_000, None).await.unwrap(),
        0,
        "nothing waits"
    );

    // Pruning forgets test emails with the outbox's old emails, but for
    // the last that went out: when email last went out stays known.
    let later = at + 80_000 + 31 * DAY;
    db.prune_outboxes(later).await.unwrap();
    assert_eq!(
        db.mail_health().await.unwrap().last_sent_at,
        Some(at + 80_000)
    );
    db.mail_tested(later, Some("SMTP status 535".to_owned()))
        .await
        .unwrap();
    db.prune_outboxes(later + 31 * DAY).await.unwrap();
    let pruned = db.mail_health().await.unwrap();
    assert_eq!(
        (pruned.last_sent_at, pruned.failed),
        (Some(at + 80_000), 0),
        "the failed test went with its age"
    );
}
story!(failing_email_is_told_until_one_goes_out_and_can_be_retried_at_once);

/// A relay that offers no SMTPUTF8 refuses `änna@…` however often it is
/// asked, and sends to everyone else.
async fn an_address_refused_alone_is_given_up_and_is_no_failure_of_email(db: &Store) {
    use earshot_collector::store::MailHealth;
    for (name, role) in [
        ("Ada", Role::Admin),
        ("Bo", Role::Agent),
        ("Cy", Role::Agent),
        ("Di", Role::Agent),
    ] {
        let who = colleague(db, name, role).await;
        let mut prefs = Prefs::defaults(who.role);
        prefs.digest_hour = Some(9);
        db.set_notify_prefs(who.id, prefs).await.unwrap();
    }
    let at = (T0 / DAY + 1) * DAY + 9 * HOUR;
    assert_eq!(db.queue_digests(at).await.unwrap(), 4);
    let jobs = db.due_mail(at, 10).await.unwrap();
    let [sent, refused, failed, refused_too] = [jobs[0].id, jobs[1].id, jobs[2].id, jobs[3].id];
    let refusal = || MailResult::Refused {
        error: "the relay takes no address with letters beyond ASCII before the @".to_owned(),
    };
    db.record_mail(sent, MailResult::Sent { folded_upto: None }, at + 1)
        .await
        .unwrap();
    db.record_mail(refused, refusal(), at + 2).await.unwrap();
    let healthy = MailHealth {
        last_sent_at: Some(at + 1),
        ..MailHealth::default()
    };
    assert_eq!(db.mail_health().await.unwrap(), healthy);
    let timed_out = MailResult::Failed {
        error: "timed out".to_owned(),
        retry_at: Some(at + HOUR),
    };
    db.record_mail(failed, timed_out, at + 3).await.unwrap();
    db.record_mail(refused_too, refusal(), at + 4)
        .await
        .unwrap();
    assert_eq!(
        db.mail_health().await.unwrap(),
        MailHealth {
            last_sent_at: Some(at + 1),
            failed: 1,
            failing_since: Some(at + 3),
            last_error: Some("timed out".to_owned()),
        },
        "refused addresses are neither counted nor the last reason"
    );
    let due: Vec<i64> = db
        .due_mail(at + DAY, 10)
        .await
        .unwrap()
        .iter()
        .map(|job| job.id)
        .collect();
    assert_eq!(due, [failed], "only the relay's failure is tried again");
}
story!(an_address_refused_alone_is_given_up_and_is_no_failure_of_email);

async fn assignment_emails_fold_apart_from_new_entry_emails(db: &Store) {
    let shop = first_site(db).await;
    let ada = colleague(db, "Ada", Role::Admin).await;
    let bo = colleague(db, "Bo", Role::Agent).await;
    for i in 0..3 {
        let request = serde_json::json!({"message": format!("Entry {i}")});
        db.insert_entry(entry(&shop, T0 + i, request))
            .await
            .unwrap();
    }
    let pending = db.pending_dispatch(100).await.unwrap();
    let ids: Vec<i64> = pending.entries.iter().map(|fact| fact.id).collect();
    assert_eq!(ids.len(), 3);
    let mut done = nothing_for(&pending, T0 + 5);
    let mail = |kind, entry_id| NewMail {
        kind,
        user_id: Some(bo.id),
        entry_id: Some(entry_id),
        event_id: None,
        actor_id: (kind == MailKind::Assigned).then_some(ada.id),
    };
    done.mails.push(mail(MailKind::NewEntry, ids[0]));
    for id in &ids {
        done.mails.push(mail(MailKind::Assigned, *id));
    }
    assert!(db.complete_dispatch(done).await.unwrap());

    let assigned = db
        .pending_folding(MailKind::Assigned, bo.id, 10)
        .await
        .unwrap();
    assert_eq!(assigned.total, 3);
    let actors: Vec<_> = assigned.first.iter().map(|p| p.actor.as_deref()).collect();
    assert_eq!(actors, [Some("Ada"); 3]);
    let new = db
        .pending_folding(MailKind::NewEntry, bo.id, 10)
        .await
        .unwrap();
    assert_eq!(new.total, 1);
    // Holding one kind leaves the other due.
    db.hold_folding_mail(MailKind::Assigned, bo.id, T0 + 60_000)
        .await
        .unwrap();
    let due = db.due_mail(T0 + 6, 10).await.unwrap();
    let kinds: Vec<_> = due.iter().map(|j| j.kind).collect();
    assert_eq!(kinds, [MailKind::NewEntry]);
    // One assignment email stands for all three; the new-entry one waits.
    let first = assigned.first[0].outbox_id;
    let result = MailResult::Sent {
        folded_upto: Some(assigned.newest),
    };
    db.record_mail(first, result, T0 + 7).await.unwrap();
    assert_eq!(
        db.pending_folding(MailKind::Assigned, bo.id, 10)
            .await
            .unwrap()
            .total,
        0
    );
    assert_eq!(
        db.pending_folding(MailKind::NewEntry, bo.id, 10)
            .await
            .unwrap()
            .total,
        1
    );
    assert_eq!(
        db.last_folding_mail(MailKind::Assigned, bo.id)
            .await
            .unwrap(),
        Some(T0 + 7)
    );
    assert_eq!(
        db.last_folding_mail(MailKind::NewEntry, bo.id)
            .await
            .unwrap(),
        None
    );
}
story!(assignment_emails_fold_apart_from_new_entry_emails);

async fn finished_emails_and_webhook_messages_go_after_thirty_days(db: &Store) {
    use earshot_collector::store::{AttemptRecord, DeliveryResult, NewDelivery};
    let shop = first_site(db).await;
    let ada = colleague(db, "Ada", Role::Admin).await;
    let hook = standard_hook(shop.id, "whsec_kept");
    let hook = db.add_webhook(hook, Some(ada.id), T0).await.unwrap();
    let request = serde_json::json!({"message": "Said once, kept a month"});
    db.insert_entry(entry(&shop, T0 + 1, request))
        .await
        .unwrap();
    let pending = db.pending_dispatch(100).await.unwrap();
    let entry_id = pending.entries[0].id;
    let mut done = nothing_for(&pending, T0 + 2);
    for msg_id in ["msg_delivered", "msg_waiting"] {
        done.deliveries.push(NewDelivery {
            webhook_id: hook.id,
            msg_id: msg_id.into(),
            event: "entry.created",
            entry_id,
            body: "{\"words\":\"Said once, kept a month\"}".into(),
        });
    }
    let mail = |kind| NewMail {
        kind,
        user_id: Some(ada.id),
        entry_id: Some(entry_id),
        event_id: None,
        actor_id: None,
    };
    done.mails = vec![
        mail(MailKind::FollowUp),
        mail(MailKind::FollowUp),
        mail(MailKind::FollowUp),
    ];
    assert!(db.complete_dispatch(done).await.unwrap());
    // One email sent, one given up, one still waiting; one message
    // delivered, one still waiting.
    let jobs = db.due_mail(T0 + 3, 10).await.unwrap();
    let ids: Vec<i64> = jobs.iter().map(|j| j.id).collect();
    db.record_mail(ids[0], MailResult::Sent { folded_upto: None }, T0 + 4)
        .await
        .unwrap();
    let gave_up = MailResult::Failed {
        error: "SMTP status 550".into(),
        retry_at: None,
    };
    db.record_mail(ids[1], gave_up, T0 + 5).await.unwrap();
    let due = db.due_deliveries(T0 + 3, 10).await.unwrap();
    let delivered = due.iter().find(|d| d.msg_id == "msg_delivered").unwrap();
    db.record_attempts(vec![AttemptRecord {
        delivery_id: delivered.id,
        webhook_id: hook.id,
        at: T0 + 6,
        status: Some(200),
        latency_ms: 9,
        error: None,
        result: DeliveryResult::Delivered,
    }])
    .await
    .unwrap();

    assert_eq!(db.prune_outboxes(T0 + 29 * DAY).await.unwrap(), (0, 0));
    // A month on: what is finished goes, except the email that says when
    // email last went out; what still waits stays.
    assert_eq!(db.prune_outboxes(T0 + 31 * DAY).await.unwrap(), (1, 1));
    assert_eq!(db.mail_health().await.unwrap().last_sent_at, Some(T0 + 4));
    let kept: Vec<String> = db
        .webhook_deliveries(hook.id, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.msg_id)
        .collect();
    assert_eq!(kept, ["msg_waiting"]);
    assert_eq!(db.prune_outboxes(T0 + 31 * DAY).await.unwrap(), (0, 0));
    // Once another email goes out, the old one's record is no longer the
    // last word on email and goes too.
    db.record_mail(
        ids[2],
        MailResult::Sent { folded_upto: None },
        T0 + 31 * DAY,
    )
    .await
    .unwrap();
    assert_eq!(db.prune_outboxes(T0 + 32 * DAY).await.unwrap(), (1, 0));
    assert_eq!(
        db.mail_health().await.unwrap().last_sent_at,
        Some(T0 + 31 * DAY)
    );
}
story!(finished_emails_and_webhook_messages_go_after_thirty_days);
