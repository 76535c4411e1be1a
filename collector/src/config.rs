//! Command line and environment configuration: one clap tree, whose doc
//! comments are the `--help` text.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::abuse::IpNet;
use crate::auth::SessionPolicy;
use crate::clock::Clock;

/// Earshot: self-hosted customer feedback. Collects complaints, expectation
/// mismatches, ideas and praise from a widget on your site.
#[derive(Debug, Parser)]
#[command(
    name = "earshot",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// How logs are written to standard error: `text` (coloured only on a
    /// terminal) or `json`, one object per line, for log shippers.
    #[arg(long, env = "EARSHOT_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"], global = true)]
    pub log_format: String,
    /// Options for `serve`, accepted without the subcommand too.
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the collector (the default when no subcommand is given).
    Serve(ServeArgs),
    /// Manage the sites allowed to send feedback.
    #[command(subcommand)]
    Site(SiteCommand),
    /// Manage staff accounts for the review console.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage signed webhooks that tell other tools what happens to feedback.
    #[command(subcommand)]
    Webhook(WebhookCommand),
    /// Manage API tokens for the staff REST API (/api/v1).
    #[command(subcommand)]
    Token(TokenCommand),
    /// Write a consistent, checked copy of the database to a new file while
    /// the server keeps running (SQLite `VACUUM INTO`; attachments included).
    Backup {
        /// Where to write the copy; refused if it exists.
        #[arg(long)]
        to: PathBuf,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Replace the database with a backup. The copy is checked first, the
    /// server must be stopped, and the replaced file is kept beside it as
    /// <db>.replaced-<time>.
    Restore {
        /// The backup to restore.
        #[arg(long)]
        from: PathBuf,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Compact the database file and switch it to incremental auto-vacuum,
    /// so space freed by retention and erasure goes back to the file system
    /// from then on (databases created by this version have it already).
    /// The server must be stopped; it needs free disk space about the size
    /// of the database.
    Vacuum {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Erase everything held about a person, found by the email they gave
    /// (case-insensitive): their entries with attachments, replies, notes,
    /// promises, queued emails and webhook deliveries. Their status links
    /// then answer 410. Recorded in the audit log (without the address).
    Erase {
        #[arg(long)]
        email: String,
        /// Only entries on this site (its key).
        #[arg(long)]
        site: Option<String>,
        /// Show what would be erased, and erase nothing.
        #[arg(long)]
        dry_run: bool,
        /// Do not ask for confirmation (for scripts).
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Write everything held about a person (found by their email) as JSON:
    /// the answer to a data subject access request. Recorded in the audit log.
    ExportPerson {
        #[arg(long)]
        email: String,
        /// Only entries on this site (its key).
        #[arg(long)]
        site: Option<String>,
        /// Write here instead of standard output.
        #[arg(long)]
        to: Option<PathBuf>,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Tools for development and benchmarking.
    #[command(subcommand)]
    Dev(DevCommand),
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token acting as a colleague; prints it once.
    Add {
        /// The colleague the token acts for.
        #[arg(long)]
        email: String,
        /// A label to recognise it by, e.g. "nightly export".
        #[arg(long)]
        name: String,
        /// `read` (entries, sites, exports) or `write` (also status,
        /// assignment, notes, replies and promises).
        #[arg(long, value_parser = ["read", "write"])]
        scope: String,
        /// Stop working after this many days (default: until revoked).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=3650))]
        expires_days: Option<u32>,
        #[command(flatten)]
        db: DbArgs,
    },
    /// List tokens (never the tokens themselves).
    List {
        /// Only this colleague's tokens.
        #[arg(long)]
        email: Option<String>,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Revoke a token at once.
    Revoke {
        /// The token's id (tok_…), as `earshot token list` shows it.
        id: String,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a staff account. The password is read from the first line of
    /// standard input, unless --generate-password prints a new one.
    Add {
        /// Email address used to sign in.
        #[arg(long)]
        email: String,
        /// Name colleagues see (defaults to the part of the email before @).
        #[arg(long)]
        name: Option<String>,
        /// `agent` (triage and answer) or `admin` (also site settings).
        #[arg(long, default_value = "agent", value_parser = ["agent", "admin"])]
        role: String,
        /// Generate a strong password and print it once.
        #[arg(long)]
        generate_password: bool,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Set a new password (ends the account's sessions). Read from standard
    /// input unless --generate-password.
    Password {
        #[arg(long)]
        email: String,
        #[arg(long)]
        generate_password: bool,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Disable an account: it can no longer sign in, its sessions and API
    /// tokens stop at once; its name stays on past timeline events. The
    /// last active administrator cannot be disabled.
    Disable {
        #[arg(long)]
        email: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Enable a disabled account again (its old password works; its API
    /// tokens stay revoked).
    Enable {
        #[arg(long)]
        email: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// List staff accounts.
    List {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Show or change how a colleague is notified. Settings:
    /// immediate=off|<kinds and severities> (e.g. complaint,expectation,blocking),
    /// sites=all|<site keys>, digest=off|<UTC hour 0-23>, assigned=on|off.
    Notify {
        #[arg(long)]
        email: String,
        /// A setting as name=value; repeatable. Without any, prints the
        /// current settings.
        #[arg(long = "set", value_name = "NAME=VALUE")]
        set: Vec<String>,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Add an endpoint to a site; prints its id and signing secret once.
    Add {
        /// The site's key (see `earshot site list`).
        #[arg(long)]
        site: String,
        /// Where to POST: an http or https URL.
        #[arg(long)]
        url: String,
        /// An event to send (entry.created, entry.status_changed,
        /// entry.assigned, entry.replied, entry.followed_up, promise.made, promise.due,
        /// promise.overdue, promise.settled); repeatable or comma-separated.
        /// Without it, every event.
        #[arg(long = "event", value_delimiter = ',')]
        events: Vec<String>,
        /// `standard` (Standard Webhooks v1) or `slack` (a Slack or
        /// Mattermost incoming webhook).
        #[arg(long, default_value = "standard", value_parser = ["standard", "slack"])]
        format: String,
        /// Include the customer's email address in messages.
        #[arg(long)]
        include_email: bool,
        #[command(flatten)]
        db: DbArgs,
    },
    /// List endpoints with their state.
    List {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Remove an endpoint and everything queued for it.
    Remove {
        /// The endpoint's id (wh_…).
        id: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Give an endpoint a new signing secret (printed once); the old one
    /// keeps signing beside it for 24 hours.
    Rotate {
        /// The endpoint's id (wh_…).
        id: String,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum DevCommand {
    /// Fill the database with synthetic feedback spread over the past year
    /// (for trying the console and for `cargo bench --bench console`).
    Seed {
        /// Entries to add.
        #[arg(long, default_value_t = 10_000)]
        count: usize,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Debug, Clone, Args)]
pub struct DbArgs {
    /// SQLite database file; created and migrated on start.
    #[arg(long, env = "EARSHOT_DB", default_value = "./earshot.db")]
    pub db: PathBuf,
    /// Public base URL of the collector, as browsers reach it (used in embed
    /// snippets and status links). Defaults to http://<addr>.
    #[arg(long, env = "EARSHOT_PUBLIC_URL")]
    pub public_url: Option<String>,
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
    #[arg(long, env = "EARSHOT_MAX_CONNECTIONS", default_value_t = Limits::DEFAULT.max_connections)]
    pub max_connections: usize,
    /// Most connections one client holds at once (an IPv6 client counts by
    /// its /64); past it, its longest-waiting connection is closed. Not
    /// applied to --trusted-proxy peers: the proxy must limit per client.
    /// 0 disables.
    #[arg(long = "max-connections-per-ip", env = "EARSHOT_MAX_CONNECTIONS_PER_IP", default_value_t = Limits::DEFAULT.max_connections_per_ip)]
    pub max_connections_per_ip: usize,
    /// Seconds a client may take to send request headers (also closes idle
    /// keep-alive connections), so slow clients cannot pin connections.
    #[arg(long, env = "EARSHOT_HEADER_TIMEOUT_SECS", default_value_t = Limits::DEFAULT.header_timeout.as_secs())]
    pub header_timeout_secs: u64,
    /// Seconds a whole request (body included) may take before it gets 408.
    #[arg(long, env = "EARSHOT_REQUEST_TIMEOUT_SECS", default_value_t = Limits::DEFAULT.request_timeout.as_secs())]
    pub request_timeout_secs: u64,
    /// Submissions sent sooner than this many milliseconds after the form was
    /// opened are stored as spam. 0 disables the check.
    #[arg(long, env = "EARSHOT_MIN_FILL_MS", default_value_t = 1_500)]
    pub min_fill_ms: u64,
    /// SMTP relay for emailing staff replies to customers, e.g.
    /// smtp://user:password@mail.example:587?tls=required (STARTTLS),
    /// smtps://user:password@mail.example:465, or smtp://127.0.0.1:25 for a
    /// local relay. Without it, replies appear only on the status page.
    #[arg(long, env = "EARSHOT_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<Secret>,
    /// Sender of reply emails.
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
    /// Serve Prometheus metrics at http://<this address>/metrics, on a
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
    #[arg(long, env = "EARSHOT_SESSION_IDLE_MINUTES", default_value_t = SessionPolicy::DEFAULT.idle.as_secs() / 60)]
    pub session_idle_minutes: u64,
    /// Hours after sign-in at which a staff session ends, however active.
    #[arg(long, env = "EARSHOT_SESSION_MAX_HOURS", default_value_t = SessionPolicy::DEFAULT.absolute.as_secs() / 3600)]
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

/// Limits protecting the public endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub per_ip_per_minute: u32,
    pub per_site_per_minute: u32,
    pub max_connections: usize,
    pub max_connections_per_ip: usize,
    pub header_timeout: Duration,
    pub request_timeout: Duration,
    pub min_fill: Duration,
}

impl Limits {
    pub const DEFAULT: Limits = Limits {
        per_ip_per_minute: 20,
        per_site_per_minute: 1_200,
        max_connections: 1_024,
        max_connections_per_ip: 64,
        header_timeout: Duration::from_secs(10),
        request_timeout: Duration::from_secs(15),
        min_fill: Duration::from_millis(1_500),
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

#[derive(Debug, Subcommand)]
pub enum SiteCommand {
    /// Add a site and print its embed snippet.
    Add {
        /// Human-readable name shown to staff.
        #[arg(long)]
        name: String,
        /// Origin allowed to embed the widget, e.g. https://shop.example,
        /// http://localhost:* (any port) or https://*.example.com. Repeatable.
        #[arg(long = "origin", required = true)]
        origins: Vec<String>,
        #[command(flatten)]
        db: DbArgs,
    },
    /// List sites with their keys and allowed origins.
    List {
        #[command(flatten)]
        db: DbArgs,
    },
}

/// Everything the server needs, resolved from the CLI.
#[derive(Debug, Clone)]
pub struct Config {
    pub addr: SocketAddr,
    pub db: PathBuf,
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

/// `30m`, `6h`, `1d` (at least a minute).
fn parse_every(raw: &str) -> Result<Duration, String> {
    let raw = raw.trim();
    let split = raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len());
    let (number, unit) = raw.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{raw:?}: write a number and m, h or d, like 6h"))?;
    let secs = match unit {
        "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3_600),
        "d" => n.saturating_mul(86_400),
        other => return Err(format!("{other:?} is not m, h or d")),
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
    /// Defaults for everything but where to listen and store.
    pub fn new(addr: SocketAddr, db: PathBuf) -> Self {
        Config {
            addr,
            db,
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
            db: args.db.db,
            public_url: args
                .db
                .public_url
                .map(|u| u.trim_end_matches('/').to_owned()),
            limits: Limits {
                per_ip_per_minute: args.rate_limit_per_ip,
                per_site_per_minute: args.rate_limit_per_site,
                max_connections: args.max_connections.max(1),
                max_connections_per_ip: args.max_connections_per_ip,
                header_timeout: Duration::from_secs(args.header_timeout_secs.max(1)),
                request_timeout: Duration::from_secs(args.request_timeout_secs.max(1)),
                min_fill: Duration::from_millis(args.min_fill_ms),
            },
            trusted_proxies: args.trusted_proxies,
            sessions: SessionPolicy {
                idle: Duration::from_secs(args.session_idle_minutes.max(1) * 60),
                absolute: Duration::from_secs(args.session_max_hours.max(1) * 3600),
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
