//! "Reports": per site (or several) and period, what came in, how fast staff answered
//! and resolved, whether promises were kept, and which pages set wrong
//! expectations. Read from roll-ups (see `store::rollup`), so the page
//! costs the same at a million entries as at a hundred. Every chart stands
//! beside a table of its numbers, and each table downloads as CSV.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use maud::{Markup, html};
use serde::{Deserialize, Serialize};

use super::{ConsoleError, PageQuery, Staff, site_choice, views};
use crate::http::AppState;
use crate::report::{week_of, week_start};
use crate::review::filter::{joined, parse_date};
use crate::store::{Period, Rollups, SiteSettings};

mod tables;

use tables::{chart, csv, html_table, tables, week_label};

/// Weeks shown unless the period says otherwise.
const DEFAULT_WEEKS: i64 = 12;
/// Longest period, in weeks (two years).
const MAX_WEEKS: i64 = 104;

/// The query string: site ids (comma-separated) or a name, first and
/// last day.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ReportQuery {
    #[serde(skip_serializing_if = "String::is_empty")]
    site: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    from: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    to: String,
}

fn period(query: &ReportQuery, now: i64, sites: &[SiteSettings]) -> Result<Period, ConsoleError> {
    let invalid = |m: &str| ConsoleError::Invalid(m.to_owned());
    let day = |raw: &str| -> Result<Option<i64>, ConsoleError> {
        match raw.trim() {
            "" => Ok(None),
            raw => parse_date(raw)
                .map(Some)
                .ok_or_else(|| invalid("Dates are written YYYY-MM-DD.")),
        }
    };
    let to_week = day(&query.to)?.map_or(week_of(now), week_of);
    let from_week = day(&query.from)?.map_or(to_week - DEFAULT_WEEKS + 1, week_of);
    if from_week > to_week {
        return Err(invalid("The period ends before it starts."));
    }
    if to_week - from_week >= MAX_WEEKS {
        return Err(invalid("Choose at most two years."));
    }
    let sites = site_choice::resolve_any(&query.site, sites).map_err(ConsoleError::Invalid)?;
    Ok(Period {
        from_week,
        to_week,
        sites,
    })
}

/// The first-response target to draw: the one the chosen sites (or all)
/// share, if they do.
fn target(sites: &[SiteSettings], p: &Period) -> Option<i64> {
    let chosen: Vec<&SiteSettings> = sites
        .iter()
        .filter(|s| p.sites.is_empty() || p.sites.contains(&s.id))
        .collect();
    let first = chosen.first()?.first_response_minutes;
    chosen
        .iter()
        .all(|s| s.first_response_minutes == first)
        .then_some(first * 60_000)
}

/// What a report shows, with every site for its filter.
struct Loaded {
    query: ReportQuery,
    period: Period,
    rollups: Rollups,
    behind: Option<i64>,
    sites: Vec<SiteSettings>,
}

async fn load(state: &AppState, mut query: ReportQuery) -> Result<Loaded, ConsoleError> {
    let sites = state.store.site_settings().await?;
    let period = period(&query, state.clock.now_millis(), &sites)?;
    // A typed site name or key becomes its id, so links carry the id.
    if !period.sites.is_empty() {
        query.site = joined(&period.sites);
    }
    let behind = catch_up(state).await?;
    let rollups = state.store.rollups(period.clone()).await?;
    Ok(Loaded {
        query,
        period,
        rollups,
        behind,
        sites,
    })
}

/// Entries a page view may fold in itself before it reads (a fraction of
/// a second); a larger backlog (an upgraded database) is left to the
/// background task and the page says its figures are partial.
const CATCH_UP_MAX: i64 = 20_000;

/// Counts what has been committed, not only what the roller reached;
/// returns how many entries are still to come when that is too many.
pub(super) async fn catch_up(state: &AppState) -> Result<Option<i64>, ConsoleError> {
    let backlog = state.store.rollup_backlog().await?;
    if backlog > CATCH_UP_MAX {
        return Ok(Some(backlog));
    }
    state.store.roll_up().await?;
    Ok(None)
}

pub(super) fn partial_notice(behind: Option<i64>) -> Markup {
    html! {
        @if let Some(n) = behind {
            p.notice role="status" {
                "Still counting about " (n) " older entries into these figures (after an upgrade this takes a minute or so); until then they are partial."
            }
        }
    }
}

pub async fn page(
    staff: Staff,
    State(state): State<AppState>,
    PageQuery(query): PageQuery<ReportQuery>,
) -> Result<Html<String>, ConsoleError> {
    let Loaded {
        query,
        period: p,
        rollups,
        behind,
        sites,
    } = load(&state, query).await?;
    let target = target(&sites, &p);
    let link_query = serde_html_form::to_string(&query).unwrap_or_default();
    let body = html! {
        h1 { "Reports" }
        form.filters method="get" action="/console/reports" {
            (site_choice::field(&p.sites, &query.site, &sites))
            label { "From" input type="date" name="from" value=(crate::clock::date(week_start(p.from_week))); }
            label { "To" input type="date" name="to" value=(crate::clock::date(week_start(p.to_week + 1) - 1)); }
            button type="submit" { "Show" }
        }
        p.muted { "Whole weeks, Monday to Sunday (UTC). Spam is left out. Times are kept to within 2.5%." }
        (partial_notice(behind))
        @for table in tables(&p, &rollups) {
            section.report id=(table.slug) {
                h2 { (table.title) }
                @if table.rows.is_empty() {
                    p.empty { "Nothing in this period." }
                } @else {
                    figure {
                        (chart(&table, target))
                        figcaption {
                            a href={ "/console/reports/" (table.slug) ".csv?" (link_query) } download { "Download these numbers (CSV)" }
                        }
                    }
                    (html_table(&table))
                }
            }
        }
    };
    Ok(views::page("Reports", &staff, "/console/reports", body))
}

pub async fn csv_download(
    _staff: Staff,
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    PageQuery(query): PageQuery<ReportQuery>,
) -> Result<Response, ConsoleError> {
    let Path(name) = path.map_err(|_| ConsoleError::NotFound)?;
    let slug = name.strip_suffix(".csv").ok_or(ConsoleError::NotFound)?;
    let Loaded {
        period: p, rollups, ..
    } = load(&state, query).await?;
    let table = tables(&p, &rollups)
        .into_iter()
        .find(|t| t.slug == slug)
        .ok_or(ConsoleError::NotFound)?;
    let file = format!(
        "earshot-{}-{}-to-{}.csv",
        table.slug,
        week_label(p.from_week),
        crate::clock::date(week_start(p.to_week + 1) - 1)
    );
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "text/csv; charset=utf-8; header=present".to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        csv(&table),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_period_is_the_last_twelve_weeks() {
        let now = parse_date("2026-11-30").unwrap() + 3_600_000;
        let p = period(&ReportQuery::default(), now, &[]).unwrap();
        assert_eq!(p.to_week, week_of(now));
        assert_eq!(p.to_week - p.from_week + 1, DEFAULT_WEEKS);
        let bad = |from: &str, to: &str| {
            period(
                &ReportQuery {
                    site: String::new(),
                    from: from.into(),
                    to: to.into(),
                },
                now,
                &[],
            )
            .is_err()
        };
        assert!(bad("2026-11-30", "2026-11-01"));
        assert!(bad("2020-01-01", "2026-11-01"));
        assert!(bad("yesterday", ""));
    }
}
