//! What each `earshot` subcommand does.

pub mod args;
mod health;
mod panics;
mod privacy;
pub mod site_args;
mod sites;
mod terminal;
mod tokens;
mod users;
mod webhooks;

use std::path::PathBuf;
use std::process::ExitCode;

use crate::auth::PasswordError;
use crate::config::{Config, DbArgs, ServeArgs};
use crate::server::{self, snippet};
use crate::store::{Role, Store, StoreError, counted};
use args::{Command, DevCommand, UserCommand};
pub use panics::log_panics;
use site_args::SiteCommand;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Start(#[from] server::StartError),
    #[error("database {path}: {source}")]
    Store { path: String, source: StoreError },
    /// Besides `serve`, commands make a database only when restoring one,
    /// or where `--db` names it for a new installation (`site add`, `user
    /// add`, `dev seed`): run in the wrong folder they would otherwise add
    /// a colleague to an empty database of their own, or tell an operator
    /// that nothing is held about a person whose entries are in the real
    /// one.
    #[error("no database at {path}: {hint}")]
    NoDatabase { path: String, hint: &'static str },
    #[error("too many --origin: {0}")]
    Origins(crate::origin::OriginListError),
    #[error("invalid {flag} {origin:?}: {reason}")]
    Origin {
        flag: &'static str,
        origin: String,
        reason: crate::origin::OriginError,
    },
    #[error("server stopped with an error: {0}")]
    Serve(std::io::Error),
    #[error("password: {0}")]
    Password(#[from] PasswordError),
    #[error("could not read the password from standard input: {0}")]
    Stdin(std::io::Error),
    #[error("no password was typed; nothing was changed")]
    NoPasswordTyped,
    #[error("no password after {} tries; nothing was changed", terminal::TRIES)]
    NoPasswordAgreed,
    #[error("cancelled; nothing was changed")]
    Cancelled,
    #[error("the password typed is not valid UTF-8 text")]
    NotUtf8,
    #[error("invalid --email: {0}")]
    Email(String),
    #[error("invalid --name: {0}")]
    Name(#[from] crate::name::NameError),
    #[error("no account has the email {0}")]
    NoSuchUser(String),
    #[error("database {path}: {source}")]
    NoFolder {
        path: String,
        source: crate::private_files::FilePathError,
    },
    #[error(
        "a site named \"{name}\" exists already, with key {key} (`earshot site list` shows it): give this one another name"
    )]
    SiteNameTaken { name: String, key: String },
    #[error(
        "an account with the email {0} exists already (earshot user password --email {0} changes its password)"
    )]
    EmailTaken(String),
    #[error("{0} is disabled: enable it first (earshot user enable --email {0})")]
    Disabled(String),
    #[error("refused: {0}")]
    Refused(crate::store::AccountRefusal),
    #[error("no site has the key {0}")]
    NoSuchSite(String),
    #[error(
        "site {key} does not allow {origin} (`earshot site list` shows its origins); nothing was changed"
    )]
    NotAnOrigin { key: String, origin: String },
    #[error(transparent)]
    Terms(#[from] crate::response_terms::TermsError),
    #[error(
        "name what to change: --name, --origin, --add-origin, --remove-origin, --first-response-hours, --response-promise, --retention-days, --retention-scope or --spam-days"
    )]
    NothingToChange,
    #[error("invalid {0}: {1}")]
    Days(&'static str, crate::store::retention::DaysError),
    #[error(
        "{0} is the only site: add the site that replaces it first (earshot site add), then remove this one"
    )]
    OnlySite(String),
    #[error("no live token has the id {0}")]
    NoSuchToken(String),
    #[error("the token's name must be 1 to 100 characters")]
    TokenName,
    #[error("no webhook has the id {0}")]
    NoSuchWebhook(String),
    #[error(
        "`earshot {0}` works on the SQLite file; for PostgreSQL use its own tools (pg_dump and pg_restore, VACUUM)"
    )]
    SqliteOnly(&'static str),
    #[error("copying into PostgreSQL: {0}")]
    Copy(#[from] crate::store::postgres::CopyError),
    #[error("{0} is in use by a running server: stop it first")]
    InUse(String),
    #[error(transparent)]
    Webhook(#[from] crate::webhooks::WebhookError),
    #[error(transparent)]
    Prefs(#[from] crate::notify::PrefsError),
    #[error(transparent)]
    Backup(#[from] crate::store::backup::BackupError),
    #[error("not on a terminal: pass --yes to go on without a question")]
    NeedsYes,
    #[error("{0} already exists; choose another name or remove it first (nothing was written)")]
    Exists(PathBuf),
    #[error("could not write {0}: {1}")]
    Write(PathBuf, std::io::Error),
    #[error("unhealthy: {0}")]
    Unhealthy(#[from] health::Unhealthy),
}

pub async fn run(command: Option<Command>, serve_args: ServeArgs) -> ExitCode {
    let result = match command {
        None => serve(serve_args).await,
        Some(Command::Serve(args)) => serve(args).await,
        Some(Command::Site(SiteCommand::Add {
            name,
            origins,
            settings,
            db,
        })) => sites::add(name, origins, settings, db).await,
        Some(Command::Site(SiteCommand::List { format, db })) => sites::list(format, db).await,
        Some(Command::Site(SiteCommand::Show { key, db })) => sites::show(key, db).await,
        Some(Command::Site(SiteCommand::Edit { key, change, db })) => {
            sites::edit(key, change, db).await
        }
        Some(Command::Site(SiteCommand::Remove { key, confirm, db })) => {
            sites::remove(key, confirm, db).await
        }
        Some(Command::User(UserCommand::Add {
            email,
            name,
            role,
            generate_password,
            db,
        })) => users::add_user(email, name, &role, generate_password, db).await,
        Some(Command::User(UserCommand::Password {
            email,
            generate_password,
            db,
        })) => users::set_password(email, generate_password, db).await,
        Some(Command::User(UserCommand::List { format, db })) => {
            users::list_users(format, db).await
        }
        Some(Command::User(UserCommand::Rename { email, name, db })) => {
            users::rename_user(email, name, db).await
        }
        Some(Command::User(UserCommand::Role { email, role, db })) => {
            users::set_role(email, &role, db).await
        }
        Some(Command::User(UserCommand::Disable { email, db })) => {
            users::set_disabled(email, true, db).await
        }
        Some(Command::User(UserCommand::Enable { email, db })) => {
            users::set_disabled(email, false, db).await
        }
        Some(Command::User(UserCommand::Notify { email, set, db })) => {
            webhooks::notify(email, set, db).await
        }
        Some(Command::Webhook(command)) => webhooks::run(command).await,
        Some(Command::Token(command)) => tokens::run(command).await,
        Some(Command::Dev(DevCommand::Seed { count, db })) => seed(count, db).await,
        Some(Command::Backup { to, db }) => backup(to, db).await,
        Some(Command::Erase {
            email,
            site,
            confirm,
            db,
        }) => privacy::erase(email, site, confirm, db).await,
        Some(Command::ExportPerson {
            email,
            site,
            to,
            db,
        }) => privacy::export(email, site, to, db).await,
        Some(Command::Restore { from, db }) => restore(from, db).await,
        Some(Command::MigrateToPostgres {
            from,
            database_url,
            with_sessions,
        }) => migrate_to_postgres(from, database_url, with_sessions).await,
        Some(Command::Vacuum { db }) => vacuum(db).await,
        Some(Command::Healthcheck { addr }) => health::check(addr).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Sites whose snippet the first lines of output show.
const SITES_PRINTED: usize = 5;

async fn serve(args: ServeArgs) -> Result<(), CliError> {
    let config = Config::from(args);
    let running = server::start(&config).await?;
    let url = &running.public_url;
    println!(
        "Earshot is listening on http://{} (public URL {url})",
        running.addr
    );
    println!("Database: {}", config.database());
    // New files are the owner's alone; one made by an older version, or
    // copied in, keeps what it had, which its owner should hear.
    if config.database_url.is_none()
        && let Some(mode) = crate::private_files::open_to_others(&config.db)
    {
        println!(
            "Note: other accounts on this machine may read the database (mode {mode:o}), which holds customers' words and emails: `chmod 600 {}*` (the file with its -wal and -shm).",
            config.db.display()
        );
    }
    if let Some(addr) = running.metrics_addr {
        println!("Metrics (Prometheus): http://{addr}/metrics");
    }
    if let Ok(sites) = running.store.sites().await {
        for site in sites.iter().take(SITES_PRINTED) {
            let created = running
                .created_site
                .as_ref()
                .is_some_and(|c| c.id == site.id);
            let note = if created { " (created now)" } else { "" };
            let origins = site
                .origins
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            let accepts = if origins.is_empty() {
                "no browser page yet (add origins under Sites in the console)".to_owned()
            } else {
                format!("pages at {origins}")
            };
            println!(
                "\nSite \"{}\"{note}: add this to your pages:\n  {}\n  It accepts feedback from {accepts}.",
                site.name,
                snippet(url, &site.key)
            );
            if let Some(origin) = crate::origin::blocked_on_https(url, &site.origins) {
                println!(
                    "  Warning: {}",
                    crate::origin::blocked_on_https_warning(url, origin)
                );
            }
        }
        if sites.len() > SITES_PRINTED {
            println!(
                "\n…and {} more sites: see `earshot site list` or Sites in the console.",
                sites.len() - SITES_PRINTED
            );
        }
    }
    println!("\nReview console: {url}/console");
    if let Some(setup) = &running.setup_url {
        println!(
            "No staff account exists yet. Create the first (administrator) here; the link works until an account exists:\n  {setup}"
        );
    }
    if config.public_url.is_none() {
        // Customers' status links and emails are built on the address, so
        // a guess that browsers cannot use breaks every one of them.
        let why = if !config.trusted_proxies.is_empty() {
            Some("behind a reverse proxy (--trusted-proxy)")
        } else if config.addr.ip().is_unspecified() {
            Some("listening on all interfaces")
        } else {
            None
        };
        if let Some(why) = why {
            println!(
                "\nNote: {why}, but without --public-url: status links, reply emails and snippets point at {url}. Set --public-url to the address browsers use."
            );
        }
    }
    if let Some(sender) = config
        .smtp
        .as_ref()
        .and_then(|smtp| crate::mail::made_up_sender(&smtp.from))
    {
        println!(
            "\nNote: email goes out from {sender} (--smtp-from), a domain nobody receives mail for: relays refuse such a sender and inboxes file it as spam. Set --smtp-from to an address of your own domain, like \"Shop feedback <feedback@shop.example>\"."
        );
    }
    server::shutdown_signal().await;
    tracing::info!("shutting down: finishing requests and committing queued writes");
    running.stop().await.map_err(CliError::Serve)
}

/// What to do when a command finds no database.
const NAME_THE_DATABASE: &str =
    "name the server's database with --db <file> or EARSHOT_DB (`earshot serve` creates a new one)";

/// The store a command works on; an SQLite file must exist already.
pub(crate) async fn open(db: &DbArgs) -> Result<Store, CliError> {
    if db.database_url.is_none() {
        existing(&db.sqlite_file(), NAME_THE_DATABASE)?;
    }
    connect(db).await
}

/// The store for a command that can start an installation (`site add`,
/// `user add`, `dev seed`): a database file named with `--db` is created
/// if it is missing, so an installation can be prepared before its first
/// start; the unnamed default must exist, as for every other command.
pub(crate) async fn open_or_create(db: &DbArgs) -> Result<Store, CliError> {
    if db.database_url.is_none() && db.db.is_none() {
        existing(&db.sqlite_file(), NAME_THE_DATABASE)?;
    }
    connect(db).await
}

/// Refuses a database file that does not exist, saying where it looked:
/// the default `./earshot.db` means nothing without the folder.
fn existing(path: &std::path::Path, hint: &'static str) -> Result<(), CliError> {
    if path.exists() {
        return Ok(());
    }
    let shown = match std::path::absolute(path) {
        Ok(full) if full != path => format!("{} ({})", path.display(), full.display()),
        _ => path.display().to_string(),
    };
    Err(CliError::NoDatabase { path: shown, hint })
}

/// The store `db` names, created and migrated if it is new.
async fn connect(db: &DbArgs) -> Result<Store, CliError> {
    if let Some(url) = &db.database_url {
        return Store::connect_with(url.expose(), usize::from(db.database_connections))
            .await
            .map_err(|source| CliError::Store {
                path: db.shown(),
                source,
            });
    }
    let (path, checkpoints) = (db.sqlite_file(), db.wal_checkpoints);
    crate::private_files::check_file_path(&path).map_err(|source| CliError::NoFolder {
        path: path.display().to_string(),
        source,
    })?;
    let err = |source| CliError::Store {
        path: db.sqlite_file().display().to_string(),
        source,
    };
    tokio::task::spawn_blocking(move || Store::open_with(&path, checkpoints))
        .await
        .map_err(|_| err(StoreError::TaskFailed))?
        .map_err(err)
}

/// Runs `work` on the store, closing it afterwards whatever happened.
pub(crate) async fn with_store<T>(
    db: &DbArgs,
    work: impl AsyncFnOnce(&Store) -> Result<T, CliError>,
) -> Result<T, CliError> {
    let store = open(db).await?;
    let result = work(&store).await;
    store.shutdown().await;
    result
}

/// The collector's public URL for an embed snippet: `--public-url` when
/// given, else the one the server last started with (kept in the
/// database), else where `serve` listens by default.
pub(crate) async fn public_url(db: &DbArgs, store: &Store) -> String {
    let remembered = match &db.public_url {
        Some(named) => Some(named.clone()),
        None => store.public_url().await.ok().flatten(),
    };
    remembered
        .as_deref()
        .unwrap_or("http://127.0.0.1:8080")
        .trim_end_matches('/')
        .to_owned()
}

pub(crate) fn store_error(db: &DbArgs) -> impl Fn(StoreError) -> CliError + '_ {
    move |source| CliError::Store {
        path: db.shown(),
        source,
    }
}

async fn backup(to: PathBuf, db: DbArgs) -> Result<(), CliError> {
    if db.database_url.is_some() {
        return Err(CliError::SqliteOnly("backup"));
    }
    existing(&db.sqlite_file(), NAME_THE_DATABASE)?;
    let started = std::time::Instant::now();
    let from = db.sqlite_file();
    let target = to.clone();
    let facts = tokio::task::spawn_blocking(move || crate::store::backup::backup(&from, &target))
        .await
        .map_err(|_| CliError::Store {
            path: db.sqlite_file().display().to_string(),
            source: StoreError::TaskFailed,
        })??;
    println!(
        "Backed up {} ({:.1} MB, schema version {}) to {} in {:.1} s; integrity check ok.",
        counted(facts.entries, "entry", "entries"),
        facts.bytes as f64 / 1e6,
        facts.schema_version,
        to.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn restore(from: PathBuf, db: DbArgs) -> Result<(), CliError> {
    if db.database_url.is_some() {
        return Err(CliError::SqliteOnly("restore"));
    }
    let target = db.sqlite_file();
    let source = from.clone();
    let now = crate::clock::system_millis() / 1000;
    let (facts, kept) =
        tokio::task::spawn_blocking(move || crate::store::backup::restore(&source, &target, now))
            .await
            .map_err(|_| CliError::Store {
                path: db.sqlite_file().display().to_string(),
                source: StoreError::TaskFailed,
            })??;
    println!(
        "Restored {} from {} into {}.",
        counted(facts.entries, "entry", "entries"),
        from.display(),
        db.sqlite_file().display()
    );
    if let Some(kept) = kept {
        println!("The database it replaced is kept as {}.", kept.display());
    }
    Ok(())
}

async fn migrate_to_postgres(
    from: PathBuf,
    url: crate::config::Secret,
    sessions: bool,
) -> Result<(), CliError> {
    existing(&from, "name the SQLite database to copy with --from <file>")?;
    let shown = from.display().to_string();
    // Nothing may be written to the file while it is copied.
    let _lock = crate::store::backup::ServerLock::acquire(&from).map_err(|e| match e {
        crate::store::backup::LockError::Held => CliError::InUse(shown.clone()),
        source => CliError::Start(server::StartError::Lock {
            path: shown.clone(),
            source,
        }),
    })?;
    // Bring the file's schema up to date first, as a server start would.
    let path = from.clone();
    tokio::task::spawn_blocking(move || Store::open(&path))
        .await
        .map_err(|_| CliError::Store {
            path: shown.clone(),
            source: StoreError::TaskFailed,
        })?
        .map_err(|source| CliError::Store {
            path: shown.clone(),
            source,
        })?
        .shutdown()
        .await;
    let target = crate::store::postgres::describe(url.expose());
    let pg = crate::store::postgres::Postgres::connect(url.expose())
        .await
        .map_err(|source| CliError::Store {
            path: target.clone(),
            source,
        })?;
    let copied = pg.copy_from_sqlite(&from, sessions).await?;
    pg.shutdown().await;
    for (table, rows) in &copied.tables {
        println!("{table:<24} {rows:>10} rows");
    }
    println!(
        "Copied {shown} into {target}; every table counted the same on both sides.\nStart the collector with --database-url (EARSHOT_DATABASE_URL)."
    );
    Ok(())
}

async fn vacuum(db: DbArgs) -> Result<(), CliError> {
    if db.database_url.is_some() {
        return Err(CliError::SqliteOnly("vacuum"));
    }
    existing(&db.sqlite_file(), NAME_THE_DATABASE)?;
    let path = db.sqlite_file();
    let done = tokio::task::spawn_blocking(move || crate::store::vacuum::compact(&path))
        .await
        .map_err(|_| CliError::Store {
            path: db.sqlite_file().display().to_string(),
            source: StoreError::TaskFailed,
        })??;
    let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
    println!(
        "Compacted {}: {:.1} MiB → {:.1} MiB. Space freed from now on goes back to the file system.",
        db.sqlite_file().display(),
        mib(done.before),
        mib(done.after)
    );
    Ok(())
}

async fn seed(count: usize, db: DbArgs) -> Result<(), CliError> {
    let store = open_or_create(&db).await?;
    let started = std::time::Instant::now();
    let result = async {
        store
            .ensure_first_site(server::default_site(), crate::clock::system_millis())
            .await?;
        // The seed's replies and status changes are the first
        // administrator's; without one the timelines would name nobody.
        let accounts = store.accounts().await?;
        if !accounts.iter().any(|a| a.user.role == Role::Admin) {
            eprintln!(
                "Note: there is no administrator yet, so the seeded replies and status changes \
                 name no colleague (add one first: earshot user add --email <address> --role admin)."
            );
        }
        store
            .seed(count, crate::clock::system_millis(), |done| {
                if done % 100_000 == 0 || done == count {
                    eprintln!("seeded {done} of {count}");
                }
            })
            .await
    }
    .await;
    store.shutdown().await;
    result.map_err(store_error(&db))?;
    println!(
        "Added {} in {:.1} s",
        counted(count, "entry", "entries"),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
/// Prints a listed row: its JSON object on one line with `--json`, else
/// its tab-separated columns.
fn print_row(
    format: args::ListFormat,
    columns: impl FnOnce() -> String,
    object: impl FnOnce() -> serde_json::Value,
) {
    if format.json {
        println!("{}", object());
    } else {
        println!("{}", columns());
    }
}

/// A time for `--json`: RFC 3339, or null when there is none.
fn json_time(millis: Option<i64>) -> serde_json::Value {
    millis.map_or(serde_json::Value::Null, |m| {
        serde_json::Value::String(crate::clock::rfc3339(m))
    })
}
