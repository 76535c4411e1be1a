//! The inbox: who is waiting and for how long, with filters, search,
//! keyset pagination; its bulk actions are `bulk`'s.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use earshot_protocol::{Kind, Severity};
use maud::{Markup, html};
use serde::Deserialize;

use super::{ConsoleError, NoticeQuery, PageQuery, Staff, site_choice, views};
use crate::colleagues::Colleagues;
use crate::export::Format;
use crate::http::AppState;
use crate::http::api::ExportParams;
use crate::http::local_time;
use crate::review::filter::{ANY_OF_SEPARATOR, Assignee, Cursor, Filter, RawFilter, View, joined};
use crate::review::workflow::{PromiseState, Settled, Status, Urgency, human_duration};
use crate::store::{InboxPage, InboxRow, PAGE_SIZE, Role, SiteSettings};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Notice {
    changed: Option<usize>,
    skipped: Option<usize>,
    /// Selected entries a colleague changed after the page was shown.
    stale: Option<usize>,
    /// Going back: the page that ends before this place.
    before: Option<String>,
}

/// Matches counted exactly up to here; beyond, "10,000+". A search is
/// counted less far, as far as its backend counts cheaply
/// (`Store::search_count_cap`).
const COUNT_CAP: i64 = 10_000;

/// "1,234 entries", or "10,000+ entries" when `count` is past `cap`.
fn count_text(count: i64, cap: i64) -> String {
    let thousands = |n: i64| {
        let digits = n.to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        out
    };
    let noun = if count == 1 { "entry" } else { "entries" };
    if count > cap {
        format!("{}+ {noun}", thousands(cap))
    } else {
        format!("{} {noun}", thousands(count))
    }
}

/// Which navigation link a view of the inbox is.
fn nav_current(raw: &RawFilter) -> &'static str {
    match (raw.view.as_str(), raw.assignee.as_str()) {
        ("spam", _) => "/console?view=spam",
        ("open", "me") => "/console?assignee=me&view=open",
        ("open", _) => "/console?view=open",
        ("all", _) => "/console?view=all",
        _ => "/console",
    }
}

fn select(name: &str, label: &str, current: &str, options: &[(String, String)]) -> Markup {
    // Several values (from a link or a tool: `kind=complaint,idea`) that
    // no option stands for get one, chosen, so the filter in effect is in
    // sight and kept when the form is applied again.
    let listed = options.iter().any(|(value, _)| value == current);
    let several = (current.contains(ANY_OF_SEPARATOR) && !listed).then(|| {
        let text = |value: &str| {
            options
                .iter()
                .find(|(known, _)| known == value)
                .map_or(value.to_owned(), |(_, text)| text.clone())
        };
        let texts: Vec<String> = current.split(ANY_OF_SEPARATOR).map(text).collect();
        texts.join(" or ")
    });
    html! {
        label {
            span { (label) }
            select name=(name) {
                option value="" { "Any" }
                @if let Some(text) = &several {
                    option value=(current) selected { (text) }
                }
                @for (value, text) in options {
                    option value=(value) selected[value == current] { (text) }
                }
            }
        }
    }
}

