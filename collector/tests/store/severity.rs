//! Praise and ideas carry no severity. Widgets before that rule sent the
//! one chosen before the customer switched kind, and collectors stored it:
//! the upgrade that brings the rule drops it, on each backend, from the
//! entries, the inbox's severity filter and the report's weekly counts.

use earshot_collector::report::week_of;
use earshot_collector::review::filter::{Filter, View};
use earshot_collector::store::{Period, Store};

use crate::fixture::{
    SqliteFixture, every_version, older_collector, psql, recorded_versions, rewind_postgres,
    rewind_sqlite, start_upgrade, until_waiting, waiting,
};
use crate::ingest::{T0, entry, first_site};
use crate::postgres_server::TempPostgres;

/// The public ids of what an earlier version stored, in the order stored:
/// blocking praise, an annoying idea, a blocking complaint, plain praise.
async fn store_with_severities(db: &Store) -> Vec<String> {
    let shop = first_site(db).await;
    let mut held = Vec::new();
    for (i, (kind, severity)) in [
        ("praise", Some("blocking")),
        ("idea", Some("annoying")),
        ("complaint", Some("blocking")),
        ("praise", None),
    ]
    .into_iter()
    .enumerate()
    {
        let mut request = serde_json::json!({"kind": kind, "message": "Words"});
        if let Some(severity) = severity {
            request["severity"] = severity.into();
        }
        let at = T0 + i64::try_from(i).unwrap();
        held.push(
            db.insert_entry(entry(&shop, at, request))
                .await
                .unwrap()
                .public_id,
        );
    }
    db.roll_up().await.unwrap();
    assert_eq!(
        blocking(db).await,
        2,
        "the premise: praise was stored as blocking"
    );
    held
}

async fn severities(db: &Store, held: &[String]) -> Vec<Option<String>> {
    let mut out = Vec::new();
    for id in held {
        out.push(db.entry_detail(id.clone()).await.unwrap().unwrap().severity);
    }
    out
}

async fn blocking(db: &Store) -> usize {
    let filter = Filter {
        view: View::All,
        severities: vec!["blocking".into()],
        ..Filter::default()
    };
    db.inbox(filter, 50, T0 + 60_000).await.unwrap().rows.len()
}

/// The report's entries this week by severity ("" for none).
async fn weekly(db: &Store) -> Vec<(String, i64)> {
    let week = week_of(T0);
    let period = Period {
        from_week: week,
        to_week: week,
        sites: vec![],
    };
    let report = db.rollups(period).await.unwrap();
    report
        .volume_by_severity
        .into_iter()
        .map(|((_, severity), n)| (severity, n))
        .collect()
}

async fn assert_dropped(db: &Store, held: &[String]) {
    assert_eq!(
        severities(db, held).await,
        [None, None, Some("blocking".into()), None]
    );
    assert_eq!(blocking(db).await, 1, "only the complaint is blocking");
    assert_eq!(
        weekly(db).await,
        [("".into(), 3), ("blocking".into(), 1)],
        "moved to no severity, each entry counted once"
    );
}

#[tokio::test]
async fn an_upgrade_drops_the_severity_of_praise_and_ideas_on_sqlite() {
    let db = SqliteFixture::new();
    let held = store_with_severities(&db.store).await;
    db.store.shutdown().await;
    rewind_sqlite(&db.path(), 27);

    let upgraded = Store::open(&db.path()).unwrap();
    assert_dropped(&upgraded, &held).await;
    upgraded.shutdown().await;
}

#[tokio::test]
async fn an_upgrade_drops_the_severity_of_praise_and_ideas_on_postgres() {
    let server = TempPostgres::shared();
    let url = server.fresh_database();
    let db = Store::connect(&url).await.unwrap();
    let held = store_with_severities(&db).await;
    db.shutdown().await;
    drop(db);
    rewind_postgres(&url, 12).await;

    let upgraded = Store::connect(&url).await.unwrap();
    assert_dropped(&upgraded, &held).await;
    upgraded.shutdown().await;
}

/// Dropping the severity of 400,000 stored praise took 51 s on
/// PostgreSQL, in the one transaction of version 13: a colleague changing
/// any of them on a collector not yet upgraded waited as long (or gave
/// up). Now the upgrade rewrites them a page at a time; here it is held
/// on the last page (this test locks a row of it) while an older collector
/// changes an entry of the first.
#[tokio::test]
async fn older_collectors_change_praise_while_an_upgrade_drops_severities_on_postgres() {
    let server = TempPostgres::shared();
    let url = server.fresh_database();
    let db = Store::connect(&url).await.unwrap();
    let shop = first_site(&db).await;
    db.shutdown().await;
    drop(db);
    let mut holder = psql(&url).await;
    // More than two pages of 10,000.
    holder
        .execute(
            "INSERT INTO entries (public_id, reference, status_token, site_id, kind, severity,
                 message, created_at)
             SELECT 'e_praise' || n, 'ES-PRAI-' || n, 't', $1, 'praise', 'blocking',
                    'Lovely', $2
             FROM generate_series(1, 20005) n",
            &[&shop.id, &T0],
        )
        .await
        .unwrap();
    rewind_postgres(&url, 12).await;

    let hold = holder.transaction().await.unwrap();
    hold.query_one(
        "SELECT id FROM entries WHERE public_id = 'e_praise20005' FOR UPDATE",
        &[],
    )
    .await
    .unwrap();
    let upgrading = start_upgrade(&url);
    let older = older_collector(&url).await;
    let dropping = "query LIKE '%UPDATE entries SET severity%'";
    until_waiting(&older, dropping, &upgrading).await;
    let changed = older
        .execute(
            "UPDATE entries SET status = 'resolved' WHERE public_id = 'e_praise1'",
            &[],
        )
        .await
        .expect("an older collector changes praise while version 13 rewrites more");
    assert_eq!(changed, 1);
    assert!(
        waiting(&older, dropping).await > 0,
        "the upgrade was still rewriting"
    );
    assert!(!upgrading.is_finished());
    // Stored meanwhile by an older collector, which keeps the severity:
    // version 13's own transaction drops it.
    older
        .execute(
            "INSERT INTO entries (public_id, reference, status_token, site_id, kind, severity,
                 message, created_at)
             VALUES ('e_older', 'ES-OLDR-0001', 't', $1, 'idea', 'annoying', 'Meanwhile', $2)",
            &[&shop.id, &T0],
        )
        .await
        .unwrap();
    hold.commit().await.unwrap();

    let upgraded = upgrading.await.unwrap().unwrap();
    let left: i64 = older
        .query_one(
            "SELECT count(*) FROM entries WHERE severity IS NOT NULL",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0);
    assert_eq!(recorded_versions(&older).await, every_version());
    upgraded.shutdown().await;
}
