//! Who is asking: the staff session behind a request, and forms that are
//! only accepted with that session's CSRF token from the console's origin.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::ConsoleError;
use super::address::{Reached, reached_elsewhere, wrong_address};
use crate::auth::{SessionId, constant_time_eq};
use crate::http::AppState;
use crate::store::{Role, User};

/// Bytes one character of a form field can take on the wire: four of
/// UTF-8, each percent-encoded as three.
pub const BYTES_PER_CHAR: usize = 12;
/// Room for the CSRF token, field names and small fields beside the text.
pub const FORM_OVERHEAD: usize = 1024;

/// A console form and the largest body it can legitimately need. Anything
/// larger is refused with 413 before it is read.
pub trait FormLimit {
    const MAX_BYTES: usize;
}

/// Reads a form body of at most `max` bytes; a declared length over it is
/// refused before a byte is read.
async fn form_bytes(headers: &HeaderMap, body: Body, max: usize) -> Result<Bytes, ConsoleError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(ConsoleError::TooLarge);
    }
    axum::body::to_bytes(body, max).await.map_err(|e| {
        let too_large = std::error::Error::source(&e)
            .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
        if too_large {
            ConsoleError::TooLarge
        } else {
            ConsoleError::Invalid("The form could not be read.".to_owned())
        }
    })
}
/// Sessions record activity at most this often, so reading pages does not
/// write to the database on every request.
const TOUCH_EVERY_MS: i64 = 60_000;

/// A signed-in colleague.
#[derive(Debug, Clone)]
pub struct Staff {
    pub user: User,
    pub csrf_token: String,
    session_hash: Vec<u8>,
    /// For an administrator: where the browser reached this page, when it
    /// is not the public URL the collector made up for itself (no
    /// `--public-url`). Status links, reply emails and embed snippets then
    /// point where browsers do not go.
    pub reached_elsewhere: Option<Reached>,
}

impl Staff {
    pub fn require_admin(&self) -> Result<(), ConsoleError> {
        if self.user.role == Role::Admin {
            Ok(())
        } else {
            Err(ConsoleError::Forbidden)
        }
    }

    pub fn session_hash(&self) -> &[u8] {
        &self.session_hash
    }
}

/// The value of the cookie called `name`, if the request has one.
pub fn named_cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The session cookie's value, if the request has one.
pub fn session_cookie(headers: &HeaderMap, name: &str) -> Option<SessionId> {
    named_cookie(headers, name).and_then(SessionId::parse)
}

/// Defence in depth beside the CSRF token: a browser that says the request
/// came from another site is refused outright.
pub fn check_same_origin(headers: &HeaderMap, public_url: &str) -> Result<(), ConsoleError> {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && !matches!(site, "same-origin" | "none")
    {
        return Err(ConsoleError::Csrf);
    }
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
        let same = origin == public_url
            || host.is_some_and(|h| {
                origin
                    .strip_prefix("http://")
                    .or_else(|| origin.strip_prefix("https://"))
                    == Some(h)
            });
        if !same {
            return Err(wrong_address(headers, origin, public_url).unwrap_or(ConsoleError::Csrf));
        }
    }
    Ok(())
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = ConsoleError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let needs_login = || ConsoleError::NeedsLogin {
            get: parts.method == Method::GET || parts.method == Method::HEAD,
            back_to: parts
                .uri
                .path_and_query()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_else(|| "/console".to_owned()),
        };
        let policy = state.auth.policy;
        let Some(id) = session_cookie(&parts.headers, policy.cookie_name()) else {
            return Err(needs_login());
        };
        let hash = id.digest();
        let Some(session) = state.store.session(hash.clone()).await? else {
            return Err(needs_login());
        };
        let now = state.clock.now_millis();
        if now - session.last_seen > policy.idle_ms()
            || now - session.created_at > policy.absolute_ms()
        {
            state.store.delete_session(hash).await?;
            return Err(needs_login());
        }
        if now - session.last_seen > TOUCH_EVERY_MS {
            state.store.touch_session(hash.clone(), now).await?;
        }
        let reached_elsewhere = (session.user.role == Role::Admin && !state.public_url_named)
            .then(|| reached_elsewhere(&parts.headers, &state.public_url))
            .flatten();
        Ok(Staff {
            user: session.user,
            csrf_token: session.csrf_token,
            session_hash: hash,
            reached_elsewhere,
        })
    }
}

#[derive(Deserialize)]
struct CsrfField {
    #[serde(rename = "_csrf", default)]
    token: String,
}

/// A state-changing form from a signed-in colleague: same origin, the
/// session's CSRF token, then the fields as `T`.
#[derive(Debug)]
pub struct StaffForm<T> {
    pub staff: Staff,
    pub form: T,
}

