//! The PostgreSQL backend, for several collectors behind a load balancer
//! sharing one database. Same tables and columns as the SQLite file, same
//! rules, proven by the same story (`tests/store`).
//!
//! Durability is PostgreSQL's: every write is one transaction committed
//! with `synchronous_commit` as the server has it (on by default), so an
//! answer after commit means the write survives a crash of either side.
//! PostgreSQL groups concurrent commits into one WAL flush itself.
//!
//! Every operation of [`crate::store::Store`] has its twin here, one file
//! per subject as on SQLite. Where the two differ it is for several
//! writers: ids are handed out in one order and committed in another, so
//! what SQLite follows with a cursor over ids (entries to announce, to
//! count in reports) waits in a queue here; rules over many rows take row
//! or advisory locks; outboxes are claimed with `FOR UPDATE SKIP LOCKED`
//! under a lease. Search is a `tsvector` kept with each entry, not an
//! index caught up in batches.

mod account_links;
mod accounts;
mod attachments;
mod conversation;
mod copy;
mod customer_mail;
mod deliveries;
mod entries;
mod export;
mod inbox;
mod intake;
mod mail_health;
mod migrations;
mod name_order;
mod notify;
mod notify_prefs;
mod outbox;
mod privacy;
mod redact;
mod refusals;
mod report;
mod review;
mod rollup;
mod seed;
mod settings;
mod sites;
mod staff;
mod throttle;
mod tls;
mod tokens;
mod webhooks;

pub use copy::{Copied, CopyError};

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use deadpool_postgres::{
    GenericClient, Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime,
};
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;

use super::{ConnectError, StoreError, WriteStats};

/// Connections one collector keeps at most. PostgreSQL's default
/// `max_connections` is 100: room for several collectors and the tools
/// operators run beside them.
pub const POOL_MAX: u16 = 16;
/// How long a request waits for a connection or for a new one to open
/// before it is answered 503 (the widget keeps the submission and retries).
const WAIT: Duration = Duration::from_secs(5);

/// Handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Postgres {
    pool: Pool,
    shared: Arc<Shared>,
}

struct Shared {
    /// Submissions this collector started: how busy ingest is here.
    submissions: AtomicU64,
    /// Bumped after a write others may want to announce.
    changed: tokio::sync::watch::Sender<u64>,
    /// The intake's batches: their sizes and how long each took to store
    /// and commit (the fsync and rewind histograms are SQLite's alone).
    stats: WriteStats,
    /// Where submissions wait to be stored in batches.
    intake: intake::Intake,
}

impl Postgres {
    /// The newest schema version this build knows, which connecting
    /// migrates a database to (versions run from 1, each recorded in
    /// `schema_migrations`).
    pub fn schema_version() -> i64 {
        i64::try_from(migrations::known()).unwrap_or(i64::MAX)
    }

    /// Connects to `url` (`postgres://user:password@host:port/database`,
    /// TLS as its `sslmode` and `sslrootcert` ask, read as libpq reads
    /// them: see `tls`) and brings the schema up to date, once even when
    /// several collectors start together.
    pub async fn connect(url: &str) -> Result<Postgres, StoreError> {
        Postgres::connect_with(url, usize::from(POOL_MAX)).await
    }

    /// [`Postgres::connect`] with at most `connections` open at once.
    pub async fn connect_with(url: &str, connections: usize) -> Result<Postgres, StoreError> {
        let (config, tls) = tls::connection(url)?;
        let manager = Manager::from_config(
            config,
            tls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(connections.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(WAIT))
            .create_timeout(Some(WAIT))
            .build()
            .map_err(|_| StoreError::Unavailable)?;
        let stats = WriteStats::new();
        let intake = intake::Intake::start(&pool, &stats);
        let db = Postgres {
            pool,
            shared: Arc::new(Shared {
                submissions: AtomicU64::new(0),
                changed: tokio::sync::watch::Sender::new(0),
                stats,
                intake,
            }),
        };
        // The first connection says why it failed: the operator starting
        // the server or a command needs more than "unavailable".
        let mut client = db.pool.get().await.map_err(|e| {
            StoreError::Connect(match e {
                PoolError::Backend(e) => ConnectError::new(&e),
                PoolError::Timeout(_) => ConnectError::timed_out(WAIT),
                _ => return StoreError::Unavailable,
            })
        })?;
        migrations::run(&mut client).await?;
        Ok(db)
    }

    async fn client(&self) -> Result<deadpool_postgres::Client, StoreError> {
        client_of(&self.pool).await
    }

    /// Answers once the database does.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.client().await?.simple_query("SELECT 1").await?;
        Ok(())
    }

