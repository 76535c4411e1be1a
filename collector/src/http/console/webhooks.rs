//! Webhook endpoints in the console (administrators): add one to a site,
//! see every delivery and attempt, redeliver, rotate the secret, turn a
//! disabled endpoint back on, remove it. Secrets are shown once, when made.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::extract::{BYTES_PER_CHAR, FORM_OVERHEAD, FormLimit};
use super::login::Empty;
use super::sites::SiteDraft;
use super::{ConsoleError, Staff, StaffForm, views};
use crate::http::AppState;
use crate::http::local_time::moment;
use crate::store::Webhook;
use crate::webhooks::sign::SigningSecret;
use crate::webhooks::{EndpointUrl, EventType, Requested, deliver, guard};

/// Deliveries listed on an endpoint's page.
const DELIVERIES_SHOWN: i64 = 50;

/// An endpoint's line on the Sites page.
pub fn summary(w: &Webhook, allow_private: bool) -> Markup {
    let origin = EndpointUrl::parse(&w.url)
        .map(|u| u.origin())
        .unwrap_or_default();
    html! {
        li {
            a href={ "/console/webhooks/" (w.public_id) } { (origin) "/…" }
            " · " (w.format) " · " (if w.events == "*" { "all events" } else { &w.events })
            " · " span class={ "state-" (w.state) } { (w.state) }
            @if !allow_private && guard::private_host(&w.url) {
                " · " span.late { "blocked: a private address" }
            }
            @if w.pending > 0 { " · " (w.pending) " waiting" }
        }
    }
}

/// The form that adds an endpoint to `site_id`; open, filled in and with
/// the reason, when what was sent was refused.
pub fn add_form(staff: &Staff, site_id: i64, sent: Option<(&AddForm, &str)>) -> Markup {
    let typed = sent.map(|(form, _)| form);
    let format = typed.map_or("standard", |f| f.format.as_str());
    let problem = format!("hook-problem-{site_id}");
    html! {
        details open[sent.is_some()] {
            summary { "Add a webhook" }
            form.stack method="post" action={ "/console/sites/" (site_id) "/webhooks" } {
                (views::csrf(staff))
                (views::refusal(sent.map(|(_, why)| why), &problem))
                label for={ "hook-url-" (site_id) } { "URL (http or https)" }
                input id={ "hook-url-" (site_id) } type="url" name="url" required maxlength="2048"
                    placeholder="https://hooks.example.com/earshot"
                    value=(typed.map_or("", |f| f.url.as_str()))
                    aria-describedby=[sent.map(|_| problem.as_str())];
                label for={ "hook-format-" (site_id) } { "Format" }
                select id={ "hook-format-" (site_id) } name="format" {
                    option value="standard" selected[format != "slack"] { "Standard Webhooks (signed JSON)" }
                    option value="slack" selected[format == "slack"] { "Slack or Mattermost incoming webhook" }
                }
                fieldset {
                    legend { "Events (none ticked: all)" }
                    @for event in EventType::ALL {
                        label.check {
                            input type="checkbox" name="event" value=(event.as_str())
                                checked[typed.is_some_and(|f| f.event.iter().any(|e| e == event.as_str()))];
                            " " code { (event.as_str()) }
                        }
                    }
                }
                label.check {
                    input type="checkbox" name="include_email" value="on"
                        checked[typed.is_some_and(|f| f.include_email.is_some())];
                    " Include the customer's email address"
                }
                button type="submit" { "Add webhook" }
            }
        }
    }
}

