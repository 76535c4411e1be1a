//! "Notifications": how the signed-in colleague wants to hear about
//! feedback. The form's fields become the same `name=value` settings that
//! `earshot user notify --set` takes, parsed by the same code.

use std::collections::HashMap;

use axum::extract::State;
use axum::response::{Html, IntoResponse, Redirect, Response};
use earshot_protocol::{Kind, Severity};
use maud::{Markup, html};
use serde::Deserialize;

use super::extract::{FORM_OVERHEAD, FormLimit};
use super::site_choice::{self, LISTED_SITES};
use super::{ConsoleError, NoticeQuery, Staff, StaffForm, email_check, views};
use crate::http::AppState;
use crate::notify::{Prefs, Sites};
use crate::store::SiteSettings;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Saved {
    saved: Option<String>,
    /// What a test email found (`email_check::test`'s redirect).
    tested: Option<String>,
}

pub async fn page(
    staff: Staff,
    State(state): State<AppState>,
    NoticeQuery(saved): NoticeQuery<Saved>,
) -> Result<Html<String>, ConsoleError> {
    let prefs = state.store.notify_prefs(staff.user.clone()).await?;
    let sites = state.store.site_settings().await?;
    let shown = NotificationsForm::from_prefs(&prefs, &sites);
    let note = saved.saved.is_some().then_some(Note::Saved);
    let email = email_section(&state, &staff, saved.tested.as_deref()).await?;
    render(&state, &staff, &sites, &shown, note, email)
}

/// How email is going, where there is email.
async fn email_section(
    state: &AppState,
    staff: &Staff,
    tested: Option<&str>,
) -> Result<Markup, ConsoleError> {
    Ok(match email_check::health(state).await? {
        Some(health) => {
            let sender = state.mailer.as_ref().and_then(|m| m.made_up_sender());
            email_check::section(
                staff,
                &health,
                tested,
                sender.as_deref(),
                state.clock.now_millis(),
            )
        }
        None => Markup::default(),
    })
}

/// What the page says above the form.
enum Note<'a> {
    Saved,
    /// The choices below were not saved, for this reason.
    Refused(&'a str),
}

