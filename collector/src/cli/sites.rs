//! `earshot site`: add, list, show, edit and remove the sites that send
//! feedback.

use super::args::{ConfirmArgs, ListFormat};
use super::privacy::site_id;
use super::site_args::{OnOff, RetentionScope, SiteEdit, SiteSettingsArgs};
use super::terminal::confirmed;
use super::{CliError, open, open_or_create, print_row, public_url, store_error, with_store};
use crate::config::DbArgs;
use crate::name::SiteName;
use crate::origin::{MAX_PER_SITE, OriginListError, OriginPattern};
use crate::response_terms::{FirstResponseTarget, ResponsePromise};
use crate::server::snippet;
use crate::store::retention::{DaysError, Retention, parse_days};
use crate::store::{NewSite, SiteChange, SiteRemoval, SiteRow, Store, counted};

/// The origins typed after `flag`, each checked by the rule the console
/// follows too.
fn parse_origins(flag: &'static str, typed: &[String]) -> Result<Vec<OriginPattern>, CliError> {
    crate::origin::parse_list(typed.iter().map(String::as_str)).map_err(|e| match e {
        OriginListError::Bad { raw, reason, .. } => CliError::Origin {
            flag,
            origin: raw,
            reason,
        },
        OriginListError::TooMany => CliError::Origins(e),
    })
}

/// `SiteSettingsArgs` as typed, each checked by the rule the console follows.
struct Settings {
    target: Option<FirstResponseTarget>,
    promise: Option<ResponsePromise>,
    receipts: Option<bool>,
    /// `Some(None)` keeps feedback.
    keep_days: Option<Option<i64>>,
    scope: Option<RetentionScope>,
    spam_days: Option<i64>,
}

impl Settings {
    fn parse(typed: &SiteSettingsArgs) -> Result<Self, CliError> {
        Ok(Self {
            target: typed
                .first_response_hours
                .as_deref()
                .map(FirstResponseTarget::parse_hours)
                .transpose()?,
            promise: typed
                .response_promise
                .as_deref()
                .map(ResponsePromise::parse)
                .transpose()?,
            receipts: typed.receipt_email.map(|on| on == OnOff::On),
            keep_days: typed
                .retention_days
                .as_deref()
                .map(|raw| parse_days(raw).map_err(|e| CliError::Days("--retention-days", e)))
                .transpose()?,
            scope: typed.retention_scope,
            spam_days: typed
                .spam_days
                .as_deref()
                .map(|raw| match parse_days(raw) {
                    Ok(Some(days)) => Ok(days),
                    Ok(None) => Err(CliError::Days("--spam-days", DaysError)),
                    Err(e) => Err(CliError::Days("--spam-days", e)),
                })
                .transpose()?,
        })
    }

    /// Whether any of the site's own columns change.
    fn site_changes(&self) -> bool {
        self.target.is_some() || self.promise.is_some() || self.receipts.is_some()
    }

    fn retention_changes(&self) -> bool {
        self.keep_days.is_some() || self.scope.is_some() || self.spam_days.is_some()
    }

    /// The site's change with `name` and `origins`.
    fn change(&self, name: Option<String>, origins: Option<Vec<OriginPattern>>) -> SiteChange {
        SiteChange {
            name,
            origins,
            first_response_minutes: self.target.map(FirstResponseTarget::minutes),
            response_promise: self.promise.clone().map(ResponsePromise::into_inner),
            receipt_email: self.receipts,
        }
    }

    /// `current` with what was given.
    fn retention(&self, current: Retention) -> Retention {
        Retention {
            days: self.keep_days.unwrap_or(current.days),
            all: self.scope.map_or(current.all, |s| s == RetentionScope::All),
            spam_days: self.spam_days.unwrap_or(current.spam_days),
        }
    }

    /// Writes the retention given, if any, over `current`; false when the
    /// site is gone.
    async fn write_retention(
        &self,
        store: &Store,
        db: &DbArgs,
        id: i64,
        current: Retention,
        now: i64,
    ) -> Result<bool, CliError> {
        if !self.retention_changes() {
            return Ok(true);
        }
        store
            .set_retention(id, self.retention(current), None, now)
            .await
            .map_err(store_error(db))
    }
}

