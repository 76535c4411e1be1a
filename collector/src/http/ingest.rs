//! `POST /api/v1/feedback`: the public ingest endpoint.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use std::net::{IpAddr, SocketAddr};

use axum::Extension;
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use earshot_protocol::{FeedbackAccepted, FeedbackRequest, Kind, Submission, limits};
use tracing::instrument;

use super::{ApiError, AppState};
use crate::abuse::{ClientNet, Decision};
use crate::store::{NewEntry, now_millis};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/feedback", post(submit).options(preflight))
        .layer(DefaultBodyLimit::max(limits::BODY_MAX_BYTES))
}

pub(super) fn origin(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::ORIGIN).and_then(|v| v.to_str().ok())
}

/// Adds CORS headers when `origin` belongs to a configured site, so the
/// widget can read our answer (errors included). Never with credentials.
pub(super) fn with_cors(mut response: Response, origin: Option<&str>, allowed: bool) -> Response {
    let headers = response.headers_mut();
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    if let (true, Some(origin)) = (allowed, origin)
        && let Ok(value) = HeaderValue::from_str(origin)
    {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        // The widget reads how long to wait after a 429.
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("retry-after"),
        );
    }
    response
}

pub(super) async fn cors_allowed(state: &AppState, origin: Option<&str>) -> Result<bool, ApiError> {
    match origin {
        Some(origin) => Ok(state.sites.any_allows(origin).await?),
        None => Ok(false),
    }
}

/// Answers the browser's preflight only for origins some site allows.
pub(super) async fn preflight(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let origin = origin(&headers);
    match cors_allowed(&state, origin).await {
        Ok(true) => {
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
            with_cors(response, origin, true)
        }
        Ok(false) => with_cors(ApiError::OriginNotAllowed.into_response(), origin, false),
        Err(e) => with_cors(e.into_response(), origin, false),
    }
}

async fn submit(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let client_ip = super::client_ip(&state, peer, &headers);
    let origin = origin(&headers);
    let allowed = match cors_allowed(&state, origin).await {
        Ok(allowed) => allowed,
        Err(e) => return with_cors(e.into_response(), origin, false),
    };
    let response = match ingest(&state, client_ip, &headers, origin, body).await {
        Ok((status, accepted)) => (status, Json(accepted)).into_response(),
        Err(e) => e.into_response(),
    };
    with_cors(response, origin, allowed)
}

#[instrument(skip_all, fields(site, kind, replayed))]
async fn ingest(
    state: &AppState,
    client_ip: IpAddr,
    headers: &HeaderMap,
    origin: Option<&str>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, FeedbackAccepted), ApiError> {
    // Before any parsing: a flood costs us as little as possible.
    if let Some(limiter) = &state.shield.per_ip {
        limit(limiter.check(&ClientNet::of(client_ip)))?;
    }
    require_json(headers)?;
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge
        } else {
            ApiError::BadBody
        }
    })?;
    let request = parse_body(&body)?;
    let submission = Submission::parse(&request)?;
    let span = tracing::Span::current();
    span.record("site", submission.site.as_str());
    span.record("kind", submission.kind.as_str());

    let site = state
        .sites
        .by_key(submission.site.as_str())
        .await?
        .ok_or(ApiError::UnknownSite)?;
    // Browsers always send Origin on this cross-origin POST; server-side
    // integrations send none and are not subject to the browser policy.
    if let Some(origin) = origin
        && !site.allows(origin)
    {
        return Err(ApiError::OriginNotAllowed);
    }
    if let Some(limiter) = &state.shield.per_site {
        limit(limiter.check(&site.id))?;
    }
    let spam = state.shield.spam.judge(&submission.bot_signals);
    let response_promise = site.response_promise.clone();
    let now = now_millis();
    let inserted = state
        .store
        .insert_entry(NewEntry {
            site_id: site.id,
            submission,
            ip_hash: Some(state.shield.ip_hasher.hash(client_ip, now)),
            spam,
        })
        .await?;
    span.record("replayed", inserted.replayed);
    let status = if inserted.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let status_url = format!("{}{}", state.public_url, inserted.status_path());
    Ok((
        status,
        FeedbackAccepted {
            id: inserted.public_id,
            reference: inserted.reference,
            status_url,
            response_promise,
        },
    ))
}

pub(super) fn limit(decision: Decision) -> Result<(), ApiError> {
    match decision {
        Decision::Allowed => Ok(()),
        Decision::Limited { retry_after } => Err(ApiError::RateLimited {
            // Round up: retrying a fraction early would be refused again.
            retry_after_secs: retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0),
        }),
    }
}

fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    if essence.eq_ignore_ascii_case("application/json") {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType)
    }
}

