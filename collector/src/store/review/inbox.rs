//! The inbox: a page of the entries a filter selects (`select`), how many
//! in all, and who waits.

use rusqlite::Connection;

use super::select::{Resolved, count, read_page};
use super::{WAITING_SINCE_SQL, WAITING_SQL};
use crate::review::filter::{Cursor, Filter, PromiseFilter};
use crate::store::{Sqlite, StoreError};

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
    pub site_key: String,
    pub first_response_target_ms: i64,
    /// The assignee's name and id.
    pub assignee: Option<String>,
    pub assignee_id: Option<i64>,
    /// Earliest due date among the entry's open promises.
    pub next_promise_due: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct InboxPage {
    pub rows: Vec<InboxRow>,
    /// Cursor of the next page, if there is one.
    pub next: Option<Cursor>,
    /// Cursor (`before`) of the previous page, if there is one.
    pub prev: Option<Cursor>,
}

/// Who is waiting, at a glance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WaitingSummary {
    pub waiting: i64,
    /// Waiting longer than their site's first-response target.
    pub waiting_late: i64,
    pub overdue_promises: i64,
}

#[derive(Debug, Clone)]
pub struct SiteSettings {
    pub id: i64,
    pub name: String,
    pub key: String,
    pub first_response_minutes: i64,
    pub response_promise: Option<String>,
    /// Customers who leave an address are emailed a receipt.
    pub receipt_email: bool,
}

/// An inbox row's columns, in [`InboxRow`]'s order, of `e` (the entry),
/// `s` (its site) and `u` (its assignee); the same SQL on both backends.
pub(in crate::store) const INBOX_COLUMNS: &str =
    "e.id, e.public_id, e.reference, e.kind, e.status, e.severity,
    CASE WHEN e.expected IS NOT NULL
         THEN substr(e.expected, 1, 117) || ' → ' || substr(coalesce(e.actual, ''), 1, 117)
         ELSE substr(coalesce(e.message, ''), 1, 240) END, e.email, e.name,
    e.created_at, e.first_response_at, s.name, s.first_response_minutes, u.name,
    (SELECT min(p.due_at) FROM promises p WHERE p.entry_id = e.id AND p.state = 'open'),
    e.followup_at, e.assignee_id, s.key";

/// The conditions picking a customer's other entries: those whose email
/// is the entry's (`$1`, its public id) as erasure matches it, trimmed and
/// in any case (`email_key`, the `entries_email_key` index).
pub(in crate::store) const SAME_CUSTOMER_CONDITIONS: &str = "WHERE e.email_key =
           (SELECT o.email_key FROM entries o WHERE o.public_id = $1)
       AND e.public_id <> $1";

/// Entries that gave the same email (trimmed, any case) as the entry whose
/// reference is `param`, that one included (`entries_email_key`).
pub(in crate::store) fn customer_sql(param: &str) -> String {
    format!("e.email_key = (SELECT o.email_key FROM entries o WHERE o.reference = {param})")
}

/// Entries with a promise open, or open past due: `now` places the time
/// as a parameter, asked for only when the filter compares with it.
pub(in crate::store) fn promise_sql(
    promise: PromiseFilter,
    now: impl FnOnce() -> String,
) -> String {
    let open = "e.id IN (SELECT entry_id FROM promises WHERE state = 'open'";
    match promise {
        PromiseFilter::Open => format!("{open})"),
        PromiseFilter::Overdue => format!("{open} AND due_at < {})", now()),
    }
}

/// The customer's other entries: the newest few, and how many in all.
#[derive(Debug, Clone, Default)]
pub struct SameCustomer {
    pub recent: Vec<InboxRow>,
    pub total: i64,
}

/// Of `limit + 1` rows read, the page of `limit` and the place to continue
/// after, if there is more.
pub(in crate::store) fn keyset_page<T>(
    mut rows: Vec<T>,
    limit: usize,
    place: impl Fn(&T) -> Cursor,
) -> (Vec<T>, Option<Cursor>) {
    if rows.len() > limit {
        rows.truncate(limit);
        let next = rows.last().map(place);
        (rows, next)
    } else {
        (rows, None)
    }
}

