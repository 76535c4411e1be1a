//! "Notifications": how the signed-in colleague wants to hear about
//! feedback. The form's fields become the same `name=value` settings that
//! `earshot user notify --set` takes, parsed by the same code.

use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use earshot_protocol::{Kind, Severity};
use maud::html;
use serde::Deserialize;

use super::extract::{FORM_OVERHEAD, FormLimit};
use super::{ConsoleError, Staff, StaffForm, views};
use crate::http::AppState;
use crate::notify::Sites;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Saved {
    saved: Option<String>,
}

pub async fn page(
    staff: Staff,
    State(state): State<AppState>,
    Query(saved): Query<Saved>,
) -> Result<Html<String>, ConsoleError> {
    let prefs = state.store.notify_prefs(staff.user.clone()).await?;
    let sites = state.store.sites().await?;
    let all_sites = prefs.sites == Sites::All;
    let site_chosen = |id: i64| matches!(&prefs.sites, Sites::Only(ids) if ids.contains(&id));
    let body = html! {
        h1 { "Notifications" }
        @if saved.saved.is_some() { p.notice role="status" { "Saved." } }
        @if state.mailer.is_none() {
            p.notice { "Email is not set up on this collector (--smtp-url), so nothing is sent until it is. Your choices are kept." }
        }
        p.muted { "Emails go to " strong { (staff.user.email) } ". Spam never sends anything." }
        form.stack method="post" action="/console/notifications" {
            (views::csrf(&staff))
            fieldset {
                legend { "Email me at once about new feedback that is" }
                p.muted { "At most one email a minute; whatever arrives meanwhile comes together in the next." }
                @for kind in Kind::ALL {
                    label.check {
                        input type="checkbox" name="immediate" value=(kind.as_str()) checked[prefs.kinds.contains(&kind)];
                        " " (views::kind_label(kind.as_str()))
                    }
                }
                p.muted { "…or, whatever its kind, marked by the customer as" }
                @for severity in Severity::ALL {
                    label.check {
                        input type="checkbox" name="immediate" value=(severity.as_str()) checked[prefs.severities.contains(&severity)];
                        " " (severity.as_str())
                    }
                }
            }
            fieldset {
                legend { "On which sites" }
                label.check { input type="radio" name="sites" value="all" checked[all_sites]; " All sites" }
                label.check { input type="radio" name="sites" value="chosen" checked[!all_sites]; " Only these:" }
                @for site in &sites {
                    label.check {
                        input type="checkbox" name="site" value=(site.key) checked[site_chosen(site.id)];
                        " " (site.name)
                    }
                }
            }
            fieldset {
                legend { "Daily digest" }
                p.muted { "Who is waiting past their site's target, promises due today and overdue, and what came in since yesterday." }
                label for="digest" { "Send it at (UTC)" }
                select #digest name="digest" {
                    option value="off" selected[prefs.digest_hour.is_none()] { "Never" }
                    @for hour in 0..24u8 {
                        option value=(hour) selected[prefs.digest_hour == Some(hour)] { (format!("{hour:02}:00")) }
                    }
                }
            }
            fieldset {
                legend { "Assignments" }
                label.check {
                    input type="checkbox" name="assigned" value="on" checked[prefs.on_assign];
                    " Email me when a colleague assigns an entry to me"
                }
            }
            button.primary type="submit" { "Save" }
        }
    };
    Ok(views::page(
        "Notifications",
        &staff,
        "/console/notifications",
        body,
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NotificationsForm {
    immediate: Vec<String>,
    sites: String,
    site: Vec<String>,
    digest: String,
    assigned: Option<String>,
}

impl FormLimit for NotificationsForm {
    /// Every kind, severity and site key ticked.
    const MAX_BYTES: usize = 16 * FORM_OVERHEAD;
}

pub async fn save(
    State(state): State<AppState>,
    StaffForm { staff, form }: StaffForm<NotificationsForm>,
) -> Result<Response, ConsoleError> {
    let mut prefs = state.store.notify_prefs(staff.user.clone()).await?;
    let sites = state.store.sites().await?;
    let immediate = if form.immediate.is_empty() {
        "off".to_owned()
    } else {
        form.immediate.join(",")
    };
    let chosen = if form.sites == "chosen" {
        form.site.join(",")
    } else {
        "all".to_owned()
    };
    let settings = [
        format!("immediate={immediate}"),
        format!("sites={chosen}"),
        format!("digest={}", form.digest),
        format!(
            "assigned={}",
            if form.assigned.is_some() { "on" } else { "off" }
        ),
    ];
    for setting in &settings {
        prefs
            .apply(setting, |key| {
                sites.iter().find(|s| s.key == key).map(|s| s.id)
            })
            .map_err(|e| ConsoleError::Invalid(super::error::capitalise(&e.to_string())))?;
    }
    state.store.set_notify_prefs(staff.user.id, prefs).await?;
    Ok(Redirect::to("/console/notifications?saved=1").into_response())
}