/// Parses the body into the wire type, turning serde's errors into specific
/// codes and fields without echoing the customer's input back.
pub fn parse_body(body: &[u8]) -> Result<FeedbackRequest, ApiError> {
    // Fast path: plain serde. Only a failure pays for the second, path-tracking
    // parse that names the offending field.
    if let Ok(request) = serde_json::from_slice::<FeedbackRequest>(body) {
        return Ok(request);
    }
    // Not JSON at all (say, trailing garbage): malformed, whatever the shape.
    if serde_json::from_slice::<serde::de::IgnoredAny>(body).is_err() {
        return Err(ApiError::MalformedJson);
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    match serde_path_to_error::deserialize::<_, FeedbackRequest>(&mut de) {
        Err(e) => Err(shape_error(e)),
        // Unreachable in practice: the fast path accepted nothing, yet this did.
        Ok(_) => Err(ApiError::MalformedJson),
    }
}

fn shape_error(err: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = err.path().to_string();
    let inner = err.into_inner();
    if inner.classify() != serde_json::error::Category::Data {
        return ApiError::MalformedJson;
    }
    let detail = inner.to_string();
    let quoted = detail
        .split('`')
        .nth(1)
        .map(|name| name.chars().take(64).collect::<String>());
    let join = |name: &str| {
        if path == "." || path.is_empty() {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        }
    };
    // A path starting at an index means the body itself was an array.
    let field = (path != "." && !path.is_empty() && !path.starts_with('[')).then(|| path.clone());
    if detail.starts_with("unknown field") {
        // The path already ends in the unknown field's name.
        let name = field
            .clone()
            .unwrap_or_else(|| join(quoted.as_deref().unwrap_or("?")));
        return ApiError::Shape {
            code: "unknown_field",
            message: format!("unknown field {name}"),
            field: Some(name),
        };
    }
    if detail.starts_with("missing field") {
        let name = join(quoted.as_deref().unwrap_or("?"));
        return ApiError::Shape {
            code: "required",
            message: format!("{name} is required"),
            field: Some(name),
        };
    }
    if detail.starts_with("unknown variant") && path == "kind" {
        let kinds: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
        return ApiError::Shape {
            code: "unknown_kind",
            message: format!("kind must be one of: {}", kinds.join(", ")),
            field,
        };
    }
    ApiError::Shape {
        code: "invalid_type",
        message: match &field {
            Some(f) => format!("{f} has the wrong type"),
            None => "the body must be a JSON object".to_owned(),
        },
        field,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(body: &str) -> (&'static str, Option<String>) {
        match parse_body(body.as_bytes()) {
            Err(ApiError::Shape { code, field, .. }) => (code, field),
            other => panic!("expected a shape error, got {other:?}"),
        }
    }

    #[test]
    fn serde_errors_become_specific_codes_and_fields() {
        assert_eq!(
            shape(r#"{"site":"s","kind":"rant","message":"m"}"#),
            ("unknown_kind", Some("kind".into()))
        );
        assert_eq!(
            shape(r#"{"site":"s","kind":"idea","message":"m","page":{"url":"x","colour":1}}"#),
            ("unknown_field", Some("page.colour".into()))
        );
        assert_eq!(
            shape(r#"{"kind":"idea","message":"m"}"#),
            ("required", Some("site".into()))
        );
        assert_eq!(
            shape(r#"{"site":"s","kind":"idea","message":42}"#),
            ("invalid_type", Some("message".into()))
        );
        assert_eq!(shape("[1,2]"), ("invalid_type", None));
        assert_eq!(shape("42"), ("invalid_type", None));
    }

    #[test]
    fn syntax_errors_and_trailing_garbage_are_malformed() {
        for body in [
            "{",
            "",
            "{\"site\":\"s\",}",
            "{\"site\":\"s\",\"kind\":\"idea\",\"message\":\"m\"} x",
            "\u{FEFF}{}",
        ] {
            assert!(
                matches!(parse_body(body.as_bytes()), Err(ApiError::MalformedJson)),
                "{body:?}"
            );
        }
        assert!(matches!(
            parse_body(&[0xff, 0xfe]),
            Err(ApiError::MalformedJson)
        ));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3_000))]

        #[test]
        fn arbitrary_bytes_never_panic(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            let _ = parse_body(&body);
        }

        #[test]
        fn json_like_bodies_get_a_client_error_or_parse(body in r#"\{("(site|kind|message|page|url|x)": ?("[a-z<>]{0,6}"|[0-9]{1,3}|null|\{\}|\[\]|true),? ?){0,5}\}"#) {
            match parse_body(body.as_bytes()) {
                Ok(_) | Err(ApiError::MalformedJson) | Err(ApiError::Shape { .. }) => {}
                Err(other) => proptest::prop_assert!(false, "unexpected {:?}", other),
            }
        }
    }
}
