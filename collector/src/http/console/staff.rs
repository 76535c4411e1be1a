//! "Staff" (administrators only): invite colleagues by a one-time link,
//! rename them, change roles, disable and re-enable accounts, and hand out
//! password reset links. A disabled account's sessions and API tokens stop
//! at once.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::error::capitalise;
use super::extract::{BYTES_PER_CHAR, FORM_OVERHEAD, FormLimit};
use super::login::Empty;
use super::{ConsoleError, NoticeQuery, Staff, StaffForm, views};
use crate::colleagues::Colleagues;
use crate::http::AppState;
use crate::http::local_time;
use crate::mail::account::AccountLinkMail;
use crate::name::{self, StaffName};
use crate::store::{
    Account, AccountError, AccountRefusal, LinkPurpose, NewLink, PendingInvite, PendingReset, Role,
    User,
};

/// How long an invitation or reset link works.
pub const LINK_LIFETIME_MS: i64 = 72 * 3_600_000;
impl From<AccountError> for ConsoleError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::Refused(AccountRefusal::NoUser) => ConsoleError::NotFound,
            AccountError::Refused(r) => {
                ConsoleError::Invalid(format!("{}.", capitalise(&r.to_string())))
            }
            AccountError::Store(s) => ConsoleError::Store(s),
        }
    }
}

/// The secret of a one-time link, as stored.
pub fn link_hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// A link made just now, to show the admin once.
struct Made {
    whom: String,
    url: String,
    emailed: bool,
    invite: bool,
}

/// Confirmations after an action, by a fixed key (never text from the URL).
fn done_text(key: &str) -> Option<&'static str> {
    Some(match key {
        "role" => "Role changed.",
        "name" => "Name changed: timelines, assignments and emails show the new one.",
        "disabled" => {
            "Account disabled: its sessions and API tokens no longer work. Entries assigned to it stay so until handed on: find them from its line below."
        }
        "enabled" => "Account enabled again. They can sign in with their password.",
        "withdrawn" => "Link withdrawn: it no longer works.",
        _ => return None,
    })
}

fn role_select(id: &str, current: Role) -> Markup {
    html! {
        select id=(id) name="role" {
            @for role in [Role::Agent, Role::Admin] {
                option value=(role.as_str()) selected[role == current] { (role_label(role)) }
            }
        }
    }
}

fn role_label(role: Role) -> &'static str {
    match role {
        Role::Admin => "Administrator",
        Role::Agent => "Agent",
    }
}

/// A one-time link's "Withdraw" button, naming what it takes back.
fn withdraw_button(id: i64, staff: &Staff, what: &str) -> Markup {
    html! {
        form.inline method="post" action={ "/console/staff/links/" (id) "/withdraw" } {
            (views::csrf(staff))
            button type="submit" { "Withdraw" span.visually-hidden { " " (what) } }
        }
    }
}

fn account_row(
    a: &Account,
    reset: Option<&PendingReset>,
    colleagues: &Colleagues,
    staff: &Staff,
    now: i64,
) -> Markup {
    let id = a.user.id;
    let me = id == staff.user.id;
    html! {
        tr {
            td {
                (a.user.name) @if me { " (you)" }
                // Renaming one of them is the way to make the console
                // name them without their emails.
                @if colleagues.shares_name(&a.user.name) {
                    br; span.muted { "Another colleague has this name too" }
                }
                details.rename {
                    summary { "Rename" span.visually-hidden { " " (a.user.name) } }
                    form.inline method="post" action={ "/console/staff/" (id) "/name" } {
                        (views::csrf(staff))
                        label.visually-hidden for={ "name-" (id) } { "New name for " (a.user.name) }
                        input id={ "name-" (id) } name="name" required maxlength=(name::MAX_CHARS)
                            value=(a.user.name);
                        button type="submit" { "Save" }
                    }
                }
            }
            td { (a.user.email) }
            td {
                @match a.last_sign_in_at {
                    Some(at) => { (local_time::when(at, now)) }
                    None => { span.muted { "never" } }
                }
            }
            td {
                form.inline method="post" action={ "/console/staff/" (id) "/role" } {
                    (views::csrf(staff))
                    label.visually-hidden for={ "role-" (id) } { "Role of " (a.user.name) }
                    (role_select(&format!("role-{id}"), a.user.role))
                    button type="submit" { "Change" }
                }
            }
            td {
                @match a.disabled_at {
                    Some(at) => {
                        span.badge.muted { "disabled " (local_time::when(at, now)) }
                        // Their entries stay theirs until handed on.
                        " " a href={ "/console?view=all&assignee=" (id) } { "Entries assigned to them" }
                    }
                    None => { "active" }
                }
                // A reset link is a key to the account while it lasts.
                @if let Some(r) = reset {
                    p.reset {
                        "Password reset link out"
                        @match &r.made_by {
                            Some(by) => { " (made by " (colleagues.name(r.made_by_id, by)) ")" }
                            None => { " (asked for at sign-in)" }
                        }
                        ", valid for another " (crate::review::workflow::human_duration(r.expires_at - now)) " "
                        (withdraw_button(r.id, staff, &format!("the password reset link for {}", a.user.name)))
                    }
                }
            }
            td.actions {
                @if a.disabled_at.is_some() {
                    form.inline method="post" action={ "/console/staff/" (id) "/enable" } {
                        (views::csrf(staff))
                        button type="submit" { "Enable" }
                    }
                } @else if !me {
                    form.inline method="post" action={ "/console/staff/" (id) "/disable" } {
                        (views::csrf(staff))
                        button type="submit" { "Disable" }
                    }
                    form.inline method="post" action={ "/console/staff/" (id) "/reset" } {
                        (views::csrf(staff))
                        button type="submit" { "Password reset link" }
                    }
                }
            }
        }
    }
}

