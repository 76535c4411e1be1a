//! `GET /api/v1/entries` (the inbox with its filters, in keyset pages) and
//! `GET /api/v1/entries/{reference}` (one entry with everything on it).

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Caller, NoQuery, decode_cursor, encode_cursor, read_query};
use crate::clock::rfc3339;
use crate::http::{ApiError, AppState};
use crate::review::filter::{Filter, RawFilter, joined, listed};
use crate::review::input::{InputError, bad};
use crate::store::{EntryDetail, Event, EventKind, InboxRow, PromiseRow};

/// Entries per page unless `limit` says otherwise, and at most.
const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 200;

/// The inbox's filters plus paging, as a query string.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    #[serde(flatten)]
    pub filter: RawFilter,
    /// Absent means the default; present must be a number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// What `list` reads beside the filter: any other parameter is refused.
const PAGE_PARAMETERS: &[&str] = &["limit", "cursor"];

/// The filter a query asks for: a site may be named by id or by key, a
/// colleague by id or by email.
pub(super) async fn parse_filter(
    state: &AppState,
    caller: &Caller,
    raw: &RawFilter,
) -> Result<Filter, ApiError> {
    let mut raw = raw.clone();
    let mut sites = Vec::new();
    for named in listed("site", &raw.site)? {
        // A site nobody has is a mistake to point out, not an empty list.
        let id = if let Ok(id) = named.parse::<i64>() {
            if state.sites.by_id(id).await?.is_none() {
                return Err(ApiError::Input(bad(
                    "site",
                    format!("no site has the id {id}"),
                )));
            }
            id
        } else {
            let Some(site) = state.sites.by_key(named).await? else {
                // Named back only when it could be a key, so the answer
                // never carries a long or odd string a caller sent.
                let plausible = named.len() <= 64
                    && named
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
                let message = if plausible && !named.is_empty() {
                    format!("no site has the key {named:?}")
                } else {
                    "no site has this key".to_owned()
                };
                return Err(ApiError::Input(bad("site", message)));
            };
            site.id
        };
        sites.push(id);
    }
    raw.site = joined(sites);
    // Tools know colleagues by email (assigning takes one too) or id. One
    // that nobody has is a mistake to point out, not an empty list; a
    // disabled colleague still has the entries left with them.
    let unknown = || ApiError::Shape {
        code: "unknown_colleague",
        message: "no colleague has this id or email".to_owned(),
        field: Some("assignee".to_owned()),
    };
    let mut assignees = Vec::new();
    for named in listed("assignee", &raw.assignee)? {
        if named.contains('@') {
            let user = state
                .store
                .user_by_email(named.to_owned())
                .await?
                .ok_or_else(unknown)?;
            assignees.push(user.id.to_string());
            continue;
        }
        if let Ok(id) = named.parse::<i64>()
            && state.store.user_name(id).await?.is_none()
        {
            return Err(unknown());
        }
        assignees.push(named.to_owned());
    }
    raw.assignee = joined(assignees);
    Ok(raw.parse(caller.user.id)?)
}

fn parse_limit(raw: Option<&str>) -> Result<usize, InputError> {
    let Some(raw) = raw else {
        return Ok(DEFAULT_LIMIT);
    };
    raw.parse::<usize>()
        .ok()
        .filter(|n| (1..=MAX_LIMIT).contains(n))
        .ok_or_else(|| bad("limit", format!("limit is a number from 1 to {MAX_LIMIT}")))
}

fn summary(row: &InboxRow, base: &str) -> Value {
    json!({
        "reference": row.reference,
        "url": format!("{base}/api/v1/entries/{}", row.reference),
        "console_url": format!("{base}/console/entries/{}", row.public_id),
        "kind": row.kind,
        "status": row.status,
        "severity": row.severity,
        "summary": row.summary,
        "email": row.email,
        "name": row.name,
        "site": row.site_name,
        "site_key": row.site_key,
        "assignee": row.assignee,
        "assignee_id": row.assignee_id,
        "created": rfc3339(row.created_at),
        "first_response": row.first_response_at.map(rfc3339),
        "next_promise_due": row.next_promise_due.map(rfc3339),
    })
}

pub async fn list(
    caller: Caller,
    State(state): State<AppState>,
    query: Result<Query<ListQuery>, QueryRejection>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let query = read_query(
        query,
        raw.as_deref(),
        &[RawFilter::PARAMETERS, PAGE_PARAMETERS],
    )?;
    let mut filter = parse_filter(&state, &caller, &query.filter).await?;
    let limit = parse_limit(query.limit.as_deref())?;
    if let Some(cursor) = &query.cursor {
        filter.cursor = Some(decode_cursor(cursor)?);
    }
    let now = state.clock.now_millis();
    let page = state.store.inbox(filter, limit, now).await?;
    let base = &*state.public_url;
    let next = page.next.map(|after| {
        let next = ListQuery {
            cursor: Some(encode_cursor(after)),
            ..query.clone()
        };
        let query = serde_html_form::to_string(&next).unwrap_or_default();
        format!("{base}/api/v1/entries?{query}")
    });
    let body = json!({
        "entries": page.rows.iter().map(|row| summary(row, base)).collect::<Vec<_>>(),
        "next": next,
    });
    let mut response = Json(body).into_response();
    if let Some(link) =
        next.and_then(|url| HeaderValue::try_from(format!("<{url}>; rel=\"next\"")).ok())
    {
        response.headers_mut().insert(header::LINK, link);
    }
    Ok(response)
}

