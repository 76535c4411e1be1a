//! What `earshot serve` is configured with: one clap struct whose doc
//! comments are the `--help` text, each option also read from the
//! environment, resolved into the [`Config`] the server runs on. The rest
//! of the command line lives in `cli::args`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::abuse::{IpNet, Limits};
use crate::auth::SessionPolicy;
use crate::clock::Clock;
use crate::store::WalCheckpoints;
use crate::store::postgres::POOL_MAX;

#[derive(Debug, Clone, Args)]
pub struct DbArgs {
    /// SQLite database file, ./earshot.db unless named; created and
    /// migrated on start. Other commands need it to exist (`site add`,
    /// `user add` and `dev seed` create one named here).
    #[arg(long, env = "EARSHOT_DB")]
    pub db: Option<PathBuf>,
    /// Store in PostgreSQL instead of the SQLite file, for several
    /// collectors sharing one database:
    /// postgres://user:password@host:5432/database (TLS as its sslmode and
    /// sslrootcert ask, read as psql reads them: verify-full checks the
    /// certificate and host). The schema is created and migrated on start.
    #[arg(long, env = "EARSHOT_DATABASE_URL", conflicts_with = "db")]
    pub database_url: Option<Secret>,
    /// Most connections to PostgreSQL this process keeps open (with
    /// --database-url). Several collectors add up: keep their sum under the
    /// server's max_connections (100 unless configured).
    #[arg(long, env = "EARSHOT_DATABASE_CONNECTIONS", default_value_t = POOL_MAX,
          value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub database_connections: u16,
    /// Public base URL of the collector, as browsers reach it (used in embed
    /// snippets, status links and emails): `http(s)://host[:port]`, the root
    /// of a host name of its own (the console is not served under a path).
    /// Defaults to `http://<addr>`.
    #[arg(long, env = "EARSHOT_PUBLIC_URL", value_parser = parse_public_url)]
    pub public_url: Option<String>,
    /// Who checkpoints the SQLite write-ahead log: `auto` leaves it to
    /// Litestream once Litestream replicates the file (it adds its tables to
    /// the database) and does it otherwise; `own` always does it; `external`
    /// never does, for another replication tool, which must then checkpoint
    /// (without one the WAL grows without bound).
    #[arg(long, env = "EARSHOT_WAL_CHECKPOINTS", default_value = "auto")]
    pub wal_checkpoints: WalCheckpoints,
}

// The serve flags' bounds: a 0 that would end every session or refuse
// every connection, or a number whose seconds overflow, is refused at the
// start with the range instead of being quietly changed or panicking.
/// Most connections `--max-connections` takes (each is a file descriptor).
const MAX_CONNECTIONS: u64 = 1_000_000;
/// Longest header and request timeouts, in seconds (an hour).
const TIMEOUT_SECS_MAX: u64 = 3_600;
/// Longest `--min-fill-ms` (a minute): nobody fills the form slower on
/// purpose, and a longer wait would file real customers as spam.
const MIN_FILL_MS_MAX: u64 = 60_000;
/// Longest staff session settings (a year).
const YEAR_MINUTES: u64 = 365 * 24 * 60;

/// The SQLite file when none is named.
pub const DEFAULT_DB: &str = "./earshot.db";

