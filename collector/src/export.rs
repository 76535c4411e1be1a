//! Exported entries as CSV (RFC 4180, safe to open in a spreadsheet) or
//! NDJSON, one entry per row or line.

use std::fmt::Write;
use std::sync::Arc;

use futures_util::Stream;
use serde_json::{Value, json};

use crate::clock::rfc3339;
use crate::review::filter::{Cursor, Filter};
use crate::store::{ExportQuery, ExportRow, Store, StoreError};

/// Entries read per chunk: a few hundred KB of text at most.
const CHUNK: usize = 500;

/// How an export is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Ndjson,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8; header=present",
            Format::Ndjson => "application/x-ndjson",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Ndjson => "ndjson",
        }
    }
}

/// The CSV columns, in order. One added later goes last, so a tool that
/// reads columns by position reads the earlier ones as before.
pub const CSV_COLUMNS: [&str; 24] = [
    "reference",
    "created",
    "site",
    "site_key",
    "kind",
    "severity",
    "status",
    "message",
    "expected",
    "actual",
    "email",
    "name",
    "page_url",
    "page_title",
    "assignee",
    "first_response_seconds",
    "resolution_seconds",
    "promises_open",
    "promises_kept",
    "promises_broken",
    "context",
    "context_keys",
    "console_url",
    "assignee_id",
];

/// Excel, LibreOffice and Google Sheets read UTF-8 reliably with it.
pub const BOM: &str = "\u{FEFF}";

/// Characters that make a spreadsheet read a cell as a formula (OWASP CSV
/// injection): such a cell gets a leading `'`, which shows as text.
fn is_formula_start(c: char) -> bool {
    matches!(c, '=' | '+' | '-' | '@' | '\t' | '\r')
}

/// One text cell: defused, then quoted when it holds a separator, a quote
/// or a line break (RFC 4180).
pub fn csv_cell(value: &str, out: &mut String) {
    let defuse = value.starts_with(is_formula_start);
    let quote = defuse || value.contains([',', '"', '\r', '\n']);
    if quote {
        out.push('"');
    }
    if defuse {
        out.push('\'');
    }
    for c in value.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    if quote {
        out.push('"');
    }
}

fn number_cell(value: Option<i64>, out: &mut String) {
    if let Some(value) = value {
        let _ = write!(out, "{value}");
    }
}

pub fn csv_header(out: &mut String) {
    out.push_str(&CSV_COLUMNS.join(","));
    out.push_str("\r\n");
}

fn seconds(ms: Option<i64>) -> Option<i64> {
    ms.map(|ms| ms.max(0) / 1000)
}

/// `plan=pro; account=42`: the host page's context, in key order.
fn context_pairs(row: &ExportRow) -> String {
    row.context
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

pub fn csv_row(row: &ExportRow, public_url: &str, out: &mut String) {
    let text = |value: Option<&str>, out: &mut String| csv_cell(value.unwrap_or_default(), out);
    let cells: [&dyn Fn(&mut String); 24] = [
        &|o| csv_cell(&row.reference, o),
        &|o| csv_cell(&rfc3339(row.created_at), o),
        &|o| csv_cell(&row.site_name, o),
        &|o| csv_cell(&row.site_key, o),
        &|o| csv_cell(&row.kind, o),
        &|o| text(row.severity.as_deref(), o),
        &|o| csv_cell(&row.status, o),
        &|o| text(row.message.as_deref(), o),
        &|o| text(row.expected.as_deref(), o),
        &|o| text(row.actual.as_deref(), o),
        &|o| text(row.email.as_deref(), o),
        &|o| text(row.name.as_deref(), o),
        &|o| text(row.page_url.as_deref(), o),
        &|o| text(row.page_title.as_deref(), o),
        &|o| text(row.assignee.as_deref(), o),
        &|o| number_cell(seconds(row.first_response_ms), o),
        &|o| number_cell(seconds(row.resolution_ms), o),
        &|o| number_cell(Some(row.promises_open), o),
        &|o| number_cell(Some(row.promises_kept), o),
        &|o| number_cell(Some(row.promises_broken), o),
        &|o| csv_cell(&context_pairs(row), o),
        &|o| {
            csv_cell(
                &row.context.keys().cloned().collect::<Vec<_>>().join(";"),
                o,
            )
        },
        &|o| csv_cell(&console_url(public_url, row), o),
        &|o| number_cell(row.assignee_id, o),
    ];
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        cell(out);
    }
    out.push_str("\r\n");
}

