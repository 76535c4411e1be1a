//! The open view: every entry not yet closed, answered or not, oldest
//! first, with the inbox's filters, search and pages.

use earshot_collector::review::filter::{Assignee, Filter, Search, View};
use earshot_collector::review::workflow::Status;
use earshot_collector::store::{BulkAction, BulkTarget, Inserted, NewReply, NewUser, Role, Store};

use crate::inbox::{MINUTE, add_staff, lists_exactly, references};
use crate::ingest::{T0, entry, first_site};
use crate::story;

async fn the_open_view_keeps_answered_entries_until_they_are_closed(db: &Store) {
    let shop = first_site(db).await;
    let ada = db
        .add_user(
            NewUser {
                email: "ada@example.com".into(),
                name: "Ada".into(),
                role: Role::Admin,
                password_hash: "x".into(),
            },
            T0,
        )
        .await
        .unwrap();
    // The oldest are closed, as they mostly are, and hold the searched
    // word too: none of them may show, searched or not.
    let mut inserted = Vec::new();
    for i in 0..10_i64 {
        let kind = if i % 2 == 0 { "complaint" } else { "idea" };
        let request =
            serde_json::json!({"kind": kind, "message": format!("Parcel {i} went astray")});
        inserted.push(
            db.insert_entry(entry(&shop, T0 + i * MINUTE, request))
                .await
                .unwrap(),
        );
    }
    let at = T0 + 20 * MINUTE;
    let id = |i: usize| inserted[i].public_id.clone();
    db.set_status(id(0), Status::Resolved, ada.id, at)
        .await
        .unwrap();
    db.set_status(id(1), Status::WontFix, ada.id, at)
        .await
        .unwrap();
    db.set_status(id(2), Status::Spam, ada.id, at)
        .await
        .unwrap();
    // Answered: no longer waiting, still open.
    let reply = NewReply {
        body: "We are on it.".into(),
        promise: None,
    };
    db.reply(id(3), reply.clone(), ada.id, at).await.unwrap();
    db.set_status(id(4), Status::InProgress, ada.id, at)
        .await
        .unwrap();
    db.reply(id(4), reply, ada.id, at).await.unwrap();
    db.assign(id(6), Some(ada.id), ada.id, at).await.unwrap();
    // Closed after it was answered.
    db.set_status(id(8), Status::Resolved, ada.id, at)
        .await
        .unwrap();
    let now = at + MINUTE;

    let open = Filter {
        view: View::Open,
        ..Filter::default()
    };
    let want = |indexes: &[usize]| -> Vec<String> {
        indexes
            .iter()
            .map(|&i| inserted[i].reference.clone())
            .collect()
    };
    let cases = [
        (open.clone(), want(&[3, 4, 5, 6, 7, 9])),
        (
            Filter {
                search: Search::parse("parcel"),
                ..open.clone()
            },
            want(&[3, 4, 5, 6, 7, 9]),
        ),
        (
            Filter {
                kinds: vec!["idea".into()],
                search: Search::parse("astr"),
                ..open.clone()
            },
            want(&[3, 5, 7, 9]),
        ),
        (
            Filter {
                assignees: vec![Assignee::User(ada.id)],
                ..open.clone()
            },
            want(&[6]),
        ),
        (
            Filter {
                statuses: vec![Status::InProgress],
                ..open.clone()
            },
            want(&[4]),
        ),
        (
            Filter {
                from: Some(T0 + 4 * MINUTE),
                to: Some(T0 + 9 * MINUTE),
                ..open.clone()
            },
            want(&[4, 5, 6, 7]),
        ),
        // A closed status is never open.
        (
            Filter {
                statuses: vec![Status::Resolved],
                ..open.clone()
            },
            Vec::new(),
        ),
    ];
    for (filter, expected) in cases {
        lists_exactly(db, &filter, &expected, now).await;
    }
    // Those answered have left the waiting view, not the open one.
    let waiting = db.inbox(Filter::default(), 50, now).await.unwrap();
    assert_eq!(references(&waiting), want(&[5, 6, 7, 9]));
    // Closing the last of the backlog's oldest moves where it starts.
    db.set_status(id(3), Status::Resolved, ada.id, now)
        .await
        .unwrap();
    let searched = Filter {
        search: Search::parse("parcel"),
        ..open
    };
    let page = db.inbox(searched, 50, now).await.unwrap();
    assert_eq!(references(&page), want(&[4, 5, 6, 7, 9]));
}
story!(the_open_view_keeps_answered_entries_until_they_are_closed);

