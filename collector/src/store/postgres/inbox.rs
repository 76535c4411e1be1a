//! The inbox on PostgreSQL: the same filters, views, search and keyset
//! pages as on SQLite (`store::review::inbox`), in PostgreSQL's SQL.

use tokio_postgres::types::ToSql;

use super::{Postgres, read_rows};
use crate::review::filter::{Cursor, Filter, Order, Search, View};
use crate::store::review::{
    INBOX_COLUMNS, SAME_CUSTOMER_CONDITIONS, WAITING_SINCE_SQL, WAITING_SQL, customer_sql,
    inbox_page, page_sql, promise_sql, view_sql,
};
use crate::store::{InboxPage, InboxRow, SameCustomer, SiteSettings, StoreError, WaitingSummary};

pub(super) type Arg = Box<dyn ToSql + Sync + Send>;

/// Makes the planner reach entries only through bitmap scans, the text
/// index's, for the rest of the transaction. Statements run this way carry
/// their own text (see `sparse`), so a plan cached for them is never
/// reused for the ordered walk or the other way round.
///
/// Without JIT: the planner prices every path it is told not to take as
/// if it cost ten billion, and a plan that has to take one anyway (the
/// one-row `users` table, read for the assignee's name) then looks dear
/// enough to compile. Compiling took 550 ms of a search that found nothing
/// in 0.3 ms. Without parallel workers, for the same reason: the planner
/// shared the bitmap scan with a worker, whose start took 9 ms of a search
/// that found nothing in 0.2 ms (11 ms p50 in the bench at a million
/// entries; 0.2 ms alone).
const THROUGH_THE_TEXT_INDEX: &str = "SET LOCAL enable_seqscan = off; \
     SET LOCAL enable_indexscan = off; SET LOCAL plan_cache_mode = force_custom_plan; \
     SET LOCAL jit = off; SET LOCAL max_parallel_workers_per_gather = 0";

/// `sql` marked as run through the text index (see above).
fn sparse(sql: &str) -> String {
    format!("{sql} /* through the text index */")
}

/// A filter as SQL: conditions on `e` (the entry), the order, and the
/// arguments they refer to.
pub(super) struct FilterSql {
    pub conditions: String,
    pub order: String,
    pub args: Vec<Arg>,
    /// Counted in its order too: a date range (along the creation-time
    /// index) or a search (along the entries the page reads).
    pub count_in_order: bool,
    /// Planned for its own arguments every time, never from a plan cached
    /// for any words (see `fetch_rows`).
    pub fresh_plan: bool,
}

/// The text-search query for `search`: every word must occur, the last
/// one also as the start of a longer word ("refund" finds "refunded"),
/// matched as `entries.search` was built (`earshot_words`).
fn ts_query(search: &Search) -> String {
    let mut parts: Vec<String> = search.leading().iter().map(|w| quoted(w)).collect();
    parts.push(prefix_query(search));
    parts.join(" & ")
}

/// A word as a text-search operand. Words are letters and digits only
/// (`Search`), so quoting is for form.
fn quoted(word: &str) -> String {
    format!("'{}'", word.replace('\'', "''"))
}

/// The search's last word as the start of a longer word.
fn prefix_query(search: &Search) -> String {
    format!("{}:*", quoted(search.last()))
}

/// `column` equal to the one value, or to any of several (`= ANY`, one
/// array parameter); `None` for none.
fn any_of<T>(column: &str, values: &[T], arg: &mut impl FnMut(Arg) -> String) -> Option<String>
where
    T: ToSql + Clone + Sync + Send + 'static,
    Vec<T>: ToSql + Sync + Send,
{
    match values {
        [] => None,
        [one] => Some(format!("{column} = {}", arg(Box::new(one.clone())))),
        _ => Some(format!(
            "{column} = ANY({})",
            arg(Box::new(values.to_vec()))
        )),
    }
}

