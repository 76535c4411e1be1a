//! "Your account": who you are signed in as, and changing your own
//! password (with the current one, under the sign-in throttle). A new
//! password ends every other session; this browser stays signed in.

use std::net::SocketAddr;

use axum::Extension;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;

use super::extract::{BYTES_PER_CHAR, FORM_OVERHEAD, FormLimit};
use super::login::{Checked, check_password, new_password_hash, signed_in};
use super::{ConsoleError, Staff, StaffForm, views};
use crate::auth::password;
use crate::http::AppState;
use crate::store::Role;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Done {
    done: String,
}

fn account_page(status: StatusCode, staff: &Staff, problem: Option<&str>, done: bool) -> Response {
    let user = &staff.user;
    let body = html! {
        h1 { "Your account" }
        section.panel {
            dl.context {
                dt { "Name" } dd { (user.name) }
                dt { "Email" } dd { (user.email) }
                dt { "Role" } dd { @if user.role == Role::Admin { "Administrator" } @else { "Agent" } }
            }
        }
        section.panel aria-labelledby="password" {
            h2 #password { "Change your password" }
            @if done {
                p.notice role="status" { "Password changed. Every other session it had opened has ended." }
            }
            @if let Some(problem) = problem {
                p.error role="alert" { (problem) }
            }
            form.stack method="post" action="/console/account/password" {
                (views::csrf(staff))
                label for="current" { "Current password" }
                input #current type="password" name="current" autocomplete="current-password" required;
                label for="new" { "New password" }
                input #new type="password" name="new" autocomplete="new-password" required minlength=(password::MIN_CHARS) aria-describedby="new-hint";
                p.muted #new-hint { "At least " (password::MIN_CHARS) " characters. Every other session you have open ends when you change it." }
                button.primary type="submit" { "Change password" }
            }
        }
    };
    (
        status,
        views::page("Your account", staff, "/console/account", body),
    )
        .into_response()
}

pub async fn page(staff: Staff, Query(done): Query<Done>) -> Response {
    account_page(StatusCode::OK, &staff, None, done.done == "password")
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PasswordForm {
    current: String,
    new: String,
}

impl FormLimit for PasswordForm {
    const MAX_BYTES: usize = 2 * password::MAX_CHARS * BYTES_PER_CHAR + FORM_OVERHEAD;
}

pub async fn change_password(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    StaffForm { staff, form }: StaffForm<PasswordForm>,
) -> Result<Response, ConsoleError> {
    let refuse = |problem: &str| {
        Ok(account_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            &staff,
            Some(problem),
            false,
        ))
    };
    if form.current.is_empty() || form.current.chars().count() > password::MAX_CHARS {
        return refuse("Enter your current password.");
    }
    let email = staff.user.email.clone();
    let user = match check_password(&state, peer, &headers, &email, form.current).await? {
        Checked::Right(user) => user,
        Checked::Wrong => return refuse("That is not your current password."),
    };
    let hash = match new_password_hash(&state, &form.new).await? {
        Ok(hash) => hash,
        Err(problem) => return refuse(&problem),
    };
    state
        .store
        .set_password(
            user.email.clone(),
            hash,
            Some(user.id),
            state.clock.now_millis(),
        )
        .await?;
    tracing::info!(user_id = user.id, "staff changed their password");
    // Every session ended with the old password; this browser gets a new one.
    signed_in(
        &state,
        &headers,
        &user,
        "/console/account?done=password#password",
    )
    .await
}
