//! `POST /api/v1/feedback/{id}/attachments`: an image for an entry, sent by
//! the widget right after the entry was accepted. The entry's status secret
//! (from its status link) is the credential, so only whoever submitted the
//! entry can attach to it.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderName, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Json, Router};
use earshot_protocol::{ImageType, limits};
use serde::Serialize;
use tracing::instrument;

use super::ingest::{limit, origin, read_body};
use super::{ApiError, AppState};
use crate::abuse::ClientNet;
use crate::store::Attached;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/feedback/{id}/attachments", post(upload))
}

#[derive(Serialize)]
struct AttachmentAccepted {
    id: String,
    size: usize,
}

async fn upload(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let client_ip = super::client_ip(&state, peer, &headers);
    match store_upload(&state, client_ip, &headers, id, body).await {
        Ok(accepted) => (StatusCode::CREATED, Json(accepted)).into_response(),
        Err(e) => e.into_response(),
    }
}

#[instrument(skip_all, fields(size))]
async fn store_upload(
    state: &AppState,
    client_ip: std::net::IpAddr,
    headers: &HeaderMap,
    id: String,
    body: Body,
) -> Result<AttachmentAccepted, ApiError> {
    if let Some(limiter) = &state.shield.per_ip {
        limit(limiter.check(&ClientNet::of(client_ip)))?;
    }
    let secret = super::bearer(headers)
        .ok_or(ApiError::NoCredentials)?
        .to_owned();
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(ImageType::from_mime)
        .ok_or(ApiError::UnsupportedImage)?;
    let body = read_body(
        headers,
        body,
        limits::ATTACHMENT_MAX_BYTES,
        ApiError::AttachmentTooLarge,
    )
    .await?;
    tracing::Span::current().record("size", body.len());
    // The bytes must be what the header says: a file renamed to .png is
    // refused, and nothing but these four formats is ever served to staff.
    if ImageType::sniff(&body) != Some(declared) {
        return Err(ApiError::UnsupportedImage);
    }
    // Its header must be readable, and declare no more pixels than a
    // staff member's browser should decode.
    let dimensions = declared
        .dimensions(&body)
        .ok_or(ApiError::UnsupportedImage)?;
    if !dimensions.is_displayable() {
        return Err(ApiError::ImageTooLarge {
            width: dimensions.width,
            height: dimensions.height,
        });
    }
    let site_id = state
        .store
        .entry_site(id.clone(), secret.clone())
        .await?
        .ok_or(ApiError::UnknownEntry)?;
    if let Some(origin) = origin(headers) {
        let site = state.sites.by_id(site_id).await?;
        if !site.is_some_and(|s| s.allows(origin)) {
            return Err(ApiError::OriginNotAllowed);
        }
    }
    let size = body.len();
    match state
        .store
        .attach(
            id,
            secret,
            declared,
            dimensions,
            body.to_vec(),
            state.clock.now_millis(),
        )
        .await?
    {
        Attached::Stored { public_id } => Ok(AttachmentAccepted {
            id: public_id,
            size,
        }),
        Attached::UnknownEntry => Err(ApiError::UnknownEntry),
        Attached::TooMany => Err(ApiError::TooManyAttachments),
    }
}

/// How an attachment is served: never sniffed, never run as a document
/// (a polyglot PNG that is also HTML or SVG stays an image), never framed.
const ATTACHMENT_CSP: &str = "default-src 'none'; img-src 'self'; sandbox";

/// An attached image as staff fetch it (console or API). It was checked to
/// be a PNG, JPEG, WebP or GIF of a sane size when stored.
pub(crate) fn serve(id: &str, content_type: String, bytes: Vec<u8>, download: bool) -> Response {
    let extension = ImageType::from_mime(&content_type).map_or("bin", ImageType::extension);
    let disposition = if download { "attachment" } else { "inline" };
    // The id is ours (`att_` and base32), safe inside the quotes.
    let disposition = format!("{disposition}; filename=\"{id}.{extension}\"");
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CONTENT_SECURITY_POLICY, ATTACHMENT_CSP.to_owned()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            (
                HeaderName::from_static("cross-origin-resource-policy"),
                "same-origin".to_owned(),
            ),
        ],
        bytes,
    )
        .into_response()
}