fn secret_shown(staff: &Staff, w: &Webhook, secret: &SigningSecret, what: &str) -> Html<String> {
    let body = html! {
        p { a href="/console/sites" { "← Sites" } }
        h1 { (what) }
        p { "Endpoint " code { (w.public_id) } " on " (w.site_name) " posts to " code { (w.url) } "." }
        p { strong { "Signing secret. It is shown only now:" } }
        p.secret { (secret.expose()) }
        p.muted {
            "Verify each request as the Standard Webhooks specification says: the "
            code { "webhook-signature" } " header holds " code { "v1," } " and the base64 HMAC-SHA256 of "
            code { "{webhook-id}.{webhook-timestamp}.{body}" } " keyed with the bytes after " code { "whsec_" } "."
        }
        p { a href={ "/console/webhooks/" (w.public_id) } { "Deliveries of this endpoint" } }
    };
    views::page(what, staff, "/console/sites", body)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AddForm {
    url: String,
    format: String,
    event: Vec<String>,
    include_email: Option<String>,
}

impl FormLimit for AddForm {
    const MAX_BYTES: usize = 2_048 * BYTES_PER_CHAR + 4 * FORM_OVERHEAD;
}

/// Why an endpoint on this network is refused: every delivery to it would
/// be blocked, which an administrator would otherwise learn only from a
/// failed attempt in the log.
const PRIVATE_HOST: &str = "This URL is a loopback or private-network address, which webhooks may \
     not reach: use the receiver's public address, or start the collector with \
     --allow-private-webhooks for receivers on your own network.";

/// Why deliveries to an endpoint already added all fail.
const BLOCKED_HOST: &str = "Deliveries to this webhook are blocked: its address is loopback or on \
     a private network, which webhooks may not reach. Use the receiver's public address, or start \
     the collector with --allow-private-webhooks for receivers on your own network; then \
     redeliver.";

pub async fn add(
    State(state): State<AppState>,
    path: Result<Path<i64>, PathRejection>,
    StaffForm { staff, form }: StaffForm<AddForm>,
) -> Result<Response, ConsoleError> {
    staff.require_admin()?;
    let Path(site_id) = path.map_err(|_| ConsoleError::NotFound)?;
    let site = state
        .sites
        .by_id(site_id)
        .await?
        .ok_or(ConsoleError::NotFound)?;
    let added = async {
        let requested = Requested::parse(
            &form.url,
            &form.event,
            &form.format,
            form.include_email.is_some(),
        )
        .map_err(|e| ConsoleError::Invalid(super::error::capitalise(&e.to_string())))?;
        if requested.private_host() && !state.allow_private_webhooks {
            return Err(ConsoleError::Invalid(PRIVATE_HOST.to_owned()));
        }
        let (webhook, secret) = requested.for_site(site.id);
        let webhook = state
            .store
            .add_webhook(webhook, Some(staff.user.id), state.clock.now_millis())
            .await?;
        Ok::<_, ConsoleError>((webhook, secret))
    };
    match added.await {
        Ok((webhook, secret)) => {
            tracing::info!(webhook = %webhook.public_id, site_id, "webhook added");
            Ok(secret_shown(&staff, &webhook, &secret, "Webhook added").into_response())
        }
        Err(error) => {
            error
                .form_again(|why| async move {
                    let draft = SiteDraft::Webhook(&form, &why);
                    super::sites::site_page(&state, &staff, site_id, Markup::default(), draft).await
                })
                .await
        }
    }
}

async fn endpoint(
    state: &AppState,
    staff: &Staff,
    path: Result<Path<String>, PathRejection>,
) -> Result<Webhook, ConsoleError> {
    staff.require_admin()?;
    let Path(id) = path.map_err(|_| ConsoleError::NotFound)?;
    state.store.webhook(id).await?.ok_or(ConsoleError::NotFound)
}

pub async fn page(
    staff: Staff,
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Html<String>, ConsoleError> {
    let w = endpoint(&state, &staff, path).await?;
    let deliveries = state
        .store
        .webhook_deliveries(w.id, DELIVERIES_SHOWN)
        .await?;
    let now = state.clock.now_millis();
    let base = format!("/console/webhooks/{}", w.public_id);
    // Added from the command line (which only warns), or a name that
    // resolves into this network: every attempt would fail the same way.
    let blocked = !state.allow_private_webhooks
        && (guard::private_host(&w.url)
            || deliveries
                .iter()
                .flat_map(|d| &d.attempts)
                .any(|a| a.error.as_deref() == Some(deliver::BLOCKED)));
    let body = html! {
        p { a href="/console/sites" { "← Sites" } }
        h1 { "Webhook " code { (w.public_id) } }
        @if blocked { p.late role="status" { (BLOCKED_HOST) } }
        dl.context {
            dt { "Site" } dd { (w.site_name) }
            dt { "URL" } dd { code { (w.url) } }
            dt { "Format" } dd { (w.format) }
            dt { "Events" } dd { (if w.events == "*" { "all" } else { &w.events }) }
            dt { "Customer email" } dd { (if w.include_email { "included" } else { "left out" }) }
            dt { "State" } dd {
                span class={ "state-" (w.state) } { (w.state) }
                @if let Some(reason) = &w.state_reason { " — " (reason) }
            }
            @if let Some(until) = w.previous_until.filter(|u| *u > now) {
                dt { "Rotation" } dd { "The previous secret also signs until " (moment(until)) }
            }
        }
        div.actions {
            @if w.state != "active" {
                form.inline method="post" action={ (base) "/enable" } {
                    (views::csrf(&staff)) button type="submit" { "Turn back on" }
                }
            }
            form.inline method="post" action={ (base) "/rotate" } {
                (views::csrf(&staff)) button type="submit" { "Rotate the signing secret" }
            }
            form.inline method="post" action={ (base) "/remove" } {
                (views::csrf(&staff)) button type="submit" { "Remove this webhook" }
            }
        }
        h2 { "Deliveries (newest first)" }
        @if deliveries.is_empty() { p.empty { "Nothing sent yet." } }
        (views::scrolls("Deliveries", html! {
            table {
                (views::headings(["Event", "Message", "State", "Attempts"], true))
                tbody {
                    @for d in &deliveries {
                        tr {
                            td { code { (d.event) } br; span.meta { (moment(d.created_at)) } }
                            td { code { (d.msg_id) } }
                            td {
                                (d.state)
                                @if d.state == "pending" && d.due_at > now { br; span.meta { "next " (moment(d.due_at)) } }
                            }
                            td {
                                table.attempts {
                                    @for a in &d.attempts {
                                        tr {
                                            td { (moment(a.at)) }
                                            td { (a.status.map(|s| s.to_string()).unwrap_or_else(|| "—".to_owned())) }
                                            td { (a.latency_ms) " ms" }
                                            td { (a.error.as_deref().unwrap_or("")) }
                                        }
                                    }
                                }
                            }
                            td {
                                form.inline method="post" action={ (base) "/deliveries/" (d.id) "/redeliver" } {
                                    (views::csrf(&staff)) button type="submit" { "Redeliver" }
                                }
                            }
                        }
                    }
                }
            }
        }))
    };
    Ok(views::page("Webhook", &staff, "/console/sites", body))
}

pub async fn rotate(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    StaffForm { staff, .. }: StaffForm<Empty>,
) -> Result<Response, ConsoleError> {
    let w = endpoint(&state, &staff, path).await?;
    let secret = SigningSecret::generate();
    state
        .store
        .rotate_webhook(
            w.public_id.clone(),
            secret.expose().to_owned(),
            Some(staff.user.id),
            state.clock.now_millis(),
        )
        .await?;
    Ok(secret_shown(&staff, &w, &secret, "New signing secret").into_response())
}

pub async fn remove(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    StaffForm { staff, .. }: StaffForm<Empty>,
) -> Result<Response, ConsoleError> {
    let w = endpoint(&state, &staff, path).await?;
    state
        .store
        .remove_webhook(
            w.public_id.clone(),
            Some(staff.user.id),
            state.clock.now_millis(),
        )
        .await?;
    tracing::info!(webhook = %w.public_id, "webhook removed");
    Ok(Redirect::to("/console/sites").into_response())
}

pub async fn enable(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    StaffForm { staff, .. }: StaffForm<Empty>,
) -> Result<Response, ConsoleError> {
    let w = endpoint(&state, &staff, path).await?;
    state
        .store
        .enable_webhook(
            w.public_id.clone(),
            Some(staff.user.id),
            state.clock.now_millis(),
        )
        .await?;
    Ok(Redirect::to(&format!("/console/webhooks/{}", w.public_id)).into_response())
}

pub async fn redeliver(
    State(state): State<AppState>,
    path: Result<Path<(String, i64)>, PathRejection>,
    StaffForm { staff, .. }: StaffForm<Empty>,
) -> Result<Response, ConsoleError> {
    staff.require_admin()?;
    let Path((id, delivery)) = path.map_err(|_| ConsoleError::NotFound)?;
    let w = state
        .store
        .webhook(id)
        .await?
        .ok_or(ConsoleError::NotFound)?;
    if !state
        .store
        .redeliver(w.id, delivery, state.clock.now_millis())
        .await?
    {
        return Err(ConsoleError::NotFound);
    }
    Ok(Redirect::to(&format!("/console/webhooks/{}", w.public_id)).into_response())
}
