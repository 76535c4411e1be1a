//! Serves the widget: the loader at a stable URL with a short cache, and
//! the content-hashed app, module and stylesheet cached for a year. Each is
//! sent as compressed at build time (brotli 11 or gzip 9, as the browser
//! accepts), never compressed per request.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::{ApiError, AppState};
use crate::assets::{self, Asset, Encoding};

/// The loader's URL never changes, so keep its cache short: a deploy
/// reaches visitors within minutes.
const LOADER_CACHE: &str = "public, max-age=300";
const HASHED_CACHE: &str = "public, max-age=31536000, immutable";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/widget.js", get(loader))
        .route("/widget/{name}", get(hashed))
        .route("/static/page.css", get(page_css))
        .route("/static/local-time.js", get(local_time_js))
}

/// Sends `asset` in the smallest encoding the browser accepts, or `304`
/// when its copy is current.
pub(super) fn serve(
    headers: &HeaderMap,
    asset: &Asset,
    content_type: &'static str,
    cache: &'static str,
) -> Response {
    let common: [(HeaderName, HeaderValue); 7] = [
        (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
        (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        (header::ETAG, HeaderValue::from_static(asset.etag)),
        (header::VARY, HeaderValue::from_static("accept-encoding")),
        // Host pages on any origin load these; they hold nothing private.
        (
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        ),
        // A cross-origin isolated host page (`Cross-Origin-Embedder-Policy:
        // require-corp`, as pages using SharedArrayBuffer must be) loads
        // the loader's `<script>`, which asks for no CORS, only with this.
        (
            HeaderName::from_static("cross-origin-resource-policy"),
            HeaderValue::from_static("cross-origin"),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
    ];
    let revalidated = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| {
            tags.split(',')
                .any(|t| t.trim().trim_start_matches("W/") == asset.etag)
        });
    if revalidated {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    let encoding = Encoding::preferred(
        headers
            .get(header::ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok()),
    );
    let mut response = (common, asset.body(encoding)).into_response();
    if let Some(coding) = encoding.header() {
        response
            .headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static(coding));
    }
    response
}

async fn loader(headers: HeaderMap) -> Response {
    serve(
        &headers,
        &assets::LOADER_JS_SERVED,
        "application/javascript; charset=utf-8",
        LOADER_CACHE,
    )
}

async fn hashed(Path(name): Path<String>, headers: HeaderMap) -> Result<Response, ApiError> {
    let (asset, content_type) = if name == assets::APP_JS_NAME {
        (
            &assets::APP_JS_SERVED,
            "application/javascript; charset=utf-8",
        )
    } else if name == assets::WASM_NAME {
        (&assets::WASM_SERVED, "application/wasm")
    } else if name == assets::CSS_NAME {
        (&assets::CSS_SERVED, "text/css; charset=utf-8")
    } else {
        return Err(ApiError::NotFound);
    };
    Ok(serve(&headers, asset, content_type, HASHED_CACHE))
}

async fn page_css(headers: HeaderMap) -> Response {
    serve(
        &headers,
        &assets::PAGE_CSS_SERVED,
        "text/css; charset=utf-8",
        LOADER_CACHE,
    )
}

/// The status pages' one script: their times in the reader's own zone.
async fn local_time_js(headers: HeaderMap) -> Response {
    serve(
        &headers,
        &assets::LOCAL_TIME_JS_SERVED,
        "application/javascript; charset=utf-8",
        LOADER_CACHE,
    )
}
