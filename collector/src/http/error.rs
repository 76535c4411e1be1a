//! The API's one error type. Client errors carry a specific code, message
//! and field; server errors are logged in full and answered generically.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use earshot_protocol::{ErrorBody, ErrorResponse, ValidationError};

use crate::store::{Refusal, ReviewError, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("content type must be application/json")]
    UnsupportedMediaType,
    #[error("body too large")]
    PayloadTooLarge,
    #[error("body could not be read")]
    BadBody,
    #[error("request headers too large")]
    HeadersTooLarge,
    #[error("request timed out")]
    TimedOut,
    #[error("malformed JSON")]
    MalformedJson,
    /// Well-formed JSON of the wrong shape.
    #[error("{code}: {message}")]
    Shape {
        code: &'static str,
        message: String,
        field: Option<String>,
    },
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("unknown site")]
    UnknownSite,
    #[error("origin not allowed")]
    OriginNotAllowed,
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("rate limited")]
    RateLimited { retry_after_secs: u64 },
    #[error("attachment too large")]
    AttachmentTooLarge,
    #[error("not a supported image")]
    UnsupportedImage,
    /// More pixels than a browser should be asked to decode.
    #[error("image of {width}x{height} pixels")]
    ImageTooLarge { width: u32, height: u32 },
    #[error("too many attachments")]
    TooManyAttachments,
    /// No `Authorization: Bearer …` at all.
    #[error("no credentials")]
    NoCredentials,
    /// No entry with this id, or the secret does not match it.
    #[error("unknown entry")]
    UnknownEntry,
    /// A staff API body over its limit.
    #[error("body over {max_bytes} bytes")]
    TooLarge { max_bytes: usize },
    /// A staff API call without `Authorization: Bearer esk_…`.
    #[error("no API token")]
    NoToken,
    /// A token that is malformed, unknown, revoked or expired.
    #[error("invalid API token")]
    BadToken,
    /// Too many bad tokens from this client network.
    #[error("too many failed token attempts")]
    TokenThrottled { retry_after_secs: u64 },
    /// The token's scope or its owner's role does not allow this.
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// Input staff can correct, naming the field.
    #[error(transparent)]
    Input(#[from] crate::review::input::InputError),
    /// A review action the rules refuse.
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// `%00` in the path or query string.
    #[error("a NUL character in the address")]
    NulInAddress,
    /// A NUL character in a staff API body's `field`.
    #[error("a NUL character in {field}")]
    NulInBody { field: String },
    /// A handler panicked (a defect); the panic hook logged where.
    #[error("a request handler panicked")]
    Panicked,
}

impl From<ReviewError> for ApiError {
    fn from(e: ReviewError) -> Self {
        match e {
            ReviewError::Refused(r) => ApiError::Refused(r),
            ReviewError::Store(s) => ApiError::Store(s),
        }
    }
}

