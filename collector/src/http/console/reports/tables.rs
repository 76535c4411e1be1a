//! The report's tables, built from the roll-ups, and each drawn three
//! ways: as a chart, as an HTML table beside it, and as CSV. One table
//! feeds all three, so the chart, the figures shown and the download
//! cannot disagree.

use std::collections::BTreeMap;

use earshot_protocol::{Kind, Severity};
use maud::{Markup, html};

use super::super::charts::{Line, Series, bars, hbars};
use super::super::error::capitalise;
use super::super::views;
use crate::report::{quantile, week_start};
use crate::review::workflow::human_duration;
use crate::review::{kind_label, severity_label};
use crate::store::{Period, Rollups};

/// A table cell: durations show as "3 h 20 min" on the page and as seconds
/// in CSV.
pub(super) enum Cell {
    Text(String),
    Count(i64),
    Duration(Option<i64>),
}

/// One chart's numbers.
pub(super) struct Table {
    pub(super) slug: &'static str,
    pub(super) title: &'static str,
    headers: Vec<String>,
    pub(super) rows: Vec<Vec<Cell>>,
}

const KIND_CLASSES: [&str; 5] = [
    "k-complaint",
    "k-expectation",
    "k-idea",
    "k-praise",
    "k-question",
];

pub(super) fn week_label(week: i64) -> String {
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
        .map(|s| (s.as_str().to_owned(), severity_label(s.as_str()).to_owned()))
        .collect();
    columns.push((String::new(), "Not given".to_owned()));
    columns
}

/// A row of a timing table: its label, how many were timed, the median
/// and the 90th percentile (none timed: no histogram).
fn timing_row(label: String, histogram: Option<&BTreeMap<i64, i64>>) -> Vec<Cell> {
    let empty = BTreeMap::new();
    let h = histogram.unwrap_or(&empty);
    vec![
        Cell::Text(label),
        Cell::Count(h.values().sum()),
        Cell::Duration(quantile(h, 0.5)),
        Cell::Duration(quantile(h, 0.9)),
    ]
}

/// Every table of the report, from the roll-ups.
pub(super) fn tables(p: &Period, r: &Rollups) -> Vec<Table> {
    let first_response = Table {
        slug: "first-response",
        title: "First response by week of arrival",
        headers: ["week", "answered", "median", "90th percentile"]
            .map(str::to_owned)
            .to_vec(),
        rows: weeks(p)
            .into_iter()
            .map(|week| timing_row(week_label(week), r.first_response.get(&week)))
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
                timing_row(
                    kind_label(k.as_str()).to_owned(),
                    r.resolution.get(k.as_str()),
                )
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

/// The median and 90th percentile columns of a timing table (answered or
/// resolved, median, 90th percentile) as two series.
fn quantiles(table: &Table) -> [Series<'static>; 2] {
    [
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
    ]
}

/// The chart drawn from a table.
pub(super) fn chart(table: &Table, target_ms: Option<i64>) -> Markup {
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
            &quantiles(table),
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
            &quantiles(table),
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

pub(super) fn html_table(table: &Table) -> Markup {
    // A heading sits on the side its figures are aligned to.
    // Headings are written for CSV (lowercase, stable for scripts); on
    // the page each starts with a capital like every other heading.
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
                    th scope="col" class=[numeric(i).then_some("num")] { (capitalise(h)) }
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
pub(super) fn csv(table: &Table) -> String {
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
