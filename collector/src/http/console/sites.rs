//! Site settings (administrators only): the first-response target the
//! inbox measures against, the promise the widget shows after sending, and
//! the site's webhooks.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;

use super::extract::{BYTES_PER_CHAR, FORM_OVERHEAD, FormLimit};
use super::{ConsoleError, Staff, StaffForm, views, webhooks};
use crate::http::AppState;

const MAX_TARGET_HOURS: i64 = 24 * 30;
/// Longest response promise a site can show.
const PROMISE_MAX: usize = 200;

pub async fn page(
    staff: Staff,
    State(state): State<AppState>,
) -> Result<Html<String>, ConsoleError> {
    staff.require_admin()?;
    let sites = state.store.site_settings().await?;
    let hooks = state.store.webhooks().await?;
    let body = html! {
        h1 { "Sites" }
        @for site in &sites {
            section.panel {
                h2 { (site.name) }
                p.muted { "Key " code { (site.key) } }
                form.stack method="post" action={ "/console/sites/" (site.id) } {
                    (views::csrf(&staff))
                    label for={ "target-" (site.id) } { "First response within (hours)" }
                    input id={ "target-" (site.id) } type="number" name="first_response_hours" min="1" max=(MAX_TARGET_HOURS)
                        value=(site.first_response_minutes / 60) required;
                    label for={ "promise-" (site.id) } { "What customers are told after sending" }
                    input id={ "promise-" (site.id) } name="response_promise" maxlength=(PROMISE_MAX)
                        value=(site.response_promise.as_deref().unwrap_or_default()) placeholder="We answer within 1 business day";
                    button type="submit" { "Save" }
                }
                h2 { "Webhooks" }
                ul {
                    @for hook in hooks.iter().filter(|h| h.site_id == site.id) { (webhooks::summary(hook)) }
                }
                (webhooks::add_form(&staff, site.id))
            }
        }
    };
    Ok(views::page("Sites", &staff, "/console/sites", body))
}

#[derive(Debug, Deserialize)]
pub struct SiteForm {
    #[serde(default)]
    first_response_hours: String,
    #[serde(default)]
    response_promise: String,
}

impl FormLimit for SiteForm {
    const MAX_BYTES: usize = PROMISE_MAX * BYTES_PER_CHAR + FORM_OVERHEAD;
}

pub async fn update(
    State(state): State<AppState>,
    path: Result<Path<i64>, PathRejection>,
    StaffForm { staff, form }: StaffForm<SiteForm>,
) -> Result<Response, ConsoleError> {
    staff.require_admin()?;
    let Path(id) = path.map_err(|_| ConsoleError::NotFound)?;
    let hours: i64 = form
        .first_response_hours
        .trim()
        .parse()
        .ok()
        .filter(|h| (1..=MAX_TARGET_HOURS).contains(h))
        .ok_or_else(|| {
            ConsoleError::Invalid(format!(
                "The first-response target is a whole number of hours from 1 to {MAX_TARGET_HOURS}."
            ))
        })?;
    let promise = form.response_promise.trim();
    if promise.chars().count() > PROMISE_MAX {
        return Err(ConsoleError::Invalid(
            "Keep the response promise under 200 characters.".to_owned(),
        ));
    }
    let promise = (!promise.is_empty()).then(|| promise.to_owned());
    if !state
        .store
        .update_site_settings(id, hours * 60, promise)
        .await?
    {
        return Err(ConsoleError::NotFound);
    }
    Ok(Redirect::to("/console/sites").into_response())
}