/// `chosen`: the sites the filter names, as ids (none: every site, or a
/// typed name that named none).
fn filter_form(
    raw: &RawFilter,
    chosen: &[i64],
    sites: &[SiteSettings],
    colleagues: &Colleagues,
) -> Markup {
    let opts = |pairs: &mut dyn Iterator<Item = (String, String)>| pairs.collect::<Vec<_>>();
    let kinds = opts(&mut Kind::ALL.iter().map(|k| {
        (
            k.as_str().to_owned(),
            views::kind_label(k.as_str()).to_owned(),
        )
    }));
    let statuses = opts(
        &mut Status::ALL
            .iter()
            .map(|s| (s.as_str().to_owned(), s.label().to_owned())),
    );
    let severities = opts(&mut Severity::ALL.iter().map(|s| {
        (
            s.as_str().to_owned(),
            views::severity_label(s.as_str()).to_owned(),
        )
    }));
    let mut assignees = vec![
        ("me".to_owned(), "Me".to_owned()),
        // Triage's own queue: what is mine and what nobody has taken.
        ("me,none".to_owned(), "Me or nobody".to_owned()),
        ("none".to_owned(), "Nobody".to_owned()),
    ];
    // Disabled colleagues too (last): what was left with them must be
    // found to be handed on.
    assignees.extend(colleagues.all().iter().map(|a| {
        let name = colleagues.name(Some(a.user.id), &a.user.name);
        let name = match a.disabled_at {
            Some(_) => format!("{name} (disabled)"),
            None => name,
        };
        (a.user.id.to_string(), name)
    }));
    let promises = vec![
        ("open".to_owned(), "Has an open promise".to_owned()),
        ("overdue".to_owned(), "Promise overdue".to_owned()),
    ];
    html! {
        form.filters method="get" action="/console" role="search" {
            label.search {
                span { "Search" }
                input type="search" name="q" value=(raw.q) placeholder="Words in messages and notes, or a reference";
            }
            // The scope, in plain sight beside the box: searching "Needs a
            // response" finds only people waiting.
            label {
                span { "In" }
                select name="view" {
                    option value="waiting" selected[raw.view.is_empty() || raw.view == "waiting"] { "Needs a response" }
                    option value="open" selected[raw.view == "open"] { "Still open" }
                    option value="all" selected[raw.view == "all"] { "All feedback" }
                    option value="spam" selected[raw.view == "spam"] { "Spam" }
                }
            }
            // On a phone the script folds the filters after this button
            // away (unless one is set), so the list starts on the first
            // screen; without script, and on a wide screen, all show.
            button.fold type="button" hidden aria-expanded="true" { "Fewer filters" }
            (site_choice::field(chosen, &raw.site, sites))
            (select("kind", "Kind", &raw.kind, &kinds))
            (select("status", "Status", &raw.status, &statuses))
            (select("severity", "Severity", &raw.severity, &severities))
            (select("assignee", "Assignee", &raw.assignee, &assignees))
            (select("promise", "Promise", &raw.promise, &promises))
            label { span { "From" } input type="date" name="from" value=(raw.from); }
            label { span { "To" } input type="date" name="to" value=(raw.to); }
            @if !raw.customer.is_empty() {
                input type="hidden" name="customer" value=(raw.customer);
            }
            button type="submit" { "Apply" }
        }
    }
}

/// How long the customer has waited, coloured against the site's target,
/// when they are waiting for staff.
fn wait_badge(row: &InboxRow, now: i64) -> Option<Markup> {
    let open = Status::parse(&row.status).is_some_and(Status::is_open);
    let since = match (row.first_response_at, row.followup_at) {
        (_, Some(followup)) => followup,
        (None, None) => row.created_at,
        (Some(_), None) => return None,
    };
    if !open {
        return None;
    }
    let waited = now - since;
    let urgency = Urgency::of(waited, row.first_response_target_ms);
    Some(html! {
        span class={ "wait " (urgency.css()) } title={ "Target: first response within " (human_duration(row.first_response_target_ms)) } {
            (human_duration(waited))
            span.visually-hidden { ", " (urgency.label()) }
        }
        @if row.followup_at.is_some() { div.muted { "wrote again" } }
    })
}

/// "Waiting" shows the wait; the other views when it arrived, with the wait
/// beside it for those still waiting.
fn waiting_cell(row: &InboxRow, now: i64, view: View) -> Markup {
    let wait = wait_badge(row, now);
    match (view, wait) {
        (View::Waiting, Some(wait)) => wait,
        (_, Some(wait)) => html! {
            (local_time::when(row.created_at, now))
            div { "waiting " (wait) }
        },
        (_, None) => match row.first_response_at {
            Some(at) => html! {
                (local_time::when(row.created_at, now))
                div.muted { "answered after " (human_duration(at - row.created_at)) }
            },
            None => html! { span.muted { (local_time::when(row.created_at, now)) } },
        },
    }
}

