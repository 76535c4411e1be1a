//! `earshot erase` and `earshot export-person`: a person's data by their
//! email address.

use std::path::PathBuf;

use super::args::ConfirmArgs;
use super::terminal::confirmed;
use super::{CliError, store_error, with_store};
use crate::config::DbArgs;
use crate::person::PersonEmail;
use crate::store::{Store, counted};

/// The site key given with `--site`, as its id.
pub(super) async fn site_id(
    store: &Store,
    db: &DbArgs,
    key: Option<&str>,
) -> Result<Option<i64>, CliError> {
    let Some(key) = key else {
        return Ok(None);
    };
    let sites = store.sites().await.map_err(store_error(db))?;
    sites
        .iter()
        .find(|s| s.key == key)
        .map(|s| Some(s.id))
        .ok_or_else(|| CliError::NoSuchSite(key.to_owned()))
}

pub async fn erase(
    email: PersonEmail,
    site: Option<String>,
    confirm: ConfirmArgs,
    db: DbArgs,
) -> Result<(), CliError> {
    with_store(&db, async |store| {
        let site = site_id(store, &db, site.as_deref()).await?;
        let plan = store
            .erasure_plan(email.as_str().to_owned(), site)
            .await
            .map_err(store_error(&db))?;
        let shown = email.as_str();
        let what = format!("{} from {shown}", plan.summary());
        if plan.entries == 0 {
            println!("Nothing is held about {shown}.");
            return Ok(());
        }
        if confirm.dry_run {
            println!("Would erase {what}.");
            return Ok(());
        }
        if !confirm.yes && !confirmed(&format!("This erases {what}, for good."), "erase")? {
            println!("Nothing was erased.");
            return Ok(());
        }
        let started = std::time::Instant::now();
        let done = store
            .erase_person(
                email.as_str().to_owned(),
                site,
                None,
                crate::clock::system_millis(),
            )
            .await
            .map_err(store_error(&db))?;
        println!(
            "Erased {} from {shown} in {:.2} s. Their status links now answer 410.",
            done.summary(),
            started.elapsed().as_secs_f64()
        );
        Ok(())
    })
    .await
}

pub async fn export(
    email: PersonEmail,
    site: Option<String>,
    to: Option<PathBuf>,
    db: DbArgs,
) -> Result<(), CliError> {
    // The file first: a name that exists (the database itself, typed by
    // mistake) is refused before anything is exported or recorded.
    let file = match &to {
        Some(path) => Some(
            crate::private_files::create_new(path).map_err(|e| match e.kind() {
                std::io::ErrorKind::AlreadyExists => CliError::Exists(path.clone()),
                _ => CliError::Write(path.clone(), e),
            })?,
        ),
        None => None,
    };
    let exported = with_store(&db, async |store| {
        let site = site_id(store, &db, site.as_deref()).await?;
        store
            .export_person(
                email.as_str().to_owned(),
                site,
                None,
                crate::clock::system_millis(),
            )
            .await
            .map_err(store_error(&db))
    })
    .await;
    let export = match exported {
        Ok(export) => export,
        Err(e) => {
            if let Some(path) = &to {
                let _ = std::fs::remove_file(path);
            }
            return Err(e);
        }
    };
    match (to, file) {
        (Some(path), Some(mut file)) => {
            use std::io::Write;
            file.write_all((export.json + "\n").as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(|e| CliError::Write(path.clone(), e))?;
            eprintln!(
                "Wrote {} about {} to {}.",
                counted(export.entries, "entry", "entries"),
                email.as_str(),
                path.display()
            );
        }
        _ => println!("{}", export.json),
    }
    Ok(())
}
