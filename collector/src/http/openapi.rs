//! `GET /api/openapi.json`: the public API described in OpenAPI 3.1.
//!
//! Built from the same constants and enums the server uses (kinds, limits),
//! so the document cannot drift from the validation; a test calls every
//! operation it lists against the real router.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use earshot_protocol::{Kind, Severity, limits};
use serde_json::{Value, json};

use super::AppState;

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

fn text(max: usize) -> Value {
    json!({"type": "string", "maxLength": max})
}

/// The OpenAPI document.
pub fn document() -> Value {
    let kinds: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
    let severities: Vec<&str> = Severity::ALL.iter().map(|s| s.as_str()).collect();
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Earshot collector API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Public ingest API of the Earshot feedback collector. Browsers may call it only from a site's allowed origins."
        },
        "paths": {
            "/api/v1/feedback": {
                "post": {
                    "operationId": "submitFeedback",
                    "summary": "Submit feedback",
                    "description": "Stores one submission. A 2xx means it is committed to disk. Retrying with the same idempotency_key for the same site returns the original entry (200) instead of a duplicate.",
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
                    "responses": {
                        "201": {"description": "Stored", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/FeedbackAccepted"}}}},
                        "200": {"description": "Idempotent replay: the entry stored earlier", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/FeedbackAccepted"}}}},
                        "400": error_response("Malformed JSON"),
                        "403": error_response("Unknown site, or origin not allowed for the site"),
                        "413": error_response(&format!("Body larger than {} bytes", limits::BODY_MAX_BYTES)),
                        "415": error_response("Content-Type is not application/json"),
                        "422": error_response("A field breaks a rule; `field` names it"),
                        "429": {
                            "description": "Rate limited",
                            "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait"}},
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
                        },
                        "503": error_response("Shutting down; retry after Retry-After seconds")
                    }
                }
            },
            "/api/v1/feedback/{id}/attachments": {
                "post": {
                    "operationId": "attachImage",
                    "summary": "Attach an image to an entry",
                    "description": "The raw bytes of a PNG, JPEG, WebP or GIF image, with its Content-Type. The file's own signature must match it (SVG is never accepted). Authorised by the entry's status secret, the part after the dot in status_url.",
                    "parameters": [
                        {"name": "id", "in": "path", "required": true, "schema": {"type": "string"}, "description": "The entry's id from FeedbackAccepted"},
                        {"name": "Authorization", "in": "header", "required": true, "schema": {"type": "string", "pattern": "^Bearer "}, "description": "Bearer <status secret>"}
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
                    "responses": {
                        "201": {"description": "Stored", "content": {"application/json": {"schema": {"type": "object", "required": ["id", "size"], "properties": {"id": {"type": "string"}, "size": {"type": "integer"}}}}}},
                        "403": error_response("Origin not allowed for the entry's site"),
                        "404": error_response("No entry with this id and secret (`unknown_entry`)"),
                        "409": error_response(&format!("The entry already has {} attachments", limits::ATTACHMENTS_PER_ENTRY)),
                        "413": error_response(&format!("Image larger than {} bytes", limits::ATTACHMENT_MAX_BYTES)),
                        "415": error_response("Not a PNG, JPEG, WebP or GIF, or the bytes do not match the Content-Type"),
                        "429": error_response("Rate limited; see Retry-After")
                    }
                }
            },
            "/healthz": {"get": {"operationId": "health", "summary": "Readiness: the database answers", "responses": {"200": {"description": "Healthy"}}}},
            "/livez": {"get": {"operationId": "liveness", "summary": "Liveness: the process answers", "responses": {"200": {"description": "Alive"}}}},
            "/widget.js": {"get": {"operationId": "widgetLoader", "summary": "The widget loader script", "responses": {"200": {"description": "JavaScript", "content": {"application/javascript": {}}}}}},
            "/api/openapi.json": {"get": {"operationId": "openapi", "summary": "This document", "responses": {"200": {"description": "OpenAPI 3.1 document"}}}}
        },
        "components": {"schemas": {
            "FeedbackRequest": {
                "type": "object",
                "additionalProperties": false,
                "required": ["site", "kind"],
                "description": "`expectation` requires `expected` and `actual`; every other kind requires `message`.",
                "properties": {
                    "site": {"type": "string", "pattern": "^[A-Za-z0-9_-]+$", "maxLength": limits::SITE_KEY_MAX},
                    "kind": {"type": "string", "enum": kinds},
                    "message": text(limits::MESSAGE_MAX),
                    "expected": text(limits::EXPECTED_MAX),
                    "actual": text(limits::ACTUAL_MAX),
                    "severity": {"type": "string", "enum": severities, "description": "How much this affects the customer, in their own estimate."},
                    "email": {"type": "string", "format": "email", "maxLength": limits::EMAIL_MAX},
                    "name": text(limits::NAME_MAX),
                    "page": {
                        "type": "object", "additionalProperties": false,
                        "properties": {
                            "url": {"type": "string", "format": "uri", "pattern": "^[Hh][Tt][Tt][Pp][Ss]?://", "maxLength": limits::URL_MAX},
                            "title": text(limits::TITLE_MAX),
                            "referrer": {"type": "string", "maxLength": limits::URL_MAX}
                        }
                    },
                    "client": {
                        "type": "object", "additionalProperties": false,
                        "properties": {
                            "user_agent": text(limits::USER_AGENT_MAX),
                            "language": text(limits::LANGUAGE_MAX),
                            "timezone": text(limits::TIMEZONE_MAX),
                            "viewport": text(limits::VIEWPORT_MAX)
                        }
                    },
                    "context": {
                        "type": "object",
                        "description": "What the host page adds through `Earshot.setContext`: string values under keys of letters, digits, `_`, `-` and `.`.",
                        "maxProperties": limits::CONTEXT_ENTRIES_MAX,
                        "propertyNames": {"pattern": "^[A-Za-z0-9_.-]+$", "maxLength": limits::CONTEXT_KEY_MAX},
                        "additionalProperties": text(limits::CONTEXT_VALUE_MAX)
                    },
                    "idempotency_key": {"type": "string", "pattern": "^[A-Za-z0-9_-]+$", "minLength": limits::IDEMPOTENCY_KEY_MIN, "maxLength": limits::IDEMPOTENCY_KEY_MAX},
                    "hp": {"type": "string", "description": "Honeypot; leave empty."},
                    "fill_ms": {"type": "integer", "minimum": 0, "description": "Milliseconds from opening the form to sending it."}
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
    })
}