fn promise_cell(row: &InboxRow, now: i64) -> Markup {
    match row.next_promise_due {
        Some(due) => {
            let state = PromiseState::of(Settled::Open, due, None, now);
            html! { span class={ "badge " (state.css()) } { "due " (local_time::day(due)) " · " (state.label()) } }
        }
        None => html! {},
    }
}

fn table(page: &InboxPage, now: i64, view: View, colleagues: &Colleagues) -> Markup {
    html! {
        table.inbox {
            thead {
                tr {
                    th scope="col" { label.select-all { input type="checkbox" data-select-all="ids"; span.visually-hidden { "Select all on this page" } } }
                    th scope="col" { @if view == View::Waiting { "Waiting" } @else { "Received" } }
                    th scope="col" { "Customer's words" }
                    th scope="col" { "Kind" }
                    th scope="col" { "Status" }
                    th scope="col" { "Site" }
                    th scope="col" { "Assignee" }
                    th scope="col" { "Promise" }
                }
            }
            tbody {
                @for row in &page.rows {
                    tr {
                        td { input type="checkbox" name="ids" value=(super::bulk::checkbox_value(row)) aria-label={ "Select " (row.reference) }; }
                        td { (waiting_cell(row, now, view)) }
                        td.words {
                            a href={ "/console/entries/" (row.public_id) } dir="auto" { (row.summary) }
                            div.muted {
                                span.reference { (row.reference) }
                                @if let Some(name) = &row.name { " · " (name) }
                                @if let Some(email) = &row.email { " · " (email) }
                            }
                        }
                        td.kind { (views::kind_label(&row.kind)) @if let Some(s) = &row.severity { div.muted { (views::severity_label(s)) } } }
                        td { (views::status_badge(&row.status)) }
                        td data-label="Site:" { (row.site_name) }
                        td data-label="Assignee:" {
                            @match &row.assignee {
                                Some(name) => (colleagues.name(row.assignee_id, name)),
                                None => "—",
                            }
                        }
                        td { (promise_cell(row, now)) }
                    }
                }
            }
        }
    }
}

