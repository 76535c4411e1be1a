//! The staff REST API (`/api/v1/entries…`, `/api/v1/sites`, `/api/v1/staff`,
//! `/api/v1/attachments/…`) in the OpenAPI document, built from the same
//! enums and limits the handlers use.

use earshot_protocol::{Kind, Severity};
use serde_json::{Value, json};

use super::error_response;
use crate::review::filter::{ANY_OF_SEPARATOR, View};
use crate::review::input::{PROMISE_MAX, TEXT_MAX};
use crate::review::workflow::Status;
use crate::store::Role;

/// Operations tagged so a tool (and our schemathesis runs) can pick the
/// public or the staff API.
pub const TAG: &str = "staff";
const MAX_LIMIT: u64 = 200;

/// The 400 every staff operation can give.
const NUL_IN_ADDRESS: &str = "NUL character (%00) in the path or query string (`invalid_address`)";

fn errors(extra: &[(&str, &str)]) -> Value {
    let mut responses = json!({
        "401": {
            "description": "No token (`unauthorized`), or one that is unknown, revoked or expired (`invalid_token`)",
            "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "429": {
            "description": "Too many failed token attempts from this network (`rate_limited`)",
            "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait"}},
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "400": error_response(&format!("A {NUL_IN_ADDRESS}")),
        "408": error_response("The request did not arrive within the server's request timeout"),
        "503": error_response("Shutting down; retry shortly")
    });
    for (status, description) in extra {
        responses[*status] = error_response(description);
    }
    responses
}

/// The inbox's filters; `view` describes the `view` parameter and its
/// default on this route.
fn filter_parameters(view: &str) -> Vec<Value> {
    let kinds: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
    let severities: Vec<&str> = Severity::ALL.iter().map(|s| s.as_str()).collect();
    let statuses: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
    let query = |name: &str, schema: Value, description: &str| json!({"name": name, "in": "query", "required": false, "schema": schema, "description": format!("{description}. Empty is the same as absent.")});
    // Each filter also takes the empty string (a form left blank).
    let one_of = |values: Vec<&str>| {
        let mut values: Vec<Value> = values.into_iter().map(Value::from).collect();
        values.push(Value::from(""));
        json!({"type": "string", "enum": values})
    };
    // Any of several: each value once or more, separated by commas.
    let any_of = |values: Vec<&str>| {
        let value = format!("({})", values.join("|"));
        json!({"type": "string", "pattern": format!("^({value}({ANY_OF_SEPARATOR}{value})*)?$")})
    };
    let date = json!({"anyOf": [{"type": "string", "maxLength": 0}, {"type": "string", "format": "date"}]});
    vec![
        query("view", one_of(View::NAMES.to_vec()), view),
        query(
            "site",
            any_of(vec!["[0-9]{1,18}", "site_[a-z0-9]{16}"]),
            "A site's id or key, or any of several separated by commas (at most 50); one no site has is refused (422)",
        ),
        query(
            "kind",
            any_of(kinds),
            "Only this kind, or any of several separated by commas (`complaint,expectation`)",
        ),
        query(
            "status",
            any_of(statuses),
            "Only this status, or any of several separated by commas (`new,acknowledged`); in `view=all`, spam only when `spam` is named",
        ),
        query(
            "severity",
            any_of(severities),
            "Only this severity, or any of several separated by commas (`annoying,blocking`)",
        ),
        query(
            "assignee",
            any_of(vec!["me", "none", "[0-9]{1,18}", "[^@,]+@[^@,]+"]),
            "`me`, `none`, or a colleague's id or email, or any of several separated by commas (`me,none`: mine or nobody's; at most 50); one no account has, by email or id, is refused: 422 `unknown_colleague`",
        ),
        query(
            "promise",
            one_of(vec!["open", "overdue"]),
            "Entries with an open, or an overdue, promise",
        ),
        query(
            "from",
            date.clone(),
            "Created on or after this day (UTC, YYYY-MM-DD)",
        ),
        query(
            "to",
            date,
            "Created on or before this day (UTC, YYYY-MM-DD); not before `from`",
        ),
        query(
            "q",
            json!({"type": "string"}),
            "Full-text search of the customer's words, names, pages and staff notes; every word must match, the last also as a prefix; text without a letter or digit is refused (422); an entry's reference (ES-7K3F-9QX2, in any case, spaced or not) selects that entry instead",
        ),
        query(
            "customer",
            json!({"type": "string"}),
            "An entry's reference (as `q` reads one): only entries from the customer who sent it, found by the email they gave (trimmed, any case), that entry included; none when it gave no email; a value that is not a reference is refused (422)",
        ),
    ]
}

