//! The email outbox: emails that fold into one a minute per colleague and
//! kind, and failing email told until one gets through.

use earshot_collector::notify::Prefs;
use earshot_collector::review::workflow::{DAY, HOUR};
use earshot_collector::store::{MailKind, MailResult, NewMail, Role, Store};

use crate::ingest::{T0, entry, first_site};
use crate::notify::{colleague, nothing_for};
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
    let day = 20_000 * DAY;
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
    // Retrying at once moves up only what waits past the lease window.
    assert_eq!(
        db.retry_mail_now(at + 2 * HOUR - LEASE_MS).await.unwrap(),
        0
    );
    assert_eq!(db.retry_mail_now(at + 70_000).await.unwrap(), 1);
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
        db.retry_mail_now(at + 80_000).await.unwrap(),
        0,
        "nothing waits"
    );
}
story!(failing_email_is_told_until_one_goes_out_and_can_be_retried_at_once);

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
