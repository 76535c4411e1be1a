//! "Your account": who you are signed in as, the name colleagues see,
//! where else you are signed in (and ending those sessions: a lost laptop,
//! a shared computer), and changing your own password (with the current
//! one, under the sign-in throttle). A new password ends every other
//! session; this browser stays signed in.

use std::net::SocketAddr;

use axum::Extension;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;

use super::extract::{BYTES_PER_CHAR, FORM_OVERHEAD, FormLimit};
use super::login::{Checked, Empty, check_password, new_password_hash, signed_in};
use super::{ConsoleError, NoticeQuery, Staff, StaffForm, views};
use crate::auth::password;
use crate::colleagues::Colleagues;
use crate::http::AppState;
use crate::http::local_time;
use crate::name::{self, StaffName};
use crate::store::{OpenSession, Role};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Done {
    done: String,
}

/// Which of the page's forms a problem or a success belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    /// Joined by an invitation under a name a colleague bears.
    Joined,
    Name,
    Sessions,
    Password,
}

/// The colleague's sessions other than this browser's, not timed out.
async fn other_sessions(state: &AppState, staff: &Staff) -> Result<Vec<OpenSession>, ConsoleError> {
    let now = state.clock.now_millis();
    let policy = &state.auth.policy;
    Ok(state
        .store
        .other_sessions(
            staff.user.id,
            staff.session_hash().to_vec(),
            now.saturating_sub(policy.idle_ms()),
            now.saturating_sub(policy.absolute_ms()),
        )
        .await?)
}

fn sessions_section(staff: &Staff, others: &[OpenSession], done: bool, now: i64) -> maud::Markup {
    html! {
        section.panel aria-labelledby="sessions" {
            h2 #sessions { "Where you are signed in" }
            @if done {
                p.notice role="status" { "Every other session has ended: only this browser is signed in." }
            }
            @if others.is_empty() {
                p { "Only here, in this browser." }
            } @else {
                p { "Here, and in " (others.len()) @if others.len() == 1 { " other session" } @else { " other sessions" } ":" }
                ul.sessions {
                    @for s in others {
                        li { "last active " (local_time::when(s.last_seen, now)) ", signed in " (local_time::when(s.created_at, now)) }
                    }
                }
                form method="post" action="/console/account/sessions/end" {
                    (views::csrf(staff))
                    button type="submit" { "Sign out everywhere else" }
                }
                // A lost laptop may hold a script's token too.
                p.muted { "Your API tokens keep working: revoke any you no longer trust under " a href="/console/tokens" { "API tokens" } "." }
            }
        }
    }
}