pub async fn page(
    staff: Staff,
    State(state): State<AppState>,
    PageQuery(mut raw): PageQuery<RawFilter>,
    NoticeQuery(notice): NoticeQuery<Notice>,
) -> Result<Response, ConsoleError> {
    // A customer quotes their reference: searching for it opens the entry.
    let unknown_reference = match crate::ids::parse_reference(&raw.q) {
        Some(reference) => match state.store.entry_by_reference(reference.clone()).await? {
            Some(public_id) => {
                return Ok(Redirect::to(&format!("/console/entries/{public_id}")).into_response());
            }
            None => Some(reference),
        },
        None => None,
    };
    let now = state.clock.now_millis();
    // Independent reads, each on a connection of its own: the page waits
    // for the slowest, not for their sum.
    let (sites, accounts, summary, mail) = tokio::try_join!(
        state.store.site_settings(),
        state.store.accounts(),
        state.store.waiting_summary(now),
        super::email_check::failing_for_admin(&state, &staff)
    )?;
    let colleagues = Colleagues::new(accounts);
    // Closing then emails customers, as the bulk controls say.
    let writes_to_customers = state.mailer.is_some() && sites.iter().any(|s| s.receipt_email);
    // A typed site name or key becomes its id, so links carry the id.
    let site = site_choice::resolve_any(&raw.site, &sites);
    if let Ok(ids) = &site
        && !ids.is_empty()
    {
        raw.site = joined(ids);
    }
    let chosen = site.clone().unwrap_or_default();
    let parsed = site
        .and_then(|_| raw.parse(staff.user.id).map_err(|e| e.sentence()))
        .and_then(|filter| {
            // Only a hand-made address names one: the list offers colleagues.
            let unknown = filter.assignees.iter().find_map(|a| match a {
                Assignee::User(id) if !colleagues.all().iter().any(|c| c.user.id == *id) => {
                    Some(*id)
                }
                _ => None,
            });
            match unknown {
                Some(id) => Err(format!("No colleague has the id {id}.")),
                None => Ok(filter),
            }
        });
    let (filter, problem) = match parsed {
        Ok(filter) => (
            Some(Filter {
                before: notice
                    .before
                    .as_deref()
                    .and_then(Cursor::parse)
                    .filter(|_| filter.cursor.is_none()),
                ..filter
            }),
            None,
        ),
        Err(e) => (None, Some(e)),
    };
    let missing = unknown_reference.is_some();
    let (filter, problem) = match unknown_reference {
        Some(reference) => (
            None,
            Some(format!(
                "No entry has the reference {reference}: it may have been erased at the customer's request, or removed with its site."
            )),
        ),
        None => (filter, problem),
    };
    let view = filter.as_ref().map_or(View::Waiting, |f: &Filter| f.view);
    let count_cap = match filter.as_ref().and_then(|f| f.search.as_ref()) {
        Some(_) => state.store.search_count_cap(),
        None => COUNT_CAP,
    };
    let (page, matches) = match &filter {
        Some(filter) => {
            let (page, count) = state
                .store
                .inbox_counted(filter.clone(), PAGE_SIZE, count_cap + 1, now)
                .await?;
            (Some(page), Some(count))
        }
        None => (None, None),
    };
    // A new installation's empty inbox says how feedback gets in, not
    // "well done"; one extra read, only when the default view is empty.
    let unfiltered = filter.as_ref() == Some(&Filter::default());
    let nothing_yet = match &page {
        Some(p) if p.rows.is_empty() && unfiltered => {
            let all = Filter {
                view: View::All,
                ..Filter::default()
            };
            let spam = Filter {
                view: View::Spam,
                ..Filter::default()
            };
            let (all, spam) = tokio::try_join!(
                state.store.inbox(all, 1, now),
                state.store.inbox(spam, 1, now)
            )?;
            all.rows.is_empty() && spam.rows.is_empty()
        }
        _ => false,
    };
    let title = match view {
        View::Waiting => "Needs a response",
        View::Open => "Still open",
        View::All => "All feedback",
        View::Spam => "Spam",
    };
    let mut back = raw.clone();
    back.after.clear();
    let all_view = RawFilter {
        view: "all".to_owned(),
        ..back.clone()
    };
    let body = html! {
        h1 { (title) }
        p.summary {
            strong { (summary.waiting) } " waiting for a first response"
            @if summary.waiting_late > 0 { " · " strong.late { (summary.waiting_late) } " past target" }
            @if summary.overdue_promises > 0 {
                " · " a.late href="/console/promises" { (summary.overdue_promises) @if summary.overdue_promises == 1 { " overdue promise" } @else { " overdue promises" } }
            }
        }
        @if let Some(health) = &mail { (super::email_check::banner(health, now)) }
        @if let Some(changed) = notice.changed {
            p.notice role="status" {
                "Changed " (changed) @if changed == 1 { " entry" } @else { " entries" }
                @if let Some(s) = notice.skipped.filter(|s| *s > 0) { "; " (s) " skipped (not applicable)" }
                @if let Some(s) = notice.stale.filter(|s| *s > 0) {
                    "; " (s) " left alone: a colleague changed "
                    @if s == 1 { "it" } @else { "them" } " after this page was shown"
                }
                "."
            }
        }
        (filter_form(&raw, &chosen, &sites, &colleagues))
        @if let Some(reference) = filter.as_ref().and_then(|f| f.customer.as_deref()) {
            @let everyone = RawFilter { customer: String::new(), ..back.clone() };
            p.notice role="status" {
                "Only feedback from the customer who sent "
                a.ref href={ "/console?q=" (reference) } { (reference) }
                " (by the email they gave) · "
                a href={ "/console?" (everyone.to_query()) } { "Show everyone's" }
            }
        }
        @if let Some(problem) = &problem {
            p.error role="alert" { (problem) }
        }
        @if let Some(page) = &page {
            @if let Some(count) = matches {
                p.count role="status" {
                    (count_text(count, count_cap))
                    @if view == View::Waiting && !raw.q.trim().is_empty() {
                        " among those waiting · "
                        a href={ "/console?" (all_view.to_query()) } { "Search all feedback" }
                    }
                }
            }
            @if page.rows.is_empty() {
                @if nothing_yet {
                    div.empty {
                        p { "No feedback has arrived yet." }
                        @if staff.user.role == Role::Admin {
                            p { "Add the widget to your pages: each site's one-line snippet is on the " a href="/console/sites" { "Sites" } " page." }
                        } @else {
                            p { "It appears here as soon as a customer sends some." }
                        }
                    }
                } @else {
                    p.empty { @if unfiltered { "Nobody is waiting. Well done." } @else { "No feedback matches." } }
                }
            } @else {
                form method="post" action="/console/bulk" {
                    (super::bulk::controls(&staff, &colleagues, &back.to_query(), writes_to_customers))
                    (table(page, now, view, &colleagues))
                }
                @if page.next.is_some() || page.prev.is_some() {
                    nav.pages aria-label="Pages" {
                        @if let Some(prev) = page.prev {
                            @let q = back.to_query();
                            a rel="prev" href={ "/console?" (q) (if q.is_empty() { "" } else { "&" }) "before=" (prev) } { "← Previous page" }
                        }
                        @if let Some(next) = page.next {
                            @let more = RawFilter { after: next.to_string(), ..back.clone() };
                            a rel="next" href={ "/console?" (more.to_query()) } { "Next page →" }
                        }
                    }
                }
                @let every = back.to_query();
                @let join = if every.is_empty() { "" } else { "&" };
                p.export {
                    "Export these results (every page): "
                    a href={ "/console/export.csv?" (every) } download { "CSV" }
                    " · "
                    a href={ "/console/export.csv?" (every) (join) "bom=1" } download { "CSV for Excel" }
                    " · "
                    a href={ "/console/export.ndjson?" (every) } download { "NDJSON" }
                }
            }
        }
    };
    let status = if missing {
        StatusCode::NOT_FOUND
    } else if problem.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((status, views::page(title, &staff, nav_current(&raw), body)).into_response())
}

