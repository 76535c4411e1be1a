//! Removing a site (admins): its feedback, webhooks and report sums go
//! with it, for good, so the form asks for the site's key to be typed.

use std::time::Duration;

use axum::extract::Path;
use axum::extract::State;
use axum::extract::rejection::PathRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::extract::{FORM_OVERHEAD, FormLimit};
use super::sites::{SiteDraft, site_page};
use super::{ConsoleError, Staff, StaffForm, views};
use crate::directory::SiteDirectory;
use crate::http::AppState;
use crate::store::{SiteHoldings, SiteRemoval};

/// How long the page waits for a removal before saying it goes on in the
/// background (a site with many entries takes minutes: each is deleted
/// completely, a few per transaction, so ingest keeps flowing).
const WAIT: Duration = Duration::from_secs(10);

/// The "Remove this site" panel of a site's page.
pub(super) fn section(staff: &Staff, id: i64, key: &str, held: &SiteHoldings) -> Markup {
    html! {
        section.panel #remove {
            h2 { "Remove this site" }
            @if held.only {
                p.muted { "This is the only site. Add the site that replaces it first, then remove this one." }
            } @else {
                p {
                    "Deletes the site with its " (held.summary())
                    " for good: every entry as an erasure deletes it (replies, notes, promises, attachments, queued emails and deliveries), and its report sums. "
                    "Its widget stops sending at once. The audit log records the removal."
                }
                form.stack method="post" action={ "/console/sites/" (id) "/remove" } {
                    (views::csrf(staff))
                    label for="remove-key" { "Type the site's key, " code { (key) } ", to confirm" }
                    input #remove-key name="key" required autocomplete="off" spellcheck="false";
                    button.danger type="submit" { "Remove the site and its feedback" }
                }
            }
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RemoveForm {
    key: String,
}

impl FormLimit for RemoveForm {
    const MAX_BYTES: usize = 200 + FORM_OVERHEAD;
}

pub async fn remove(
    State(state): State<AppState>,
    path: Result<Path<i64>, PathRejection>,
    StaffForm { staff, form }: StaffForm<RemoveForm>,
) -> Result<Response, ConsoleError> {
    staff.require_admin()?;
    let id = path
        .map(|Path(id)| id)
        .map_err(|_| ConsoleError::NotFound)?;
    let site = state
        .store
        .site_detail(id)
        .await?
        .ok_or(ConsoleError::NotFound)?;
    if form.key.trim() != site.key {
        let why = format!(
            "Type the site's key, {}, to remove it. Nothing was removed.",
            site.key
        );
        return again(&state, &staff, id, &why).await;
    }
    // On its own task: a page closed while it runs does not stop it
    // halfway. Ingest refuses the site from the start, so its widget is
    // told at once and the removal does not chase new entries.
    let store = state.store.clone();
    let (actor, at) = (staff.user.id, state.clock.now_millis());
    let withdrawn = Withdrawn::new(state.sites.clone(), id);
    let removal = tokio::spawn(async move {
        let removed = store.remove_site(id, Some(actor), at).await;
        drop(withdrawn);
        // Said here, not by the page: it may have stopped waiting.
        match &removed {
            Ok(SiteRemoval::Removed { key, took }) => {
                tracing::info!(site = %key, entries = took.entries, "site removed in the console");
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(site_id = id, error = %e, "a site's removal stopped: it keeps what is left, and removing it again finishes");
            }
        }
        removed
    });
    match tokio::time::timeout(WAIT, removal).await {
        Err(_) => {
            tracing::info!(site_id = id, "site removal continues in the background");
            Ok(Redirect::to("/console/sites?done=removing").into_response())
        }
        Ok(Err(_)) => Err(ConsoleError::Internal("the site removal task failed")),
        Ok(Ok(removed)) => match removed? {
            SiteRemoval::Removed { .. } => {
                Ok(Redirect::to("/console/sites?done=removed").into_response())
            }
            SiteRemoval::NoSuchSite => Err(ConsoleError::NotFound),
            SiteRemoval::OnlySite => {
                again(
                    &state,
                    &staff,
                    id,
                    "This is the only site: add the site that replaces it first.",
                )
                .await
            }
        },
    }
}

/// A site refused by ingest for as long as this lives (however its removal
/// ends: done, failed, or its task gone).
struct Withdrawn {
    sites: SiteDirectory,
    id: i64,
}

impl Withdrawn {
    fn new(sites: SiteDirectory, id: i64) -> Withdrawn {
        sites.withdraw(id);
        Withdrawn { sites, id }
    }
}

impl Drop for Withdrawn {
    fn drop(&mut self) {
        self.sites.restore(self.id);
    }
}

/// The site's page again, with why nothing was removed.
async fn again(
    state: &AppState,
    staff: &Staff,
    id: i64,
    why: &str,
) -> Result<Response, ConsoleError> {
    let top = views::refusal(Some(why), "remove-problem");
    let page = site_page(state, staff, id, top, SiteDraft::None).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}
