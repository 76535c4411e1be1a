//! What the review console reads and changes: the inbox, an entry with its
//! timeline, the workflow actions, promises and the response report.
//!
//! Every action records an event in the same transaction as the change it
//! describes, so the timeline cannot disagree with the entry.

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

use super::notify::{Notice, NoticeKind, notice};
use super::{Store, StoreError};
use crate::console::filter::Search;
use crate::console::workflow::{PromiseState, Settled, Status, WorkflowError};

/// Rows per inbox page.
pub const PAGE_SIZE: usize = 50;
/// Entries one bulk action may touch.
pub const BULK_MAX: usize = 200;

/// Entries waiting for staff: open, and never answered or answered before
/// the customer's latest follow-up. Written exactly as `entries_waiting`'s
/// condition, so the planner can use that index.
pub(super) const WAITING_SQL: &str = "e.status IN ('new', 'acknowledged', 'in_progress')
     AND (e.first_response_at IS NULL OR e.followup_at IS NOT NULL)";

/// Since when a waiting entry has waited: its latest unanswered follow-up,
/// or its arrival.
pub(super) const WAITING_SINCE_SQL: &str = "coalesce(e.followup_at, e.created_at)";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum View {
    /// Entries nobody has answered yet, oldest first.
    #[default]
    Waiting,
    /// Everything but spam, newest first.
    All,
    /// Only spam, newest first.
    Spam,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assignee {
    User(i64),
    Nobody,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromiseFilter {
    Open,
    Overdue,
}

/// Which entries the inbox shows. Built from the query string by
/// `console::filter`, which rejects anything malformed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    pub view: View,
    pub site: Option<i64>,
    pub kind: Option<String>,
    pub status: Option<Status>,
    pub severity: Option<String>,
    pub assignee: Option<Assignee>,
    pub promise: Option<PromiseFilter>,
    /// Created at or after (Unix ms).
    pub from: Option<i64>,
    /// Created before (Unix ms).
    pub to: Option<i64>,
    /// Words to find (see `search::match_query` for how).
    pub search: Option<Search>,
    /// Continue after this entry id (keyset pagination).
    pub cursor: Option<i64>,
    /// The page that ends just before this entry id (going back).
    pub before: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    OldestFirst,
    NewestFirst,
}

impl Filter {
    pub fn order(&self) -> Order {
        match self.view {
            View::Waiting => Order::OldestFirst,
            View::All | View::Spam => Order::NewestFirst,
        }
    }
}

#[derive(Debug, Clone)]
pub struct InboxRow {
    pub id: i64,
    pub public_id: String,
    pub reference: String,
    pub kind: String,
    pub status: String,
    pub severity: Option<String>,
    /// The start of what the customer wrote.
    pub summary: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub created_at: i64,
    pub first_response_at: Option<i64>,
    /// When the customer's latest unanswered follow-up arrived.
    pub followup_at: Option<i64>,
    pub site_name: String,
    pub first_response_target_ms: i64,
    pub assignee: Option<String>,
    /// Earliest due date among the entry's open promises.
    pub next_promise_due: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct InboxPage {
    pub rows: Vec<InboxRow>,
    /// Cursor of the next page, if there is one.
    pub next: Option<i64>,
    /// Cursor (`before`) of the previous page, if there is one.
    pub prev: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Status,
    Assign,
    Note,
    Reply,
    PromiseKept,
    PromiseBroken,
    /// The customer wrote again, from their status page.
    FollowUp,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Status => "status",
            EventKind::Assign => "assign",
            EventKind::Note => "note",
            EventKind::Reply => "reply",
            EventKind::PromiseKept => "promise_kept",
            EventKind::PromiseBroken => "promise_broken",
            EventKind::FollowUp => "follow_up",
        }
    }

    fn parse(raw: &str) -> Option<EventKind> {
        [
            EventKind::Status,
            EventKind::Assign,
            EventKind::Note,
            EventKind::Reply,
            EventKind::PromiseKept,
            EventKind::PromiseBroken,
            EventKind::FollowUp,
        ]
        .into_iter()
        .find(|k| k.as_str() == raw)
    }
}