pub(super) async fn add(
    name: String,
    origins: Vec<String>,
    settings: SiteSettingsArgs,
    db: DbArgs,
) -> Result<(), CliError> {
    let name = SiteName::parse(&name)?.into_inner();
    let origins = parse_origins("--origin", &origins)?;
    let settings = Settings::parse(&settings)?;
    let store = open_or_create(&db).await?;
    let added = async {
        if let Some(other) = store
            .site_named(&name, None)
            .await
            .map_err(store_error(&db))?
        {
            return Err(CliError::SiteNameTaken {
                name: other.name,
                key: other.key,
            });
        }
        let now = crate::clock::system_millis();
        let site = store
            .add_site_by(NewSite { name, origins }, None, now)
            .await
            .map_err(store_error(&db))?;
        // Written after the site: a site is created with the defaults a
        // new site starts with, wherever it is added.
        let missing = || CliError::NoSuchSite(site.key.clone());
        if settings.site_changes()
            && !store
                .update_site(site.id, settings.change(None, None), None, now)
                .await
                .map_err(store_error(&db))?
        {
            return Err(missing());
        }
        if settings.retention_changes() {
            let current = store
                .retention(site.id)
                .await
                .map_err(store_error(&db))?
                .ok_or_else(missing)?;
            if !settings
                .write_retention(&store, &db, site.id, current, now)
                .await?
            {
                return Err(missing());
            }
        }
        let (_, row, retention) = settings_of(&store, &db, &site.key).await?;
        Ok::<_, CliError>((public_url(&db, &store).await, site, row, retention))
    }
    .await;
    store.shutdown().await;
    let (url, site, row, retention) = added?;
    println!("Added site \"{}\" with key {}", site.name, site.key);
    print!("{}", described(&row, &retention));
    println!("Add this to its pages:\n  {}", snippet(&url, &site.key));
    warn_if_blocked(&url, &site.origins);
    Ok(())
}

/// Says so when pages of `origins` cannot load the widget from `url`.
fn warn_if_blocked(url: &str, origins: &[OriginPattern]) {
    if let Some(origin) = crate::origin::blocked_on_https(url, origins) {
        println!(
            "Warning: {}",
            crate::origin::blocked_on_https_warning(url, origin)
        );
    }
}

pub(super) async fn list(format: ListFormat, db: DbArgs) -> Result<(), CliError> {
    let store = open(&db).await?;
    let sites = store.sites().await.map_err(store_error(&db))?;
    store.shutdown().await;
    if sites.is_empty() {
        eprintln!(
            "No sites yet: earshot site add --name <name> --origin <https://your.site> adds one."
        );
    }
    for site in sites {
        let origins: Vec<String> = site.origins.iter().map(ToString::to_string).collect();
        print_row(
            format,
            || format!("{}\t{}\t{}", site.key, site.name, origins.join(" ")),
            || {
                serde_json::json!({
                    "key": site.key,
                    "name": site.name,
                    "origins": origins,
                    "response_promise": site.response_promise,
                })
            },
        );
    }
    Ok(())
}

/// The site with `key` as the Sites page shows it, and its retention.
async fn settings_of(
    store: &Store,
    db: &DbArgs,
    key: &str,
) -> Result<(i64, SiteRow, Retention), CliError> {
    let missing = || CliError::NoSuchSite(key.to_owned());
    let id = site_id(store, db, Some(key)).await?.ok_or_else(missing)?;
    let site = store
        .site_detail(id)
        .await
        .map_err(store_error(db))?
        .ok_or_else(missing)?;
    let retention = store
        .retention(id)
        .await
        .map_err(store_error(db))?
        .ok_or_else(missing)?;
    Ok((id, site, retention))
}

/// Prints a site's settings, what it holds, and its embed snippet at the
/// public URL the server runs with.
pub(super) async fn show(key: String, db: DbArgs) -> Result<(), CliError> {
    with_store(&db, async |store| {
        let (id, site, retention) = settings_of(store, &db, &key).await?;
        let held = store
            .site_holdings(id)
            .await
            .map_err(store_error(&db))?
            .ok_or_else(|| CliError::NoSuchSite(key.clone()))?;
        let last = site
            .last_entry_at
            .map_or_else(|| "never".to_owned(), crate::clock::timestamp);
        print!("{}", described(&site, &retention));
        println!("  holds: {}; last feedback {last}", held.summary());
        let url = public_url(&db, store).await;
        println!("Add this to its pages:\n  {}", snippet(&url, &site.key));
        warn_if_blocked(&url, &site.origin_patterns().unwrap_or_default());
        Ok(())
    })
    .await
}

