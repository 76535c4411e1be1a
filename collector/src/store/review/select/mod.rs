//! Which entries a filter selects, as SQLite reads them: the filter as
//! SQL, read a span at a time where that is cheaper (`spans`).

use rusqlite::types::Value;
use rusqlite::{Connection, params_from_iter};

use super::inbox::{customer_sql, page_sql, promise_sql};
use super::spans::{Span, plan, read_until, view_ids, view_index};
use super::{WAITING_SINCE_SQL, view_sql};
use crate::review::filter::{Cursor, Filter, Order, View};
use crate::store::StoreError;
use crate::store::among::{among_sites, with_sites};

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

/// Entries of the chosen sites up to which a search checks its hits
/// against a list of their ids, read once from the site index, rather than
/// joining each hit to its entry to test the site. A small site whose
/// entries span years bounds the hits' ids to little, and the join walked
/// every hit of a common word: at a million entries 28 → 7 ms for a site
/// of 1,000 entries, 66 → 14 ms for one of 10. Reading 10,000 ids costs
/// about 1 ms; a large site's list costs more than it saves (1.3 s for a
/// million).
const SITE_LIST_MAX: i64 = 10_000;

/// What a read of a filter looks up once for all its queries (a page and
/// its count): its search as an FTS5 query, for a searched view where the
/// view's entries lie (see `spans`), and whether its sites are few enough
/// for their entries' ids to be read as a list ([`SITE_LIST_MAX`]).
pub(in crate::store) struct Resolved {
    matching: Option<String>,
    view_ids: Option<Vec<i64>>,
    site_list: bool,
}

impl Resolved {
    pub fn read(conn: &Connection, filter: &Filter) -> Result<Resolved, StoreError> {
        Resolved::with(conn, filter, matching(conn, filter)?)
    }

    /// With the search already resolved (by [`matching`]).
    pub fn with(
        conn: &Connection,
        filter: &Filter,
        matching: Option<String>,
    ) -> Result<Resolved, StoreError> {
        Resolved::with_site_list_max(conn, filter, matching, SITE_LIST_MAX)
    }

    fn with_site_list_max(
        conn: &Connection,
        filter: &Filter,
        matching: Option<String>,
        site_list_max: i64,
    ) -> Result<Resolved, StoreError> {
        let view_ids = view_ids(conn, filter, matching.as_deref())?;
        let site_list = matching.is_some()
            && !filter.sites.is_empty()
            && entries_at_most(conn, &filter.sites, site_list_max)?;
        Ok(Resolved {
            matching,
            view_ids,
            site_list,
        })
    }

    fn plan(&self, filter: &Filter) -> Vec<Option<Span>> {
        plan(filter, self.matching.as_deref(), self.view_ids.as_deref())
    }
}

/// Whether `sites` hold at most `max` entries between them, found by
/// counting no further.
fn entries_at_most(conn: &Connection, sites: &[i64], max: i64) -> Result<bool, StoreError> {
    let counted: i64 = conn
        .prepare_cached(&format!(
            "SELECT count(*) FROM (SELECT 1 FROM entries WHERE true{} LIMIT {})",
            among_sites("site_id", sites, 1),
            max.saturating_add(1)
        ))?
        .query_row(with_sites(Vec::new(), sites), |r| r.get(0))?;
    Ok(counted <= max)
}

/// A filter as SQL: the tables to read (`e` is the entry), the conditions,
/// the order and the arguments they refer to.
struct FilterSql {
    from: &'static str,
    conditions: String,
    order: String,
    args: Vec<Value>,
    /// Whether a page is best found as ids first, the entries alone, and
    /// only then joined (see [`read_page`]).
    ids_first: bool,
    /// Several sites read one by one and merged (see [`FilterSql::arms`]):
    /// each site's parameter; none when the conditions test the sites.
    site_arms: Vec<String>,
    /// `ASC` or `DESC`: the order's direction.
    direction: &'static str,
}

impl FilterSql {
    /// The conditions for one site's arm: the filter's and that site.
    fn with_site(&self, site: &str) -> String {
        if self.conditions.is_empty() {
            format!("WHERE e.site_id = {site}")
        } else {
            format!("{} AND e.site_id = {site}", self.conditions)
        }
    }

