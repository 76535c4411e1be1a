//! Promises and response times: "do what you say", measured.

use axum::extract::State;
use axum::response::Html;
use maud::{Markup, html};

use super::{ConsoleError, Staff, views};
use crate::console::workflow::{DAY, PromiseState, human_duration, kept_on_time_rate, median};
use crate::http::AppState;
use crate::store::PromiseRow;

/// How far back the promise figures look.
const WINDOW_DAYS: i64 = 90;
/// How far back the response-time figures look.
const RESPONSE_DAYS: i64 = 30;

fn promise_table(rows: &[PromiseRow], now: i64, settled: bool) -> Markup {
    html! {
        table.promises {
            thead { tr {
                th scope="col" { "Entry" }
                th scope="col" { "Promise" }
                th scope="col" { "Due" }
                th scope="col" { "State" }
                th scope="col" { "Made by" }
                @if settled { th scope="col" { "Settled" } }
            } }
            tbody {
                @for p in rows {
                    @let state = p.state(now);
                    tr class=[(state == PromiseState::Overdue).then_some("overdue")] {
                        td { a href={ "/console/entries/" (p.entry_public_id) "#promises" } { (p.entry_reference) } }
                        td { (p.text) }
                        td { (views::date(p.due_at)) }
                        td { span class={ "badge " (state.css()) } { (state.label()) } }
                        td { (p.made_by.as_deref().unwrap_or("—")) }
                        @if settled { td { (p.settled_at.map(views::date).unwrap_or_default()) } }
                    }
                }
            }
        }
    }
}

fn percentile(sorted: &[i64], p: usize) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let index = (sorted.len() * p / 100).min(sorted.len() - 1);
    Some(sorted[index])
}

pub async fn page(
    staff: Staff,
    State(state): State<AppState>,
) -> Result<Html<String>, ConsoleError> {
    let now = state.clock.now_millis();
    let report = state
        .store
        .report(now - WINDOW_DAYS * DAY, now - RESPONSE_DAYS * DAY)
        .await?;
    let rate = kept_on_time_rate(
        report
            .open_promises
            .iter()
            .chain(&report.settled_promises)
            .filter(|p| p.created_at >= now - WINDOW_DAYS * DAY)
            .map(|p| p.state(now)),
    );
    let overdue = report
        .open_promises
        .iter()
        .filter(|p| p.state(now) == PromiseState::Overdue)
        .count();
    let mut times = report.first_response_times.clone();
    let middle = median(&mut times);
    let p90 = percentile(&times, 90);
    let body = html! {
        h1 { "Promises" }
        div.stats {
            div.stat {
                span.figure { (rate.map_or("—".to_owned(), |r| format!("{:.0} %", r * 100.0))) }
                span { "kept on time (last " (WINDOW_DAYS) " days)" }
            }
            div.stat {
                span.figure class=[(overdue > 0).then_some("late")] { (overdue) }
                span { "overdue now" }
            }
            div.stat {
                span.figure { (middle.map_or("—".to_owned(), human_duration)) }
                span { "median first response (last " (RESPONSE_DAYS) " days)" }
            }
            div.stat {
                span.figure { (p90.map_or("—".to_owned(), human_duration)) }
                span { "90th percentile first response (last " (RESPONSE_DAYS) " days)" }
            }
        }
        h2 { "Open promises" }
        @if report.open_promises.is_empty() {
            p.empty { "No open promises." }
        } @else {
            (promise_table(&report.open_promises, now, false))
        }
        h2 { "Settled in the last " (WINDOW_DAYS) " days" }
        @if report.settled_promises.is_empty() {
            p.empty { "Nothing settled yet." }
        } @else {
            (promise_table(&report.settled_promises[..report.settled_promises.len().min(200)], now, true))
        }
    };
    Ok(views::page("Promises", &staff, "/console/promises", body))
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn percentile_picks_from_sorted_values() {
        let values: Vec<i64> = (1..=10).collect();
        assert_eq!(percentile(&values, 90), Some(10));
        assert_eq!(percentile(&values, 50), Some(6));
        assert_eq!(percentile(&[], 90), None);
    }
}
