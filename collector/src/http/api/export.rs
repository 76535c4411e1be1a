//! `GET /api/v1/entries/export.csv` and `.ndjson`: every entry the filters
//! match, streamed.

use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures_util::TryStreamExt;
use serde::Deserialize;

use super::entries::parse_filter;
use super::{Caller, read_query};
use crate::export::{self, Format};
use crate::http::{ApiError, AppState};
use crate::review::filter::Filter;
use crate::review::filter::RawFilter;
use crate::review::input::{InputError, bad};

/// An export's query-string parameters: the inbox's filters and the
/// byte-order-mark choice, for the API's and the console's exports alike
/// (the store's prepared query is `store::ExportQuery`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ExportParams {
    #[serde(flatten)]
    pub filter: RawFilter,
    /// `1` starts the CSV with a UTF-8 byte-order mark, for spreadsheets.
    bom: String,
}

impl ExportParams {
    pub fn bom(&self) -> Result<bool, InputError> {
        match self.bom.as_str() {
            "" | "0" => Ok(false),
            "1" => Ok(true),
            _ => Err(bad("bom", "bom is 1 or 0")),
        }
    }
}

/// The streamed answer, for the API and the console alike.
pub(crate) fn response(state: &AppState, filter: Filter, format: Format, bom: bool) -> Response {
    let now = state.clock.now_millis();
    let chunks = export::stream(
        state.store.clone(),
        filter,
        format,
        bom,
        state.public_url.clone(),
        now,
    )
    .inspect_err(|e| tracing::error!(error = %e, "export stopped"));
    let name = format!("earshot-{}.{}", crate::clock::date(now), format.extension());
    (
        [
            (header::CONTENT_TYPE, format.content_type().to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        Body::from_stream(chunks),
    )
        .into_response()
}

async fn export(
    caller: Caller,
    state: AppState,
    query: Result<Query<ExportParams>, QueryRejection>,
    raw: Option<String>,
    format: Format,
) -> Result<Response, ApiError> {
    let mut query = read_query(query, raw.as_deref(), &[RawFilter::PARAMETERS, &["bom"]])?;
    // A tool that asks for an export without naming a view wants the data,
    // not today's queue: the list's default (who is waiting) would make
    // an empty file that looks like a complete one.
    if query.filter.view.trim().is_empty() {
        query.filter.view = "all".to_owned();
    }
    let bom = query.bom()?;
    let filter = parse_filter(&state, &caller, &query.filter).await?;
    Ok(response(&state, filter, format, bom))
}

pub async fn csv(
    caller: Caller,
    State(state): State<AppState>,
    query: Result<Query<ExportParams>, QueryRejection>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    export(caller, state, query, raw, Format::Csv).await
}

pub async fn ndjson(
    caller: Caller,
    State(state): State<AppState>,
    query: Result<Query<ExportParams>, QueryRejection>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    export(caller, state, query, raw, Format::Ndjson).await
}
