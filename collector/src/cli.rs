//! What each `earshot` subcommand does.

use std::process::ExitCode;

use crate::config::{Command, Config, DbArgs, ServeArgs, SiteCommand};
use crate::origin::OriginPattern;
use crate::server::{self, snippet};
use crate::store::{NewSite, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Start(#[from] server::StartError),
    #[error("database {path}: {source}")]
    Store { path: String, source: StoreError },
    #[error("invalid --origin {origin:?}: {reason}")]
    Origin {
        origin: String,
        reason: crate::origin::OriginError,
    },
    #[error("server stopped with an error: {0}")]
    Serve(std::io::Error),
}

pub async fn run(command: Option<Command>, serve_args: ServeArgs) -> ExitCode {
    let result = match command {
        None => serve(serve_args).await,
        Some(Command::Serve(args)) => serve(args).await,
        Some(Command::Site(SiteCommand::Add { name, origins, db })) => {
            add_site(name, origins, db).await
        }
        Some(Command::Site(SiteCommand::List { db })) => list_sites(db).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: ServeArgs) -> Result<(), CliError> {
    let config = Config::from(args);
    let running = server::start(&config).await?;
    let url = &running.public_url;
    println!(
        "Earshot is listening on http://{} (public URL {url})",
        running.addr
    );
    println!("Database: {}", config.db.display());
    if let Ok(sites) = running.store.sites().await {
        for site in &sites {
            let created = running
                .created_site
                .as_ref()
                .is_some_and(|c| c.id == site.id);
            let note = if created { " (created now)" } else { "" };
            println!(
                "\nSite \"{}\"{note}: add this to your pages:\n  {}",
                site.name,
                snippet(url, site)
            );
        }
    }
    if config.addr.ip().is_unspecified() && config.public_url.is_none() {
        println!(
            "\nNote: listening on all interfaces; set --public-url to the address browsers use."
        );
    }
    server::shutdown_signal().await;
    tracing::info!("shutting down: finishing requests and committing queued writes");
    running.stop().await.map_err(CliError::Serve)
}

async fn open(db: &DbArgs) -> Result<Store, CliError> {
    let path = db.db.clone();
    let err = |source| CliError::Store {
        path: db.db.display().to_string(),
        source,
    };
    tokio::task::spawn_blocking(move || Store::open(&path))
        .await
        .map_err(|_| err(StoreError::TaskFailed))?
        .map_err(err)
}

fn public_url(db: &DbArgs) -> String {
    db.public_url
        .as_deref()
        .unwrap_or("http://127.0.0.1:8080")
        .trim_end_matches('/')
        .to_owned()
}

async fn add_site(name: String, origins: Vec<String>, db: DbArgs) -> Result<(), CliError> {
    let origins = origins
        .into_iter()
        .map(|origin| {
            OriginPattern::parse(&origin).map_err(|reason| CliError::Origin { origin, reason })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let store = open(&db).await?;
    let site = store
        .add_site(NewSite { name, origins })
        .await
        .map_err(|source| CliError::Store {
            path: db.db.display().to_string(),
            source,
        })?;
    store.shutdown().await;
    println!("Added site \"{}\" with key {}", site.name, site.key);
    println!(
        "Add this to its pages:\n  {}",
        snippet(&public_url(&db), &site)
    );
    Ok(())
}

async fn list_sites(db: DbArgs) -> Result<(), CliError> {
    let store = open(&db).await?;
    let sites = store.sites().await.map_err(|source| CliError::Store {
        path: db.db.display().to_string(),
        source,
    })?;
    store.shutdown().await;
    for site in sites {
        let origins: Vec<String> = site.origins.iter().map(ToString::to_string).collect();
        println!("{}\t{}\t{}", site.key, site.name, origins.join(" "));
    }
    Ok(())
}
