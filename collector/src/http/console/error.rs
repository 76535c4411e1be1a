//! The console's one error type, answered as a readable HTML page.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::html;

use super::views;
use crate::store::{Refusal, ReviewError, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// No valid session. GETs are sent to the login page (and back here
    /// afterwards); anything else gets 401.
    #[error("login required")]
    NeedsLogin { get: bool, back_to: String },
    #[error("this form has expired or did not come from the console")]
    Csrf,
    /// The browser says a form came from this very page, at `reached`, but
    /// the collector takes its own address to be `believed`: a proxy that
    /// does not pass the Host header while `--public-url` is unset.
    #[error("the console was reached at another address than the collector's own")]
    WrongAddress { reached: String, believed: String },
    #[error("only administrators can do this")]
    Forbidden,
    #[error("not found")]
    NotFound,
    /// A form or filter with a problem the user can fix.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error("too many attempts")]
    Throttled { retry_after_secs: u64 },
    #[error("the form is larger than any this page sends")]
    TooLarge,
    #[error("the request took too long")]
    TimedOut,
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(&'static str),
}

impl From<crate::review::input::InputError> for ConsoleError {
    fn from(e: crate::review::input::InputError) -> Self {
        ConsoleError::Invalid(e.sentence())
    }
}

impl From<ReviewError> for ConsoleError {
    fn from(e: ReviewError) -> Self {
        match e {
            ReviewError::Refused(r) => ConsoleError::Refused(r),
            ReviewError::Store(s) => ConsoleError::Store(s),
        }
    }
}

impl ConsoleError {
    /// The status, the page's title and what it says: what staff read,
    /// on the error page or beside the form they sent.
    pub(super) fn explain(&self) -> (StatusCode, &'static str, String) {
        match self {
            ConsoleError::NeedsLogin { .. } => (
                StatusCode::UNAUTHORIZED,
                "Please sign in",
                "Your session has ended. Sign in again, then repeat what you were doing.".to_owned(),
            ),
            ConsoleError::Csrf => (
                StatusCode::FORBIDDEN,
                "Form expired",
                "This form has expired or did not come from the console. Reload the page and try again.".to_owned(),
            ),
            ConsoleError::WrongAddress { reached, believed } => (
                StatusCode::FORBIDDEN,
                "Wrong address for this collector",
                format!(
                    "This page was opened at {reached}, but the collector takes its own address to be {believed}: it cannot tell this form from one another site sent, and the links it gives customers would lead to {believed}. Start it with --public-url {reached} (or EARSHOT_PUBLIC_URL), or have the reverse proxy in front pass the Host header (nginx: proxy_set_header Host $host;), then sign in again."
                ),
            ),
            ConsoleError::Forbidden => (
                StatusCode::FORBIDDEN,
                "Not allowed",
                "Only administrators can do this.".to_owned(),
            ),
            ConsoleError::NotFound => (
                StatusCode::NOT_FOUND,
                "Not found",
                "There is nothing at this address.".to_owned(),
            ),
            ConsoleError::Invalid(message) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "Please check your input",
                message.clone(),
            ),
            ConsoleError::Refused(Refusal::NoEntry | Refusal::NoPromise) => (
                StatusCode::NOT_FOUND,
                "Not found",
                self.to_string(),
            ),
            // A choice from the page's own list, so most often a colleague
            // disabled since it was drawn: the form is what to change.
            ConsoleError::Refused(Refusal::NoUser) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "Please check your input",
                format!("{}.", capitalise(&Refusal::NoUser.to_string())),
            ),
            ConsoleError::Refused(refusal) => (
                StatusCode::CONFLICT,
                "That did not work",
                format!("{}.", capitalise(&refusal.to_string())),
            ),
            ConsoleError::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "Too much text",
                "This form is larger than the console accepts. Shorten the text and try again.".to_owned(),
            ),
            ConsoleError::TimedOut => (
                StatusCode::REQUEST_TIMEOUT,
                "Too slow",
                "The request took too long to arrive. Check your connection and try again.".to_owned(),
            ),
            ConsoleError::Throttled { retry_after_secs } => (
                StatusCode::TOO_MANY_REQUESTS,
                "Too many attempts",
                format!("Too many attempts. Try again in {retry_after_secs} seconds."),
            ),
            // Unlike the public API, the console says why: its readers are
            // the staff who must get someone to act.
            ConsoleError::Store(StoreError::Full) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Storage full",
                "The server has run out of space, so nothing can be saved; nothing was changed. Whoever runs Earshot must free space on its disk; customers' feedback waits in their browsers and arrives once there is room.".to_owned(),
            ),
            // Committed: repeating it would do it twice.
            ConsoleError::Store(StoreError::NotDurable) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Saved, but not safely",
                "This was saved, but the server could not make sure it survives a power cut. Do not send it again: open the entry to check it is there, and tell whoever runs Earshot that the disk reported an error.".to_owned(),
            ),
            ConsoleError::Store(StoreError::Unstorable) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "Please check your input",
                "Something you sent holds a NUL character (U+0000), which cannot be stored; nothing was changed. Remove it and try again.".to_owned(),
            ),
            ConsoleError::Store(StoreError::Closed | StoreError::Unavailable) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Try again in a moment",
                "The database cannot be reached just now, so nothing was changed. Try again in a moment; if this lasts, whoever runs Earshot should look at its log.".to_owned(),
            ),
            ConsoleError::Store(_) | ConsoleError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "Something went wrong on our side; nothing was changed. Try again in a moment.".to_owned(),
            ),
        }
    }
}