async fn export(
    staff: Staff,
    state: AppState,
    query: ExportParams,
    format: Format,
) -> Result<Response, ConsoleError> {
    let bom = query.bom()?;
    let mut raw = query.filter;
    // Every page, not the one on screen.
    raw.after.clear();
    let filter = raw.parse(staff.user.id)?;
    tracing::info!(format = format.extension(), "console export");
    Ok(crate::http::api::export_response(
        &state, filter, format, bom,
    ))
}

pub async fn export_csv(
    staff: Staff,
    State(state): State<AppState>,
    PageQuery(query): PageQuery<ExportParams>,
) -> Result<Response, ConsoleError> {
    export(staff, state, query, Format::Csv).await
}

pub async fn export_ndjson(
    staff: Staff,
    State(state): State<AppState>,
    PageQuery(query): PageQuery<ExportParams>,
) -> Result<Response, ConsoleError> {
    export(staff, state, query, Format::Ndjson).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_with_thousands_separators_and_stop_at_their_cap() {
        assert_eq!(count_text(1, COUNT_CAP), "1 entry");
        assert_eq!(count_text(9_999, COUNT_CAP), "9,999 entries");
        assert_eq!(count_text(10_001, COUNT_CAP), "10,000+ entries");
        assert_eq!(count_text(1_000, 1_000), "1,000 entries");
        assert_eq!(count_text(201, 200), "200+ entries");
    }
}
