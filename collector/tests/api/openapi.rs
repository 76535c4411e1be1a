//! `/api/openapi.json`: the routes as they are, and a valid OpenAPI 3.1
//! document.

use serde_json::{Value, json};

use crate::helpers::TestApp;
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
    assert_eq!(staff, 11);
    // The enums are the server's own.
    let view = &doc["paths"]["/api/v1/entries"]["get"]["parameters"][0];
    assert_eq!(
        view["schema"]["enum"],
        json!(["waiting", "all", "spam", ""])
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