async fn account_page(
    state: &AppState,
    status: StatusCode,
    staff: &Staff,
    problem: Option<(Part, &str)>,
    done: Option<Part>,
    typed_name: Option<&str>,
) -> Result<Response, ConsoleError> {
    let others = other_sessions(state, staff).await?;
    // Said once, on saving or joining: a name someone else bears is allowed (two
    // people can be called Ann) but makes the console add emails.
    let shared = if matches!(done, Some(Part::Name | Part::Joined)) {
        Colleagues::new(state.store.accounts().await?).shares_name(&staff.user.name)
    } else {
        false
    };
    let now = state.clock.now_millis();
    let user = &staff.user;
    let problem_in = |part: Part| problem.filter(|(p, _)| *p == part).map(|(_, why)| why);
    let body = html! {
        h1 { "Your account" }
        section.panel {
            dl.context {
                dt { "Email" } dd { (user.email) }
                dt { "Role" } dd { @if user.role == Role::Admin { "Administrator" } @else { "Agent" } }
            }
        }
        section.panel aria-labelledby="name" {
            h2 #name { "Your name" }
            @if done == Some(Part::Joined) && shared {
                p.notice role="status" {
                    "Welcome. Colleagues see you as " strong { (user.name) } ". Another colleague is called that too: where the console names either of you, it adds the email. You can choose another name here."
                }
            }
            @if done == Some(Part::Name) {
                p.notice role="status" {
                    "Saved. Colleagues see you as " strong { (user.name) } "."
                    @if shared {
                        " Another colleague is called that too: where the console names either of you, it adds the email."
                    }
                }
            }
            @if let Some(problem) = problem_in(Part::Name) {
                p.error role="alert" { (problem) }
            }
            form.stack method="post" action="/console/account/name" {
                (views::csrf(staff))
                label for="your-name" { "Name colleagues see (on the timeline, as assignee, in their emails)" }
                input #your-name name="name" required maxlength=(name::MAX_CHARS) autocomplete="name"
                    value=(typed_name.unwrap_or(&user.name));
                button type="submit" { "Save name" }
            }
        }
        (sessions_section(staff, &others, done == Some(Part::Sessions), now))
        section.panel aria-labelledby="password" {
            h2 #password { "Change your password" }
            @if done == Some(Part::Password) {
                p.notice role="status" { "Password changed. Every other session it had opened has ended." }
            }
            @if let Some(problem) = problem_in(Part::Password) {
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
    Ok((
        status,
        views::page("Your account", staff, "/console/account", body),
    )
        .into_response())
}

pub async fn page(
    State(state): State<AppState>,
    staff: Staff,
    NoticeQuery(done): NoticeQuery<Done>,
) -> Result<Response, ConsoleError> {
    let done = match done.done.as_str() {
        "password" => Some(Part::Password),
        "name" => Some(Part::Name),
        "joined" => Some(Part::Joined),
        "sessions" => Some(Part::Sessions),
        _ => None,
    };
    account_page(&state, StatusCode::OK, &staff, None, done, None).await
}

/// Ends every session of this colleague but this browser's.
pub async fn end_other_sessions(
    State(state): State<AppState>,
    StaffForm { staff, .. }: StaffForm<Empty>,
) -> Result<Response, ConsoleError> {
    let ended = state
        .store
        .end_other_sessions(
            staff.user.id,
            staff.session_hash().to_vec(),
            state.clock.now_millis(),
        )
        .await?;
    tracing::info!(user_id = staff.user.id, ended, "staff signed out elsewhere");
    Ok(Redirect::to("/console/account?done=sessions#sessions").into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NameForm {
    pub(super) name: String,
}

impl FormLimit for NameForm {
    const MAX_BYTES: usize = name::MAX_CHARS * BYTES_PER_CHAR + FORM_OVERHEAD;
}

pub async fn rename(
    State(state): State<AppState>,
    StaffForm { staff, form }: StaffForm<NameForm>,
) -> Result<Response, ConsoleError> {
    let name = match StaffName::parse(&form.name) {
        Ok(name) => name,
        Err(e) => {
            let why = super::error::capitalise(&e.to_string()) + ".";
            return account_page(
                &state,
                StatusCode::UNPROCESSABLE_ENTITY,
                &staff,
                Some((Part::Name, &why)),
                None,
                Some(&form.name),
            )
            .await;
        }
    };
    state
        .store
        .rename_user(
            staff.user.id,
            name.into_inner(),
            Some(staff.user.id),
            state.clock.now_millis(),
        )
        .await?;
    Ok(Redirect::to("/console/account?done=name#name").into_response())
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
    let refuse = async |problem: &str| {
        account_page(
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            &staff,
            Some((Part::Password, problem)),
            None,
            None,
        )
        .await
    };
    if form.current.is_empty() || form.current.chars().count() > password::MAX_CHARS {
        return refuse("Enter your current password.").await;
    }
    let email = staff.user.email.clone();
    let user = match check_password(&state, peer, &headers, &email, form.current).await? {
        Checked::Right(user) => user,
        Checked::Wrong => return refuse("That is not your current password.").await,
    };
    let hash = match new_password_hash(&state, &form.new).await? {
        Ok(hash) => hash,
        Err(problem) => return refuse(&problem).await,
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