impl ApiError {
    /// The machine-readable code clients are given.
    pub fn code(&self) -> &'static str {
        self.parts().1
    }

    /// The status it is answered with.
    pub fn status(&self) -> StatusCode {
        self.parts().0
    }

    /// When to try again, for `Retry-After`.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            ApiError::RateLimited { retry_after_secs }
            | ApiError::TokenThrottled { retry_after_secs } => Some(*retry_after_secs),
            // Repeated with its idempotency key, a write that was made is
            // answered with what was stored.
            ApiError::Store(StoreError::NotDurable) => Some(5),
            ApiError::Store(e) => e.retry_after_secs(),
            _ => None,
        }
    }

    fn parts(&self) -> (StatusCode, &'static str, String, Option<String>) {
        use ApiError::*;
        match self {
            UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Content-Type must be application/json".into(),
                None,
            ),
            PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!(
                    "the request body must be at most {} bytes",
                    earshot_protocol::limits::BODY_MAX_BYTES
                ),
                None,
            ),
            BadBody => (
                StatusCode::BAD_REQUEST,
                "bad_body",
                "the request body could not be read".into(),
                None,
            ),
            Panicked => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "an internal error occurred; retry shortly".into(),
                None,
            ),
            TimedOut => (
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                "the request took too long to arrive; send it again".into(),
                None,
            ),
            HeadersTooLarge => (
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "headers_too_large",
                format!(
                    "send at most {} request headers of at most {} bytes together",
                    super::edge::MAX_HEADERS,
                    super::edge::MAX_HEADER_BYTES
                ),
                None,
            ),
            MalformedJson => (
                StatusCode::BAD_REQUEST,
                "malformed_json",
                "the request body is not valid UTF-8 JSON".into(),
                None,
            ),
            Shape {
                code,
                message,
                field,
            } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                code,
                message.clone(),
                field.clone(),
            ),
            Invalid(e) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                e.code(),
                e.message(),
                Some(e.field.as_str().to_owned()),
            ),
            NulInAddress => (
                StatusCode::BAD_REQUEST,
                "invalid_address",
                "the address holds a NUL character (%00), which no path or parameter takes".into(),
                None,
            ),
            NulInBody { field } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_format",
                format!("{field} holds a NUL character (U+0000), which is not accepted"),
                Some(field.clone()),
            ),
            UnknownSite => (
                StatusCode::FORBIDDEN,
                "unknown_site",
                "no site has this key".into(),
                Some("site".into()),
            ),
            OriginNotAllowed => (
                StatusCode::FORBIDDEN,
                "origin_not_allowed",
                "this site does not accept feedback from this origin".into(),
                None,
            ),
            AttachmentTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "attachment_too_large",
                format!(
                    "an attachment must be at most {} bytes",
                    earshot_protocol::limits::ATTACHMENT_MAX_BYTES
                ),
                None,
            ),
            UnsupportedImage => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_image",
                "attach a PNG, JPEG, WebP or GIF image, sent with its own Content-Type".into(),
                None,
            ),
            ImageTooLarge { width, height } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "image_too_large",
                format!(
                    "the image is {width}×{height} pixels; at most {} megapixels are accepted",
                    earshot_protocol::image::MAX_PIXELS / 1_000_000
                ),
                None,
            ),
            TooManyAttachments => (
                StatusCode::CONFLICT,
                "too_many_attachments",
                format!(
                    "an entry can have at most {} attachments",
                    earshot_protocol::limits::ATTACHMENTS_PER_ENTRY
                ),
                None,
            ),
            NoCredentials => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "send the entry's status secret as Authorization: Bearer <secret>".into(),
                None,
            ),
            UnknownEntry => (
                StatusCode::NOT_FOUND,
                "unknown_entry",
                "no entry matches this id and secret".into(),
                None,
            ),
            NotFound => (
                StatusCode::NOT_FOUND,
                "not_found",
                "no such resource".into(),
                None,
            ),
            MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this method is not allowed here".into(),
                None,
            ),
            RateLimited { retry_after_secs } => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("too many submissions; retry in {retry_after_secs} seconds"),
                None,
            ),
            TooLarge { max_bytes } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("the request body must be at most {max_bytes} bytes"),
                None,
            ),
            NoToken => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "send an API token as Authorization: Bearer esk_…".into(),
                None,
            ),
            BadToken => (
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "the API token is unknown, revoked or expired".into(),
                None,
            ),
            TokenThrottled { retry_after_secs } => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("too many failed token attempts; retry in {retry_after_secs} seconds"),
                None,
            ),
            Forbidden(why) => (StatusCode::FORBIDDEN, "forbidden", (*why).into(), None),
            Input(e) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                e.message.clone(),
                Some(e.field.to_owned()),
            ),
            Refused(Refusal::NoEntry) => (
                StatusCode::NOT_FOUND,
                "unknown_entry",
                "no entry has this reference".into(),
                None,
            ),
            Refused(Refusal::NoPromise) => (
                StatusCode::NOT_FOUND,
                "unknown_promise",
                "this entry has no promise with this id".into(),
                None,
            ),
            Refused(Refusal::NoUser) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown_colleague",
                "no active colleague has this id or email (a disabled account takes no new work)".into(),
                Some("assignee".into()),
            ),
            Refused(Refusal::AlreadySettled) => (
                StatusCode::CONFLICT,
                "already_settled",
                "this promise is already settled".into(),
                None,
            ),
            Refused(Refusal::Reassigned) => (
                StatusCode::CONFLICT,
                "changed",
                Refusal::Reassigned.to_string(),
                Some("assignee".into()),
            ),
            Refused(Refusal::Workflow(e)) => (
                StatusCode::CONFLICT,
                match e {
                    crate::review::workflow::WorkflowError::Unchanged(_) => "unchanged",
                    crate::review::workflow::WorkflowError::NotAllowed { .. } => {
                        "status_not_allowed"
                    }
                    crate::review::workflow::WorkflowError::Changed { .. } => "changed",
                },
                e.to_string(),
                Some("status".into()),
            ),
            Store(StoreError::Closed) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the server is shutting down; retry shortly".into(),
                None,
            ),
            // Committed: a retry with the same `idempotency_key` (as the
            // widget sends) is answered with what was stored; anything
            // else sent again would be done twice.
            Store(StoreError::NotDurable) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "this was stored but could not be confirmed; send it again with the same idempotency_key, or check before sending it again"
                    .into(),
                None,
            ),
            Store(StoreError::Unavailable) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the database cannot be reached; retry shortly".into(),
                None,
            ),
            // Not "disk full": how the server is kept is not the public's
            // business; the log says it plainly.
            Store(StoreError::Full) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the server cannot store anything right now; nothing was stored; retry later"
                    .into(),
                None,
            ),
            Store(StoreError::Unstorable) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_format",
                "a value holds a NUL character (U+0000), which is not accepted; nothing was stored"
                    .into(),
                None,
            ),
            Store(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "an internal error occurred; nothing was stored".into(),
                None,
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message, field) = self.parts();
        if status.is_server_error() {
            // The detail stays in the log; the client learns only the code.
            tracing::error!(error = %self, "request failed");
        }
        let body = ErrorResponse {
            error: ErrorBody {
                code: code.to_owned(),
                message,
                field,
            },
        };
        let mut response = (status, Json(body)).into_response();
        let retry_after = self.retry_after_secs();
        let challenge = match self {
            ApiError::NoCredentials | ApiError::NoToken => Some("Bearer"),
            ApiError::BadToken => Some("Bearer error=\"invalid_token\""),
            _ => None,
        };
        if let Some(challenge) = challenge {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn answer(error: ApiError) -> (StatusCode, Option<String>, String) {
        let response = error.into_response();
        let status = response.status();
        let retry = response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, retry, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn a_write_that_could_not_be_synced_asks_for_a_safe_retry_without_details() {
        let (status, retry, body) = answer(ApiError::Store(StoreError::NotDurable)).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(retry.as_deref(), Some("5"));
        assert!(body.contains(r#""code":"unavailable""#), "{body}");
        assert!(
            body.contains("same idempotency_key, or check before sending it again"),
            "a plain retry could do it twice: {body}"
        );
        assert!(!body.contains("disk"), "internal detail leaked: {body}");
    }

    #[tokio::test]
    async fn a_full_disk_asks_for_a_later_retry_without_saying_why() {
        let (status, retry, body) = answer(ApiError::Store(StoreError::Full)).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(retry.as_deref(), Some("60"));
        assert!(body.contains(r#""code":"unavailable""#), "{body}");
        assert!(!body.contains("disk"), "internal detail leaked: {body}");
    }

    #[tokio::test]
    async fn other_store_failures_are_500_and_never_echo_the_cause() {
        let (status, retry, body) =
            answer(ApiError::Store(StoreError::Corrupt("secret detail".into()))).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(retry, None);
        assert!(!body.contains("secret detail"), "{body}");
    }
}
