//! `/api/openapi.json`: the routes as they are, and a valid OpenAPI 3.1
//! document.

use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};
use crate::staff::console_app;

async fn openapi(app: &TestApp) -> Value {
    app.client
        .get(format!("{}/api/openapi.json", app.address))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Every `$ref` inside `value`.
fn refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.push(r.clone());
            }
            map.values().for_each(|v| refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn the_openapi_document_describes_the_staff_api_consistently() {
    let (app, _clock) = console_app().await;
    let doc = openapi(&app).await;
    let mut found = Vec::new();
    refs(&doc, &mut found);
    assert!(found.len() > 20);
    for r in &found {
        let pointer = r.strip_prefix('#').expect("local references only");
        assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
    }
    let mut operation_ids = std::collections::HashSet::new();
    let mut staff = 0;
    for (path, operations) in doc["paths"].as_object().unwrap() {
        let templated: Vec<&str> = path
            .split('{')
            .skip(1)
            .map(|rest| rest.split('}').next().unwrap())
            .collect();
        for (method, op) in operations.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap();
            assert!(operation_ids.insert(id.to_owned()), "{id} twice");
            let tags = op["tags"].as_array().expect("every operation is tagged");
            let declared: Vec<&str> = op["parameters"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .filter(|p| p["in"] == "path")
                        .map(|p| p["name"].as_str().unwrap())
                        .collect()
                })
                .unwrap_or_default();
            assert_eq!(declared, templated, "{method} {path}: path parameters");
            for (status, response) in op["responses"].as_object().unwrap() {
                assert!(status.parse::<u16>().is_ok(), "{path} {status}");
                assert!(
                    response["description"].is_string(),
                    "{method} {path} {status}"
                );
            }
            if tags.contains(&json!("staff")) {
                staff += 1;
                assert_eq!(op["security"], json!([{"apiToken": []}]), "{path}");
                assert!(
                    op["responses"]["401"].is_object(),
                    "{method} {path} documents 401"
                );
                // Without a token, every staff operation answers 401, as documented.
                let method: reqwest::Method = method.to_uppercase().parse().unwrap();
                let concrete = path
                    .replace("{reference}", "ES-0000-0000")
                    .replace("{promise}", "1")
                    .replace("{id}", "att_x");
                let response = app
                    .client
                    .request(method, format!("{}{concrete}", app.address))
                    .json(&json!({}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 401, "{path}");
            }
        }
    }
    assert_eq!(staff, 12);
    // The enums are the server's own.
    let view = &doc["paths"]["/api/v1/entries"]["get"]["parameters"][0];
    assert_eq!(
        view["schema"]["enum"],
        json!(["waiting", "open", "all", "spam", ""])
    );
}

/// The OpenAPI Initiative's JSON Schema for OpenAPI 3.1 documents (as
/// shipped by @seriousme/openapi-schema-validator 2.11.0, MIT).
const OPENAPI_31_SCHEMA: &str = include_str!("schemas/openapi-3.1.json");

#[tokio::test]
async fn the_openapi_document_validates_against_the_openapi_3_1_schema() {
    let (app, _clock) = console_app().await;
    let doc = openapi(&app).await;
    let schema: Value = serde_json::from_str(OPENAPI_31_SCHEMA).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // The check is real: a document missing its info is refused.
    let mut broken = doc.clone();
    broken.as_object_mut().unwrap().remove("info");
    assert!(!validator.is_valid(&broken));
}

#[tokio::test]
async fn every_operation_in_the_openapi_document_is_routed() {
    let app = spawn_app().await;
    let doc = openapi(&app).await;
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.contains_key("/api/v1/feedback"));
    for (path, operations) in paths {
        for method in operations.as_object().unwrap().keys() {
            let method: reqwest::Method = method.to_uppercase().parse().unwrap();
            let response = app
                .client
                .request(method.clone(), format!("{}{path}", app.address))
                .header("content-type", "application/json")
                .body("{}")
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            // A templated path reaches its handler, which answers 404 with
            // its own code for an unknown id; unrouted paths say not_found.
            let code = response
                .json::<Value>()
                .await
                .ok()
                .and_then(|b| b["error"]["code"].as_str().map(str::to_owned))
                .unwrap_or_default();
            assert!(
                status != 405 && (status != 404 || (path.contains('{') && code != "not_found")),
                "{method} {path} is not routed ({status} {code})"
            );
        }
    }
}

#[tokio::test]
async fn the_openapi_document_matches_the_validation_rules() {
    let app = spawn_app().await;
    let doc = openapi(&app).await;
    let schema = &doc["components"]["schemas"]["FeedbackRequest"];
    let kinds: Vec<&str> = schema["properties"]["kind"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["complaint", "expectation", "idea", "praise", "question"]
    );
    assert_eq!(schema["properties"]["message"]["maxLength"], 5000);

    // The documented example, with a real site key, is accepted.
    let post = &doc["paths"]["/api/v1/feedback"]["post"];
    let mut example = post["requestBody"]["content"]["application/json"]["example"].clone();
    example["site"] = app.site_key.clone().into();
    let response = app.post_json(&example, None).await;
    assert_eq!(response.status().as_u16(), 201);
    assert!(post["responses"].get("201").is_some());

    // Every documented property is one the server accepts: sending an unknown
    // one is refused, so these must all parse.
    for name in schema["properties"].as_object().unwrap().keys() {
        let mut body = app.valid_body();
        if body.get(name).is_none() {
            body[name] = match name.as_str() {
                "fill_ms" => 5_000.into(),
                "severity" => "blocking".into(),
                "idempotency_key" => "documented-key-0001-abcdef".into(),
                "context" => json!({"plan": "pro"}),
                _ => "".into(),
            };
        }
        let status = app.post_json(&body, None).await.status().as_u16();
        assert!(status == 201 || status == 200, "{name}: {status}");
    }
}
