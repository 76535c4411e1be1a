//! `earshot webhook …` and `earshot user notify`: telling people, from the
//! command line. A running collector picks changes up within seconds (the
//! dispatcher reads endpoints and preferences from the database each time).

use super::args::{ListFormat, WebhookCommand};
use super::{CliError, json_time, print_row, store_error, with_store};
use crate::config::DbArgs;
use crate::notify::{Prefs, Sites};
use crate::store::{Site, Store, StoreError};
use crate::webhooks::Requested;
use crate::webhooks::sign::SigningSecret;

pub async fn run(command: WebhookCommand) -> Result<(), CliError> {
    match command {
        WebhookCommand::Add {
            site,
            url,
            events,
            format,
            include_email,
            db,
        } => add(site, url, events, &format, include_email, db).await,
        WebhookCommand::List { format, db } => list(format, db).await,
        WebhookCommand::Remove { id, db } => remove(id, db).await,
        WebhookCommand::Rotate { id, db } => rotate(id, db).await,
        WebhookCommand::Enable { id, db } => enable(id, db).await,
    }
}

async fn add(
    site: String,
    url: String,
    events: Vec<String>,
    format: &str,
    include_email: bool,
    db: DbArgs,
) -> Result<(), CliError> {
    let requested = Requested::parse(&url, &events, format, include_email)?;
    let private_host = requested.private_host();
    let (webhook, secret) = with_store(&db, async |store| {
        let sites = store.sites().await.map_err(store_error(&db))?;
        let site = sites
            .iter()
            .find(|s| s.key == site)
            .ok_or_else(|| CliError::NoSuchSite(site.clone()))?;
        let (webhook, secret) = requested.for_site(site.id);
        let webhook = store
            .add_webhook(webhook, None, crate::clock::system_millis())
            .await
            .map_err(store_error(&db))?;
        Ok((webhook, secret))
    })
    .await?;
    println!(
        "Added webhook {} for site \"{}\" ({}, events {})",
        webhook.public_id, webhook.site_name, webhook.format, webhook.events
    );
    println!("Signing secret (shown once): {}", secret.expose());
    // Only the server knows whether it may reach this address: say so
    // here rather than let the first delivery fail unexplained.
    if private_host {
        eprintln!(
            "Note: this URL is a loopback or private-network address; the server delivers to it \
             only when started with --allow-private-webhooks (EARSHOT_ALLOW_PRIVATE_WEBHOOKS)."
        );
    }
    Ok(())
}

async fn list(format: ListFormat, db: DbArgs) -> Result<(), CliError> {
    let webhooks = with_store(&db, async |store| {
        store.webhooks().await.map_err(store_error(&db))
    })
    .await?;
    if webhooks.is_empty() {
        eprintln!("No webhooks yet: earshot webhook add --site <site key> --url <url> adds one.");
    }
    for w in webhooks {
        print_row(
            format,
            || {
                let state = match &w.state_reason {
                    Some(reason) => format!("{} ({reason})", w.state),
                    None => w.state.clone(),
                };
                format!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{} pending",
                    w.public_id, w.site_key, w.url, w.format, w.events, state, w.pending
                )
            },
            || {
                serde_json::json!({
                    "id": w.public_id,
                    "site": w.site_key,
                    "url": w.url,
                    "format": w.format,
                    "events": w.events.split(',').filter(|e| !e.is_empty()).collect::<Vec<_>>(),
                    "include_email": w.include_email,
                    "state": w.state,
                    "state_reason": w.state_reason,
                    "pending": w.pending,
                    "created_at": json_time(Some(w.created_at)),
                    "previous_secret_until": json_time(w.previous_until),
                })
            },
        );
    }
    Ok(())
}

/// Applies `change` to the endpoint `id` from the command line, now;
/// refuses an id no endpoint has.
async fn change_webhook(
    id: &str,
    db: &DbArgs,
    change: impl AsyncFnOnce(&Store, String, i64) -> Result<bool, StoreError>,
) -> Result<(), CliError> {
    let found = with_store(db, async |store| {
        change(store, id.to_owned(), crate::clock::system_millis())
            .await
            .map_err(store_error(db))
    })
    .await?;
    if found {
        Ok(())
    } else {
        Err(CliError::NoSuchWebhook(id.to_owned()))
    }
}

async fn remove(id: String, db: DbArgs) -> Result<(), CliError> {
    change_webhook(&id, &db, async |store, id, now| {
        store.remove_webhook(id, None, now).await
    })
    .await?;
    println!("Removed webhook {id} and its queued messages.");
    Ok(())
}

async fn rotate(id: String, db: DbArgs) -> Result<(), CliError> {
    let secret = SigningSecret::generate();
    let new = secret.expose().to_owned();
    change_webhook(&id, &db, async |store, id, now| {
        store.rotate_webhook(id, new, None, now).await
    })
    .await?;
    println!(
        "New signing secret for {id} (shown once): {}",
        secret.expose()
    );
    println!("The old secret keeps signing beside it for 24 hours.");
    Ok(())
}

async fn enable(id: String, db: DbArgs) -> Result<(), CliError> {
    change_webhook(&id, &db, async |store, id, now| {
        store.enable_webhook(id, None, now).await
    })
    .await?;
    println!("Webhook {id} is on: new events reach it again.");
    Ok(())
}

/// Shows, or changes and shows, a colleague's notification settings.
pub async fn notify(email: String, set: Vec<String>, db: DbArgs) -> Result<(), CliError> {
    let (prefs, sites) = with_store(&db, async |store| {
        let users = store.users().await.map_err(store_error(&db))?;
        let user = users
            .into_iter()
            .find(|u| u.email.eq_ignore_ascii_case(email.trim()))
            .ok_or_else(|| CliError::NoSuchUser(email.clone()))?;
        let mut prefs = store
            .notify_prefs(user.clone())
            .await
            .map_err(store_error(&db))?;
        let sites = store.sites().await.map_err(store_error(&db))?;
        if set.is_empty() {
            return Ok((prefs, sites));
        }
        for setting in &set {
            prefs.apply(setting, |key| {
                sites.iter().find(|s| s.key == key).map(|s| s.id)
            })?;
        }
        store
            .set_notify_prefs(user.id, prefs.clone())
            .await
            .map_err(store_error(&db))?;
        Ok((prefs, sites))
    })
    .await?;
    println!("{}", describe(&prefs, &sites));
    Ok(())
}

/// The settings as `name=value` lines, in the form `--set` takes.
fn describe(prefs: &Prefs, sites: &[Site]) -> String {
    let immediate = prefs.immediate_text();
    let sites = match &prefs.sites {
        Sites::All => "all".to_owned(),
        Sites::Only(ids) => sites
            .iter()
            .filter(|s| ids.contains(&s.id))
            .map(|s| s.key.as_str())
            .collect::<Vec<_>>()
            .join(","),
    };
    format!(
        "immediate={}\nsites={sites}\ndigest={}\nassigned={}",
        if immediate.is_empty() {
            "off"
        } else {
            &immediate
        },
        prefs
            .digest_hour
            .map_or_else(|| "off".to_owned(), |h| h.to_string()),
        if prefs.on_assign { "on" } else { "off" }
    )
}