/// The form always shows a `NotificationsForm`: the stored preferences, or
/// the choices just sent when they were refused.
fn render(
    state: &AppState,
    staff: &Staff,
    sites: &[SiteSettings],
    shown: &NotificationsForm,
    note: Option<Note<'_>>,
    email: Markup,
) -> Result<Html<String>, ConsoleError> {
    let ticked = |value: &str| shown.immediate.iter().any(|v| v == value);
    let all_sites = shown.sites != "chosen";
    let site_chosen = |key: &str| shown.site.iter().any(|k| k == key);
    let refused = match note {
        Some(Note::Refused(why)) => Some(why),
        _ => None,
    };
    let body = html! {
        h1 { "Notifications" }
        @if matches!(note, Some(Note::Saved)) { p.notice role="status" { "Saved." } }
        @if state.mailer.is_none() {
            p.notice { "Email is not set up on this collector (--smtp-url), so nothing is sent until it is. Your choices are kept." }
        }
        p.muted { "Emails go to " strong { (staff.user.email) } ". Spam never sends anything." }
        (email)
        form.stack method="post" action="/console/notifications" {
            (views::csrf(staff))
            (views::refusal(refused, "notifications-problem"))
            fieldset {
                legend { "Email me at once about new feedback that is" }
                p.muted { "At most one email a minute; whatever arrives meanwhile comes together in the next." }
                @for kind in Kind::ALL {
                    label.check {
                        input type="checkbox" name="immediate" value=(kind.as_str()) checked[ticked(kind.as_str())];
                        " " (views::kind_label(kind.as_str()))
                    }
                }
                p.muted { "…or, whatever its kind, marked by the customer as" }
                @for severity in Severity::ALL {
                    label.check {
                        input type="checkbox" name="immediate" value=(severity.as_str()) checked[ticked(severity.as_str())];
                        " " (severity.as_str())
                    }
                }
            }
            fieldset {
                legend { "On which sites" }
                label.check { input type="radio" name="sites" value="all" checked[all_sites]; " All sites" }
                label.check { input type="radio" name="sites" value="chosen" checked[!all_sites]; " Only these:" }
                @if sites.len() <= LISTED_SITES {
                    @for site in sites {
                        label.check {
                            input type="checkbox" name="site" value=(site.key) checked[site_chosen(&site.key)];
                            " " (site.name)
                        }
                    }
                } @else {
                    // Thousands of checkboxes are a page nobody scrolls.
                    label for="site-list" { "One site's name or key per line" }
                    textarea #site-list name="site_list" rows="5" placeholder="Shop\nsite_…" {
                        (shown.site_list)
                    }
                }
            }
            fieldset {
                legend { "Daily digest" }
                p.muted { "Who is waiting past their site's target, promises due today and overdue, and what came in since yesterday." }
                label for="digest" { "Send it at (UTC)" }
                select #digest name="digest" data-utc-hours {
                    option value="off" selected[shown.digest == "off"] { "Never" }
                    @for hour in 0..24u8 {
                        option value=(hour) selected[shown.digest == hour.to_string()] { (format!("{hour:02}:00")) }
                    }
                }
            }
            fieldset {
                legend { "Addressed to me" }
                label.check {
                    input type="checkbox" name="assigned" value="on" checked[shown.assigned.is_some()];
                    " Email me when a colleague assigns an entry to me or mentions me in a note (@name), when a customer writes again on an entry of mine, and when a promise on one is due within a day or overdue"
                }
            }
            button.primary type="submit" { "Save" }
        }
    };
    Ok(views::page(
        "Notifications",
        staff,
        "/console/notifications",
        body,
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NotificationsForm {
    immediate: Vec<String>,
    sites: String,
    /// Site keys, ticked (while there are few sites).
    site: Vec<String>,
    /// Site names or keys, one per line (when there are many).
    site_list: String,
    digest: String,
    assigned: Option<String>,
}

impl FormLimit for NotificationsForm {
    /// Every kind, severity and listed site ticked, or about 2,000 sites
    /// typed one per line.
    const MAX_BYTES: usize = 128 * FORM_OVERHEAD;
}

impl NotificationsForm {
    /// The form as it would be sent to keep `prefs` unchanged.
    fn from_prefs(prefs: &Prefs, sites: &[SiteSettings]) -> Self {
        let immediate = prefs
            .kinds
            .iter()
            .map(|k| k.as_str())
            .chain(prefs.severities.iter().map(|s| s.as_str()))
            .map(str::to_owned)
            .collect();
        let (chosen, keys) = match &prefs.sites {
            Sites::All => ("all", Vec::new()),
            Sites::Only(ids) => (
                "chosen",
                sites
                    .iter()
                    .filter(|s| ids.contains(&s.id))
                    .map(|s| s.key.clone())
                    .collect(),
            ),
        };
        let (site, site_list) = if sites.len() <= LISTED_SITES {
            (keys, String::new())
        } else {
            (Vec::new(), keys.join("\n"))
        };
        NotificationsForm {
            immediate,
            sites: chosen.to_owned(),
            site,
            site_list,
            digest: prefs
                .digest_hour
                .map_or_else(|| "off".to_owned(), |h| h.to_string()),
            assigned: prefs.on_assign.then(|| "on".to_owned()),
        }
    }

    /// The same `name=value` settings `earshot user notify --set` takes.
    fn settings(&self, sites: &[SiteSettings]) -> Result<[String; 4], ConsoleError> {
        let immediate = if self.immediate.is_empty() {
            "off".to_owned()
        } else {
            self.immediate.join(",")
        };
        let chosen = if self.sites == "chosen" {
            let keys = self.chosen_keys(sites)?;
            // Saying "only these" and choosing none would quietly mean "no
            // site at all", which nobody choosing sites means.
            if keys.is_empty() {
                return Err(ConsoleError::Invalid(
                    "Choose at least one site, or choose All sites.".to_owned(),
                ));
            }
            keys.join(",")
        } else {
            "all".to_owned()
        };
        Ok([
            format!("immediate={immediate}"),
            format!("sites={chosen}"),
            format!("digest={}", self.digest),
            format!(
                "assigned={}",
                if self.assigned.is_some() { "on" } else { "off" }
            ),
        ])
    }

    /// The keys of the sites ticked and typed; a typed line that names no
    /// site, or more than one, is refused by its number.
    fn chosen_keys<'a>(&'a self, sites: &'a [SiteSettings]) -> Result<Vec<&'a str>, ConsoleError> {
        let mut keys: Vec<&str> = self.site.iter().map(String::as_str).collect();
        for (number, line) in self.site_list.lines().enumerate() {
            let found = site_choice::resolve(line, sites)
                .map_err(|why| ConsoleError::Invalid(format!("Line {}: {why}", number + 1)))?;
            if let Some(site) = found.and_then(|id| sites.iter().find(|s| s.id == id)) {
                keys.push(&site.key);
            }
        }
        Ok(keys)
    }
}

pub async fn save(
    State(state): State<AppState>,
    StaffForm { staff, form }: StaffForm<NotificationsForm>,
) -> Result<Response, ConsoleError> {
    let sites = state.store.site_settings().await?;
    let saved = async {
        let ids: HashMap<&str, i64> = sites.iter().map(|s| (s.key.as_str(), s.id)).collect();
        let mut prefs = state.store.notify_prefs(staff.user.clone()).await?;
        for setting in &form.settings(&sites)? {
            prefs
                .apply(setting, |key| ids.get(key).copied())
                .map_err(|e| ConsoleError::Invalid(super::error::capitalise(&e.to_string())))?;
        }
        state.store.set_notify_prefs(staff.user.id, prefs).await?;
        Ok::<_, ConsoleError>(())
    };
    match saved.await {
        Ok(()) => Ok(Redirect::to("/console/notifications?saved=1").into_response()),
        Err(error) => {
            error
                .form_again(|why| async move {
                    // Read only for the page shown again: a save redirects.
                    let email = email_section(&state, &staff, None).await?;
                    render(
                        &state,
                        &staff,
                        &sites,
                        &form,
                        Some(Note::Refused(&why)),
                        email,
                    )
                })
                .await
        }
    }
}
