//! Sites (administrators only): a searchable, paged list that stays fast
//! with thousands of sites, and a page per site to rename it, edit the
//! origins it accepts, its first-response target and response promise,
//! copy its embed snippet and manage its webhooks. Changes apply to the
//! running server at once and are recorded in the audit log.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::extract::{BYTES_PER_CHAR, FORM_OVERHEAD, FormLimit};
use super::{ConsoleError, NoticeQuery, PageQuery, Staff, StaffForm, views, webhooks};
use crate::directory::RejectedOrigins;
use crate::http::AppState;
use crate::http::local_time;
use crate::name::{self, SiteName};
use crate::origin::{OriginListError, OriginPattern};
use crate::response_terms::{
    FirstResponseTarget, PROMISE_MAX, ResponsePromise, TARGET_HOURS_MAX, TermsError,
};
use crate::server::snippet;
use crate::store::retention::{
    DEFAULT_SPAM_DAYS, MAX_DAYS as RETENTION_MAX_DAYS, Retention, parse_days,
};
use crate::store::{NewSite, SiteChange, SiteRow};

/// Origins one site may list, and the longest text of them all.
const ORIGINS_TEXT_MAX: usize = 10_000;
/// Sites per page of the list.
const PER_PAGE: usize = 50;
/// Longest search text.
const SEARCH_MAX: usize = 100;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    q: String,
    page: String,
    done: String,
}

fn last_feedback(row: &SiteRow, now: i64) -> Markup {
    html! {
        @match row.last_entry_at {
            Some(at) => { (local_time::when(at, now)) }
            None => { span.muted { "never" } }
        }
    }
}

fn refused_cell(refused: Option<&RejectedOrigins>) -> Markup {
    html! {
        @match refused.filter(|r| r.last_day > 0) {
            Some(r) => { span.late title={ "Latest: " (r.origins.join(", ")) } { (r.last_day) } }
            None => { span.muted { "0" } }
        }
    }
}

/// The form to add a site; open, filled in and with the reason, when what
/// was sent was refused.
fn add_form(staff: &Staff, sent: Option<(&NewSiteForm, &str)>) -> Markup {
    let typed = sent.map(|(form, _)| form);
    html! {
        details.panel open[sent.is_some()] {
            summary { "Add a site" }
            form.stack method="post" action="/console/sites" {
                (views::csrf(staff))
                (views::refusal(sent.map(|(_, why)| why), "new-site-problem"))
                label for="new-name" { "Name" }
                input #new-name name="name" required maxlength=(name::MAX_CHARS) placeholder="Fern & Fig shop"
                    value=(typed.map_or("", |f| f.name.as_str()));
                label for="new-origins" { "Pages allowed to send feedback (one origin per line)" }
                textarea #new-origins name="origins" rows="3" placeholder="https://shop.example.com\nhttps://*.example.com" {
                    (typed.map_or("", |f| f.origins.as_str()))
                }
                p.muted { "An origin is scheme, host and optional port, like " code { "https://shop.example.com" } "; " code { "*." } " allows subdomains and " code { ":*" } " any port." }
                button.primary type="submit" { "Add site" }
            }
        }
    }
}

pub async fn page(
    staff: Staff,
    State(state): State<AppState>,
    PageQuery(query): PageQuery<ListQuery>,
) -> Result<Html<String>, ConsoleError> {
    staff.require_admin()?;
    list_page(&state, &staff, &query, None).await
}

