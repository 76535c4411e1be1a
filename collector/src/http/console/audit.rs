//! "Audit log" (administrators): who changed what outside the normal flow
//! of feedback (staff and site administration, a person's data exported or
//! erased), newest first, filterable and downloadable as CSV.

use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use maud::html;
use serde::Deserialize;

use super::{ConsoleError, PageQuery, Staff, views};
use crate::colleagues::Colleagues;
use crate::export::csv_cell;
use crate::http::AppState;
use crate::http::local_time;
use crate::store::AuditEntry;

/// Lines shown on the page; the CSV has more.
const SHOWN: usize = 200;
const CSV_MAX: usize = 100_000;

/// One choice of the filter.
#[derive(Debug)]
struct Area {
    /// In the address.
    value: &'static str,
    /// What its actions start with.
    prefix: &'static str,
    label: &'static str,
}

const fn area_of(value: &'static str, prefix: &'static str, label: &'static str) -> Area {
    Area {
        value,
        prefix,
        label,
    }
}

const AREAS: [Area; 7] = [
    area_of("staff", "staff.", "Staff accounts"),
    area_of("site", "site.", "Sites"),
    area_of("webhook", "webhook.", "Webhooks"),
    area_of("token", "token.", "API tokens"),
    area_of("entries", "entries.", "Bulk changes"),
    area_of("person", "person.", "A person's data"),
    area_of("retention", "retention.", "Retention"),
];

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AuditQuery {
    area: String,
}

/// The area asked for; `None` for everything. One not in the list is
/// refused: taken as "everything" it would show (and download) more than
/// was asked for.
fn area(query: &AuditQuery) -> Result<Option<&'static Area>, ConsoleError> {
    if query.area.is_empty() {
        return Ok(None);
    }
    AREAS
        .iter()
        .find(|a| a.value == query.area)
        .map(Some)
        .ok_or_else(|| {
            ConsoleError::Invalid(
                "The audit log has no such area: choose one from the list.".to_owned(),
            )
        })
}

fn who(entry: &AuditEntry) -> &str {
    entry.actor.as_deref().unwrap_or("command line")
}

/// [`who`], with the email where another account bears the name.
fn who_of(entry: &AuditEntry, colleagues: &Colleagues) -> String {
    colleagues.name(entry.actor_id, who(entry))
}

pub async fn page(
    staff: Staff,
    State(state): State<AppState>,
    PageQuery(query): PageQuery<AuditQuery>,
) -> Result<Html<String>, ConsoleError> {
    staff.require_admin()?;
    let area = area(&query)?;
    let (entries, accounts) = tokio::try_join!(
        state
            .store
            .audit_log(area.map(|a| a.prefix.to_owned()), SHOWN),
        state.store.accounts()
    )?;
    let colleagues = Colleagues::new(accounts);
    let now = state.clock.now_millis();
    let csv = match area {
        None => "/console/audit.csv".to_owned(),
        Some(area) => format!("/console/audit.csv?area={}", area.value),
    };
    let body = html! {
        h1 { "Audit log" }
        p.muted { "Changes to staff accounts and sites, and a person's data exported or erased: who, when and what, never the content of feedback." }
        form.filters method="get" action="/console/audit" {
            label {
                span { "Show" }
                select name="area" {
                    option value="" selected[area.is_none()] { "Everything" }
                    @for a in &AREAS {
                        option value=(a.value) selected[area.is_some_and(|s| s.value == a.value)] { (a.label) }
                    }
                }
            }
            button type="submit" { "Apply" }
        }
        p { a href=(csv) download { "Download as CSV" } }
        @if entries.is_empty() {
            p.empty { "Nothing recorded yet." }
        } @else {
            (views::scrolls("Audit log", html! {
                table {
                    (views::headings(["When", "Who", "What", "Subject", "Detail"], false))
                    tbody {
                        @for e in &entries {
                            tr {
                                td { (local_time::when(e.at, now)) }
                                td { (who_of(e, &colleagues)) }
                                td { code { (e.action) } }
                                td { (e.subject) }
                                td { (e.detail.as_deref().unwrap_or_default()) }
                            }
                        }
                    }
                }
            }))
        }
    };
    Ok(views::page("Audit log", &staff, "/console/audit", body))
}

pub async fn csv(
    staff: Staff,
    State(state): State<AppState>,
    PageQuery(query): PageQuery<AuditQuery>,
) -> Result<Response, ConsoleError> {
    staff.require_admin()?;
    let prefix = area(&query)?.map(|a| a.prefix.to_owned());
    let entries = state.store.audit_log(prefix, CSV_MAX).await?;
    // The address last, so tools reading the first five columns by
    // position read them as before.
    let mut out = String::from("at,who,action,subject,detail,who_email\r\n");
    for e in &entries {
        for (i, cell) in [
            crate::clock::rfc3339(e.at).as_str(),
            who(e),
            e.action.as_str(),
            e.subject.as_str(),
            e.detail.as_deref().unwrap_or_default(),
            e.actor_email.as_deref().unwrap_or_default(),
        ]
        .into_iter()
        .enumerate()
        {
            if i > 0 {
                out.push(',');
            }
            csv_cell(cell, &mut out);
        }
        out.push_str("\r\n");
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"earshot-audit.csv\"",
            ),
        ],
        out,
    )
        .into_response())
}