fn promise(p: &PromiseRow, now: i64) -> Value {
    json!({
        "id": p.id,
        "text": p.text,
        "due": rfc3339(p.due_at),
        "state": p.settled.as_str(),
        "standing": p.state(now).label(),
        "settled": p.settled_at.map(rfc3339),
        "made_by": p.made_by,
        "made_by_id": p.made_by_id,
        "created": rfc3339(p.created_at),
    })
}

fn detail_json(entry: &EntryDetail, base: &str, now: i64) -> Value {
    let events_of = |kind: EventKind| {
        entry
            .events
            .iter()
            .filter(|e| e.kind == kind)
            .map(|e| json!({"by": e.actor, "by_id": e.actor_id, "body": e.body, "at": rfc3339(e.created_at)}))
            .collect::<Vec<_>>()
    };
    let context: serde_json::Map<String, Value> = entry
        .host_context
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    json!({
        "reference": entry.reference,
        "url": format!("{base}/api/v1/entries/{}", entry.reference),
        "console_url": format!("{base}/console/entries/{}", entry.public_id),
        "status_page": format!("{base}/s/{}.{}", entry.public_id, entry.status_token),
        "kind": entry.kind,
        "status": entry.status.as_str(),
        "next_statuses": entry.status.next().iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        "severity": entry.severity,
        "message": entry.message,
        "expected": entry.expected,
        "actual": entry.actual,
        "email": entry.email,
        "name": entry.name,
        "site": entry.site_name,
        "site_key": entry.site_key,
        "first_response_target_minutes": entry.first_response_target_ms / 60_000,
        "assignee": entry.assignee,
        "assignee_id": entry.assignee_id,
        "created": rfc3339(entry.created_at),
        "first_response": entry.first_response_at.map(rfc3339),
        "followed_up": entry.followup_at.map(rfc3339),
        "spam_reason": entry.spam_reason,
        "page": {
            "url": entry.page_url,
            "title": entry.page_title,
            "referrer": entry.page_referrer,
        },
        "client": {
            "user_agent": entry.user_agent,
            "language": entry.language,
            "timezone": entry.timezone,
            "viewport": entry.viewport,
        },
        "context": context,
        "attachments": entry.attachments.iter().map(|a| json!({
            "id": a.public_id,
            "content_type": a.content_type,
            "size": a.size,
            "width": a.dimensions.map(|d| d.width),
            "height": a.dimensions.map(|d| d.height),
            "url": format!("{base}/api/v1/attachments/{}", a.public_id),
        })).collect::<Vec<_>>(),
        "notes": events_of(EventKind::Note),
        "replies": events_of(EventKind::Reply),
        "follow_ups": events_of(EventKind::FollowUp),
        "promises": entry.promises.iter().map(|p| promise(p, now)).collect::<Vec<_>>(),
        "timeline": entry.events.iter().map(|e| timeline_event(e, &entry.promises)).collect::<Vec<_>>(),
    })
}

fn timeline_event(e: &Event, promises: &[PromiseRow]) -> Value {
    json!({
        "kind": e.kind.as_str(),
        "by": e.actor,
        "by_id": e.actor_id,
        "body": e.body,
        "from": e.old_value,
        "to": e.new_value,
        "from_id": e.old_user,
        "to_id": e.new_user,
        "at": rfc3339(e.created_at),
        "promise": promises.iter().find(|p| p.event_id == e.id).map(|p| p.id),
    })
}

/// The entry a reference names (references are upper case; any case is
/// accepted, as people copy them from emails).
pub(super) async fn locate(
    state: &AppState,
    path: Result<Path<String>, PathRejection>,
) -> Result<String, ApiError> {
    let Path(reference) = path.map_err(|_| ApiError::NotFound)?;
    let reference = crate::ids::parse_reference(&reference)
        .ok_or(ApiError::Refused(crate::store::Refusal::NoEntry))?;
    state
        .store
        .entry_by_reference(reference)
        .await?
        .ok_or(ApiError::Refused(crate::store::Refusal::NoEntry))
}

/// The entry as the API shows it.
pub(super) async fn entry_json(state: &AppState, public_id: String) -> Result<Value, ApiError> {
    let entry = state
        .store
        .entry_detail(public_id)
        .await?
        .ok_or(ApiError::Refused(crate::store::Refusal::NoEntry))?;
    Ok(detail_json(
        &entry,
        &state.public_url,
        state.clock.now_millis(),
    ))
}

pub async fn detail(
    _caller: Caller,
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    _: NoQuery,
) -> Result<Json<Value>, ApiError> {
    let public_id = locate(&state, path).await?;
    Ok(Json(entry_json(&state, public_id).await?))
}

#[derive(Debug, Default, Deserialize)]
pub struct AttachmentQuery {
    download: Option<String>,
}

pub async fn attachment(
    _caller: Caller,
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<AttachmentQuery>, QueryRejection>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let Path(id) = path.map_err(|_| ApiError::NotFound)?;
    let query = read_query(query, raw.as_deref(), &[&["download"]])?;
    let (content_type, bytes) = state
        .store
        .attachment(id.clone())
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(crate::http::attachments::serve(
        &id,
        content_type,
        bytes,
        query.download.is_some(),
    ))
}
