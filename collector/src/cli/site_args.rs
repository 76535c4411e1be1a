//! `earshot site`'s commands and the settings `add` and `edit` share.

use clap::{Args, Subcommand};

use super::args::ConfirmArgs;
use crate::config::DbArgs;

#[derive(Debug, Subcommand)]
pub enum SiteCommand {
    /// Add a site and print its embed snippet. Its other settings may be
    /// given at once, as `site edit` takes them.
    Add {
        /// Human-readable name shown to staff.
        #[arg(long)]
        name: String,
        /// Origin allowed to embed the widget, e.g. `https://shop.example`,
        /// http://localhost:* (any port) or https://*.example.com. Repeatable.
        #[arg(long = "origin", required = true)]
        origins: Vec<String>,
        #[command(flatten)]
        settings: SiteSettingsArgs,
        #[command(flatten)]
        db: DbArgs,
    },
    /// List sites with their keys and allowed origins.
    List {
        #[command(flatten)]
        format: super::args::ListFormat,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Show a site's settings, what it holds and its embed snippet.
    Show {
        /// The site's key (site_…), as `earshot site list` shows it.
        key: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Change a site: its name, the origins allowed to send feedback, its
    /// first-response target, the promise customers see or its retention.
    /// A running server applies it within 5 seconds. Recorded in the audit
    /// log.
    Edit {
        /// The site's key (site_…), as `earshot site list` shows it.
        key: String,
        #[command(flatten)]
        change: SiteEdit,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Remove a site with all its feedback (as an erasure removes it),
    /// webhooks and report sums; asks first on a terminal. The only site
    /// cannot be removed.
    Remove {
        /// The site's key (site_…), as `earshot site list` shows it.
        key: String,
        #[command(flatten)]
        confirm: ConfirmArgs,
        #[command(flatten)]
        db: DbArgs,
    },
}

/// What `earshot site edit` changes; what is not given stays as it is.
#[derive(Debug, Clone, Default, Args)]
pub struct SiteEdit {
    /// A new name, shown to staff (no other site may have it, in any case).
    #[arg(long)]
    pub name: Option<String>,
    /// Allow exactly these origins from now on, replacing the list
    /// (repeatable; `--origin ''` allows none, for server-side
    /// integrations only).
    #[arg(long = "origin", conflicts_with_all = ["add_origins", "remove_origins"])]
    pub origins: Vec<String>,
    /// Allow one more origin, e.g. `https://staging.shop.example` (kept if
    /// it is allowed already). Repeatable.
    #[arg(long = "add-origin")]
    pub add_origins: Vec<String>,
    /// Stop allowing an origin, written as the site lists it. Repeatable.
    #[arg(long = "remove-origin")]
    pub remove_origins: Vec<String>,
    #[command(flatten)]
    pub settings: SiteSettingsArgs,
}

/// A site's settings beyond its name and origins, as `site add` and
/// `site edit` take them; what is not given stays as it is (or as a new
/// site starts).
#[derive(Debug, Clone, Default, Args)]
pub struct SiteSettingsArgs {
    /// How soon staff should first answer, in whole hours (1 to 720): the
    /// inbox and reports measure against it.
    #[arg(long)]
    pub first_response_hours: Option<String>,
    /// What customers are told after sending, e.g. "We answer within 1
    /// business day" (`''` removes it).
    #[arg(long)]
    pub response_promise: Option<String>,
    /// Email each customer who leaves an address a receipt with their
    /// reference and status link, and word when their feedback is resolved
    /// or closed or a promise to them kept, unless a reply told them (`on`;
    /// at most 3 of each a day to one address, never their own words), or
    /// not (`off`, as new sites start).
    #[arg(long, value_enum)]
    pub receipt_email: Option<OnOff>,
    /// Delete feedback untouched for this many days (1 to 3650: counted
    /// from its last status change, reply, note, assignment or follow-up)
    /// in the background, as completely as an erasure; `off` keeps it.
    #[arg(long)]
    pub retention_days: Option<String>,
    /// Which feedback retention deletes: `closed` (resolved and won't fix)
    /// or `all`.
    #[arg(long, value_enum)]
    pub retention_scope: Option<RetentionScope>,
    /// Delete spam untouched for this many days (1 to 3650; 30 unless
    /// set).
    #[arg(long)]
    pub spam_days: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RetentionScope {
    /// Resolved and won't-fix feedback only.
    Closed,
    /// All feedback, open or not.
    All,
}