#[derive(Debug, Clone)]
pub struct Event {
    pub id: i64,
    pub kind: EventKind,
    pub actor: Option<String>,
    pub body: Option<String>,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct PromiseRow {
    pub id: i64,
    pub entry_public_id: String,
    pub entry_reference: String,
    pub text: String,
    pub due_at: i64,
    pub settled: Settled,
    pub settled_at: Option<i64>,
    pub made_by: Option<String>,
    pub created_at: i64,
}

impl PromiseRow {
    pub fn state(&self, now: i64) -> PromiseState {
        PromiseState::of(self.settled, self.due_at, self.settled_at, now)
    }
}

/// Everything the entry page shows.
#[derive(Debug, Clone)]
pub struct EntryDetail {
    pub id: i64,
    pub public_id: String,
    pub reference: String,
    pub status_token: String,
    pub kind: String,
    pub status: Status,
    pub severity: Option<String>,
    pub message: Option<String>,
    pub expected: Option<String>,
    pub actual: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
    pub page_url: Option<String>,
    pub page_title: Option<String>,
    pub page_referrer: Option<String>,
    pub user_agent: Option<String>,
    pub language: Option<String>,
    pub timezone: Option<String>,
    pub viewport: Option<String>,
    /// What the host page added (`Earshot.setContext`), in key order.
    pub host_context: Vec<(String, String)>,
    /// Images the customer attached.
    pub attachments: Vec<super::AttachmentMeta>,
    pub spam_reason: Option<String>,
    pub created_at: i64,
    pub first_response_at: Option<i64>,
    /// When the customer's latest unanswered follow-up arrived.
    pub followup_at: Option<i64>,
    pub site_name: String,
    pub first_response_target_ms: i64,
    pub assignee_id: Option<i64>,
    pub events: Vec<Event>,
    pub promises: Vec<PromiseRow>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum BulkAction {
    Assign(Option<i64>),
    Status(Status),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BulkOutcome {
    pub changed: usize,
    /// Entries the action did not apply to (unknown, or a status move the
    /// workflow forbids).
    pub skipped: usize,
}

/// Who is waiting, at a glance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WaitingSummary {
    pub waiting: i64,
    /// Waiting longer than their site's first-response target.
    pub waiting_late: i64,
    pub overdue_promises: i64,
}

/// The numbers behind "never ignore a customer" and "do what you say".
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub open_promises: Vec<PromiseRow>,
    /// The most recently settled promises made in the window, newest first
    /// (at most [`SETTLED_SHOWN`]).
    pub settled_promises: Vec<PromiseRow>,
    /// All promises made in the window and settled, by outcome.
    pub settled: SettledCounts,
}

/// Settled promises shown on the Promises page.
pub const SETTLED_SHOWN: usize = 200;

/// Promises settled, by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SettledCounts {
    pub kept_on_time: i64,
    pub kept_late: i64,
    pub broken: i64,
}

#[derive(Debug, Clone)]
pub struct SiteSettings {
    pub id: i64,
    pub name: String,
    pub key: String,
    pub first_response_minutes: i64,
    pub response_promise: Option<String>,
}

/// Why an action was refused (as opposed to failing).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("no such entry")]
    NoEntry,
    #[error("no such colleague")]
    NoUser,
    #[error("no such promise")]
    NoPromise,
    #[error("this promise is already settled")]
    AlreadySettled,
    #[error(transparent)]
    Workflow(#[from] WorkflowError),
}

#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error(transparent)]
    Store(#[from] StoreError),
}

type Outcome<T> = Result<Result<T, Refusal>, StoreError>;

fn flatten<T>(outcome: Outcome<T>) -> Result<T, ReviewError> {
    Ok(outcome??)
}

/// Of `limit + 1` rows read, the page of `limit` and the id to continue
/// after, if there is more.
pub(super) fn keyset_page<T>(
    mut rows: Vec<T>,
    limit: usize,
    id: impl Fn(&T) -> i64,
) -> (Vec<T>, Option<i64>) {
    if rows.len() > limit {
        rows.truncate(limit);
        let next = rows.last().map(id);
        (rows, next)
    } else {
        (rows, None)
    }
}

/// A filter as SQL: the tables to read (`e` is the entry), the conditions,
/// the order and the arguments they refer to.
pub(super) struct FilterSql {
    pub from: &'static str,
    pub conditions: String,
    pub order: String,
    pub args: Vec<Value>,
}

/// The FTS5 query for `filter`'s search, if it has one: resolved once per
/// read and handed to [`filter_sql`] (see `search::match_query`).
pub(super) fn matching(conn: &Connection, filter: &Filter) -> Result<Option<String>, StoreError> {
    filter
        .search
        .as_ref()
        .map(|search| super::search::match_query(conn, search))
        .transpose()
}

