//! `earshot site`: add, list and remove the sites that send feedback.

use super::args::ConfirmArgs;
use super::privacy::{confirmed, site_id};
use super::{CliError, open, open_or_create, public_url, store_error, with_store};
use crate::config::DbArgs;
use crate::name::SiteName;
use crate::origin::OriginListError;
use crate::server::snippet;
use crate::store::{NewSite, SiteRemoval};

pub(super) async fn add(name: String, origins: Vec<String>, db: DbArgs) -> Result<(), CliError> {
    let name = SiteName::parse(&name)?.into_inner();
    let origins =
        crate::origin::parse_list(origins.iter().map(String::as_str)).map_err(|e| match e {
            OriginListError::Bad { raw, reason, .. } => CliError::Origin {
                origin: raw,
                reason,
            },
            OriginListError::TooMany => CliError::Origins(e),
        })?;
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
    println!("Add this to its pages:\n  {}", snippet(&url, &site));
    Ok(())
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
