//! Starting and stopping the collector. Used by `main` and, in-process, by
//! the integration and end-to-end tests.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower::ServiceExt;

use crate::abuse::Limits;
use crate::abuse::{Admission, ClientNet, Connections, IpHasher, Shield, TrustedProxies};
use crate::auth::{Auth, LoginThrottle, SessionPolicy};
use crate::clock::Clock;
use crate::config::Config;
use crate::http::{AppState, app};
use crate::notify::{self, Notifier};
use crate::origin::OriginPattern;
use crate::store::{NewSite, Site, Store, StoreError};
use crate::supervise;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("could not open the database {path}: {source}")]
    Store { path: String, source: StoreError },
    #[error("the database {path} is already served by another earshot process")]
    InUse { path: String },
    #[error("database {path}: {source}")]
    NoFolder {
        path: String,
        source: crate::private_files::FilePathError,
    },
    #[error("database {path}: {source}")]
    NotWritable {
        path: String,
        source: Box<crate::ownership::AccessError>,
    },
    #[error("could not open the database {path}: {source}")]
    Lock {
        path: String,
        source: crate::store::backup::LockError,
    },
    #[error(
        "--backup-dir backs up the SQLite file; back PostgreSQL up with its own tools (pg_dump, pgBackRest, WAL archiving)"
    )]
    BackupsNeedSqlite,
    #[error("--backup-dir {path}: cannot write there: {source}")]
    BackupDir { path: String, source: io::Error },
    #[error("could not listen on {addr}: {source}{}", bind_hint(.source, .flag))]
    Bind {
        addr: SocketAddr,
        /// The option that named the address, for the hint.
        flag: &'static str,
        source: io::Error,
    },
    #[error("SMTP settings: {0}")]
    Mail(#[from] crate::mail::MailError),
    #[error("could not prepare password hashing: {0}")]
    Auth(#[from] crate::auth::PasswordError),
    #[error("could not set up the webhook client: {0}")]
    Webhooks(#[from] reqwest::Error),
}

/// What to do about the usual reasons a listening address is refused.
fn bind_hint(e: &io::Error, flag: &str) -> String {
    match e.kind() {
        io::ErrorKind::AddrInUse => {
            format!(" (another program, or another earshot, listens there: stop it or choose another {flag})")
        }
        io::ErrorKind::AddrNotAvailable => {
            " (no network interface of this machine has that address: 127.0.0.1 behind a reverse proxy, or 0.0.0.0 for every interface)".to_owned()
        }
        io::ErrorKind::PermissionDenied => {
            " (ports below 1024 need privileges: use a higher port behind a reverse proxy, or grant the binary CAP_NET_BIND_SERVICE)".to_owned()
        }
        _ => String::new(),
    }
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
    /// The server's view of its sites (and of the origins they refused).
    pub sites: crate::directory::SiteDirectory,
    /// Where `/metrics` is served, when `--metrics-addr` is set.
    pub metrics_addr: Option<SocketAddr>,
    metrics_task: Option<JoinHandle<io::Result<()>>>,
    /// Keeps `earshot restore` from replacing the file while it is served.
    /// Held while serving a SQLite file (none for PostgreSQL).
    _lock: Option<crate::store::backup::ServerLock>,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<io::Result<()>>,
    indexer: JoinHandle<()>,
    retainer: JoinHandle<()>,
    /// Writes the refusals the site directory counts.
    refusals: JoinHandle<()>,
    clock: Clock,
    /// The scheduled backups and what stops them.
    backups: Option<(oneshot::Sender<()>, JoinHandle<()>)>,
    notifier: Notifier,
}

impl Running {
    /// Stops accepting connections, finishes in-flight requests, then
    /// commits everything queued and closes the database.
    pub async fn stop(self) -> io::Result<()> {
        let _ = self.shutdown.send(());
        let served = self.task.await.unwrap_or_else(|e| Err(io::Error::other(e)));
        self.indexer.abort();
        self.retainer.abort();
        self.refusals.abort();
        // The last few seconds' refusals, before the database closes.
        if let Err(e) = self.sites.write_refusals(self.clock.now_millis()).await {
            tracing::warn!(error = %e, "could not write the refused origins' counts");
        }
        if let Some((stop, backups)) = self.backups {
            let _ = stop.send(());
            let _ = backups.await;
        }
        if let Some(metrics) = &self.metrics_task {
            metrics.abort();
        }
        self.notifier.stop();
        self.store.shutdown().await;
        served
    }
}

/// Embed snippet for the site `key`, its widget served from `public_url`.
pub fn snippet(public_url: &str, key: &str) -> String {
    format!(r#"<script src="{public_url}/widget.js" data-site="{key}" defer></script>"#)
}

/// Binds the listeners, opens the database (creating the default site on
/// an empty one) and starts serving in the background.
pub async fn start(config: &Config) -> Result<Running, StartError> {
    let store_err = |source| StartError::Store {
        path: config.database(),
        source,
    };
    // Settings that cannot work are refused before anything is made.
    let mailer = config
        .smtp
        .as_ref()
        .map(|smtp| crate::mail::Mailer::new(smtp.url.expose(), &smtp.from))
        .transpose()?
        .map(Arc::new);
    // Said now, not by a warning the first backup logs a day from now.
    if let (Some(schedule), None) = (&config.backups, &config.database_url) {
        crate::store::backup::prepare_dir(&schedule.dir).map_err(|source| {
            StartError::BackupDir {
                path: schedule.dir.display().to_string(),
                source,
            }
        })?;
    }
    // Before the database is opened: a start that cannot listen leaves no
    // file behind, and the next first start still says which site it made.
    let (listener, metrics_socket) = bind(config).await?;
    let (store, lock) = match &config.database_url {
        // Several collectors may share one PostgreSQL: no lock of ours.
        Some(url) => {
            if config.backups.is_some() {
                return Err(StartError::BackupsNeedSqlite);
            }
            let connections = usize::from(config.database_connections);
            let store = Store::connect_with(url.expose(), connections)
                .await
                .map_err(store_err)?;
            (store, None)
        }
        None => {
            crate::private_files::check_file_path(&config.db).map_err(|source| {
                StartError::NoFolder {
                    path: config.database(),
                    source,
                }
            })?;
            crate::ownership::check_writable(&config.db).map_err(|source| {
                StartError::NotWritable {
                    path: config.database(),
                    source: Box::new(source),
                }
            })?;
            let lock =
                crate::store::backup::ServerLock::acquire(&config.db).map_err(|e| match e {
                    crate::store::backup::LockError::Held => StartError::InUse {
                        path: config.database(),
                    },
                    source => StartError::Lock {
                        path: config.database(),
                        source,
                    },
                })?;
            let (db, checkpoints) = (config.db.clone(), config.wal_checkpoints);
            let store = tokio::task::spawn_blocking(move || Store::open_with(&db, checkpoints))
                .await
                .map_err(|_| store_err(StoreError::TaskFailed))?
                .map_err(store_err)?;
            (store, Some(lock))
        }
    };
    let addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: config.addr,
        flag: "--addr",
        source,
    })?;
    let (_, created) = store
        .ensure_first_site(default_site(), config.clock.now_millis())
        .await
        .map_err(store_err)?;
    let created_site = if created {
        store.sites().await.map_err(store_err)?.into_iter().next()
    } else {
        None
    };

    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    // For the command line's snippets, which it prints without a server.
    store
        .remember_public_url(public_url.clone())
        .await
        .map_err(store_err)?;
    let secret = store.ip_hash_secret().await.map_err(store_err)?;
    let shield = Shield::new(
        &config.limits,
        TrustedProxies::new(config.trusted_proxies.clone()),
        IpHasher::new(secret),
    );
    // The installation's one link, so that with several collectors the
    // link any of them printed works whichever serves its visitor.
    let setup_token = if store.user_count().await.map_err(store_err)? == 0 {
        let secret = store.setup_link_secret().await.map_err(store_err)?;
        Some(crate::ids::secret_text(&secret))
    } else {
        None
    };
    let sessions = SessionPolicy {
        secure_cookie: public_url.starts_with("https://"),
        ..config.sessions
    };
    let throttle = login_throttle(&store, &config.clock)
        .await
        .map_err(store_err)?;
    let auth = tokio::task::spawn_blocking(move || Auth::new(sessions, setup_token, throttle))
        .await
        .map_err(|_| store_err(StoreError::TaskFailed))??;
    let setup_url = auth
        .setup_token()
        .map(|token| format!("{public_url}/console/setup?token={token}"));
    let state = AppState::new(
        store.clone(),
        public_url.clone(),
        shield,
        auth,
        mailer.clone(),
        config,
    );
    let notifier = Notifier::start(notify::Context::new(
        store.clone(),
        config.clock.clone(),
        &public_url,
        mailer,
        config.allow_private_webhooks,
        state.metrics.clone(),
    )?);
    let (metrics_addr, metrics_task) = match (&config.metrics, metrics_socket) {
        (Some(listener), Some(socket)) => {
            let (addr, task) = serve_metrics(listener, socket, state.metrics.clone())?;
            (Some(addr), Some(task))
        }
        _ => (None, None),
    };
    let sites = state.sites.clone();
    let metrics = state.metrics.clone();
    let router = app(state);
    let (shutdown, on_shutdown) = oneshot::channel::<()>();
    let proxies = TrustedProxies::new(config.trusted_proxies.clone());
    let mut limits = config.limits;
    let open_files = crate::open_files::raise();
    limits.max_connections =
        crate::open_files::connections_that_fit(open_files, limits.max_connections);
    if limits.max_connections < config.limits.max_connections {
        tracing::warn!(
            max_connections = limits.max_connections,
            open_files = open_files.unwrap_or_default(),
            "this process may open too few files: taking fewer connections than --max-connections (raise LimitNOFILE= in the systemd unit, or ulimit -n)"
        );
    }
    let task = tokio::spawn(serve(listener, router, limits, proxies, on_shutdown));
    let indexing = store.clone();
    let indexer = supervise::spawn("search index", move || {
        crate::store::search::keep_indexed(indexing.clone())
    });
    let (retaining, retain_clock) = (store.clone(), config.clock.clone());
    let retainer = supervise::spawn("retention", move || {
        crate::store::retention::keep(retaining.clone(), retain_clock.clone())
    });
    let (refused, refusal_clock) = (sites.clone(), config.clock.clone());
    let refusals = supervise::spawn("refused origins", move || {
        crate::directory::keep_refusals_written(refused.clone(), refusal_clock.clone())
    });
    let backups = config.backups.clone().map(|schedule| {
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(crate::store::backup::scheduled(
            config.db.clone(),
            schedule,
            stopped,
            metrics,
        ));
        (stop, task)
    });
    Ok(Running {
        addr,
        public_url,
        store,
        created_site,
        setup_url,
        sites,
        metrics_addr,
        metrics_task,
        _lock: lock,
        shutdown,
        task,
        indexer,
        retainer,
        refusals,
        clock: config.clock.clone(),
        backups,
        notifier,
    })
}

/// The public listener and, if asked for, the metrics one.
async fn bind(config: &Config) -> Result<(TcpListener, Option<TcpListener>), StartError> {
    let listener = bind_one(config.addr, "--addr").await?;
    let metrics = match &config.metrics {
        Some(metrics) => Some(bind_one(metrics.addr, "--metrics-addr").await?),
        None => None,
    };
    Ok((listener, metrics))
}

async fn bind_one(addr: SocketAddr, flag: &'static str) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind { addr, flag, source })
}

/// Serves `/metrics` on its own listener. It is for a scraper on the
/// operator's network, so it gets none of the public endpoint's
/// machinery, only an optional bearer token.
fn serve_metrics(
    listener: &crate::config::MetricsListener,
    socket: TcpListener,
    metrics: Arc<crate::metrics::Metrics>,
) -> Result<(SocketAddr, JoinHandle<io::Result<()>>), StartError> {
    let addr = socket.local_addr().map_err(|source| StartError::Bind {
        addr: listener.addr,
        flag: "--metrics-addr",
        source,
    })?;
    if listener.token.is_none() && !addr.ip().is_loopback() {
        tracing::warn!(%addr, "metrics are served beyond loopback without --metrics-token");
    }
    let router = crate::metrics::router(metrics, listener.token.as_ref());
    let task = tokio::spawn(async move { axum::serve(socket, router).await });
    Ok((addr, task))
}

/// The sign-in throttle, with every attempt it still remembers replayed
/// from the database, so a restart leaves no budget fuller than it was.
async fn login_throttle(store: &Store, clock: &Clock) -> Result<LoginThrottle, StoreError> {
    let throttle = LoginThrottle::new(store.login_throttle_secret().await?);
    let now_ms = clock.now_millis();
    let recorded = store
        .login_attempts_since(throttle.read_from(now_ms))
        .await?;
    throttle.catch_up(recorded, now_ms, Instant::now());
    Ok(throttle)
}

/// How long shutdown waits for open connections before dropping them.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a connection asked to close may take to finish its answer.
const SHED_GRACE: Duration = Duration::from_secs(5);

/// The accept loop. Hyper is driven directly (not `axum::serve`) for what a
/// public endpoint needs: a header-read timeout so slow clients cannot pin
/// connections (it also closes idle keep-alive connections), and connection
/// slots shared fairly between clients (see [`Connections`]).
async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    proxies: TrustedProxies,
    mut on_shutdown: oneshot::Receiver<()>,
) -> io::Result<()> {
    let connections = Connections::new(limits.max_connections, limits.max_connections_per_ip);
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // Hyper refuses larger headers itself, with a bare 431; below these
    // limits the edge refuses them with a readable 431 that carries CORS.
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_headers(2 * crate::http::MAX_HEADERS)
        .max_buf_size(2 * crate::http::MAX_HEADER_BYTES);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(limits.header_timeout));
    loop {
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
        let net = (!proxies.trusts(peer.ip())).then(|| ClientNet::of(peer.ip()));
        let slot = loop {
            let freed = connections.freed();
            tokio::pin!(freed);
            freed.as_mut().enable();
            match connections.admit(net, Instant::now()) {
                Admission::Admitted(slot) => break Some(slot),
                Admission::Refused => break None,
                // A connection is closing to make room, or every one is
                // serving a request: the newcomer (and the backlog behind
                // it) waits for a slot to be freed.
                Admission::Wait => tokio::select! {
                    () = &mut freed => {}
                    _ = &mut on_shutdown => return drain(&connections).await,
                },
            }
        };
        let Some(slot) = slot else {
            // Dropping the stream closes it.
            continue;
        };
        let _ = stream.set_nodelay(true);
        let slot = Arc::new(slot);
        let router = router.clone();
        let tracked = slot.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            let router = router.clone();
            let tracked = tracked.clone();
            tracked.begin();
            async move {
                let response = router.oneshot(request.map(Body::new)).await;
                tracked.end(Instant::now());
                response
            }
        });
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        tokio::spawn(async move {
            tokio::pin!(connection);
            // Errors here are clients hanging up or timing out.
            tokio::select! {
                _ = connection.as_mut() => {}
                () = slot.shed.notified() => {
                    // With a request in flight, it closes once the answer
                    // is written. Without (headers that never finish, an
                    // idle keep-alive), at once: hyper would wait for the
                    // headers, and a slowloris that reconnects as fast as
                    // it is shed would pile up sockets, and open files,
                    // past every slot.
                    if slot.is_busy() {
                        // Its answer may take a while (an export): the
                        // newcomer waiting for the slot must not.
                        slot.release();
                        connection.as_mut().graceful_shutdown();
                        let _ = tokio::time::timeout(SHED_GRACE, connection).await;
                    }
                }
            }
            drop(slot);
        });
    }
    drain(&connections).await
}

/// Stops every connection once its request is answered, waiting at most
/// [`DRAIN_TIMEOUT`].
async fn drain(connections: &Connections) -> io::Result<()> {
    let deadline = tokio::time::Instant::now() + DRAIN_TIMEOUT;
    loop {
        let freed = connections.freed();
        tokio::pin!(freed);
        freed.as_mut().enable();
        // Also reaches connections admitted since the last round.
        connections.shed_all();
        if connections.is_empty() {
            return Ok(());
        }
        if tokio::time::timeout_at(deadline, freed).await.is_err() {
            tracing::warn!("connections still open after {DRAIN_TIMEOUT:?}; closing them");
            return Ok(());
        }
    }
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