fn console_url(public_url: &str, row: &ExportRow) -> String {
    format!("{public_url}/console/entries/{}", row.public_id)
}

/// The entry as one JSON object, the same fields as the CSV with their
/// natural types.
pub fn json_row(row: &ExportRow, public_url: &str) -> Value {
    json!({
        "reference": row.reference,
        "created": rfc3339(row.created_at),
        "site": {"key": row.site_key, "name": row.site_name},
        "kind": row.kind,
        "severity": row.severity,
        "status": row.status,
        "message": row.message,
        "expected": row.expected,
        "actual": row.actual,
        "email": row.email,
        "name": row.name,
        "page": {"url": row.page_url, "title": row.page_title},
        "assignee": row.assignee,
        "assignee_id": row.assignee_id,
        "first_response_seconds": seconds(row.first_response_ms),
        "resolution_seconds": seconds(row.resolution_ms),
        "promises": {
            "open": row.promises_open,
            "kept": row.promises_kept,
            "broken": row.promises_broken,
        },
        "context": row.context,
        "console_url": console_url(public_url, row),
    })
}

pub fn ndjson_row(row: &ExportRow, public_url: &str, out: &mut String) {
    out.push_str(&json_row(row, public_url).to_string());
    out.push('\n');
}

/// Where an export stands between chunks.
enum Progress {
    Start,
    After(Option<Cursor>),
    Done,
}

/// The whole export as a stream of text chunks, read from the store one
/// chunk at a time and only as fast as the client takes them (memory stays
/// flat whatever the size). An error ends the stream with an error, so the
/// client sees a broken download, never a silently short file.
pub fn stream(
    store: Store,
    filter: Filter,
    format: Format,
    bom: bool,
    public_url: Arc<str>,
    now: i64,
) -> impl Stream<Item = Result<String, StoreError>> + Send {
    // The query is resolved with the first chunk of rows and kept.
    futures_util::stream::unfold((Progress::Start, None), move |(progress, query)| {
        let (store, filter, public_url) = (store.clone(), filter.clone(), public_url.clone());
        async move {
            let cursor = match progress {
                Progress::Done => return None,
                Progress::Start if format == Format::Csv => {
                    let mut out = String::new();
                    if bom {
                        out.push_str(BOM);
                    }
                    csv_header(&mut out);
                    return Some((Ok(out), (Progress::After(filter.cursor), query)));
                }
                Progress::Start => filter.cursor,
                Progress::After(cursor) => cursor,
            };
            let query: ExportQuery = match query {
                Some(query) => query,
                None => match store.export_query(filter, now).await {
                    Ok(query) => query,
                    Err(e) => return Some((Err(e), (Progress::Done, None))),
                },
            };
            let chunk = store.export_chunk(query.clone(), cursor, CHUNK).await;
            match chunk {
                Err(e) => Some((Err(e), (Progress::Done, None))),
                Ok(chunk) => {
                    let mut out = String::with_capacity(chunk.rows.len() * 512);
                    for row in &chunk.rows {
                        match format {
                            Format::Csv => csv_row(row, &public_url, &mut out),
                            Format::Ndjson => ndjson_row(row, &public_url, &mut out),
                        }
                    }
                    let next = match chunk.next {
                        Some(after) => Progress::After(Some(after)),
                        None => Progress::Done,
                    };
                    Some((Ok(out), (next, Some(query))))
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(value: &str) -> String {
        let mut out = String::new();
        csv_cell(value, &mut out);
        out
    }

    #[test]
    fn formula_starts_are_defused_and_quoted() {
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(cell("+1"), "\"'+1\"");
        assert_eq!(cell("-2"), "\"'-2\"");
        assert_eq!(cell("@SUM(A1)"), "\"'@SUM(A1)\"");
        assert_eq!(cell("\tx"), "\"'\tx\"");
        assert_eq!(cell("\rx"), "\"'\rx\"");
        // Only the start matters.
        assert_eq!(cell("a=b"), "a=b");
    }

    #[test]
    fn separators_quotes_and_line_breaks_are_quoted() {
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("two\nlines"), "\"two\nlines\"");
        assert_eq!(cell(""), "");
    }
}