/// `matching` is `filter`'s search resolved by [`matching`].
pub(super) fn filter_sql(filter: &Filter, matching: Option<&str>, now: i64) -> FilterSql {
    let mut clauses: Vec<String> = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    let mut arg = |v: Value, args_len: &mut usize| {
        args.push(v);
        *args_len += 1;
        format!("?{args_len}")
    };
    let mut n = 0usize;
    match filter.view {
        View::Waiting => clauses.push(WAITING_SQL.to_owned()),
        View::All if filter.status.is_none() => clauses.push("e.status <> 'spam'".to_owned()),
        View::All => {}
        View::Spam => clauses.push("e.status = 'spam'".to_owned()),
    }
    if let Some(site) = filter.site {
        clauses.push(format!("e.site_id = {}", arg(site.into(), &mut n)));
    }
    if let Some(kind) = &filter.kind {
        clauses.push(format!("e.kind = {}", arg(kind.clone().into(), &mut n)));
    }
    if let Some(status) = filter.status {
        clauses.push(format!(
            "e.status = {}",
            arg(status.as_str().to_owned().into(), &mut n)
        ));
    }
    if let Some(severity) = &filter.severity {
        clauses.push(format!(
            "e.severity = {}",
            arg(severity.clone().into(), &mut n)
        ));
    }
    match filter.assignee {
        Some(Assignee::User(id)) => {
            clauses.push(format!("e.assignee_id = {}", arg(id.into(), &mut n)));
        }
        Some(Assignee::Nobody) => clauses.push("e.assignee_id IS NULL".to_owned()),
        None => {}
    }
    match filter.promise {
        Some(PromiseFilter::Open) => {
            clauses.push("e.id IN (SELECT entry_id FROM promises WHERE state = 'open')".to_owned())
        }
        Some(PromiseFilter::Overdue) => clauses.push(format!(
            "e.id IN (SELECT entry_id FROM promises WHERE state = 'open' AND due_at < {})",
            arg(now.into(), &mut n)
        )),
        None => {}
    }
    // Ids follow creation time (the insert keeps created_at monotonic), so a
    // date range is also an id range, found with one seek per end; scanning
    // by id then needs no sort. The created_at terms keep the answer exact
    // for rows from before that rule; `+` stops them steering the planner.
    if let Some(from) = filter.from {
        let p = arg(from.into(), &mut n);
        clauses.push(format!(
            "e.id >= (SELECT id FROM entries WHERE created_at >= {p} ORDER BY created_at, id LIMIT 1) AND +e.created_at >= {p}"
        ));
    }
    if let Some(to) = filter.to {
        let p = arg(to.into(), &mut n);
        clauses.push(format!(
            "e.id <= (SELECT id FROM entries WHERE created_at < {p} ORDER BY created_at DESC, id DESC LIMIT 1) AND +e.created_at < {p}"
        ));
    }
    let order = filter.order();
    let ascending = order == Order::OldestFirst;
    if let Some(cursor) = filter.cursor {
        let op = if ascending { ">" } else { "<" };
        clauses.push(format!("e.id {op} {}", arg(cursor.into(), &mut n)));
    }
    // Going back reads the other way from the cursor; the caller puts the
    // rows back in order.
    if let Some(before) = filter.before {
        let op = if ascending { "<" } else { ">" };
        clauses.push(format!("e.id {op} {}", arg(before.into(), &mut n)));
    }
    let direction = if ascending != filter.before.is_some() {
        "ASC"
    } else {
        "DESC"
    };
    // With a search, the full-text index drives the query in rowid order
    // and stops after one page; without, the entries' own indexes do.
    let (from_sql, order_sql) = match matching {
        Some(query) => {
            clauses.push(format!(
                "entries_fts MATCH {}",
                arg(query.to_owned().into(), &mut n)
            ));
            // The index holds every column a filter tests, so matches the
            // filter drops never cost a read of their whole row.
            (
                "entries_fts f JOIN entries e INDEXED BY entries_search_filter ON e.id = f.rowid",
                format!("f.rowid {direction}"),
            )
        }
        // Without statistics the planner prefers the status index for the
        // waiting view and scans every open entry; the partial index holds
        // exactly the waiting ones.
        None if filter.view == View::Waiting => (
            "entries e INDEXED BY entries_waiting",
            format!("e.id {direction}"),
        ),
        None => ("entries e", format!("e.id {direction}")),
    };
    let conditions = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    FilterSql {
        from: from_sql,
        conditions,
        order: order_sql,
        args,
    }
}

