//! The inbox: which entries a filter selects, a page of them, how many.

use rusqlite::types::Value;
use rusqlite::{Connection, params_from_iter};

use crate::store::{Sqlite, StoreError};

use super::{OPEN_SQL, WAITING_SINCE_SQL, WAITING_SQL};
use crate::review::filter::{Assignee, Cursor, Filter, Order, PromiseFilter, View};

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

/// A filter as SQL: the tables to read (`e` is the entry), the conditions,
/// the order and the arguments they refer to.
pub(in crate::store) struct FilterSql {
    pub from: &'static str,
    pub conditions: String,
    pub order: String,
    pub args: Vec<Value>,
}

/// The FTS5 query for `filter`'s search, if it has one: resolved once per
/// read and handed to [`filter_sql`] (see `search::match_query`).
pub(in crate::store) fn matching(
    conn: &Connection,
    filter: &Filter,
) -> Result<Option<String>, StoreError> {
    filter
        .search
        .as_ref()
        .map(|search| crate::store::search::match_query(conn, search))
        .transpose()
}

/// `matching` is `filter`'s search resolved by [`matching`].
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

pub(in crate::store) fn filter_sql(filter: &Filter, matching: Option<&str>, now: i64) -> FilterSql {
    let mut clauses: Vec<String> = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    let mut arg = |v: Value, args_len: &mut usize| {
        args.push(v);
        *args_len += 1;
        format!("?{args_len}")
    };
    let mut n = 0usize;
    // With a search, FTS5 reads its hits in id order and each is joined
    // to its entry: a bound on the hits' ids (`f.rowid`) lets FTS5 seek
    // past the rest, where the same bound on `e.id` would be checked hit
    // by hit (a search's page 2,000 deep took 121 ms at a million entries).
    let searched = matching.is_some();
    let id = if searched { "f.rowid" } else { "e.id" };
    // `e.column = value`, for a column an index leads with ahead of the
    // id. With a search, also the id range the entries so filtered lie in,
    // one index seek each end: redundant with the filter itself, but it
    // lets FTS5 skip the hits outside it. Closed statuses lie far from the
    // newest hits (the word + status search from 9 ms to 0.5).
    let equal = |clauses: &mut Vec<String>, column: &str, value: &str| {
        clauses.push(format!("e.{column} = {value}"));
        if searched {
            clauses.push(format!(
                "f.rowid BETWEEN (SELECT min(id) FROM entries WHERE {column} = {value})
                             AND (SELECT max(id) FROM entries WHERE {column} = {value})"
            ));
        }
    };
    match filter.view {
        View::Waiting => clauses.push(WAITING_SQL.to_owned()),
        View::Open => clauses.push(OPEN_SQL.to_owned()),
        View::All if filter.status.is_none() => clauses.push("e.status <> 'spam'".to_owned()),
        View::All => {}
        View::Spam => clauses.push("e.status = 'spam'".to_owned()),
    }
    // The waiting and open views are a few entries, nearly all recent,
    // among hits of every age, which FTS5 reads from the oldest: joined
    // hit by hit to its entry, a common word among those waiting took
    // 150-250 ms at a million entries. Searched, the hits are bounded
    // below by the view's oldest entry, and each is first checked against
    // the view's ids, read once from its partial index into a list (`+`
    // keeps SQLite from looking the list's ids up in the text index one by
    // one, 3 ms each): 7 ms. An entry left open for eleven months still
    // costs a walk from there, against the list (48 ms, not 200).
    let view_index = match filter.view {
        View::Waiting => Some(("entries_waiting", WAITING_SQL)),
        View::Open => Some(("entries_open", OPEN_SQL)),
        View::All | View::Spam => None,
    };
    if let (true, Some((index, condition))) = (searched, view_index) {
        let ids = format!("FROM entries e INDEXED BY {index} WHERE {condition}");
        clauses.push(format!("f.rowid >= (SELECT min(e.id) {ids})"));
        clauses.push(format!("+f.rowid IN (SELECT e.id {ids})"));
    }
    if let Some(site) = filter.site {
        clauses.push(format!("e.site_id = {}", arg(site.into(), &mut n)));
    }
    if let Some(kind) = &filter.kind {
        let p = arg(kind.clone().into(), &mut n);
        equal(&mut clauses, "kind", &p);
    }
    if let Some(status) = filter.status {
        let p = arg(status.as_str().to_owned().into(), &mut n);
        equal(&mut clauses, "status", &p);
    }
    if let Some(severity) = &filter.severity {
        clauses.push(format!(
            "e.severity = {}",
            arg(severity.clone().into(), &mut n)
        ));
    }
    if let Some(reference) = &filter.reference {
        clauses.push(format!(
            "e.reference = {}",
            arg(reference.clone().into(), &mut n)
        ));
    }
    if let Some(reference) = &filter.customer {
        clauses.push(customer_sql(&arg(reference.clone().into(), &mut n)));
    }
    match filter.assignee {
        Some(Assignee::User(user)) => {
            let p = arg(user.into(), &mut n);
            equal(&mut clauses, "assignee_id", &p);
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
            "{id} >= (SELECT id FROM entries WHERE created_at >= {p} ORDER BY created_at, id LIMIT 1) AND +e.created_at >= {p}"
        ));
    }
    if let Some(to) = filter.to {
        let p = arg(to.into(), &mut n);
        clauses.push(format!(
            "{id} <= (SELECT id FROM entries WHERE created_at < {p} ORDER BY created_at DESC, id DESC LIMIT 1) AND +e.created_at < {p}"
        ));
    }
    let order = filter.order();
    let ascending = order == Order::OldestFirst;
    // The waiting view (unless searched, when the search's order rules) is
    // in order of how long each has waited, then id; the cursor holds both.
    // The first term alone is what the index can seek to; the second
    // breaks ties.
    let by_wait = filter.by_wait();
    let mut from = |cursor: Cursor, op: &str, n: &mut usize| {
        let after = arg(cursor.id().into(), n);
        if by_wait {
            let at = arg(cursor.at().into(), n);
            format!(
                "{WAITING_SINCE_SQL} {op}= {at} AND ({WAITING_SINCE_SQL}, e.id) {op} ({at}, {after})"
            )
        } else {
            format!("{id} {op} {after}")
        }
    };
    if let Some(cursor) = filter.cursor {
        let op = if ascending { ">" } else { "<" };
        clauses.push(from(cursor, op, &mut n));
    }
    // Going back reads the other way from the cursor; the caller puts the
    // rows back in order.
    if let Some(before) = filter.before {
        let op = if ascending { "<" } else { ">" };
        clauses.push(from(before, op, &mut n));
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
        None if by_wait => (
            "entries e INDEXED BY entries_waiting",
            format!("{WAITING_SINCE_SQL} {direction}, e.id {direction}"),
        ),
        // Likewise the open view: by status, the planner reads every open
        // entry and sorts them (24 ms at a million entries), or walks a
        // filter's own index through the closed ones (316 ms for the open
        // unassigned complaints). This index holds the open ones in order
        // with the columns the filters test. A reference or a customer
        // has an index of its own that finds a handful.
        None if filter.view == View::Open
            && filter.reference.is_none()
            && filter.customer.is_none() =>
        {
            (
                "entries e INDEXED BY entries_open",
                format!("e.id {direction}"),
            )
        }
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
    let sql = page_sql(INBOX_COLUMNS, from_sql, &where_sql, &order_sql, limit);
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params_from_iter(args), inbox_row)?;
    let rows: Vec<InboxRow> = rows.collect::<Result<_, _>>()?;
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

/// Entries the filter matches, counted up to `cap` (then `cap`).
fn inbox_count(
    conn: &Connection,
    filter: &Filter,
    matching: Option<&str>,
    cap: i64,
    now: i64,
) -> Result<i64, StoreError> {
    let unpaged = filter.unpaged();
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
