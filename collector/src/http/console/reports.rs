//! "Reports": per site and period, what came in, how fast staff answered
//! and resolved, whether promises were kept, and which pages set wrong
//! expectations. Read from roll-ups (see `store::rollup`), so the page
//! costs the same at a million entries as at a hundred. Every chart stands
//! beside a table of its numbers, and each table downloads as CSV.

use std::collections::BTreeMap;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use earshot_protocol::{Kind, Severity};
use maud::{Markup, html};
use serde::{Deserialize, Serialize};

use super::charts::{Line, Series, bars, hbars};
use super::{ConsoleError, Staff, site_choice, views};
use crate::http::AppState;
use crate::report::{quantile, week_of, week_start};
use crate::review::filter::parse_date;
use crate::review::kind_label;
use crate::review::workflow::human_duration;
use crate::store::{Period, Rollups, SiteSettings};

/// Weeks shown unless the period says otherwise.
const DEFAULT_WEEKS: i64 = 12;
/// Longest period, in weeks (two years).
const MAX_WEEKS: i64 = 104;

/// The query string: site id, first and last day.
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
    let site = site_choice::resolve(&query.site, sites).map_err(ConsoleError::Invalid)?;
    Ok(Period {
        from_week,
        to_week,
        site,
    })
}

/// A table cell: durations show as "3 h 20 min" on the page and as seconds
/// in CSV.
enum Cell {
    Text(String),
    Count(i64),
    Duration(Option<i64>),
}

/// One chart's numbers.
struct Table {
    slug: &'static str,
    title: &'static str,
    headers: Vec<String>,
    rows: Vec<Vec<Cell>>,
}

const KIND_CLASSES: [&str; 5] = [
    "k-complaint",
    "k-expectation",
    "k-idea",
    "k-praise",
    "k-question",
];

fn week_label(week: i64) -> String {
    crate::clock::date(week_start(week))
}

fn weeks(p: &Period) -> Vec<i64> {
    (p.from_week..=p.to_week).collect()
}

fn volume_table(
    slug: &'static str,
    title: &'static str,
    p: &Period,
    counts: &BTreeMap<(i64, String), i64>,
    columns: &[(String, String)],
) -> Table {
    let mut headers = vec!["week".to_owned()];
    headers.extend(columns.iter().map(|(_, label)| label.clone()));
    headers.push("total".to_owned());
    let rows = weeks(p)
        .into_iter()
        .map(|week| {
            let values: Vec<i64> = columns
                .iter()
                .map(|(key, _)| counts.get(&(week, key.clone())).copied().unwrap_or(0))
                .collect();
            let mut row = vec![Cell::Text(week_label(week))];
            row.extend(values.iter().map(|v| Cell::Count(*v)));
            row.push(Cell::Count(values.iter().sum()));
            row
        })
        .collect();
    Table {
        slug,
        title,
        headers,
        rows,
    }
}

fn kinds() -> Vec<(String, String)> {
    Kind::ALL
        .iter()
        .map(|k| (k.as_str().to_owned(), kind_label(k.as_str()).to_owned()))
        .collect()
}

fn severities() -> Vec<(String, String)> {
    let mut columns: Vec<(String, String)> = Severity::ALL
        .iter()
        .map(|s| (s.as_str().to_owned(), s.as_str().to_owned()))
        .collect();
    columns.push((String::new(), "not given".to_owned()));
    columns
}

