//! One log line and one latency sample per request, naming the route
//! template, never the concrete path: `/s/{token}` would otherwise write
//! customers' secrets to the log.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

pub async fn log_request(
    State(metrics): State<Arc<crate::metrics::Metrics>>,
    request: Request,
    next: Next,
) -> Response {
    // Cheap to clone (shared); formatted only if a line is written.
    let route = request.extensions().get::<MatchedPath>().cloned();
    let method = request.method().clone();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let took = started.elapsed();
    let micros = took.as_micros();
    let route = route.as_ref().map_or("<unmatched>", MatchedPath::as_str);
    metrics.request(&method, route, status, took);
    if response.status().is_server_error() {
        tracing::warn!(%method, route, status, micros, "request");
    } else {
        tracing::debug!(%method, route, status, micros, "request");
    }
    response
}
