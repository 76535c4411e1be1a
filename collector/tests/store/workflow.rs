//! What staff do: replies with promises, status moves, assignment, notes,
//! and settling promises, each on the entry's timeline (bulk actions:
//! `bulk`).

use earshot_collector::review::filter::{Filter, Search, View};
use earshot_collector::review::workflow::{Settled, Status, WorkflowError};
use earshot_collector::store::{
    EventKind, NewReply, NewUser, Refusal, ReviewError, Role, Site, User,
};

use crate::ingest::{T0, entry, first_site};
use crate::story;
use earshot_collector::store::Store;

const HOUR: i64 = 3_600_000;

/// An event as (kind, actor, old value, new value).
type TimelineLine<'a> = (EventKind, Option<&'a str>, Option<&'a str>, Option<&'a str>);

pub(crate) fn refused(result: Result<impl std::fmt::Debug, ReviewError>) -> Refusal {
    match result {
        Err(ReviewError::Refused(refusal)) => refusal,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

pub(crate) fn staff(email: &str, name: &str) -> NewUser {
    NewUser {
        email: email.to_owned(),
        name: name.to_owned(),
        role: Role::Agent,
        password_hash: "x".to_owned(),
    }
}

async fn a_reply_with_a_promise_answers_and_the_promise_is_settled_once(db: &Store) {
    let shop = first_site(db).await;
    let ada = db
        .add_user(staff("ada@shop.example", "Ada"), T0)
        .await
        .unwrap();
    let request = serde_json::json!({"message": "Where is my refund?"});
    let inserted = db.insert_entry(entry(&shop, T0, request)).await.unwrap();
    let id = inserted.public_id.clone();
    assert_eq!(
        db.entry_by_reference(inserted.reference.clone())
            .await
            .unwrap(),
        Some(id.clone())
    );
    assert_eq!(
        db.entry_by_reference("ES-0000-0000".into()).await.unwrap(),
        None
    );
    let reply = NewReply {
        body: "Sorry! It goes out Friday.".into(),
        promise: Some(("Refund sent by Friday".into(), T0 + 48 * HOUR)),
    };
    let event = db
        .reply(id.clone(), reply, ada.id, T0 + HOUR)
        .await
        .unwrap();
    db.mark_reply_mailed(event, true).await.unwrap();
    let detail = db.entry_detail(id.clone()).await.unwrap().expect("entry");
    assert_eq!(detail.status, Status::Acknowledged);
    assert_eq!(detail.first_response_at, Some(T0 + HOUR));
    assert_eq!(detail.message.as_deref(), Some("Where is my refund?"));
    let kinds: Vec<EventKind> = detail.events.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [EventKind::Reply, EventKind::Status]);
    let said = &detail.events[0];
    assert_eq!((said.id, said.actor.as_deref()), (event, Some("Ada")));
    assert_eq!(said.body.as_deref(), Some("Sorry! It goes out Friday."));
    assert_eq!(said.new_value.as_deref(), Some("emailed"));
    let moved = &detail.events[1];
    assert_eq!(
        (moved.old_value.as_deref(), moved.new_value.as_deref()),
        (Some("new"), Some("acknowledged"))
    );
    let [promise] = detail.promises.as_slice() else {
        panic!("one promise: {:?}", detail.promises);
    };
    assert_eq!(promise.text, "Refund sent by Friday");
    assert_eq!(
        (promise.due_at, promise.settled),
        (T0 + 48 * HOUR, Settled::Open)
    );
    assert_eq!(promise.made_by.as_deref(), Some("Ada"));
    assert_eq!(promise.entry_reference, inserted.reference);
    assert_eq!(promise.event_id, event, "made by the reply");
    // Answered: no longer waiting; the promise turns overdue after its day.
    assert!(
        db.inbox(Filter::default(), 50, T0 + 2 * HOUR)
            .await
            .unwrap()
            .rows
            .is_empty()
    );
    assert_eq!(
        db.waiting_summary(T0 + 49 * HOUR)
            .await
            .unwrap()
            .overdue_promises,
        1
    );
    let promised = Filter {
        view: View::All,
        promise: Some(earshot_collector::review::filter::PromiseFilter::Overdue),
        ..Filter::default()
    };
    assert_eq!(
        db.inbox(promised.clone(), 50, T0 + 49 * HOUR)
            .await
            .unwrap()
            .rows
            .len(),
        1
    );
    assert!(
        db.inbox(promised, 50, T0 + 47 * HOUR)
            .await
            .unwrap()
            .rows
            .is_empty()
    );
    // Kept, once.
    db.settle_promise(id.clone(), promise.id, true, ada.id, T0 + 40 * HOUR)
        .await
        .unwrap();
    assert_eq!(
        refused(
            db.settle_promise(id.clone(), promise.id, false, ada.id, T0 + 41 * HOUR)
                .await
        ),
        Refusal::AlreadySettled
    );
    assert_eq!(
        refused(
            db.settle_promise(id.clone(), promise.id + 1000, true, ada.id, T0)
                .await
        ),
        Refusal::NoPromise
    );
    let detail = db.entry_detail(id).await.unwrap().unwrap();
    assert_eq!(detail.promises[0].settled, Settled::Kept);
    assert_eq!(detail.promises[0].settled_at, Some(T0 + 40 * HOUR));
    assert_eq!(detail.events.last().unwrap().kind, EventKind::PromiseKept);
    assert_eq!(
        db.waiting_summary(T0 + 49 * HOUR)
            .await
            .unwrap()
            .overdue_promises,
        0
    );
}
story!(a_reply_with_a_promise_answers_and_the_promise_is_settled_once);

/// Ada and Bo, agents, signed up at `T0`.
pub(crate) async fn ada_and_bo(db: &Store) -> (User, User) {
    let ada = db
        .add_user(staff("ada@shop.example", "Ada"), T0)
        .await
        .unwrap();
    let bo = db
        .add_user(staff("bo@shop.example", "Bo"), T0)
        .await
        .unwrap();
    (ada, bo)
}

/// Ada and Bo at the first site, and one entry there saying `message`.
async fn ada_bo_and_an_entry(db: &Store, message: &str) -> (Site, User, User, String) {
    let shop = first_site(db).await;
    let (ada, bo) = ada_and_bo(db).await;
    let request = serde_json::json!({ "message": message });
    let id = db
        .insert_entry(entry(&shop, T0, request))
        .await
        .unwrap()
        .public_id;
    (shop, ada, bo, id)
}

async fn status_assignment_and_notes_follow_the_rules(db: &Store) {
    let (_, ada, bo, id) = ada_bo_and_an_entry(db, "Login loops").await;
    db.set_status(id.clone(), Status::InProgress, ada.id, T0 + 1)
        .await
        .unwrap();
    assert_eq!(
        refused(
            db.set_status(id.clone(), Status::InProgress, ada.id, T0 + 2)
                .await
        ),
        Refusal::Workflow(WorkflowError::Unchanged(Status::InProgress))
    );
    // A move made on what the colleague saw before another's move is
    // refused, and changes nothing (the timeline below has no trace of it).
    assert_eq!(
        refused(
            db.set_status_seen(
                id.clone(),
                Some(Status::New),
                Status::Resolved,
                bo.id,
                T0 + 2
            )
            .await
        ),
        Refusal::Workflow(WorkflowError::Changed {
            seen: Status::New,
            now: Status::InProgress
        })
    );
    db.assign(id.clone(), Some(bo.id), ada.id, T0 + 3)
        .await
        .unwrap();
    // Taking it on a view from before Bo was assigned is refused.
    assert_eq!(
        refused(
            db.assign_seen(id.clone(), Some(None), Some(ada.id), ada.id, T0 + 3)
                .await
        ),
        Refusal::Reassigned
    );
    // Assigning again to the same colleague changes nothing.
    db.assign(id.clone(), Some(bo.id), ada.id, T0 + 4)
        .await
        .unwrap();
    assert_eq!(
        refused(db.assign(id.clone(), Some(9_999), ada.id, T0).await),
        Refusal::NoUser
    );
    db.add_note(
        id.clone(),
        "Customer uses Safari 14 on a kiosk".into(),
        bo.id,
        T0 + 5,
    )
    .await
    .unwrap();
    db.assign(id.clone(), None, bo.id, T0 + 6).await.unwrap();
    let detail = db.entry_detail(id.clone()).await.unwrap().unwrap();
    assert_eq!(detail.status, Status::InProgress);
    assert_eq!((detail.assignee_id, detail.assignee), (None, None));
    let timeline: Vec<TimelineLine<'_>> = detail
        .events
        .iter()
        .map(|e| {
            (
                e.kind,
                e.actor.as_deref(),
                e.old_value.as_deref(),
                e.new_value.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        timeline,
        [
            (
                EventKind::Status,
                Some("Ada"),
                Some("new"),
                Some("in_progress")
            ),
            (EventKind::Assign, Some("Ada"), None, Some("Bo")),
            (EventKind::Note, Some("Bo"), None, None),
            (EventKind::Assign, Some("Bo"), Some("Bo"), None),
        ]
    );
    assert_eq!(
        detail.events[2].body.as_deref(),
        Some("Customer uses Safari 14 on a kiosk")
    );
    // Notes are searchable.
    let search = Filter {
        view: View::All,
        search: Search::parse("kiosk"),
        ..Filter::default()
    };
    let found = db.inbox(search, 50, T0 + 10).await.unwrap();
    assert_eq!(found.rows.len(), 1);
    assert_eq!(found.rows[0].public_id, id);
    // The same note sent twice (a double click) is kept once; the same
    // words later, or from another colleague, are notes of their own.
    let kiosk = "Customer uses Safari 14 on a kiosk";
    let window = earshot_collector::review::workflow::REPEAT_WINDOW;
    for (by, at) in [
        (bo.id, T0 + 7),
        (bo.id, T0 + 5 + window),
        (ada.id, T0 + 6 + window),
    ] {
        db.add_note(id.clone(), kiosk.into(), by, at).await.unwrap();
    }
    let detail = db.entry_detail(id.clone()).await.unwrap().unwrap();
    let notes: Vec<(Option<&str>, i64)> = detail
        .events
        .iter()
        .filter(|e| e.kind == EventKind::Note)
        .map(|e| (e.actor.as_deref(), e.created_at))
        .collect();
    assert_eq!(
        notes,
        [
            (Some("Bo"), T0 + 5),
            (Some("Bo"), T0 + 5 + window),
            (Some("Ada"), T0 + 6 + window)
        ]
    );
    // Nothing happens to an entry that does not exist.
    let ghost = "no-such-entry".to_owned();
    assert_eq!(
        refused(
            db.set_status(ghost.clone(), Status::Resolved, ada.id, T0)
                .await
        ),
        Refusal::NoEntry
    );
    assert_eq!(
        refused(db.assign(ghost.clone(), None, ada.id, T0).await),
        Refusal::NoEntry
    );
    assert_eq!(
        refused(db.add_note(ghost.clone(), "x".into(), ada.id, T0).await),
        Refusal::NoEntry
    );
    let reply = NewReply {
        body: "x".into(),
        promise: None,
    };
    assert_eq!(
        refused(db.reply(ghost, reply, ada.id, T0).await),
        Refusal::NoEntry
    );
}
story!(status_assignment_and_notes_follow_the_rules);

/// Two colleagues may share a name: an assignment records their accounts,
/// the timeline names each as they are named now, and a promise names its
/// maker's account too.
async fn an_assignment_records_whom_it_moved_by_account_not_by_name(db: &Store) {
    let (_, ada, _, id) = ada_bo_and_an_entry(db, "Wrong size").await;
    let ann = db
        .add_user(staff("ann@shop.example", "Ann"), T0)
        .await
        .unwrap();
    let other_ann = db
        .add_user(staff("ann.b@shop.example", "Ann"), T0)
        .await
        .unwrap();
    db.assign(id.clone(), Some(ann.id), ann.id, T0 + 1)
        .await
        .unwrap();
    db.assign(id.clone(), Some(other_ann.id), ann.id, T0 + 2)
        .await
        .unwrap();
    db.add_note(
        id.clone(),
        "The size chart is wrong".into(),
        other_ann.id,
        T0 + 3,
    )
    .await
    .unwrap();
    db.assign(id.clone(), None, ada.id, T0 + 3).await.unwrap();
    let reply = NewReply {
        body: "A new chart is up".into(),
        promise: Some(("Sizes checked".into(), T0 + 48 * HOUR)),
    };
    db.reply(id.clone(), reply, other_ann.id, T0 + 3)
        .await
        .unwrap();
    db.rename_user(other_ann.id, "Ann Berg".into(), Some(ada.id), T0 + 4)
        .await
        .unwrap();
    let detail = db.entry_detail(id).await.unwrap().unwrap();
    let moves: Vec<_> = detail
        .events
        .iter()
        .filter(|e| e.kind == EventKind::Assign)
        .map(|e| {
            (
                e.actor_id,
                (e.old_user, e.old_value.as_deref()),
                (e.new_user, e.new_value.as_deref()),
            )
        })
        .collect();
    assert_eq!(
        moves,
        [
            (Some(ann.id), (None, None), (Some(ann.id), Some("Ann"))),
            (
                Some(ann.id),
                (Some(ann.id), Some("Ann")),
                (Some(other_ann.id), Some("Ann Berg"))
            ),
            (
                Some(ada.id),
                (Some(other_ann.id), Some("Ann Berg")),
                (None, None)
            ),
        ]
    );
    // Other events name their colleague by account too, and no one moved.
    let note = detail
        .events
        .iter()
        .find(|e| e.kind == EventKind::Note)
        .unwrap();
    assert_eq!(
        (
            note.actor_id,
            note.actor.as_deref(),
            note.old_user,
            note.new_user
        ),
        (Some(other_ann.id), Some("Ann Berg"), None, None)
    );
    let promise = &detail.promises[0];
    assert_eq!(
        (promise.made_by_id, promise.made_by.as_deref()),
        (Some(other_ann.id), Some("Ann Berg"))
    );
}
story!(an_assignment_records_whom_it_moved_by_account_not_by_name);

async fn work_left_with_a_disabled_colleague_stays_theirs_until_handed_on(db: &Store) {
    let (shop, ada, bo, id) = ada_bo_and_an_entry(db, "Invoice missing").await;
    db.assign(id.clone(), Some(bo.id), ada.id, T0 + 1)
        .await
        .unwrap();
    db.set_disabled(bo.id, true, Some(ada.id), T0 + 2)
        .await
        .unwrap();
    // The entry page sends its form back unchanged: no change, no refusal.
    db.assign_seen(id.clone(), Some(Some(bo.id)), Some(bo.id), ada.id, T0 + 3)
        .await
        .unwrap();
    let other = db
        .insert_entry(entry(
            &shop,
            T0 + 4,
            serde_json::json!({"message": "Second"}),
        ))
        .await
        .unwrap()
        .public_id;
    assert_eq!(
        refused(db.assign(other, Some(bo.id), ada.id, T0 + 5).await),
        Refusal::NoUser,
        "no new work for a disabled colleague"
    );
    db.assign_seen(id.clone(), Some(Some(bo.id)), Some(ada.id), ada.id, T0 + 6)
        .await
        .unwrap();
    let detail = db.entry_detail(id).await.unwrap().unwrap();
    assert_eq!(detail.assignee.as_deref(), Some("Ada"));
    let moves: Vec<_> = detail
        .events
        .iter()
        .map(|e| (e.old_value.as_deref(), e.new_value.as_deref()))
        .collect();
    assert_eq!(moves, [(None, Some("Bo")), (Some("Bo"), Some("Ada"))]);
}
story!(work_left_with_a_disabled_colleague_stays_theirs_until_handed_on);

/// A state the binary does not know (a hand edit, a newer version's value)
/// fails the read instead of passing for "new" or "open", which the next
/// move would then overwrite; `corrupt(public_id)` writes one by hand.
async fn an_unknown_stored_state_is_an_error_not_a_default(
    db: &Store,
    corrupt: impl AsyncFnOnce(&str),
) {
    let shop = first_site(db).await;
    let ada = db
        .add_user(staff("ada@shop.example", "Ada"), T0)
        .await
        .unwrap();
    let request = serde_json::json!({"message": "Where is my refund?"});
    let id = db
        .insert_entry(entry(&shop, T0, request))
        .await
        .unwrap()
        .public_id;
    let reply = NewReply {
        body: "It goes out Friday.".into(),
        promise: Some(("Refund sent by Friday".into(), T0 + 48 * HOUR)),
    };
    db.reply(id.clone(), reply, ada.id, T0 + HOUR)
        .await
        .unwrap();
    corrupt(&id).await;

    let read = db.entry_detail(id.clone()).await;
    let error = read.expect_err("an unknown status is not read as a default");
    let said = error_chain(&error);
    assert!(said.contains("unknown entry status \"archived\""), "{said}");
    let moved = db
        .set_status(id.clone(), Status::Resolved, ada.id, T0 + 2 * HOUR)
        .await;
    assert!(
        matches!(moved, Err(ReviewError::Store(_))),
        "a move from an unknown status is not made: {moved:?}"
    );
}

/// An error with every source it wraps, as the log shows it.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut said = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        said.push_str(": ");
        said.push_str(&cause.to_string());
        source = cause.source();
    }
    said
}

#[tokio::test]
async fn an_unknown_stored_state_is_an_error_on_sqlite() {
    let fixture = crate::fixture::SqliteFixture::new();
    let path = fixture.path();
    an_unknown_stored_state_is_an_error_not_a_default(&fixture.store, async |id: &str| {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute(
            "UPDATE entries SET status = 'archived' WHERE public_id = ?1",
            [id],
        )
        .unwrap();
    })
    .await;
    fixture.store.shutdown().await;
}

#[tokio::test]
async fn an_unknown_stored_state_is_an_error_on_postgres() {
    let url = crate::postgres_server::TempPostgres::shared().fresh_database();
    let store = Store::connect(&url).await.unwrap();
    an_unknown_stored_state_is_an_error_not_a_default(&store, async |id: &str| {
        crate::fixture::psql(&url)
            .await
            .execute(
                "UPDATE entries SET status = 'archived' WHERE public_id = $1",
                &[&id],
            )
            .await
            .unwrap();
    })
    .await;
    store.shutdown().await;
}
