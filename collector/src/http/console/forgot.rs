//! "Forgot your password?": a colleague asks from the sign-in page for a
//! one-time link to choose a new password, emailed to their address.
//!
//! The page answers the same whether or not an account uses the address,
//! and as fast: the account is looked up, the link made and the email sent
//! after the answer, so neither the words nor the timing tell anyone who
//! works here. Asking is limited per network, and each mailbox gets only a
//! few links an hour however often it is asked for (counted by the store,
//! [`ASKED_LINKS_PER_HOUR`](crate::store::ASKED_LINKS_PER_HOUR), so across
//! collectors and restarts).

use std::net::SocketAddr;
use std::time::Instant;

use axum::Extension;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use earshot_protocol::limits::EMAIL_MAX;
use maud::html;
use serde::Deserialize;

use super::extract::{BYTES_PER_CHAR, FORM_OVERHEAD, FormLimit, PublicForm};
use super::staff::link_hash;
use super::{ConsoleError, views};
use crate::http::{AppState, client_ip};
use crate::mail::account::AccountLinkMail;
use crate::store::{AccountError, AccountRefusal, LinkPurpose, NewLink};

/// How long a link asked for from the sign-in page works: shorter than an
/// administrator's, since whoever holds the mailbox holds the account.
const LINK_HOURS: i64 = 1;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ForgotForm {
    email: String,
}

impl FormLimit for ForgotForm {
    const MAX_BYTES: usize = EMAIL_MAX * BYTES_PER_CHAR + FORM_OVERHEAD;
}

/// What the page says.
enum Said<'a> {
    Ask { problem: Option<&'a str> },
    Sent,
    CannotMail,
}

fn forgot_page(status: StatusCode, email: &str, said: Said<'_>) -> Response {
    let body = html! {
        h1 { "Choose a new password" }
        @match said {
            Said::CannotMail => {
                p { "This server is not set up to send email, so it cannot send you a link." }
                p { "Ask an administrator for a password reset link (on the Staff page), or whoever runs the server to run "
                    code { "earshot user password --email " (if email.is_empty() { "<your address>" } else { email }) } "." }
            }
            Said::Sent => {
                p role="status" { "If an account uses " strong { (email) } ", a link to choose a new password is on its way to it. The link works once, for an hour." }
                p { "Nothing after a few minutes? Look in your spam folder, check the address, or ask an administrator for a reset link." }
            }
            Said::Ask { problem } => {
                @if let Some(problem) = problem {
                    p.error role="alert" { (problem) }
                }
                p { "Enter the address you sign in with, and we will email you a link to choose a new password." }
                form.stack method="post" action="/console/forgot" {
                    label for="email" { "Email" }
                    input #email type="email" name="email" value=(email) autocomplete="username" required autofocus;
                    button.primary type="submit" { "Email me a link" }
                }
            }
        }
        p { a href="/console/login" { "Back to sign in" } }
    };
    (status, views::bare("Choose a new password", body)).into_response()
}

pub async fn form(State(state): State<AppState>) -> Response {
    let said = if state.mailer.is_some() {
        Said::Ask { problem: None }
    } else {
        Said::CannotMail
    };
    forgot_page(StatusCode::OK, "", said)
}

pub async fn submit(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    PublicForm(form): PublicForm<ForgotForm>,
) -> Result<Response, ConsoleError> {
    let email = form.email.trim().to_owned();
    let problem = if email.is_empty() {
        Some("Enter your email address.")
    } else if email.chars().count() > EMAIL_MAX || !email.contains('@') {
        Some("Enter the email address you sign in with.")
    } else {
        None
    };
    if let Some(problem) = problem {
        let shown = if email.chars().count() > EMAIL_MAX {
            ""
        } else {
            email.as_str()
        };
        return Ok(forgot_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            shown,
            Said::Ask {
                problem: Some(problem),
            },
        ));
    }
    if state.mailer.is_none() {
        return Ok(forgot_page(StatusCode::OK, &email, Said::CannotMail));
    }
    let ip = client_ip(&state, peer, &headers);
    state
        .auth
        .throttle
        .reset_request(ip, Instant::now())
        .map_err(|throttled| ConsoleError::Throttled {
            retry_after_secs: throttled.retry_after.as_secs().max(1),
        })?;
    let task_state = state.clone();
    let task_email = email.clone();
    tokio::spawn(async move {
        if let Err(e) = send_link(&task_state, task_email).await {
            tracing::warn!(error = %e, "a password link asked for at sign-in could not be made");
        }
    });
    Ok(forgot_page(StatusCode::OK, &email, Said::Sent))
}

/// Makes and emails the link, when an active account uses `email`.
async fn send_link(state: &AppState, email: String) -> Result<(), ConsoleError> {
    let Some(mailer) = &state.mailer else {
        return Ok(());
    };
    let Some((user, _)) = state.store.user_for_login(email).await? else {
        return Ok(());
    };
    let secret = crate::ids::secret(32);
    let now = state.clock.now_millis();
    let to = user.email.clone();
    let user_id = user.id;
    let made = state
        .store
        .add_account_link(NewLink {
            hash: link_hash(&secret),
            purpose: LinkPurpose::Reset { user },
            created_by: user_id,
            asked_by_owner: true,
            at: now,
            expires_at: now + LINK_HOURS * 3_600_000,
        })
        .await;
    match made {
        Ok(()) => {}
        Err(AccountError::Refused(AccountRefusal::AskedTooOften)) => {
            tracing::info!(
                user_id,
                "password link not sent: the account had enough this hour"
            );
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    }
    let mail = AccountLinkMail {
        to,
        by: None,
        url: format!("{}/console/link/{secret}", state.public_url),
        invite: false,
        valid_hours: LINK_HOURS,
    }
    .outgoing();
    if let Err(e) = mailer.send(&mail).await {
        tracing::warn!(user_id, error = %e, "a password link asked for at sign-in could not be emailed");
        return Ok(());
    }
    tracing::info!(user_id, "password link emailed on request");
    Ok(())
}
