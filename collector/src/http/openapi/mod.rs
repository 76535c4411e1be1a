//! `GET /api/openapi.json`: the public ingest API and the staff REST API,
//! described in OpenAPI 3.1.
//!
//! Built from the same constants and enums the server uses (kinds, limits),
//! so the document cannot drift from the validation; a test calls every
//! operation it lists against the real router.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use earshot_protocol::image::MAX_PIXELS;
use earshot_protocol::submission::{CONTROL, INVISIBLE, WHITE_SPACE};
use earshot_protocol::{Kind, Severity, limits};
use serde_json::{Value, json};

use super::{AppState, MAX_HEADER_BYTES, MAX_HEADERS};

mod staff;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/openapi.json", get(openapi_json))
}

async fn openapi_json() -> Response {
    let mut response = axum::Json(document()).into_response();
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    })
}

/// Answers every route can give, beside its own.
fn common_errors(responses: &mut Value) {
    responses["408"] = error_response(
        "The request did not arrive within the server's request timeout (15 s by default)",
    );
    responses["431"] = error_response(&format!(
        "More than {MAX_HEADERS} request headers, or more than {MAX_HEADER_BYTES} bytes of them. Far larger headers are refused by the HTTP layer with an empty body."
    ));
}

/// A regular-expression character class body (without brackets) covering
/// `ranges`, written with `\\u` escapes so it reads the same everywhere.
fn class(ranges: &[(char, char)]) -> String {
    let escape = |c: char| format!("\\u{:04X}", u32::from(c));
    ranges
        .iter()
        .map(|&(from, to)| {
            if from == to {
                escape(from)
            } else {
                format!("{}-{}", escape(from), escape(to))
            }
        })
        .collect()
}

/// The character rules the server applies, as JSON Schema patterns.
struct Patterns {
    /// Somewhere in the string, a character that shows.
    visible: String,
    /// Blank, or an http(s) URL with a host, white space around allowed.
    url: String,
    /// Blank, or a plausible address, white space around allowed.
    email: String,
}

impl Patterns {
    fn new() -> Patterns {
        let (ws, ctl, inv) = (class(WHITE_SPACE), class(CONTROL), class(INVISIBLE));
        // A domain label character: ASCII letter, digit or hyphen, or any
        // other non-ASCII character that shows.
        let label = format!("(?:[A-Za-z0-9-]|[^\\u0000-\\u007F{ws}{ctl}{inv}])");
        Patterns {
            visible: format!("[^{ws}{ctl}{inv}]"),
            url: format!("^[{ws}]*([Hh][Tt][Tt][Pp][Ss]?://[^/{ws}{ctl}][^{ws}{ctl}]*)?[{ws}]*$"),
            email: format!("^[{ws}]*([^@{ws}{ctl}]{{1,64}}@{label}+(\\.{label}+)+)?[{ws}]*$"),
        }
    }
}

/// Optional text: `null` is the same as absent; blank text counts as absent.
fn text(max: usize) -> Value {
    json!({"type": ["string", "null"], "maxLength": max})
}

/// Text that must show something (white space, control and invisible
/// characters alone do not count).
fn visible_text(max: usize, patterns: &Patterns) -> Value {
    json!({"type": "string", "maxLength": max, "pattern": patterns.visible})
}

/// Text that shows nothing: the only `expected` and `actual` other kinds
/// accept (anything visible is refused with `not_for_kind`).
fn blank_text(max: usize, patterns: &Patterns) -> Value {
    json!({"anyOf": [
        {"type": "null"},
        {"type": "string", "maxLength": max, "not": {"pattern": patterns.visible}}
    ]})
}

