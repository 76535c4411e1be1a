//! The staff REST API under `/api/v1`: what the console does, for tools,
//! behind API tokens. Handlers parse, call the same store actions and
//! domain rules as the console, and answer JSON.

mod actions;
mod entries;
mod export;
mod sites;
mod staff;

pub(crate) use export::{ExportParams, response as export_response};

use std::net::SocketAddr;

use axum::extract::rejection::QueryRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::routing::{get, post};
use axum::{Extension, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;

use super::{ApiError, AppState};
use crate::abuse::{ClientNet, Decision};
use crate::auth::{ApiToken, Scope};
use crate::review::filter::Cursor;
use crate::store::{Role, User};

/// Largest JSON body a staff call needs (a 10,000-character reply and a
/// promise, every character escaped).
const BODY_MAX_BYTES: usize = 128 * 1024;
/// A token records its use at most this often.
const TOUCH_EVERY_MS: i64 = 60_000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/entries", get(entries::list))
        .route("/api/v1/entries/export.csv", get(export::csv))
        .route("/api/v1/entries/export.ndjson", get(export::ndjson))
        .route("/api/v1/entries/{reference}", get(entries::detail))
        .route("/api/v1/entries/{reference}/status", post(actions::status))
        .route("/api/v1/entries/{reference}/assign", post(actions::assign))
        .route("/api/v1/entries/{reference}/notes", post(actions::note))
        .route("/api/v1/entries/{reference}/replies", post(actions::reply))
        .route(
            "/api/v1/entries/{reference}/promises/{promise}/settle",
            post(actions::settle),
        )
        .route("/api/v1/attachments/{id}", get(entries::attachment))
        .route("/api/v1/sites", get(sites::list))
        .route("/api/v1/staff", get(staff::list))
}

/// The colleague an API token acts for, and what the token may do.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: User,
    pub scope: Scope,
}

impl Caller {
    /// Refuses a read-only token where writing is needed.
    pub fn require(&self, needed: Scope) -> Result<(), ApiError> {
        if self.scope.allows(needed) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "this token is read-only; create one with scope write",
            ))
        }
    }

    pub fn is_admin(&self) -> bool {
        self.user.role == Role::Admin
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .cloned()
            .map(Extension);
        let net = ClientNet::of(super::client_ip(state, peer, &parts.headers));
        let failures = &state.auth.token_failures;
        let throttled = |decision: Decision| {
            decision.retry_after().map(|wait| ApiError::TokenThrottled {
                retry_after_secs: wait.as_secs().max(1),
            })
        };
        if let Some(refusal) = throttled(failures.peek_at(&net, std::time::Instant::now())) {
            return Err(refusal);
        }
        let raw = crate::http::bearer(&parts.headers).ok_or(ApiError::NoToken)?;
        let now = state.clock.now_millis();
        let holder = match ApiToken::parse(raw) {
            Some(token) => state.store.token_holder(token.digest(), now).await?,
            None => None,
        };
        let Some((user, token)) = holder else {
            // Counted only when it fails: a valid token never slows down.
            return Err(throttled(failures.check(&net)).unwrap_or(ApiError::BadToken));
        };
        if token
            .last_used_at
            .is_none_or(|at| now - at >= TOUCH_EVERY_MS)
        {
            state.store.touch_token(token.id, now).await?;
        }
        let scope = Scope::parse(&token.scope).unwrap_or(Scope::Read);
        Ok(Caller { user, scope })
    }
}

/// A caller whose token may write: refused with 403 before the body is
/// read, so a read token learns nothing from what it sent.
pub struct Writer(pub Caller);

impl FromRequestParts<AppState> for Writer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        caller.require(Scope::Write)?;
        Ok(Writer(caller))
    }
}