fn inbox(
    conn: &Connection,
    filter: &Filter,
    matching: Option<&str>,
    limit: usize,
    now: i64,
) -> Result<InboxPage, StoreError> {
    let FilterSql {
        from: from_sql,
        conditions: where_sql,
        order: order_sql,
        args,
    } = filter_sql(filter, matching, now);
    let sql = format!(
        "SELECT e.id, e.public_id, e.reference, e.kind, e.status, e.severity,
                CASE WHEN e.expected IS NOT NULL
                     THEN substr(e.expected, 1, 117) || ' → ' || substr(coalesce(e.actual, ''), 1, 117)
                     ELSE substr(coalesce(e.message, ''), 1, 240) END, e.email, e.name,
                e.created_at, e.first_response_at, s.name, s.first_response_minutes, u.name,
                (SELECT min(p.due_at) FROM promises p WHERE p.entry_id = e.id AND p.state = 'open'),
                e.followup_at
         FROM {from_sql}
         JOIN sites s ON s.id = e.site_id
         LEFT JOIN users u ON u.id = e.assignee_id
         {where_sql}
         ORDER BY {order_sql}
         LIMIT {}",
        limit + 1
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params_from_iter(args), |r| {
        Ok(InboxRow {
            id: r.get(0)?,
            public_id: r.get(1)?,
            reference: r.get(2)?,
            kind: r.get(3)?,
            status: r.get(4)?,
            severity: r.get(5)?,
            summary: r.get(6)?,
            email: r.get(7)?,
            name: r.get(8)?,
            created_at: r.get(9)?,
            first_response_at: r.get(10)?,
            site_name: r.get(11)?,
            first_response_target_ms: r.get::<_, i64>(12)?.saturating_mul(60_000),
            assignee: r.get(13)?,
            next_promise_due: r.get(14)?,
            followup_at: r.get(15)?,
        })
    })?;
    let rows: Vec<InboxRow> = rows.collect::<Result<_, _>>()?;
    let (mut rows, more) = keyset_page(rows, limit, |r| r.id);
    let first = |rows: &[InboxRow]| rows.first().map(|r| r.id);
    let last = |rows: &[InboxRow]| rows.last().map(|r| r.id);
    Ok(if filter.before.is_some() {
        rows.reverse();
        let prev = more.and(first(&rows));
        let next = last(&rows);
        InboxPage { rows, next, prev }
    } else {
        let prev = filter.cursor.and(first(&rows));
        InboxPage {
            next: more,
            prev,
            rows,
        }
    })
}

/// Entries the filter matches, counted up to `cap` (then `cap`).
fn inbox_count(
    conn: &Connection,
    filter: &Filter,
    matching: Option<&str>,
    cap: i64,
    now: i64,
) -> Result<i64, StoreError> {
    let unpaged = Filter {
        cursor: None,
        before: None,
        ..filter.clone()
    };
    let FilterSql {
        from,
        conditions,
        args,
        ..
    } = filter_sql(&unpaged, matching, now);
    let sql = format!("SELECT count(*) FROM (SELECT 1 FROM {from} {conditions} LIMIT {cap})");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(params_from_iter(args), |r| r.get(0))?)
}

fn promise_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PromiseRow> {
    let settled: String = r.get(5)?;
    Ok(PromiseRow {
        id: r.get(0)?,
        entry_public_id: r.get(1)?,
        entry_reference: r.get(2)?,
        text: r.get(3)?,
        due_at: r.get(4)?,
        settled: Settled::parse(&settled).unwrap_or(Settled::Open),
        settled_at: r.get(6)?,
        made_by: r.get(7)?,
        created_at: r.get(8)?,
    })
}

const PROMISE_SELECT: &str = "SELECT p.id, e.public_id, e.reference, p.text, p.due_at, p.state,
        p.settled_at, u.name, p.created_at
     FROM promises p JOIN entries e ON e.id = p.entry_id LEFT JOIN users u ON u.id = p.made_by";

fn detail(conn: &Connection, public_id: &str) -> Result<Option<EntryDetail>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT e.id, e.public_id, e.reference, e.status_token, e.kind, e.status, e.severity,
                e.message, e.expected, e.actual, e.email, e.name, e.page_url, e.page_title,
                e.page_referrer, e.user_agent, e.language, e.timezone, e.viewport, e.spam_reason,
                e.created_at, e.first_response_at, s.name, s.first_response_minutes, e.assignee_id,
                e.context, e.followup_at
         FROM entries e JOIN sites s ON s.id = e.site_id WHERE e.public_id = ?1",
    )?;
    let found = stmt
        .query_row([public_id], |r| {
            let status: String = r.get(5)?;
            Ok(EntryDetail {
                id: r.get(0)?,
                public_id: r.get(1)?,
                reference: r.get(2)?,
                status_token: r.get(3)?,
                kind: r.get(4)?,
                status: Status::parse(&status).unwrap_or(Status::New),
                severity: r.get(6)?,
                message: r.get(7)?,
                expected: r.get(8)?,
                actual: r.get(9)?,
                email: r.get(10)?,
                name: r.get(11)?,
                page_url: r.get(12)?,
                page_title: r.get(13)?,
                page_referrer: r.get(14)?,
                user_agent: r.get(15)?,
                language: r.get(16)?,
                timezone: r.get(17)?,
                viewport: r.get(18)?,
                spam_reason: r.get(19)?,
                created_at: r.get(20)?,
                first_response_at: r.get(21)?,
                site_name: r.get(22)?,
                first_response_target_ms: r.get::<_, i64>(23)?.saturating_mul(60_000),
                assignee_id: r.get(24)?,
                host_context: r
                    .get::<_, Option<String>>(25)?
                    .and_then(|json| {
                        serde_json::from_str::<std::collections::BTreeMap<String, String>>(&json)
                            .ok()
                    })
                    .map(|map| map.into_iter().collect())
                    .unwrap_or_default(),
                followup_at: r.get(26)?,
                attachments: Vec::new(),
                events: Vec::new(),
                promises: Vec::new(),
            })
        })
        .optional()?;
    let Some(mut entry) = found else {
        return Ok(None);
    };
    entry.attachments = super::attachments::for_entry(conn, entry.id)?;
    let mut stmt = conn.prepare_cached(
        "SELECT ev.id, ev.kind, u.name, ev.body, ev.old_value, ev.new_value, ev.created_at
         FROM events ev LEFT JOIN users u ON u.id = ev.actor_id
         WHERE ev.entry_id = ?1 ORDER BY ev.id",
    )?;
    let events = stmt.query_map([entry.id], |r| {
        let kind: String = r.get(1)?;
        let event = Event {
            id: r.get(0)?,
            kind: EventKind::Note,
            actor: r.get(2)?,
            body: r.get(3)?,
            old_value: r.get(4)?,
            new_value: r.get(5)?,
            created_at: r.get(6)?,
        };
        // The CHECK constraint admits only known kinds; skip anything else.
        Ok(EventKind::parse(&kind).map(|kind| Event { kind, ..event }))
    })?;
    for event in events {
        entry.events.extend(event?);
    }
    let mut stmt = conn.prepare_cached(&format!(
        "{PROMISE_SELECT} WHERE p.entry_id = ?1 ORDER BY p.id"
    ))?;
    entry.promises = stmt
        .query_map([entry.id], promise_from_row)?
        .collect::<Result<_, _>>()?;
    Ok(Some(entry))
}

