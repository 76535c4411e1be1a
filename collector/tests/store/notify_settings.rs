//! What staff choose about being told: webhook endpoints and their
//! changes, notification preferences and the daily digest, and the sites
//! a colleague chose when one is removed.

use earshot_collector::notify::Prefs;
use earshot_collector::review::workflow::{DAY, HOUR};
use earshot_collector::store::{MailKind, NewUser, NewWebhook, Role, Store, User};

use crate::accounts::audit_actions;
use crate::ingest::{T0, entry, first_site};
use crate::notify::colleague;
use crate::story;

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
    assert_eq!(
        audit_actions(db, Some("webhook.")).await,
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
