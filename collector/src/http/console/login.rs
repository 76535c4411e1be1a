//! Signing in and out, and the one-time setup of the first account.

use std::net::SocketAddr;

use axum::Extension;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::error::capitalise;
use super::extract::{
    BYTES_PER_CHAR, FORM_OVERHEAD, FormLimit, PublicForm, named_cookie, session_cookie,
};
use super::{ConsoleError, PageQuery, StaffForm, views};
use crate::auth::{Password, SessionId, csrf_token, password};
use crate::http::{AppState, client_ip};
use crate::metrics::SignIn;
use crate::name::{self, StaffName};
use crate::store::NewUser;
use earshot_protocol::limits::EMAIL_MAX;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Next {
    next: String,
}

/// Only console paths, so the login form cannot be used to send a
/// colleague to another site after signing in.
fn safe_next(next: &str) -> &str {
    let ok = (next == "/console" || next.starts_with("/console/") || next.starts_with("/console?"))
        && !next.contains('\\');
    if ok { next } else { "/console" }
}

/// What the sign-in page says about the first account, beside the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Setup {
    /// Nothing: accounts exist and sign in as usual.
    Done,
    /// No account exists yet: the setup link makes the first.
    Pending,
    /// Someone followed the setup link after the first account was made
    /// another way (`earshot user add`, or another collector's setup link
    /// on a shared database).
    MadeElsewhere,
}

impl Setup {
    async fn of(state: &AppState) -> Result<Self, ConsoleError> {
        Ok(if setup_pending(state).await? {
            Self::Pending
        } else {
            Self::Done
        })
    }
}

/// Whether the first account is still to be made through the setup link.
/// That setup is live is this process's memory, so an account made
/// elsewhere while it runs (by the CLI, or through another collector) is
/// found here, in the store, and ends it: the sign-in page no longer says
/// nobody exists and the link stops working. Only asked while setup is
/// live, so sign-ins after it cost no query.
async fn setup_pending(state: &AppState) -> Result<bool, ConsoleError> {
    if state.auth.setup_token().is_none() {
        return Ok(false);
    }
    if state.store.user_count().await? > 0 {
        state.auth.finish_setup();
        return Ok(false);
    }
    Ok(true)
}

fn login_page(
    status: StatusCode,
    next: &str,
    email: &str,
    problem: Option<&str>,
    setup: Setup,
) -> Response {
    let body = html! {
        h1 { "Sign in to Earshot" }
        @if let Some(problem) = problem {
            p.error role="alert" { (problem) }
        }
        @match setup {
            Setup::Done => {}
            Setup::Pending => {
                p.notice { "No staff account exists yet. Open the setup link the server printed when it started." }
            }
            Setup::MadeElsewhere => {
                p.notice role="status" { "The first account has been made already, so this setup link no longer works. Sign in with that account; an administrator invites colleagues on the Staff page." }
            }
        }
        form.stack method="post" action="/console/login" {
            input type="hidden" name="next" value=(safe_next(next));
            label for="email" { "Email" }
            input #email type="email" name="email" value=(email) autocomplete="username" required autofocus;
            label for="password" { "Password" }
            input #password type="password" name="password" autocomplete="current-password" required;
            button.primary type="submit" { "Sign in" }
        }
        p { a href="/console/forgot" { "Forgot your password?" } }
    };
    (status, views::bare("Sign in", body)).into_response()
}

pub async fn form(
    State(state): State<AppState>,
    PageQuery(next): PageQuery<Next>,
) -> Result<Response, ConsoleError> {
    let setup = Setup::of(&state).await?;
    Ok(login_page(StatusCode::OK, &next.next, "", None, setup))
}

/// Starts a new session for `user` (ending the one the browser had) and
/// answers with its cookie and a redirect to `to`. A browser without a
/// device cookie for this account gets one: from now on it signs in on its
/// own budget, whatever others throw at the account.
pub(super) async fn signed_in(
    state: &AppState,
    headers: &HeaderMap,
    user: &crate::store::User,
    to: &str,
) -> Result<Response, ConsoleError> {
    let user_id = user.id;
    let policy = state.auth.policy;
    let old = session_cookie(headers, policy.cookie_name()).map(|id| id.digest());
    let id = SessionId::generate();
    let now = state.clock.now_millis();
    state
        .store
        .create_session(id.digest(), user_id, csrf_token(), now, old)
        .await?;
    // Housekeeping at a moment that already writes.
    state
        .store
        .delete_expired_sessions(
            now.saturating_sub(policy.idle_ms()),
            now.saturating_sub(policy.absolute_ms()),
        )
        .await?;
    let cookie = policy.cookie(id.as_str(), policy.absolute.as_secs());
    let cookie = HeaderValue::from_str(&cookie).map_err(|_| ConsoleError::Internal("cookie"))?;
    let mut response = Redirect::to(to).into_response();
    response.headers_mut().append(header::SET_COOKIE, cookie);
    let throttle = &state.auth.throttle;
    let known = named_cookie(headers, policy.device_cookie_name())
        .is_some_and(|c| throttle.is_device_of(c, &user.email));
    if !known {
        let device = policy.device_cookie(&throttle.new_device_cookie(&user.email));
        let device =
            HeaderValue::from_str(&device).map_err(|_| ConsoleError::Internal("cookie"))?;
        response.headers_mut().append(header::SET_COOKIE, device);
    }
    Ok(response)
}