/// Changes what `edit` names, checked in full before anything is written,
/// and prints the site as it then stands.
pub(super) async fn edit(key: String, edit: SiteEdit, db: DbArgs) -> Result<(), CliError> {
    let name = edit
        .name
        .as_deref()
        .map(SiteName::parse)
        .transpose()?
        .map(SiteName::into_inner);
    let settings = Settings::parse(&edit.settings)?;
    let replaced = (!edit.origins.is_empty())
        .then(|| parse_origins("--origin", &edit.origins))
        .transpose()?;
    let added = parse_origins("--add-origin", &edit.add_origins)?;
    let removed = parse_origins("--remove-origin", &edit.remove_origins)?;
    let site_changes = name.is_some()
        || settings.site_changes()
        || replaced.is_some()
        || !added.is_empty()
        || !removed.is_empty();
    if !site_changes && !settings.retention_changes() {
        return Err(CliError::NothingToChange);
    }
    with_store(&db, async |store| {
        let missing = || CliError::NoSuchSite(key.clone());
        let (id, current, retention) = settings_of(store, &db, &key).await?;
        if let Some(name) = &name
            && let Some(other) = store
                .site_named(name, Some(id))
                .await
                .map_err(store_error(&db))?
        {
            return Err(CliError::SiteNameTaken {
                name: other.name,
                key: other.key,
            });
        }
        let origins = match replaced {
            Some(origins) => Some(origins),
            None if added.is_empty() && removed.is_empty() => None,
            None => {
                let origins = current.origin_patterns().map_err(store_error(&db))?;
                Some(amended(&key, origins, added, &removed)?)
            }
        };
        let now = crate::clock::system_millis();
        if site_changes
            && !store
                .update_site(id, settings.change(name, origins), None, now)
                .await
                .map_err(store_error(&db))?
        {
            return Err(missing());
        }
        if !settings
            .write_retention(store, &db, id, retention, now)
            .await?
        {
            return Err(missing());
        }
        let (_, site, retention) = settings_of(store, &db, &key).await?;
        print!("{}", described(&site, &retention));
        println!("A running server applies the change within 5 seconds.");
        Ok(())
    })
    .await
}

/// A site's `origins` less `removed` (each must be one of them) and with
/// `added` (kept once).
fn amended(
    key: &str,
    mut origins: Vec<OriginPattern>,
    added: Vec<OriginPattern>,
    removed: &[OriginPattern],
) -> Result<Vec<OriginPattern>, CliError> {
    for gone in removed {
        let before = origins.len();
        origins.retain(|o| o != gone);
        if origins.len() == before {
            return Err(CliError::NotAnOrigin {
                key: key.to_owned(),
                origin: gone.to_string(),
            });
        }
    }
    for new in added {
        if !origins.contains(&new) {
            origins.push(new);
        }
    }
    if origins.len() > MAX_PER_SITE {
        return Err(CliError::Origins(OriginListError::TooMany));
    }
    Ok(origins)
}

/// A site's settings, one per line, as `site show` and `site edit` print them.
fn described(site: &SiteRow, retention: &Retention) -> String {
    let days = |n| counted(n, "day", "days");
    let origins: Vec<&str> = site.origins.lines().collect();
    let kept = match (retention.days, retention.all) {
        (None, _) => "feedback kept".to_owned(),
        (Some(n), true) => format!("all feedback deleted after {}", days(n)),
        (Some(n), false) => format!("resolved and won't-fix feedback deleted after {}", days(n)),
    };
    format!(
        "Site {} \"{}\"\n  origins: {}\n  first response within: {}\n  response promise: {}\n  receipts to customers: {}\n  retention: {kept}; spam deleted after {}\n",
        site.key,
        site.name,
        if origins.is_empty() {
            "none (only server-side integrations can send)".to_owned()
        } else {
            origins.join(" ")
        },
        counted(site.first_response_minutes / 60, "hour", "hours"),
        site.response_promise
            .as_deref()
            .map_or_else(|| "none".to_owned(), |p| format!("\"{p}\"")),
        if site.receipt_email { "emailed" } else { "off" },
        days(retention.spam_days),
    )
}

/// Removes a site with all its feedback, webhooks and report sums, after
/// saying what goes (and asking, on a terminal).
pub(super) async fn remove(key: String, confirm: ConfirmArgs, db: DbArgs) -> Result<(), CliError> {
    with_store(&db, async |store| {
        let id = site_id(store, &db, Some(&key))
            .await?
            .ok_or_else(|| CliError::NoSuchSite(key.clone()))?;
        let held = store
            .site_holdings(id)
            .await
            .map_err(store_error(&db))?
            .ok_or_else(|| CliError::NoSuchSite(key.clone()))?;
        if held.only {
            return Err(CliError::OnlySite(key.clone()));
        }
        let what = format!("site {key} with {}", held.summary());
        if confirm.dry_run {
            println!("Would remove {what}.");
            return Ok(());
        }
        if !confirm.yes
            && !confirmed(
                &format!("This removes {what}, for good: its widget stops sending."),
                "remove",
            )?
        {
            println!("Nothing was removed.");
            return Ok(());
        }
        let started = std::time::Instant::now();
        match store
            .remove_site(id, None, crate::clock::system_millis())
            .await
            .map_err(store_error(&db))?
        {
            SiteRemoval::Removed { took, .. } => {
                println!(
                    "Removed site {key} with {} in {:.2} s. A running server refuses its widget within seconds.",
                    took.summary(),
                    started.elapsed().as_secs_f64()
                );
                Ok(())
            }
            SiteRemoval::NoSuchSite => Err(CliError::NoSuchSite(key.clone())),
            SiteRemoval::OnlySite => Err(CliError::OnlySite(key.clone())),
        }
    })
    .await
}
