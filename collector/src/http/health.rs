use axum::Router;
use axum::extract::State;
use axum::routing::get;

use super::{ApiError, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/livez", get(livez))
}

/// Healthy means the database answers, not just that the process is up.
async fn healthz(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    state.store.ping().await?;
    Ok("ok\n")
}

/// Liveness only: no I/O, the cheapest answer the server can give (also the
/// baseline the load benchmark compares ingest against).
async fn livez() -> &'static str {
    "ok\n"
}
