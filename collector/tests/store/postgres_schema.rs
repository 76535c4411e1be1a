//! What only the PostgreSQL backend's schema has to prove: collectors
//! starting together migrate once, an upgrade leaves older collectors
//! working (also while it rebuilds indexes), a newer schema is refused
//! and missing indexes come back.

use earshot_collector::store::postgres::Postgres;
use earshot_collector::store::{Store, StoreError};

use crate::fixture::{
    every_version, older_collector, psql, recorded_versions, rewind_postgres, start_upgrade,
    until_waiting,
};
use crate::ingest::{T0, entry, first_site, stored};
use crate::postgres_server::TempPostgres;

#[tokio::test]
async fn collectors_starting_together_migrate_exactly_once() {
    let server = TempPostgres::start();
    let url = server.fresh_database();
    let starts = futures::future::join_all((0..6).map(|_| Postgres::connect_with(&url, 2))).await;
    for start in &starts {
        assert!(
            start.is_ok(),
            "{:?}\n{}",
            start.as_ref().err(),
            server.log()
        );
    }
    let client = psql(&url).await;
    assert_eq!(
        recorded_versions(&client).await,
        every_version(),
        "each version applied once, in order"
    );
    // Starting again finds the schema current.
    Postgres::connect(&url).await.unwrap().ping().await.unwrap();
}

/// An upgrade commits each version on its own. In one transaction, the
/// index version 16 builds on `entries` kept collectors not yet upgraded
/// from changing any entry until the last version had committed: here
/// version 17 waits for a lock this test holds on `sites`, and an older
/// collector changes an entry meanwhile.
#[tokio::test]
async fn an_older_collector_changes_entries_while_a_later_version_of_an_upgrade_waits() {
    let server = TempPostgres::shared();
    let url = server.fresh_database();
    let store = Store::connect(&url).await.unwrap();
    let shop = first_site(&store).await;
    let entry = store
        .insert_entry(entry(&shop, T0, serde_json::json!({"message": "Hello"})))
        .await
        .unwrap();
    store.shutdown().await;
    drop(store);
    let mut holder = psql(&url).await;
    holder
        .batch_execute("DROP INDEX entries_email_key")
        .await
        .unwrap();
    rewind_postgres(&url, 15).await;

    let hold = holder.transaction().await.unwrap();
    hold.batch_execute("LOCK TABLE sites IN ACCESS SHARE MODE")
        .await
        .unwrap();
    let upgrading = start_upgrade(&url);
    let older = older_collector(&url).await;
    until_waiting(&older, "query LIKE '%sites_name%'", &upgrading).await;
    let changed = older
        .execute(
            "UPDATE entries SET status = 'resolved' WHERE public_id = $1",
            &[&entry.public_id],
        )
        .await
        .expect("an older collector changes an entry while version 17 waits");
    assert_eq!(changed, 1);
    assert!(!upgrading.is_finished());
    hold.commit().await.unwrap();

    let upgraded = upgrading.await.unwrap().unwrap();
    assert_eq!(recorded_versions(&older).await, every_version());
    upgraded.shutdown().await;
}

#[tokio::test]
async fn a_database_from_a_newer_earshot_is_refused() {
    let server = TempPostgres::start();
    let url = server.fresh_database();
    Postgres::connect(&url).await.unwrap();
    let client = psql(&url).await;
    client
        .execute("INSERT INTO schema_migrations (version) VALUES (99)", &[])
        .await
        .unwrap();
    match Postgres::connect(&url).await {
        Err(StoreError::SchemaTooNew { found: 99, known }) => assert!(known < 99),
        other => panic!("expected SchemaTooNew, got {:?}", other.err()),
    }
}

