//! Serves the widget: the loader at a stable URL with a short cache, and
//! the content-hashed app, module and stylesheet cached for a year.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::compression::CompressionLayer;

use super::{ApiError, AppState};
use crate::assets;

/// The loader's URL never changes, so keep its cache short: a deploy
/// reaches visitors within minutes.
const LOADER_CACHE: &str = "public, max-age=300";
const HASHED_CACHE: &str = "public, max-age=31536000, immutable";
const PAGE_CSS: &str = include_str!("../../static/page.css");

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/widget.js", get(loader))
        .route("/widget/{name}", get(hashed))
        .route("/static/page.css", get(page_css))
        .layer(CompressionLayer::new())
}

fn asset(body: impl IntoResponse, content_type: &'static str, cache: &'static str) -> Response {
    let headers: [(HeaderName, HeaderValue); 4] = [
        (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
        (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        // Host pages on any origin load these; they hold nothing private.
        (
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
    ];
    (headers, body).into_response()
}

async fn loader() -> Response {
    asset(
        assets::LOADER_JS,
        "application/javascript; charset=utf-8",
        LOADER_CACHE,
    )
}

async fn hashed(Path(name): Path<String>) -> Result<Response, ApiError> {
    let response = if name == assets::APP_JS_NAME {
        asset(
            assets::APP_JS,
            "application/javascript; charset=utf-8",
            HASHED_CACHE,
        )
    } else if name == assets::WASM_NAME {
        asset(assets::WASM, "application/wasm", HASHED_CACHE)
    } else if name == assets::CSS_NAME {
        asset(assets::CSS, "text/css; charset=utf-8", HASHED_CACHE)
    } else {
        return Err(ApiError::NotFound);
    };
    Ok(response)
}

async fn page_css() -> Response {
    asset(PAGE_CSS, "text/css; charset=utf-8", LOADER_CACHE)
}
