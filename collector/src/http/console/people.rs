//! "A person's data" (administrators): look up what is held about an email
//! address, download all of it as JSON, or erase it, as `earshot
//! export-person` and `earshot erase` do. Every form is a POST, so the
//! address never lands in a URL, a history or an access log.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::extract::{BYTES_PER_CHAR, FORM_OVERHEAD, FormLimit};
use super::{ConsoleError, Staff, StaffForm, views};
use crate::http::AppState;
use crate::http::local_time;
use crate::person::PersonEmail;

const EMAIL_MAX: usize = earshot_protocol::limits::EMAIL_MAX;
/// Entries named, newest first, before an erasure; more are counted.
const LISTED: i64 = 50;

fn lookup_form(staff: &Staff, email: &str) -> Markup {
    html! {
        form.stack method="post" action="/console/people" {
            (views::csrf(staff))
            label for="person-email" { "The email address the customer gave" }
            input #person-email type="email" name="email" required maxlength=(EMAIL_MAX) value=(email);
            button.primary type="submit" { "Look up" }
        }
    }
}

fn page(staff: &Staff, body: Markup) -> Html<String> {
    views::page(
        "A person's data",
        staff,
        "/console/people",
        html! {
            h1 { "A person's data" }
            p.muted { "Answer a customer's request to see or erase what is held about them. Entries are found by the email they gave (any case). Both actions are recorded in the audit log, with the number of entries only." }
            (body)
        },
    )
}

pub async fn form(staff: Staff) -> Result<Html<String>, ConsoleError> {
    staff.require_admin()?;
    Ok(page(&staff, lookup_form(&staff, "")))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PersonForm {
    email: String,
    /// The erase form's "I understand" box.
    confirm: String,
}

impl FormLimit for PersonForm {
    const MAX_BYTES: usize = EMAIL_MAX * BYTES_PER_CHAR + FORM_OVERHEAD;
}

fn address(form: &PersonForm) -> Result<String, ConsoleError> {
    PersonEmail::parse(&form.email)
        .map(|email| email.as_str().to_owned())
        .map_err(|_| ConsoleError::Invalid("Enter the email address the customer gave.".to_owned()))
}

pub async fn lookup(
    State(state): State<AppState>,
    StaffForm { staff, form }: StaffForm<PersonForm>,
) -> Result<Response, ConsoleError> {
    staff.require_admin()?;
    match address(&form) {
        Ok(email) => Ok(held(&state, &staff, &email, None).await?.into_response()),
        Err(error) => {
            error
                .form_again(|why| async move {
                    let body = html! {
                        (views::refusal(Some(&why), "person-problem"))
                        (lookup_form(&staff, &form.email))
                    };
                    Ok(page(&staff, body))
                })
                .await
        }
    }
}

/// What is held about `email`, with the download and erase forms; `why`
/// says why an erasure was not done.
async fn held(
    state: &AppState,
    staff: &Staff,
    email: &str,
    why: Option<&str>,
) -> Result<Html<String>, ConsoleError> {
    let plan = state.store.erasure_plan(email.to_owned(), None).await?;
    let listed = match plan.entries {
        0 => Vec::new(),
        _ => {
            state
                .store
                .person_entries(email.to_owned(), None, LISTED)
                .await?
        }
    };
    let now = state.clock.now_millis();
    let body = html! {
        (lookup_form(staff, email))
        @if plan.entries == 0 {
            p.notice role="status" { "Nothing is held about " (email) "." }
        } @else {
            section.panel {
                h2 { "Held about " (email) }
                p { (plan.summary()) }
                ul.held {
                    @for e in &listed {
                        li {
                            a href={ "/console/entries/" (e.public_id) } { code { (e.reference) } }
                            " · " (crate::review::kind_label(&e.kind)) " · " (local_time::when(e.created_at, now))
                        }
                    }
                    @let more = plan.entries - i64::try_from(listed.len()).unwrap_or(0);
                    @if more > 0 { li.muted { "and " (more) " more" } }
                }
                form method="post" action="/console/people/export" {
                    (views::csrf(staff))
                    input type="hidden" name="email" value=(email);
                    button type="submit" { "Download everything (JSON)" }
                }
            }
            section.panel {
                h2 { "Erase" }
                p { "Deletes these entries and everything about them for good: replies, notes, promises, attachments, queued emails and webhook deliveries. Their status links will say the feedback was removed at the customer's request." }
                form.stack method="post" action="/console/people/erase" {
                    (views::csrf(staff))
                    (views::refusal(why, "erase-problem"))
                    input type="hidden" name="email" value=(email);
                    label.check { input type="checkbox" name="confirm" value="yes" required; " I understand this cannot be undone" }
                    button.danger type="submit" { "Erase " @if plan.entries == 1 { "this entry" } @else { (plan.entries) " entries" } }
                }
            }
        }
    };
    Ok(page(staff, body))
}

pub async fn export(
    State(state): State<AppState>,
    StaffForm { staff, form }: StaffForm<PersonForm>,
) -> Result<Response, ConsoleError> {
    staff.require_admin()?;
    let email = address(&form)?;
    let now = state.clock.now_millis();
    let export = state
        .store
        .export_person(email, None, Some(staff.user.id), now)
        .await?;
    tracing::info!(
        entries = export.entries,
        "person's data exported in the console"
    );
    Ok((
        [
            (header::CONTENT_TYPE, "application/json"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"earshot-person.json\"",
            ),
        ],
        export.json,
    )
        .into_response())
}

pub async fn erase(
    State(state): State<AppState>,
    StaffForm { staff, form }: StaffForm<PersonForm>,
) -> Result<Response, ConsoleError> {
    staff.require_admin()?;
    let email = address(&form)?;
    if form.confirm != "yes" {
        let why = "Tick the box to confirm the erasure.";
        let page = held(&state, &staff, &email, Some(why)).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let done = state
        .store
        .erase_person(
            email.clone(),
            None,
            Some(staff.user.id),
            state.clock.now_millis(),
        )
        .await?;
    tracing::info!(
        entries = done.entries,
        "person's data erased in the console"
    );
    Ok(page(
        &staff,
        html! {
            p.notice role="status" { "Erased " (done.summary()) "." }
            (lookup_form(&staff, ""))
        },
    )
    .into_response())
}