/// (id, status, first_response_at) of an entry, for actions.
fn locate(conn: &Connection, public_id: &str) -> Result<Option<(i64, Status)>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT id, status FROM entries WHERE public_id = ?1")?;
    let found = stmt
        .query_row([public_id], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })
        .optional()?;
    Ok(found.map(|(id, status)| (id, Status::parse(&status).unwrap_or(Status::New))))
}

pub(super) struct NewEvent<'a> {
    pub entry_id: i64,
    /// The colleague; `None` when the customer did it.
    pub actor: Option<i64>,
    pub kind: EventKind,
    pub body: Option<&'a str>,
    pub old_value: Option<&'a str>,
    pub new_value: Option<&'a str>,
    pub at: i64,
}

pub(super) fn record(conn: &Connection, event: NewEvent<'_>) -> Result<i64, StoreError> {
    conn.prepare_cached(
        "INSERT INTO events (entry_id, actor_id, kind, body, old_value, new_value, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        event.entry_id,
        event.actor,
        event.kind.as_str(),
        event.body,
        event.old_value,
        event.new_value,
        event.at
    ])?;
    Ok(conn.last_insert_rowid())
}

pub(super) fn move_status(
    conn: &Connection,
    entry_id: i64,
    from: Status,
    to: Status,
    actor: Option<i64>,
    at: i64,
) -> Result<Result<(), Refusal>, StoreError> {
    if let Err(e) = from.transition(to) {
        return Ok(Err(e.into()));
    }
    conn.prepare_cached("UPDATE entries SET status = ?2 WHERE id = ?1")?
        .execute(params![entry_id, to.as_str()])?;
    super::rollup::status_changed(conn, entry_id, from.as_str(), to.as_str(), at)?;
    record(
        conn,
        NewEvent {
            entry_id,
            actor,
            kind: EventKind::Status,
            body: None,
            old_value: Some(from.as_str()),
            new_value: Some(to.as_str()),
            at,
        },
    )?;
    notice(
        conn,
        Notice {
            kind: NoticeKind::Status,
            entry_id,
            actor,
            subject: None,
            old_value: Some(from.as_str()),
            new_value: Some(to.as_str()),
            at,
        },
    )?;
    Ok(Ok(()))
}

/// Whether `user_id` is an account that can be given work.
fn is_active_user(conn: &Connection, user_id: i64) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM users WHERE id = ?1 AND disabled_at IS NULL")?
        .query_row([user_id], |_| Ok(()))
        .optional()?
        .is_some())
}

fn user_name(conn: &Connection, user_id: i64) -> Result<Option<String>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT name FROM users WHERE id = ?1")?
        .query_row([user_id], |r| r.get(0))
        .optional()?)
}