impl ConsoleError {
    /// Answers a form that was not taken with `page`, the page it came
    /// from drawn again with what was typed and the reason beside it, and
    /// the failure's status. The error page instead when the form must not
    /// be offered again (nothing to show it on, the person may not use it,
    /// or the change was made already, so sending it again would make it
    /// twice) or when the page cannot be drawn either.
    pub(super) async fn form_again<Page>(
        self,
        page: impl FnOnce(String) -> Page,
    ) -> Result<Response, ConsoleError>
    where
        Page: Future<Output = Result<Html<String>, ConsoleError>>,
    {
        if matches!(
            self,
            ConsoleError::NotFound
                | ConsoleError::Refused(Refusal::NoEntry)
                | ConsoleError::Store(StoreError::NotDurable)
                | ConsoleError::NeedsLogin { .. }
                | ConsoleError::Csrf
                | ConsoleError::WrongAddress { .. }
                | ConsoleError::Forbidden
        ) {
            return Err(self);
        }
        let (status, _, reason) = self.explain();
        match page(reason).await {
            Ok(page) => {
                if status.is_server_error() {
                    // The detail stays in the log.
                    tracing::error!(error = %self, "a console form failed");
                }
                Ok((status, page).into_response())
            }
            Err(_) => Err(self),
        }
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        if let ConsoleError::NeedsLogin { get: true, back_to } = &self {
            let target = format!(
                "/console/login?{}",
                serde_html_form::to_string([("next", back_to.as_str())]).unwrap_or_default()
            );
            // 302, as the sign-in redirect of most web apps is.
            return match HeaderValue::from_str(&target) {
                Ok(location) => (StatusCode::FOUND, [(header::LOCATION, location)]).into_response(),
                Err(_) => Redirect::to("/console/login").into_response(),
            };
        }
        let (status, title, message) = self.explain();
        if status.is_server_error() {
            // The detail stays in the log.
            tracing::error!(error = %self, "console request failed");
        }
        let body = html! {
            h1 { (title) }
            p.error role="alert" { (message) }
            p { a href="/console" { "Back to the inbox" } }
        };
        let mut response = (status, views::bare(title, body)).into_response();
        let retry_after = match self {
            ConsoleError::Throttled { retry_after_secs } => Some(retry_after_secs),
            ConsoleError::Store(e) => e.retry_after_secs(),
            _ => None,
        };
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

pub(super) fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn a_full_disk_tells_staff_why_nothing_was_saved() {
        let response = ConsoleError::Store(StoreError::Full).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let body = String::from_utf8(body.to_vec()).unwrap();
        assert!(body.contains("run out of space"), "{body}");
        assert!(body.contains("nothing was changed"), "{body}");
    }

    #[tokio::test]
    async fn a_database_out_of_reach_asks_staff_to_try_again_shortly() {
        let response = ConsoleError::Store(StoreError::Unavailable).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "5");
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let body = String::from_utf8(body.to_vec()).unwrap();
        assert!(body.contains("cannot be reached just now"), "{body}");
    }
}
