//! Entries for export: every column a spreadsheet or a data tool wants,
//! read in keyset chunks so an export of a million entries never holds
//! more than one chunk, nor a read transaction open for minutes.

use std::collections::BTreeMap;

use super::review::{Resolved, keyset_page, matching, read_page};
use super::{Sqlite, StoreError};
use crate::review::filter::{Cursor, Filter};

/// One exported entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportRow {
    pub id: i64,
    pub public_id: String,
    pub reference: String,
    pub created_at: i64,
    pub site_key: String,
    pub site_name: String,
    pub kind: String,
    pub severity: Option<String>,
    pub status: String,
    pub message: Option<String>,
    pub expected: Option<String>,
    pub actual: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
    pub page_url: Option<String>,
    pub page_title: Option<String>,
    pub assignee: Option<String>,
    /// The assignee's account: names are not unique.
    pub assignee_id: Option<i64>,
    /// From creation to the first reply.
    pub first_response_ms: Option<i64>,
    /// From creation to the status change that closed it, while closed.
    pub resolution_ms: Option<i64>,
    pub promises_open: i64,
    pub promises_kept: i64,
    pub promises_broken: i64,
    /// What the host page attached (`Earshot.context`), by key.
    pub context: BTreeMap<String, String>,
    /// When the customer's latest unanswered follow-up arrived: with
    /// `created_at`, where the row stands in the waiting view's order.
    pub followup_at: Option<i64>,
}

/// One chunk and where the next starts.
/// An export row's columns, in [`ExportRow`]'s order, of `e` (the entry),
/// `s` (its site) and `u` (its assignee); the same SQL on both backends.
pub(in crate::store) const EXPORT_COLUMNS: &str =
    "e.id, e.public_id, e.reference, e.created_at, s.key, s.name, e.kind,
    e.severity, e.status, e.message, e.expected, e.actual, e.email, e.name,
    e.page_url, e.page_title, u.name, e.first_response_at - e.created_at,
    CASE WHEN e.status IN ('resolved', 'wont_fix') THEN
        (SELECT max(ev.created_at) FROM events ev
         WHERE ev.entry_id = e.id AND ev.kind = 'status'
           AND ev.new_value IN ('resolved', 'wont_fix')) - e.created_at
    END,
    (SELECT count(*) FROM promises p WHERE p.entry_id = e.id AND p.state = 'open'),
    (SELECT count(*) FROM promises p WHERE p.entry_id = e.id AND p.state = 'kept'),
    (SELECT count(*) FROM promises p WHERE p.entry_id = e.id AND p.state = 'broken'),
    e.context, e.followup_at, e.assignee_id";

#[derive(Debug, Clone, Default)]
pub struct ExportChunk {
    pub rows: Vec<ExportRow>,
    pub next: Option<Cursor>,
}

/// An export under way: its filter with the search resolved once, when it
/// began, so every chunk reads the same query and none repeats the lookup.
#[derive(Debug, Clone)]
pub struct ExportQuery {
    pub(in crate::store) filter: Filter,
    /// SQLite's FTS5 query for the filter's search, resolved once.
    pub(in crate::store) matching: Option<String>,
    /// PostgreSQL: a search with few hits, read through the text index.
    pub(in crate::store) sparse: bool,
    pub(in crate::store) now: i64,
}

impl Sqlite {
    /// Starts an export of what `filter` selects: the search index caught
    /// up, like any search, and the search resolved.
    pub async fn export_query(&self, filter: Filter, now: i64) -> Result<ExportQuery, StoreError> {
        self.ready_to_search(&filter).await?;
        let resolving = filter.clone();
        let matching = self.read(move |conn| matching(conn, &resolving)).await?;
        Ok(ExportQuery {
            filter,
            matching,
            sparse: false,
            now,
        })
    }

    /// Up to `limit` entries of `query`, continuing after `cursor`.
    pub async fn export_chunk(
        &self,
        query: ExportQuery,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> Result<ExportChunk, StoreError> {
        self.read(move |conn| {
            let filter = Filter {
                cursor,
                ..query.filter
            };
            let resolved = Resolved::with(conn, &filter, query.matching)?;
            let rows = read_page(
                conn,
                &filter,
                &resolved,
                EXPORT_COLUMNS,
                limit,
                query.now,
                export_row,
            )?;
            let (rows, next) = keyset_page(rows, limit, |r| {
                Cursor::of(&filter, r.id, r.created_at, r.followup_at)
            });
            Ok(ExportChunk { rows, next })
        })
        .await
    }
}

/// A row of `EXPORT_COLUMNS`.
fn export_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ExportRow> {
    Ok(ExportRow {
        id: r.get(0)?,
        public_id: r.get(1)?,
        reference: r.get(2)?,
        created_at: r.get(3)?,
        site_key: r.get(4)?,
        site_name: r.get(5)?,
        kind: r.get(6)?,
        severity: r.get(7)?,
        status: r.get(8)?,
        message: r.get(9)?,
        expected: r.get(10)?,
        actual: r.get(11)?,
        email: r.get(12)?,
        name: r.get(13)?,
        page_url: r.get(14)?,
        page_title: r.get(15)?,
        assignee: r.get(16)?,
        first_response_ms: r.get(17)?,
        resolution_ms: r.get(18)?,
        promises_open: r.get(19)?,
        promises_kept: r.get(20)?,
        promises_broken: r.get(21)?,
        context: r
            .get::<_, Option<String>>(22)?
            .and_then(|json| serde_json::from_str(&json).ok())
            .unwrap_or_default(),
        followup_at: r.get(23)?,
        assignee_id: r.get(24)?,
    })
}