impl DbArgs {
    /// The SQLite file: the one named, else `./earshot.db`.
    pub fn sqlite_file(&self) -> PathBuf {
        self.db.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_DB))
    }

    /// Where the data lives, as an operator reads it (no password).
    pub fn shown(&self) -> String {
        match &self.database_url {
            Some(url) => crate::store::postgres::describe(url.expose()),
            None => self.sqlite_file().display().to_string(),
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "EARSHOT_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    #[command(flatten)]
    pub db: DbArgs,
    /// Submissions per minute accepted from one client IP (burst of the same
    /// size, then refilling steadily). 0 disables the limit.
    #[arg(long, env = "EARSHOT_RATE_LIMIT_PER_IP", default_value_t = Limits::DEFAULT.per_ip_per_minute)]
    pub rate_limit_per_ip: u32,
    /// Submissions per minute accepted for one site from all clients
    /// together. 0 disables the limit.
    #[arg(long, env = "EARSHOT_RATE_LIMIT_PER_SITE", default_value_t = Limits::DEFAULT.per_site_per_minute)]
    pub rate_limit_per_site: u32,
    /// Reverse proxy whose X-Forwarded-For is trusted, as an address or CIDR
    /// (e.g. 127.0.0.1 or 10.0.0.0/8). Repeatable, or comma-separated in the
    /// environment. Without it the socket address is the client.
    #[arg(
        long = "trusted-proxy",
        env = "EARSHOT_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<IpNet>,
    /// Most client connections served at once. When all are taken, the one
    /// waiting longest without a request is closed for a newcomer; only
    /// when all are busy do newcomers wait in the backlog.
    #[arg(long, env = "EARSHOT_MAX_CONNECTIONS", default_value_t = Limits::DEFAULT.max_connections, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=MAX_CONNECTIONS))]
    pub max_connections: usize,
    /// Most connections one client holds at once (an IPv6 client counts by
    /// its /64); past it, its longest-waiting connection is closed. Not
    /// applied to --trusted-proxy peers: the proxy must limit per client.
    /// 0 disables.
    #[arg(long = "max-connections-per-ip", env = "EARSHOT_MAX_CONNECTIONS_PER_IP", default_value_t = Limits::DEFAULT.max_connections_per_ip)]
    pub max_connections_per_ip: usize,
    /// Seconds a client may take to send request headers (also closes idle
    /// keep-alive connections), so slow clients cannot pin connections.
    #[arg(long, env = "EARSHOT_HEADER_TIMEOUT_SECS", default_value_t = Limits::DEFAULT.header_timeout.as_secs(), value_parser = clap::value_parser!(u64).range(1..=TIMEOUT_SECS_MAX))]
    pub header_timeout_secs: u64,
    /// Seconds a whole request (body included) may take before it gets 408.
    #[arg(long, env = "EARSHOT_REQUEST_TIMEOUT_SECS", default_value_t = Limits::DEFAULT.request_timeout.as_secs(), value_parser = clap::value_parser!(u64).range(1..=TIMEOUT_SECS_MAX))]
    pub request_timeout_secs: u64,
    /// Submissions sent sooner than this many milliseconds after the form was
    /// opened are stored as spam. 0 disables the check.
    #[arg(long, env = "EARSHOT_MIN_FILL_MS", default_value_t = 1_500, value_parser = clap::value_parser!(u64).range(..=MIN_FILL_MS_MAX))]
    pub min_fill_ms: u64,
    /// SMTP relay for the collector's email (staff replies to customers;
    /// receipts, closes and kept promises on sites that send them;
    /// notifications and digests for staff; invitations and password
    /// resets), e.g. smtp://user:password@mail.example:587?tls=required
    /// (STARTTLS), smtps://user:password@mail.example:465, or
    /// smtp://127.0.0.1:25 for a local relay. Without it, replies appear
    /// only on the status page, staff are not emailed, and invitation and
    /// reset links are shown to the admin to pass on.
    #[arg(long, env = "EARSHOT_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<Secret>,
    /// Sender of every email the collector sends.
    #[arg(
        long,
        env = "EARSHOT_SMTP_FROM",
        default_value = "Earshot <earshot@localhost>"
    )]
    pub smtp_from: String,
    /// Let webhooks reach loopback, private and link-local addresses (for
    /// intranet receivers and tests). Off by default: a webhook URL must not
    /// become a way into the collector's own network.
    #[arg(
        long,
        env = "EARSHOT_ALLOW_PRIVATE_WEBHOOKS",
        value_parser = clap::builder::BoolishValueParser::new(),
        action = clap::ArgAction::SetTrue
    )]
    pub allow_private_webhooks: bool,
    /// Take a backup into this directory on a schedule (off unless set);
    /// the same checked copy as `earshot backup`.
    #[arg(long, env = "EARSHOT_BACKUP_DIR")]
    pub backup_dir: Option<PathBuf>,
    /// How often to back up into --backup-dir: a number and m, h or d.
    #[arg(long, env = "EARSHOT_BACKUP_EVERY", default_value = "1d", value_parser = parse_every)]
    pub backup_every: Duration,
    /// Scheduled backups to keep; older ones are removed.
    #[arg(long, env = "EARSHOT_BACKUP_KEEP", default_value_t = 7, value_parser = clap::value_parser!(u16).range(1..))]
    pub backup_keep: u16,
    /// Serve Prometheus metrics at `http://<this address>/metrics`, on a
    /// listener of their own (off unless set; never on the public --addr).
    /// Keep it on a private interface, or set --metrics-token.
    #[arg(long, env = "EARSHOT_METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,
    /// Bearer token a scraper must send to --metrics-addr
    /// (`Authorization: Bearer …`).
    #[arg(
        long,
        env = "EARSHOT_METRICS_TOKEN",
        hide_env_values = true,
        requires = "metrics_addr"
    )]
    pub metrics_token: Option<Secret>,
    /// Minutes of inactivity after which a staff session ends.
    #[arg(long, env = "EARSHOT_SESSION_IDLE_MINUTES", default_value_t = SessionPolicy::DEFAULT.idle.as_secs() / 60, value_parser = clap::value_parser!(u64).range(1..=YEAR_MINUTES))]
    pub session_idle_minutes: u64,
    /// Hours after sign-in at which a staff session ends, however active.
    #[arg(long, env = "EARSHOT_SESSION_MAX_HOURS", default_value_t = SessionPolicy::DEFAULT.absolute.as_secs() / 3600, value_parser = clap::value_parser!(u64).range(1..=YEAR_MINUTES / 60))]
    pub session_max_hours: u64,
}

