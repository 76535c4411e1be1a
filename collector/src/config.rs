//! Command line and environment configuration: one clap tree, whose doc
//! comments are the `--help` text.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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
        }
    }
}
