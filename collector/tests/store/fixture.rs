//! Each backend's fresh instance, and `story!`, which tells one story to
//! both.

use earshot_collector::store::postgres::Postgres;
use earshot_collector::store::{Store, StoreError};

use crate::postgres_server::TempPostgres;

/// A fresh SQLite file; the directory goes when the test ends.
pub struct SqliteFixture {
    pub store: Store,
    _dir: tempfile::TempDir,
}

impl SqliteFixture {
    pub fn new() -> SqliteFixture {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("contract.db")).unwrap();
        SqliteFixture { store, _dir: dir }
    }

    /// The database file, for what a test does to it by hand.
    pub fn path(&self) -> std::path::PathBuf {
        self._dir.path().join("contract.db")
    }
}

/// A fresh database on the test process's throwaway PostgreSQL server.
pub struct PostgresFixture {
    pub store: Store,
}

impl PostgresFixture {
    pub async fn new() -> PostgresFixture {
        let server = TempPostgres::shared();
        let store = Store::connect(&server.fresh_database())
            .await
            .unwrap_or_else(|e| panic!("connect: {e}\n{}", server.log()));
        PostgresFixture { store }
    }
}

/// Makes the SQLite file at `path` read as schema `version`, so the next
/// open applies every later migration again: an upgrade from the version
/// before them, told on data stored by this one.
pub fn rewind_sqlite(path: &std::path::Path, version: i64) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.pragma_update(None, "user_version", version).unwrap();
}

/// A plain client on `url`, for what a test does by hand.
pub async fn psql(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
}

/// As [`rewind_sqlite`], for the PostgreSQL database at `url`.
pub async fn rewind_postgres(url: &str, version: i64) {
    psql(url)
        .await
        .execute(
            "DELETE FROM schema_migrations WHERE version > $1",
            &[&version],
        )
        .await
        .unwrap();
}

/// A collector starting on `url` in the background, which upgrades the
/// schema the test rewound.
pub fn start_upgrade(url: &str) -> tokio::task::JoinHandle<Result<Store, StoreError>> {
    let url = url.to_owned();
    tokio::spawn(async move { Store::connect(&url).await })
}

/// A connection acting for a collector not yet upgraded: like a request,
/// it gives up on a lock it waits 5 s for.
pub async fn older_collector(url: &str) -> tokio_postgres::Client {
    let older = psql(url).await;
    older
        .batch_execute("SET lock_timeout = '5s'")
        .await
        .unwrap();
    older
}

/// Waits until a session of the database `client` is on waits for a lock
/// and `condition` (SQL over `pg_stat_activity`) holds for it: an upgrade
/// running as `upgrading` has reached what the test holds. Fails if the
/// upgrade ends first.
pub async fn until_waiting<T>(
    client: &tokio_postgres::Client,
    condition: &str,
    upgrading: &tokio::task::JoinHandle<T>,
) {
    while waiting(client, condition).await == 0 {
        assert!(
            !upgrading.is_finished(),
            "the upgrade ended without waiting where {condition}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

/// How many sessions of the database `client` is on wait for a lock where
/// `condition` holds.
pub async fn waiting(client: &tokio_postgres::Client, condition: &str) -> i64 {
    client
        .query_one(
            &format!(
                "SELECT count(*) FROM pg_stat_activity
                 WHERE datname = current_database() AND wait_event_type = 'Lock' AND {condition}"
            ),
            &[],
        )
        .await
        .unwrap()
        .get(0)
}

/// The schema versions recorded in the database `client` is on, in order.
pub async fn recorded_versions(client: &tokio_postgres::Client) -> Vec<i64> {
    client
        .query(
            "SELECT version FROM schema_migrations ORDER BY version",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// Every schema version this build knows, in order, as
/// [`recorded_versions`] reads them once each is applied.
pub fn every_version() -> Vec<i64> {
    (1..=Postgres::schema_version()).collect()
}

/// `story!(name)` runs `name(&store)` once on each backend, as the tests
/// `name::on_sqlite` and `name::on_postgres`.
#[macro_export]
macro_rules! story {
    ($story:ident) => {
        mod $story {
            #[tokio::test]
            async fn on_sqlite() {
                let db = $crate::fixture::SqliteFixture::new();
                super::$story(&db.store).await;
                db.store.shutdown().await;
            }

            #[tokio::test]
            async fn on_postgres() {
                let db = $crate::fixture::PostgresFixture::new().await;
                super::$story(&db.store).await;
                db.store.shutdown().await;
            }
        }
    };
}