async fn list_page(
    state: &AppState,
    staff: &Staff,
    query: &ListQuery,
    sent: Option<(&NewSiteForm, &str)>,
) -> Result<Html<String>, ConsoleError> {
    let search: String = query.q.trim().chars().take(SEARCH_MAX).collect();
    let page = query
        .page
        .trim()
        .parse::<usize>()
        .ok()
        .filter(|p| *p >= 1)
        .unwrap_or(1);
    let listed = state
        .store
        .site_page(
            (!search.is_empty()).then(|| search.clone()),
            (page - 1).saturating_mul(PER_PAGE),
            PER_PAGE,
        )
        .await?;
    let now = state.clock.now_millis();
    // One read for the whole page, not one per site.
    let ids: Vec<i64> = listed.rows.iter().map(|r| r.id).collect();
    let refused = state.sites.rejected_origins(&ids, now).await?;
    let unknown = state.sites.unknown_keys(now);
    let pages = usize::try_from(listed.total)
        .unwrap_or(0)
        .div_ceil(PER_PAGE)
        .max(1);
    let link = |p: usize| {
        let mut pairs = vec![("page", p.to_string())];
        if !search.is_empty() {
            pairs.insert(0, ("q", search.clone()));
        }
        format!(
            "/console/sites?{}",
            serde_html_form::to_string(&pairs).unwrap_or_default()
        )
    };
    let body = html! {
        h1 { "Sites" }
        @match query.done.as_str() {
            "removed" => { p.notice role="status" { "Site removed with its feedback." } }
            "removing" => { p.notice role="status" { "Removing the site goes on in the background: it has many entries. It leaves this list when it is done." } }
            _ => {}
        }
        @if unknown.last_day > 0 {
            p.late role="status" #unknown-keys {
                (unknown.last_day) @if unknown.last_day == 1 { " submission" } @else { " submissions" }
                " in the last 24 hours named a site key no site has (counted by this collector since it started), latest: "
                (unknown.origins.join(", "))
                ". A page carries a snippet with a mistyped key, or one of a site removed since: give it the snippet of a site below."
            }
        }
        (add_form(staff, sent))
        form.filters role="search" method="get" action="/console/sites" {
            label { span { "Name or key" } input type="search" name="q" value=(search) maxlength=(SEARCH_MAX); }
            button type="submit" { "Search" }
        }
        p.muted {
            (listed.total) " " (if listed.total == 1 { "site" } else { "sites" })
            @if !search.is_empty() { " matching “" (search) "”" }
            @if pages > 1 { " · page " (page) " of " (pages) }
        }
        (views::scrolls("Sites", html! {
            table {
                thead { tr {
                    th scope="col" { "Site" }
                    th scope="col" { "Key" }
                    th scope="col" { "Accepts pages from" }
                    th scope="col" { "Last feedback" }
                    th scope="col" { abbr title="Feedback refused in the last 24 hours because the page's origin is not allowed" { "Refused (24 h)" } }
                } }
                tbody {
                    @for row in &listed.rows {
                        tr {
                            td { a href={ "/console/sites/" (row.id) } { (row.name) } }
                            td { code { (row.key) } }
                            td {
                                @let origins: Vec<&str> = row.origins.lines().filter(|l| !l.trim().is_empty()).collect();
                                @if origins.is_empty() { span.late { "none: no page can send" } }
                                @else { (origins.iter().take(3).copied().collect::<Vec<_>>().join(", ")) @if origins.len() > 3 { " +" (origins.len() - 3) } }
                            }
                            td { (last_feedback(row, now)) }
                            td { (refused_cell(refused.get(&row.id))) }
                        }
                    }
                }
            }
        }))
        nav.pages aria-label="Pages" {
            @if page > 1 { a href=(link(page - 1)) rel="prev" { "← Previous" } }
            @if page < pages { a href=(link(page + 1)) rel="next" { "Next →" } }
        }
    };
    Ok(views::page("Sites", staff, "/console/sites", body))
}