/// Closes every open entry but `keep`: what a seed left open.
async fn close_all_but(db: &Store, keep: &[&Inserted], actor: i64, at: i64) {
    let open = Filter {
        view: View::Open,
        ..Filter::default()
    };
    loop {
        let page = db.inbox(open.clone(), 200, at).await.unwrap();
        let targets: Vec<BulkTarget> = page
            .rows
            .iter()
            .filter(|row| keep.iter().all(|k| k.public_id != row.public_id))
            .map(|row| BulkTarget::unseen(row.public_id.clone()))
            .collect();
        if targets.is_empty() {
            break;
        }
        db.bulk(targets, BulkAction::Status(Status::Resolved), actor, at)
            .await
            .unwrap();
    }
}

async fn a_search_of_the_open_and_waiting_views_finds_entries_that_lie_far_apart(db: &Store) {
    let shop = first_site(db).await;
    let ada = add_staff(db, "ada@example.com", "Ada", Role::Admin).await;
    let day = 24 * 60 * MINUTE;
    let add = |at: i64, kind: &str, message: &str| {
        entry(
            &shop,
            at,
            serde_json::json!({"kind": kind, "message": message}),
        )
    };
    // An entry left open for a year, far older than the rest of the
    // backlog, with thousands of closed entries between them, many of
    // them holding the word searched ("checkout" is a seeded word).
    let stale = db
        .insert_entry(add(T0, "complaint", "The checkout froze"))
        .await
        .unwrap();
    db.seed(10_500, T0 + 100 * day, |_| {}).await.unwrap();
    close_all_but(db, &[&stale], ada.id, T0 + 100 * day).await;
    // Months later, a few open together.
    let at = T0 + 101 * day;
    let mut close_together = Vec::new();
    for (i, (kind, message)) in [
        ("idea", "A faster checkout please"),
        ("complaint", "Checkout lost my basket"),
        ("complaint", "Checkout took my card twice"),
        ("idea", "Checkout in dark mode"),
        ("complaint", "No word about it here"),
    ]
    .into_iter()
    .enumerate()
    {
        let stored = db.insert_entry(add(at + i as i64, kind, message));
        close_together.push(stored.await.unwrap());
    }
    let reply = NewReply {
        body: "We are on it.".into(),
        promise: None,
    };
    db.reply(
        close_together[1].public_id.clone(),
        reply.clone(),
        ada.id,
        at,
    )
    .await
    .unwrap();
    let mut keep: Vec<&Inserted> = close_together.iter().collect();
    keep.push(&stale);
    db.seed(10_500, T0 + 200 * day, |_| {}).await.unwrap();
    close_all_but(db, &keep, ada.id, T0 + 200 * day).await;
    // And the newest: a few open among many closed.
    let at = T0 + 201 * day;
    let mut recent = Vec::new();
    for i in 0..10 {
        let kind = if i % 2 == 0 { "complaint" } else { "idea" };
        let stored = db
            .insert_entry(add(at + i, kind, &format!("Checkout problem number {i}")))
            .await
            .unwrap();
        if ![1, 6, 8].contains(&i) {
            db.set_status(stored.public_id.clone(), Status::Resolved, ada.id, at)
                .await
                .unwrap();
        }
        recent.push(stored);
    }
    db.reply(recent[8].public_id.clone(), reply, ada.id, at)
        .await
        .unwrap();
    let now = at + 10 * MINUTE;

    let refs = |entries: &[&Inserted]| -> Vec<String> {
        entries.iter().map(|e| e.reference.clone()).collect()
    };
    let (c, r) = (&close_together, &recent);
    let checkout = Search::parse("checkout");
    let open = Filter {
        view: View::Open,
        search: checkout.clone(),
        ..Filter::default()
    };
    let waiting = Filter {
        view: View::Waiting,
        search: checkout,
        ..Filter::default()
    };
    let cases = [
        (
            open.clone(),
            refs(&[&stale, &c[0], &c[1], &c[2], &c[3], &r[1], &r[6], &r[8]]),
        ),
        (
            Filter {
                kinds: vec!["complaint".into()],
                ..open.clone()
            },
            refs(&[&stale, &c[1], &c[2], &r[6], &r[8]]),
        ),
        (
            Filter {
                search: Search::parse("check"),
                ..open
            },
            refs(&[&stale, &c[0], &c[1], &c[2], &c[3], &r[1], &r[6], &r[8]]),
        ),
        (
            waiting.clone(),
            refs(&[&stale, &c[0], &c[2], &c[3], &r[1], &r[6]]),
        ),
        (
            Filter {
                kinds: vec!["idea".into()],
                ..waiting
            },
            refs(&[&c[0], &c[3], &r[1]]),
        ),
    ];
    for (filter, expected) in cases {
        lists_exactly(db, &filter, &expected, now).await;
    }
}
story!(a_search_of_the_open_and_waiting_views_finds_entries_that_lie_far_apart);
