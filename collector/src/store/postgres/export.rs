//! Entries for export on PostgreSQL: the inbox's filters, every column a
//! spreadsheet wants, in keyset chunks.

use super::inbox::{FilterSql, fetch_rows, filter_sql, is_sparse};
use super::{Postgres, read_rows};
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
            fresh_plan,
            ..
        } = filter_sql(&filter, query.now);
        let sql = page_sql(EXPORT_COLUMNS, "entries e", &conditions, &order, limit);
        let mut client = self.client().await?;
        let rows = fetch_rows(&mut client, &sql, &args, query.sparse, fresh_plan).await?;
        let rows: Vec<ExportRow> = read_rows(&rows, |r| {
            Ok(ExportRow {
                id: r.try_get(0)?,
                public_id: r.try_get(1)?,
                reference: r.try_get(2)?,
                created_at: r.try_get(3)?,
                site_key: r.try_get(4)?,
                site_name: r.try_get(5)?,
                kind: r.try_get(6)?,
                severity: r.try_get(7)?,
                status: r.try_get(8)?,
                message: r.try_get(9)?,
                expected: r.try_get(10)?,
                actual: r.try_get(11)?,
                email: r.try_get(12)?,
                name: r.try_get(13)?,
                page_url: r.try_get(14)?,
                page_title: r.try_get(15)?,
                assignee: r.try_get(16)?,
                first_response_ms: r.try_get(17)?,
                resolution_ms: r.try_get(18)?,
                promises_open: r.try_get(19)?,
                promises_kept: r.try_get(20)?,
                promises_broken: r.try_get(21)?,
                context: r
                    .try_get::<_, Option<String>>(22)?
                    .and_then(|json| serde_json::from_str(&json).ok())
                    .unwrap_or_default(),
                followup_at: r.try_get(23)?,
                assignee_id: r.try_get(24)?,
            })
        })?;
        let (rows, next) = keyset_page(rows, limit, |r| {
            Cursor::of(&filter, r.id, r.created_at, r.followup_at)
        });
        Ok(ExportChunk { rows, next })
    }
}
