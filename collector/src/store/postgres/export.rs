//! Entries for export on PostgreSQL: the inbox's filters, every column a
//! spreadsheet wants, in keyset chunks.

use super::Postgres;
use super::inbox::{FilterSql, fetch_rows, filter_sql, is_sparse};
use crate::review::filter::{Cursor, Filter};
use crate::store::export::EXPORT_COLUMNS;
use crate::store::review::{keyset_page, page_sql};
use crate::store::{ExportChunk, ExportQuery, ExportRow, StoreError};

impl Postgres {
    /// An export of what `filter` selects (the words are matched as
    /// typed; how to reach them is decided once, as for an inbox page).
    pub async fn export_query(&self, filter: Filter, now: i64) -> Result<ExportQuery, StoreError> {
        let client = self.client().await?;
        let sparse = is_sparse(&client, &filter).await?;
        Ok(ExportQuery {
            filter,
            matching: None,
            sparse,
            now,
        })
    }

    /// The chunk of at most `limit` rows after `cursor`.
    pub async fn export_chunk(
        &self,
        query: ExportQuery,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> Result<ExportChunk, StoreError> {
        let filter = Filter {
            cursor,
            ..query.filter
        };
        let FilterSql {
            conditions,
            order,
            args,
            ..
        } = filter_sql(&filter, query.now);
        let sql = page_sql(EXPORT_COLUMNS, "entries e", &conditions, &order, limit);
        let mut client = self.client().await?;
        let rows: Vec<ExportRow> = fetch_rows(&mut client, &sql, &args, query.sparse)
            .await?
            .iter()
            .map(|r| ExportRow {
                id: r.get(0),
                public_id: r.get(1),
                reference: r.get(2),
                created_at: r.get(3),
                site_key: r.get(4),
                site_name: r.get(5),
                kind: r.get(6),
                severity: r.get(7),
                status: r.get(8),
                message: r.get(9),
                expected: r.get(10),
                actual: r.get(11),
                email: r.get(12),
                name: r.get(13),
                page_url: r.get(14),
                page_title: r.get(15),
                assignee: r.get(16),
                first_response_ms: r.get(17),
                resolution_ms: r.get(18),
                promises_open: r.get(19),
                promises_kept: r.get(20),
                promises_broken: r.get(21),
                context: r
                    .get::<_, Option<String>>(22)
                    .and_then(|json| serde_json::from_str(&json).ok())
                    .unwrap_or_default(),
                followup_at: r.get(23),
            })
            .collect();
        let (rows, next) = keyset_page(rows, limit, |r| {
            Cursor::of(&filter, r.id, r.created_at, r.followup_at)
        });
        Ok(ExportChunk { rows, next })
    }
}