#[tokio::test]
async fn indexes_removed_by_hand_or_left_invalid_are_made_again_at_start() {
    let server = TempPostgres::shared();
    let url = server.fresh_database();
    two_entries(&url).await;
    let client = psql(&url).await;
    let whole = index_definitions(&client).await;
    assert!(whole.len() > 20, "{whole:?}");
    // One changed by a later version, one with a storage setting, one on
    // an expression.
    client
        .batch_execute(
            "DROP INDEX entries_created; DROP INDEX entries_search; DROP INDEX sites_name;",
        )
        .await
        .unwrap();
    assert_eq!(index_definitions(&client).await.len(), whole.len() - 3);
    // A build that failed part-way leaves an invalid index of its name.
    client
        .batch_execute("CREATE UNIQUE INDEX CONCURRENTLY entries_created ON entries (site_id)")
        .await
        .unwrap_err();

    Postgres::connect(&url).await.unwrap().ping().await.unwrap();
    assert_eq!(index_definitions(&client).await, whole);
    let invalid = count(
        &client,
        "SELECT count(*) FROM pg_index WHERE NOT indisvalid",
    )
    .await;
    assert_eq!(invalid, 0);
    let search_options: Option<Vec<String>> = client
        .query_one(
            "SELECT reloptions FROM pg_class WHERE relname = 'entries_search'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(search_options, Some(vec!["fastupdate=off".to_owned()]));
    let reference = count(
        &client,
        "SELECT count(*) FROM pg_namespace WHERE nspname = 'earshot_reference'",
    )
    .await;
    assert_eq!(reference, 0, "the reference copy is never kept");
}

/// A version that rebuilds an index (23: the kind's and the open view's,
/// with the filters' columns beside them) upgrades a database where that
/// index was removed by hand, or where a crash stopped the upgrade after
/// dropping it, with its half-built replacement left behind, and the
/// index comes back as the version makes it.
#[tokio::test]
async fn an_upgrade_that_rebuilds_indexes_passes_ones_removed_by_hand_or_half_built() {
    let server = TempPostgres::shared();
    let url = server.fresh_database();
    two_entries(&url).await;
    let client = psql(&url).await;
    let whole = index_definitions(&client).await;
    client
        .batch_execute("DROP INDEX entries_kind; DROP INDEX entries_open;")
        .await
        .unwrap();
    // A build that failed part-way leaves an invalid index of its name.
    client
        .batch_execute("CREATE UNIQUE INDEX CONCURRENTLY entries_kind_rebuilt ON entries (site_id)")
        .await
        .unwrap_err();
    rewind_postgres(&url, 22).await;

    let upgraded = Postgres::connect(&url).await;
    assert!(upgraded.is_ok(), "{:?}", upgraded.err());
    assert_eq!(recorded_versions(&client).await, every_version());
    assert_eq!(
        index_definitions(&client).await,
        whole,
        "as version 23 makes them"
    );
    let left = count(
        &client,
        "SELECT count(*) FROM pg_class WHERE relname LIKE '%rebuilt'",
    )
    .await;
    assert_eq!(left, 0, "the half-built index is gone");
}

/// Version 23 rebuilds two indexes of `entries`. Built in the version's
/// transaction, they made every write to `entries` from a collector not
/// yet upgraded wait until it committed (about 2 s per million entries
/// each, and behind any transaction the build itself waited for); built
/// concurrently, they do not. Here the build waits for a change this test
/// keeps open, and an older collector changes another entry meanwhile.
#[tokio::test]
async fn an_older_collector_changes_entries_while_an_upgrade_rebuilds_their_indexes() {
    let server = TempPostgres::shared();
    let url = server.fresh_database();
    let ids = two_entries(&url).await;
    let client = psql(&url).await;
    let whole = index_definitions(&client).await;
    rewind_postgres(&url, 22).await;

    changed_while_a_start_builds_an_index(server, &url, &ids).await;
    assert_eq!(recorded_versions(&client).await, every_version());
    assert_eq!(
        index_definitions(&client).await,
        whole,
        "as a new database has them"
    );
    let invalid = count(
        &client,
        "SELECT count(*) FROM pg_index WHERE NOT indisvalid",
    )
    .await;
    assert_eq!(invalid, 0);
}

/// An index dropped by hand is made again at start the same way: the
/// collectors already serving keep writing while it is built.
#[tokio::test]
async fn an_older_collector_changes_entries_while_a_start_makes_a_missing_index_again() {
    let server = TempPostgres::shared();
    let url = server.fresh_database();
    let ids = two_entries(&url).await;
    let client = psql(&url).await;
    let whole = index_definitions(&client).await;
    client
        .batch_execute("DROP INDEX entries_created")
        .await
        .unwrap();

    changed_while_a_start_builds_an_index(server, &url, &ids).await;
    assert_eq!(index_definitions(&client).await, whole);
}

/// Starts a collector on `url` whose start builds an index, holds the
/// build up with a change to the first of `ids` kept open, and has a
/// collector already serving change the second meanwhile: that change must
/// not wait for the build. Then lets the start finish.
async fn changed_while_a_start_builds_an_index(server: &TempPostgres, url: &str, ids: &[String]) {
    let mut holder = psql(url).await;
    let hold = holder.transaction().await.unwrap();
    hold.execute(
        "UPDATE entries SET status = 'acknowledged' WHERE public_id = $1",
        &[&ids[0]],
    )
    .await
    .unwrap();
    let starting = start_upgrade(url);
    let older = older_collector(url).await;
    until_waiting(&older, "query LIKE '%INDEX%'", &starting).await;
    let changed = older
        .execute(
            "UPDATE entries SET status = 'resolved' WHERE public_id = $1",
            &[&ids[1]],
        )
        .await
        .expect("a collector changes an entry while another's start builds an index");
    assert_eq!(changed, 1);
    assert!(!starting.is_finished());
    hold.commit().await.unwrap();

    let started = starting.await.unwrap();
    assert!(started.is_ok(), "{:?}\n{}", started.err(), server.log());
    started.unwrap().shutdown().await;
}

/// Collectors started together upgrade as they create: one applies each
/// version, the others wait. An index built concurrently waits for every
/// transaction that holds a snapshot, and a collector waiting for the
/// upgrade's lock inside a statement held one: each waited for the other
/// until PostgreSQL called it a deadlock and failed one of them.
#[tokio::test]
async fn collectors_starting_together_upgrade_exactly_once() {
    let server = TempPostgres::shared();
    let url = server.fresh_database();
    Postgres::connect(&url).await.unwrap();
    let client = psql(&url).await;
    let whole = index_definitions(&client).await;
    rewind_postgres(&url, 22).await;

    let starts = futures::future::join_all((0..4).map(|_| Postgres::connect_with(&url, 2))).await;
    for start in &starts {
        assert!(
            start.is_ok(),
            "{:?}\n{}",
            start.as_ref().err(),
            server.log()
        );
    }
    assert_eq!(
        recorded_versions(&client).await,
        every_version(),
        "each version applied once, in order"
    );
    assert_eq!(index_definitions(&client).await, whole);
}

/// A database made by the first release, with entries stored then,
/// upgrades version by version (each on its own path: indexes built
/// concurrently, stored rows rewritten a page at a time) to what a new
/// database is, and keeps its entries.
#[tokio::test]
async fn a_database_from_the_first_release_upgrades_to_what_a_new_one_is() {
    let server = TempPostgres::shared();
    let new = server.fresh_database();
    Postgres::connect(&new).await.unwrap();
    let old = server.fresh_database();
    let client = psql(&old).await;
    client
        .batch_execute(include_str!("../../src/store/postgres/schema/0001.sql"))
        .await
        .unwrap();
    client
        .batch_execute(
            "CREATE TABLE schema_migrations (
                 version    bigint PRIMARY KEY,
                 applied_at timestamptz NOT NULL DEFAULT now()
             );
             INSERT INTO schema_migrations (version) VALUES (1);
             INSERT INTO sites (key, name, origins, created_at)
                 VALUES ('shop', 'Shop', 'https://shop.example', 0);
             INSERT INTO entries (public_id, reference, status_token, site_id, kind,
                                  message, email, severity, created_at)
             VALUES ('p1', 'FB-1', 't1', 1, 'idea', 'Dark mode please', NULL, 'blocking', 1),
                    ('p2', 'FB-2', 't2', 1, 'complaint', 'Card 4111 1111 1111 1111 was charged twice',
                     ' Ana@Bücher.Example ', 'blocking', 2),
                    ('p3', 'FB-3', 't3', 1, 'praise', 'Lovely', 'bo@shop.example', NULL, 3);",
        )
        .await
        .unwrap();

    let upgraded = Store::connect(&old).await;
    assert!(upgraded.is_ok(), "{:?}\n{}", upgraded.err(), server.log());
    let upgraded = upgraded.unwrap();
    assert_eq!(recorded_versions(&client).await, every_version());
    assert_eq!(schema_of(&client).await, schema_of(&psql(&new).await).await);
    assert_eq!(stored(&upgraded).await, 3);
    let severities: Vec<(String, Option<String>)> = client
        .query("SELECT reference, severity FROM entries ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        severities,
        [
            ("FB-1".to_owned(), None),
            ("FB-2".to_owned(), Some("blocking".to_owned())),
            ("FB-3".to_owned(), None),
        ],
        "praise and ideas carry no severity"
    );
    let keyed = count(
        &client,
        "SELECT count(*) FROM entries WHERE email_key IS NOT NULL",
    )
    .await;
    assert_eq!(keyed, 2, "every stored address is keyed");
    upgraded.shutdown().await;
}

