//! Storage. The rest of the collector sees only [`Store`]'s methods
//! (`backend`), answered by SQLite (`sqlite` and the modules beside it,
//! one per subject) or PostgreSQL (`postgres`). The types the methods take
//! and give are shared, defined beside their SQLite code.

mod account_links;
mod accounts;
mod among;
mod attachments;
mod backend;
pub mod backup;
mod checkpoint;
mod conversation;
mod customer_mail;
mod deliveries;
mod entries;
mod export;
mod flush;
mod fold;
mod mail_health;
mod migrations;
mod name_order;
mod notify;
mod notify_prefs;
mod outbox;
pub mod postgres;
mod privacy;
mod redact;
pub mod refusals;
pub mod retention;
mod review;
mod rollup;
pub mod search;
pub mod seed;
mod settings;
mod sites;
mod sqlite;
mod staff;
mod stats;
mod stored;
mod throttle;
mod tokens;
pub mod vacuum;
mod webhooks;
mod writer;

use std::time::Duration;

pub use account_links::{ASKED_LINKS_PER_HOUR, LinkPurpose, NewLink, PendingInvite, PendingReset};
pub use accounts::{Account, AccountError, AccountRefusal, AuditEntry};
pub use attachments::{Attached, AttachmentMeta};
pub use backend::Store;
pub use checkpoint::WalCheckpoints;
pub use conversation::{FollowedUp, PublicMessage};
pub use customer_mail::{ClosedParts, CustomerParts, KeptParts, ReceiptParts, ReplyParts};
pub use deliveries::{AttemptRecord, DeliveryJob, DeliveryResult};
pub use entries::{Entry, Inserted, NewEntry};
pub use export::{ExportChunk, ExportQuery, ExportRow};
pub use mail_health::MailHealth;
pub use notify::{
    CLOSED_GRACE_MS, Dispatched, EndpointRow, EntriesTaken, FOLD_WINDOW_MS, MailKind, NewDelivery,
    NewEntryFact, NewMail, NoticeFact, NoticeKind, Pending,
};
pub use outbox::{DigestFacts, LEASE_MS, MailJob, MailResult, PendingFold, PendingLine};
pub use privacy::counted;
pub use privacy::{Erasure, HeldEntry, PersonExport};
pub use review::{
    BULK_MAX, BulkAction, BulkOutcome, BulkTarget, EntryDetail, Event, EventKind, InboxPage,
    InboxRow, NewReply, OPEN_SHOWN, OpenPromises, PAGE_SIZE, PromiseRow, PromiseScope, Receipt,
    Refusal, Report, ReviewError, SETTLED_SHOWN, SameCustomer, Seen, SettledCounts, SiteSettings,
    WaitingSummary,
};
pub use rollup::{PageMismatches, Period, PromiseCounts, Rollups};
pub use sites::{NewSite, Site, SiteChange, SiteHoldings, SitePage, SiteRemoval, SiteRow};
pub use sqlite::Sqlite;
pub use staff::{NewUser, OpenSession, Role, Session, User};
pub use stats::{Gauges, WriteStats};
pub use tokens::{NewToken, TokenInfo};
pub use webhooks::{AttemptView, DeliveryView, NewWebhook, ROTATION_OVERLAP_MS, Webhook};

/// How long a connection waits for a lock before giving up.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("sqlite: {0}")]
    Sqlite(rusqlite::Error),
    #[error(
        "the database schema is version {found}, newer than this binary knows ({known}); upgrade earshot"
    )]
    SchemaTooNew { found: usize, known: usize },
    #[error("the store is shut down")]
    Closed,
    #[error("the transaction holding this write failed to commit")]
    CommitFailed,
    /// Committed, but the fsync that makes it survive a power loss failed:
    /// the caller must not report success (a retry is answered safely).
    #[error("the write was committed but could not be synced to disk")]
    NotDurable,
    #[error("a blocking database task failed")]
    TaskFailed,
    #[error("could not generate a unique identifier")]
    IdExhausted,
    #[error("invalid data in the database: {0}")]
    Corrupt(String),
    #[error("a record with this {0} already exists")]
    Duplicate(&'static str),
    #[error("postgres: {0}")]
    Postgres(PostgresError),
    #[error(
        "the database URL is not a PostgreSQL connection string like postgres://user:password@host:5432/database"
    )]
    BadUrl,
    #[error(
        "sslmode={0} in the database URL is none of disable, allow, prefer, require, verify-ca and verify-full"
    )]
    BadSslMode(String),
    #[error("sslrootcert {path} in the database URL cannot be used: {reason}")]
    BadRootCert { path: String, reason: String },
    /// The file named as the database is something else (or damaged past
    /// SQLite's recognition).
    #[error(
        "the file is not an SQLite database, or is damaged: name the collector's database file (--db)"
    )]
    NotADatabase,
    /// The first connection to PostgreSQL failed, and why (for the start
    /// and the command line; later losses are `Unavailable`).
    #[error("could not connect to PostgreSQL: {0}")]
    Connect(ConnectError),
    /// No connection to the database could be had in time: answered 503,
    /// so the widget keeps the submission and retries.
    #[error("the database is unavailable")]
    Unavailable,
    /// The disk holding the database (or the PostgreSQL server's) is full:
    /// nothing more is stored until space is freed. Answered 503, so the
    /// widget keeps the submission and retries; writes resume on their own.
    #[error("the disk holding the database is full: free space on it")]
    Full,
    /// A row the write refers to is gone: a site removed (by another
    /// process, or another collector) since the caller looked it up.
    #[error("a record this write refers to no longer exists")]
    MissingReference,
    /// Text PostgreSQL cannot hold (U+0000). Requests are refused at the
    /// door for it (`http::nul`); this answers one that got past as the
    /// caller's mistake, not the server's.
    #[error("a value holds a character the database cannot store (U+0000)")]
    Unstorable,
}

