//! The one storage interface: [`Store`], an enum over the backends.
//!
//! An enum rather than a trait object or a generic: handlers keep plain
//! signatures (`State<AppState>` holding a `Store`, no type parameter on
//! every route), there is no boxing of futures, and the set of backends is
//! closed (SQLite by default, PostgreSQL for several collectors). Each
//! operation is declared once below; both backends must have it with the
//! same signature or the crate does not compile, and the contract test
//! (`tests/store`) holds them to the same behaviour.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use earshot_protocol::{Dimensions, ImageType};

use super::checkpoint::WalCheckpoints;
use super::postgres::Postgres;
use super::refusals::{RefusalTally, Refused};
use super::retention::Retention;
use super::{
    Account, AccountError, Attached, AttemptRecord, AuditEntry, BulkAction, BulkOutcome,
    BulkTarget, ClosedParts, DeliveryJob, DeliveryView, DigestFacts, Dispatched, Entry,
    EntryDetail, Erasure, ExportChunk, ExportQuery, FollowedUp, Gauges, HeldEntry, InboxPage,
    Inserted, KeptParts, LinkPurpose, MailHealth, MailJob, MailKind, MailResult, NewEntry, NewLink,
    NewReply, NewSite, NewToken, NewUser, NewWebhook, OpenSession, Pending, PendingFold,
    PendingInvite, PendingReset, Period, PersonExport, PromiseScope, PublicMessage, ReceiptParts,
    ReplyParts, Report, ReviewError, Role, Rollups, SameCustomer, Session, Site, SiteChange,
    SiteHoldings, SitePage, SiteRemoval, SiteRow, SiteSettings, Sqlite, StoreError, TokenInfo,
    User, WaitingSummary, Webhook, WriteStats,
};
use crate::auth::Attempt;
use crate::mail::staff::EntryLine;
use crate::notify::Prefs;
use crate::review::filter::{Cursor, Filter};
use crate::review::workflow::Status;

/// Handle to the database, whichever it is; cheap to clone.
#[derive(Clone)]
pub struct Store {
    backend: Backend,
}

#[derive(Clone)]
enum Backend {
    Sqlite(Sqlite),
    Postgres(Postgres),
}

