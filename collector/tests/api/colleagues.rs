//! Acting on entries alongside colleagues: a change made from a page a
//! colleague has overtaken since, bulk actions on many entries at once,
//! and colleagues who share a name.

use earshot_collector::store::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::rest::{Api, reference_of, token_for};
use crate::staff::{between, complaint, console_app, location, signed_in, submit, user_id};

/// Two colleagues called Ada (Bo renamed himself): each is named with
/// their email wherever the console names them, taking an entry on
/// yourself reads as such, and the API tells them apart by id.
#[tokio::test]
async fn colleagues_who_share_a_name_are_told_apart_on_the_timeline_lists_and_api() {
    let (app, _) = console_app().await;
    let reference = reference_of(&app, complaint(&app, "The voucher expired early")).await;
    let (ada_id, bo_id) = (
        user_id(&app, "ada@example.com"),
        user_id(&app, "bo@example.com"),
    );
    app.running
        .store
        .rename_user(bo_id, "Ada".into(), Some(bo_id), 0)
        .await
        .unwrap();
    let api = Api {
        app: &app,
        token: token_for(&app, "ada@example.com", "write", None).await,
    };
    let assign = async |to: &str| {
        let response = api
            .post(
                &format!("/api/v1/entries/{reference}/assign"),
                json!({ "assignee": to }),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
    };
    assign("me").await;
    assign("bo@example.com").await;
    let replied = api
        .post(
            &format!("/api/v1/entries/{reference}/replies"),
            json!({"body": "A new voucher is on its way", "promise": {"text": "A voucher", "due": "2026-11-27"}}),
        )
        .await;
    assert_eq!(replied.status(), StatusCode::CREATED);

    let detail = api.json(&format!("/api/v1/entries/{reference}")).await;
    let moves: Vec<_> = detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "assign")
        .map(|e| {
            (
                e["by_id"].clone(),
                e["from_id"].clone(),
                e["to_id"].clone(),
                e["to"].clone(),
            )
        })
        .collect();
    assert_eq!(
        moves,
        [
            (json!(ada_id), json!(null), json!(ada_id), json!("Ada")),
            (json!(ada_id), json!(ada_id), json!(bo_id), json!("Ada")),
        ]
    );
    let reply = &detail["replies"][0];
    assert_eq!(
        (&reply["by"], &reply["by_id"]),
        (&json!("Ada"), &json!(ada_id))
    );
    let promise = &detail["promises"][0];
    assert_eq!(
        (&promise["made_by"], &promise["made_by_id"]),
        (&json!("Ada"), &json!(ada_id))
    );

    let ada = signed_in(&app, "ada@example.com").await;
    let id = app
        .db()
        .query_row("SELECT public_id FROM entries", [], |r| {
            r.get::<_, String>(0)
        })
        .unwrap();
    let page = ada.html(&format!("/console/entries/{id}")).await;
    let timeline = between(&page, "id=\"timeline\"", "</ol>");
    assert!(
        timeline.contains("<strong>Ada (ada@example.com)</strong> took this on"),
        "{timeline}"
    );
    assert!(
        timeline.contains(
            "<strong>Ada (ada@example.com)</strong> assigned this to <strong>Ada (bo@example.com)</strong>"
        ),
        "{timeline}"
    );
    let assign_form = between(&page, "/assign\"", "</form>");
    for (id, email) in [(ada_id, "ada@example.com"), (bo_id, "bo@example.com")] {
        assert!(
            assign_form.contains(&format!(">Ada ({email})</option>"))
                && assign_form.contains(&format!("value=\"{id}\"")),
            "{assign_form}"
        );
    }

    let inbox = ada.html("/console?view=all").await;
    assert!(inbox.contains("Assign to Ada (bo@example.com)"), "{inbox}");
    let row = between(&inbox, "data-label=\"Assignee:\"", "</td>");
    assert!(row.contains("Ada (bo@example.com)"), "{row}");
    let filter = between(&inbox, "name=\"assignee\"", "</select>");
    assert!(
        filter.contains(">Ada (ada@example.com)</option>"),
        "{filter}"
    );
    let promises = ada.html("/console/promises").await;
    let open = between(&promises, "A voucher", "</tr>");
    assert!(open.contains("Ada (ada@example.com)"), "{open}");
}

