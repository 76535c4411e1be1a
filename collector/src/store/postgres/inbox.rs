//! The inbox on PostgreSQL: the same filters, views, search and keyset
//! pages as on SQLite (`store::review::inbox`), in PostgreSQL's SQL.

use tokio_postgres::types::ToSql;

use super::Postgres;
use crate::review::filter::{Assignee, Filter, Order, PromiseFilter, Search, View};
use crate::store::review::{INBOX_COLUMNS, WAITING_SINCE_SQL, WAITING_SQL, inbox_page};
use crate::store::{InboxPage, InboxRow, SiteSettings, StoreError, WaitingSummary};

pub(super) type Arg = Box<dyn ToSql + Sync + Send>;

/// A filter as SQL: conditions on `e` (the entry), the order, and the
/// arguments they refer to.
pub(super) struct FilterSql {
    pub conditions: String,
    pub order: String,
    pub args: Vec<Arg>,
}

/// The text-search query for `search`: every word must occur, the last
/// one also as the start of a longer word ("refund" finds "refunded"),
/// matched as `entries.search` was built (`earshot_words`).
fn ts_query(search: &Search) -> String {
    // Words are letters and digits only (`Search`), so quoting is for form.
    let quoted = |w: &str| format!("'{}'", w.replace('\'', "''"));
    let mut parts: Vec<String> = search.leading().iter().map(|w| quoted(w)).collect();
    parts.push(format!("{}:*", quoted(search.last())));
    parts.join(" & ")
}