impl Store {
    /// Opens (creating if needed) and migrates the SQLite file at `path`,
    /// then starts its writer.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Store::open_with(path, WalCheckpoints::default())
    }

    /// [`Store::open`], with the WAL checkpointed as `checkpoints` says.
    pub fn open_with(path: &Path, checkpoints: WalCheckpoints) -> Result<Store, StoreError> {
        Ok(Store {
            backend: Backend::Sqlite(Sqlite::open_with(path, checkpoints)?),
        })
    }

    /// Connects to PostgreSQL at `url` and brings its schema up to date.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        Ok(Store {
            backend: Backend::Postgres(Postgres::connect(url).await?),
        })
    }

    /// [`Store::connect`], with at most `connections` open at once.
    pub async fn connect_with(url: &str, connections: usize) -> Result<Store, StoreError> {
        Ok(Store {
            backend: Backend::Postgres(Postgres::connect_with(url, connections).await?),
        })
    }

    /// How far the inbox counts a search's matches before it says "N+".
    /// SQLite's search index counts a thousand in a few milliseconds at a
    /// million entries. PostgreSQL counts by walking entries newest first
    /// and testing each one's words: a thousand matches of two common words
    /// walked 31,000 entries (23 ms, 13.5 ms of it only reading them), two
    /// hundred 3.4 ms. Past either, staff narrow the search rather than
    /// read on.
    pub fn search_count_cap(&self) -> i64 {
        match &self.backend {
            Backend::Sqlite(_) => 1_000,
            Backend::Postgres(_) => 200,
        }
    }

    /// The SQLite file, when that is the backend.
    pub fn path(&self) -> Option<&Path> {
        match &self.backend {
            Backend::Sqlite(db) => Some(db.path()),
            Backend::Postgres(_) => None,
        }
    }

    /// Whether other collectors may write to this database too (only one
    /// server ever serves a SQLite file: it holds the file's lock).
    pub fn is_shared(&self) -> bool {
        matches!(self.backend, Backend::Postgres(_))
    }

    /// Which backend this is, for logs and `/metrics`.
    pub fn engine(&self) -> &'static str {
        match &self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Changes whenever a write has committed (on PostgreSQL: a write by
    /// this collector; background work also polls).
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        match &self.backend {
            Backend::Sqlite(db) => db.subscribe(),
            Backend::Postgres(db) => db.subscribe(),
        }
    }

    /// How many submissions were started since the store opened: what
    /// background work watches to keep out of ingest's way.
    pub fn submissions_started(&self) -> u64 {
        match &self.backend {
            Backend::Sqlite(db) => db.submissions_started(),
            Backend::Postgres(db) => db.submissions_started(),
        }
    }

    /// How many writes were started since the store opened (on PostgreSQL,
    /// where there is no writer of ours, the submissions).
    pub(crate) fn writes_started(&self) -> u64 {
        match &self.backend {
            Backend::Sqlite(db) => db.writes_started(),
            Backend::Postgres(db) => db.submissions_started(),
        }
    }

    /// The SQLite writer's histograms (empty on PostgreSQL).
    pub fn write_stats(&self) -> &WriteStats {
        match &self.backend {
            Backend::Sqlite(db) => db.write_stats(),
            Backend::Postgres(db) => db.write_stats(),
        }
    }

    /// Adds `count` seeded entries (`earshot dev seed`).
    pub async fn seed(
        &self,
        count: usize,
        now: i64,
        progress: impl Fn(usize),
    ) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.seed(count, now, progress).await,
            Backend::Postgres(db) => db.seed(count, now, progress).await,
        }
    }

    /// Brings the search index up to date (SQLite indexes in batches;
    /// PostgreSQL as each entry is stored, so there it has nothing to do).
    pub async fn index_for_search(&self) -> Result<usize, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.index_for_search().await,
            Backend::Postgres(_) => Ok(0),
        }
    }

    /// Gives deleted space back to the file system; returns how many bytes
    /// (SQLite's incremental vacuum; on PostgreSQL autovacuum's job, 0).
    pub async fn reclaim(&self) -> Result<u64, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.reclaim().await,
            Backend::Postgres(_) => Ok(0),
        }
    }

    /// The site other than `except` named `name`, ignoring case, if any,
    /// unless `except` has exactly that name already (keeping a name is
    /// never refused, even one two sites had before names were checked).
    /// Names tell sites apart in filters, reports and email subjects, so a
    /// second "Shop" (a provisioning script run twice) or a "shop" beside
    /// it is refused where sites are added or renamed. Read from the list
    /// of sites, the same on both backends; two admins adding one name in
    /// the same instant could still both succeed, which costs a rename.
    pub async fn site_named(
        &self,
        name: &str,
        except: Option<i64>,
    ) -> Result<Option<Site>, StoreError> {
        let sites = self.sites().await?;
        if sites
            .iter()
            .any(|site| Some(site.id) == except && site.name == name)
        {
            return Ok(None);
        }
        let folded = name.to_lowercase();
        Ok(sites
            .into_iter()
            .find(|site| Some(site.id) != except && site.name.to_lowercase() == folded))
    }
}