/// Assigns (or unassigns) one entry; `Ok(false)` when nothing changed.
fn assign_one(
    conn: &Connection,
    entry_id: i64,
    assignee: Option<i64>,
    actor: i64,
    at: i64,
) -> Result<bool, StoreError> {
    let current: Option<i64> = conn
        .prepare_cached("SELECT assignee_id FROM entries WHERE id = ?1")?
        .query_row([entry_id], |r| r.get(0))?;
    if current == assignee {
        return Ok(false);
    }
    conn.prepare_cached("UPDATE entries SET assignee_id = ?2 WHERE id = ?1")?
        .execute(params![entry_id, assignee])?;
    let old = current.map(|id| user_name(conn, id)).transpose()?.flatten();
    let new = assignee
        .map(|id| user_name(conn, id))
        .transpose()?
        .flatten();
    record(
        conn,
        NewEvent {
            entry_id,
            actor: Some(actor),
            kind: EventKind::Assign,
            body: None,
            old_value: old.as_deref(),
            new_value: new.as_deref(),
            at,
        },
    )?;
    notice(
        conn,
        Notice {
            kind: NoticeKind::Assign,
            entry_id,
            actor: Some(actor),
            subject: assignee,
            old_value: old.as_deref(),
            new_value: new.as_deref(),
            at,
        },
    )?;
    Ok(true)
}

/// A reply with an optional promise attached.
#[derive(Debug, Clone)]
pub struct NewReply {
    pub body: String,
    pub promise: Option<(String, i64)>,
}

fn reply(
    conn: &Connection,
    public_id: &str,
    reply: &NewReply,
    actor: i64,
    at: i64,
) -> Outcome<i64> {
    let Some((entry_id, status)) = locate(conn, public_id)? else {
        return Ok(Err(Refusal::NoEntry));
    };
    let event_id = record(
        conn,
        NewEvent {
            entry_id,
            actor: Some(actor),
            kind: EventKind::Reply,
            body: Some(&reply.body),
            old_value: None,
            new_value: None,
            at,
        },
    )?;
    // A reply answers the customer's follow-ups too.
    conn.prepare_cached(
        "UPDATE entries SET followup_at = NULL WHERE id = ?1 AND followup_at IS NOT NULL",
    )?
    .execute([entry_id])?;
    // The first reply stops the first-response clock.
    let first = conn
        .prepare_cached(
            "UPDATE entries SET first_response_at = ?2 WHERE id = ?1 AND first_response_at IS NULL",
        )?
        .execute(params![entry_id, at])?;
    if first == 1 && status != Status::Spam {
        super::rollup::first_response(conn, entry_id, at)?;
    }
    // Answering a new entry acknowledges it.
    if status == Status::New {
        move_status(
            conn,
            entry_id,
            status,
            Status::Acknowledged,
            Some(actor),
            at,
        )?
        .ok();
    }
    let mut said = Notice {
        kind: NoticeKind::Reply,
        entry_id,
        actor: Some(actor),
        subject: Some(event_id),
        old_value: None,
        new_value: None,
        at,
    };
    notice(conn, said.clone())?;
    if let Some((text, due_at)) = &reply.promise {
        conn.prepare_cached(
            "INSERT INTO promises (entry_id, event_id, made_by, text, due_at, created_at, site_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, (SELECT site_id FROM entries WHERE id = ?1))",
        )?
        .execute(params![entry_id, event_id, actor, text, due_at, at])?;
        said.kind = NoticeKind::PromiseMade;
        said.subject = Some(conn.last_insert_rowid());
        notice(conn, said)?;
    }
    Ok(Ok(event_id))
}

impl Store {
    /// One page of at most `limit` entries.
    pub async fn inbox(
        &self,
        filter: Filter,
        limit: usize,
        now: i64,
    ) -> Result<InboxPage, StoreError> {
        self.ready_to_search(&filter).await?;
        self.read(move |conn| {
            let matching = matching(conn, &filter)?;
            inbox(conn, &filter, matching.as_deref(), limit, now)
        })
        .await
    }

    /// One page of at most `limit` entries, and how many entries `filter`
    /// matches in all, counted no further than `cap` (the answer is then
    /// `cap`): exact where it matters, bounded in cost.
    pub async fn inbox_counted(
        &self,
        filter: Filter,
        limit: usize,
        cap: i64,
        now: i64,
    ) -> Result<(InboxPage, i64), StoreError> {
        self.ready_to_search(&filter).await?;
        self.read(move |conn| {
            let matching = matching(conn, &filter)?;
            Ok((
                inbox(conn, &filter, matching.as_deref(), limit, now)?,
                inbox_count(conn, &filter, matching.as_deref(), cap, now)?,
            ))
        })
        .await
    }

    /// The public id of the entry with this reference.
    pub async fn entry_by_reference(
        &self,
        reference: String,
    ) -> Result<Option<String>, StoreError> {
        self.read(move |conn| {
            Ok(conn
                .prepare_cached("SELECT public_id FROM entries WHERE reference = ?1")?
                .query_row([reference], |r| r.get(0))
                .optional()?)
        })
        .await
    }

    pub async fn entry_detail(&self, public_id: String) -> Result<Option<EntryDetail>, StoreError> {
        self.read(move |conn| detail(conn, &public_id)).await
    }

    pub async fn set_status(
        &self,
        public_id: String,
        to: Status,
        actor: i64,
        at: i64,
    ) -> Result<(), ReviewError> {
        flatten(
            self.write(move |conn| {
                let Some((id, from)) = locate(conn, &public_id)? else {
                    return Ok(Err(Refusal::NoEntry));
                };
                move_status(conn, id, from, to, Some(actor), at)
            })
            .await,
        )
    }