    /// The sites' arms of `select` (of `e`), each in the page's order and
    /// stopping at `limit`, joined so SQLite merges them as they stream
    /// (`MERGE (UNION ALL)`) and stops with the page. One walk of every
    /// entry's id, testing each for its site, read the whole index for
    /// two sites with 35 entries among a million (175 ms a page); a lookup
    /// of the sites together sorted all their entries (110 ms with a large
    /// one). Each arm's own limit lets one that reads a list of values
    /// (`kind IN (…)`) stop each value's walk with the page.
    fn arms(&self, select: &str, limit: usize) -> String {
        let arms: Vec<String> = self
            .site_arms
            .iter()
            .map(|site| {
                format!(
                    "SELECT * FROM (SELECT {select} FROM {} {} ORDER BY {} LIMIT {limit})",
                    self.from,
                    self.with_site(site),
                    self.order
                )
            })
            .collect();
        arms.join(" UNION ALL ")
    }
}

/// `filter` as SQL, with what `resolved` looked up for it; `span`, where in
/// a searched view to read (`spans::plan` gives every searched view its
/// spans).
fn filter_sql(filter: &Filter, resolved: &Resolved, span: Option<Span>, now: i64) -> FilterSql {
    let matching = resolved.matching.as_deref();
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
    clauses.extend(view_sql(filter).map(str::to_owned));
    // The waiting and open views are a few entries among hits of every
    // age: searched, they are read a span of ids at a time (`spans`), the
    // hits bounded to the span. Where the view's entries are few among the
    // span's ids, each hit is first checked against a list of them, read
    // once from the view's partial index (`+` keeps SQLite from looking
    // the list's ids up in the text index one by one, 3 ms each): joined
    // hit by hit, a common word among those waiting took 150-250 ms at a
    // million entries. Where they are many, the join is cheaper than the
    // list.
    let searched_view = if searched {
        view_index(filter.view)
    } else {
        None
    };
    if let (Some((index, condition)), Some(span)) = (searched_view, span) {
        let lo = arg(span.lo.into(), &mut n);
        let hi = arg(span.hi.into(), &mut n);
        clauses.push(format!("f.rowid BETWEEN {lo} AND {hi}"));
        if span.sparse() {
            clauses.push(format!(
                "+f.rowid IN (SELECT e.id FROM entries e INDEXED BY {index}
                              WHERE {condition} AND e.id BETWEEN {lo} AND {hi})"
            ));
        }
    }
    // One site is read along its entries in id order (`entries_site`).
    // Several are read the same way each and merged where the entries'
    // own indexes drive the read (`FilterSql::arms`), or else tested as a
    // list on the view's index or the search's hits (`+`: looked up site
    // by site, every entry of theirs was sorted for one page).
    let site_places: Vec<String> = filter
        .sites
        .iter()
        .map(|&s| arg(s.into(), &mut n))
        .collect();
    let mut several_sites = Vec::new();
    match site_places.as_slice() {
        [] => {}
        [site] => equal(&mut clauses, "site_id", site),
        places => {
            several_sites = places.to_vec();
            // As for one site, the hits are bounded to where the sites'
            // entries lie, from the first of any to the last of any (a
            // seek each end per site; an empty site bounds nothing).
            if searched {
                let ends = |end: &str, none: i64| -> String {
                    let ends: Vec<String> = several_sites
                        .iter()
                        .map(|s| {
                            format!("coalesce((SELECT {end}(id) FROM entries WHERE site_id = {s}), {none})")
                        })
                        .collect();
                    format!("{end}({})", ends.join(", "))
                };
                clauses.push(format!(
                    "f.rowid BETWEEN {} AND {}",
                    ends("min", i64::MAX),
                    ends("max", i64::MIN)
                ));
            }
        }
    }
    // Sites with few entries: each hit checked against their ids, read
    // once ([`SITE_LIST_MAX`]).
    if searched && resolved.site_list {
        clauses.push(format!(
            "+f.rowid IN (SELECT id FROM entries WHERE site_id IN ({}))",
            site_places.join(", ")
        ));
    }
    // One value is an equality (with its id range, above); several are
    // a list, read without one: the range of several values is most of
    // the table.
    let statuses = filter.statuses.iter().map(|s| s.as_str().to_owned());
    for (column, values) in [
        ("kind", filter.kinds.clone()),
        ("status", statuses.collect()),
        ("severity", filter.severities.clone()),
    ] {
        let mut values: Vec<String> = values.into_iter().map(|v| arg(v.into(), &mut n)).collect();
        match values.len() {
            0 => {}
            // No index here leads with the severity: no range to seek.
            1 if column != "severity" => equal(&mut clauses, column, &values.remove(0)),
            1 => clauses.push(format!("e.{column} = {}", values.remove(0))),
            _ => clauses.push(format!("e.{column} IN ({})", values.join(", "))),
        }
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
    let (users, nobody) = filter.assigned_to();
    let mut users: Vec<String> = users.into_iter().map(|u| arg(u.into(), &mut n)).collect();
    match (users.len(), nobody) {
        (0, false) => {}
        (0, true) => clauses.push("e.assignee_id IS NULL".to_owned()),
        (1, false) => equal(&mut clauses, "assignee_id", &users.remove(0)),
        (_, nobody) => {
            let listed = format!("e.assignee_id IN ({})", users.join(", "));
            clauses.push(if nobody {
                format!("({listed} OR e.assignee_id IS NULL)")
            } else {
                listed
            });
        }
    }
    if let Some(promise) = filter.promise {
        clauses.push(promise_sql(promise, || arg(now.into(), &mut n)));
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
    let mut ids_first = false;
    let mut site_arms = Vec::new();
    let (from_sql, order_sql) = match matching {
        Some(query) => {
            clauses.push(format!(
                "entries_fts MATCH {}",
                arg(query.to_owned().into(), &mut n)
            ));
            // The index holds every column a filter tests, so matches the
            // filter drops never cost a read of their whole row. A view's
            // hits join its open entries alone, a smaller index; `CROSS`
            // keeps the hits the outer loop, read in order.
            let from = if searched_view.is_some() {
                "entries_fts f CROSS JOIN entries e INDEXED BY entries_open ON e.id = f.rowid"
            } else {
                "entries_fts f JOIN entries e INDEXED BY entries_search_filter ON e.id = f.rowid"
            };
            (from, format!("f.rowid {direction}"))
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
        // Several values of a filter (`kind IN (…)`) are read from their
        // index value by value, merged in a sort: on the entries alone,
        // SQLite stops each value's walk once a page is full; joined to
        // the sites and colleagues, it read and sorted every entry of
        // those kinds (650 ms for two of five kinds at a million).
        None => {
            ids_first = filter.has_several();
            site_arms = std::mem::take(&mut several_sites);
            ("entries e", format!("e.id {direction}"))
        }
    };
    if !several_sites.is_empty() {
        clauses.push(format!("+e.site_id IN ({})", several_sites.join(", ")));
    }
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
        ids_first,
        site_arms,
        direction,
    }
}

/// The rows of `columns` (mapped by `row`) that `filter` selects, read
/// span by span (see `spans`) until a page of `limit` and one more are
/// read: the inbox's and the export's read.
pub(in crate::store) fn read_page<T>(
    conn: &Connection,
    filter: &Filter,
    resolved: &Resolved,
    columns: &str,
    limit: usize,
    now: i64,
    row: fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>, StoreError> {
    let spans = resolved.plan(filter);
    let mut rows = Vec::new();
    read_until(&spans, limit + 1, |span| {
        let sql = filter_sql(filter, resolved, span, now);
        let FilterSql {
            from,
            conditions,
            order,
            ids_first,
            direction,
            ..
        } = &sql;
        let page = if !sql.site_arms.is_empty() {
            let ids = format!(
                "WHERE e.id IN ({} ORDER BY 1 {direction} LIMIT {})",
                sql.arms("e.id", limit + 1),
                limit + 1
            );
            page_sql(columns, from, &ids, order, limit)
        } else if *ids_first {
            let ids = format!(
                "WHERE e.id IN (SELECT e.id FROM {from} {conditions} ORDER BY {order} LIMIT {})",
                limit + 1
            );
            page_sql(columns, from, &ids, order, limit)
        } else {
            page_sql(columns, from, conditions, order, limit)
        };
        let before = rows.len();
        for read in conn
            .prepare_cached(&page)?
            .query_map(params_from_iter(sql.args), row)?
        {
            rows.push(read?);
        }
        Ok(rows.len() - before)
    })?;
    Ok(rows)
}

/// Entries the filter matches, counted up to `cap` (then `cap`).
pub(super) fn count(
    conn: &Connection,
    filter: &Filter,
    resolved: &Resolved,
    cap: i64,
    now: i64,
) -> Result<i64, StoreError> {
    let unpaged = filter.unpaged();
    let spans = resolved.plan(&unpaged);
    let cap = usize::try_from(cap).unwrap_or(0);
    let counted = read_until(&spans, cap, |span| {
        let sql = filter_sql(&unpaged, resolved, span, now);
        let selected = if sql.site_arms.is_empty() {
            format!("SELECT 1 FROM {} {}", sql.from, sql.conditions)
        } else {
            sql.arms("1", cap)
        };
        let counting = format!("SELECT count(*) FROM ({selected} LIMIT {cap})");
        let counted: i64 = conn
            .prepare_cached(&counting)?
            .query_row(params_from_iter(sql.args), |r| r.get(0))?;
        Ok(usize::try_from(counted).unwrap_or(0))
    })?;
    Ok(i64::try_from(counted.min(cap)).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests;