pub(super) fn filter_sql(filter: &Filter, now: i64) -> FilterSql {
    let mut clauses: Vec<String> = Vec::new();
    let mut args: Vec<Arg> = Vec::new();
    let mut arg = |v: Arg| {
        args.push(v);
        format!("${}", args.len())
    };
    let ascending = filter.order() == Order::OldestFirst;
    // As on SQLite: the waiting view (unsearched) is in order of how long
    // each has waited, then id, and a cursor holds both.
    let by_wait = filter.by_wait();
    // A date range reads the creation-time index in order: by id, the
    // planner walks the primary key from the newest entry until the range
    // begins (400 ms for a month in the middle of a million entries). The
    // two orders agree but for entries committed out of order, within
    // moments of each other; a cursor's time is the entry's arrival here.
    let by_time =
        !by_wait && filter.search.is_none() && (filter.from.is_some() || filter.to.is_some());
    let key = if by_wait {
        Some(WAITING_SINCE_SQL)
    } else if by_time {
        Some("e.created_at")
    } else {
        None
    };
    clauses.extend(view_sql(filter).map(str::to_owned));
    clauses.extend(any_of("e.site_id", &filter.sites, &mut arg));
    clauses.extend(any_of("e.kind", &filter.kinds, &mut arg));
    // A search within one status walks that status's entries in order
    // (`entries_status`), not every entry (the primary key): the planner
    // prices the two alike, not knowing that statuses follow age, and a
    // search of "won't fix" from the newest entry passed 39,000 recent,
    // still open entries before its first 51 hits (20 ms at a million
    // entries; 0.4 ms along the status). Given an equality it drops the
    // status from the order and takes the primary key again, so the
    // status is bounded as a range, and a cursor compares (status, id),
    // where the walk can start. The status is written into the statement
    // (one of a few fixed words): as a parameter, the plan cached after
    // five runs could not tell the range's size and read every entry
    // (77 ms).
    // (A search has no other key: `by_wait` and `by_time` exclude it.)
    let along_status = match filter.statuses.as_slice() {
        [status] if filter.search.is_some() => Some(format!("'{}'", status.as_str())),
        _ => None,
    };
    if along_status.is_none() {
        let statuses: Vec<String> = filter.statuses.iter().map(|s| s.as_str().into()).collect();
        clauses.extend(any_of("e.status", &statuses, &mut arg));
    }
    clauses.extend(any_of("e.severity", &filter.severities, &mut arg));
    if let Some(reference) = &filter.reference {
        clauses.push(format!(
            "e.reference = {}",
            arg(Box::new(reference.clone()))
        ));
    }
    if let Some(reference) = &filter.customer {
        clauses.push(customer_sql(&arg(Box::new(reference.clone()))));
    }
    let (users, nobody) = filter.assigned_to();
    match (any_of("e.assignee_id", &users, &mut arg), nobody) {
        (None, false) => {}
        (None, true) => clauses.push("e.assignee_id IS NULL".to_owned()),
        (Some(assigned), false) => clauses.push(assigned),
        (Some(assigned), true) => clauses.push(format!("({assigned} OR e.assignee_id IS NULL)")),
    }
    if let Some(promise) = filter.promise {
        clauses.push(promise_sql(promise, || arg(Box::new(now))));
    }
    // Not an id range as on SQLite: with several writers, ids are handed
    // out in one order and committed in another.
    if let Some(from) = filter.from {
        clauses.push(format!("e.created_at >= {}", arg(Box::new(from))));
    }
    if let Some(to) = filter.to {
        clauses.push(format!("e.created_at < {}", arg(Box::new(to))));
    }
    if let Some(search) = &filter.search {
        clauses.push(format!(
            "e.search @@ to_tsquery('earshot', {})",
            arg(Box::new(ts_query(search)))
        ));
    }
    let mut from = |cursor: Cursor, op: &str| {
        let id = arg(Box::new(cursor.id()));
        match (key, &along_status) {
            (Some(key), _) => {
                let at = arg(Box::new(cursor.at()));
                format!("({key}, e.id) {op} ({at}, {id})")
            }
            (None, Some(status)) => format!("(e.status, e.id) {op} ({status}, {id})"),
            (None, None) => format!("e.id {op} {id}"),
        }
    };
    if let Some(cursor) = filter.cursor {
        clauses.push(from(cursor, if ascending { ">" } else { "<" }));
    }
    if let Some(before) = filter.before {
        clauses.push(from(before, if ascending { "<" } else { ">" }));
    }
    // Whether a cursor's comparison bounds the walk from above (`<`) or
    // from below (`>`).
    let above = (filter.cursor.is_some() && !ascending) || (filter.before.is_some() && ascending);
    let below = (filter.cursor.is_some() && ascending) || (filter.before.is_some() && !ascending);
    // The status's other bounds, where no cursor's comparison holds it
    // (a range bound beside it would be where the walk starts instead).
    if let Some(status) = &along_status {
        if !below {
            clauses.push(format!("e.status >= {status}"));
        }
        if !above {
            clauses.push(format!("e.status <= {status}"));
        }
    }
    let direction = if ascending != filter.before.is_some() {
        "ASC"
    } else {
        "DESC"
    };
    let order = match (key, &along_status) {
        (Some(key), _) => format!("{key} {direction}, e.id {direction}"),
        (None, Some(_)) => format!("e.status {direction}, e.id {direction}"),
        (None, None) => format!("e.id {direction}"),
    };
    let conditions = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    FilterSql {
        conditions,
        order,
        args,
        count_in_order: by_time || filter.search.is_some(),
        // A search of the waiting or open view: those few entries, read
        // through their partial index and tested for the words, 2.8 ms
        // at 300,000 entries. The plan a prepared statement settles on
        // after five runs, made for any words, instead intersects the
        // view's index with every hit of the words in the text index: 20
        // ms there, 50 at a million.
        fresh_plan: filter.search.is_some() && matches!(filter.view, View::Waiting | View::Open),
    }
}

