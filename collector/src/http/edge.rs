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
//! - A handler that panics answers 500 (JSON, or the console's or the
//!   status page's page).

use std::panic::AssertUnwindSafe;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt as _;

use super::console::ConsoleError;
use super::{ApiError, AppState};

/// Where browsers on customers' sites call us.
const PUBLIC_API: &str = "/api/v1/feedback";
/// Header limits: above any browser's request, below what hyper itself
/// refuses without a body or CORS headers (see `server`).
pub const MAX_HEADERS: usize = 100;
pub const MAX_HEADER_BYTES: usize = 32 * 1024;
const HSTS: &str = "max-age=31536000";

/// Who reads a failure, and so its shape: the console and the customer's
/// status page answer with a page, the rest with the API's JSON.
enum Reader {
    Api,
    Console,
    /// The status page, with the request's headers for its language.
    Customer(HeaderMap),
}

impl Reader {
    fn of(request: &Request) -> Reader {
        let path = request.uri().path();
        if path.starts_with("/console") {
            Reader::Console
        } else if path.starts_with("/s/") {
            Reader::Customer(request.headers().clone())
        } else {
            Reader::Api
        }
    }

    fn answer(self, api: ApiError, console: ConsoleError) -> Response {
        match self {
            Reader::Api => api.into_response(),
            Reader::Console => console.into_response(),
            Reader::Customer(headers) => super::status_page::trouble(&headers, &api),
        }
    }
}

/// The whole-request deadline: a request that cannot finish in time (a
/// slow body, a stuck handler) answers 408 instead of pinning a worker, in
/// the error shape its caller reads.
pub async fn deadline(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let reader = Reader::of(&request);
    match tokio::time::timeout(state.request_timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => reader.answer(ApiError::TimedOut, ConsoleError::TimedOut),
    }
}

/// A handler that panics (a defect) answers 500 in its caller's error
/// shape instead of dropping the connection unanswered; the server carries
/// on. The panic hook set at startup has logged where it happened.
pub async fn catch_panic(request: Request, next: Next) -> Response {
    let reader = Reader::of(&request);
    // Unwind safety: what a handler shares lives behind locks and the
    // store's own transactions; a half-done handler leaves nothing the next
    // request could observe that a dropped connection would not.
    match AssertUnwindSafe(next.run(request)).catch_unwind().await {
        Ok(response) => response,
        Err(_) => reader.answer(
            ApiError::Panicked,
            ConsoleError::Internal("a request handler panicked"),
        ),
    }
}

/// An address with a NUL in it (`%00`) names no page, entry or filter
/// value: refused before any handler looks it up (see [`super::nul`]).
pub async fn refuse_nul(request: Request, next: Next) -> Response {
    if super::nul::in_address(request.uri()) {
        return match Reader::of(&request) {
            // To a customer it is a status link that leads nowhere.
            Reader::Customer(headers) => super::status_page::not_found(&headers),
            reader => reader.answer(
                ApiError::NulInAddress,
                ConsoleError::Invalid(
                    "This address holds a NUL character (%00), which no page takes. Check the link you followed."
                        .to_owned(),
                ),
            ),
        };
    }
    next.run(request).await
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

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::http::Request;
    use axum::middleware;
    use axum::routing::get;
    use tower::ServiceExt as _;

    use super::*;

    fn panicking() -> Router {
        async fn boom() -> &'static str {
            panic!("a defect")
        }
        Router::new()
            .route("/api/v1/entries", get(boom))
            .route("/console/inbox", get(boom))
            .route("/s/{token}", get(boom))
            .route("/livez", get(|| async { "ok" }))
            .layer(middleware::from_fn(catch_panic))
    }

    async fn get_path(app: Router, path: &str) -> (StatusCode, String) {
        let response = app
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn a_panicking_api_handler_answers_500_json_without_the_panic_text() {
        let (status, body) = get_path(panicking(), "/api/v1/entries").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["error"]["code"], "internal");
        assert!(!body.contains("a defect"), "{body}");
    }

    #[tokio::test]
    async fn a_panicking_console_page_answers_500_html_and_the_router_keeps_serving() {
        let app = panicking();
        let (status, body) = get_path(app.clone(), "/console/inbox").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(body.contains("Something went wrong"), "{body}");
        assert!(!body.contains("a defect"), "{body}");
        assert_eq!(get_path(app, "/livez").await, (StatusCode::OK, "ok".into()));
    }

    #[tokio::test]
    async fn a_panicking_status_page_answers_500_as_a_page_for_the_customer() {
        let (status, body) = get_path(panicking(), "/s/e_x.y").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(
            body.starts_with("<!DOCTYPE html>") && body.contains("cannot be shown right now"),
            "{body}"
        );
        assert!(!body.contains("a defect"), "{body}");
    }
}
