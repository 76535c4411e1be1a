//! `POST /api/v1/feedback`: the public ingest endpoint.

use std::net::{IpAddr, SocketAddr};

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Json, Router};
use earshot_protocol::{FeedbackAccepted, FeedbackRequest, Kind, Severity, Submission, limits};
use tracing::instrument;

use super::{ApiError, AppState};
use crate::abuse::{ClientNet, Decision};
use crate::metrics::Outcome;
use crate::store::{NewEntry, StoreError};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/feedback", post(submit))
}

async fn submit(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let client_ip = super::client_ip(&state, peer, &headers);
    match ingest(&state, client_ip, &headers, body).await {
        Ok((status, accepted, outcome)) => {
            state.metrics.submission(outcome);
            (status, Json(accepted)).into_response()
        }
        Err(e) => {
            state.metrics.submission(Outcome::Rejected(e.code()));
            e.into_response()
        }
    }
}

/// The browser's `Origin`, when it sent one.
pub(super) fn origin(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::ORIGIN).and_then(|v| v.to_str().ok())
}

/// Reads a body of at most `max` bytes. A declared length over it is
/// refused at once, before a byte is read (no `100 Continue`, no wait).
pub(super) async fn read_body(
    headers: &HeaderMap,
    body: Body,
    max: usize,
    too_large: ApiError,
) -> Result<Bytes, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(too_large);
    }
    axum::body::to_bytes(body, max).await.map_err(|e| {
        let over = std::error::Error::source(&e)
            .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
        if over { too_large } else { ApiError::BadBody }
    })
}

/// An `Origin` header as logs show it: bounded as the Sites page keeps it,
/// whatever a client sends.
fn shown_origin(origin: &str) -> String {
    origin
        .chars()
        .take(crate::store::refusals::ORIGIN_MAX)
        .collect()
}

#[instrument(skip_all, fields(site, kind, replayed))]
async fn ingest(
    state: &AppState,
    client_ip: IpAddr,
    headers: &HeaderMap,
    body: Body,
) -> Result<(StatusCode, FeedbackAccepted, Outcome), ApiError> {
    // Before reading the body: a flood costs us as little as possible.
    if let Some(limiter) = &state.shield.per_ip {
        limit(limiter.check(&ClientNet::of(client_ip)))?;
    }
    require_json(headers)?;
    let body = read_body(
        headers,
        body,
        limits::BODY_MAX_BYTES,
        ApiError::PayloadTooLarge,
    )
    .await?;
    let origin = origin(headers);
    let request = parse_body(&body)?;
    let mut submission = Submission::parse(&request)?;
    // What the database must never hold: a token in the page's address, a
    // card number in the customer's words.
    submission.page = submission.page.without_secrets();
    submission.body = submission.body.without_card_numbers();
    // A severity only where the widget asks for one, so praise is never
    // "blocking" and never pages staff. Dropped, not refused: a customer
    // who chose one and then switched to praise sends it along, and that
    // submission may wait in an outbox. (Here, not in `Submission::parse`,
    // which the widget runs too: 11 bytes of code there cost 89 brotli.)
    submission.severity = submission
        .severity
        .filter(|_| submission.kind.takes_severity());
    let span = tracing::Span::current();
    span.record("site", submission.site.as_str());
    span.record("kind", submission.kind.as_str());

    let Some(site) = state.sites.by_key(submission.site.as_str()).await? else {
        // As for a refused origin: the owner's to fix, so counted for the
        // Sites page and logged (key and origin, never the words).
        let key = submission.site.as_str();
        state
            .sites
            .note_unknown(key, origin, state.clock.now_millis());
        let shown = origin.map_or_else(|| "none".to_owned(), shown_origin);
        tracing::info!(site_key = %key, origin = %shown, "refused feedback naming a site key no site has");
        return Err(ApiError::UnknownSite);
    };
    // Browsers always send Origin on this cross-origin POST; server-side
    // integrations send none and are not subject to the browser policy.
    if let Some(origin) = origin
        && !site.allows(origin)
    {
        // Usually a misconfiguration the site's owner needs to see: counted
        // for the Sites page and logged (the origin, never the words).
        state
            .sites
            .note_rejected(site.id, origin, state.clock.now_millis());
        let shown = shown_origin(origin);
        tracing::info!(site = %site.key, origin = %shown, "refused feedback from an origin the site does not allow");
        return Err(ApiError::OriginNotAllowed);
    }
    if let Some(limiter) = &state.shield.per_site {
        limit(limiter.check(&site.id))?;
    }
    let spam = state.shield.spam.judge(&submission.bot_signals);
    let outcome = if spam.is_some() {
        Outcome::Spam
    } else {
        Outcome::Stored
    };
    let response_promise = site.response_promise.clone();
    let now = state.clock.now_millis();
    let inserted = state
        .store
        .insert_entry(NewEntry {
            site_id: site.id,
            submission,
            ip_hash: Some(state.shield.ip_hasher.hash(client_ip, now)),
            spam,
            received_at: now,
        })
        .await
        .map_err(|e| match e {
            // Removed since the directory last looked (from the command
            // line, or on another collector): as unknown as it now is.
            StoreError::MissingReference => {
                state.sites.invalidate();
                ApiError::UnknownSite
            }
            e => e.into(),
        })?;
    span.record("replayed", inserted.replayed);
    let (status, outcome) = if inserted.replayed {
        (StatusCode::OK, Outcome::Duplicate)
    } else {
        (StatusCode::CREATED, outcome)
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
        outcome,
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

pub(super) fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
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
    parse_json(body)
}

/// Parses a JSON body into `T`, naming the offending field on failure.
pub(super) fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    // Fast path: plain serde. Only a failure pays for the second, path-tracking
    // parse that names the offending field.
    if let Ok(request) = serde_json::from_slice::<T>(body) {
        return Ok(request);
    }
    // Not JSON at all (say, trailing garbage): malformed, whatever the shape.
    if serde_json::from_slice::<serde::de::IgnoredAny>(body).is_err() {
        return Err(ApiError::MalformedJson);
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Err(e) => Err(shape_error(e)),
        // Unreachable in practice: the fast path accepted nothing, yet this did.
        Ok(_) => Err(ApiError::MalformedJson),
    }
}