pub(super) fn refs(args: &[Arg]) -> Vec<&(dyn ToSql + Sync)> {
    args.iter()
        .map(|a| a.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

impl Postgres {
    /// One page of at most `limit` entries.
    pub async fn inbox(
        &self,
        filter: Filter,
        limit: usize,
        now: i64,
    ) -> Result<InboxPage, StoreError> {
        let mut client = self.client().await?;
        let sparse = is_sparse(&client, &filter).await?;
        page(&mut client, filter, limit, now, sparse).await
    }

    /// One page and how many entries `filter` matches, counted no further
    /// than `cap`.
    pub async fn inbox_counted(
        &self,
        filter: Filter,
        limit: usize,
        cap: i64,
        now: i64,
    ) -> Result<(InboxPage, i64), StoreError> {
        let sparse = is_sparse(&self.client().await?, &filter).await?;
        // The count and the page on two connections at once: the count of
        // a broad filter reads up to `cap` rows, the page a few dozen, and
        // the server runs each on a process of its own. Each takes its
        // connection only when it runs, so a full pool makes them wait in
        // turn rather than hold one while asking for another.
        let counted = async {
            let mut client = self.client().await?;
            count_hits(&mut client, &filter, now, cap, sparse).await
        };
        let paged = async {
            let mut client = self.client().await?;
            page(&mut client, filter.clone(), limit, now, sparse).await
        };
        let (count, page) = tokio::try_join!(counted, paged)?;
        Ok((page, count))
    }

    /// Who is waiting, how many past target, how many promises overdue.
    pub async fn waiting_summary(&self, now: i64) -> Result<WaitingSummary, StoreError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                "SELECT count(*),
                        count(*) FILTER (WHERE {WAITING_SINCE_SQL} + s.first_response_minutes * 60000 < $1),
                        (SELECT count(*) FROM promises WHERE state = 'open' AND due_at < $1)
                 FROM entries e JOIN sites s ON s.id = e.site_id
                 WHERE {WAITING_SQL}"
            ))
            .await?;
        let row = client.query_one(&stmt, &[&now]).await?;
        Ok(WaitingSummary {
            waiting: row.try_get(0)?,
            waiting_late: row.try_get(1)?,
            overdue_promises: row.try_get(2)?,
        })
    }

    pub async fn site_settings(&self) -> Result<Vec<SiteSettings>, StoreError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT id, name, key, first_response_minutes, response_promise, receipt_email
                 FROM sites ORDER BY name_key, id",
            )
            .await?;
        let rows = client.query(&stmt, &[]).await?;
        read_rows(&rows, |r| {
            Ok(SiteSettings {
                id: r.try_get(0)?,
                name: r.try_get(1)?,
                key: r.try_get(2)?,
                first_response_minutes: r.try_get(3)?,
                response_promise: r.try_get(4)?,
                receipt_email: r.try_get(5)?,
            })
        })
    }
}

