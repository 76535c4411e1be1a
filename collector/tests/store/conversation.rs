//! The customer's side: images attached through the status link, and
//! follow-ups that put the entry back in front of staff.

use earshot_collector::review::filter::{Filter, Search, View};
use earshot_collector::review::workflow::{REPEAT_WINDOW, Settled, Status};
use earshot_collector::store::{Attached, NewReply, NewUser, Role};
use earshot_protocol::{Dimensions, ImageType};

use crate::ingest::{T0, entry, first_site};
use crate::story;
use earshot_collector::store::Store;

async fn images_attach_through_the_status_link_up_to_the_limit(db: &Store) {
    let shop = first_site(db).await;
    let request = serde_json::json!({"message": "See the screenshot"});
    let inserted = db.insert_entry(entry(&shop, T0, request)).await.unwrap();
    let size = Dimensions {
        width: 640,
        height: 480,
    };
    let upload = |secret: &str, byte: u8| {
        db.attach(
            inserted.public_id.clone(),
            secret.to_owned(),
            ImageType::Png,
            size,
            vec![byte; 100],
            T0 + 1,
        )
    };
    assert_eq!(upload("wrong", 0).await.unwrap(), Attached::UnknownEntry);
    let mut stored = Vec::new();
    for byte in 1..=3 {
        match upload(&inserted.status_token, byte).await.unwrap() {
            Attached::Stored { public_id } => stored.push(public_id),
            other => panic!("expected stored, got {other:?}"),
        }
    }
    assert_eq!(
        upload(&inserted.status_token, 4).await.unwrap(),
        Attached::TooMany
    );
    let (mime, bytes) = db
        .attachment(stored[1].clone())
        .await
        .unwrap()
        .expect("stored");
    assert_eq!((mime.as_str(), bytes), ("image/png", vec![2; 100]));
    assert!(db.attachment("att_nothing".into()).await.unwrap().is_none());
    let detail = db.entry_detail(inserted.public_id).await.unwrap().unwrap();
    let listed: Vec<&str> = detail
        .attachments
        .iter()
        .map(|a| a.public_id.as_str())
        .collect();
    assert_eq!(
        listed,
        stored.iter().map(String::as_str).collect::<Vec<_>>()
    );
    let first = &detail.attachments[0];
    assert_eq!(
        (first.size, first.created_at, first.dimensions),
        (100, T0 + 1, Some(size))
    );
    assert_eq!(first.content_type, "image/png");
}
story!(images_attach_through_the_status_link_up_to_the_limit);

async fn a_follow_up_puts_the_entry_back_in_front_of_staff(db: &Store) {
    let shop = first_site(db).await;
    let ada = NewUser {
        email: "ada@shop.example".into(),
        name: "Ada".into(),
        role: Role::Agent,
        password_hash: "x".into(),
    };
    let ada = db.add_user(ada, T0).await.unwrap();
    let request = serde_json::json!({"message": "Order never came"});
    let inserted = db.insert_entry(entry(&shop, T0, request)).await.unwrap();
    let id = db
        .entry_detail(inserted.public_id.clone())
        .await
        .unwrap()
        .unwrap()
        .id;
    // Before any answer, a follow-up does not restart the clock.
    let early = db
        .follow_up(id, "Any news?".into(), T0 + 10)
        .await
        .unwrap()
        .unwrap();
    assert!(!early.reopened);
    let detail = db
        .entry_detail(inserted.public_id.clone())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(detail.followup_at, None);
    let reply = NewReply {
        body: "Which order number?".into(),
        promise: Some(("Answer by Monday".into(), T0 + 1000)),
    };
    let answered = db
        .reply(inserted.public_id.clone(), reply.clone(), ada.id, T0 + 20)
        .await
        .unwrap();
    // Sent twice (a double click): kept, and announced, once.
    let again = db
        .reply(inserted.public_id.clone(), reply, ada.id, T0 + 21)
        .await
        .unwrap();
    assert_eq!(again, answered);
    assert_eq!(db.waiting_summary(T0 + 25).await.unwrap().waiting, 0);
    db.follow_up(id, "It is order 4471-B".into(), T0 + 30)
        .await
        .unwrap()
        .unwrap();
    let hurry = db
        .follow_up(id, "Please hurry".into(), T0 + 40)
        .await
        .unwrap()
        .unwrap();
    // The same words again at once (a double click, the sent form
    // reloaded) are kept once.
    let again = db
        .follow_up(id, "Please hurry".into(), T0 + 45)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.event_id, hurry.event_id);
    let detail = db
        .entry_detail(inserted.public_id.clone())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        detail.followup_at,
        Some(T0 + 30),
        "waiting since the first unanswered"
    );
    let waiting = db.inbox(Filter::default(), 50, T0 + 50).await.unwrap();
    assert_eq!(waiting.rows.len(), 1);
    assert_eq!(waiting.rows[0].followup_at, Some(T0 + 30));
    // Follow-ups are searchable.
    let search = Filter {
        view: View::All,
        search: Search::parse("4471"),
        ..Filter::default()
    };
    assert_eq!(db.inbox(search, 50, T0 + 50).await.unwrap().rows.len(), 1);
    // A closed entry reopens.
    db.set_status(
        inserted.public_id.clone(),
        Status::Resolved,
        ada.id,
        T0 + 60,
    )
    .await
    .unwrap();
    let reopened = db
        .follow_up(id, "Still broken".into(), T0 + 70)
        .await
        .unwrap()
        .unwrap();
    assert!(reopened.reopened);
    let detail = db.entry_detail(inserted.public_id).await.unwrap().unwrap();
    assert_eq!(detail.status, Status::InProgress);
    let said: Vec<(String, bool, Option<Settled>)> = db
        .public_conversation(id)
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.body, m.by_customer, m.promise.map(|p| p.2)))
        .collect();
    let customer = |body: &str| (body.to_owned(), true, None);
    assert_eq!(
        said,
        [
            customer("Any news?"),
            ("Which order number?".to_owned(), false, Some(Settled::Open)),
            customer("It is order 4471-B"),
            customer("Please hurry"),
            customer("Still broken"),
        ]
    );
    // Said again once the moment has passed, it is a new message.
    let later = db
        .follow_up(id, "Still broken".into(), T0 + 70 + REPEAT_WINDOW)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(later.event_id, reopened.event_id);
    assert_eq!(db.public_conversation(id).await.unwrap().len(), 6);
    assert!(
        db.follow_up(id + 1000, "x".into(), T0)
            .await
            .unwrap()
            .is_none()
    );
}
story!(a_follow_up_puts_the_entry_back_in_front_of_staff);
