//! `earshot site`: add, list, show, edit and remove the sites that send
//! feedback.

use super::args::{ConfirmArgs, OnOff, RetentionScope, SiteEdit};
use super::privacy::{confirmed, site_id};
use super::{CliError, open, open_or_create, public_url, store_error, with_store};
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

pub(super) async fn add(name: String, origins: Vec<String>, db: DbArgs) -> Result<(), CliError> {
    let name = SiteName::parse(&name)?.into_inner();
    let origins = parse_origins("--origin", &origins)?;
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
        let site = store
            .add_site(NewSite { name, origins }, crate::clock::system_millis())
            .await
            .map_err(store_error(&db))?;
        Ok::<_, CliError>((public_url(&db, &store).await, site))
    }
    .await;
    store.shutdown().await;
    let (url, site) = added?;
    println!("Added site \"{}\" with key {}", site.name, site.key);
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

pub(super) async fn list(db: DbArgs) -> Result<(), CliError> {
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
        println!("{}\t{}\t{}", site.key, site.name, origins.join(" "));
    }
    Ok(())
}

/// The site with `key` as the Sites page shows it, and its retention.
async fn settings(
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
        let (id, site, retention) = settings(store, &db, &key).await?;
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
    let target = edit
        .first_response_hours
        .as_deref()
        .map(FirstResponseTarget::parse_hours)
        .transpose()?;
    let promise = edit
        .response_promise
        .as_deref()
        .map(ResponsePromise::parse)
        .transpose()?;
    let replaced = (!edit.origins.is_empty())
        .then(|| parse_origins("--origin", &edit.origins))
        .transpose()?;
    let added = parse_origins("--add-origin", &edit.add_origins)?;
    let removed = parse_origins("--remove-origin", &edit.remove_origins)?;
    let keep_days = edit
        .retention_days
        .as_deref()
        .map(|raw| parse_days(raw).map_err(|e| CliError::Days("--retention-days", e)))
        .transpose()?;
    let spam_days = edit
        .spam_days
        .as_deref()
        .map(|raw| match parse_days(raw) {
            Ok(Some(days)) => Ok(days),
            Ok(None) => Err(CliError::Days("--spam-days", DaysError)),
            Err(e) => Err(CliError::Days("--spam-days", e)),
        })
        .transpose()?;
    let scope = edit.retention_scope;
    let receipts = edit.receipt_email.map(|on| on == OnOff::On);
    let site_changes = name.is_some()
        || target.is_some()
        || promise.is_some()
        || receipts.is_some()
        || replaced.is_some()
        || !added.is_empty()
        || !removed.is_empty();
    let retention_changes = keep_days.is_some() || scope.is_some() || spam_days.is_some();
    if !site_changes && !retention_changes {
        return Err(CliError::NothingToChange);
    }
    with_store(&db, async |store| {
        let missing = || CliError::NoSuchSite(key.clone());
        let (id, current, retention) = settings(store, &db, &key).await?;
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
        if site_changes {
            let change = SiteChange {
                name,
                origins,
                first_response_minutes: target.map(FirstResponseTarget::minutes),
                response_promise: promise.map(ResponsePromise::into_inner),
                receipt_email: receipts,
            };
            if !store
                .update_site(id, change, None, now)
                .await
                .map_err(store_error(&db))?
            {
                return Err(missing());
            }
        }
        let wanted = Retention {
            days: keep_days.unwrap_or(retention.days),
            all: scope.map_or(retention.all, |s| s == RetentionScope::All),
            spam_days: spam_days.unwrap_or(retention.spam_days),
        };
        if retention_changes
            && !store
                .set_retention(id, wanted, None, now)
                .await
                .map_err(store_error(&db))?
        {
            return Err(missing());
        }
        let (_, site, retention) = settings(store, &db, &key).await?;
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