fn site_id(path: Result<Path<i64>, PathRejection>) -> Result<i64, ConsoleError> {
    path.map(|Path(id)| id).map_err(|_| ConsoleError::NotFound)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DoneQuery {
    done: String,
}

pub async fn detail(
    staff: Staff,
    State(state): State<AppState>,
    path: Result<Path<i64>, PathRejection>,
    NoticeQuery(query): NoticeQuery<DoneQuery>,
) -> Result<Html<String>, ConsoleError> {
    staff.require_admin()?;
    let id = site_id(path)?;
    let top = html! {
        @match query.done.as_str() {
            "added" => { p.notice role="status" { "Site added. Put the snippet below on its pages." } }
            "saved" => { p.notice role="status" { "Saved. The change applies now." } }
            "retention" => { p.notice role="status" { "Retention saved. The next sweep (within 10 minutes) applies it." } }
            _ => {}
        }
    };
    site_page(&state, &staff, id, top, SiteDraft::None).await
}

/// A form on a site's page that was sent and not taken, shown again as
/// typed.
pub(super) enum SiteDraft<'a> {
    None,
    /// The settings; their reason goes above the page.
    Settings(&'a SiteForm),
    /// A new webhook, with the reason it was refused.
    Webhook(&'a webhooks::AddForm, &'a str),
}

/// A site's page, with `top` (a confirmation, or why its settings were not
/// saved) under its name.
pub(super) async fn site_page(
    state: &AppState,
    staff: &Staff,
    id: i64,
    top: Markup,
    draft: SiteDraft<'_>,
) -> Result<Html<String>, ConsoleError> {
    let (sent, hook) = match draft {
        SiteDraft::None => (None, None),
        SiteDraft::Settings(form) => (Some(form), None),
        SiteDraft::Webhook(form, why) => (None, Some((form, why))),
    };
    let site = state
        .store
        .site_detail(id)
        .await?
        .ok_or(ConsoleError::NotFound)?;
    let hooks = state.store.webhooks().await?;
    let held = state
        .store
        .site_holdings(id)
        .await?
        .ok_or(ConsoleError::NotFound)?;
    let retention = state.store.retention(id).await?.unwrap_or(Retention {
        days: None,
        all: false,
        spam_days: DEFAULT_SPAM_DAYS,
    });
    let now = state.clock.now_millis();
    let refused = state
        .sites
        .rejected_origins(&[id], now)
        .await?
        .remove(&id)
        .unwrap_or_default();
    let name = sent.and_then(|f| f.name.as_deref()).unwrap_or(&site.name);
    let origins = sent
        .and_then(|f| f.origins.as_deref())
        .unwrap_or(&site.origins);
    let target = sent.map_or_else(
        || (site.first_response_minutes / 60).to_string(),
        |f| f.first_response_hours.clone(),
    );
    let promise = sent.map_or(site.response_promise.as_deref().unwrap_or_default(), |f| {
        f.response_promise.as_str()
    });
    let receipts = sent.map_or(site.receipt_email, |f| f.receipt_email.is_some());
    let body = html! {
        p { a href="/console/sites" { "← Sites" } }
        h1 { (site.name) }
        (top)
        p.muted { "Key " code { (site.key) } " · last feedback " (last_feedback(&site, now)) }
        @if refused.last_day > 0 {
            p.late role="status" {
                (refused.last_day) @if refused.last_day == 1 { " submission" } @else { " submissions" }
                " refused in the last 24 hours because the page is not allowed, latest from: "
                (refused.origins.join(", "))
                ". If those are your pages, add their origin below."
            }
        }
        section.panel {
            h2 { "Embed snippet" }
            p.muted { "Add this to every page that should show the feedback button." }
            @if let Some(origin) = crate::origin::blocked_on_https(&state.public_url, &site.origin_patterns().unwrap_or_default()) {
                p.late role="status" { (crate::origin::blocked_on_https_warning(&state.public_url, origin)) }
            }
            pre.snippet { code #snippet { (snippet(&state.public_url, &site.key)) } }
            button type="button" data-copy="snippet" hidden { "Copy snippet" }
        }
        section.panel {
            h2 { "Settings" }
            form.stack method="post" action={ "/console/sites/" (site.id) } {
                (views::csrf(staff))
                label for="name" { "Name" }
                input #name name="name" required maxlength=(name::MAX_CHARS) value=(name);
                label for="origins" { "Pages allowed to send feedback (one origin per line)" }
                textarea #origins name="origins" rows="4" { (origins) }
                p.muted { "Scheme, host and optional port, like " code { "https://shop.example.com" } "; " code { "*." } " allows subdomains and " code { ":*" } " any port. With none, only server-side integrations can send." }
                label for="target" { "First response within (hours)" }
                input #target type="number" name="first_response_hours" min="1" max=(TARGET_HOURS_MAX)
                    value=(target) required;
                label for="promise" { "What customers are told after sending" }
                input #promise name="response_promise" maxlength=(PROMISE_MAX)
                    value=(promise) placeholder="We answer within 1 business day";
                input type="hidden" name="receipt_email_shown" value="1";
                label.check {
                    input type="checkbox" name="receipt_email" value="on" aria-describedby="receipt-help"
                        checked[receipts];
                    " Email customers who leave an address a receipt, and word when it is closed or a promise kept"
                }
                p.muted #receipt-help {
                    "Their reference and the link to their status page, in their language, so closing the widget does not lose it; never their own words. At most 3 receipts a day to one address: anyone can type anyone's address. When their feedback is resolved or closed without a change, or a promise to them kept, they are told 5 minutes later, unless a reply told them (at most 3 of each a day to one address too)."
                    @if state.mailer.is_none() { " Email is not set up on this collector (--smtp-url), so none is sent until it is." }
                }
                button.primary type="submit" { "Save" }
            }
        }
        section.panel {
            h2 { "Retention" }
            p.muted { "Feedback nobody has touched for this long is deleted in the background, completely (as an erasure is), and the deletions are counted in the audit log. Days count from the last status change, reply, note, assignment or follow-up, so feedback closed today stays readable for its customer." }
            form.stack method="post" action={ "/console/sites/" (site.id) "/retention" } {
                (views::csrf(staff))
                label for="retention-days" { "Delete feedback untouched for (days; empty keeps it)" }
                input #retention-days type="number" name="retention_days" min="1" max=(RETENTION_MAX_DAYS)
                    value=[retention.days];
                label for="retention-scope" { "Which feedback" }
                select #retention-scope name="retention_scope" {
                    option value="closed" selected[!retention.all] { "Only resolved and won't fix" }
                    option value="all" selected[retention.all] { "All of it" }
                }
                label for="spam-days" { "Delete spam untouched for (days)" }
                input #spam-days type="number" name="spam_days" min="1" max=(RETENTION_MAX_DAYS)
                    value=(retention.spam_days) required;
                button type="submit" { "Save retention" }
            }
        }
        section.panel {
            h2 { "Webhooks" }
            ul {
                @for hook in hooks.iter().filter(|h| h.site_id == site.id) { (webhooks::summary(hook, state.allow_private_webhooks)) }
            }
            (webhooks::add_form(staff, site.id, hook))
        }
        (super::site_removal::section(staff, site.id, &site.key, &held))
    };
    Ok(views::page(&site.name, staff, "/console/sites", body))
}

