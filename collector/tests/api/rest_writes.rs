//! The staff REST API's actions: what a tool sends is read strictly (JSON
//! objects, text counted as sent, required fields required) and a change
//! made from a reading a colleague has overtaken is refused.

use serde_json::{Value, json};

use crate::helpers::error_of;
use crate::rest::{Api, reference_of, token_for};
use crate::staff::{complaint, console_app, signed_in};

#[tokio::test]
async fn a_status_move_naming_the_status_it_read_is_refused_once_the_entry_moved() {
    let (app, _clock) = console_app().await;
    let reference = reference_of(&app, complaint(&app, "The discount code failed")).await;
    let api = Api {
        app: &app,
        token: token_for(&app, "bo@example.com", "write", None).await,
    };
    let path = format!("/api/v1/entries/{reference}/status");
    let moved = api
        .post(&path, json!({"status": "wont_fix", "from": "new"}))
        .await;
    assert_eq!(moved.status(), 200);
    let stale = api
        .post(&path, json!({"status": "resolved", "from": "new"}))
        .await;
    assert_eq!(error_of(stale, 409).await.0, "changed");
    let bad = api
        .post(&path, json!({"status": "resolved", "from": "closed"}))
        .await;
    assert_eq!(error_of(bad, 422).await.1.as_deref(), Some("from"));
    // Without `from`, as before: the move is judged on the entry as it is.
    let reopened = api.post(&path, json!({"status": "in_progress"})).await;
    assert_eq!(reopened.status(), 200);
}

#[tokio::test]
async fn an_assignment_naming_whom_it_read_is_refused_once_a_colleague_took_the_entry() {
    let (app, _clock) = console_app().await;
    let reference = reference_of(&app, complaint(&app, "Parcel never came")).await;
    let bo = Api {
        app: &app,
        token: token_for(&app, "bo@example.com", "write", None).await,
    };
    let path = format!("/api/v1/entries/{reference}/assign");
    // Ada takes it, by email, having read it assigned to nobody.
    let taken = bo
        .post(&path, json!({"assignee": "ada@example.com", "from": null}))
        .await;
    assert_eq!(taken.status(), 200);
    let ada_id = taken.json::<Value>().await.unwrap()["assignee_id"].clone();
    assert!(ada_id.is_i64(), "{ada_id}");
    // A tool that still has "nobody" does not take it from her.
    let stale = bo
        .post(&path, json!({"assignee": "me", "from": null}))
        .await;
    let (code, field) = error_of(stale, 409).await;
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("changed", Some("assignee"))
    );
    // Naming whom it read now, by id or email, it may; an id written
    // `3.0` is an integer to JSON Schema, and so here.
    let as_float = json!(ada_id.as_f64().unwrap());
    assert!(as_float.to_string().ends_with(".0"), "{as_float}");
    let moved = bo
        .post(&path, json!({"assignee": "me", "from": as_float}))
        .await;
    assert_eq!(moved.status(), 200);
    let mine = moved.json::<Value>().await.unwrap();
    assert_eq!(mine["assignee"], "Bo");
    let back = bo
        .post(&path, json!({"assignee": null, "from": "bo@example.com"}))
        .await;
    assert_eq!(back.status(), 200);
    // Nobody has these: not "changed since", which would send a tool
    // back to read the entry again for nothing.
    for from in [
        json!("nobody@example.com"),
        json!(0),
        json!(-3),
        json!(99_999),
    ] {
        let bad = bo
            .post(&path, json!({"assignee": null, "from": from}))
            .await;
        assert_eq!(
            error_of(bad, 422).await.1.as_deref(),
            Some("from"),
            "{from}"
        );
    }
    for nobody in [json!(0), json!(99_999)] {
        let bad = bo.post(&path, json!({"assignee": nobody})).await;
        assert_eq!(
            error_of(bad, 422).await,
            ("unknown_colleague".to_owned(), Some("assignee".to_owned())),
            "{nobody}"
        );
    }
    // Without `from`, as before: judged on the entry as it is.
    let unsaid = bo.post(&path, json!({"assignee": "me"})).await;
    assert_eq!(unsaid.status(), 200);
    // `assignee` itself is required: only an explicit null unassigns.
    for body in [json!({}), json!({"from": "me"})] {
        let (code, field) = error_of(bo.post(&path, body).await, 422).await;
        assert_eq!(
            (code.as_str(), field.as_deref()),
            ("required", Some("assignee"))
        );
    }
    let still: Value = bo
        .get(&format!("/api/v1/entries/{reference}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(still["assignee"], "Bo");
}

#[tokio::test]
async fn a_body_given_as_an_array_of_its_fields_is_refused_not_read_in_order() {
    let (app, _clock) = console_app().await;
    let reference = reference_of(&app, complaint(&app, "Refund never arrived")).await;
    let api = Api {
        app: &app,
        token: token_for(&app, "bo@example.com", "write", None).await,
    };
    let entry = format!("/api/v1/entries/{reference}");
    for (action, body) in [
        ("status", json!(["resolved"])),
        ("assign", json!([null, null])),
        ("assign", json!(["me"])),
        ("notes", json!(["Called them"])),
        ("replies", json!(["Sorry about that"])),
        ("promises/1/settle", json!(["kept"])),
    ] {
        let response = api.post(&format!("{entry}/{action}"), body.clone()).await;
        let (code, field) = error_of(response, 422).await;
        assert_eq!(
            (code.as_str(), field),
            ("invalid_type", None),
            "{action} {body}"
        );
    }
    // Nor a nested object: the promise is `{"text", "due"}`.
    let response = api
        .post(
            &format!("{entry}/replies"),
            json!({"body": "We will refund you", "promise": ["Refund", "2099-01-01"]}),
        )
        .await;
    let (code, field) = error_of(response, 422).await;
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("invalid_type", Some("promise"))
    );
    // Nothing was done in their name.
    let detail = api.json(&entry).await;
    assert_eq!(detail["status"], "new");
    assert_eq!(detail["notes"], json!([]));
    assert_eq!(detail["replies"], json!([]));
    assert_eq!(detail["assignee"], Value::Null);
}

