//! HTTP surface: each resource module exposes `router()`, merged here.

pub(crate) mod api;
mod assets;
pub(crate) mod attachments;
pub mod console;
mod edge;
mod error;
mod health;
pub mod ingest;
mod linger;
pub(crate) mod local_time;
mod logging;
mod nul;
mod openapi;
mod status_page;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::HeaderMap;
use axum::middleware;
use axum::{Extension, Router};

pub use edge::{MAX_HEADER_BYTES, MAX_HEADERS};
pub use error::ApiError;

use crate::abuse::Shield;
use crate::auth::Auth;
use crate::clock::Clock;
use crate::config::Config;
use crate::directory::SiteDirectory;
use crate::metrics::Metrics;
use crate::store::Store;

/// Shared by every handler. Cloned for every request and by every
/// middleware: one reference count to bump, not one per field (ten atomic
/// increments and as many decrements, several times a request, were 4% of
/// the server's CPU under ingest load).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] shares.
pub struct Shared {
    pub store: Store,
    pub sites: SiteDirectory,
    /// Base URL browsers use to reach this collector, without trailing slash.
    pub public_url: Arc<str>,
    /// Whether `--public-url` named it, or it was made from the listening
    /// address (and may not be what browsers use, behind a proxy).
    pub public_url_named: bool,
    pub shield: Arc<Shield>,
    /// Whole-request deadline: a request that cannot finish (a slow body, a
    /// stuck handler) in this time answers 408 instead of pinning a worker.
    pub request_timeout: Duration,
    pub auth: Arc<Auth>,
    pub clock: Clock,
    /// Emails staff replies to customers, when SMTP is configured.
    pub mailer: Option<Arc<crate::mail::Mailer>>,
    pub metrics: Arc<Metrics>,
    /// Whether webhooks may reach loopback and private addresses, so that
    /// an endpoint that could never be delivered to is refused when added.
    pub allow_private_webhooks: bool,
}

impl AppState {
    /// The state for a server configured by `config`, at `public_url`.
    pub fn new(
        store: Store,
        public_url: String,
        shield: Shield,
        auth: Auth,
        mailer: Option<Arc<crate::mail::Mailer>>,
        config: &Config,
    ) -> Self {
        AppState(Arc::new(Shared {
            sites: SiteDirectory::new(store.clone()),
            metrics: Arc::new(Metrics::new(store.clone())),
            store,
            public_url: public_url.into(),
            public_url_named: config.public_url.is_some(),
            shield: Arc::new(shield),
            request_timeout: config.limits.request_timeout,
            auth: Arc::new(auth),
            clock: config.clock.clone(),
            mailer,
            allow_private_webhooks: config.allow_private_webhooks,
        }))
    }
}

/// The credential in `Authorization: Bearer <credential>` (the scheme in
/// any case, as RFC 9110 has it).
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, credential) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| credential.trim())
}

/// The client's address: the socket peer, or what a trusted proxy says.
/// The peer is only absent when the router is driven without a socket
/// (unit tests).
pub(crate) fn client_ip(
    state: &AppState,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: &HeaderMap,
) -> IpAddr {
    let peer = peer.map_or(
        IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        |Extension(ConnectInfo(a))| a.ip(),
    );
    state.shield.proxies.client_ip(peer, headers)
}

/// The complete application, without a socket (tests drive it with
/// `tower::ServiceExt::oneshot`).
pub fn app(state: AppState) -> Router {
    let edge_state = state.clone();
    Router::new()
        .merge(health::router())
        .merge(openapi::router())
        .merge(ingest::router())
        .merge(attachments::router())
        .merge(assets::router())
        .merge(status_page::router())
        .merge(console::router())
        .merge(api::router())
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(middleware::from_fn(edge::catch_panic))
        .layer(middleware::from_fn(edge::refuse_nul))
        .layer(middleware::from_fn_with_state(
            state.metrics.clone(),
            logging::log_request,
        ))
        .layer(middleware::from_fn_with_state(
            edge_state.clone(),
            edge::deadline,
        ))
        // Outside the deadline, so a 408 gets its CORS headers too.
        .layer(middleware::from_fn_with_state(
            edge_state.clone(),
            edge::public_api,
        ))
        .layer(middleware::from_fn_with_state(
            edge_state,
            edge::common_headers,
        ))
        // Outermost: whatever answered, and however early.
        .layer(middleware::from_fn(linger::linger))
        .with_state(state)
}
