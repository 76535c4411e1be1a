//! What the stories need of a backend, and each backend's fresh instance.
//!
//! Both backends have these operations under the same names and types;
//! this trait only lets one generic story call either.

use std::collections::BTreeMap;
use std::future::Future;

use earshot_collector::auth::Attempt;
use earshot_collector::mail::staff::EntryLine;
use earshot_collector::notify::Prefs;
use earshot_collector::review::filter::Filter;
use earshot_collector::review::workflow::Status;
use earshot_collector::store::postgres::Postgres;
use earshot_collector::store::retention::Retention;
use earshot_collector::store::{
    Account, AccountError, Attached, AttemptRecord, AuditEntry, BulkAction, BulkOutcome,
    DeliveryJob, DeliveryView, DigestFacts, Dispatched, Entry, EntryDetail, Erasure, ExportChunk,
    ExportQuery, FollowedUp, InboxPage, Inserted, LinkPurpose, MailJob, MailResult, NewEntry,
    NewLink, NewReply, NewSite, NewToken, NewUser, NewWebhook, Pending, PendingInvite,
    PendingNewEntries, Period, PersonExport, PublicMessage, ReplyParts, Report, ReviewError, Role,
    Rollups, Session, Site, SiteChange, SitePage, SiteRow, Store, StoreError, TokenInfo, User,
    WaitingSummary, Webhook,
};

use earshot_protocol::{Dimensions, ImageType};

use crate::postgres_server::TempPostgres;

/// Declares the operations once: the trait with each as a `Send` future,
/// and its implementation for both backends by their own methods.
macro_rules! operations {
    ($(fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty;)*) => {
        pub trait Backend: Sync {
            $(fn $name(&self, $($arg: $ty),*) -> impl Future<Output = $ret> + Send;)*
        }

        impl Backend for Store {
            $(fn $name(&self, $($arg: $ty),*) -> impl Future<Output = $ret> + Send {
                Store::$name(self, $($arg),*)
            })*
        }

        impl Backend for Postgres {
            $(fn $name(&self, $($arg: $ty),*) -> impl Future<Output = $ret> + Send {
                Postgres::$name(self, $($arg),*)
            })*
        }
    };
}