/// Origins typed one per line, each checked by the rules `earshot site add
/// --origin` uses.
fn parse_origins(text: &str) -> Result<Vec<OriginPattern>, ConsoleError> {
    if text.chars().count() > ORIGINS_TEXT_MAX {
        return Err(ConsoleError::Invalid(
            "That is too much text for a list of origins.".to_owned(),
        ));
    }
    crate::origin::parse_list(text.lines()).map_err(|e| match e {
        OriginListError::Bad { index, raw, reason } => {
            ConsoleError::Invalid(format!("Line {}, “{raw}”: {reason}.", index + 1))
        }
        OriginListError::TooMany => {
            ConsoleError::Invalid(format!("{}.", super::error::capitalise(&e.to_string())))
        }
    })
}

/// A site's name by the rule every name follows, and no other site's
/// (`except` is the site being renamed).
async fn parse_name(
    state: &AppState,
    raw: &str,
    except: Option<i64>,
) -> Result<String, ConsoleError> {
    let name = SiteName::parse(raw)
        .map_err(|e| {
            ConsoleError::Invalid(format!("{}.", super::error::capitalise(&e.to_string())))
        })?
        .into_inner();
    if let Some(other) = state.store.site_named(&name, except).await? {
        return Err(ConsoleError::Invalid(format!(
            "A site named “{}” exists already (key {}): give this one another name.",
            other.name, other.key
        )));
    }
    Ok(name)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NewSiteForm {
    name: String,
    origins: String,
}

impl FormLimit for NewSiteForm {
    const MAX_BYTES: usize = (name::MAX_CHARS + ORIGINS_TEXT_MAX) * BYTES_PER_CHAR + FORM_OVERHEAD;
}

pub async fn add(
    State(state): State<AppState>,
    StaffForm { staff, form }: StaffForm<NewSiteForm>,
) -> Result<Response, ConsoleError> {
    staff.require_admin()?;
    let added = async {
        let name = parse_name(&state, &form.name, None).await?;
        let origins = parse_origins(&form.origins)?;
        let site = state
            .store
            .add_site_by(
                NewSite { name, origins },
                Some(staff.user.id),
                state.clock.now_millis(),
            )
            .await?;
        Ok::<_, ConsoleError>(site)
    };
    match added.await {
        Ok(site) => {
            state.sites.invalidate();
            tracing::info!(site = %site.key, "site added in the console");
            Ok(Redirect::to(&format!("/console/sites/{}?done=added", site.id)).into_response())
        }
        Err(error) => {
            error
                .form_again(|why| async move {
                    list_page(&state, &staff, &ListQuery::default(), Some((&form, &why))).await
                })
                .await
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SiteForm {
    /// Absent fields stay as they are.
    name: Option<String>,
    origins: Option<String>,
    first_response_hours: String,
    response_promise: String,
    /// The receipt checkbox was on the page: its absence then means off.
    receipt_email_shown: Option<String>,
    receipt_email: Option<String>,
}

impl FormLimit for SiteForm {
    const MAX_BYTES: usize =
        (name::MAX_CHARS + ORIGINS_TEXT_MAX + PROMISE_MAX) * BYTES_PER_CHAR + FORM_OVERHEAD;
}

pub async fn update(
    State(state): State<AppState>,
    path: Result<Path<i64>, PathRejection>,
    StaffForm { staff, form }: StaffForm<SiteForm>,
) -> Result<Response, ConsoleError> {
    staff.require_admin()?;
    let id = site_id(path)?;
    match change_site(&state, &staff, id, &form).await {
        Ok(()) => {
            // Not after the directory's next refresh: now.
            state.sites.invalidate();
            tracing::info!(site_id = id, "site settings changed");
            Ok(Redirect::to(&format!("/console/sites/{id}?done=saved")).into_response())
        }
        Err(error) => {
            error
                .form_again(|why| async move {
                    let top = views::refusal(Some(&why), "site-problem");
                    site_page(&state, &staff, id, top, SiteDraft::Settings(&form)).await
                })
                .await
        }
    }
}

async fn change_site(
    state: &AppState,
    staff: &Staff,
    id: i64,
    form: &SiteForm,
) -> Result<(), ConsoleError> {
    let refused = |e: TermsError| {
        ConsoleError::Invalid(format!("{}.", super::error::capitalise(&e.to_string())))
    };
    let target = FirstResponseTarget::parse_hours(&form.first_response_hours).map_err(refused)?;
    let promise = ResponsePromise::parse(&form.response_promise).map_err(refused)?;
    let name = match form.name.as_deref() {
        Some(raw) => Some(parse_name(state, raw, Some(id)).await?),
        None => None,
    };
    let change = SiteChange {
        name,
        origins: form.origins.as_deref().map(parse_origins).transpose()?,
        first_response_minutes: Some(target.minutes()),
        response_promise: Some(promise.into_inner()),
        receipt_email: form
            .receipt_email_shown
            .is_some()
            .then_some(form.receipt_email.is_some()),
    };
    if state
        .store
        .update_site(id, change, Some(staff.user.id), state.clock.now_millis())
        .await?
    {
        Ok(())
    } else {
        Err(ConsoleError::NotFound)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RetentionForm {
    retention_days: String,
    retention_scope: String,
    spam_days: String,
}

impl FormLimit for RetentionForm {
    const MAX_BYTES: usize = FORM_OVERHEAD;
}

fn days(raw: &str, what: &str) -> Result<Option<i64>, ConsoleError> {
    parse_days(raw).map_err(|e| ConsoleError::Invalid(format!("{what} is {e}.")))
}

pub async fn retention(
    State(state): State<AppState>,
    path: Result<Path<i64>, PathRejection>,
    StaffForm { staff, form }: StaffForm<RetentionForm>,
) -> Result<Response, ConsoleError> {
    staff.require_admin()?;
    let id = site_id(path)?;
    let all = match form.retention_scope.as_str() {
        "all" => true,
        "closed" | "" => false,
        _ => {
            return Err(ConsoleError::Invalid(
                "Choose resolved and won't fix only, or all feedback.".to_owned(),
            ));
        }
    };
    let retention = Retention {
        days: days(&form.retention_days, "The retention")?,
        all,
        spam_days: days(&form.spam_days, "Spam retention")?.unwrap_or(DEFAULT_SPAM_DAYS),
    };
    if !state
        .store
        .set_retention(id, retention, Some(staff.user.id), state.clock.now_millis())
        .await?
    {
        return Err(ConsoleError::NotFound);
    }
    Ok(Redirect::to(&format!("/console/sites/{id}?done=retention")).into_response())
}
