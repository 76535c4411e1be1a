//! The review console: server-rendered pages under `/console`, behind a
//! staff session. No JavaScript framework; one small script file for
//! conveniences, under a strict CSP.

mod account;
mod address;
mod audit;
mod bulk;
mod charts;
mod email_check;
mod entry;
mod error;
mod extract;
mod forgot;
mod inbox;
mod link;
mod login;
mod notifications;
mod people;
mod promises;
mod reports;
mod same_customer;
mod site_choice;
mod site_removal;
mod sites;
mod staff;
mod tokens;
mod views;
mod webhooks;

use axum::Router;
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::middleware::map_response;
use axum::response::{Redirect, Response};
use axum::routing::{get, post};

pub use error::ConsoleError;
pub use extract::{NoticeQuery, PageQuery, Staff, StaffForm};

use super::AppState;
use crate::assets;

/// The console's stylesheet and script keep their URLs across versions:
/// a browser keeps its copy but asks each time (`304` while current), so
/// staff get a new version with the next page after an upgrade.
const STATIC_CACHE: &str = "no-cache";

const CONSOLE_HEADERS: [(HeaderName, &str); 6] = [
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::REFERRER_POLICY, "same-origin"),
    (header::CACHE_CONTROL, "no-store"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (HeaderName::from_static("x-robots-tag"), "noindex, nofollow"),
];

/// Adds the console's headers where a handler did not set its own (an
/// attachment sets a stricter policy).
async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in CONSOLE_HEADERS {
        headers
            .entry(name)
            .or_insert_with(|| HeaderValue::from_static(value));
    }
    response
}

pub fn router() -> Router<AppState> {
    Router::new()
        // Whoever opens the address the start printed finds the console,
        // not a JSON 404.
        .route("/", get(|| async { Redirect::to("/console") }))
        .route("/console", get(inbox::page))
        .route("/console/", get(inbox::page))
        .route("/console/bulk", post(bulk::bulk))
        .route("/console/login", get(login::form).post(login::submit))
        .route("/console/logout", post(login::logout))
        .route("/console/forgot", get(forgot::form).post(forgot::submit))
        .route("/console/account", get(account::page))
        .route("/console/account/password", post(account::change_password))
        .route("/console/account/name", post(account::rename))
        .route(
            "/console/account/sessions/end",
            post(account::end_other_sessions),
        )
        .route("/console/setup", get(login::setup_form).post(login::setup))
        .route("/console/entries/{id}", get(entry::page))
        .route("/console/attachments/{id}", get(entry::attachment))
        .route("/console/entries/{id}/status", post(entry::actions::status))
        .route("/console/entries/{id}/assign", post(entry::actions::assign))
        .route("/console/entries/{id}/note", post(entry::actions::note))
        .route("/console/entries/{id}/reply", post(entry::actions::reply))
        .route(
            "/console/entries/{id}/promises/{promise}",
            post(entry::actions::settle),
        )
        .route("/console/promises", get(promises::page))
        .route("/console/reports", get(reports::page))
        .route("/console/reports/{name}", get(reports::csv_download))
        .route(
            "/console/notifications",
            get(notifications::page).post(notifications::save),
        )
        .route("/console/notifications/test", post(email_check::test))
        .route("/console/export.csv", get(inbox::export_csv))
        .route("/console/export.ndjson", get(inbox::export_ndjson))
        .route("/console/tokens", get(tokens::page).post(tokens::create))
        .route("/console/tokens/{id}/revoke", post(tokens::revoke))
        .route("/console/people", get(people::form).post(people::lookup))
        .route("/console/people/export", post(people::export))
        .route("/console/people/erase", post(people::erase))
        .route("/console/audit", get(audit::page))
        .route("/console/audit.csv", get(audit::csv))
        .route("/console/staff", get(staff::page))
        .route("/console/staff/invite", post(staff::invite))
        .route("/console/staff/{id}/role", post(staff::role))
        .route("/console/staff/{id}/name", post(staff::rename))
        .route("/console/staff/{id}/disable", post(staff::disable))
        .route("/console/staff/{id}/enable", post(staff::enable))
        .route("/console/staff/{id}/reset", post(staff::reset))
        .route("/console/staff/links/{id}/withdraw", post(staff::withdraw))
        .route("/console/link/{secret}", get(link::form).post(link::redeem))
        .route("/console/sites", get(sites::page).post(sites::add))
        .route(
            "/console/sites/{id}",
            get(sites::detail).post(sites::update),
        )
        .route("/console/sites/{id}/retention", post(sites::retention))
        .route("/console/sites/{id}/remove", post(site_removal::remove))
        .route("/console/sites/{id}/webhooks", post(webhooks::add))
        .route("/console/webhooks/{id}", get(webhooks::page))
        .route("/console/webhooks/{id}/rotate", post(webhooks::rotate))
        .route("/console/webhooks/{id}/remove", post(webhooks::remove))
        .route("/console/webhooks/{id}/enable", post(webhooks::enable))
        .route(
            "/console/webhooks/{id}/deliveries/{delivery}/redeliver",
            post(webhooks::redeliver),
        )
        .route("/console/static/console.css", get(css))
        .route("/console/static/console.js", get(js))
        // Unknown console paths answer here, under the console's headers.
        .route(
            "/console/{*rest}",
            get(|| async { ConsoleError::NotFound }).post(|| async { ConsoleError::NotFound }),
        )
        .layer(map_response(security_headers))
}

async fn css(headers: HeaderMap) -> Response {
    crate::http::assets::serve(
        &headers,
        &assets::CONSOLE_CSS_SERVED,
        "text/css; charset=utf-8",
        STATIC_CACHE,
    )
}

async fn js(headers: HeaderMap) -> Response {
    crate::http::assets::serve(
        &headers,
        &assets::CONSOLE_JS_SERVED,
        "application/javascript; charset=utf-8",
        STATIC_CACHE,
    )
}
