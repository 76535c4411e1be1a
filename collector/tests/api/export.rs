//! Exports over the API and from the console: every entry once, in
//! CSV a spreadsheet can open safely, and in NDJSON.

use serde_json::{Value, json};

use crate::rest::{Api, reference_of, token_for};
use crate::staff::{between, complaint, console_app, signed_in, submit, user_id};

/// What a spreadsheet would run, and what breaks naive CSV.
const HOSTILE: [&str; 9] = [
    "=HYPERLINK(\"http://evil.example\",\"click\")",
    "+41 79 000 00 00",
    "-2+3",
    "@SUM(A1:A9)",
    "\tindented",
    "\rreturn first",
    "two\nlines, \"quoted\" and, commas",
    "plain words",
    "Ünïcödé ✓ 日本語",
];

#[tokio::test]
async fn an_export_with_a_search_finds_just_submitted_entries_and_longer_words_in_every_chunk() {
    let (app, _clock) = console_app().await;
    // More than one export chunk (500 rows) matches, and nothing is in the
    // search index yet: the export must catch it up first.
    for i in 0..1_100 {
        let word = if i % 2 == 0 { "refunded" } else { "refund" };
        let body =
            json!({"site": app.site_key, "kind": "complaint", "message": format!("{word} {i}")});
        reference_of(&app, body).await;
    }
    reference_of(
        &app,
        json!({"site": app.site_key, "kind": "complaint", "message": "nothing to see"}),
    )
    .await;
    let api = Api {
        app: &app,
        token: token_for(&app, "bo@example.com", "read", None).await,
    };
    let response = api
        .get("/api/v1/entries/export.ndjson?view=all&q=refund")
        .await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let messages: Vec<String> = text
        .lines()
        .map(|line| {
            serde_json::from_str::<serde_json::Value>(line).unwrap()["message"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(messages.len(), 1_100, "every refund and refunded, once");
    assert_eq!(
        messages
            .iter()
            .filter(|m| m.starts_with("refunded "))
            .count(),
        550
    );
}

#[tokio::test]
async fn an_export_without_a_view_holds_answered_feedback_too_not_only_the_waiting() {
    let (app, _clock) = console_app().await;
    let mut references = Vec::new();
    for message in ["Answered already", "Still waiting"] {
        let body = json!({"site": app.site_key, "kind": "complaint", "message": message});
        references.push(reference_of(&app, body).await);
    }
    let api = Api {
        app: &app,
        token: token_for(&app, "bo@example.com", "write", None).await,
    };
    let replied = api
        .post(
            &format!("/api/v1/entries/{}/replies", references[0]),
            json!({"body": "Thanks, done"}),
        )
        .await;
    assert_eq!(replied.status(), 201);
    let rows = |text: String| {
        let mut found: Vec<String> = text
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap()["reference"].to_string())
            .collect();
        found.sort();
        found
    };
    let mut every: Vec<String> = references.iter().map(|r| format!("\"{r}\"")).collect();
    every.sort();
    for query in ["", "?view=", "?kind=complaint"] {
        let text = api
            .get(&format!("/api/v1/entries/export.ndjson{query}"))
            .await
            .text()
            .await
            .unwrap();
        assert_eq!(rows(text), every, "{query}");
    }
    let csv = api
        .get("/api/v1/entries/export.csv")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(csv.lines().count(), 3, "a header and both: {csv}");
    // The list keeps the inbox's default, and an export asked for the
    // waiting holds just those.
    let waiting = api.json("/api/v1/entries").await;
    assert_eq!(waiting["entries"].as_array().unwrap().len(), 1);
    let text = api
        .get("/api/v1/entries/export.ndjson?view=waiting")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(rows(text), [format!("\"{}\"", references[1])]);
}

#[tokio::test]
async fn csv_export_is_rfc_4180_and_defuses_formulas_for_a_real_csv_parser() {
    let (app, _clock) = console_app().await;
    for text in HOSTILE {
        let body = json!({
            "site": app.site_key, "kind": "expectation", "expected": text, "actual": "=1+1",
            "name": "@admin", "email": "ana@example.com",
        });
        reference_of(&app, body).await;
    }
    let api = Api {
        app: &app,
        token: token_for(&app, "bo@example.com", "read", None).await,
    };
    let response = api.get("/api/v1/entries/export.csv?view=all").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"earshot-")
    );
    let bytes = response.bytes().await.unwrap();
    assert!(
        !bytes.starts_with("\u{FEFF}".as_bytes()),
        "no BOM unless asked"
    );
    let mut reader = csv::Reader::from_reader(&bytes[..]);
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(header, earshot_collector::export::CSV_COLUMNS);
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), HOSTILE.len());
    let mut expected_cells: Vec<String> = rows
        .iter()
        .map(|r| r[column("expected")].to_owned())
        .collect();
    expected_cells.sort();
    // Ingest trims what customers send; a tab or return can only lead a
    // cell through other columns (unit-tested in `export`).
    let mut want: Vec<String> = HOSTILE
        .iter()
        .map(|t| t.trim())
        .map(|t| {
            if t.starts_with(['=', '+', '-', '@', '\t', '\r']) {
                format!("'{t}")
            } else {
                (*t).to_owned()
            }
        })
        .collect();
    want.sort();
    assert_eq!(expected_cells, want);
    for row in &rows {
        assert_eq!(&row[column("actual")], "'=1+1");
        assert_eq!(&row[column("name")], "'@admin");
        assert_eq!(&row[column("email")], "ana@example.com");
        assert_eq!(&row[column("kind")], "expectation");
        assert_eq!(&row[column("promises_open")], "0");
        assert!(row[column("console_url")].starts_with(&app.address));
    }

    let with_bom = api
        .get("/api/v1/entries/export.csv?view=all&bom=1")
        .await
        .bytes()
        .await
        .unwrap();
    assert!(with_bom.starts_with("\u{FEFF}reference,".as_bytes()));

    // NDJSON carries the text as it was written: it is data, not a sheet.
    let response = api.get("/api/v1/entries/export.ndjson?view=all").await;
    assert_eq!(response.headers()["content-type"], "application/x-ndjson");
    let text = response.text().await.unwrap();
    let mut expected: Vec<String> = text
        .lines()
        .map(|line| {
            serde_json::from_str::<Value>(line).unwrap()["expected"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    expected.sort();
    let mut original: Vec<String> = HOSTILE.iter().map(|t| t.trim().to_owned()).collect();
    original.sort();
    assert_eq!(expected, original);
}

#[tokio::test]
async fn the_console_exports_what_its_filters_show_with_times_and_promises() {
    let (app, clock) = console_app().await;
    let (public_id, _) = submit(&app, complaint(&app, "Slow checkout")).await;
    reference_of(
        &app,
        json!({"site": app.site_key, "kind": "idea", "message": "Dark mode"}),
    )
    .await;
    let bo = signed_in(&app, "bo@example.com").await;
    let inbox = bo.html("/console?view=all&kind=complaint").await;
    let link = between(&inbox, "href=\"/console/export.csv?", "\"").replace("&amp;", "&");
    assert_eq!(link, "view=all&kind=complaint");
    let bo_id = user_id(&app, "bo@example.com").to_string();
    let taken = bo
        .act(
            &format!("/console/entries/{public_id}/assign"),
            &[("assignee", &bo_id)],
        )
        .await;
    assert_eq!(taken.status(), 303);
    clock.advance(90_000);
    bo.act(
        &format!("/console/entries/{public_id}/reply"),
        &[
            ("body", "Looking"),
            ("promise_text", "Faster by Friday"),
            ("promise_due", "2026-11-27"),
        ],
    )
    .await;
    clock.advance(3_600_000);
    bo.act(
        &format!("/console/entries/{public_id}/status"),
        &[("status", "resolved")],
    )
    .await;
    let response = bo.get(&format!("/console/export.csv?{link}")).await;
    assert_eq!(response.status(), 200);
    let bytes = response.bytes().await.unwrap();
    let mut reader = csv::Reader::from_reader(&bytes[..]);
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1, "only complaints");
    let cell = |name: &str| rows[0][header.iter().position(|h| h == name).unwrap()].to_owned();
    assert_eq!(cell("message"), "Slow checkout");
    assert_eq!(cell("first_response_seconds"), "90");
    assert_eq!(cell("resolution_seconds"), "3690");
    assert_eq!(cell("promises_open"), "1");
    assert_eq!(cell("status"), "resolved");
    // Names are not unique: the assignee comes by account too.
    assert_eq!(cell("assignee"), "Bo");
    assert_eq!(cell("assignee_id"), bo_id);
    let ndjson = bo.get(&format!("/console/export.ndjson?{link}")).await;
    let line: Value = serde_json::from_str(ndjson.text().await.unwrap().trim()).unwrap();
    assert_eq!(
        (&line["assignee"], line["assignee_id"].to_string()),
        (&json!("Bo"), bo_id.clone())
    );
    // Signed out, the sign-in page instead.
    let anonymous = app
        .client
        .get(format!("{}/console/export.csv", app.address))
        .send()
        .await
        .unwrap();
    assert!(anonymous.url().path().starts_with("/console/login"));
    assert!(
        anonymous.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
}
