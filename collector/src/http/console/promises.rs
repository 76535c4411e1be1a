//! Promises and response times: "do what you say", measured.

use std::collections::HashMap;

use axum::extract::State;
use axum::response::Html;
use maud::{Markup, html};

use serde::Deserialize;

use super::{ConsoleError, PageQuery, Staff, site_choice, views};
use crate::colleagues::Colleagues;
use crate::http::AppState;
use crate::http::local_time;
use crate::report::{quantile, week_of};
use crate::review::filter::{Cursor, joined};
use crate::review::workflow::{DAY, PromiseState, human_duration, kept_on_time_rate};
use crate::store::{OpenPromises, Period, PromiseRow, PromiseScope};

/// How far back the promise figures look.
const WINDOW_DAYS: i64 = 90;
/// How many whole weeks before this one the response-time figures cover.
const RESPONSE_WEEKS: i64 = 4;

/// What the rows of a promises table are read with.
struct Rows<'a> {
    now: i64,
    colleagues: &'a Colleagues,
    /// Site names by id where the page spans several sites: a column then
    /// says whose each promise is.
    site_names: Option<HashMap<i64, &'a str>>,
}

fn promise_table(rows: &[PromiseRow], settled: bool, with: &Rows<'_>) -> Markup {
    let label = if settled {
        "Settled promises"
    } else {
        "Open promises"
    };
    let site = |p: &PromiseRow| -> Option<&str> {
        let names = with.site_names.as_ref()?;
        Some(
            p.site_id
                .and_then(|id| names.get(&id).copied())
                .unwrap_or("—"),
        )
    };
    html! {
        (views::scrolls(label, html! {
            table.promises {
                (views::headings(
                    ["Entry"]
                        .into_iter()
                        .chain(with.site_names.is_some().then_some("Site"))
                        .chain(["Promise", "Due", "State", "Made by"])
                        .chain(settled.then_some("Settled")),
                    false,
                ))
                tbody {
                    @for p in rows {
                        @let state = p.state(with.now);
                        tr class=[(state == PromiseState::Overdue).then_some("overdue")] {
                            td.reference { a href={ "/console/entries/" (p.entry_public_id) "#promises" } { (p.entry_reference) } }
                            @if let Some(site) = site(p) { td { (site) } }
                            td { (p.text) }
                            td { (local_time::day(p.due_at)) }
                            td { span class={ "badge " (state.css()) } { (state.label()) } }
                            td {
                                @match &p.made_by {
                                    Some(name) => (with.colleagues.name(p.made_by_id, name)),
                                    None => "—",
                                }
                            }
                            @if settled { td { (p.settled_at.map(views::date).unwrap_or_default()) } }
                        }
                    }
                }
            }
        }))
    }
}

/// The Promises page's address: the sites shown (ids, a name or a key;
/// every site when empty) and a place in the open promises' due order to
/// go on from (`after=<due>.<id>`, written by its own "Next" link).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PromisesQuery {
    site: String,
    after: String,
}

/// The page for `sites` (ids, as [`joined`] writes them), from `after`.
fn link(sites: &str, after: Option<Cursor>) -> String {
    let mut parts = Vec::new();
    if !sites.is_empty() {
        parts.push(format!("site={sites}"));
    }
    if let Some(after) = after {
        parts.push(format!("after={after}"));
    }
    if parts.is_empty() {
        "/console/promises".to_owned()
    } else {
        format!("/console/promises?{}", parts.join("&"))
    }
}