#[tokio::test]
async fn text_is_counted_as_sent_as_the_documents_max_length_counts_it() {
    let (app, _clock) = console_app().await;
    let reference = reference_of(&app, complaint(&app, "Checkout froze")).await;
    let api = Api {
        app: &app,
        token: token_for(&app, "bo@example.com", "write", None).await,
    };
    let entry = format!("/api/v1/entries/{reference}");
    // 10,000 characters with a space after them: within the limit once
    // trimmed, over it as sent.
    let padded = format!("{} ", "a".repeat(10_000));
    let response = api
        .post(&format!("{entry}/notes"), json!({"body": padded}))
        .await;
    assert_eq!(error_of(response, 422).await.1.as_deref(), Some("body"));
    let promise = json!({"text": format!("{}\n", "b".repeat(300)), "due": "2099-01-01"});
    let response = api
        .post(
            &format!("{entry}/replies"),
            json!({"body": "On it", "promise": promise}),
        )
        .await;
    assert_eq!(
        error_of(response, 422).await.1.as_deref(),
        Some("promise.text")
    );
    // Exactly at the limit, as sent: kept, trimmed of nothing.
    let response = api
        .post(
            &format!("{entry}/notes"),
            json!({"body": "a".repeat(10_000)}),
        )
        .await;
    assert_eq!(response.status(), 201);
    assert_eq!(api.json(&entry).await["replies"], json!([]));
}

#[tokio::test]
async fn work_left_with_a_disabled_colleague_can_be_taken_back_but_none_is_given_to_them() {
    let (app, _clock) = console_app().await;
    let reference = reference_of(&app, complaint(&app, "Refund still missing")).await;
    let path = format!("/api/v1/entries/{reference}/assign");
    let bo = Api {
        app: &app,
        token: token_for(&app, "bo@example.com", "write", None).await,
    };
    let ada = Api {
        app: &app,
        token: token_for(&app, "ada@example.com", "write", None).await,
    };
    let taken = bo.post(&path, json!({"assignee": "me"})).await;
    let bo_id = taken.json::<Value>().await.unwrap()["assignee_id"]
        .as_i64()
        .unwrap();
    let admin = signed_in(&app, "ada@example.com").await;
    let disabled = admin
        .act(&format!("/console/staff/{bo_id}/disable"), &[])
        .await;
    assert_eq!(disabled.status(), 303);

    // Kept with him as it is: no change, no refusal.
    let kept = ada
        .post(&path, json!({"assignee": bo_id, "from": bo_id}))
        .await;
    assert_eq!(kept.status(), 200);
    let other = reference_of(&app, complaint(&app, "Second parcel")).await;
    let other = format!("/api/v1/entries/{other}/assign");
    for named in [json!(bo_id), json!("bo@example.com")] {
        let refused = ada.post(&other, json!({"assignee": named})).await;
        let body = refused.text().await.unwrap();
        let error: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(error["error"]["code"], "unknown_colleague", "{body}");
        assert!(
            error["error"]["message"]
                .as_str()
                .unwrap()
                .contains("a disabled account takes no new work"),
            "{body}"
        );
    }
    // She read it as Bo's, by id and by email, and that is still so.
    let back = ada
        .post(&path, json!({"assignee": "me", "from": bo_id}))
        .await;
    assert_eq!(back.status(), 200);
    let again = ada
        .post(&path, json!({"assignee": null, "from": "ada@example.com"}))
        .await;
    assert_eq!(again.status(), 200);
}