pub(super) fn filter_sql(filter: &Filter, now: i64) -> FilterSql {
    let mut clauses: Vec<String> = Vec::new();
    let mut args: Vec<Arg> = Vec::new();
    let mut arg = |v: Arg| {
        args.push(v);
        format!("${}", args.len())
    };
    match filter.view {
        View::Waiting => clauses.push(WAITING_SQL.to_owned()),
        View::All if filter.status.is_none() => clauses.push("e.status <> 'spam'".to_owned()),
        View::All => {}
        View::Spam => clauses.push("e.status = 'spam'".to_owned()),
    }
    if let Some(site) = filter.site {
        clauses.push(format!("e.site_id = {}", arg(Box::new(site))));
    }
    if let Some(kind) = &filter.kind {
        clauses.push(format!("e.kind = {}", arg(Box::new(kind.clone()))));
    }
    if let Some(status) = filter.status {
        clauses.push(format!("e.status = {}", arg(Box::new(status.as_str()))));
    }
    if let Some(severity) = &filter.severity {
        clauses.push(format!("e.severity = {}", arg(Box::new(severity.clone()))));
    }
    match filter.assignee {
        Some(Assignee::User(id)) => clauses.push(format!("e.assignee_id = {}", arg(Box::new(id)))),
        Some(Assignee::Nobody) => clauses.push("e.assignee_id IS NULL".to_owned()),
        None => {}
    }
    match filter.promise {
        Some(PromiseFilter::Open) => {
            clauses.push("e.id IN (SELECT entry_id FROM promises WHERE state = 'open')".to_owned())
        }
        Some(PromiseFilter::Overdue) => clauses.push(format!(
            "e.id IN (SELECT entry_id FROM promises WHERE state = 'open' AND due_at < {})",
            arg(Box::new(now))
        )),
        None => {}
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
    let ascending = filter.order() == Order::OldestFirst;
    // As on SQLite: the waiting view (unsearched) is in order of how long
    // each has waited, then id, and a cursor is the id of the entry whose
    // place in that order the page continues from.
    let by_wait = filter.view == View::Waiting && filter.search.is_none();
    // A date range reads the creation-time index in order: by id, the
    // planner walks the primary key from the newest entry until the range
    // begins (400 ms for a month in the middle of a million entries). The
    // two orders agree but for entries committed out of order, within
    // moments of each other.
    let by_time =
        !by_wait && filter.search.is_none() && (filter.from.is_some() || filter.to.is_some());
    // The order as (expression on `e`, the same on the cursor's row): a
    // cursor is still an entry's id, standing for its place in the order.
    let key = if by_wait {
        Some((WAITING_SINCE_SQL, "coalesce(followup_at, created_at)"))
    } else if by_time {
        Some(("e.created_at", "created_at"))
    } else {
        None
    };
    let mut from = |id: i64, op: &str| {
        let p = arg(Box::new(id));
        match key {
            Some((here, there)) => {
                format!("({here}, e.id) {op} (SELECT {there}, id FROM entries WHERE id = {p})")
            }
            None => format!("e.id {op} {p}"),
        }
    };
    if let Some(cursor) = filter.cursor {
        clauses.push(from(cursor, if ascending { ">" } else { "<" }));
    }
    if let Some(before) = filter.before {
        clauses.push(from(before, if ascending { "<" } else { ">" }));
    }
    let direction = if ascending != filter.before.is_some() {
        "ASC"
    } else {
        "DESC"
    };
    let order = match key {
        Some((here, _)) => format!("{here} {direction}, e.id {direction}"),
        None => format!("e.id {direction}"),
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
    }
}

/// A page of `limit + 1` rows of `columns` (of `e`, its site `s` and
/// assignee `u`) that a filter's `conditions` select, in its `order`.
pub(super) fn page_sql(columns: &str, conditions: &str, order: &str, limit: usize) -> String {
    format!(
        "SELECT {columns}
         FROM entries e
         JOIN sites s ON s.id = e.site_id
         LEFT JOIN users u ON u.id = e.assignee_id
         {conditions}
         ORDER BY {order}
         LIMIT {}",
        limit + 1
    )
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
        let client = self.client().await?;
        let FilterSql {
            conditions,
            order,
            args,
        } = filter_sql(&filter, now);
        let sql = page_sql(INBOX_COLUMNS, &conditions, &order, limit);
        let stmt = client.prepare_cached(&sql).await?;
        let rows = client
            .query(&stmt, &refs(&args))
            .await?
            .iter()
            .map(|r| InboxRow {
                id: r.get(0),
                public_id: r.get(1),
                reference: r.get(2),
                kind: r.get(3),
                status: r.get(4),
                severity: r.get(5),
                summary: r.get(6),
                email: r.get(7),
                name: r.get(8),
                created_at: r.get(9),
                first_response_at: r.get(10),
                site_name: r.get(11),
                first_response_target_ms: r.get::<_, i64>(12).saturating_mul(60_000),
                assignee: r.get(13),
                next_promise_due: r.get(14),
                followup_at: r.get(15),
            })
            .collect();
        Ok(inbox_page(rows, &filter, limit))
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
        let unpaged = Filter {
            cursor: None,
            before: None,
            ..filter.clone()
        };
        let FilterSql {
            conditions, args, ..
        } = filter_sql(&unpaged, now);
        let page = self.inbox(filter, limit, now).await?;
        let client = self.client().await?;
        let sql = format!(
            "SELECT count(*) FROM (SELECT 1 FROM entries e {conditions} LIMIT {cap}) AS hits"
        );
        let stmt = client.prepare_cached(&sql).await?;
        let count: i64 = client.query_one(&stmt, &refs(&args)).await?.get(0);
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
            waiting: row.get(0),
            waiting_late: row.get(1),
            overdue_promises: row.get(2),
        })
    }

    pub async fn site_settings(&self) -> Result<Vec<SiteSettings>, StoreError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT id, name, key, first_response_minutes, response_promise FROM sites ORDER BY id",
            )
            .await?;
        Ok(client
            .query(&stmt, &[])
            .await?
            .iter()
            .map(|r| SiteSettings {
                id: r.get(0),
                name: r.get(1),
                key: r.get(2),
                first_response_minutes: r.get(3),
                response_promise: r.get(4),
            })
            .collect())
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