/// A page of `limit + 1` rows of `columns` (of `e`, its site `s` and
/// assignee `u`) from `from` (the entries `e`, on SQLite joined to their
/// search hits) that a filter's `conditions` select, in its `order`: the
/// inbox's and the export's query on either backend.
pub(in crate::store) fn page_sql(
    columns: &str,
    from: &str,
    conditions: &str,
    order: &str,
    limit: usize,
) -> String {
    format!(
        "SELECT {columns}
         FROM {from}
         JOIN sites s ON s.id = e.site_id
         LEFT JOIN users u ON u.id = e.assignee_id
         {conditions}
         ORDER BY {order}
         LIMIT {}",
        limit + 1
    )
}

fn inbox(
    conn: &Connection,
    filter: &Filter,
    resolved: &Resolved,
    limit: usize,
    now: i64,
) -> Result<InboxPage, StoreError> {
    let rows = read_page(conn, filter, resolved, INBOX_COLUMNS, limit, now, inbox_row)?;
    Ok(inbox_page(rows, filter, limit))
}

/// A row of [`INBOX_COLUMNS`].
fn inbox_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<InboxRow> {
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
        assignee_id: r.get(16)?,
        site_key: r.get(17)?,
    })
}

fn same_customer(
    conn: &Connection,
    public_id: &str,
    limit: usize,
) -> Result<SameCustomer, StoreError> {
    // A page's SQL reads one row more than `limit`: dropped here.
    let sql = page_sql(
        INBOX_COLUMNS,
        "entries e",
        SAME_CUSTOMER_CONDITIONS,
        "e.id DESC",
        limit,
    );
    let mut recent: Vec<InboxRow> = conn
        .prepare_cached(&sql)?
        .query_map([public_id], inbox_row)?
        .collect::<Result<_, _>>()?;
    recent.truncate(limit);
    let total = conn
        .prepare_cached(&format!(
            "SELECT count(*) FROM entries e {SAME_CUSTOMER_CONDITIONS}"
        ))?
        .query_row([public_id], |r| r.get(0))?;
    Ok(SameCustomer { recent, total })
}

/// Of `limit + 1` rows read in `filter`'s direction (backwards when it
/// pages back), the page in order with the cursors either side.
pub(in crate::store) fn inbox_page(
    rows: Vec<InboxRow>,
    filter: &Filter,
    limit: usize,
) -> InboxPage {
    let place = |r: &InboxRow| Cursor::of(filter, r.id, r.created_at, r.followup_at);
    let (mut rows, more) = keyset_page(rows, limit, place);
    let first = |rows: &[InboxRow]| rows.first().map(place);
    let last = |rows: &[InboxRow]| rows.last().map(place);
    if filter.before.is_some() {
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
    }
}

impl Sqlite {
    /// One page of at most `limit` entries.
    /// The customer's other entries (by the entry `public_id`'s email):
    /// the newest `limit`, and how many in all.
    pub async fn same_customer(
        &self,
        public_id: String,
        limit: usize,
    ) -> Result<SameCustomer, StoreError> {
        self.read(move |conn| same_customer(conn, &public_id, limit))
            .await
    }

    pub async fn inbox(
        &self,
        filter: Filter,
        limit: usize,
        now: i64,
    ) -> Result<InboxPage, StoreError> {
        self.ready_to_search(&filter).await?;
        self.read(move |conn| {
            let resolved = Resolved::read(conn, &filter)?;
            inbox(conn, &filter, &resolved, limit, now)
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
            let resolved = Resolved::read(conn, &filter)?;
            Ok((
                inbox(conn, &filter, &resolved, limit, now)?,
                count(conn, &filter, &resolved, cap, now)?,
            ))
        })
        .await
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

    pub async fn site_settings(&self) -> Result<Vec<SiteSettings>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, name, key, first_response_minutes, response_promise, receipt_email
                 FROM sites ORDER BY name_key, id",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(SiteSettings {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    key: r.get(2)?,
                    first_response_minutes: r.get(3)?,
                    response_promise: r.get(4)?,
                    receipt_email: r.get(5)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }
}
