//! "API tokens": each colleague makes tokens for their own scripts and
//! tools (shown once), sees when each was last used, and revokes them.
//! Administrators also see, and can revoke, everyone's.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::extract::{BYTES_PER_CHAR, FORM_OVERHEAD, FormLimit};
use super::login::Empty;
use super::{ConsoleError, Staff, StaffForm, views};
use crate::auth::{ApiToken, Scope, token};
use crate::http::AppState;
use crate::http::local_time;
use crate::store::{NewToken, Role, TokenInfo};

const DAY_MS: i64 = 24 * 3_600_000;
const EXPIRY_DAYS_MAX: i64 = 3_650;

fn state_of(t: &TokenInfo, now: i64) -> Markup {
    html! {
        @match (t.revoked_at, t.expires_at) {
            (Some(at), _) => { span.badge.muted { "revoked " (crate::clock::date(at)) } }
            (None, Some(at)) if at <= now => { span.badge.muted { "expired " (crate::clock::date(at)) } }
            (None, Some(at)) => { "active, expires " (crate::clock::date(at)) }
            (None, None) => { "active" }
        }
    }
}

/// What the page shows above the list besides the form: a token just made
/// (once), or a form that was refused, as typed, with the reason.
enum Outcome<'a> {
    Nothing,
    Created(&'a TokenInfo, &'a ApiToken),
    Refused(&'a TokenForm, &'a str),
}

async fn render(
    state: &AppState,
    staff: &Staff,
    outcome: Outcome<'_>,
) -> Result<Html<String>, ConsoleError> {
    let admin = staff.user.role == Role::Admin;
    let tokens = state
        .store
        .tokens((!admin).then_some(staff.user.id))
        .await?;
    let now = state.clock.now_millis();
    let (created, sent) = match outcome {
        Outcome::Nothing => (None, None),
        Outcome::Created(info, token) => (Some((info, token)), None),
        Outcome::Refused(form, why) => (None, Some((form, why))),
    };
    let typed = sent.map(|(form, _)| form);
    let write = typed.is_some_and(|f| f.scope == "write");
    let body = html! {
        h1 { "API tokens" }
        p.muted {
            "A token lets a script or tool use the "
            a href="/api/openapi.json" { "REST API" }
            " as you: send it as " code { "Authorization: Bearer esk_…" } ". "
            "A read token reads entries, sites and exports; a write token also changes status, assigns, notes, replies and settles promises."
        }
        @if let Some((info, token)) = created {
            section.notice role="status" {
                h2 { "Token “" (info.name) "” created" }
                p { "Copy it now: it is shown only once, and Earshot keeps only a fingerprint of it." }
                p { code.secret { (token.reveal()) } }
            }
        }
        form.stack method="post" action="/console/tokens" {
            (views::csrf(staff))
            (views::refusal(sent.map(|(_, why)| why), "token-problem"))
            label for="token-name" { "Label" }
            input #token-name name="name" required maxlength=(token::LABEL_MAX) placeholder="Nightly export"
                value=(typed.map_or("", |f| f.name.as_str()));
            fieldset {
                legend { "Scope" }
                label.check { input type="radio" name="scope" value="read" checked[!write]; " Read" }
                label.check { input type="radio" name="scope" value="write" checked[write]; " Read and write" }
            }
            label for="token-expires" { "Expires after (days, empty for never)" }
            input #token-expires name="expires_days" type="number" min="1" max=(EXPIRY_DAYS_MAX)
                value=(typed.map_or("", |f| f.expires_days.as_str()));
            button.primary type="submit" { "Create token" }
        }
        @if tokens.is_empty() {
            p.muted { "No tokens yet." }
        } @else {
            (views::scrolls("API tokens", html! {
                table {
                    (views::headings(
                        ["Label", "Token"]
                            .into_iter()
                            .chain(admin.then_some("Owner"))
                            .chain(["Scope", "Created", "Last used", "State"]),
                        true,
                    ))
                    tbody {
                        @for t in &tokens {
                            tr {
                                td { (t.name) }
                                td { code { (t.hint) "…" } }
                                @if admin { td { (t.owner_email) } }
                                td { (t.scope) }
                                td { (local_time::when(t.created_at, now)) }
                                td { @match t.last_used_at { Some(at) => { (local_time::when(at, now)) }, None => { "never" } } }
                                td { (state_of(t, now)) }
                                td {
                                    @if t.revoked_at.is_none() {
                                        form method="post" action={ "/console/tokens/" (t.public_id) "/revoke" } {
                                            (views::csrf(staff))
                                            button type="submit" { "Revoke" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }))
        }
    };
    Ok(views::page("API tokens", staff, "/console/tokens", body))
}

pub async fn page(
    staff: Staff,
    State(state): State<AppState>,
) -> Result<Html<String>, ConsoleError> {
    render(&state, &staff, Outcome::Nothing).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TokenForm {
    name: String,
    scope: String,
    expires_days: String,
}

impl FormLimit for TokenForm {
    const MAX_BYTES: usize = token::LABEL_MAX * BYTES_PER_CHAR + FORM_OVERHEAD;
}

pub async fn create(
    State(state): State<AppState>,
    StaffForm { staff, form }: StaffForm<TokenForm>,
) -> Result<Response, ConsoleError> {
    let token = ApiToken::generate();
    let made = async {
        let name = token::label(&form.name).ok_or_else(|| {
            ConsoleError::Invalid(format!(
                "Give the token a label of 1 to {} characters.",
                token::LABEL_MAX
            ))
        })?;
        let scope = Scope::parse(&form.scope)
            .ok_or_else(|| ConsoleError::Invalid("Choose read or read and write.".to_owned()))?;
        let now = state.clock.now_millis();
        let expires_at = match form.expires_days.trim() {
            "" => None,
            raw => {
                let days = raw
                    .parse::<i64>()
                    .ok()
                    .filter(|d| (1..=EXPIRY_DAYS_MAX).contains(d))
                    .ok_or_else(|| {
                        ConsoleError::Invalid(format!(
                            "Expiry is a number of days from 1 to {EXPIRY_DAYS_MAX}, or empty."
                        ))
                    })?;
                Some(now + days * DAY_MS)
            }
        };
        let info = state
            .store
            .add_token(
                NewToken {
                    user_id: staff.user.id,
                    name,
                    scope: scope.as_str().to_owned(),
                    hash: token.digest(),
                    hint: token.hint(),
                    expires_at,
                },
                Some(staff.user.id),
                now,
            )
            .await?;
        Ok::<_, ConsoleError>((info, scope))
    };
    match made.await {
        Ok((info, scope)) => {
            tracing::info!(token = %info.public_id, scope = scope.as_str(), "API token created");
            Ok(render(&state, &staff, Outcome::Created(&info, &token))
                .await?
                .into_response())
        }
        Err(error) => {
            error
                .form_again(|why| async move {
                    render(&state, &staff, Outcome::Refused(&form, &why)).await
                })
                .await
        }
    }
}

pub async fn revoke(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    StaffForm { staff, .. }: StaffForm<Empty>,
) -> Result<Response, ConsoleError> {
    let Path(id) = path.map_err(|_| ConsoleError::NotFound)?;
    let owner = (staff.user.role != Role::Admin).then_some(staff.user.id);
    let revoked = state
        .store
        .revoke_token(
            id.clone(),
            owner,
            Some(staff.user.id),
            state.clock.now_millis(),
        )
        .await?;
    if !revoked {
        return Err(ConsoleError::NotFound);
    }
    tracing::info!(token = %id, "API token revoked");
    Ok(Redirect::to("/console/tokens").into_response())
}