pub async fn page(
    staff: Staff,
    State(state): State<AppState>,
    PageQuery(query): PageQuery<PromisesQuery>,
) -> Result<Html<String>, ConsoleError> {
    let after = match query.after.as_str() {
        "" => None,
        raw => Some(Cursor::parse(raw).ok_or_else(|| {
            ConsoleError::Invalid(
                "This page of promises could not be found: its link is damaged. Start again from the first page.".to_owned(),
            )
        })?),
    };
    let (sites, accounts) = tokio::try_join!(state.store.site_settings(), state.store.accounts())?;
    let chosen = site_choice::resolve_any(&query.site, &sites).map_err(ConsoleError::Invalid)?;
    // Links name the sites by id, whatever was typed.
    let site_ids = joined(&chosen);
    let now = state.clock.now_millis();
    let this_week = week_of(now);
    let behind = super::reports::catch_up(&state).await?;
    // First responses of entries that arrived in the last RESPONSE_WEEKS
    // weeks and this one, from the roll-ups (a month of entries is too
    // many to read per view).
    let period = Period {
        from_week: this_week - RESPONSE_WEEKS,
        to_week: this_week,
        sites: chosen.clone(),
    };
    let scope = PromiseScope {
        since: now - WINDOW_DAYS * DAY,
        now,
        sites: chosen.clone(),
        after,
    };
    let (report, times) = tokio::try_join!(
        state.store.report(scope),
        state.store.first_response_histogram(period)
    )?;
    let colleagues = Colleagues::new(accounts);
    let rows = Rows {
        now,
        colleagues: &colleagues,
        site_names: (sites.len() > 1 && chosen.len() != 1)
            .then(|| sites.iter().map(|s| (s.id, s.name.as_str())).collect()),
    };
    // Settled promises made in the window, and the open ones among them
    // already overdue (they can no longer be kept on time).
    let (settled, open) = (report.settled, &report.open);
    let rate = kept_on_time_rate(
        settled.kept_on_time,
        settled.kept_late + settled.broken + open.overdue_in_window,
    );
    let middle = quantile(&times, 0.5);
    let p90 = quantile(&times, 0.9);
    let body = html! {
        h1 { "Promises" }
        @if sites.len() > 1 {
            form.filters method="get" action="/console/promises" {
                (site_choice::field(&chosen, &query.site, &sites))
                button type="submit" { "Show" }
            }
        }
        (super::reports::partial_notice(behind))
        div.stats {
            div.stat {
                span.figure { (rate.map_or("—".to_owned(), |r| format!("{:.0} %", r * 100.0))) }
                span { "kept on time (last " (WINDOW_DAYS) " days)" }
            }
            div.stat {
                span.figure class=[(open.overdue > 0).then_some("late")] { (open.overdue) }
                span {
                    @if open.overdue > 0 {
                        a href={ "/console?view=all&promise=overdue" @if !chosen.is_empty() { "&site=" (site_ids) } } { "overdue now" }
                    } @else { "overdue now" }
                }
            }
            div.stat {
                span.figure { (middle.map_or("—".to_owned(), human_duration)) }
                span { "median first response (arrived this week and the " (RESPONSE_WEEKS) " before)" }
            }
            div.stat {
                span.figure { (p90.map_or("—".to_owned(), human_duration)) }
                span { "90th percentile first response (same entries)" }
            }
        }
        h2 { "Open promises" }
        @if open.rows.is_empty() {
            p.empty {
                @if open.total == 0 { "No open promises." }
                @else { "No more open promises. " a href=(link(&site_ids, None)) { "Back to the first page" } }
            }
        } @else {
            @let first = open.skipped + 1;
            @let last = open.skipped + i64::try_from(open.rows.len()).unwrap_or(0);
            p.muted {
                @if !open.more && after.is_none() {
                    (open.total) " open, due soonest first."
                } @else {
                    (first) "–" (last) " of " (open.total) " open, due soonest first."
                }
            }
            (promise_table(&open.rows, false, &rows))
            @if after.is_some() || open.more {
                nav.pages aria-label="Pages of open promises" {
                    @if after.is_some() { a href=(link(&site_ids, None)) { "← First page" } }
                    @if let (true, Some(last)) = (open.more, open.rows.last()) {
                        a rel="next" href=(link(&site_ids, Some(OpenPromises::place(last)))) { "Next page →" }
                    }
                }
            }
        }
        h2 { "Settled in the last " (WINDOW_DAYS) " days" }
        @if report.settled_promises.is_empty() {
            p.empty { "Nothing settled yet." }
        } @else {
            @let total = settled.kept_on_time + settled.kept_late + settled.broken;
            @if total > i64::try_from(report.settled_promises.len()).unwrap_or(i64::MAX) {
                p.muted { "The latest " (report.settled_promises.len()) " of " (total) ", most recently settled first." }
            }
            (promise_table(&report.settled_promises, true, &rows))
        }
    };
    Ok(views::page("Promises", &staff, "/console/promises", body))
}