/// Longest `next` path kept after signing in.
const NEXT_MAX: usize = 2_048;

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

impl FormLimit for LoginForm {
    const MAX_BYTES: usize =
        (EMAIL_MAX + password::MAX_CHARS + NEXT_MAX) * BYTES_PER_CHAR + FORM_OVERHEAD;
}

pub async fn submit(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    PublicForm(mut form): PublicForm<LoginForm>,
) -> Result<Response, ConsoleError> {
    let email = form.email.trim().to_owned();
    if form.next.len() > NEXT_MAX {
        form.next.clear();
    }
    // Checked before anything is counted or stored: no account has such an
    // address or password, and nothing this size is ever kept.
    let problem = if email.is_empty() || form.password.is_empty() {
        Some("Enter your email and password.")
    } else if email.chars().count() > EMAIL_MAX
        || form.password.chars().count() > password::MAX_CHARS
    {
        Some("Wrong email or password.")
    } else {
        None
    };
    if let Some(problem) = problem {
        return Ok(login_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            &form.next,
            "",
            Some(problem),
            Setup::of(&state).await?,
        ));
    }
    match check_password(&state, peer, &headers, &email, form.password).await? {
        Checked::Right(user) => {
            state.metrics.sign_in(SignIn::SignedIn);
            tracing::info!(user_id = user.id, "staff signed in");
            signed_in(&state, &headers, &user, safe_next(&form.next)).await
        }
        Checked::Wrong => {
            state.metrics.sign_in(SignIn::WrongPassword);
            Ok(login_page(
                StatusCode::UNAUTHORIZED,
                &form.next,
                &email,
                Some("Wrong email or password."),
                Setup::of(&state).await?,
            ))
        }
    }
}

/// What a password check found.
pub(super) enum Checked {
    Right(crate::store::User),
    Wrong,
}

/// Checks `password` for the account `email` under the sign-in throttle:
/// refused (429) when a budget is spent, counted and recorded otherwise,
/// and given back when the password proves right. Signing in and changing
/// a password both go through here, so neither is a way around the other's
/// limits.
pub(super) async fn check_password(
    state: &AppState,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: &HeaderMap,
    email: &str,
    password: String,
) -> Result<Checked, ConsoleError> {
    let throttle = &state.auth.throttle;
    let attempt = throttle.attempt(
        email,
        client_ip(state, peer, headers),
        named_cookie(headers, state.auth.policy.device_cookie_name()),
    );
    let now = state.clock.now_millis();
    // What other collectors on the database let through counts here too.
    if state.store.is_shared() {
        let recorded = state
            .store
            .login_attempts_since(throttle.read_from(now))
            .await?;
        throttle.catch_up(recorded, now, std::time::Instant::now());
    }
    if let Err(throttled) = throttle.admit(&attempt, std::time::Instant::now()) {
        state.metrics.sign_in(SignIn::Throttled);
        return Err(ConsoleError::Throttled {
            retry_after_secs: throttled.retry_after.as_secs().max(1),
        });
    }
    throttle.counted(now, &attempt);
    let memory = i64::try_from(throttle.memory().as_millis()).unwrap_or(i64::MAX);
    state
        .store
        .record_login_attempt(now, attempt.clone(), now.saturating_sub(memory))
        .await?;
    let account = state.store.user_for_login(email.to_owned()).await?;
    let (user, stored) = match account {
        Some((user, hash)) => (Some(user), Some(hash)),
        None => (None, None),
    };
    // Unknown accounts are checked against a dummy hash: same answer, same time.
    let matched = state.auth.verify(password, stored).await;
    match user.filter(|_| matched) {
        Some(user) => {
            throttle.refund(&attempt, std::time::Instant::now());
            state.store.forget_login_attempt(now, attempt).await?;
            Ok(Checked::Right(user))
        }
        None => Ok(Checked::Wrong),
    }
}

#[derive(Debug, Deserialize)]
pub struct Empty {}

impl FormLimit for Empty {
    const MAX_BYTES: usize = FORM_OVERHEAD;
}

