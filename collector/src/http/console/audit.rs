//! "Audit log" (administrators): who changed what outside the normal flow
//! of feedback (staff and site administration, a person's data exported or
//! erased), newest first, filterable and downloadable as CSV.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use maud::html;
use serde::Deserialize;

use super::{ConsoleError, Staff, views};
use crate::export::csv_cell;
use crate::http::AppState;
use crate::store::AuditEntry;

/// Lines shown on the page; the CSV has more.
const SHOWN: usize = 200;
const CSV_MAX: usize = 100_000;

/// The filter choices: (query value, action prefix, label).
const AREAS: [(&str, &str, &str); 7] = [
    ("staff", "staff.", "Staff accounts"),
    ("site", "site.", "Sites"),
    ("webhook", "webhook.", "Webhooks"),
    ("token", "token.", "API tokens"),
    ("entries", "entries.", "Bulk changes"),
    ("person", "person.", "A person's data"),
    ("retention", "retention.", "Retention"),
];

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AuditQuery {
    area: String,
}

fn prefix(query: &AuditQuery) -> Option<String> {
    AREAS
        .iter()
        .find(|(value, ..)| *value == query.area)
        .map(|(_, prefix, _)| (*prefix).to_owned())
}

fn who(entry: &AuditEntry) -> &str {
    entry.actor.as_deref().unwrap_or("command line")
}

pub async fn page(
    staff: Staff,
    State(state): State<AppState>,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Html<String>, ConsoleError> {
    staff.require_admin()?;
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let entries = state.store.audit_log(prefix(&query), SHOWN).await?;
    let now = state.clock.now_millis();
    let csv = if query.area.is_empty() {
        "/console/audit.csv".to_owned()
    } else {
        format!("/console/audit.csv?area={}", query.area)
    };
    let body = html! {
        h1 { "Audit log" }
        p.muted { "Changes to staff accounts and sites, and a person's data exported or erased: who, when and what, never the content of feedback." }
        form.filters method="get" action="/console/audit" {
            label {
                span { "Show" }
                select name="area" {
                    option value="" selected[query.area.is_empty()] { "Everything" }
                    @for (value, _, label) in AREAS {
                        option value=(value) selected[query.area == value] { (label) }
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
                                td { (views::when(e.at, now)) }
                                td { (who(e)) }
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
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Response, ConsoleError> {
    staff.require_admin()?;
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let entries = state.store.audit_log(prefix(&query), CSV_MAX).await?;
    let mut out = String::from("at,who,action,subject,detail\r\n");
    for e in &entries {
        for (i, cell) in [
            crate::clock::rfc3339(e.at).as_str(),
            who(e),
            e.action.as_str(),
            e.subject.as_str(),
            e.detail.as_deref().unwrap_or_default(),
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