/// Every table of the report, from the roll-ups.
fn tables(p: &Period, r: &Rollups) -> Vec<Table> {
    let first_response = Table {
        slug: "first-response",
        title: "First response by week of arrival",
        headers: ["week", "answered", "median", "90th percentile"]
            .map(str::to_owned)
            .to_vec(),
        rows: weeks(p)
            .into_iter()
            .map(|week| {
                let h = r.first_response.get(&week).cloned().unwrap_or_default();
                vec![
                    Cell::Text(week_label(week)),
                    Cell::Count(h.values().sum()),
                    Cell::Duration(quantile(&h, 0.5)),
                    Cell::Duration(quantile(&h, 0.9)),
                ]
            })
            .collect(),
    };
    let pr = r.promises;
    let promises = Table {
        slug: "promises",
        title: "Promises made in the period",
        headers: ["outcome", "promises"].map(str::to_owned).to_vec(),
        rows: [
            ("made", pr.made),
            ("kept on time", pr.kept_on_time),
            ("kept late", pr.kept_late),
            ("broken", pr.broken),
            ("still open", pr.open),
        ]
        .into_iter()
        .map(|(label, n)| vec![Cell::Text(label.to_owned()), Cell::Count(n)])
        .collect(),
    };
    let pages = Table {
        slug: "pages",
        title: "Pages with the most expectation mismatches",
        headers: ["page", "mismatches", "common words"]
            .map(str::to_owned)
            .to_vec(),
        rows: r
            .pages
            .iter()
            .map(|p| {
                let words = p
                    .words
                    .iter()
                    .map(|(w, n)| format!("{w} ({n})"))
                    .collect::<Vec<_>>()
                    .join(", ");
                vec![
                    Cell::Text(p.page.clone()),
                    Cell::Count(p.mismatches),
                    Cell::Text(words),
                ]
            })
            .collect(),
    };
    let resolution = Table {
        slug: "resolution",
        title: "Resolution time by kind",
        headers: ["kind", "resolved", "median", "90th percentile"]
            .map(str::to_owned)
            .to_vec(),
        rows: Kind::ALL
            .iter()
            .map(|k| {
                let h = r.resolution.get(k.as_str()).cloned().unwrap_or_default();
                vec![
                    Cell::Text(kind_label(k.as_str()).to_owned()),
                    Cell::Count(h.values().sum()),
                    Cell::Duration(quantile(&h, 0.5)),
                    Cell::Duration(quantile(&h, 0.9)),
                ]
            })
            .collect(),
    };
    vec![
        volume_table("kinds", "Feedback by kind", p, &r.volume_by_kind, &kinds()),
        volume_table(
            "severities",
            "Feedback by severity",
            p,
            &r.volume_by_severity,
            &severities(),
        ),
        first_response,
        promises,
        pages,
        resolution,
    ]
}

fn count_at(table: &Table, row: usize, column: usize) -> i64 {
    match table.rows.get(row).and_then(|r| r.get(column)) {
        Some(Cell::Count(n)) => *n,
        Some(Cell::Duration(Some(ms))) => *ms,
        _ => 0,
    }
}

fn column(table: &Table, column: usize) -> Vec<i64> {
    (0..table.rows.len())
        .map(|row| count_at(table, row, column))
        .collect()
}

fn labels(table: &Table) -> Vec<String> {
    table
        .rows
        .iter()
        .map(|r| match r.first() {
            Some(Cell::Text(t)) => t.clone(),
            _ => String::new(),
        })
        .collect()
}

fn duration_label(ms: i64) -> String {
    if ms == 0 {
        "0".to_owned()
    } else {
        human_duration(ms)
    }
}

/// The chart drawn from a table.
fn chart(table: &Table, target_ms: Option<i64>) -> Markup {
    let categories: Vec<String> = labels(table)
        .iter()
        .map(|w| w.get(5..).unwrap_or(w).to_owned())
        .collect();
    match table.slug {
        "kinds" | "severities" => {
            let names = &table.headers[1..table.headers.len() - 1];
            let classes: &[&str] = if table.slug == "kinds" {
                &KIND_CLASSES
            } else {
                &["s-minor", "s-annoying", "s-blocking", "s-none"]
            };
            let series: Vec<Series<'_>> = names
                .iter()
                .enumerate()
                .map(|(i, name)| Series {
                    name,
                    class: classes.get(i).copied().unwrap_or("s-none"),
                    values: column(table, i + 1),
                })
                .collect();
            bars(
                table.title,
                "Entries per week (Monday to Sunday, UTC), stacked; the table below has the numbers.",
                &categories,
                &series,
                true,
                None,
                |v| v.to_string(),
            )
        }
        "first-response" => bars(
            table.title,
            "Median and 90th percentile time to the first reply, by the week the entries arrived; the line is the site's target.",
            &categories,
            &[
                Series {
                    name: "median",
                    class: "m-median",
                    values: column(table, 2),
                },
                Series {
                    name: "90th percentile",
                    class: "m-p90",
                    values: column(table, 3),
                },
            ],
            false,
            target_ms.map(|value| Line {
                name: "target",
                value,
            }),
            duration_label,
        ),
        "resolution" => hbars(
            table.title,
            "Median and 90th percentile time from arrival to resolved or won't fix, by kind.",
            &labels(table),
            &[
                Series {
                    name: "median",
                    class: "m-median",
                    values: column(table, 2),
                },
                Series {
                    name: "90th percentile",
                    class: "m-p90",
                    values: column(table, 3),
                },
            ],
            duration_label,
        ),
        "promises" => hbars(
            table.title,
            "Promises made in the period by how they ended.",
            &labels(table),
            &[Series {
                name: "promises",
                class: "m-median",
                values: column(table, 1),
            }],
            |v| v.to_string(),
        ),
        _ => hbars(
            table.title,
            "Expectation mismatches per page (address without query), most first.",
            &labels(table),
            &[Series {
                name: "mismatches",
                class: "k-expectation",
                values: column(table, 1),
            }],
            |v| v.to_string(),
        ),
    }
}