/// How many entries `filter` matches (all its pages), counted no further
/// than `cap`; `sparse`: through the text index.
async fn count_hits(
    client: &mut deadpool_postgres::Client,
    filter: &Filter,
    now: i64,
    cap: i64,
    sparse: bool,
) -> Result<i64, StoreError> {
    let unpaged = filter.unpaged();
    let FilterSql {
        conditions,
        order,
        args,
        count_in_order,
        fresh_plan,
    } = filter_sql(&unpaged, now);
    // A date range is counted along the creation-time index. Unordered,
    // the planner assumed the range's entries spread evenly over the
    // table and read it from the start: the first requests for March
    // took 130-400 ms on each connection, until its plan cache chose the
    // index (20 ms; 4 ms with the status in the index).
    //
    // A search walked in order is counted in that order: it reads the
    // entries the page just read, which stay in shared buffers. Unordered,
    // it scans the table from its oldest row, and a scan of a table larger
    // than a quarter of shared buffers reads through a small ring of
    // buffers that keeps nothing: every count read its 20 MB afresh. Two
    // common words at a million entries, 30,000 rows to the 1,001st hit:
    // 20-28 ms unordered, 7 ms newest first (1.2 against 5-7 ms for one
    // word; about the same, 45-54 ms, for words that seldom meet, where
    // both read the whole table). A search within one status reads only
    // that status's entries (4 ms for the first 1,001 hits). Through the
    // text index (`sparse`) there is no order to follow: the bitmap holds
    // every hit, and sorting them would only cost.
    let order = if count_in_order && !sparse {
        format!("ORDER BY {order}")
    } else {
        String::new()
    };
    let sql = format!(
        "SELECT count(*) FROM (SELECT 1 FROM entries e {conditions} {order} LIMIT {cap}) AS hits"
    );
    let rows = fetch_rows(client, &sql, &args, sparse, fresh_plan).await?;
    Ok(rows.first().map_or(Ok(0), |row| row.try_get(0))?)
}

/// Whether `filter` is a search best read through the text index: its
/// last word, a prefix, starts none of the words `ANALYZE` found most
/// common in entries. The planner knows no better than to assume hits for a
/// prefix, and then walks the whole table newest first looking for them
/// (1.2 s at a million entries when there are none); a rare prefix has few
/// hits, which the index finds at once. Common prefixes keep the walk,
/// which meets hits at every step.
pub(super) async fn is_sparse(
    client: &deadpool_postgres::Client,
    filter: &Filter,
) -> Result<bool, StoreError> {
    let Some(search) = &filter.search else {
        return Ok(false);
    };
    let stmt = client
        .prepare_cached(
            "SELECT NOT EXISTS (
               SELECT 1 FROM pg_stats s,
                 unnest(s.most_common_elems::text::text[]) AS common(lexeme)
               WHERE s.schemaname = current_schema() AND s.tablename = 'entries'
                 AND s.attname = 'search'
                 AND to_tsvector('earshot', common.lexeme) @@ to_tsquery('earshot', $1))",
        )
        .await?;
    Ok(client
        .query_one(&stmt, &[&prefix_query(search)])
        .await?
        .try_get(0)?)
}

