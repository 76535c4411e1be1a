//! `/console/link/{secret}`: a one-time link an administrator made, to join
//! (choose a name and password) or to choose a new password, or one its
//! owner asked for at sign-in. Used once, within 72 hours (an hour when
//! asked for); the newcomer is signed in at once.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;

use super::extract::{BYTES_PER_CHAR, FORM_OVERHEAD, FormLimit, PublicForm};
use super::login::{new_password_hash, signed_in};
use super::staff::link_hash;
use super::{ConsoleError, views};
use crate::auth::password;
use crate::colleagues::Colleagues;
use crate::http::AppState;
use crate::name::{self, StaffName};
use crate::store::LinkPurpose;

fn secret_of(path: Result<Path<String>, PathRejection>) -> Result<String, ConsoleError> {
    let Path(secret) = path.map_err(|_| ConsoleError::NotFound)?;
    // Shaped like one of ours, or not worth a database read.
    let plausible = secret.len() == 32
        && secret
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if plausible {
        Ok(secret)
    } else {
        Err(ConsoleError::NotFound)
    }
}

async fn purpose_of(state: &AppState, secret: &str) -> Result<LinkPurpose, ConsoleError> {
    state
        .store
        .account_link(link_hash(secret), state.clock.now_millis())
        .await?
        .ok_or_else(|| {
            ConsoleError::Invalid(
                "This link is not valid: it was used, replaced or has expired. Ask an administrator for a new one, or for a new password use “Forgot your password?” on the sign-in page."
                    .to_owned(),
            )
        })
}

fn form_page(
    status: StatusCode,
    secret: &str,
    purpose: &LinkPurpose,
    problem: Option<&str>,
    name: &str,
) -> Response {
    let (title, intro, email) = match purpose {
        LinkPurpose::Invite { email, role, .. } => (
            "Join Earshot",
            format!(
                "You were invited to the feedback console as {}. Choose your name and a password.",
                if *role == crate::store::Role::Admin {
                    "an administrator"
                } else {
                    "an agent"
                }
            ),
            email.as_str(),
        ),
        LinkPurpose::Reset { user } => (
            "Choose a new password",
            "Your old password stops working, and every session it opened ends.".to_owned(),
            user.email.as_str(),
        ),
    };
    let invite = matches!(purpose, LinkPurpose::Invite { .. });
    let body = html! {
        h1 { (title) }
        p { (intro) }
        @if let Some(problem) = problem {
            p.error role="alert" { (problem) }
        }
        form.stack method="post" action={ "/console/link/" (secret) } {
            label for="email" { "Email" }
            input #email type="email" value=(email) readonly autocomplete="username";
            @if invite {
                label for="name" { "Your name" }
                input #name name="name" value=(name) required maxlength=(name::MAX_CHARS) autocomplete="name";
            }
            label for="password" { "Password (at least 10 characters)" }
            input #password type="password" name="password" required minlength="10" autocomplete="new-password";
            button.primary type="submit" { (if invite { "Create my account" } else { "Set password" }) }
        }
    };
    (status, views::bare(title, body)).into_response()
}

pub async fn form(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ConsoleError> {
    let secret = secret_of(path)?;
    let purpose = purpose_of(&state, &secret).await?;
    let name = match &purpose {
        LinkPurpose::Invite { name, .. } => name.clone(),
        LinkPurpose::Reset { .. } => String::new(),
    };
    Ok(form_page(StatusCode::OK, &secret, &purpose, None, &name))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LinkForm {
    name: String,
    password: String,
}

impl FormLimit for LinkForm {
    const MAX_BYTES: usize =
        (name::MAX_CHARS + password::MAX_CHARS) * BYTES_PER_CHAR + FORM_OVERHEAD;
}

pub async fn redeem(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    PublicForm(form): PublicForm<LinkForm>,
) -> Result<Response, ConsoleError> {
    let secret = secret_of(path)?;
    let purpose = purpose_of(&state, &secret).await?;
    let invite = matches!(purpose, LinkPurpose::Invite { .. });
    let name = form.name.trim();
    let again = |problem: &str| {
        Ok(form_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            &secret,
            &purpose,
            Some(problem),
            name,
        ))
    };
    let name = match (invite, StaffName::parse(name)) {
        (false, _) => None,
        (true, Ok(name)) => Some(name.into_inner()),
        (true, Err(_)) => return again(super::login::NAME_PROBLEM),
    };
    let hash = match new_password_hash(&state, &form.password).await? {
        Ok(hash) => hash,
        Err(problem) => return again(&problem),
    };
    let user = state
        .store
        .redeem_account_link(link_hash(&secret), name, hash, state.clock.now_millis())
        .await?;
    tracing::info!(user_id = user.id, invite, "account link used");
    // A newcomer who took a name a colleague bears is told so once, where
    // they can choose another, as renaming oneself tells it.
    let to = if invite && Colleagues::new(state.store.accounts().await?).shares_name(&user.name) {
        "/console/account?done=joined"
    } else {
        "/console"
    };
    signed_in(&state, &headers, &user, to).await
}