/// A JSON request body of a staff call, parsed with the same specific
/// errors as ingest.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &AppState) -> Result<Self, ApiError> {
        let (parts, body) = request.into_parts();
        super::ingest::require_json(&parts.headers)?;
        let too_large = ApiError::TooLarge {
            max_bytes: BODY_MAX_BYTES,
        };
        let bytes =
            super::ingest::read_body(&parts.headers, body, BODY_MAX_BYTES, too_large).await?;
        if let Some(field) = super::nul::in_json(&bytes) {
            return Err(ApiError::NulInBody { field });
        }
        super::ingest::parse_json(&bytes).map(JsonBody)
    }
}

/// Cursors are opaque to clients: the place to continue after, encoded so
/// nobody builds on its form. (`e1:` held only an entry id, which lost the
/// place when that entry was erased or moved.)
pub fn encode_cursor(after: Cursor) -> String {
    URL_SAFE_NO_PAD.encode(format!("e2:{after}"))
}

fn query_error(_: QueryRejection) -> ApiError {
    ApiError::Input(crate::review::input::bad(
        "query",
        "the query string could not be read; give each parameter once (several values of one filter as one, separated by commas: kind=complaint,idea)",
    ))
}

/// Longest unknown parameter name repeated back in an error.
const NAME_SHOWN_MAX: usize = 40;

/// A query string as a handler reads it (`query`, its known parameters),
/// after checking `raw`, the whole query string, for any other: one is
/// refused with its name and the ones that are read, so a misspelt filter
/// (`stauts=open`) is not quietly answered with every entry.
pub(super) fn read_query<T>(
    query: Result<axum::extract::Query<T>, QueryRejection>,
    raw: Option<&str>,
    names: &[&[&str]],
) -> Result<T, ApiError> {
    let axum::extract::Query(query) = query.map_err(query_error)?;
    only_parameters(raw, names)?;
    Ok(query)
}

/// Refuses the first parameter in `raw` that is not among `names`.
fn only_parameters(raw: Option<&str>, names: &[&[&str]]) -> Result<(), ApiError> {
    let pairs: Vec<(String, String)> =
        serde_html_form::from_str(raw.unwrap_or_default()).unwrap_or_default();
    let known = |name: &str| names.iter().any(|group| group.contains(&name));
    let Some((name, _)) = pairs.iter().find(|(name, _)| !known(name)) else {
        return Ok(());
    };
    let shown: String = name.chars().take(NAME_SHOWN_MAX).collect();
    let all: Vec<&str> = names
        .iter()
        .flat_map(|group| group.iter().copied())
        .collect();
    let read = if all.is_empty() {
        "this route reads none".to_owned()
    } else {
        format!("the parameters are {}", all.join(", "))
    };
    Err(ApiError::Input(crate::review::input::bad(
        "query",
        format!("unknown parameter {shown:?}; {read}"),
    )))
}

/// For a route that reads no query parameter: any is refused, as
/// [`read_query`] refuses one a route does not read.
pub struct NoQuery;

impl<S: Send + Sync> FromRequestParts<S> for NoQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        only_parameters(parts.uri.query(), &[]).map(|()| NoQuery)
    }
}

pub fn decode_cursor(raw: &str) -> Result<Cursor, ApiError> {
    URL_SAFE_NO_PAD
        .decode(raw)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| Cursor::parse(text.strip_prefix("e2:")?))
        .ok_or_else(|| {
            ApiError::Input(crate::review::input::InputError {
                field: "cursor",
                message: "this cursor was not given out by this API; start again without it".into(),
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_junk_is_refused() {
        let place = Cursor::parse("1700000000000.42").unwrap();
        assert_eq!(decode_cursor(&encode_cursor(place)).unwrap(), place);
        for junk in [
            "",
            "42",
            "e2:1.42",
            "!!",
            &URL_SAFE_NO_PAD.encode("e1:42"),
            &URL_SAFE_NO_PAD.encode("e2:42"),
            &URL_SAFE_NO_PAD.encode("e2:1.x"),
        ] {
            assert!(decode_cursor(junk).is_err(), "{junk}");
        }
    }
}