/// A configuration value that must never be printed (it holds a password).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_owned()))
    }
}

/// Where reply emails go out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Smtp {
    pub url: Secret,
    pub from: String,
}

/// Everything the server needs, resolved from the CLI.
#[derive(Debug, Clone)]
pub struct Config {
    pub addr: SocketAddr,
    /// The SQLite file, unless `database_url` is set.
    pub db: PathBuf,
    /// PostgreSQL, instead of the SQLite file.
    pub database_url: Option<Secret>,
    /// Most connections to PostgreSQL kept open.
    pub database_connections: u16,
    /// Who checkpoints the SQLite file's WAL.
    pub wal_checkpoints: WalCheckpoints,
    /// Without a trailing slash.
    pub public_url: Option<String>,
    pub limits: Limits,
    pub trusted_proxies: Vec<IpNet>,
    /// Staff session lifetimes; `secure_cookie` is derived from the public
    /// URL at start.
    pub sessions: SessionPolicy,
    /// Time source for the console (tests use a manual clock).
    pub clock: Clock,
    /// Email replies to customers through this relay, if set.
    pub smtp: Option<Smtp>,
    /// Webhooks may reach private and loopback addresses.
    pub allow_private_webhooks: bool,
    /// Scheduled backups, if any.
    pub backups: Option<BackupSchedule>,
    /// Where Prometheus metrics are served, if anywhere.
    pub metrics: Option<MetricsListener>,
}

/// The metrics listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsListener {
    pub addr: SocketAddr,
    pub token: Option<Secret>,
}

/// Why a `--public-url` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublicUrlError {
    #[error("write the address browsers use, like https://feedback.example.com")]
    NotAUrl,
    #[error("it must start with https:// (or http:// for trying it out)")]
    Scheme,
    #[error("it must not carry a user name or password")]
    Credentials,
    #[error("it must not carry a ?query or #fragment: links are built on it")]
    Suffix,
    #[error(
        "it must be the root of a host name, like https://feedback.example.com: \
         Earshot is not served under a path such as {0} (its console links start at /)"
    )]
    Path(String),
}