/// What the schema `public` holds: each column with its type, default and
/// whether it may be empty; each index, constraint and trigger; each
/// function's source.
async fn schema_of(client: &tokio_postgres::Client) -> Vec<String> {
    client
        .query(
            "SELECT table_name || '.' || column_name || ' ' || data_type || ' '
                    || is_nullable || ' ' || coalesce(column_default, '')
             FROM information_schema.columns WHERE table_schema = 'public'
             UNION ALL
             SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'
             UNION ALL
             SELECT conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)
             FROM pg_constraint WHERE connamespace = 'public'::regnamespace
             UNION ALL
             SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal
             UNION ALL
             SELECT proname || ' ' || md5(prosrc)
             FROM pg_proc WHERE pronamespace = 'public'::regnamespace
             ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// Stores two entries in the database at `url`, and returns their public
/// ids.
async fn two_entries(url: &str) -> Vec<String> {
    let store = Store::connect(url).await.unwrap();
    let shop = first_site(&store).await;
    let mut ids = Vec::new();
    for message in ["Hello", "Again"] {
        let stored = store
            .insert_entry(entry(&shop, T0, serde_json::json!({"message": message})))
            .await
            .unwrap();
        ids.push(stored.public_id);
    }
    store.shutdown().await;
    ids
}

/// What a query for one count answers.
async fn count(client: &tokio_postgres::Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.unwrap().get(0)
}

/// Every index in the schema `public`, as its name and definition.
async fn index_definitions(client: &tokio_postgres::Client) -> Vec<(String, String)> {
    client
        .query(
            "SELECT indexname::text, indexdef FROM pg_indexes
             WHERE schemaname = 'public' ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

#[tokio::test]
async fn a_role_that_may_not_create_schemas_still_starts_without_the_index_check() {
    let server = TempPostgres::shared();
    let url = server.fresh_database();
    let admin = psql(&url).await;
    // The common hosted set-up: the database belongs to someone else; the
    // collector's role may create tables in its schema, not schemas.
    admin
        .batch_execute(
            "CREATE ROLE clerk LOGIN;
             CREATE EXTENSION unaccent;
             GRANT CREATE, USAGE ON SCHEMA public TO clerk;",
        )
        .await
        .unwrap();
    let clerk_url = url.replacen("earshot@", "clerk@", 1);
    Postgres::connect(&clerk_url).await.unwrap();
    admin
        .batch_execute("DROP INDEX entries_created")
        .await
        .unwrap();
    let store = Postgres::connect(&clerk_url)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", server.log()));
    store.ping().await.unwrap();
    let created = count(
        &admin,
        "SELECT count(*) FROM pg_indexes WHERE indexname = 'entries_created'",
    )
    .await;
    assert_eq!(created, 0, "the check was skipped, not half done");

    // A version that rebuilds indexes reads what to build from the same
    // copy: without it, the version is applied as written.
    rewind_postgres(&url, 22).await;
    let upgraded = Postgres::connect(&clerk_url).await;
    assert!(upgraded.is_ok(), "{:?}\n{}", upgraded.err(), server.log());
    assert_eq!(recorded_versions(&admin).await, every_version());
    let kind: String = admin
        .query_one(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'entries_kind'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(
        kind.contains("INCLUDE (status, assignee_id, severity, site_id)"),
        "{kind}"
    );
}
