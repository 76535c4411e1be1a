//! The command line: one clap tree whose doc comments are the `--help`
//! text. `serve`'s options are the server's configuration (`config`).

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, CommandFactory, Parser, Subcommand};

use super::site_args::SiteCommand;
use crate::config::{DbArgs, ServeArgs};
use crate::person::PersonEmail;

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

/// `earshot --db x user add` read as `earshot user add --db x`. The server
/// is started `earshot --db …`, so its database options come first as
/// naturally as last; but clap takes options before a subcommand as
/// `serve`'s, which refuse one ("the subcommand 'user' cannot be used with
/// '--db'"), and so refused even the global `--log-format`. Only those
/// options move, to the end; before `serve` itself every option does
/// (`earshot --addr … serve` names the server's own). Any other option
/// before a subcommand, or anything not understood, is left for clap to
/// judge.
pub fn database_options_after_subcommand(args: Vec<OsString>) -> Vec<OsString> {
    let mut cli = Cli::command();
    cli.build();
    let database = DbArgs::augment_args(clap::Command::new("database"));
    let movable = |arg: &clap::Arg| {
        arg.is_global_set()
            || database
                .get_arguments()
                .any(|own| own.get_long() == arg.get_long())
    };
    // Each option before the first word: where it starts, how many
    // arguments it takes, and whether it moves before any subcommand.
    let mut options: Vec<(usize, usize, bool)> = Vec::new();
    let mut moved: Vec<usize> = Vec::new();
    let mut i = 1;
    while let Some(token) = args.get(i) {
        let Some(token) = token.to_str() else {
            return args;
        };
        let Some(option) = token.strip_prefix("--").filter(|o| !o.is_empty()) else {
            // The first word: a subcommand, or not ours to mend (`-h`, a
            // stray value, `--`).
            if token.starts_with('-') || cli.find_subcommand(token).is_none() {
                return args;
            }
            let all = token == "serve";
            moved = options
                .iter()
                .filter(|&&(_, _, movable)| movable || all)
                .flat_map(|&(at, width, _)| at..(at + width).min(args.len()))
                .collect();
            if moved.is_empty() {
                return args;
            }
            break;
        };
        let (name, inline) = option
            .split_once('=')
            .map_or((option, false), |(name, _)| (name, true));
        let Some(arg) = cli.get_arguments().find(|a| a.get_long() == Some(name)) else {
            return args;
        };
        let width = if !inline && arg.get_action().takes_values() {
            2
        } else {
            1
        };
        options.push((i, width, movable(arg)));
        i += width;
    }
    if i >= args.len() {
        return args;
    }
    let (rest, tail): (Vec<_>, Vec<_>) = args
        .into_iter()
        .enumerate()
        .partition(|(index, _)| !moved.contains(index));
    rest.into_iter().chain(tail).map(|(_, arg)| arg).collect()
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
    /// `<db>.replaced-<time>`.
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
    /// (case-insensitive, an international domain written either way,
    /// `bücher.de` or `xn--bcher-kva.de`): their entries with attachments,
    /// replies, notes, promises, queued emails and webhook deliveries.
    /// Their status links then answer 410. Recorded in the audit log
    /// (without the address).
    Erase {
        /// The email the person gave with their feedback (any case).
        #[arg(long, value_parser = PersonEmail::parse)]
        email: PersonEmail,
        /// Only entries on this site (its key).
        #[arg(long)]
        site: Option<String>,
        #[command(flatten)]
        confirm: ConfirmArgs,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Write everything held about a person (found by their email) as JSON:
    /// the answer to a data subject access request. Recorded in the audit log.
    ExportPerson {
        /// The email the person gave with their feedback (any case).
        #[arg(long, value_parser = PersonEmail::parse)]
        email: PersonEmail,
        /// Only entries on this site (its key).
        #[arg(long)]
        site: Option<String>,
        /// Write here instead of standard output.
        #[arg(long)]
        to: Option<PathBuf>,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Copy an existing SQLite installation into an empty PostgreSQL
    /// database: every entry with its attachments, timeline and promises,
    /// sites, staff, tokens, webhooks, queued emails and the audit log, ids
    /// kept; then count both sides table by table. The server must be
    /// stopped; start it again with --database-url.
    MigrateToPostgres {
        /// The SQLite database file to copy.
        #[arg(long)]
        from: PathBuf,
        /// The PostgreSQL database to copy into (created tables, no rows):
        /// postgres://user:password@host:5432/database.
        #[arg(long, env = "EARSHOT_DATABASE_URL")]
        database_url: crate::config::Secret,
        /// Keep staff signed in: copy their sessions too.
        #[arg(long)]
        with_sessions: bool,
    },
    /// Ask the server on this machine whether it is healthy (GET /healthz:
    /// up, and its database answers). Exits 0 when it is, 1 with the reason
    /// when not: a container's HEALTHCHECK, which has no curl in Earshot's
    /// image.
    Healthcheck {
        /// The address the server listens on; a wildcard (`0.0.0.0`, `[::]`) is
        /// asked on loopback.
        #[arg(long, env = "EARSHOT_ADDR", default_value = "127.0.0.1:8080")]
        addr: std::net::SocketAddr,
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
        format: ListFormat,
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
    /// Add a staff account. At a terminal the password is asked for (not
    /// shown, typed twice); from a pipe it is standard input's first line;
    /// --generate-password prints a new one instead.
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
    /// Give a colleague another name, as the others see it (on the
    /// timeline, as assignee, in emails). Recorded in the audit log.
    Rename {
        /// The account's sign-in email.
        #[arg(long)]
        email: String,
        /// The new name: one line of up to 100 characters.
        #[arg(long)]
        name: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Make a colleague an administrator or an agent, at once (their
    /// signed-in sessions and API tokens too). The last active
    /// administrator cannot be made an agent. Recorded in the audit log.
    Role {
        /// The account's sign-in email.
        #[arg(long)]
        email: String,
        /// `agent` (triage and answer) or `admin` (also sites, staff and
        /// webhooks).
        #[arg(long, value_parser = ["agent", "admin"])]
        role: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Set a new password (ends the account's sessions): asked for at a
    /// terminal (not shown, typed twice), else standard input's first
    /// line, unless --generate-password.
    Password {
        /// The account's sign-in email.
        #[arg(long)]
        email: String,
        /// Generate a strong password and print it once.
        #[arg(long)]
        generate_password: bool,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Disable an account: it can no longer sign in, its sessions and API
    /// tokens stop at once; its name stays on past timeline events. The
    /// last active administrator cannot be disabled.
    Disable {
        /// The account's sign-in email.
        #[arg(long)]
        email: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Enable a disabled account again (its old password works; its API
    /// tokens stay revoked).
    Enable {
        /// The account's sign-in email.
        #[arg(long)]
        email: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// List staff accounts; with --json, also when each was created, last
    /// signed in and disabled.
    List {
        #[command(flatten)]
        format: ListFormat,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Show or change how a colleague is notified. Settings:
    /// `immediate=off|<kinds and severities>` (e.g. `complaint,expectation,blocking`),
    /// `sites=all|<site keys>`, `digest=off|<UTC hour 0-23>`, `assigned=on|off` (entries
    /// assigned to them, notes that mention them, follow-ups and promises
    /// turning due on theirs).
    Notify {
        /// The colleague's sign-in email.
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
        format: ListFormat,
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
    /// Turn an endpoint back on after its receiver answered 410 Gone
    /// (which turns it off): new events reach it again.
    Enable {
        /// The endpoint's id (wh_…).
        id: String,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum DevCommand {
    /// Fill the database with synthetic feedback spread over the past year
    /// (for trying the console and for `cargo bench --bench console`),
    /// answered and closed by the first administrator if there is one.
    /// Nobody is notified of it and no webhook told.
    Seed {
        /// Entries to add.
        #[arg(long, default_value_t = 10_000)]
        count: usize,
        #[command(flatten)]
        db: DbArgs,
    },
}

/// For commands that delete for good: say first, and ask on a terminal.
#[derive(Debug, Clone, Copy, Args)]
pub struct ConfirmArgs {
    /// Say what would be deleted, and delete nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Go on without asking (for scripts).
    #[arg(long)]
    pub yes: bool,
}

/// How a `list` command prints.
#[derive(Debug, Clone, Copy, Args)]
pub struct ListFormat {
    /// One JSON object per line with every field (times in RFC 3339, null
    /// when unset), for scripts; without it, tab-separated columns.
    #[arg(long)]
    pub json: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Cli, clap::Error> {
        let args = line.split(' ').map(OsString::from).collect();
        Cli::try_parse_from(database_options_after_subcommand(args))
    }

    fn database_of(cli: &Cli) -> Option<&DbArgs> {
        match &cli.command {
            Some(Command::User(UserCommand::Add { db, .. })) => Some(db),
            Some(Command::Serve(args)) => Some(&args.db),
            Some(Command::Erase { db, .. }) => Some(db),
            _ => None,
        }
    }

    #[test]
    fn database_options_before_a_subcommand_apply_to_it() {
        let cli = parse("earshot --db /srv/e.db user add --email bo@example.com").unwrap();
        assert_eq!(
            database_of(&cli).unwrap().sqlite_file(),
            PathBuf::from("/srv/e.db")
        );

        let cli =
            parse("earshot --db=/srv/e.db --public-url https://f.example erase --email a@b.c")
                .unwrap();
        let db = database_of(&cli).unwrap();
        assert_eq!(db.db, Some(PathBuf::from("/srv/e.db")));
        assert_eq!(db.public_url.as_deref(), Some("https://f.example"));

        let cli = parse("earshot --log-format json --db /srv/e.db serve").unwrap();
        assert_eq!(
            database_of(&cli).unwrap().sqlite_file(),
            PathBuf::from("/srv/e.db")
        );
        assert_eq!(cli.log_format, "json");
    }

    #[test]
    fn every_option_before_serve_is_the_servers() {
        let cli =
            parse("earshot --db /srv/e.db --addr 127.0.0.1:9000 --log-format=json serve").unwrap();
        let Some(Command::Serve(args)) = &cli.command else {
            panic!("not serve: {:?}", cli.command);
        };
        assert_eq!(args.db.sqlite_file(), PathBuf::from("/srv/e.db"));
        assert_eq!(args.addr.port(), 9000);
        assert_eq!(cli.log_format, "json");
        // Given on both sides, clap judges the repeat as it would after it.
        let error = parse("earshot --addr 127.0.0.1:9000 serve --addr 127.0.0.1:9001").unwrap_err();
        assert_eq!(error.kind(), clap::error::ErrorKind::ArgumentConflict);
    }

    #[test]
    fn the_server_alone_keeps_its_options_where_they_are() {
        let cli = parse("earshot --db /srv/e.db --addr 127.0.0.1:9000").unwrap();
        assert!(cli.command.is_none());
        assert_eq!(cli.serve.db.sqlite_file(), PathBuf::from("/srv/e.db"));
        assert_eq!(cli.serve.addr.port(), 9000);
    }

    /// `--help` is the manual of a tool run by people at a prompt: every
    /// command and every option says what it is.
    #[test]
    fn every_command_and_option_has_help() {
        use clap::CommandFactory;

        fn check(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
            if command.get_about().is_none() && command.get_long_about().is_none() {
                missing.push(path.to_owned());
            }
            for arg in command.get_arguments() {
                let builtin = matches!(arg.get_id().as_str(), "help" | "version");
                if !builtin && arg.get_help().is_none() && arg.get_long_help().is_none() {
                    missing.push(format!("{path} {}", arg.get_id()));
                }
            }
            for sub in command.get_subcommands() {
                check(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        check(&Cli::command(), "earshot", &mut missing);
        assert_eq!(missing, Vec::<String>::new());
    }

    #[test]
    fn other_options_before_a_subcommand_are_still_refused() {
        let error = parse("earshot --db /srv/e.db --addr 127.0.0.1:9000 user list").unwrap_err();
        assert_eq!(error.kind(), clap::error::ErrorKind::ArgumentConflict);
        // A value that happens to be a subcommand's name is still a value.
        let cli = parse("earshot --db user").unwrap();
        assert!(cli.command.is_none());
        assert_eq!(cli.serve.db.sqlite_file(), PathBuf::from("user"));
    }
}
