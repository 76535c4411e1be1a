//! What the stories need of a backend, and each backend's fresh instance.
//!
//! Both backends have these operations under the same names and types;
//! this trait only lets one generic story call either.

use std::future::Future;

use earshot_collector::review::filter::Filter;
use earshot_collector::store::postgres::Postgres;
use earshot_collector::store::{
    Entry, InboxPage, Inserted, NewEntry, NewSite, Site, Store, StoreError, WaitingSummary,
};

use crate::postgres_server::TempPostgres;

pub trait Backend: Sync {
    fn ensure_first_site(
        &self,
        site: NewSite,
        at: i64,
    ) -> impl Future<Output = Result<(Site, bool), StoreError>> + Send;
    fn add_site(
        &self,
        site: NewSite,
        at: i64,
    ) -> impl Future<Output = Result<Site, StoreError>> + Send;
    fn sites(&self) -> impl Future<Output = Result<Vec<Site>, StoreError>> + Send;
    fn insert_entry(
        &self,
        entry: NewEntry,
    ) -> impl Future<Output = Result<Inserted, StoreError>> + Send;
    fn entry_by_status_link(
        &self,
        public_id: String,
        secret: String,
    ) -> impl Future<Output = Result<Option<Entry>, StoreError>> + Send;
    fn inbox(
        &self,
        filter: Filter,
        limit: usize,
        now: i64,
    ) -> impl Future<Output = Result<InboxPage, StoreError>> + Send;
    fn inbox_counted(
        &self,
        filter: Filter,
        limit: usize,
        cap: i64,
        now: i64,
    ) -> impl Future<Output = Result<(InboxPage, i64), StoreError>> + Send;
    fn waiting_summary(
        &self,
        now: i64,
    ) -> impl Future<Output = Result<WaitingSummary, StoreError>> + Send;
}

macro_rules! same_operations {
    ($backend:ty) => {
        impl Backend for $backend {
            fn ensure_first_site(
                &self,
                site: NewSite,
                at: i64,
            ) -> impl Future<Output = Result<(Site, bool), StoreError>> + Send {
                <$backend>::ensure_first_site(self, site, at)
            }
            fn add_site(
                &self,
                site: NewSite,
                at: i64,
            ) -> impl Future<Output = Result<Site, StoreError>> + Send {
                <$backend>::add_site(self, site, at)
            }
            fn sites(&self) -> impl Future<Output = Result<Vec<Site>, StoreError>> + Send {
                <$backend>::sites(self)
            }
            fn insert_entry(
                &self,
                entry: NewEntry,
            ) -> impl Future<Output = Result<Inserted, StoreError>> + Send {
                <$backend>::insert_entry(self, entry)
            }
            fn entry_by_status_link(
                &self,
                public_id: String,
                secret: String,
            ) -> impl Future<Output = Result<Option<Entry>, StoreError>> + Send {
                <$backend>::entry_by_status_link(self, public_id, secret)
            }
            fn inbox(
                &self,
                filter: Filter,
                limit: usize,
                now: i64,
            ) -> impl Future<Output = Result<InboxPage, StoreError>> + Send {
                <$backend>::inbox(self, filter, limit, now)
            }
            fn inbox_counted(
                &self,
                filter: Filter,
                limit: usize,
                cap: i64,
                now: i64,
            ) -> impl Future<Output = Result<(InboxPage, i64), StoreError>> + Send {
                <$backend>::inbox_counted(self, filter, limit, cap, now)
            }
            fn waiting_summary(
                &self,
                now: i64,
            ) -> impl Future<Output = Result<WaitingSummary, StoreError>> + Send {
                <$backend>::waiting_summary(self, now)
            }
        }
    };
}

same_operations!(Store);
same_operations!(Postgres);

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
}

/// A fresh database in a throwaway PostgreSQL server of its own.
pub struct PostgresFixture {
    pub store: Postgres,
    _server: TempPostgres,
}

impl PostgresFixture {
    pub async fn new() -> PostgresFixture {
        let server = TempPostgres::start();
        let store = Postgres::connect(&server.fresh_database())
            .await
            .unwrap_or_else(|e| panic!("connect: {e}\n{}", server.log()));
        PostgresFixture {
            store,
            _server: server,
        }
    }
}

/// `story!(name)` runs `name(&backend)` once on each backend, as the tests
/// `name::on_sqlite` and `name::on_postgres`.
#[macro_export]
macro_rules! story {
    ($story:ident) => {
        mod $story {
            #[tokio::test]
            async fn on_sqlite() {
                let db = $crate::backend::SqliteFixture::new();
                super::$story(&db.store).await;
                db.store.shutdown().await;
            }

            #[tokio::test]
            async fn on_postgres() {
                let db = $crate::backend::PostgresFixture::new().await;
                super::$story(&db.store).await;
            }
        }
    };
}