/// Two administrators called Ada: whoever takes a name a colleague bears
/// is told how the console tells them apart, and the Staff page marks both
/// and says which of them made each invitation and password reset link.
#[tokio::test]
async fn the_staff_page_tells_apart_two_administrators_who_share_a_name() {
    let (app, _) = console_app().await;
    let (ada_id, bo_id) = (
        user_id(&app, "ada@example.com"),
        user_id(&app, "bo@example.com"),
    );
    app.running
        .store
        .set_role(bo_id, Role::Admin, Some(ada_id), 0)
        .await
        .unwrap();
    let (ada, bo) = (
        signed_in(&app, "ada@example.com").await,
        signed_in(&app, "bo@example.com").await,
    );
    let notice = async |name: &str| {
        let renamed = bo.act("/console/account/name", &[("name", name)]).await;
        assert_eq!(renamed.status(), StatusCode::SEE_OTHER);
        let page = bo.html("/console/account?done=name").await;
        between(&page, "role=\"status\"", "</p>").to_owned()
    };
    let unique = notice("Bo Jensen").await;
    assert!(!unique.contains("called that too"), "{unique}");
    // Compared without case or accents, as the staff list sorts names.
    let shared = notice("ADA").await;
    assert!(shared.contains("called that too"), "{shared}");
    let renamed = bo.act("/console/account/name", &[("name", "Ada")]).await;
    assert_eq!(renamed.status(), StatusCode::SEE_OTHER);
    let invited = bo
        .act(
            "/console/staff/invite",
            &[("email", "cy@example.com"), ("role", "agent")],
        )
        .await;
    assert_eq!(invited.status(), StatusCode::OK);
    let reset = ada.act(&format!("/console/staff/{bo_id}/reset"), &[]).await;
    assert_eq!(reset.status(), StatusCode::OK);

    let page = ada.html("/console/staff").await;
    assert_eq!(
        page.matches("Another colleague has this name too").count(),
        2,
        "{page}"
    );
    let invitation = between(&page, "cy@example.com as agent", "</li>");
    assert!(
        invitation.contains(" by Ada (bo@example.com), valid"),
        "{invitation}"
    );
    let link = between(&page, "Password reset link out", "valid for");
    assert!(link.contains("(made by Ada (ada@example.com))"), "{link}");
    let audit = ada.html("/console/audit?area=staff").await;
    for who in ["Ada (ada@example.com)", "Ada (bo@example.com)"] {
        assert!(audit.contains(&format!("<td>{who}</td>")), "{audit}");
    }
}