impl<T: DeserializeOwned + FormLimit> FromRequest<AppState> for StaffForm<T> {
    type Rejection = ConsoleError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let staff = Staff::from_request_parts(&mut parts, state).await?;
        check_same_origin(&parts.headers, &state.public_url)?;
        let bytes = form_bytes(&parts.headers, body, T::MAX_BYTES).await?;
        let csrf: CsrfField =
            serde_html_form::from_bytes(&bytes).map_err(|_| ConsoleError::Csrf)?;
        if !constant_time_eq(csrf.token.as_bytes(), staff.csrf_token.as_bytes()) {
            return Err(ConsoleError::Csrf);
        }
        let form = parse_form(&bytes)?;
        Ok(StaffForm { staff, form })
    }
}

/// A form posted without a session (sign-in, setup): same origin, within
/// its size, then the fields as `T`.
#[derive(Debug)]
pub struct PublicForm<T>(pub T);

impl<T: DeserializeOwned + FormLimit> FromRequest<AppState> for PublicForm<T> {
    type Rejection = ConsoleError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (parts, body) = request.into_parts();
        check_same_origin(&parts.headers, &state.public_url)?;
        let bytes = form_bytes(&parts.headers, body, T::MAX_BYTES).await?;
        parse_form(&bytes).map(PublicForm)
    }
}

/// A page's settings (filters, a link's token) from its address. One that
/// cannot be read (a setting given twice) is refused with the reason,
/// never taken as no setting at all: the page would show something other
/// than was asked.
#[derive(Debug)]
pub struct PageQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for PageQuery<T> {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ConsoleError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(query)) => Ok(PageQuery(query)),
            Err(_) => Err(ConsoleError::Invalid(
                "This address could not be read: give each setting in it once.".to_owned(),
            )),
        }
    }
}

/// A confirmation in the address (`?done=…`), only ever written by the
/// console's own redirects: one that cannot be read shows no notice, and
/// the page is shown as usual.
#[derive(Debug)]
pub struct NoticeQuery<T>(pub T);

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequestParts<S> for NoticeQuery<T> {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let query = Query::<T>::from_request_parts(parts, state).await;
        Ok(NoticeQuery(query.map(|Query(q)| q).unwrap_or_default()))
    }
}

/// Parses a url-encoded form, naming what was wrong.
fn parse_form<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ConsoleError> {
    if crate::http::nul::in_form(bytes) {
        return Err(ConsoleError::Invalid(
            "The form holds a NUL character (U+0000), which is not accepted: remove it and send the form again."
                .to_owned(),
        ));
    }
    serde_html_form::from_bytes(bytes)
        .map_err(|e| ConsoleError::Invalid(format!("The form could not be read: {e}.")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::console::address::tests::headers;
    use axum::http::HeaderValue;

    #[test]
    fn cross_site_requests_are_refused_and_same_origin_ones_pass() {
        let url = "https://feedback.example";
        assert!(check_same_origin(&headers(&[]), url).is_ok());
        assert!(check_same_origin(&headers(&[("sec-fetch-site", "same-origin")]), url).is_ok());
        assert!(
            check_same_origin(&headers(&[("origin", "https://feedback.example")]), url).is_ok()
        );
        assert!(
            check_same_origin(
                &headers(&[
                    ("origin", "http://10.0.0.5:8080"),
                    ("host", "10.0.0.5:8080")
                ]),
                url
            )
            .is_ok()
        );
        assert!(check_same_origin(&headers(&[("sec-fetch-site", "cross-site")]), url).is_err());
        assert!(check_same_origin(&headers(&[("sec-fetch-site", "same-site")]), url).is_err());
        assert!(check_same_origin(&headers(&[("origin", "https://evil.example")]), url).is_err());
    }

    #[test]
    fn a_form_the_browser_says_came_from_this_page_at_another_address_says_how_to_mend_it() {
        let url = "http://127.0.0.1:8080";
        let behind_proxy = headers(&[
            ("origin", "https://feedback.example"),
            ("host", "127.0.0.1:8080"),
            ("sec-fetch-site", "same-origin"),
        ]);
        match check_same_origin(&behind_proxy, url) {
            Err(ConsoleError::WrongAddress { reached, believed }) => {
                assert_eq!(
                    (reached.as_str(), believed.as_str()),
                    ("https://feedback.example", url)
                );
            }
            other => panic!("{other:?}"),
        }
        // Without the browser's word, or with its word against it, it is
        // what it looks like: a form from elsewhere.
        for fetch_site in [None, Some("cross-site"), Some("same-site")] {
            let mut sent = vec![
                ("origin", "https://feedback.example"),
                ("host", "127.0.0.1:8080"),
            ];
            sent.extend(fetch_site.map(|v| ("sec-fetch-site", v)));
            assert!(
                matches!(
                    check_same_origin(&headers(&sent), url),
                    Err(ConsoleError::Csrf)
                ),
                "{fetch_site:?}"
            );
        }
        let odd = headers(&[("origin", "null"), ("sec-fetch-site", "same-origin")]);
        assert!(matches!(
            check_same_origin(&odd, url),
            Err(ConsoleError::Csrf)
        ));
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let id = SessionId::generate();
        let mut map = HeaderMap::new();
        map.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("a=b; earshot_session={}; c=d", id.as_str())).unwrap(),
        );
        assert_eq!(session_cookie(&map, "earshot_session"), Some(id));
        assert_eq!(session_cookie(&map, "other"), None);
    }
}
