//! Card numbers and URL secrets that versions before ingest redacted them
//! stored as sent: the upgrade that brings the rule redacts them in place,
//! on each backend, in the entry, its follow-ups, search and the reports.

use earshot_collector::report::week_of;
use earshot_collector::review::filter::{Filter, Search, View};
use earshot_collector::store::{Period, Store};

use crate::fixture::{SqliteFixture, rewind_postgres, rewind_sqlite};
use crate::ingest::{T0, entry, first_site};
use crate::postgres_server::TempPostgres;
use crate::raw_file::{contains, raw_bytes};

const CARD: &str = "4111111111111111";
const TOKEN: &str = "s3cretvalue42";

/// The public ids and entry ids of what an earlier version stored.
struct Held {
    charged: String,
    mismatch: String,
    plain: String,
    follow_up: i64,
}

/// What a collector before redaction stored. The store keeps what it is
/// given (ingest is what redacts), so this is those rows exactly.
async fn store_unredacted(db: &Store) -> Held {
    let shop = first_site(db).await;
    let charged = serde_json::json!({
        "message": format!("You charged {CARD} twice"),
        "page": {"url": format!("https://shop.example/reset?token={TOKEN}&lang=de")},
    });
    let charged = db.insert_entry(entry(&shop, T0, charged)).await.unwrap();
    let mismatch = serde_json::json!({
        "kind": "expectation",
        "expected": "A refund to 4111 1111 1111 1111",
        "actual": "Nothing after two weeks",
        "page": {
            "url": "https://shop.example/account/ana@example.com/orders?step=2",
            "referrer": "https://mail.example/open?to=ana%40example.com",
        },
    });
    let mismatch = db
        .insert_entry(entry(&shop, T0 + 1, mismatch))
        .await
        .unwrap();
    let plain = serde_json::json!({
        "message": "Order 20261130 never came",
        "page": {"url": "https://shop.example/cart?step=2#delivery"},
    });
    let plain = db.insert_entry(entry(&shop, T0 + 2, plain)).await.unwrap();
    let id = db
        .entry_detail(plain.public_id.clone())
        .await
        .unwrap()
        .unwrap()
        .id;
    let follow_up = db
        .follow_up(id, "It was card 5555-5555-5555-4444".into(), T0 + 3)
        .await
        .unwrap()
        .unwrap()
        .event_id;
    // Searchable and counted, as after a while in production.
    db.index_for_search().await.unwrap();
    db.roll_up().await.unwrap();
    assert_eq!(
        found(db, CARD).await,
        1,
        "the premise: the card number is searchable"
    );
    assert_eq!(
        pages(db).await,
        ["https://shop.example/account/ana@example.com/orders"]
    );
    Held {
        charged: charged.public_id,
        mismatch: mismatch.public_id,
        plain: plain.public_id,
        follow_up,
    }
}

async fn found(db: &Store, words: &str) -> usize {
    let filter = Filter {
        view: View::All,
        search: Search::parse(words),
        ..Filter::default()
    };
    db.inbox(filter, 50, T0 + 60_000).await.unwrap().rows.len()
}

/// The pages the report counts mismatches on.
async fn pages(db: &Store) -> Vec<String> {
    let week = week_of(T0);
    let period = Period {
        from_week: week,
        to_week: week,
        sites: vec![],
    };
    let report = db.rollups(period).await.unwrap();
    report.pages.into_iter().map(|p| p.page).collect()
}

async fn assert_redacted(db: &Store, held: &Held) {
    let charged = db
        .entry_detail(held.charged.clone())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        charged.message.as_deref(),
        Some("You charged ••••••••••••1111 twice")
    );
    assert_eq!(
        charged.page_url.as_deref(),
        Some("https://shop.example/reset?token=[redacted]&lang=de")
    );
    let mismatch = db
        .entry_detail(held.mismatch.clone())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        mismatch.expected.as_deref(),
        Some("A refund to •••• •••• •••• 1111")
    );
    assert_eq!(mismatch.actual.as_deref(), Some("Nothing after two weeks"));
    assert_eq!(
        mismatch.page_url.as_deref(),
        Some("https://shop.example/account/[redacted]/orders?step=2")
    );
    assert_eq!(
        mismatch.page_referrer.as_deref(),
        Some("https://mail.example/open?to=[redacted]")
    );
    let plain = db.entry_detail(held.plain.clone()).await.unwrap().unwrap();
    assert_eq!(plain.message.as_deref(), Some("Order 20261130 never came"));
    assert_eq!(
        plain.page_url.as_deref(),
        Some("https://shop.example/cart?step=2#delivery")
    );
    assert_eq!(
        db.event_body(held.follow_up).await.unwrap().as_deref(),
        Some("It was card ••••-••••-••••-4444")
    );
    // Search forgets the numbers and still finds the words around them.
    assert_eq!(found(db, CARD).await, 0);
    assert_eq!(found(db, "5555").await, 0);
    assert_eq!(found(db, "charged twice").await, 1);
    assert_eq!(found(db, "refund weeks").await, 1);
    assert_eq!(
        found(db, "card").await,
        1,
        "the follow-up is still searchable"
    );
    // The report counts the mismatch on the page as it now reads.
    assert_eq!(
        pages(db).await,
        ["https://shop.example/account/[redacted]/orders"]
    );
}

#[tokio::test]
async fn an_upgrade_redacts_what_an_earlier_version_stored_on_sqlite() {
    let db = SqliteFixture::new();
    let held = store_unredacted(&db.store).await;
    db.store.shutdown().await;
    let path = db.path();
    rewind_sqlite(&path, 26);
    let before = raw_bytes(&path);
    assert!(contains(&before, CARD.as_bytes()) && contains(&before, TOKEN.as_bytes()));

    let upgraded = Store::open(&path).unwrap();
    assert_redacted(&upgraded, &held).await;
    upgraded.shutdown().await;
    drop(upgraded);
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert!(version >= 27);
    drop(conn);
    // secure_delete overwrote what the rows and the index held.
    let after = raw_bytes(&path);
    for gone in [
        CARD,
        "4111 1111 1111 1111",
        "5555-5555-5555-4444",
        TOKEN,
        "ana@example.com/",
    ] {
        assert!(
            !contains(&after, gone.as_bytes()),
            "{gone:?} is still in the file"
        );
    }
}

#[tokio::test]
async fn an_upgrade_redacts_what_an_earlier_version_stored_on_postgres() {
    let server = TempPostgres::shared();
    let url = server.fresh_database();
    let db = Store::connect(&url).await.unwrap();
    let held = store_unredacted(&db).await;
    db.shutdown().await;
    drop(db);
    rewind_postgres(&url, 11).await;

    let upgraded = Store::connect(&url).await.unwrap();
    assert_redacted(&upgraded, &held).await;
    upgraded.shutdown().await;
}
