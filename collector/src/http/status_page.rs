//! `/s/{token}`: the customer's private status page. No login: the token is
//! the secret, so the page is `noindex`, sends no referrer and is never cached.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use maud::{DOCTYPE, Markup, html};

use super::{ApiError, AppState};
use crate::store::Entry;

pub fn router() -> Router<AppState> {
    Router::new().route("/s/{token}", get(status_page))
}

const PAGE_HEADERS: [(HeaderName, &str); 6] = [
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    ),
    (header::REFERRER_POLICY, "no-referrer"),
    (header::CACHE_CONTROL, "no-store"),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (HeaderName::from_static("x-robots-tag"), "noindex, nofollow"),
    (header::X_FRAME_OPTIONS, "DENY"),
];

fn page(status: StatusCode, title: &str, body: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex, nofollow";
                title { (title) }
                link rel="stylesheet" href="/static/page.css";
            }
            body { main { (body) } }
        }
    };
    let mut response = (status, Html(markup.into_string())).into_response();
    for (name, value) in PAGE_HEADERS {
        response
            .headers_mut()
            .insert(name, HeaderValue::from_static(value));
    }
    response
}

/// Splits `<public id>.<secret>`, refusing anything not shaped like one, so
/// junk never reaches the database.
fn parse_link(link: &str) -> Option<(&str, &str)> {
    let (id, secret) = link.split_once('.')?;
    let lower_alnum = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
    };
    let id_ok = id.len() == 24 && id.starts_with("e_") && lower_alnum(&id[2..]);
    let secret_ok = secret.len() == 32 && lower_alnum(secret);
    (id_ok && secret_ok).then_some((id, secret))
}

fn status_label(status: &str) -> &'static str {
    match status {
        "new" => "Received",
        "acknowledged" => "Acknowledged",
        "in_progress" => "In progress",
        "resolved" => "Resolved",
        "wont_fix" => "Closed",
        _ => "Received",
    }
}

fn submitted(millis: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    time::OffsetDateTime::from_unix_timestamp(millis / 1000)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

fn words(heading: &str, text: &str) -> Markup {
    html! { section { h2 { (heading) } p.words { (text) } } }
}

fn render(entry: &Entry) -> Markup {
    html! {
        h1 { "Your feedback to " (entry.site_name) }
        p.meta {
            "Reference " strong { (entry.reference) } " · sent " (submitted(entry.created_at))
        }
        p { "Status: " span.status { (status_label(&entry.status)) } }
        @if let (Some(expected), Some(actual)) = (&entry.expected, &entry.actual) {
            div.sides {
                (words("What you expected", expected))
                (words("What happened instead", actual))
            }
        }
        @if let Some(message) = &entry.message {
            (words("Your message", message))
        }
        p.meta { "Keep this page's address private: anyone with it can read what you wrote." }
    }
}

async fn status_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    let not_found = || {
        page(
            StatusCode::NOT_FOUND,
            "Not found",
            html! { h1 { "We could not find this page" } p { "Check that the link is complete." } },
        )
    };
    let Some((public_id, secret)) = parse_link(&token) else {
        return Ok(not_found());
    };
    Ok(
        match state
            .store
            .entry_by_status_link(public_id.to_owned(), secret.to_owned())
            .await?
        {
            Some(entry) => page(
                StatusCode::OK,
                &format!("Feedback {}", entry.reference),
                render(&entry),
            ),
            None => not_found(),
        },
    )
}
