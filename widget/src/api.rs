//! Talking to the collector with the browser's own `fetch`.

use earshot_protocol::{ErrorBody, FeedbackAccepted, FeedbackRequest};

use crate::json::{self, FromJson, Json, ToJson};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, Request, RequestInit, RequestMode, Response};

/// Why a submission was not confirmed.
#[derive(Debug, Clone, PartialEq)]
pub enum SubmitError {
    /// The collector refused the content (4xx with an error body).
    Rejected(ErrorBody),
    /// 429: too many submissions; the server's `Retry-After`, if readable.
    RateLimited { retry_after_secs: Option<u32> },
    /// Network down, collector down, 5xx or an unreadable answer: nothing is
    /// known to be stored, so the draft must be kept.
    Unreachable,
}

impl From<JsValue> for SubmitError {
    fn from(_: JsValue) -> Self {
        SubmitError::Unreachable
    }
}

/// POSTs `req` and returns the collector's confirmation.
pub async fn submit(url: &str, req: &FeedbackRequest) -> Result<FeedbackAccepted, SubmitError> {
    let body = json::stringify(&req.to_json()).ok_or(SubmitError::Unreachable)?;
    let headers = Headers::new()?;
    headers.set("content-type", "application/json")?;
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_mode(RequestMode::Cors);
    init.set_headers(&headers);
    init.set_body(&JsValue::from_str(&body));
    let request = Request::new_with_str_and_init(url, &init)?;
    let window = web_sys::window().ok_or(SubmitError::Unreachable)?;
    let response: Response = JsFuture::from(window.fetch_with_request(&request))
        .await?
        .dyn_into()?;
    let status = response.status();
    let retry_after = response.headers().get("retry-after").ok().flatten();
    let text = JsFuture::from(response.text()?)
        .await?
        .as_string()
        .unwrap_or_default();
    classify(status, json::parse(&text).as_ref(), retry_after.as_deref())
}

/// Uploads the screenshot of an accepted entry. The entry's status secret
/// (after the dot in its status link) is the credential.
pub async fn attach(
    feedback_url: &str,
    accepted: &FeedbackAccepted,
    file: &web_sys::File,
) -> Result<(), SubmitError> {
    let (_, secret) = accepted
        .status_url
        .rsplit_once('.')
        .ok_or(SubmitError::Unreachable)?;
    let headers = Headers::new()?;
    headers.set("content-type", &file.type_())?;
    headers.set("authorization", &format!("Bearer {secret}"))?;
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_mode(RequestMode::Cors);
    init.set_headers(&headers);
    init.set_body(file);
    let url = format!("{feedback_url}/{}/attachments", accepted.id);
    let request = Request::new_with_str_and_init(&url, &init)?;
    let window = web_sys::window().ok_or(SubmitError::Unreachable)?;
    let response: Response = JsFuture::from(window.fetch_with_request(&request))
        .await?
        .dyn_into()?;
    match response.status() {
        200..=299 => Ok(()),
        429 => Err(SubmitError::RateLimited {
            retry_after_secs: None,
        }),
        // Refused for good (type, size, count): retrying cannot help.
        400..=499 => Err(SubmitError::Rejected(ErrorBody {
            code: "attachment_refused".into(),
            message: String::new(),
            field: Some("screenshot".into()),
        })),
        _ => Err(SubmitError::Unreachable),
    }
}

/// Maps an HTTP answer (its body parsed, when it was JSON) to the outcome
/// the customer is told about.
pub fn classify<J: Json>(
    status: u16,
    body: Option<&J>,
    retry_after: Option<&str>,
) -> Result<FeedbackAccepted, SubmitError> {
    match status {
        200..=299 => body
            .and_then(FeedbackAccepted::from_json)
            .ok_or(SubmitError::Unreachable),
        429 => Err(SubmitError::RateLimited {
            retry_after_secs: retry_after.and_then(|v| v.trim().parse().ok()),
        }),
        400..=499 => match body.and_then(ErrorBody::from_json) {
            Some(e) => Err(SubmitError::Rejected(e)),
            None => Err(SubmitError::Unreachable),
        },
        _ => Err(SubmitError::Unreachable),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The browser's `JSON` is not here; serde_json reads the same text.
    fn classify(
        status: u16,
        body: &str,
        retry_after: Option<&str>,
    ) -> Result<FeedbackAccepted, SubmitError> {
        let parsed: Option<serde_json::Value> = serde_json::from_str(body).ok();
        super::classify(status, parsed.as_ref(), retry_after)
    }

    #[test]
    fn created_is_success() {
        let ok = classify(
            201,
            r#"{"id":"1","reference":"ES-1","status_url":"http://x/s/1"}"#,
            None,
        );
        assert_eq!(ok.unwrap().reference, "ES-1");
    }

    #[test]
    fn server_errors_and_garbage_keep_the_draft() {
        assert_eq!(classify(503, "", None), Err(SubmitError::Unreachable));
        assert_eq!(classify(500, "{}", None), Err(SubmitError::Unreachable));
        assert_eq!(
            classify(201, "<html>proxy</html>", None),
            Err(SubmitError::Unreachable)
        );
        assert_eq!(
            classify(429, "", Some("17")),
            Err(SubmitError::RateLimited {
                retry_after_secs: Some(17)
            })
        );
        assert_eq!(
            classify(429, "", Some("soon")),
            Err(SubmitError::RateLimited {
                retry_after_secs: None
            })
        );
    }

    #[test]
    fn client_errors_carry_the_field() {
        let body = r#"{"error":{"code":"invalid_email","message":"m","field":"email"}}"#;
        match classify(422, body, None) {
            Err(SubmitError::Rejected(e)) => assert_eq!(e.field.as_deref(), Some("email")),
            other => panic!("unexpected {other:?}"),
        }
    }
}