fn entry_ref() -> Value {
    json!({"$ref": "#/components/schemas/Entry"})
}

fn reference_parameter() -> Value {
    json!({"name": "reference", "in": "path", "required": true, "schema": {"type": "string"}, "description": "The entry's reference, e.g. ES-7K3F-9QX2 (any case)"})
}

/// The 422 of an operation that reads no query parameter.
const NO_PARAMETERS: &str = "A query parameter (field `query`): this operation reads none";

fn action(operation_id: &str, summary: &str, body: Value, created: bool) -> Value {
    let ok = if created { "201" } else { "200" };
    let mut responses = errors(&[
        (
            "400",
            &format!("Malformed JSON (`malformed_json`), or a {NUL_IN_ADDRESS}"),
        ),
        (
            "403",
            "The token is read-only (`forbidden`), answered before the body is read",
        ),
        (
            "404",
            "No entry with this reference (`unknown_entry`) or no such promise (`unknown_promise`)",
        ),
        (
            "409",
            "The rules refuse it, with the reason: `unchanged`, `status_not_allowed`, `already_settled`",
        ),
        ("413", "Body over 128 KiB"),
        ("415", "Content-Type is not application/json"),
        (
            "422",
            "Input to correct; `field` names it (`invalid`, `unknown_colleague`, `unknown_field`, `invalid_type`, `invalid_format` for a NUL character, U+0000, in a string, …); also any query parameter (field `query`): this operation reads none",
        ),
    ]);
    responses[ok] = json!({"description": "The entry as it now stands", "content": {"application/json": {"schema": entry_ref()}}});
    json!({"post": {
        "operationId": operation_id,
        "summary": summary,
        "tags": [TAG],
        "security": [{"apiToken": []}],
        "parameters": [reference_parameter()],
        "requestBody": {"required": true, "content": {"application/json": {"schema": body}}},
        "responses": responses
    }})
}

fn export(operation_id: &str, media_type: &str, description: &str) -> Value {
    let mut parameters = filter_parameters(
        "`all` (the default here): everything but spam, newest first; `waiting`: nobody has answered yet, oldest first; `open`: not yet closed (new, acknowledged or in progress), answered or not, oldest first; `spam`",
    );
    parameters.push(json!({"name": "bom", "in": "query", "required": false, "schema": {"type": "string", "enum": ["0", "1", ""]}, "description": "`1` starts a CSV with a UTF-8 byte-order mark, for spreadsheet apps. Empty is the same as absent."}));
    let mut responses = errors(&[("422", "A malformed filter; `field` names it")]);
    responses["200"] = json!({"description": description, "content": {media_type: {"schema": {"type": "string"}}}});
    json!({"get": {
        "operationId": operation_id,
        "summary": format!("Export every matching entry ({media_type}), streamed"),
        "tags": [TAG],
        "security": [{"apiToken": []}],
        "parameters": parameters,
        "responses": responses
    }})
}