/// `--public-url`: an http(s) origin that links can be appended to, without
/// a trailing slash. Refused at start rather than printed into every embed
/// snippet and status link. A path is refused too: behind a proxy that
/// serves Earshot under `/feedback`, the widget and status links would work
/// while every console link, redirect and cookie (all rooted at `/`)
/// would miss it — half a deployment that looks like a whole one.
fn parse_public_url(raw: &str) -> Result<String, PublicUrlError> {
    let raw = raw.trim();
    let url = reqwest::Url::parse(raw).map_err(|_| PublicUrlError::NotAUrl)?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(PublicUrlError::Scheme);
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(PublicUrlError::NotAUrl);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(PublicUrlError::Credentials);
    }
    if url.query().is_some() || url.fragment().is_some() || raw.contains(['?', '#']) {
        return Err(PublicUrlError::Suffix);
    }
    if url.path() != "/" {
        return Err(PublicUrlError::Path(url.path().to_owned()));
    }
    Ok(raw.trim_end_matches('/').to_owned())
}

/// `30m`, `6h`, `1d` (at least a minute).
fn parse_every(raw: &str) -> Result<Duration, String> {
    let raw = raw.trim();
    let split = raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len());
    let (number, unit) = raw.split_at(split);
    let unreadable = || "write a number and its unit, m, h or d, like 30m, 6h or 1d".to_owned();
    let n: u64 = number.parse().map_err(|_| unreadable())?;
    let secs = match unit {
        "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3_600),
        "d" => n.saturating_mul(86_400),
        _ => return Err(unreadable()),
    };
    if secs < 60 {
        return Err("back up at most once a minute".to_owned());
    }
    Ok(Duration::from_secs(secs))
}

/// Scheduled backups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSchedule {
    pub dir: PathBuf,
    pub every: Duration,
    pub keep: usize,
}

impl Config {
    /// Where the data lives, as an operator reads it (no password).
    pub fn database(&self) -> String {
        match &self.database_url {
            Some(url) => crate::store::postgres::describe(url.expose()),
            None => self.db.display().to_string(),
        }
    }

    /// Defaults for everything but where to listen and store.
    pub fn new(addr: SocketAddr, db: PathBuf) -> Self {
        Config {
            addr,
            db,
            database_url: None,
            database_connections: POOL_MAX,
            wal_checkpoints: WalCheckpoints::default(),
            public_url: None,
            limits: Limits::DEFAULT,
            trusted_proxies: Vec::new(),
            sessions: SessionPolicy::DEFAULT,
            clock: Clock::system(),
            smtp: None,
            allow_private_webhooks: false,
            backups: None,
            metrics: None,
        }
    }
}

