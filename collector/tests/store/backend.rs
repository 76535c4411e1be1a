//! What the stories need of a backend, and each backend's fresh instance.
//!
//! Both backends have these operations under the same names and types;
//! this trait only lets one generic story call either.

use std::future::Future;

use earshot_collector::auth::Attempt;
use earshot_collector::review::filter::Filter;
use earshot_collector::review::workflow::Status;
use earshot_collector::store::postgres::Postgres;
use earshot_collector::store::{
    BulkAction, BulkOutcome, Entry, EntryDetail, InboxPage, Inserted, NewEntry, NewReply, NewSite,
    NewUser, ReviewError, Session, Site, Store, StoreError, User, WaitingSummary,
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
    fn add_user(
        &self,
        user: NewUser,
        at: i64,
    ) -> impl Future<Output = Result<User, StoreError>> + Send;
    fn add_first_admin(
        &self,
        user: NewUser,
        at: i64,
    ) -> impl Future<Output = Result<Option<User>, StoreError>> + Send;
    fn user_count(&self) -> impl Future<Output = Result<i64, StoreError>> + Send;
    fn users(&self) -> impl Future<Output = Result<Vec<User>, StoreError>> + Send;
    fn user_for_login(
        &self,
        email: String,
    ) -> impl Future<Output = Result<Option<(User, String)>, StoreError>> + Send;
    fn set_password(
        &self,
        email: String,
        password_hash: String,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    fn create_session(
        &self,
        id_hash: Vec<u8>,
        user_id: i64,
        csrf_token: String,
        now: i64,
        replacing: Option<Vec<u8>>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn session(
        &self,
        id_hash: Vec<u8>,
    ) -> impl Future<Output = Result<Option<Session>, StoreError>> + Send;
    fn touch_session(
        &self,
        id_hash: Vec<u8>,
        now: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn delete_session(
        &self,
        id_hash: Vec<u8>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn delete_expired_sessions(
        &self,
        idle_before: i64,
        created_before: i64,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;
    fn record_login_attempt(
        &self,
        at: i64,
        attempt: Attempt,
        forget_before: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn login_attempts_since(
        &self,
        since: i64,
    ) -> impl Future<Output = Result<Vec<(i64, Attempt)>, StoreError>> + Send;
    fn entry_by_reference(
        &self,
        reference: String,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;
    fn entry_detail(
        &self,
        public_id: String,
    ) -> impl Future<Output = Result<Option<EntryDetail>, StoreError>> + Send;
    fn set_status(
        &self,
        public_id: String,
        to: Status,
        actor: i64,
        at: i64,
    ) -> impl Future<Output = Result<(), ReviewError>> + Send;
    fn assign(
        &self,
        public_id: String,
        assignee: Option<i64>,
        actor: i64,
        at: i64,
    ) -> impl Future<Output = Result<(), ReviewError>> + Send;
    fn add_note(
        &self,
        public_id: String,
        body: String,
        actor: i64,
        at: i64,
    ) -> impl Future<Output = Result<(), ReviewError>> + Send;
    fn reply(
        &self,
        public_id: String,
        new: NewReply,
        actor: i64,
        at: i64,
    ) -> impl Future<Output = Result<i64, ReviewError>> + Send;
    fn mark_reply_mailed(
        &self,
        event_id: i64,
        sent: bool,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn settle_promise(
        &self,
        public_id: String,
        promise_id: i64,
        kept: bool,
        actor: i64,
        at: i64,
    ) -> impl Future<Output = Result<(), ReviewError>> + Send;
    fn bulk(
        &self,
        public_ids: Vec<String>,
        action: BulkAction,
        actor: i64,
        at: i64,
    ) -> impl Future<Output = Result<BulkOutcome, ReviewError>> + Send;
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
            fn add_user(
                &self,
                user: NewUser,
                at: i64,
            ) -> impl Future<Output = Result<User, StoreError>> + Send {
                <$backend>::add_user(self, user, at)
            }
            fn add_first_admin(
                &self,
                user: NewUser,
                at: i64,
            ) -> impl Future<Output = Result<Option<User>, StoreError>> + Send {
                <$backend>::add_first_admin(self, user, at)
            }
            fn user_count(&self) -> impl Future<Output = Result<i64, StoreError>> + Send {
                <$backend>::user_count(self)
            }
            fn users(&self) -> impl Future<Output = Result<Vec<User>, StoreError>> + Send {
                <$backend>::users(self)
            }
            fn user_for_login(
                &self,
                email: String,
            ) -> impl Future<Output = Result<Option<(User, String)>, StoreError>> + Send {
                <$backend>::user_for_login(self, email)
            }
            fn set_password(
                &self,
                email: String,
                password_hash: String,
            ) -> impl Future<Output = Result<bool, StoreError>> + Send {
                <$backend>::set_password(self, email, password_hash)
            }
            fn create_session(
                &self,
                id_hash: Vec<u8>,
                user_id: i64,
                csrf_token: String,
                now: i64,
                replacing: Option<Vec<u8>>,
            ) -> impl Future<Output = Result<(), StoreError>> + Send {
                <$backend>::create_session(self, id_hash, user_id, csrf_token, now, replacing)
            }
            fn session(
                &self,
                id_hash: Vec<u8>,
            ) -> impl Future<Output = Result<Option<Session>, StoreError>> + Send {
                <$backend>::session(self, id_hash)
            }
            fn touch_session(
                &self,
                id_hash: Vec<u8>,
                now: i64,
            ) -> impl Future<Output = Result<(), StoreError>> + Send {
                <$backend>::touch_session(self, id_hash, now)
            }
            fn delete_session(
                &self,
                id_hash: Vec<u8>,
            ) -> impl Future<Output = Result<(), StoreError>> + Send {
                <$backend>::delete_session(self, id_hash)
            }
            fn delete_expired_sessions(
                &self,
                idle_before: i64,
                created_before: i64,
            ) -> impl Future<Output = Result<usize, StoreError>> + Send {
                <$backend>::delete_expired_sessions(self, idle_before, created_before)
            }
            fn record_login_attempt(
                &self,
                at: i64,
                attempt: Attempt,
                forget_before: i64,
            ) -> impl Future<Output = Result<(), StoreError>> + Send {
                <$backend>::record_login_attempt(self, at, attempt, forget_before)
            }
            fn login_attempts_since(
                &self,
                since: i64,
            ) -> impl Future<Output = Result<Vec<(i64, Attempt)>, StoreError>> + Send {
                <$backend>::login_attempts_since(self, since)
            }
            fn entry_by_reference(
                &self,
                reference: String,
            ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send {
                <$backend>::entry_by_reference(self, reference)
            }
            fn entry_detail(
                &self,
                public_id: String,
            ) -> impl Future<Output = Result<Option<EntryDetail>, StoreError>> + Send {
                <$backend>::entry_detail(self, public_id)
            }
            fn set_status(
                &self,
                public_id: String,
                to: Status,
                actor: i64,
                at: i64,
            ) -> impl Future<Output = Result<(), ReviewError>> + Send {
                <$backend>::set_status(self, public_id, to, actor, at)
            }
            fn assign(
                &self,
                public_id: String,
                assignee: Option<i64>,
                actor: i64,
                at: i64,
            ) -> impl Future<Output = Result<(), ReviewError>> + Send {
                <$backend>::assign(self, public_id, assignee, actor, at)
            }
            fn add_note(
                &self,
                public_id: String,
                body: String,
                actor: i64,
                at: i64,
            ) -> impl Future<Output = Result<(), ReviewError>> + Send {
                <$backend>::add_note(self, public_id, body, actor, at)
            }
            fn reply(
                &self,
                public_id: String,
                new: NewReply,
                actor: i64,
                at: i64,
            ) -> impl Future<Output = Result<i64, ReviewError>> + Send {
                <$backend>::reply(self, public_id, new, actor, at)
            }
            fn mark_reply_mailed(
                &self,
                event_id: i64,
                sent: bool,
            ) -> impl Future<Output = Result<(), StoreError>> + Send {
                <$backend>::mark_reply_mailed(self, event_id, sent)
            }
            fn settle_promise(
                &self,
                public_id: String,
                promise_id: i64,
                kept: bool,
                actor: i64,
                at: i64,
            ) -> impl Future<Output = Result<(), ReviewError>> + Send {
                <$backend>::settle_promise(self, public_id, promise_id, kept, actor, at)
            }
            fn bulk(
                &self,
                public_ids: Vec<String>,
                action: BulkAction,
                actor: i64,
                at: i64,
            ) -> impl Future<Output = Result<BulkOutcome, ReviewError>> + Send {
                <$backend>::bulk(self, public_ids, action, actor, at)
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