    /// Changes after a write this collector made that others may want to
    /// announce; the dispatcher also polls, for other collectors' writes.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.shared.changed.subscribe()
    }

    fn changed(&self) {
        self.shared.changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// How many submissions this collector started.
    pub fn submissions_started(&self) -> u64 {
        self.shared.submissions.load(Ordering::Relaxed)
    }

    pub fn write_stats(&self) -> &WriteStats {
        &self.shared.stats
    }

    /// Closes the pool: connections in use finish, later requests fail.
    pub async fn shutdown(&self) {
        self.pool.close();
    }

    /// Counts new entries in the roll-ups: a trickle when `busy`. Search
    /// needs no catching up here: an entry is searchable once stored.
    pub async fn catch_up(&self, busy: bool) -> Result<(), StoreError> {
        if busy {
            self.roll_some(crate::store::search::TRICKLE)
                .await
                .map(drop)
        } else {
            self.roll_up().await.map(drop)
        }
    }
}

/// `url` as an operator may see it in logs: user, hosts, ports and
/// database, never the password.
pub fn describe(url: &str) -> String {
    let Ok(config) = tokio_postgres::Config::from_str(&tls::without_tls_options(url)) else {
        return "postgres (an unreadable URL)".to_owned();
    };
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .zip(config.get_ports().iter().chain(std::iter::repeat(&5432)))
        .map(|(host, port)| match host {
            tokio_postgres::config::Host::Tcp(name) => format!("{name}:{port}"),
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    format!(
        "postgres://{}@{}/{}",
        config.get_user().unwrap_or(""),
        hosts.join(","),
        config.get_dbname().unwrap_or("")
    )
}

/// Records who did what in the audit log, in the caller's transaction.
async fn audit(
    client: &impl GenericClient,
    actor: Option<i64>,
    action: &str,
    subject: &str,
    detail: Option<&str>,
    at: i64,
) -> Result<(), StoreError> {
    client
        .execute(
            "INSERT INTO audit_log (actor_id, action, subject, detail, at) VALUES ($1, $2, $3, $4, $5)",
            &[&actor, &action, &subject, &detail, &at],
        )
        .await?;
    Ok(())
}

/// A connection from `pool`, or why there is none.
async fn client_of(pool: &Pool) -> Result<deadpool_postgres::Client, StoreError> {
    pool.get().await.map_err(|e| match e {
        PoolError::Backend(e) => e.into(),
        _ => StoreError::Unavailable,
    })
}

/// Whether `e` is a unique constraint refusing a row.
fn is_unique_violation(e: &tokio_postgres::Error) -> bool {
    e.code() == Some(&SqlState::UNIQUE_VIOLATION)
}

/// Every row read by `read`. Columns are read with `try_get`: a column of
/// another type than the code expects (a schema a newer binary migrated)
/// is an error for this request, where `Row::get` would panic.
fn read_rows<T>(
    rows: &[Row],
    read: impl FnMut(&Row) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    rows.iter().map(read).collect()
}

/// The row, if there is one, read by `read` (see [`read_rows`]).
fn read_opt<T>(
    row: Option<Row>,
    read: impl FnOnce(&Row) -> Result<T, StoreError>,
) -> Result<Option<T>, StoreError> {
    row.as_ref().map(read).transpose()
}