    pub async fn assign(
        &self,
        public_id: String,
        assignee: Option<i64>,
        actor: i64,
        at: i64,
    ) -> Result<(), ReviewError> {
        flatten(
            self.write(move |conn| {
                let Some((id, _)) = locate(conn, &public_id)? else {
                    return Ok(Err(Refusal::NoEntry));
                };
                if let Some(user) = assignee
                    && !is_active_user(conn, user)?
                {
                    return Ok(Err(Refusal::NoUser));
                }
                assign_one(conn, id, assignee, actor, at)?;
                Ok(Ok(()))
            })
            .await,
        )
    }

    /// An internal note: on the timeline and in search, never shown to the
    /// customer.
    pub async fn add_note(
        &self,
        public_id: String,
        body: String,
        actor: i64,
        at: i64,
    ) -> Result<(), ReviewError> {
        flatten(
            self.write(move |conn| {
                let Some((id, _)) = locate(conn, &public_id)? else {
                    return Ok(Err(Refusal::NoEntry));
                };
                record(
                    conn,
                    NewEvent {
                        entry_id: id,
                        actor: Some(actor),
                        kind: EventKind::Note,
                        body: Some(&body),
                        old_value: None,
                        new_value: None,
                        at,
                    },
                )?;
                // An entry not indexed yet gets its notes from the timeline
                // when it is (see `search`).
                if id <= super::search::indexed_upto(conn)? {
                    conn.prepare_cached(
                        "UPDATE entries_fts SET notes = notes || char(10) || ?2 WHERE rowid = ?1",
                    )?
                    .execute(params![id, body])?;
                }
                Ok(Ok(()))
            })
            .await,
        )
    }

    /// A reply to the customer, shown on their status page; may carry a
    /// promise. Returns the reply's event id.
    pub async fn reply(
        &self,
        public_id: String,
        new: NewReply,
        actor: i64,
        at: i64,
    ) -> Result<i64, ReviewError> {
        flatten(
            self.write(move |conn| reply(conn, &public_id, &new, actor, at))
                .await,
        )
    }

    /// Notes on a reply whether its email went out (`emailed` or
    /// `email_failed`), for the timeline.
    pub async fn mark_reply_mailed(&self, event_id: i64, sent: bool) -> Result<(), StoreError> {
        self.write(move |conn| {
            conn.execute(
                "UPDATE events SET new_value = ?2 WHERE id = ?1 AND kind = 'reply'",
                params![event_id, if sent { "emailed" } else { "email_failed" }],
            )?;
            Ok(())
        })
        .await
    }