#[tokio::test]
async fn a_status_change_made_on_a_stale_page_does_not_undo_a_colleagues_move() {
    let (app, _) = console_app().await;
    let (id, _) = submit(&app, complaint(&app, "Broken link")).await;
    let (ada, bo) = (
        signed_in(&app, "ada@example.com").await,
        signed_in(&app, "bo@example.com").await,
    );
    let path = format!("/console/entries/{id}/status");
    // Ada opens the entry while it is new; Bo closes it meanwhile.
    let page = ada.html(&format!("/console/entries/{id}")).await;
    let seen = between(&page, r#"name="seen" value=""#, "\"").to_owned();
    assert_eq!(seen, "new");
    let closed = bo
        .act(&path, &[("status", "wont_fix"), ("seen", "new")])
        .await;
    assert_eq!(closed.status(), StatusCode::SEE_OTHER);

    let stale = ada
        .act(&path, &[("status", "resolved"), ("seen", &seen)])
        .await;
    assert_eq!(stale.status(), StatusCode::CONFLICT);
    let said = stale.text().await.unwrap();
    assert!(
        said.contains("moved the entry to won") && said.contains("look at it again"),
        "{said}"
    );
    let status = || -> String {
        app.db()
            .query_row("SELECT status FROM entries", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(status(), "wont_fix", "Bo's move stands");

    // Looking again, Ada sees it closed and may reopen it.
    let page = ada.html(&format!("/console/entries/{id}")).await;
    let seen = between(&page, r#"name="seen" value=""#, "\"").to_owned();
    let reopened = ada
        .act(&path, &[("status", "in_progress"), ("seen", &seen)])
        .await;
    assert_eq!(reopened.status(), StatusCode::SEE_OTHER);
    assert_eq!(status(), "in_progress");
    let junk = ada
        .act(&path, &[("status", "resolved"), ("seen", "closed")])
        .await;
    assert_eq!(junk.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn an_assignment_made_on_a_stale_page_does_not_take_the_entry_from_a_colleague() {
    let (app, _) = console_app().await;
    let (id, _) = submit(&app, complaint(&app, "Broken link")).await;
    let (ada, bo) = (
        signed_in(&app, "ada@example.com").await,
        signed_in(&app, "bo@example.com").await,
    );
    let (ada_id, bo_id) = (
        user_id(&app, "ada@example.com").to_string(),
        user_id(&app, "bo@example.com").to_string(),
    );
    let path = format!("/console/entries/{id}/assign");
    let seen_on = async |console: &crate::staff::Console| -> String {
        let page = console.html(&format!("/console/entries/{id}")).await;
        let form = between(&page, "/assign\"", "</form>").to_owned();
        between(&form, r#"name="seen" value=""#, "\"").to_owned()
    };
    // Ada opens the entry while nobody has it; Bo takes it meanwhile.
    let seen = seen_on(&ada).await;
    assert_eq!(seen, "none");
    let taken = bo
        .act(
            &path,
            &[("assignee", &bo_id), ("seen", &seen_on(&bo).await)],
        )
        .await;
    assert_eq!(taken.status(), StatusCode::SEE_OTHER);

    let stale = ada
        .act(&path, &[("assignee", &ada_id), ("seen", &seen)])
        .await;
    assert_eq!(stale.status(), StatusCode::CONFLICT);
    let said = stale.text().await.unwrap();
    assert!(
        said.contains("changed who the entry is assigned to"),
        "{said}"
    );
    let assignee = || -> Option<i64> {
        app.db()
            .query_row("SELECT assignee_id FROM entries", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(assignee().map(|a| a.to_string()), Some(bo_id.clone()));

    // Seen as Bo's now, it may be handed over; asking for what it already
    // is succeeds whatever the page showed.
    let seen = seen_on(&ada).await;
    assert_eq!(seen, bo_id);
    let handed = ada
        .act(&path, &[("assignee", &ada_id), ("seen", &seen)])
        .await;
    assert_eq!(handed.status(), StatusCode::SEE_OTHER);
    let again = bo
        .act(&path, &[("assignee", &ada_id), ("seen", "none")])
        .await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    assert_eq!(assignee().map(|a| a.to_string()), Some(ada_id));
}

#[tokio::test]
async fn bulk_actions_assign_and_mark_spam_and_skip_what_does_not_apply() {
    let (app, _) = console_app().await;
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(submit(&app, complaint(&app, &format!("Bulk {i}"))).await.0);
    }
    let console = signed_in(&app, "bo@example.com").await;
    let token = console.csrf().await;
    let mut form = vec![
        ("_csrf", token.as_str()),
        ("action", "assign:me"),
        ("back", "view=all"),
    ];
    for id in &ids {
        form.push(("ids", id));
    }
    let response = console.post("/console/bulk", &form).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&response),
        "/console?view=all&changed=3&skipped=0&stale=0"
    );
    let mine = console.html("/console?view=all&assignee=me").await;
    assert!(ids.iter().all(|id| mine.contains(id.as_str())));

    form[1] = ("action", "status:spam");
    form.push(("ids", "e_00000000000000000000000"));
    let response = console.post("/console/bulk", &form).await;
    assert!(location(&response).ends_with("changed=3&skipped=1&stale=0"));
    let waiting = console.html("/console").await;
    assert!(ids.iter().all(|id| !waiting.contains(id.as_str())));
    let spam = console.html("/console?view=spam").await;
    assert!(ids.iter().all(|id| spam.contains(id.as_str())));
    let bo = Some("bo@example.com".to_owned());
    assert_eq!(
        crate::helpers::audit_rows(&app),
        [
            (
                "entries.bulk_assign",
                "to=bo@example.com,skipped=0,stale=0".to_owned()
            ),
            (
                "entries.bulk_status",
                "to=spam,skipped=1,stale=0".to_owned()
            ),
        ]
        .map(|(action, detail)| (
            action.to_owned(),
            bo.clone(),
            "3 entries".to_owned(),
            Some(detail)
        ))
    );
}

#[tokio::test]
async fn a_bulk_action_leaves_entries_a_colleague_changed_after_the_inbox_was_shown() {
    let (app, _) = console_app().await;
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(submit(&app, complaint(&app, &format!("Stale {i}"))).await.0);
    }
    let bo = signed_in(&app, "bo@example.com").await;
    let page = bo.html("/console").await;
    // What Bo's page showed of each row, as the browser would send it.
    let values: Vec<String> = ids
        .iter()
        .map(|id| {
            let start = format!(r#"name="ids" value="{id}"#);
            format!("{id}{}", between(&page, &start, "\""))
        })
        .collect();
    assert!(
        values.iter().all(|v| v.ends_with(":new:none")),
        "{values:?}"
    );

    // Meanwhile Ada resolves the first and takes the second.
    let ada = signed_in(&app, "ada@example.com").await;
    let response = ada
        .act(
            &format!("/console/entries/{}/status", ids[0]),
            &[("status", "resolved")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let ada_id: i64 = app
        .db()
        .query_row(
            "SELECT id FROM users WHERE email = 'ada@example.com'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let response = ada
        .act(
            &format!("/console/entries/{}/assign", ids[1]),
            &[("assignee", &ada_id.to_string())],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    let token = bo.csrf().await;
    let mut form = vec![("_csrf", token.as_str()), ("action", "status:spam")];
    form.extend(values.iter().map(|v| ("ids", v.as_str())));
    let response = bo.post("/console/bulk", &form).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let back = location(&response);
    assert!(back.ends_with("changed=2&skipped=0&stale=1"), "{back}");
    let notice = bo.html(&back).await;
    assert!(
        notice.contains(
            "Changed 2 entries; 1 left alone: a colleague changed it after this page was shown."
        ),
        "{notice}"
    );
    let status = |id: &str| -> String {
        app.db()
            .query_row(
                "SELECT status FROM entries WHERE public_id = ?1",
                [id],
                |r| r.get(0),
            )
            .unwrap()
    };
    let statuses: Vec<String> = ids.iter().map(|id| status(id)).collect();
    assert_eq!(
        statuses,
        ["resolved", "spam", "spam"],
        "Ada's resolution stands"
    );

    form[1] = ("action", "assign:me");
    let response = bo.post("/console/bulk", &form).await;
    assert!(location(&response).ends_with("changed=2&skipped=0&stale=1"));
    let assignee = |id: &str| -> String {
        app.db()
            .query_row(
                "SELECT u.email FROM entries e JOIN users u ON u.id = e.assignee_id
                 WHERE e.public_id = ?1",
                [id],
                |r| r.get(0),
            )
            .unwrap()
    };
    let assignees: Vec<String> = ids.iter().map(|id| assignee(id)).collect();
    assert_eq!(
        assignees,
        ["bo@example.com", "ada@example.com", "bo@example.com"],
        "Ada keeps what she took"
    );
}

#[tokio::test]
async fn a_bulk_action_refuses_a_selection_it_cannot_read() {
    let (app, _) = console_app().await;
    let id = submit(&app, complaint(&app, "Unreadable")).await.0;
    let console = signed_in(&app, "bo@example.com").await;
    let token = console.csrf().await;
    let value = format!("{id}:closed:none");
    let form = [
        ("_csrf", token.as_str()),
        ("action", "status:spam"),
        ("ids", value.as_str()),
    ];
    let response = console.post("/console/bulk", &form).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.unwrap();
    assert!(page.contains("The selection could not be read"), "{page}");
    assert!(
        console.html("/console").await.contains(id.as_str()),
        "nothing changed"
    );
}
