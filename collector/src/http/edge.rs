//! What every answer gets, whatever produced it: a handler, a rejection, the
//! request timeout or a refusal before the body was read.
//!
//! - `nosniff` on everything, and `Strict-Transport-Security` when the
//!   public URL is https.
//! - On the public API (`/api/v1/feedback…`): CORS headers on every answer
//!   to an allowed origin, and on every refusal to any origin, so the widget
//!   can read a 403 "origin not allowed", a 408, 413 or 431 as what it is
//!   rather than as a network error (and tell the customer, not retry
//!   forever); preflights answered here; oversized headers refused with a
//!   readable 431.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::console::ConsoleError;
use super::{ApiError, AppState};

/// Where browsers on customers' sites call us.
const PUBLIC_API: &str = "/api/v1/feedback";
/// Header limits: above any browser's request, below what hyper itself
/// refuses without a body or CORS headers (see `server`).
pub const MAX_HEADERS: usize = 100;
pub const MAX_HEADER_BYTES: usize = 32 * 1024;
const HSTS: &str = "max-age=31536000";

/// The whole-request deadline: a request that cannot finish in time (a
/// slow body, a stuck handler) answers 408 instead of pinning a worker, in
/// the error shape its caller reads.
pub async fn deadline(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let console = request.uri().path().starts_with("/console");
    match tokio::time::timeout(state.request_timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) if console => ConsoleError::TimedOut.into_response(),
        Err(_) => ApiError::TimedOut.into_response(),
    }
}

/// `nosniff` everywhere; HSTS when served over https.
pub async fn common_headers(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if state.public_url.starts_with("https://") {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
    response
}

fn origin(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The public API's edge: preflights, header limits and CORS on every
/// answer. Other paths pass through untouched.
pub async fn public_api(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if !request.uri().path().starts_with(PUBLIC_API) {
        return next.run(request).await;
    }
    let origin = origin(request.headers());
    let allowed = match &origin {
        Some(origin) => match state.sites.any_allows(origin).await {
            Ok(allowed) => allowed,
            Err(e) => return with_cors(ApiError::from(e).into_response(), None),
        },
        None => false,
    };
    let is_preflight = request.method() == Method::OPTIONS;
    let response = if is_preflight {
        // A preflight carries no site key, so it cannot be judged here; the
        // request itself is, and its refusal is readable.
        preflight(origin.is_some())
    } else if headers_too_large(request.headers()) {
        ApiError::HeadersTooLarge.into_response()
    } else {
        next.run(request).await
    };
    // Success only ever reaches an allowed origin; a refusal reaches any,
    // so the page learns why (it holds nothing but the reason).
    let readable = allowed || is_preflight || response.status().is_client_error();
    let cors_origin = origin.filter(|_| readable);
    with_cors(response, cors_origin.as_deref())
}

fn headers_too_large(headers: &HeaderMap) -> bool {
    let bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    headers.len() > MAX_HEADERS || bytes > MAX_HEADER_BYTES
}

/// Answers a browser's preflight: for any origin, since a preflight carries
/// no site key; the request that follows is checked against its site.
fn preflight(has_origin: bool) -> Response {
    if !has_origin {
        return ApiError::OriginNotAllowed.into_response();
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    let h = response.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        // authorization: the status secret that allows an upload.
        HeaderValue::from_static("content-type, authorization"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("86400"),
    );
    response
}

/// Lets the widget on `origin` read this answer (errors included). Never
/// with credentials.
fn with_cors(mut response: Response, origin: Option<&str>) -> Response {
    let headers = response.headers_mut();
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(value) = origin.and_then(|o| HeaderValue::from_str(o).ok()) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        // The widget reads how long to wait after a 429 or 503.
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("retry-after"),
        );
    }
    response
}