impl From<ServeArgs> for Config {
    fn from(args: ServeArgs) -> Self {
        Config {
            addr: args.addr,
            db: args.db.sqlite_file(),
            database_url: args.db.database_url,
            database_connections: args.db.database_connections,
            wal_checkpoints: args.db.wal_checkpoints,
            public_url: args.db.public_url,
            limits: Limits {
                per_ip_per_minute: args.rate_limit_per_ip,
                per_site_per_minute: args.rate_limit_per_site,
                max_connections: args.max_connections,
                max_connections_per_ip: args.max_connections_per_ip,
                header_timeout: Duration::from_secs(args.header_timeout_secs),
                request_timeout: Duration::from_secs(args.request_timeout_secs),
                min_fill: Duration::from_millis(args.min_fill_ms),
            },
            trusted_proxies: args.trusted_proxies,
            sessions: SessionPolicy {
                idle: Duration::from_secs(args.session_idle_minutes * 60),
                absolute: Duration::from_secs(args.session_max_hours * 3600),
                secure_cookie: false,
            },
            clock: Clock::system(),
            smtp: args.smtp_url.map(|url| Smtp {
                url,
                from: args.smtp_from,
            }),
            allow_private_webhooks: args.allow_private_webhooks,
            backups: args.backup_dir.map(|dir| BackupSchedule {
                dir,
                every: args.backup_every,
                keep: usize::from(args.backup_keep),
            }),
            metrics: args.metrics_addr.map(|addr| MetricsListener {
                addr,
                token: args.metrics_token,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Serve {
        #[command(flatten)]
        args: ServeArgs,
    }

    fn serve(flags: &[&str]) -> Result<Config, String> {
        let argv = std::iter::once("earshot").chain(flags.iter().copied());
        Serve::try_parse_from(argv)
            .map(|serve| Config::from(serve.args))
            .map_err(|error| error.to_string())
    }

    #[test]
    fn serve_flags_out_of_range_are_refused_with_their_range() {
        for (flag, value, range) in [
            ("--session-idle-minutes", "0", "1..=525600"),
            ("--session-idle-minutes", "18446744073709551615", "u64"),
            ("--session-max-hours", "0", "1..=8760"),
            ("--session-max-hours", "8761", "1..=8760"),
            ("--max-connections", "0", "1..=1000000"),
            ("--header-timeout-secs", "0", "1..=3600"),
            ("--request-timeout-secs", "0", "1..=3600"),
            ("--request-timeout-secs", "3601", "1..=3600"),
            ("--min-fill-ms", "60001", "0..=60000"),
        ] {
            let error = serve(&[flag, value]).unwrap_err();
            assert!(error.contains(flag), "{flag} {value}: {error}");
            if range != "u64" {
                assert!(error.contains(range), "{flag} {value}: {error}");
            }
        }
    }

    #[test]
    fn serve_flags_at_their_bounds_are_taken_as_written() {
        let config = serve(&[
            "--session-idle-minutes",
            "525600",
            "--session-max-hours",
            "1",
            "--max-connections",
            "1",
            "--header-timeout-secs",
            "3600",
            "--request-timeout-secs",
            "1",
            "--min-fill-ms",
            "0",
        ])
        .unwrap();
        assert_eq!(config.sessions.idle, Duration::from_secs(365 * 86_400));
        assert_eq!(config.sessions.absolute, Duration::from_secs(3_600));
        assert_eq!(config.limits.max_connections, 1);
        assert_eq!(config.limits.header_timeout, Duration::from_secs(3_600));
        assert_eq!(config.limits.request_timeout, Duration::from_secs(1));
        assert_eq!(config.limits.min_fill, Duration::ZERO);
    }

    #[test]
    fn a_backup_period_is_a_number_and_its_unit_and_at_least_a_minute() {
        assert_eq!(parse_every("30m"), Ok(Duration::from_secs(1_800)));
        assert_eq!(parse_every(" 6h "), Ok(Duration::from_secs(21_600)));
        assert_eq!(parse_every("1d"), Ok(Duration::from_secs(86_400)));
        for unreadable in ["5", "h", "5x", "", "1.5h", "-1h"] {
            let error = parse_every(unreadable).unwrap_err();
            assert!(
                error.contains("like 30m, 6h or 1d"),
                "{unreadable:?}: {error}"
            );
        }
        assert_eq!(
            parse_every("59s"),
            Err("back up at most once a minute".to_owned())
        );
    }

    #[test]
    fn a_public_url_is_an_http_base_links_can_be_built_on() {
        assert_eq!(
            parse_public_url("https://feedback.example.com/").as_deref(),
            Ok("https://feedback.example.com")
        );
        assert_eq!(
            parse_public_url(" http://127.0.0.1:8080 ").as_deref(),
            Ok("http://127.0.0.1:8080")
        );
        for (raw, why) in [
            ("not a url", PublicUrlError::NotAUrl),
            ("feedback.example.com", PublicUrlError::NotAUrl),
            ("ftp://feedback.example.com", PublicUrlError::Scheme),
            (
                "https://ops:pw@feedback.example.com",
                PublicUrlError::Credentials,
            ),
            ("https://feedback.example.com/?x=1", PublicUrlError::Suffix),
            ("https://feedback.example.com/#top", PublicUrlError::Suffix),
            ("https://feedback.example.com/?", PublicUrlError::Suffix),
            (
                "https://example.com/feedback",
                PublicUrlError::Path("/feedback".to_owned()),
            ),
            (
                "https://example.com/feedback/",
                PublicUrlError::Path("/feedback/".to_owned()),
            ),
        ] {
            assert_eq!(parse_public_url(raw), Err(why), "{raw}");
        }
    }
}
