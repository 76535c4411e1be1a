//! HTTP surface: each resource module exposes `router()`, merged here.

mod assets;
mod error;
mod health;
mod ingest;
mod logging;
mod status_page;

use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::middleware;
use tower_http::timeout::TimeoutLayer;

pub use error::ApiError;

use crate::directory::SiteDirectory;
use crate::store::Store;

/// Whole-request deadline: a handler that cannot finish in this time answers
/// 408 instead of pinning a connection.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub sites: SiteDirectory,
    /// Base URL browsers use to reach this collector, without trailing slash.
    pub public_url: String,
}

impl AppState {
    pub fn new(store: Store, public_url: String) -> Self {
        AppState {
            sites: SiteDirectory::new(store.clone()),
            store,
            public_url,
        }
    }
}

/// The complete application, without a socket (tests drive it with
/// `tower::ServiceExt::oneshot`).
pub fn app(state: AppState) -> Router {
    Router::new()
        .merge(health::router())
        .merge(ingest::router())
        .merge(assets::router())
        .merge(status_page::router())
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(middleware::from_fn(logging::log_request))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .with_state(state)
}
