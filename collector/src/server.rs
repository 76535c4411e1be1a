//! Starting and stopping the collector. Used by `main` and, in-process, by
//! the integration and end-to-end tests.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, oneshot};
use tokio::task::JoinHandle;
use tower::ServiceExt;

use crate::abuse::{IpHasher, Shield, TrustedProxies};
use crate::auth::{Auth, SessionPolicy};
use crate::config::{Config, Limits};
use crate::http::{AppState, app};
use crate::origin::OriginPattern;
use crate::store::{NewSite, Site, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("could not open the database {path}: {source}")]
    Store { path: String, source: StoreError },
    #[error("could not listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: io::Error },
    #[error("SMTP settings: {0}")]
    Mail(#[from] crate::mail::MailError),
    #[error("could not prepare password hashing: {0}")]
    Auth(#[from] crate::auth::PasswordError),
}

/// Origins a fresh installation accepts, so a local trial works at once.
pub const DEFAULT_ORIGINS: [&str; 3] =
    ["http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*"];

/// The site a fresh installation gets.
pub fn default_site() -> NewSite {
    NewSite {
        name: "Default (local development)".to_owned(),
        origins: DEFAULT_ORIGINS
            .iter()
            .filter_map(|o| OriginPattern::parse(o).ok())
            .collect(),
    }
}

/// A collector serving on a socket.
pub struct Running {
    pub addr: SocketAddr,
    pub public_url: String,
    pub store: Store,
    /// The site created on first start, if this start created it.
    pub created_site: Option<Site>,
    /// One-time link to create the first staff account, while none exists.
    pub setup_url: Option<String>,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<io::Result<()>>,
    indexer: JoinHandle<()>,
}

impl Running {
    /// Stops accepting connections, finishes in-flight requests, then
    /// commits everything queued and closes the database.
    pub async fn stop(self) -> io::Result<()> {
        let _ = self.shutdown.send(());
        let served = self.task.await.unwrap_or_else(|e| Err(io::Error::other(e)));
        self.indexer.abort();
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
    let (_, created) = store
        .ensure_first_site(default_site())
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
    let secret = store.ip_hash_secret().await.map_err(store_err)?;
    let shield = Shield::new(
        &config.limits,
        TrustedProxies::new(config.trusted_proxies.clone()),
        IpHasher::new(secret),
    );
    let needs_setup = store.user_count().await.map_err(store_err)? == 0;
    let sessions = SessionPolicy {
        secure_cookie: public_url.starts_with("https://"),
        ..config.sessions
    };
    let auth = tokio::task::spawn_blocking(move || Auth::new(sessions, needs_setup))
        .await
        .map_err(|_| store_err(StoreError::TaskFailed))??;
    let setup_url = auth
        .setup_token()
        .map(|token| format!("{public_url}/console/setup?token={token}"));
    let mailer = config
        .smtp
        .as_ref()
        .map(|smtp| crate::mail::Mailer::new(smtp.url.expose(), &smtp.from))
        .transpose()?;
    let mut state = AppState::new(
        store.clone(),
        public_url.clone(),
        shield,
        config.limits.request_timeout,
        auth,
        config.clock.clone(),
    );
    state.mailer = mailer.map(std::sync::Arc::new);
    let router = app(state);
    let (shutdown, on_shutdown) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, router, config.limits, on_shutdown));
    let indexer = tokio::spawn(crate::store::search::keep_indexed(store.clone()));
    Ok(Running {
        addr,
        public_url,
        store,
        created_site,
        setup_url,
        shutdown,
        task,
        indexer,
    })
}

/// How long shutdown waits for open connections before dropping them.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// The accept loop. Hyper is driven directly (not `axum::serve`) for what a
/// public endpoint needs: a header-read timeout so slow clients cannot pin
/// connections (it also closes idle keep-alive connections), and a cap on
/// concurrent connections (excess ones wait in the kernel backlog).
async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    mut on_shutdown: oneshot::Receiver<()>,
) -> io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(limits.header_timeout));
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.map_err(io::Error::other)?,
            _ = &mut on_shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Usually EMFILE: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut on_shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(request.map(Body::new))
        });
        let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
        let connection = graceful.watch(connection.into_owned());
        tokio::spawn(async move {
            // Errors here are clients hanging up or timing out.
            let _ = connection.await;
            drop(slot);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(DRAIN_TIMEOUT) => {
            tracing::warn!("connections still open after {DRAIN_TIMEOUT:?}; closing them");
        }
    }
    Ok(())
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
