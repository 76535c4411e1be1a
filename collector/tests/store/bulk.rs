//! Bulk actions from the inbox: what each changes, what it skips, and
//! what it leaves because a colleague changed it since the page was shown.

use earshot_collector::review::workflow::Status;
use earshot_collector::store::{BulkAction, BulkOutcome, BulkTarget, Refusal, Seen, Site, Store};

use crate::ingest::{T0, entry, first_site};
use crate::story;
use crate::workflow::{ada_and_bo, refused, staff};

/// A bulk action's outcome as (changed, skipped, stale).
async fn bulk(
    db: &Store,
    targets: &[BulkTarget],
    action: BulkAction,
    actor: i64,
    at: i64,
) -> (usize, usize, usize) {
    let BulkOutcome {
        changed,
        skipped,
        stale,
    } = db.bulk(targets.to_vec(), action, actor, at).await.unwrap();
    (changed, skipped, stale)
}

/// Three entries on `site`, "Issue 0" to "Issue 2", oldest first.
async fn three_issues(db: &Store, site: &Site) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..3 {
        let request = serde_json::json!({"message": format!("Issue {i}")});
        ids.push(
            db.insert_entry(entry(site, T0 + i, request))
                .await
                .unwrap()
                .public_id,
        );
    }
    ids
}

async fn a_bulk_action_changes_what_it_can_and_counts_the_rest(db: &Store) {
    let shop = first_site(db).await;
    let ada = db
        .add_user(staff("ada@shop.example", "Ada"), T0)
        .await
        .unwrap();
    let ids = three_issues(db, &shop).await;
    db.set_status(ids[0].clone(), Status::Resolved, ada.id, T0 + 10)
        .await
        .unwrap();
    let mut targets: Vec<_> = ids.iter().map(BulkTarget::unseen).collect();
    targets.push(BulkTarget::unseen("no-such-entry"));
    let resolve = BulkAction::Status(Status::Resolved);
    assert_eq!(
        bulk(db, &targets, resolve, ada.id, T0 + 20).await,
        (2, 2, 0)
    );
    let take = BulkAction::Assign(Some(ada.id));
    assert_eq!(bulk(db, &targets, take, ada.id, T0 + 30).await, (3, 1, 0));
    assert_eq!(
        refused(
            db.bulk(
                ids.iter().map(BulkTarget::unseen).collect(),
                BulkAction::Assign(Some(9_999)),
                ada.id,
                T0
            )
            .await
        ),
        Refusal::NoUser
    );
    for id in ids {
        let detail = db.entry_detail(id).await.unwrap().unwrap();
        assert_eq!(
            (
                detail.status,
                detail.assignee_id,
                detail.assignee.as_deref()
            ),
            (Status::Resolved, Some(ada.id), Some("Ada"))
        );
    }
    assert_eq!(db.waiting_summary(T0 + 40).await.unwrap().waiting, 0);
}
story!(a_bulk_action_changes_what_it_can_and_counts_the_rest);

async fn a_bulk_action_leaves_what_a_colleague_changed_since_the_page_was_shown(db: &Store) {
    let shop = first_site(db).await;
    let (ada, bo) = ada_and_bo(db).await;
    let ids = three_issues(db, &shop).await;
    // Ada's page shows all three new and nobody's; meanwhile Bo
    // acknowledges the first and takes the second.
    let shown = Seen {
        status: Status::New,
        assignee: None,
    };
    let targets: Vec<_> = ids
        .iter()
        .map(|id| BulkTarget {
            public_id: id.clone(),
            seen: Some(shown),
        })
        .collect();
    db.set_status(ids[0].clone(), Status::Acknowledged, bo.id, T0 + 10)
        .await
        .unwrap();
    db.assign(ids[1].clone(), Some(bo.id), bo.id, T0 + 10)
        .await
        .unwrap();

    let spam = BulkAction::Status(Status::Spam);
    assert_eq!(bulk(db, &targets, spam, ada.id, T0 + 20).await, (2, 0, 1));
    let take = BulkAction::Assign(Some(ada.id));
    assert_eq!(bulk(db, &targets, take, ada.id, T0 + 30).await, (2, 0, 1));
    let now = |id: &String| {
        let id = id.clone();
        async move {
            let detail = db.entry_detail(id).await.unwrap().unwrap();
            (detail.status, detail.assignee.clone())
        }
    };
    assert_eq!(
        now(&ids[0]).await,
        (Status::Acknowledged, Some("Ada".to_owned()))
    );
    assert_eq!(now(&ids[1]).await, (Status::Spam, Some("Bo".to_owned())));
    assert_eq!(now(&ids[2]).await, (Status::Spam, Some("Ada".to_owned())));
}
story!(a_bulk_action_leaves_what_a_colleague_changed_since_the_page_was_shown);