/// Declares each operation once: a method on [`Store`] that hands it to
/// whichever backend this is.
macro_rules! operations {
    ($($(#[$doc:meta])* fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty;)*) => {
        impl Store {
            $(
                $(#[$doc])*
                pub async fn $name(&self, $($arg: $ty),*) -> $ret {
                    match &self.backend {
                        Backend::Sqlite(db) => db.$name($($arg),*).await,
                        Backend::Postgres(db) => db.$name($($arg),*).await,
                    }
                }
            )*
        }
    };
}

operations! {
    /// Answers once the database does.
    fn ping() -> Result<(), StoreError>;
    /// Stops accepting writes and finishes those under way.
    fn shutdown() -> ();
    /// Catches search and roll-ups up with new entries; a trickle when busy.
    fn catch_up(busy: bool) -> Result<(), StoreError>;
        /// What a link is for, if it can still be used.
        fn account_link(hash: Vec<u8>, now: i64) -> Result<Option<LinkPurpose>, StoreError>;
        /// Every staff account, active first, then by name.
        fn accounts() -> Result<Vec<Account>, StoreError>;
        /// Stores a one-time link (replacing an earlier one for the same person).
        fn add_account_link(link: NewLink) -> Result<(), AccountError>;
        /// Creates the first account, as admin, only while there is none; a
        /// second setup attempt racing the first gets `None`.
        fn add_first_admin(user: NewUser, at: i64) -> Result<Option<User>, StoreError>;
        /// An internal note: on the timeline and in search, never shown to the
        /// customer.
        fn add_note(public_id: String, body: String, actor: i64, at: i64) -> Result<(), ReviewError>;
        fn add_site(site: NewSite, at: i64) -> Result<Site, StoreError>;
        /// Adds a site on an admin's behalf, recorded in the audit log.
        fn add_site_by(site: NewSite, actor: Option<i64>, at: i64) -> Result<Site, StoreError>;
        /// Creates a token; `actor` made it (`None`: the command line).
        fn add_token(token: NewToken, actor: Option<i64>, now: i64) -> Result<TokenInfo, StoreError>;
        fn add_user(user: NewUser, at: i64) -> Result<User, StoreError>;
        /// Adds an endpoint for `actor` (`None`: the command line).
        fn add_webhook(new: NewWebhook, actor: Option<i64>, now: i64) -> Result<Webhook, StoreError>;
        fn assign(public_id: String, assignee: Option<i64>, actor: i64, at: i64) -> Result<(), ReviewError>;
        /// Stores an image for the entry whose status secret is `secret`.
        fn attach(entry_public_id: String, secret: String, image: ImageType, dimensions: Dimensions, bytes: Vec<u8>, now: i64) -> Result<Attached, StoreError>;
        /// An attachment's type and bytes, for staff.
        fn attachment(public_id: String) -> Result<Option<(String, Vec<u8>)>, StoreError>;
        /// The newest `limit` audit entries, optionally only actions starting
        /// with `prefix` (`staff.`, `site.`, `person.`).
        fn audit_log(prefix: Option<String>, limit: usize) -> Result<Vec<AuditEntry>, StoreError>;
        /// Applies one action to many entries; entries it cannot apply to are
        /// counted as skipped, and those changed since the page was shown as
        /// stale, not failed.
        fn bulk(targets: Vec<BulkTarget>, action: BulkAction, actor: i64, at: i64) -> Result<BulkOutcome, ReviewError>;
        /// What the email telling a customer their feedback was closed (by
        /// status event `event_id`) says, if it should still go, with how
        /// many closing emails its address was sent since `since`.
        fn closed_parts(event_id: i64, since: i64) -> Result<Option<ClosedParts>, StoreError>;
        /// Queues a batch's messages and advances past it, in one transaction.
        /// `false` when the batch had already been taken.
        fn complete_dispatch(done: Dispatched) -> Result<bool, StoreError>;
        /// Starts a session; `replacing` (the session the browser had before
        /// login, if any) ends in the same transaction.
        fn create_session(id_hash: Vec<u8>, user_id: i64, csrf_token: String, now: i64, replacing: Option<Vec<u8>>) -> Result<(), StoreError>;
        /// Removes sessions past either timeout.
        fn delete_expired_sessions(idle_before: i64, created_before: i64) -> Result<usize, StoreError>;
        fn delete_session(id_hash: Vec<u8>) -> Result<(), StoreError>;
        /// Ends every session of `user_id` but `keep`; returns how many,
        /// recorded in the audit log.
        fn end_other_sessions(user_id: i64, keep: Vec<u8>, at: i64) -> Result<usize, StoreError>;
        /// What the digest at `now` says; failing webhooks for administrators.
        fn digest_facts(now: i64, with_webhooks: bool) -> Result<DigestFacts, StoreError>;
        /// Webhook messages due by `now`, oldest first.
        fn due_deliveries(now: i64, limit: i64) -> Result<Vec<DeliveryJob>, StoreError>;
        /// Emails due by `now`, oldest first.
        fn due_mail(now: i64, limit: i64) -> Result<Vec<MailJob>, StoreError>;
        /// Turns a disabled or failing endpoint back on.
        fn enable_webhook(public_id: String, actor: Option<i64>, now: i64) -> Result<bool, StoreError>;
        /// Creates `site` only if the database has no site yet; returns the
        /// first site either way. Atomic in the writer, so two starts cannot both
        /// create one.
        fn ensure_first_site(site: NewSite, at: i64) -> Result<(Site, bool), StoreError>;
        /// The public id of the entry with this reference.
        fn entry_by_reference(reference: String) -> Result<Option<String>, StoreError>;
        /// The entry behind a customer's status link, if the secret matches.
        fn entry_by_status_link(public_id: String, secret: String) -> Result<Option<Entry>, StoreError>;
        fn entry_detail(public_id: String) -> Result<Option<EntryDetail>, StoreError>;
        /// An entry as an email mentions it.
        fn entry_line(entry_id: i64) -> Result<Option<EntryLine>, StoreError>;
        /// The site of the entry behind a status secret (to check the origin
        /// before an upload is stored).
        fn entry_site(public_id: String, secret: String) -> Result<Option<i64>, StoreError>;
        /// Erases every entry sent with `email` and everything about them, a
        /// few entries per transaction so ingest keeps flowing. Interrupted, it
        /// has erased whole entries only; running it again finishes the job.
        fn erase_person(email: String, site: Option<i64>, actor: Option<i64>, at: i64) -> Result<Erasure, StoreError>;
        /// What erasing `email` (on one site, or all) would remove.
        fn erasure_plan(email: String, site: Option<i64>) -> Result<Erasure, StoreError>;
        /// Up to `limit` of the entries sent with `email`, newest first.
        fn person_entries(email: String, site: Option<i64>, limit: i64) -> Result<Vec<HeldEntry>, StoreError>;
        /// The words of one timeline event (a follow-up, a reply).
        fn event_body(event_id: i64) -> Result<Option<String>, StoreError>;
        /// Up to `limit` entries of `query`, continuing after `cursor`.
        fn export_chunk(query: ExportQuery, cursor: Option<Cursor>, limit: usize) -> Result<ExportChunk, StoreError>;
        /// Everything held about `email`, as one JSON document (the address,
        /// when, and every entry); recorded in the audit log.
        fn export_person(email: String, site: Option<i64>, actor: Option<i64>, at: i64) -> Result<PersonExport, StoreError>;
        /// Starts an export of what `filter` selects: the search index caught
        /// up, like any search, and the search resolved.
        fn export_query(filter: Filter, now: i64) -> Result<ExportQuery, StoreError>;
        /// The first-response histogram of entries that arrived in the
        /// period's weeks on its sites.
        fn first_response_histogram(period: Period) -> Result<BTreeMap<i64, i64>, StoreError>;
        /// Deletes the record of an attempt whose password proved right (one
        /// row, if several are alike), so no restart or other collector
        /// counts it.
        fn forget_login_attempt(at: i64, attempt: Attempt) -> Result<(), StoreError>;
        /// Adds the customer's follow-up to entry `entry_id` (found by its status
        /// link); `None` when the entry no longer exists.
        fn follow_up(entry_id: i64, body: String, at: i64) -> Result<Option<FollowedUp>, StoreError>;
        /// File sizes and backlogs as they are now.
        fn gauges() -> Result<Gauges, StoreError>;
        /// Holds a colleague's pending emails of folding `kind` until `until`
        /// (only those due before it are touched).
        fn hold_folding_mail(kind: MailKind, user_id: i64, until: i64) -> Result<(), StoreError>;
        /// One page of at most `limit` entries.
        fn inbox(filter: Filter, limit: usize, now: i64) -> Result<InboxPage, StoreError>;
        /// The customer's other entries (by the entry's email, trimmed, any
        /// case): the newest `limit`, and how many in all.
        fn same_customer(public_id: String, limit: usize) -> Result<SameCustomer, StoreError>;
        /// One page of at most `limit` entries, and how many entries `filter`
        /// matches in all, counted no further than `cap` (the answer is then
        /// `cap`): exact where it matters, bounded in cost.
        fn inbox_counted(filter: Filter, limit: usize, cap: i64, now: i64) -> Result<(InboxPage, i64), StoreError>;
        /// Stores a submission, or returns the entry an earlier submission with
        /// the same idempotency key created. Resolves only after commit.
        fn insert_entry(entry: NewEntry) -> Result<Inserted, StoreError>;
        /// The key for hashing client IPs; generated on first use.
        fn ip_hash_secret() -> Result<[u8; 32], StoreError>;
        /// What the email telling a customer the promise made by reply
        /// event `event_id` was kept says, if it should still go, with how
        /// many such emails its address was sent since `since`.
        fn kept_parts(event_id: i64, since: i64) -> Result<Option<KeptParts>, StoreError>;
        /// When a colleague was last sent an email of folding `kind`.
        fn last_folding_mail(kind: MailKind, user_id: i64) -> Result<Option<i64>, StoreError>;
        /// Attempts made since `since`, oldest first.
        fn login_attempts_since(since: i64) -> Result<Vec<(i64, Attempt)>, StoreError>;
        /// The key for the sign-in throttle's tags and device cookies.
        fn login_throttle_secret() -> Result<[u8; 32], StoreError>;
        /// Whether email has been getting through: the attempts that failed
        /// since the last that went out.
        fn mail_health() -> Result<MailHealth, StoreError>;
        /// Records a test email sent at `at` (`failure`: why the relay did
        /// not take it) and, when it went out, makes the waiting emails that
        /// failed before due at `at`; returns how many.
        fn mail_tested(at: i64, failure: Option<String>) -> Result<usize, StoreError>;
        /// Notes on a reply whether its email went out (`emailed` or
        /// `email_failed`), for the timeline.
        fn mark_reply_mailed(event_id: i64, sent: bool) -> Result<(), StoreError>;
        /// When the earliest waiting webhook message is due.
        fn next_delivery_due() -> Result<Option<i64>, StoreError>;
        /// When the earliest waiting email is due.
        fn next_mail_due() -> Result<Option<i64>, StoreError>;
        /// Writes notices for open promises that turned due soon (a day ahead)
        /// or overdue, once each; returns how many.
        fn notice_promises(now: i64) -> Result<usize, StoreError>;
        fn notify_prefs(user: User) -> Result<Prefs, StoreError>;
        /// Up to `limit` new entries and notices waiting to be announced.
        fn pending_dispatch(limit: i64) -> Result<Pending, StoreError>;
        /// A colleague's pending emails of folding `kind` (due or not): the
        /// oldest `limit`, how many there are and the newest outbox id among
        /// them. Those whose entry has become spam are cancelled first:
        /// nobody hears of spam.
        fn pending_folding(kind: MailKind, user_id: i64, limit: i64) -> Result<PendingFold, StoreError>;
        /// Invitations that can still be accepted.
        fn pending_invites(now: i64) -> Result<Vec<PendingInvite>, StoreError>;
        /// Password reset links that can still be used.
        /// `user_id`'s sessions other than `keep` not yet timed out, the
        /// most recently used first.
        fn other_sessions(user_id: i64, keep: Vec<u8>, idle_before: i64, created_before: i64) -> Result<Vec<OpenSession>, StoreError>;
        fn pending_resets(now: i64) -> Result<Vec<PendingReset>, StoreError>;
        /// Withdraws one-time link `id` (an invitation or a password
        /// reset) if it can still be used, recorded in the audit log;
        /// returns the address it was for.
        fn withdraw_link(id: i64, actor: i64, at: i64) -> Result<Option<String>, StoreError>;
        /// Deletes emails and webhook messages finished more than
        /// `OUTBOX_KEPT_DAYS` before `now`; returns how many of each.
        fn prune_outboxes(now: i64) -> Result<(usize, usize), StoreError>;
        /// Staff replies and the customer's follow-ups, oldest first.
        fn public_conversation(entry_id: i64) -> Result<Vec<PublicMessage>, StoreError>;
        /// Queues the digest of everyone whose digest is due
        /// ([`Prefs::digest_day`]), whose account is older than its hour
        /// ([`Prefs::digest_scheduled`]) and who has not had it yet; returns how many.
        fn queue_digests(now: i64) -> Result<usize, StoreError>;
        /// Records attempts and what they mean for their deliveries and
        /// endpoints, in one transaction.
        fn record_attempts(attempts: Vec<AttemptRecord>) -> Result<(), StoreError>;
        /// Records an attempt made at `at` and forgets those before
        /// `forget_before`.
        fn record_login_attempt(at: i64, attempt: Attempt, forget_before: i64) -> Result<(), StoreError>;
        /// Records what became of an email (and of rows folded into it).
        fn record_mail(id: i64, result: MailResult, at: i64) -> Result<(), StoreError>;
        /// Uses a link once; returns the account it made or reset.
        fn redeem_account_link(hash: Vec<u8>, name: Option<String>, password_hash: String, now: i64) -> Result<User, AccountError>;
        /// Sends a delivery again now, with a fresh retry schedule and the
        /// same webhook-id.
        fn redeliver(webhook_id: i64, delivery_id: i64, now: i64) -> Result<bool, StoreError>;
        /// Removes a site and everything of it (see `Sqlite::remove_site`).
        fn remove_site(id: i64, actor: Option<i64>, at: i64) -> Result<SiteRemoval, StoreError>;
        /// Removes an endpoint and everything queued for it.
        fn remove_webhook(public_id: String, actor: Option<i64>, now: i64) -> Result<bool, StoreError>;
        /// A reply to the customer, shown on their status page; may carry a
        /// promise. Returns the reply's event id.
        fn reply(public_id: String, new: NewReply, actor: i64, at: i64) -> Result<i64, ReviewError>;
        /// What a reply email says, if the customer left an address.
        fn reply_parts(event_id: i64) -> Result<Option<ReplyParts>, StoreError>;
        /// What a receipt email for entry `entry_id` says, if it should go,
        /// with how many receipts its address was sent since `since`.
        fn receipt_parts(entry_id: i64, since: i64) -> Result<Option<ReceiptParts>, StoreError>;
        /// A page of the open promises in `scope` with counts over all of
        /// them, and the latest of those settled.
        fn report(scope: PromiseScope) -> Result<Report, StoreError>;
        fn retention(site_id: i64) -> Result<Option<Retention>, StoreError>;
        /// Revokes a token at once; only the owner's own when `owner` is set.
        /// `false` when no such live token exists.
        fn revoke_token(public_id: String, owner: Option<i64>, actor: Option<i64>, now: i64) -> Result<bool, StoreError>;
        /// Brings the roll-ups up to date with every committed entry. Looks
        /// first, so a report viewed when nothing is pending writes nothing.
        fn roll_up() -> Result<usize, StoreError>;
        /// Roughly how many entries the roll-ups have yet to count (ids, so
        /// gaps count too).
        fn rollup_backlog() -> Result<i64, StoreError>;
        /// The roll-ups a report for `period` draws on.
        fn rollups(period: Period) -> Result<Rollups, StoreError>;
        /// Adds refusals counted in memory (several collectors' add up) and
        /// trims each site's to a day and the latest few origins.
        fn record_refusals(tallies: Vec<RefusalTally>, now_ms: i64) -> Result<(), StoreError>;
        /// The stored refusals of the day before `now_ms`, for these sites.
        fn refusals(site_ids: Vec<i64>, now_ms: i64) -> Result<HashMap<i64, Refused>, StoreError>;
        /// Replaces the signing secret; the old one keeps signing beside it for
        /// [`ROTATION_OVERLAP_MS`](super::webhooks::ROTATION_OVERLAP_MS).
        fn rotate_webhook(public_id: String, secret: String, actor: Option<i64>, now: i64) -> Result<bool, StoreError>;
        fn session(id_hash: Vec<u8>) -> Result<Option<Session>, StoreError>;
        /// The secret of the setup link, the same for every collector.
        fn setup_link_secret() -> Result<[u8; 32], StoreError>;
        /// Disables or re-enables an account. Disabling ends its sessions and
        /// revokes its API tokens in the same transaction.
        fn set_disabled(user_id: i64, disabled: bool, actor: Option<i64>, at: i64) -> Result<User, AccountError>;
        fn set_notify_prefs(user_id: i64, prefs: Prefs) -> Result<(), StoreError>;
        /// Sets a new password, ends every session the old one opened and
        /// records it in the audit log (`actor` is `None` from the command
        /// line); `false` when no account has the address.
        fn set_password(email: String, password_hash: String, actor: Option<i64>, at: i64) -> Result<bool, StoreError>;
        /// Sets a site's retention; `false` when there is no such site.
        fn set_retention(site_id: i64, retention: Retention, actor: Option<i64>, at: i64) -> Result<bool, StoreError>;
        /// Keeps the public URL the server runs with, for the command line.
        fn remember_public_url(url: String) -> Result<(), StoreError>;
        /// The public URL the server last started with.
        fn public_url() -> Result<Option<String>, StoreError>;
        /// Gives a colleague another name (recorded as `staff.renamed`).
        fn rename_user(user_id: i64, name: String, actor: Option<i64>, at: i64) -> Result<User, AccountError>;
        fn set_role(user_id: i64, role: Role, actor: Option<i64>, at: i64) -> Result<User, AccountError>;
        fn set_status(public_id: String, to: Status, actor: i64, at: i64) -> Result<(), ReviewError>;
        /// Assigns an entry for a colleague who saw it assigned to `seen`
        /// (`Some(None)`: nobody): refused (`Refusal::Reassigned`) if someone
        /// has changed that since.
        fn assign_seen(public_id: String, seen: Option<Option<i64>>, assignee: Option<i64>, actor: i64, at: i64) -> Result<(), ReviewError>;
        /// Moves an entry for a colleague who saw it as `seen`: refused
        /// (`WorkflowError::Changed`) if someone has moved it since.
        fn set_status_seen(public_id: String, seen: Option<Status>, to: Status, actor: i64, at: i64) -> Result<(), ReviewError>;
        /// Records that a promise was kept or broken.
        fn settle_promise(public_id: String, promise_id: i64, kept: bool, actor: i64, at: i64) -> Result<(), ReviewError>;
        fn site_detail(id: i64) -> Result<Option<SiteRow>, StoreError>;
        /// What removing a site would take with it; `None` if there is none.
        fn site_holdings(id: i64) -> Result<Option<SiteHoldings>, StoreError>;
        /// A page of sites, ordered by name, optionally only those whose name or
        /// key contains `search` (in any case, with or without accents).
        fn site_page(search: Option<String>, offset: usize, limit: usize) -> Result<SitePage, StoreError>;
        /// Every site's settings, ordered by name as staff choose among them.
        fn site_settings() -> Result<Vec<SiteSettings>, StoreError>;
        fn sites() -> Result<Vec<Site>, StoreError>;
        /// Every colleague with their notification preferences.
        fn staff_prefs() -> Result<Vec<(User, Prefs)>, StoreError>;
        /// Deletes what every site's retention says is due at `now`; returns
        /// (site key, entries deleted) for the sites where it deleted any.
        fn sweep_retention(now: i64) -> Result<Vec<(String, i64)>, StoreError>;
        /// The colleague a live token acts for, with the token's scope and
        /// when it was last used.
        fn token_holder(hash: Vec<u8>, now: i64) -> Result<Option<(User, TokenInfo)>, StoreError>;
        /// Tokens of one colleague, or of everyone (`None`), newest first,
        /// revoked ones included.
        fn tokens(user_id: Option<i64>) -> Result<Vec<TokenInfo>, StoreError>;
        fn touch_session(id_hash: Vec<u8>, now: i64) -> Result<(), StoreError>;
        fn touch_token(id: i64, now: i64) -> Result<(), StoreError>;
        /// Applies an admin's change and records it; `false` when there is no
        /// such site.
        fn update_site(id: i64, change: SiteChange, actor: Option<i64>, at: i64) -> Result<bool, StoreError>;
        /// The account with this email (case-insensitive), if any.
        fn user_by_email(email: String) -> Result<Option<User>, StoreError>;
        fn user_count() -> Result<i64, StoreError>;
        /// The account and its password hash, for checking a login.
        fn user_for_login(email: String) -> Result<Option<(User, String)>, StoreError>;
        /// A colleague's name.
        fn user_name(user_id: i64) -> Result<Option<String>, StoreError>;
        fn users() -> Result<Vec<User>, StoreError>;
        /// Who is waiting, how many past target, how many promises overdue.
        fn waiting_summary(now: i64) -> Result<WaitingSummary, StoreError>;
        /// Whether the entry behind a status link was erased on request.
        fn was_erased(public_id: String) -> Result<bool, StoreError>;
        fn webhook(public_id: String) -> Result<Option<Webhook>, StoreError>;
        /// The newest deliveries to an endpoint, each with its attempts.
        fn webhook_deliveries(webhook_id: i64, limit: i64) -> Result<Vec<DeliveryView>, StoreError>;
        /// Every endpoint, by site, oldest first.
        fn webhooks() -> Result<Vec<Webhook>, StoreError>;
}
