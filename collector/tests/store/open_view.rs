//! The open view: every entry not yet closed, answered or not, oldest
//! first, with the inbox's filters, search and pages.

use earshot_collector::review::filter::{Assignee, Filter, Search, View};
use earshot_collector::review::workflow::Status;
use earshot_collector::store::{NewReply, NewUser, Role, Store};

use crate::inbox::{MINUTE, lists_exactly, references};
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
                kind: Some("idea".into()),
                search: Search::parse("astr"),
                ..open.clone()
            },
            want(&[3, 5, 7, 9]),
        ),
        (
            Filter {
                assignee: Some(Assignee::User(ada.id)),
                ..open.clone()
            },
            want(&[6]),
        ),
        (
            Filter {
                status: Some(Status::InProgress),
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
                status: Some(Status::Resolved),
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