pub async fn logout(
    State(state): State<AppState>,
    StaffForm { staff, .. }: StaffForm<Empty>,
) -> Result<Response, ConsoleError> {
    state
        .store
        .delete_session(staff.session_hash().to_vec())
        .await?;
    let cookie = state.auth.policy.cookie("", 0);
    let mut response = Redirect::to("/console/login").into_response();
    if let Ok(cookie) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SetupQuery {
    token: String,
}

fn setup_page(
    status: StatusCode,
    token: &str,
    problem: Option<&str>,
    email: &str,
    name: &str,
) -> Response {
    let body: Markup = html! {
        h1 { "Set up Earshot" }
        p { "Create the first staff account. It becomes an administrator; invite colleagues later on the console's Staff page (or with " code { "earshot user add" } ")." }
        @if let Some(problem) = problem {
            p.error role="alert" { (problem) }
        }
        form.stack method="post" action="/console/setup" {
            input type="hidden" name="token" value=(token);
            label for="name" { "Your name" }
            input #name name="name" value=(name) required autocomplete="name";
            label for="email" { "Email" }
            input #email type="email" name="email" value=(email) required autocomplete="username";
            label for="password" { "Password (at least 10 characters)" }
            input #password type="password" name="password" required minlength="10" autocomplete="new-password";
            button.primary type="submit" { "Create account" }
        }
    };
    (status, views::bare("Set up", body)).into_response()
}

pub async fn setup_form(
    State(state): State<AppState>,
    PageQuery(q): PageQuery<SetupQuery>,
) -> Result<Response, ConsoleError> {
    if !state.auth.setup_token_matches(&q.token) {
        return Err(ConsoleError::NotFound);
    }
    if !setup_pending(&state).await? {
        return Ok(made_elsewhere(StatusCode::OK));
    }
    Ok(setup_page(StatusCode::OK, &q.token, None, "", ""))
}

/// The hash of a password someone chose, or why it cannot be one (a
/// sentence for the form).
pub(super) async fn new_password_hash(
    state: &AppState,
    raw: &str,
) -> Result<Result<String, String>, ConsoleError> {
    let password = match Password::parse(raw) {
        Ok(p) => p,
        Err(e) => return Ok(Err(format!("{}.", capitalise(&e.to_string())))),
    };
    let hash = state
        .auth
        .hash(password)
        .await
        .map_err(|_| ConsoleError::Internal("hashing"))?;
    Ok(Ok(hash))
}

/// What a name that will not do is told, on every form that asks for one.
pub(super) const NAME_PROBLEM: &str = "Enter your name: one line of up to 100 characters.";

#[derive(Debug, Deserialize)]
pub struct SetupForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

impl FormLimit for SetupForm {
    const MAX_BYTES: usize =
        (name::MAX_CHARS + EMAIL_MAX + password::MAX_CHARS) * BYTES_PER_CHAR + FORM_OVERHEAD;
}

pub async fn setup(
    State(state): State<AppState>,
    headers: HeaderMap,
    PublicForm(form): PublicForm<SetupForm>,
) -> Result<Response, ConsoleError> {
    if !state.auth.setup_token_matches(&form.token) {
        return Err(ConsoleError::NotFound);
    }
    if !setup_pending(&state).await? {
        return Ok(made_elsewhere(StatusCode::CONFLICT));
    }
    let again = |problem: &str| {
        Ok(setup_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            &form.token,
            Some(problem),
            form.email.trim(),
            form.name.trim(),
        ))
    };
    let email = form.email.trim();
    let Ok(name) = StaffName::parse(&form.name) else {
        return again(NAME_PROBLEM);
    };
    if earshot_protocol::submission::Email::parse(email).is_err() {
        return again("Enter a valid email address.");
    }
    let hash = match new_password_hash(&state, &form.password).await? {
        Ok(hash) => hash,
        Err(problem) => return again(&problem),
    };
    let created = state
        .store
        .add_first_admin(
            NewUser {
                email: email.to_owned(),
                name: name.into_inner(),
                role: crate::store::Role::Admin,
                password_hash: hash,
            },
            state.clock.now_millis(),
        )
        .await?;
    state.auth.finish_setup();
    match created {
        Some(user) => {
            tracing::info!(user_id = user.id, "first administrator created");
            signed_in(&state, &headers, &user, "/console").await
        }
        // Made meanwhile by the CLI or another collector: the form's words
        // are not lost on a bare 404, the page says what happened.
        None => Ok(made_elsewhere(StatusCode::CONFLICT)),
    }
}

/// The answer to a live setup link once an account exists: the sign-in
/// form, saying why.
fn made_elsewhere(status: StatusCode) -> Response {
    login_page(status, "/console", "", None, Setup::MadeElsewhere)
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_console_paths_are_followed_after_login() {
        assert_eq!(safe_next("/console/entries/e_1"), "/console/entries/e_1");
        assert_eq!(safe_next("/console?view=all"), "/console?view=all");
        for hostile in [
            "https://evil.example",
            "//evil.example",
            "/consolex",
            "/\\evil",
            "/console/\\\\evil",
            "",
        ] {
            assert_eq!(safe_next(hostile), "/console", "{hostile}");
        }
    }
}