/// The staff paths.
pub fn paths() -> Value {
    let mut list_parameters = filter_parameters(
        "`waiting` (the default): nobody has answered yet, oldest first; `open`: not yet closed (new, acknowledged or in progress), answered or not, oldest first; `all`: everything but spam, newest first; `spam`",
    );
    list_parameters.push(json!({"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 50}}));
    list_parameters.push(json!({"name": "cursor", "in": "query", "required": false, "schema": {"type": "string", "minLength": 1}, "description": "Opaque; from a previous page's `next`"}));
    let mut list_responses = errors(&[(
        "422",
        "A malformed filter, limit or cursor; `field` names it",
    )]);
    list_responses["200"] = json!({
        "description": "One page. Every entry that existed when paging began appears exactly once across the pages.",
        "headers": {"Link": {"schema": {"type": "string"}, "description": "`<next page URL>; rel=\"next\"` while there is one"}},
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/EntryPage"}}}
    });
    let mut detail_responses = errors(&[
        ("404", "No entry with this reference (`unknown_entry`)"),
        ("422", NO_PARAMETERS),
    ]);
    detail_responses["200"] = json!({"description": "The entry", "content": {"application/json": {"schema": entry_ref()}}});
    let mut attachment_responses = errors(&[
        ("404", "No such attachment"),
        (
            "422",
            "A query parameter other than `download` (field `query`)",
        ),
    ]);
    attachment_responses["200"] = json!({"description": "The image, sandboxed", "content": {"image/*": {"schema": {"type": "string", "format": "binary"}}}});
    let mut sites_responses = errors(&[("422", NO_PARAMETERS)]);
    sites_responses["200"] = json!({"description": "Every site; `origins` only for administrators' tokens", "content": {"application/json": {"schema": {"type": "object", "required": ["sites"], "properties": {"sites": {"type": "array", "items": {"type": "object", "required": ["id", "key", "name", "first_response_target_minutes", "receipt_email"], "properties": {
        "id": {"type": "integer"}, "key": {"type": "string"}, "name": {"type": "string"},
        "first_response_target_minutes": {"type": "integer"},
        "response_promise": {"type": ["string", "null"]},
        "receipt_email": {"type": "boolean", "description": "Customers who leave an address are emailed a receipt with their reference and status link, and word when their feedback is resolved or closed or a promise to them kept, unless a reply told them"},
        "origins": {"type": "array", "items": {"type": "string"}}
    }}}}}}}});
    let mut staff_responses = errors(&[("422", NO_PARAMETERS)]);
    staff_responses["200"] = json!({"description": "Every staff account, active ones first, each in alphabetical order (accents and case aside); `role` only for administrators' tokens", "content": {"application/json": {"schema": {"type": "object", "required": ["staff"], "properties": {"staff": {"type": "array", "items": {"type": "object", "required": ["id", "name", "email", "active"], "properties": {
        "id": {"type": "integer", "description": "As `assignee_id`, `by_id` and the other ids that name a colleague"},
        "name": {"type": "string", "description": "Not unique: two colleagues may share one"},
        "email": {"type": "string"},
        "active": {"type": "boolean", "description": "False for a disabled account, which keeps its place on past events but can be given no work"},
        "role": {"type": "string", "enum": [Role::Admin.as_str(), Role::Agent.as_str()]}
    }}}}}}}});
    let statuses: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
    let text = |max: usize| json!({"type": "string", "minLength": 1, "maxLength": max});
    let colleague = json!({"description": "A colleague's id or email, `me`, or null for nobody", "oneOf": [{"type": "integer", "format": "int64", "minimum": 1, "maximum": i64::MAX}, {"type": "string"}, {"type": "null"}]});
    json!({
        "/api/v1/entries": {"get": {
            "operationId": "listEntries",
            "summary": "Entries, filtered like the console's inbox, in pages",
            "tags": [TAG],
            "security": [{"apiToken": []}],
            "parameters": list_parameters,
            "responses": list_responses
        }},
        "/api/v1/entries/export.csv": export("exportEntriesCsv", "text/csv", "RFC 4180 CSV with a header row; cells a spreadsheet would run as a formula (starting with =, +, -, @, tab or return) begin with '"),
        "/api/v1/entries/export.ndjson": export("exportEntriesNdjson", "application/x-ndjson", "One JSON object per line"),
        "/api/v1/entries/{reference}": {"get": {
            "operationId": "getEntry",
            "summary": "One entry with context, attachments, notes, replies, promises and its timeline",
            "tags": [TAG],
            "security": [{"apiToken": []}],
            "parameters": [reference_parameter()],
            "responses": detail_responses
        }},
        "/api/v1/entries/{reference}/status": action("setStatus", "Change the status (scope write)", json!({
            "type": "object", "additionalProperties": false, "required": ["status"],
            "properties": {
                "status": {"type": "string", "enum": statuses},
                "from": {"type": "string", "enum": statuses, "description": "The status the caller last read: if the entry has moved since, the change is refused with 409 `changed`, so a tool does not undo a colleague's move unseen"}
            }
        }), false),
        "/api/v1/entries/{reference}/assign": action("assignEntry", "Assign to a colleague or nobody (scope write)", json!({
            "type": "object", "additionalProperties": false, "required": ["assignee"],
            "properties": {
                "assignee": colleague.clone(),
                "from": {"description": "Who the caller last read the entry assigned to (`assignee_id`; an email or `me` also serve; null for nobody): if that has changed since, the assignment is refused with 409 `changed`, so a tool does not take an entry from a colleague unseen; one no account has is refused with 422", "oneOf": colleague["oneOf"].clone()}
            }
        }), false),
        "/api/v1/entries/{reference}/notes": action("addNote", "Add an internal note (scope write). The same words sent again by the same colleague within 10 minutes of their note, with no other note since, are the same note: kept once. Colleagues it names (`@bo`, the part of their email before the `@`, or the whole address) are emailed it when their notifications for what is addressed to them are on", json!({
            "type": "object", "additionalProperties": false, "required": ["body"],
            "properties": {"body": text(TEXT_MAX)}
        }), true),
        "/api/v1/entries/{reference}/replies": action("reply", "Reply to the customer, optionally with a promise (scope write). The same words sent again by the same colleague within 10 minutes of their reply, with nothing said since, are the same reply: kept and emailed once", json!({
            "type": "object", "additionalProperties": false, "required": ["body"],
            "properties": {
                "body": text(TEXT_MAX),
                "promise": {"type": ["object", "null"], "additionalProperties": false, "required": ["text", "due"], "properties": {
                    "text": text(PROMISE_MAX),
                    "due": {"type": "string", "format": "date", "description": "Due at the end of this day (UTC); not in the past and at most 366 days ahead"}
                }}
            }
        }), true),
        "/api/v1/entries/{reference}/promises/{promise}/settle": {
            "post": {
                "operationId": "settlePromise",
                "summary": "Record a promise as kept or broken (scope write)",
                "tags": [TAG],
                "security": [{"apiToken": []}],
                "parameters": [reference_parameter(), {"name": "promise", "in": "path", "required": true, "schema": {"type": "integer", "format": "int64", "minimum": 1, "maximum": i64::MAX}}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {
                    "type": "object", "additionalProperties": false, "required": ["outcome"],
                    "properties": {"outcome": {"type": "string", "enum": ["kept", "broken"]}}
                }}}},
                "responses": action("settle", "", json!({}), false)["post"]["responses"].clone()
            }
        },
        "/api/v1/attachments/{id}": {"get": {
            "operationId": "getAttachment",
            "summary": "An attached image",
            "tags": [TAG],
            "security": [{"apiToken": []}],
            "parameters": [
                {"name": "id", "in": "path", "required": true, "schema": {"type": "string"}},
                {"name": "download", "in": "query", "required": false, "schema": {"type": "string"}, "description": "Present: served as a download"}
            ],
            "responses": attachment_responses
        }},
        "/api/v1/sites": {"get": {
            "operationId": "listSites",
            "summary": "Sites, in alphabetical order (accents and case aside)",
            "tags": [TAG],
            "security": [{"apiToken": []}],
            "responses": sites_responses
        }},
        "/api/v1/staff": {"get": {
            "operationId": "listStaff",
            "summary": "Colleagues: whom the API's ids name and entries can be assigned to",
            "tags": [TAG],
            "security": [{"apiToken": []}],
            "responses": staff_responses
        }}
    })
}

/// Schemas the staff paths refer to.
pub fn schemas() -> Value {
    let nullable = |t: &str| json!({"type": [t, "null"]});
    let when = json!({"type": "string", "format": "date-time"});
    let when_or_null = json!({"type": ["string", "null"], "format": "date-time"});
    let by_id = json!({"type": ["integer", "null"], "description": "The colleague's account id (as `assignee_id`), where `by` names one: names are not unique"});
    let event = json!({"type": "object", "properties": {"by": nullable("string"), "by_id": by_id, "body": nullable("string"), "at": when}});
    let summary = json!({
            "type": "object",
            "required": ["reference", "url", "kind", "status", "created"],
            "properties": {
                "reference": {"type": "string"}, "url": {"type": "string", "format": "uri"},
                "console_url": {"type": "string", "format": "uri"},
                "kind": {"type": "string"}, "status": {"type": "string"}, "severity": nullable("string"),
                "summary": {"type": "string", "description": "The first 240 characters of what the customer wrote"},
                "email": nullable("string"), "name": nullable("string"),
                "site": {"type": "string", "description": "The site's name"},
                "site_key": {"type": "string", "description": "The site's key, as the `site` filter takes it"},
                "assignee": {"type": ["string", "null"], "description": "The assignee's name"},
                "assignee_id": nullable("integer"), "created": when,
                "first_response": when_or_null, "next_promise_due": when_or_null
            }
    });
    let page = json!({
            "type": "object",
            "required": ["entries", "next"],
            "properties": {
                "entries": {"type": "array", "items": {"$ref": "#/components/schemas/EntrySummary"}},
                "next": {"type": ["string", "null"], "format": "uri", "description": "The next page, with the same filters"}
            }
    });
    let attachment = json!({"type": "object", "properties": {
        "id": {"type": "string"}, "content_type": {"type": "string"}, "size": {"type": "integer"},
        "width": nullable("integer"), "height": nullable("integer"), "url": {"type": "string"}
    }});
    let promise = json!({"type": "object", "properties": {
        "id": {"type": "integer"}, "text": {"type": "string"}, "due": when,
        "state": {"type": "string", "enum": ["open", "kept", "broken"]},
        "standing": {"type": "string"}, "settled": when_or_null, "made_by": nullable("string"),
        "made_by_id": {"type": ["integer", "null"], "description": "The account `made_by` names"},
        "created": when
    }});
    let timeline = json!({"type": "object", "properties": {
        "kind": {"type": "string", "enum": ["status", "assign", "note", "reply", "promise_kept", "promise_broken", "follow_up"]},
        "by": nullable("string"), "by_id": by_id, "body": nullable("string"),
        "from": nullable("string"), "to": nullable("string"),
        "from_id": {"type": ["integer", "null"], "description": "On an assignment: the account `from` names (null for nobody, or for an assignment recorded before accounts were kept with it)"},
        "to_id": {"type": ["integer", "null"], "description": "On an assignment: the account `to` names, as `from_id`"},
        "at": when,
        "promise": {"type": ["integer", "null"], "description": "On a reply that made a promise: that promise's `id` in `promises`"}
    }});
    let entry = json!({
            "type": "object",
            "required": ["reference", "kind", "status", "created", "timeline"],
            "properties": {
                "reference": {"type": "string"}, "url": {"type": "string"}, "console_url": {"type": "string"},
                "status_page": {"type": "string", "description": "The customer's status page (holds its secret)"},
                "kind": {"type": "string"}, "status": {"type": "string"},
                "next_statuses": {"type": "array", "items": {"type": "string"}},
                "severity": nullable("string"), "message": nullable("string"),
                "expected": nullable("string"), "actual": nullable("string"),
                "email": nullable("string"), "name": nullable("string"),
                "site": {"type": "string", "description": "The site's name"},
                "site_key": {"type": "string", "description": "The site's key, as the `site` filter takes it"},
                "first_response_target_minutes": {"type": "integer"},
                "assignee": {"type": ["string", "null"], "description": "The assignee's name"},
                "assignee_id": nullable("integer"),
                "created": when, "first_response": when_or_null,
                "followed_up": when_or_null,
                "spam_reason": nullable("string"),
                "page": {"type": "object"}, "client": {"type": "object"},
                "context": {"type": "object", "additionalProperties": {"type": "string"}},
                "attachments": {"type": "array", "items": attachment},
                "notes": {"type": "array", "items": event.clone()},
                "replies": {"type": "array", "items": event.clone()},
                "follow_ups": {"type": "array", "items": event, "description": "What the customer added from their status page"},
                "promises": {"type": "array", "items": promise},
                "timeline": {"type": "array", "items": timeline}
            }
    });
    json!({"EntrySummary": summary, "EntryPage": page, "Entry": entry})
}