fn html_table(table: &Table) -> Markup {
    // A heading sits on the side its figures are aligned to.
    let first = table.rows.first();
    let numeric = |column: usize| {
        first
            .and_then(|row| row.get(column))
            .is_some_and(|cell| !matches!(cell, Cell::Text(_)))
    };
    html! {
        (views::scrolls(table.title, html! {
            table.figures {
                thead { tr { @for (i, h) in table.headers.iter().enumerate() {
                    th scope="col" class=[numeric(i).then_some("num")] { (h) }
                } } }
                tbody {
                    @for row in &table.rows {
                        tr {
                            @for cell in row {
                                @match cell {
                                    Cell::Text(t) => td { (t) },
                                    Cell::Count(n) => td.num { (n) },
                                    Cell::Duration(Some(ms)) => td.num { (human_duration(*ms)) },
                                    Cell::Duration(None) => td.num { "—" },
                                }
                            }
                        }
                    }
                }
            }
        }))
    }
}

/// The table as CSV: durations in seconds, text defused for spreadsheets.
fn csv(table: &Table) -> String {
    let mut out = String::new();
    let headers: Vec<String> = table
        .headers
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let duration = table
                .rows
                .first()
                .is_some_and(|r| matches!(r.get(i), Some(Cell::Duration(_))));
            if duration {
                format!("{h} (seconds)")
            } else {
                h.clone()
            }
        })
        .collect();
    for (i, h) in headers.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        crate::export::csv_cell(h, &mut out);
    }
    out.push_str("\r\n");
    for row in &table.rows {
        for (i, cell) in row.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            match cell {
                Cell::Text(t) => crate::export::csv_cell(t, &mut out),
                Cell::Count(n) => out.push_str(&n.to_string()),
                Cell::Duration(Some(ms)) => out.push_str(&(ms / 1000).to_string()),
                Cell::Duration(None) => {}
            }
        }
        out.push_str("\r\n");
    }
    out
}

/// The first-response target to draw: the chosen site's, or the one all
/// sites share.
fn target(sites: &[SiteSettings], p: &Period) -> Option<i64> {
    let chosen: Vec<&SiteSettings> = sites
        .iter()
        .filter(|s| p.site.is_none_or(|id| s.id == id))
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

async fn load(
    state: &AppState,
    query: Result<Query<ReportQuery>, QueryRejection>,
) -> Result<Loaded, ConsoleError> {
    let Query(mut query) =
        query.map_err(|_| ConsoleError::Invalid("The period could not be read.".to_owned()))?;
    let sites = state.store.site_settings().await?;
    let period = period(&query, state.clock.now_millis(), &sites)?;
    // A typed site name or key becomes its id, so links carry the id.
    if let Some(id) = period.site {
        query.site = id.to_string();
    }
    let behind = catch_up(state).await?;
    let rollups = state.store.rollups(period).await?;
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
    query: Result<Query<ReportQuery>, QueryRejection>,
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
            (site_choice::field(p.site, &query.site, &sites))
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
    query: Result<Query<ReportQuery>, QueryRejection>,
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