operations! {
    fn ensure_first_site(site: NewSite, at: i64) -> Result<(Site, bool), StoreError>;
    fn add_site(site: NewSite, at: i64) -> Result<Site, StoreError>;
    fn sites() -> Result<Vec<Site>, StoreError>;
    fn insert_entry(entry: NewEntry) -> Result<Inserted, StoreError>;
    fn entry_by_status_link(public_id: String, secret: String) -> Result<Option<Entry>, StoreError>;
    fn inbox(filter: Filter, limit: usize, now: i64) -> Result<InboxPage, StoreError>;
    fn inbox_counted(filter: Filter, limit: usize, cap: i64, now: i64) -> Result<(InboxPage, i64), StoreError>;
    fn waiting_summary(now: i64) -> Result<WaitingSummary, StoreError>;
    fn add_user(user: NewUser, at: i64) -> Result<User, StoreError>;
    fn add_first_admin(user: NewUser, at: i64) -> Result<Option<User>, StoreError>;
    fn user_count() -> Result<i64, StoreError>;
    fn users() -> Result<Vec<User>, StoreError>;
    fn user_for_login(email: String) -> Result<Option<(User, String)>, StoreError>;
    fn set_password(email: String, password_hash: String) -> Result<bool, StoreError>;
    fn create_session(id_hash: Vec<u8>, user_id: i64, csrf_token: String, now: i64, replacing: Option<Vec<u8>>) -> Result<(), StoreError>;
    fn session(id_hash: Vec<u8>) -> Result<Option<Session>, StoreError>;
    fn touch_session(id_hash: Vec<u8>, now: i64) -> Result<(), StoreError>;
    fn delete_session(id_hash: Vec<u8>) -> Result<(), StoreError>;
    fn delete_expired_sessions(idle_before: i64, created_before: i64) -> Result<usize, StoreError>;
    fn record_login_attempt(at: i64, attempt: Attempt, forget_before: i64) -> Result<(), StoreError>;
    fn login_attempts_since(since: i64) -> Result<Vec<(i64, Attempt)>, StoreError>;
    fn entry_by_reference(reference: String) -> Result<Option<String>, StoreError>;
    fn entry_detail(public_id: String) -> Result<Option<EntryDetail>, StoreError>;
    fn set_status(public_id: String, to: Status, actor: i64, at: i64) -> Result<(), ReviewError>;
    fn assign(public_id: String, assignee: Option<i64>, actor: i64, at: i64) -> Result<(), ReviewError>;
    fn add_note(public_id: String, body: String, actor: i64, at: i64) -> Result<(), ReviewError>;
    fn reply(public_id: String, new: NewReply, actor: i64, at: i64) -> Result<i64, ReviewError>;
    fn mark_reply_mailed(event_id: i64, sent: bool) -> Result<(), StoreError>;
    fn settle_promise(public_id: String, promise_id: i64, kept: bool, actor: i64, at: i64) -> Result<(), ReviewError>;
    fn bulk(public_ids: Vec<String>, action: BulkAction, actor: i64, at: i64) -> Result<BulkOutcome, ReviewError>;
    fn ip_hash_secret() -> Result<[u8; 32], StoreError>;
    fn login_throttle_secret() -> Result<[u8; 32], StoreError>;
    fn add_token(token: NewToken, actor: Option<i64>, now: i64) -> Result<TokenInfo, StoreError>;
    fn tokens(user_id: Option<i64>) -> Result<Vec<TokenInfo>, StoreError>;
    fn revoke_token(public_id: String, owner: Option<i64>, actor: Option<i64>, now: i64) -> Result<bool, StoreError>;
    fn token_holder(hash: Vec<u8>, now: i64) -> Result<Option<(User, TokenInfo)>, StoreError>;
    fn touch_token(id: i64, now: i64) -> Result<(), StoreError>;
    fn user_by_email(email: String) -> Result<Option<User>, StoreError>;
    fn attach(entry_public_id: String, secret: String, image: ImageType, dimensions: Dimensions, bytes: Vec<u8>, now: i64) -> Result<Attached, StoreError>;
    fn attachment(public_id: String) -> Result<Option<(String, Vec<u8>)>, StoreError>;
    fn follow_up(entry_id: i64, body: String, at: i64) -> Result<Option<FollowedUp>, StoreError>;
    fn public_conversation(entry_id: i64) -> Result<Vec<PublicMessage>, StoreError>;
    fn site_page(search: Option<String>, offset: usize, limit: usize) -> Result<SitePage, StoreError>;
    fn site_detail(id: i64) -> Result<Option<SiteRow>, StoreError>;
    fn update_site(id: i64, change: SiteChange, actor: i64, at: i64) -> Result<bool, StoreError>;
    fn add_site_by(site: NewSite, actor: i64, at: i64) -> Result<Site, StoreError>;
    fn entry_site(public_id: String, secret: String) -> Result<Option<i64>, StoreError>;
    fn set_retention(site_id: i64, retention: Retention, actor: i64, at: i64) -> Result<bool, StoreError>;
    fn retention(site_id: i64) -> Result<Option<Retention>, StoreError>;
    fn audit_log(prefix: Option<String>, limit: usize) -> Result<Vec<AuditEntry>, StoreError>;
    fn accounts() -> Result<Vec<Account>, StoreError>;
    fn pending_invites(now: i64) -> Result<Vec<PendingInvite>, StoreError>;
    fn set_disabled(user_id: i64, disabled: bool, actor: Option<i64>, at: i64) -> Result<User, AccountError>;
    fn set_role(user_id: i64, role: Role, actor: i64, at: i64) -> Result<User, AccountError>;
    fn add_account_link(link: NewLink) -> Result<(), AccountError>;
    fn account_link(hash: Vec<u8>, now: i64) -> Result<Option<LinkPurpose>, StoreError>;
    fn redeem_account_link(hash: Vec<u8>, name: Option<String>, password_hash: String, now: i64) -> Result<User, AccountError>;
    fn pending_dispatch(limit: i64) -> Result<Pending, StoreError>;
    fn complete_dispatch(done: Dispatched) -> Result<bool, StoreError>;
    fn staff_prefs() -> Result<Vec<(User, Prefs)>, StoreError>;
    fn notify_prefs(user: User) -> Result<Prefs, StoreError>;
    fn set_notify_prefs(user_id: i64, prefs: Prefs) -> Result<(), StoreError>;
    fn notice_promises(now: i64) -> Result<usize, StoreError>;
    fn queue_digests(now: i64) -> Result<usize, StoreError>;
    fn due_mail(now: i64, limit: i64) -> Result<Vec<MailJob>, StoreError>;
    fn pending_new_entries(user_id: i64, limit: i64) -> Result<PendingNewEntries, StoreError>;
    fn last_new_entry_mail(user_id: i64) -> Result<Option<i64>, StoreError>;
    fn hold_new_entry_mail(user_id: i64, until: i64) -> Result<(), StoreError>;
    fn record_mail(id: i64, result: MailResult, at: i64) -> Result<(), StoreError>;
    fn entry_line(entry_id: i64) -> Result<Option<EntryLine>, StoreError>;
    fn event_body(event_id: i64) -> Result<Option<String>, StoreError>;
    fn user_name(user_id: i64) -> Result<Option<String>, StoreError>;
    fn reply_parts(event_id: i64) -> Result<Option<ReplyParts>, StoreError>;
    fn digest_facts(now: i64, with_webhooks: bool) -> Result<DigestFacts, StoreError>;
    fn due_deliveries(now: i64, limit: i64) -> Result<Vec<DeliveryJob>, StoreError>;
    fn record_attempts(attempts: Vec<AttemptRecord>) -> Result<(), StoreError>;
    fn next_mail_due() -> Result<Option<i64>, StoreError>;
    fn next_delivery_due() -> Result<Option<i64>, StoreError>;
    fn add_webhook(new: NewWebhook, actor: Option<i64>, now: i64) -> Result<Webhook, StoreError>;
    fn webhooks() -> Result<Vec<Webhook>, StoreError>;
    fn webhook(public_id: String) -> Result<Option<Webhook>, StoreError>;
    fn remove_webhook(public_id: String, actor: Option<i64>, now: i64) -> Result<bool, StoreError>;
    fn rotate_webhook(public_id: String, secret: String, actor: Option<i64>, now: i64) -> Result<bool, StoreError>;
    fn enable_webhook(public_id: String, actor: Option<i64>, now: i64) -> Result<bool, StoreError>;
    fn webhook_deliveries(webhook_id: i64, limit: i64) -> Result<Vec<DeliveryView>, StoreError>;
    fn redeliver(webhook_id: i64, delivery_id: i64, now: i64) -> Result<bool, StoreError>;
    fn roll_up() -> Result<usize, StoreError>;
    fn rollup_backlog() -> Result<i64, StoreError>;
    fn first_response_histogram(from_week: i64, to_week: i64) -> Result<BTreeMap<i64, i64>, StoreError>;
    fn rollups(period: Period) -> Result<Rollups, StoreError>;
    fn report(since: i64) -> Result<Report, StoreError>;
    fn export_query(filter: Filter, now: i64) -> Result<ExportQuery, StoreError>;
    fn export_chunk(query: ExportQuery, cursor: Option<i64>, limit: usize) -> Result<ExportChunk, StoreError>;
    fn erasure_plan(email: String, site: Option<i64>) -> Result<Erasure, StoreError>;
    fn erase_person(email: String, site: Option<i64>, actor: Option<i64>, at: i64) -> Result<Erasure, StoreError>;
    fn export_person(email: String, site: Option<i64>, actor: Option<i64>, at: i64) -> Result<PersonExport, StoreError>;
    fn was_erased(public_id: String) -> Result<bool, StoreError>;
    fn sweep_retention(now: i64) -> Result<Vec<(String, i64)>, StoreError>;
}

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