/// The OpenAPI document.
pub fn document() -> Value {
    let kinds: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
    let mut severities: Vec<Value> = Severity::ALL.iter().map(|s| json!(s.as_str())).collect();
    severities.push(Value::Null);
    let patterns = Patterns::new();
    let url = json!({
        "type": ["string", "null"],
        "maxLength": limits::URL_MAX,
        "pattern": patterns.url,
        "description": "An absolute http or https URL; blank is the same as absent. Stored with the values of secret-looking parameters (token, password, signature, ...) and email addresses replaced by [redacted]."
    });
    let mut feedback_responses = json!({
        "201": {"description": "Stored", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/FeedbackAccepted"}}}},
        "200": {"description": "Idempotent replay: the entry stored earlier", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/FeedbackAccepted"}}}},
        "400": error_response("Malformed JSON (`malformed_json`), a body that could not be read (`bad_body`), or a NUL character (%00) in the address (`invalid_address`)"),
        "403": error_response("Unknown site (`unknown_site`), or origin not allowed for the site (`origin_not_allowed`)"),
        "413": error_response(&format!("Body larger than {} bytes; a declared Content-Length over it is refused before the body is read", limits::BODY_MAX_BYTES)),
        "415": error_response("Content-Type is not application/json"),
        "422": error_response("Well-formed JSON that breaks a rule; `field` names the field (`required`, `too_long`, `invalid_email`, `invalid_url`, `unknown_kind`, `unknown_severity`, `unknown_field`, `duplicate_field`, `invalid_type`, …)"),
        "429": rate_limited(),
        "503": unavailable()
    });
    common_errors(&mut feedback_responses);
    let mut attachment_responses = json!({
        "201": {"description": "Stored", "content": {"application/json": {"schema": {"type": "object", "required": ["id", "size"], "properties": {"id": {"type": "string"}, "size": {"type": "integer"}}}}}},
        "400": error_response("The body could not be read (`bad_body`), or a NUL character (%00) in the address (`invalid_address`)"),
        "401": {
            "description": "No `Authorization: Bearer <status secret>` header",
            "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "403": error_response("Origin not allowed for the entry's site"),
        "404": error_response("No entry with this id and secret (`unknown_entry`)"),
        "409": error_response(&format!("The entry already has {} attachments", limits::ATTACHMENTS_PER_ENTRY)),
        "413": error_response(&format!("Image larger than {} bytes; a declared Content-Length over it is refused before the body is read", limits::ATTACHMENT_MAX_BYTES)),
        "415": error_response("Not a PNG, JPEG, WebP or GIF, the bytes do not match the Content-Type, or the image header cannot be read"),
        "422": error_response(&format!("The image declares more than {} megapixels (`image_too_large`)", MAX_PIXELS / 1_000_000)),
        "429": rate_limited(),
        "503": unavailable()
    });
    common_errors(&mut attachment_responses);
    let mut doc = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Earshot collector API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The Earshot feedback collector. The public ingest API (`/api/v1/feedback`): browsers may call it only from a site's allowed origins; every answer to an allowed origin carries CORS headers. The staff API (tag `staff`): an API token in `Authorization: Bearer esk_…`, made under API tokens in the console or with `earshot token add`. Errors are `{\"error\":{\"code\",\"message\",\"field\"}}`; a query parameter a staff route does not read is refused (422, field `query`) rather than ignored."
        },
        "tags": [
            {"name": "public", "description": "Called by the widget on customers' sites"},
            {"name": staff::TAG, "description": "For staff tools, with an API token"}
        ],
        "paths": {
            "/api/v1/feedback": {
                "post": {
                    "operationId": "submitFeedback", "tags": ["public"],
                    "summary": "Submit feedback",
                    "description": "Stores one submission. A 2xx means it is committed to disk. Retrying with the same idempotency_key for the same site returns the original entry (200) instead of a duplicate. The body must be a JSON object; `null` is the same as an absent field; text limits count the characters as sent.",
                    "requestBody": {
                        "required": true,
                        "content": {"application/json": {
                            "schema": {"$ref": "#/components/schemas/FeedbackRequest"},
                            "example": {
                                "site": "site_xxxxxxxxxxxxxxxx",
                                "kind": "expectation",
                                "expected": "Free shipping over €50",
                                "actual": "Charged €4.90 on a €62 order",
                                "email": "ana@example.com",
                                "idempotency_key": "6f1d2c3b-4a59-4e8f-9a0b-1c2d3e4f5a6b"
                            }
                        }}
                    },
                    "responses": feedback_responses
                }
            },
            "/api/v1/feedback/{id}/attachments": {
                "post": {
                    "operationId": "attachImage", "tags": ["public"],
                    "summary": "Attach an image to an entry",
                    "description": format!("The raw bytes of a PNG, JPEG, WebP or GIF image, with its Content-Type. The file's own signature must match it (SVG is never accepted), and its header must declare at most {} megapixels. Authorised by the entry's status secret, the part after the dot in status_url.", MAX_PIXELS / 1_000_000),
                    "parameters": [
                        {"name": "id", "in": "path", "required": true, "schema": {"type": "string"}, "description": "The entry's id from FeedbackAccepted"},
                        {"name": "Authorization", "in": "header", "required": true, "schema": {"type": "string", "pattern": "^[Bb][Ee][Aa][Rr][Ee][Rr] "}, "description": "Bearer <status secret>"}
                    ],
                    "requestBody": {
                        "required": true,
                        "content": {
                            "image/png": {"schema": {"type": "string", "format": "binary", "maxLength": limits::ATTACHMENT_MAX_BYTES}},
                            "image/jpeg": {"schema": {"type": "string", "format": "binary", "maxLength": limits::ATTACHMENT_MAX_BYTES}},
                            "image/webp": {"schema": {"type": "string", "format": "binary", "maxLength": limits::ATTACHMENT_MAX_BYTES}},
                            "image/gif": {"schema": {"type": "string", "format": "binary", "maxLength": limits::ATTACHMENT_MAX_BYTES}}
                        }
                    },
                    "responses": attachment_responses
                }
            },
            "/healthz": {"get": {
                "operationId": "health", "tags": ["public"],
                "summary": "Readiness: the database answers",
                "responses": {
                    "200": {"description": "Healthy", "content": {"text/plain": {"schema": {"type": "string"}}}},
                    "503": error_response("The database does not answer")
                }
            }},
            "/livez": {"get": {
                "operationId": "liveness", "tags": ["public"],
                "summary": "Liveness: the process answers",
                "responses": {"200": {"description": "Alive", "content": {"text/plain": {"schema": {"type": "string"}}}}}
            }},
            "/widget.js": {"get": {
                "operationId": "widgetLoader", "tags": ["public"],
                "summary": "The widget loader script",
                "responses": {"200": {"description": "JavaScript", "content": {"application/javascript": {"schema": {"type": "string"}}}}}
            }},
            "/api/openapi.json": {"get": {
                "operationId": "openapi", "tags": ["public"],
                "summary": "This document",
                "responses": {"200": {"description": "OpenAPI 3.1 document", "content": {"application/json": {"schema": {"type": "object"}}}}}
            }}
        },
        "components": {"schemas": {
            "FeedbackRequest": {
                "type": "object",
                "additionalProperties": false,
                "required": ["site", "kind"],
                "description": "`expectation` requires `expected` and `actual`; every other kind requires `message` and refuses `expected` and `actual` (`not_for_kind`). Required text must show at least one character: white space, control and invisible characters alone count as empty.",
                "properties": {
                    "site": {"type": "string", "pattern": format!("^[A-Za-z0-9_-]{{1,{}}}$", limits::SITE_KEY_MAX)},
                    "kind": {"type": "string", "enum": kinds},
                    "message": text(limits::MESSAGE_MAX),
                    "expected": text(limits::EXPECTED_MAX),
                    "actual": text(limits::ACTUAL_MAX),
                    "severity": {"enum": severities, "description": "How much this affects the customer, in their own estimate. Kept for complaint, expectation and question; dropped for idea and praise."},
                    "email": {"type": ["string", "null"], "maxLength": limits::EMAIL_MAX, "pattern": patterns.email, "description": "Where a reply can reach the customer; blank is the same as absent."},
                    "name": text(limits::NAME_MAX),
                    "page": {
                        "type": ["object", "null"], "additionalProperties": false,
                        "properties": {
                            "url": url,
                            "title": text(limits::TITLE_MAX),
                            "referrer": url
                        }
                    },
                    "client": {
                        "type": ["object", "null"], "additionalProperties": false,
                        "properties": {
                            "user_agent": text(limits::USER_AGENT_MAX),
                            "language": text(limits::LANGUAGE_MAX),
                            "timezone": text(limits::TIMEZONE_MAX),
                            "viewport": text(limits::VIEWPORT_MAX)
                        }
                    },
                    "context": {
                        "type": ["object", "null"],
                        "description": "What the host page adds through `Earshot.setContext`: string values under keys of letters, digits, `_`, `-` and `.`. Blank values are left out.",
                        "maxProperties": limits::CONTEXT_ENTRIES_MAX,
                        "propertyNames": {"pattern": format!("^[A-Za-z0-9_.-]{{1,{}}}$", limits::CONTEXT_KEY_MAX)},
                        "additionalProperties": {"type": "string", "maxLength": limits::CONTEXT_VALUE_MAX}
                    },
                    "idempotency_key": {"type": ["string", "null"], "pattern": format!("^[A-Za-z0-9_-]{{{},{}}}$", limits::IDEMPOTENCY_KEY_MIN, limits::IDEMPOTENCY_KEY_MAX)},
                    "hp": {"type": ["string", "null"], "description": "Honeypot; leave empty."},
                    "fill_ms": {"type": ["integer", "null"], "minimum": 0, "maximum": earshot_protocol::wire::MAX_SAFE_INTEGER, "description": "Milliseconds from opening the form to sending it."}
                },
                "if": {"properties": {"kind": {"const": "expectation"}}, "required": ["kind"]},
                "then": {
                    "required": ["expected", "actual"],
                    "properties": {
                        "expected": visible_text(limits::EXPECTED_MAX, &patterns),
                        "actual": visible_text(limits::ACTUAL_MAX, &patterns)
                    }
                },
                "else": {
                    "required": ["message"],
                    "properties": {
                        "message": visible_text(limits::MESSAGE_MAX, &patterns),
                        "expected": blank_text(limits::EXPECTED_MAX, &patterns),
                        "actual": blank_text(limits::ACTUAL_MAX, &patterns)
                    }
                }
            },
            "FeedbackAccepted": {
                "type": "object",
                "required": ["id", "reference", "status_url"],
                "properties": {
                    "id": {"type": "string"},
                    "reference": {"type": "string", "example": "ES-7K3F-9QX2"},
                    "status_url": {"type": "string", "format": "uri"},
                    "response_promise": {"type": "string", "description": "The site's promise about answering, when it has set one.", "example": "We answer within 1 business day"}
                }
            },
            "Error": {
                "type": "object",
                "required": ["error"],
                "properties": {"error": {
                    "type": "object",
                    "required": ["code", "message", "field"],
                    "properties": {
                        "code": {"type": "string"},
                        "message": {"type": "string"},
                        "field": {"type": ["string", "null"]}
                    }
                }}
            }
        }}
    });
    if let (Some(paths), Value::Object(staff_paths)) =
        (doc["paths"].as_object_mut(), staff::paths())
    {
        paths.extend(staff_paths);
    }
    if let (Some(schemas), Value::Object(staff_schemas)) = (
        doc["components"]["schemas"].as_object_mut(),
        staff::schemas(),
    ) {
        schemas.extend(staff_schemas);
    }
    doc["components"]["securitySchemes"] = json!({
        "apiToken": {"type": "http", "scheme": "bearer", "description": "An API token (esk_…)"}
    });
    doc
}

fn rate_limited() -> Value {
    json!({
        "description": "Rate limited",
        "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait"}},
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    })
}

fn unavailable() -> Value {
    json!({
        "description": "Shutting down, or the write could not be made durable; retry after Retry-After seconds",
        "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait"}},
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    })
}