fn invites(pending: &[PendingInvite], colleagues: &Colleagues, staff: &Staff, now: i64) -> Markup {
    html! {
        @if !pending.is_empty() {
            h2 { "Invitations not yet accepted" }
            ul.invites {
                @for p in pending {
                    li {
                        (p.email) " as " (role_label(p.role).to_lowercase())
                        ", invited " (local_time::when(p.created_at, now))
                        @if let Some(by) = &p.invited_by { " by " (colleagues.name(p.invited_by_id, by)) }
                        ", valid for another "
                        (crate::review::workflow::human_duration(p.expires_at - now)) " "
                        // Sent to the wrong address, or the link went
                        // further than meant: it can be taken back.
                        (withdraw_button(p.id, staff, &format!("the invitation for {}", p.email)))
                    }
                }
            }
        }
    }
}

/// What the page shows besides the lists.
enum Outcome<'a> {
    /// A confirmation, by its key in the address.
    Done(&'a str),
    /// A link made just now.
    Made(&'a Made),
    /// An invitation that was refused, as typed, with the reason.
    Invite(&'a InviteForm, &'a str),
    /// A change to an account that was refused, with the reason.
    Refused(&'a str),
}

async fn render(
    state: &AppState,
    staff: &Staff,
    outcome: Outcome<'_>,
) -> Result<Html<String>, ConsoleError> {
    let now = state.clock.now_millis();
    let (done, made, sent, refused) = match outcome {
        Outcome::Done(key) => (done_text(key), None, None, None),
        Outcome::Made(made) => (None, Some(made), None, None),
        Outcome::Invite(form, why) => (None, None, Some((form, why)), None),
        Outcome::Refused(why) => (None, None, None, Some(why)),
    };
    let typed = sent.map(|(form, _)| form);
    let typed_role = typed
        .and_then(|f| Role::parse(&f.role))
        .unwrap_or(Role::Agent);
    let (accounts, pending, resets) = tokio::try_join!(
        state.store.accounts(),
        state.store.pending_invites(now),
        state.store.pending_resets(now)
    )?;
    let colleagues = Colleagues::new(accounts);
    let body = html! {
        h1 { "Staff" }
        @if let Some(text) = done {
            p.notice role="status" { (text) }
        }
        (views::refusal(refused, "staff-problem"))
        @if let Some(made) = made {
            section.notice role="status" {
                h2 { @if made.invite { "Invitation for " } @else { "Password reset link for " } (made.whom) }
                p { "Give them this link; it works once, for 72 hours"
                    @if made.emailed { ", and has been emailed to them" } "." }
                p { code.secret { (made.url) } }
            }
        }
        section.panel {
            h2 { "Invite a colleague" }
            form.stack method="post" action="/console/staff/invite" {
                (views::csrf(staff))
                (views::refusal(sent.map(|(_, why)| why), "invite-problem"))
                label for="invite-email" { "Email" }
                input #invite-email type="email" name="email" required maxlength=(earshot_protocol::limits::EMAIL_MAX)
                    value=(typed.map_or("", |f| f.email.as_str()));
                label for="invite-name" { "Name (they can change it)" }
                input #invite-name name="name" maxlength=(name::MAX_CHARS)
                    value=(typed.map_or("", |f| f.name.as_str()));
                label for="invite-role" { "Role" }
                (role_select("invite-role", typed_role))
                button.primary type="submit" { "Create invitation link" }
            }
        }
        (invites(&pending, &colleagues, staff, now))
        h2 { "Accounts" }
        (views::scrolls("Accounts", html! {
            table {
                (views::headings(["Name", "Email", "Last signed in", "Role", "State"], true))
                tbody {
                    @for a in colleagues.all() {
                        (account_row(a, resets.iter().find(|r| r.user_id == a.user.id), &colleagues, staff, now))
                    }
                }
            }
        }))
        p.muted { "A disabled colleague cannot sign in and their API tokens stop working; their name stays on past timeline events. The last active administrator cannot be disabled or made an agent." }
    };
    Ok(views::page("Staff", staff, "/console/staff", body))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DoneQuery {
    done: String,
}

pub async fn page(
    staff: Staff,
    State(state): State<AppState>,
    NoticeQuery(query): NoticeQuery<DoneQuery>,
) -> Result<Html<String>, ConsoleError> {
    staff.require_admin()?;
    let outcome = Outcome::Done(&query.done);
    render(&state, &staff, outcome).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct InviteForm {
    email: String,
    name: String,
    role: String,
}

impl FormLimit for InviteForm {
    const MAX_BYTES: usize =
        (earshot_protocol::limits::EMAIL_MAX + name::MAX_CHARS) * BYTES_PER_CHAR + FORM_OVERHEAD;
}

fn parse_role(raw: &str) -> Result<Role, ConsoleError> {
    Role::parse(raw)
        .ok_or_else(|| ConsoleError::Invalid("Choose agent or administrator.".to_owned()))
}

/// Stores a new link and emails it when email is set up; returns what the
/// admin is shown.
async fn make_link(
    state: &AppState,
    staff: &Staff,
    purpose: LinkPurpose,
) -> Result<Made, ConsoleError> {
    let secret = crate::ids::secret(32);
    let now = state.clock.now_millis();
    let (whom, to, invite) = match &purpose {
        LinkPurpose::Invite { email, .. } => (email.clone(), email.clone(), true),
        LinkPurpose::Reset { user } => (user.name.clone(), user.email.clone(), false),
    };
    state
        .store
        .add_account_link(NewLink {
            hash: link_hash(&secret),
            purpose,
            created_by: staff.user.id,
            asked_by_owner: false,
            at: now,
            expires_at: now + LINK_LIFETIME_MS,
        })
        .await?;
    let url = format!("{}/console/link/{secret}", state.public_url);
    let emailed = match &state.mailer {
        Some(mailer) => {
            let mail = AccountLinkMail {
                to,
                by: Some(staff.user.name.clone()),
                url: url.clone(),
                invite,
                valid_hours: LINK_LIFETIME_MS / 3_600_000,
            }
            .outgoing();
            match mailer.send(&mail).await {
                Ok(()) => true,
                Err(e) => {
                    tracing::warn!(error = %e, "an account link could not be emailed; the admin has it");
                    false
                }
            }
        }
        None => false,
    };
    Ok(Made {
        whom,
        url,
        emailed,
        invite,
    })
}

pub async fn invite(
    State(state): State<AppState>,
    StaffForm { staff, form }: StaffForm<InviteForm>,
) -> Result<Response, ConsoleError> {
    staff.require_admin()?;
    let made = async {
        let email = form.email.trim();
        if earshot_protocol::submission::Email::parse(email).is_err() {
            return Err(ConsoleError::Invalid(
                "Enter a valid email address.".to_owned(),
            ));
        }
        // The invitee may leave it for the one invited to give.
        let name = match form.name.trim() {
            "" => String::new(),
            typed => StaffName::parse(typed)
                .map_err(|_| {
                    ConsoleError::Invalid("A name is one line of up to 100 characters.".to_owned())
                })?
                .into_inner(),
        };
        let role = parse_role(&form.role)?;
        let purpose = LinkPurpose::Invite {
            email: email.to_owned(),
            name,
            role,
        };
        let made = make_link(&state, &staff, purpose).await?;
        Ok((made, role))
    };
    match made.await {
        Ok((made, role)) => {
            tracing::info!(role = role.as_str(), "colleague invited");
            Ok(render(&state, &staff, Outcome::Made(&made))
                .await?
                .into_response())
        }
        Err(error) => {
            error
                .form_again(|why| async move {
                    render(&state, &staff, Outcome::Invite(&form, &why)).await
                })
                .await
        }
    }
}

/// A refused change to an account comes back as the Staff page with the
/// reason, not as a bare error page.
async fn refused(
    state: &AppState,
    staff: &Staff,
    error: ConsoleError,
) -> Result<Response, ConsoleError> {
    error
        .form_again(|why| async move { render(state, staff, Outcome::Refused(&why)).await })
        .await
}

/// The id in the address (a colleague's, a link's); any other path is not found.
fn path_id(path: Result<Path<i64>, PathRejection>) -> Result<i64, ConsoleError> {
    path.map(|Path(id)| id).map_err(|_| ConsoleError::NotFound)
}

async fn account_of(state: &AppState, id: i64) -> Result<User, ConsoleError> {
    state
        .store
        .accounts()
        .await?
        .into_iter()
        .find(|a| a.user.id == id && a.disabled_at.is_none())
        .map(|a| a.user)
        .ok_or(ConsoleError::NotFound)
}

pub async fn reset(
    State(state): State<AppState>,
    path: Result<Path<i64>, PathRejection>,
    StaffForm { staff, .. }: StaffForm<Empty>,
) -> Result<Response, ConsoleError> {
    staff.require_admin()?;
    let user = account_of(&state, path_id(path)?).await?;
    let made = make_link(&state, &staff, LinkPurpose::Reset { user }).await?;
    Ok(render(&state, &staff, Outcome::Made(&made))
        .await?
        .into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RoleForm {
    role: String,
}

impl FormLimit for RoleForm {
    const MAX_BYTES: usize = FORM_OVERHEAD;
}

pub async fn role(
    State(state): State<AppState>,
    path: Result<Path<i64>, PathRejection>,
    StaffForm { staff, form }: StaffForm<RoleForm>,
) -> Result<Response, ConsoleError> {
    staff.require_admin()?;
    let id = path_id(path)?;
    let changed = async {
        let role = parse_role(&form.role)?;
        state
            .store
            .set_role(id, role, Some(staff.user.id), state.clock.now_millis())
            .await?;
        Ok::<_, ConsoleError>(role)
    };
    match changed.await {
        Ok(role) => {
            tracing::info!(user_id = id, role = role.as_str(), "role changed");
            Ok(Redirect::to("/console/staff?done=role").into_response())
        }
        Err(error) => refused(&state, &staff, error).await,
    }
}

/// An administrator gives a colleague another name (a typo in an
/// invitation, a name change), as `earshot user rename` does.
pub async fn rename(
    State(state): State<AppState>,
    path: Result<Path<i64>, PathRejection>,
    StaffForm { staff, form }: StaffForm<super::account::NameForm>,
) -> Result<Response, ConsoleError> {
    staff.require_admin()?;
    let id = path_id(path)?;
    let renamed = async {
        let name = StaffName::parse(&form.name)
            .map_err(|e| ConsoleError::Invalid(format!("{}.", capitalise(&e.to_string()))))?;
        state
            .store
            .rename_user(
                id,
                name.into_inner(),
                Some(staff.user.id),
                state.clock.now_millis(),
            )
            .await?;
        Ok::<_, ConsoleError>(())
    };
    match renamed.await {
        Ok(()) => {
            tracing::info!(user_id = id, "colleague renamed");
            Ok(Redirect::to("/console/staff?done=name").into_response())
        }
        Err(error) => refused(&state, &staff, error).await,
    }
}

async fn set_disabled(
    state: &AppState,
    staff: &Staff,
    id: i64,
    disabled: bool,
) -> Result<Response, ConsoleError> {
    staff.require_admin()?;
    let changed = async {
        if disabled && id == staff.user.id {
            return Err(ConsoleError::Invalid(
                "You cannot disable your own account: ask another administrator.".to_owned(),
            ));
        }
        state
            .store
            .set_disabled(id, disabled, Some(staff.user.id), state.clock.now_millis())
            .await?;
        Ok(())
    };
    if let Err(error) = changed.await {
        return refused(state, staff, error).await;
    }
    tracing::info!(user_id = id, disabled, "account state changed");
    let done = if disabled { "disabled" } else { "enabled" };
    Ok(Redirect::to(&format!("/console/staff?done={done}")).into_response())
}

pub async fn disable(
    State(state): State<AppState>,
    path: Result<Path<i64>, PathRejection>,
    StaffForm { staff, .. }: StaffForm<Empty>,
) -> Result<Response, ConsoleError> {
    set_disabled(&state, &staff, path_id(path)?, true).await
}

pub async fn enable(
    State(state): State<AppState>,
    path: Result<Path<i64>, PathRejection>,
    StaffForm { staff, .. }: StaffForm<Empty>,
) -> Result<Response, ConsoleError> {
    set_disabled(&state, &staff, path_id(path)?, false).await
}

/// Takes back an invitation or a password reset link not yet used: it
/// stops working.
pub async fn withdraw(
    State(state): State<AppState>,
    path: Result<Path<i64>, PathRejection>,
    StaffForm { staff, .. }: StaffForm<Empty>,
) -> Result<Response, ConsoleError> {
    staff.require_admin()?;
    let id = path_id(path)?;
    let now = state.clock.now_millis();
    match state.store.withdraw_link(id, staff.user.id, now).await? {
        Some(_) => {
            tracing::info!(link_id = id, "one-time link withdrawn");
            Ok(Redirect::to("/console/staff?done=withdrawn").into_response())
        }
        None => {
            let why = ConsoleError::Invalid(
                "That link can no longer be withdrawn: it was used, replaced or has expired."
                    .to_owned(),
            );
            refused(&state, &staff, why).await
        }
    }
}