    /// Records that a promise was kept or broken.
    pub async fn settle_promise(
        &self,
        public_id: String,
        promise_id: i64,
        kept: bool,
        actor: i64,
        at: i64,
    ) -> Result<(), ReviewError> {
        flatten(
            self.write(move |conn| {
                let Some((entry_id, _)) = locate(conn, &public_id)? else {
                    return Ok(Err(Refusal::NoEntry));
                };
                let found: Option<(String, String)> = conn
                    .prepare_cached(
                        "SELECT state, text FROM promises WHERE id = ?1 AND entry_id = ?2",
                    )?
                    .query_row(params![promise_id, entry_id], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })
                    .optional()?;
                let Some((state, text)) = found else {
                    return Ok(Err(Refusal::NoPromise));
                };
                if state != Settled::Open.as_str() {
                    return Ok(Err(Refusal::AlreadySettled));
                }
                let (settled, kind) = if kept {
                    (Settled::Kept, EventKind::PromiseKept)
                } else {
                    (Settled::Broken, EventKind::PromiseBroken)
                };
                conn.prepare_cached(
                    "UPDATE promises SET state = ?2, settled_at = ?3 WHERE id = ?1",
                )?
                .execute(params![promise_id, settled.as_str(), at])?;
                record(
                    conn,
                    NewEvent {
                        entry_id,
                        actor: Some(actor),
                        kind,
                        body: Some(&text),
                        old_value: None,
                        new_value: None,
                        at,
                    },
                )?;
                notice(
                    conn,
                    Notice {
                        kind: NoticeKind::PromiseSettled,
                        entry_id,
                        actor: Some(actor),
                        subject: Some(promise_id),
                        old_value: None,
                        new_value: Some(settled.as_str()),
                        at,
                    },
                )?;
                Ok(Ok(()))
            })
            .await,
        )
    }

    /// Applies one action to many entries; entries it cannot apply to are
    /// counted as skipped, not failed.
    pub async fn bulk(
        &self,
        public_ids: Vec<String>,
        action: BulkAction,
        actor: i64,
        at: i64,
    ) -> Result<BulkOutcome, ReviewError> {
        flatten(
            self.write(move |conn| {
                if let BulkAction::Assign(Some(user)) = action
                    && !is_active_user(conn, user)?
                {
                    return Ok(Err(Refusal::NoUser));
                }
                let mut outcome = BulkOutcome::default();
                for public_id in public_ids.iter().take(BULK_MAX) {
                    let Some((id, from)) = locate(conn, public_id)? else {
                        outcome.skipped += 1;
                        continue;
                    };
                    let changed = match &action {
                        BulkAction::Assign(user) => assign_one(conn, id, *user, actor, at)?,
                        BulkAction::Status(to) => {
                            move_status(conn, id, from, *to, Some(actor), at)?.is_ok()
                        }
                    };
                    if changed {
                        outcome.changed += 1;
                    } else {
                        outcome.skipped += 1;
                    }
                }
                // Each entry's timeline has the change too; the audit log
                // keeps that one person changed many at once.
                if outcome.changed > 0 {
                    let (what, to) = match &action {
                        BulkAction::Status(to) => ("entries.bulk_status", to.as_str().to_owned()),
                        BulkAction::Assign(None) => ("entries.bulk_assign", "nobody".to_owned()),
                        BulkAction::Assign(Some(user)) => (
                            "entries.bulk_assign",
                            conn.prepare_cached("SELECT email FROM users WHERE id = ?1")?
                                .query_row([user], |r| r.get(0))?,
                        ),
                    };
                    let subject = format!("{} entries", outcome.changed);
                    let detail = format!("to={to},skipped={}", outcome.skipped);
                    super::accounts::audit(conn, Some(actor), what, &subject, Some(&detail), at)?;
                }
                Ok(Ok(outcome))
            })
            .await,
        )
    }

    /// Who is waiting, how many past target, how many promises overdue.
    pub async fn waiting_summary(&self, now: i64) -> Result<WaitingSummary, StoreError> {
        self.read(move |conn| {
            let waiting: i64 = conn
                .prepare_cached(&format!(
                    "SELECT count(*) FROM entries e INDEXED BY entries_waiting WHERE {WAITING_SQL}"
                ))?
                .query_row([], |r| r.get(0))?;
            let waiting_late: i64 = conn
                .prepare_cached(&format!(
                    "SELECT count(*) FROM entries e INDEXED BY entries_waiting
                     JOIN sites s ON s.id = e.site_id
                     WHERE {WAITING_SQL} AND {WAITING_SINCE_SQL} + s.first_response_minutes * 60000 < ?1"
                ))?
                .query_row([now], |r| r.get(0))?;
            let overdue_promises: i64 = conn
                .prepare_cached(
                    "SELECT count(*) FROM promises WHERE state = 'open' AND due_at < ?1",
                )?
                .query_row([now], |r| r.get(0))?;
            Ok(WaitingSummary {
                waiting,
                waiting_late,
                overdue_promises,
            })
        })
        .await
    }

    /// Promises made since `since`, and first-response times of entries
    /// created since `responses_since`.
    /// Open promises, and those made since `since` that were settled.
    pub async fn report(&self, since: i64) -> Result<Report, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "{PROMISE_SELECT} WHERE p.state = 'open' ORDER BY p.due_at, p.id"
            ))?;
            let open_promises = stmt
                .query_map([], promise_from_row)?
                .collect::<Result<_, _>>()?;
            let mut stmt = conn.prepare_cached(&format!(
                "{PROMISE_SELECT} WHERE p.state <> 'open' AND p.created_at >= ?1
                 ORDER BY p.settled_at DESC, p.id DESC LIMIT ?2"
            ))?;
            let settled_promises = stmt
                .query_map(
                    params![since, i64::try_from(SETTLED_SHOWN).unwrap_or(i64::MAX)],
                    promise_from_row,
                )?
                .collect::<Result<_, _>>()?;
            let settled = conn
                .prepare_cached(
                    "SELECT coalesce(sum(state = 'kept' AND settled_at <= due_at), 0),
                            coalesce(sum(state = 'kept' AND settled_at > due_at), 0),
                            coalesce(sum(state = 'broken'), 0)
                     FROM promises WHERE created_at >= ?1 AND state <> 'open'",
                )?
                .query_row([since], |r| {
                    Ok(SettledCounts {
                        kept_on_time: r.get(0)?,
                        kept_late: r.get(1)?,
                        broken: r.get(2)?,
                    })
                })?;
            Ok(Report {
                open_promises,
                settled_promises,
                settled,
            })
        })
        .await
    }

    pub async fn site_settings(&self) -> Result<Vec<SiteSettings>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, name, key, first_response_minutes, response_promise FROM sites ORDER BY id",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(SiteSettings {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    key: r.get(2)?,
                    first_response_minutes: r.get(3)?,
                    response_promise: r.get(4)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }
}