impl StoreError {
    /// How long a caller should wait before trying again, when waiting
    /// helps: the database back in reach, or space freed on its disk.
    /// `NotDurable` is not among them: the write was made, and only a
    /// caller that can repeat it safely (an idempotency key) should.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            StoreError::Closed | StoreError::Unavailable | StoreError::Connect(_) => Some(5),
            // Space is freed by a person, not in seconds.
            StoreError::Full => Some(60),
            _ => None,
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        // SQLite reports a write the file system refused for want of space
        // (ENOSPC) as SQLITE_FULL, as it does reaching `max_page_count`.
        if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull) {
            StoreError::Full
        } else if e.sqlite_error_code() == Some(rusqlite::ErrorCode::NotADatabase) {
            StoreError::NotADatabase
        } else if let rusqlite::Error::SqliteFailure(failure, _) = &e
            && failure.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY
        {
            StoreError::MissingReference
        } else {
            StoreError::Sqlite(e)
        }
    }
}

/// A PostgreSQL error as it may be logged: its SQLSTATE and where it
/// happened, never the server's message or detail, which quote the values
/// involved (a customer's words, a staff email in a unique key). Its
/// `Debug` is its `Display`, for the same reason. The driver's own account
/// of a failure on this side (a column it could not read, and why; a lost
/// connection) quotes no data and is kept.
pub struct PostgresError(tokio_postgres::Error);

/// Why a first connection to PostgreSQL failed, in words an operator can
/// act on. Like [`PostgresError`] it never carries the server's message;
/// the driver's own account of a connection failure (a refused socket, a
/// name that does not resolve, a certificate it does not trust) quotes no
/// data and is kept.
#[derive(Debug)]
pub struct ConnectError(String);

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl ConnectError {
    pub(crate) fn new(e: &tokio_postgres::Error) -> ConnectError {
        use tokio_postgres::error::SqlState;
        let Some(db) = e.as_db_error() else {
            let mut text = e.to_string();
            let mut cause = std::error::Error::source(e);
            while let Some(c) = cause {
                text = format!("{text}: {c}");
                cause = c.source();
            }
            return ConnectError(text);
        };
        let code = db.code();
        let what = if *code == SqlState::INVALID_PASSWORD
            || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
        {
            "the server refused this user or password (or pg_hba.conf does not let it in from here)"
        } else if *code == SqlState::INVALID_CATALOG_NAME {
            "the database named in the URL does not exist: create it first (createdb)"
        } else if *code == SqlState::TOO_MANY_CONNECTIONS {
            "the server has no connection to spare (max_connections)"
        } else if *code == SqlState::CANNOT_CONNECT_NOW {
            "the server is starting up or shutting down"
        } else if *code == SqlState::INSUFFICIENT_PRIVILEGE {
            "this user may not use the database"
        } else {
            "the server refused the connection"
        };
        ConnectError(format!("{what} (SQLSTATE {})", code.code()))
    }

    pub(crate) fn timed_out(after: std::time::Duration) -> ConnectError {
        ConnectError(format!(
            "no answer within {} seconds: check the host and port, and that a firewall lets them through",
            after.as_secs()
        ))
    }
}

impl std::fmt::Debug for PostgresError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

impl std::fmt::Display for PostgresError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.as_db_error() {
            Some(db) => {
                let code = db.code();
                write!(f, "SQLSTATE {}", code.code())?;
                if let Some(table) = db.table() {
                    write!(f, " on {table}")?;
                }
                if let Some(constraint) = db.constraint() {
                    write!(f, " ({constraint})")?;
                }
                // Earshot names no prepared statement itself: the driver's
                // went to another server connection than the one that
                // prepared them.
                if *code == tokio_postgres::error::SqlState::DUPLICATE_PSTATEMENT
                    || *code == tokio_postgres::error::SqlState::INVALID_SQL_STATEMENT_NAME
                {
                    f.write_str(
                        ": prepared statements went to another server connection; a pooler in transaction mode (PgBouncer pool_mode = transaction) is in between: use pool_mode = session",
                    )?;
                }
                Ok(())
            }
            None => {
                write!(f, "{}", self.0)?;
                let mut cause = std::error::Error::source(&self.0);
                while let Some(c) = cause {
                    write!(f, ": {c}")?;
                    cause = c.source();
                }
                Ok(())
            }
        }
    }
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> StoreError {
        // The server gone, refusing or shutting down: a 503 the widget
        // retries after, not an internal error.
        let lost = e.is_closed()
            || std::error::Error::source(&e).is_some_and(|s| s.is::<std::io::Error>())
            || e.code().is_some_and(|c| {
                let code = c.code();
                code.starts_with("08") || code.starts_with("57P") || code == "53300"
            });
        if lost {
            StoreError::Unavailable
        } else if e.code() == Some(&tokio_postgres::error::SqlState::DISK_FULL) {
            StoreError::Full
        } else if e.code() == Some(&tokio_postgres::error::SqlState::FOREIGN_KEY_VIOLATION) {
            StoreError::MissingReference
        } else if e.code() == Some(&tokio_postgres::error::SqlState::CHARACTER_NOT_IN_REPERTOIRE) {
            StoreError::Unstorable
        } else {
            StoreError::Postgres(PostgresError(e))
        }
    }
}
