//! Starting and stopping the collector. Used by `main` and, in-process, by
//! the integration and end-to-end tests.

use std::io;
use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::http::{AppState, app};
use crate::origin::OriginPattern;
use crate::store::{NewSite, Site, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("could not open the database {path}: {source}")]
    Store { path: String, source: StoreError },
    #[error("could not listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: io::Error },
}

/// Origins a fresh installation accepts, so a local trial works at once.
pub const DEFAULT_ORIGINS: [&str; 3] =
    ["http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*"];

/// A collector serving on a socket.
pub struct Running {
    pub addr: SocketAddr,
    pub public_url: String,
    pub store: Store,
    /// The site created on first start, if this start created it.
    pub created_site: Option<Site>,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<io::Result<()>>,
}

impl Running {
    /// Stops accepting connections, finishes in-flight requests, then
    /// commits everything queued and closes the database.
    pub async fn stop(self) -> io::Result<()> {
        let _ = self.shutdown.send(());
        let served = self.task.await.unwrap_or_else(|e| Err(io::Error::other(e)));
        self.store.shutdown().await;
        served
    }
}

/// Embed snippet for `site` served from `public_url`.
pub fn snippet(public_url: &str, site: &Site) -> String {
    format!(
        r#"<script src="{public_url}/widget.js" data-site="{}" defer></script>"#,
        site.key
    )
}

/// Opens the database (creating the default site on an empty one), binds
/// the listener and starts serving in the background.
pub async fn start(config: &Config) -> Result<Running, StartError> {
    let store_err = |source| StartError::Store {
        path: config.db.display().to_string(),
        source,
    };
    let db = config.db.clone();
    let store = tokio::task::spawn_blocking(move || Store::open(&db))
        .await
        .map_err(|_| store_err(StoreError::TaskFailed))?
        .map_err(store_err)?;
    let default_site = NewSite {
        name: "Default (local development)".to_owned(),
        origins: DEFAULT_ORIGINS
            .iter()
            .filter_map(|o| OriginPattern::parse(o).ok())
            .collect(),
    };
    let (_, created) = store
        .ensure_first_site(default_site)
        .await
        .map_err(store_err)?;
    let created_site = if created {
        store.sites().await.map_err(store_err)?.into_iter().next()
    } else {
        None
    };

    let listener = TcpListener::bind(config.addr)
        .await
        .map_err(|source| StartError::Bind {
            addr: config.addr,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: config.addr,
        source,
    })?;
    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    let router = app(AppState::new(store.clone(), public_url.clone()));
    let (shutdown, on_shutdown) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async {
            let _ = on_shutdown.await;
        })
        .await
    });
    Ok(Running {
        addr,
        public_url,
        store,
        created_site,
        shutdown,
        task,
    })
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