/// The rows `sql` selects; `sparse`: read through the text index;
/// `fresh_plan`: planned for `args` (a statement prepared afresh is, on
/// its first five runs; one from the cache may run a plan made for any
/// arguments).
pub(super) async fn fetch_rows(
    client: &mut deadpool_postgres::Client,
    sql: &str,
    args: &[Arg],
    sparse: bool,
    fresh_plan: bool,
) -> Result<Vec<tokio_postgres::Row>, StoreError> {
    if !sparse {
        let stmt = if fresh_plan {
            client.prepare(sql).await?
        } else {
            client.prepare_cached(sql).await?
        };
        return Ok(client.query(&stmt, &refs(args)).await?);
    }
    let tx = client.transaction().await?;
    tx.batch_execute(THROUGH_THE_TEXT_INDEX).await?;
    let stmt = tx.prepare_cached(&self::sparse(sql)).await?;
    let rows = tx.query(&stmt, &refs(args)).await?;
    tx.commit().await?;
    Ok(rows)
}

/// One page of at most `limit` entries; `sparse`: read through the text
/// index and sorted (a search with few hits), else walked in order.
async fn page(
    client: &mut deadpool_postgres::Client,
    filter: Filter,
    limit: usize,
    now: i64,
    sparse: bool,
) -> Result<InboxPage, StoreError> {
    let FilterSql {
        conditions,
        order,
        args,
        fresh_plan,
        ..
    } = filter_sql(&filter, now);
    let sql = page_sql(INBOX_COLUMNS, "entries e", &conditions, &order, limit);
    let rows = fetch_rows(client, &sql, &args, sparse, fresh_plan).await?;
    let rows = read_rows(&rows, inbox_row)?;
    Ok(inbox_page(rows, &filter, limit))
}

/// A row of [`INBOX_COLUMNS`].
fn inbox_row(r: &tokio_postgres::Row) -> Result<InboxRow, StoreError> {
    Ok(InboxRow {
        id: r.try_get(0)?,
        public_id: r.try_get(1)?,
        reference: r.try_get(2)?,
        kind: r.try_get(3)?,
        status: r.try_get(4)?,
        severity: r.try_get(5)?,
        summary: r.try_get(6)?,
        email: r.try_get(7)?,
        name: r.try_get(8)?,
        created_at: r.try_get(9)?,
        first_response_at: r.try_get(10)?,
        site_name: r.try_get(11)?,
        first_response_target_ms: r.try_get::<_, i64>(12)?.saturating_mul(60_000),
        assignee: r.try_get(13)?,
        next_promise_due: r.try_get(14)?,
        followup_at: r.try_get(15)?,
        assignee_id: r.try_get(16)?,
        site_key: r.try_get(17)?,
    })
}

impl Postgres {
    /// The customer's other entries (by the entry `public_id`'s email):
    /// the newest `limit`, and how many in all.
    pub async fn same_customer(
        &self,
        public_id: String,
        limit: usize,
    ) -> Result<SameCustomer, StoreError> {
        let client = self.client().await?;
        // A page's SQL reads one row more than `limit`: dropped here.
        let sql = page_sql(
            INBOX_COLUMNS,
            "entries e",
            SAME_CUSTOMER_CONDITIONS,
            "e.id DESC",
            limit,
        );
        let mut recent = read_rows(&client.query(&sql, &[&public_id]).await?, inbox_row)?;
        recent.truncate(limit);
        let total: i64 = client
            .query_one(
                &format!("SELECT count(*) FROM entries e {SAME_CUSTOMER_CONDITIONS}"),
                &[&public_id],
            )
            .await?
            .try_get(0)?;
        Ok(SameCustomer { recent, total })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_must_match_and_the_last_also_as_a_start() {
        let search = Search::parse("refund ord").unwrap();
        assert_eq!(ts_query(&search), "'refund' & 'ord':*");
    }
}