fn shape_error(err: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = err.path().to_string();
    // The body is known to be well-formed JSON here, so even serde_json's
    // "syntax" errors describe its shape: a number or `true` where an enum
    // such as `kind` wants a string is reported as "expected value".
    let detail = err.into_inner().to_string();
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
    if detail.starts_with("duplicate field") {
        let name = join(quoted.as_deref().unwrap_or("?"));
        return ApiError::Shape {
            code: "duplicate_field",
            message: format!("{name} appears more than once"),
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
    // The allowed values come from the protocol, not from serde's message,
    // which quotes the customer's value.
    if detail.starts_with("unknown variant") {
        let allowed: Option<(&'static str, Vec<&str>)> = match path.as_str() {
            "kind" => Some((
                "unknown_kind",
                Kind::ALL.iter().map(|k| k.as_str()).collect(),
            )),
            "severity" => Some((
                "unknown_severity",
                Severity::ALL.iter().map(|s| s.as_str()).collect(),
            )),
            _ => None,
        };
        if let Some((code, values)) = allowed {
            return ApiError::Shape {
                code,
                message: format!("{path} must be one of: {}", values.join(", ")),
                field,
            };
        }
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
            shape(r#"{"site":"s","kind":"complaint","message":"m","severity":"Blocking"}"#),
            ("unknown_severity", Some("severity".into()))
        );
        assert_eq!(
            shape(r#"{"site":"s","kind":"complaint","message":"m","severity":3}"#),
            ("invalid_type", Some("severity".into()))
        );
        assert_eq!(
            shape(r#"{"site":"s","kind":0,"message":"m"}"#),
            ("invalid_type", Some("kind".into()))
        );
        assert_eq!(
            shape(r#"{"site":"s","kind":"complaint","message":"m","severity":true}"#),
            ("invalid_type", Some("severity".into()))
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
        assert_eq!(
            shape(r#"["site_abc","idea","positional"]"#),
            ("invalid_type", None)
        );
        assert_eq!(
            shape(r#"{"site":"s","kind":"idea","message":"m","page":["https://a.example"]}"#),
            ("invalid_type", Some("page".into()))
        );
        assert_eq!(
            shape(r#"{"site":"s","kind":"idea","message":"m","message":"again"}"#),
            ("duplicate_field", Some("message".into()))
        );
        assert_eq!(
            shape(r#"{"site":"s","kind":"idea","message":"m","page":{"url":"a","url":"b"}}"#),
            ("duplicate_field", Some("page.url".into()))
        );
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
