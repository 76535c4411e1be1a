//! The staff REST API's list filtered: the inbox's filters, several
//! values in one parameter, sites by key or id, one customer's feedback,
//! and parameters read strictly.

use std::collections::HashMap;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::error_of;
use crate::rest::{Api, reference_of, refs, token_for};
use crate::staff::{between, complaint, console_app, location, signed_in};

#[tokio::test]
async fn the_inbox_filters_apply_to_the_api() {
    let (app, _clock) = console_app().await;
    reference_of(&app, complaint(&app, "The discount code failed")).await;
    let idea = reference_of(
        &app,
        json!({"site": app.site_key, "kind": "idea", "message": "Dark mode please"}),
    )
    .await;
    let api = Api {
        app: &app,
        token: token_for(&app, "bo@example.com", "read", None).await,
    };
    assert_eq!(
        refs(&api.json("/api/v1/entries?view=all&kind=idea").await),
        std::slice::from_ref(&idea)
    );
    assert_eq!(
        refs(&api.json("/api/v1/entries?view=all&q=dark").await),
        std::slice::from_ref(&idea)
    );
    let by_key = api
        .json(&format!("/api/v1/entries?view=all&site={}", app.site_key))
        .await;
    assert_eq!(refs(&by_key).len(), 2);
    // Tools filter by key, so entries name it beside the site's name.
    for entry in by_key["entries"].as_array().unwrap() {
        assert_eq!(entry["site_key"], app.site_key.as_str());
    }
    let detail = api.json(&format!("/api/v1/entries/{idea}")).await;
    assert_eq!(detail["site_key"], app.site_key.as_str());
    assert_eq!(refs(&api.json("/api/v1/entries?view=spam").await).len(), 0);
    for (query, field) in [
        ("kind=rant", "kind"),
        ("view=trash", "view"),
        ("from=yesterday", "from"),
        ("site=site_nope", "site"),
        ("site=99999", "site"),
        // The console's page parameter: the API pages with `cursor`.
        ("after=3", "query"),
    ] {
        let response = api.get(&format!("/api/v1/entries?{query}")).await;
        assert_eq!(
            error_of(response, 422).await.1.as_deref(),
            Some(field),
            "{query}"
        );
    }
}

#[tokio::test]
async fn several_kinds_statuses_or_severities_are_given_as_one_parameter_separated_by_commas() {
    let (app, _clock) = console_app().await;
    let coupon = reference_of(&app, complaint(&app, "The discount code failed")).await;
    let idea = reference_of(
        &app,
        json!({"site": app.site_key, "kind": "idea", "message": "Dark mode please"}),
    )
    .await;
    let praise = reference_of(
        &app,
        json!({"site": app.site_key, "kind": "praise", "message": "Lovely shop"}),
    )
    .await;
    let spam = reference_of(&app, complaint(&app, "Cheap watches here")).await;
    let api = Api {
        app: &app,
        token: token_for(&app, "bo@example.com", "write", None).await,
    };
    let marked = api
        .post(
            &format!("/api/v1/entries/{spam}/status"),
            json!({"status": "spam"}),
        )
        .await;
    assert_eq!(marked.status(), StatusCode::OK);

    let listed = async |query: &str| refs(&api.json(&format!("/api/v1/entries?{query}")).await);
    assert_eq!(
        listed("view=all&kind=complaint,idea").await,
        [idea.clone(), coupon.clone()]
    );
    assert_eq!(
        listed("view=all&kind=idea,praise,idea").await,
        [praise.clone(), idea.clone()]
    );
    // Spam shows in "all" only when its status is named.
    assert_eq!(
        listed("view=all&status=new,spam&kind=complaint").await,
        [spam.clone(), coupon.clone()]
    );
    assert_eq!(
        listed("view=all&status=new&kind=complaint").await,
        std::slice::from_ref(&coupon)
    );
    assert_eq!(
        listed("view=all&kind=complaint,praise&q=shop").await,
        std::slice::from_ref(&praise)
    );
    let export = api
        .get("/api/v1/entries/export.ndjson?view=all&kind=praise,idea")
        .await;
    assert_eq!(export.status(), 200);
    let exported: Vec<String> = export
        .text()
        .await
        .unwrap()
        .lines()
        .map(|line| {
            serde_json::from_str::<Value>(line).unwrap()["reference"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(exported, [praise.clone(), idea.clone()]);

    // One value not taken refuses the whole; the parameter given twice is
    // refused with the way to give several.
    for (query, field, said) in [
        (
            "kind=idea,rant",
            "kind",
            "several of these separated by commas",
        ),
        (
            "status=new,",
            "status",
            "several of these separated by commas",
        ),
        (
            "severity=minor;blocking",
            "severity",
            "several of these separated by commas",
        ),
        ("kind=idea&kind=praise", "query", "separated by commas"),
    ] {
        let response = api.get(&format!("/api/v1/entries?{query}")).await;
        assert_eq!(response.status(), 422, "{query}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["field"], field, "{query}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(said), "{query}: {message}");
    }

    // The console lists the same, and its form shows the list it applied.
    let console = signed_in(&app, "ada@example.com").await;
    let inbox = console.html("/console?view=all&kind=complaint,idea").await;
    assert!(inbox.contains(&coupon) && inbox.contains(&idea), "{inbox}");
    assert!(!inbox.contains(&praise), "{inbox}");
    assert!(
        inbox.contains(r#"<option value="complaint,idea" selected>Complaint or Idea</option>"#),
        "{inbox}"
    );
}

#[tokio::test]
async fn several_sites_are_named_by_key_or_id_separated_by_commas() {
    let (app, _clock) = console_app().await;
    let admin = signed_in(&app, "ada@example.com").await;
    let mut sites = Vec::new();
    for (name, origin) in [
        ("Blog", "https://blog.example"),
        ("Help", "https://help.example"),
    ] {
        let added = admin
            .act("/console/sites", &[("name", name), ("origins", origin)])
            .await;
        assert_eq!(added.status(), StatusCode::SEE_OTHER);
        let path = location(&added);
        let id = between(&path, "/console/sites/", "?").to_owned();
        let key = between(&admin.html(&path).await, "Key <code>", "<").to_owned();
        let body = json!({"site": key, "kind": "idea", "message": format!("More on the {name}")});
        let sent = app.post_json(&body, Some(origin)).await;
        assert_eq!(sent.status(), StatusCode::CREATED);
        let sent: Value = sent.json().await.unwrap();
        sites.push((id, key, sent["reference"].as_str().unwrap().to_owned()));
    }
    let [(blog_id, blog_key, on_blog), (help_id, help_key, on_help)] = &sites[..] else {
        unreachable!()
    };
    let on_shop = reference_of(&app, complaint(&app, "The discount code failed")).await;
    let api = Api {
        app: &app,
        token: token_for(&app, "bo@example.com", "read", None).await,
    };
    let listed = async |site: &str| {
        refs(
            &api.json(&format!("/api/v1/entries?view=all&site={site}"))
                .await,
        )
    };
    let shop = &app.site_key;
    assert_eq!(
        listed(&format!("{shop},{help_key}")).await,
        [on_shop.clone(), on_help.clone()]
    );
    // Ids and keys mix, and a site named twice counts once.
    assert_eq!(
        listed(&format!("{blog_id},{help_key},{help_id}")).await,
        [on_help.clone(), on_blog.clone()]
    );
    assert_eq!(listed(blog_key).await, std::slice::from_ref(on_blog));

    // Each one must be a site: the answer says which was not.
    for (site, said) in [
        (
            format!("{shop},site_nope"),
            "no site has the key \"site_nope\"",
        ),
        (format!("99999,{shop}"), "no site has the id 99999"),
        (format!("{shop},"), "no site has this key"),
        (format!("{shop},<b>x</b>"), "no site has this key"),
    ] {
        let response = api.get(&format!("/api/v1/entries?site={site}")).await;
        assert_eq!(response.status(), 422, "{site}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["field"], "site", "{site}");
        assert_eq!(body["error"]["message"], said, "{site}");
    }

    // The console lists the same, and its form shows the sites it applied.
    let inbox = admin
        .html(&format!("/console?view=all&site={blog_id},{help_id}"))
        .await;
    assert!(
        inbox.contains(on_blog) && inbox.contains(on_help),
        "{inbox}"
    );
    assert!(!inbox.contains(&on_shop), "{inbox}");
    assert!(
        inbox.contains(&format!(
            r#"<option value="{blog_id},{help_id}" selected>Blog or Help</option>"#
        )),
        "{inbox}"
    );

    // So do the reports: the two sites' ideas summed, the shop's
    // complaint left out, in the page and in the CSV it links to.
    let report = admin
        .html(&format!("/console/reports?site={blog_id},{help_id}"))
        .await;
    assert!(
        report.contains(&format!(
            r#"<option value="{blog_id},{help_id}" selected>Blog or Help</option>"#
        )),
        "{report}"
    );
    let csv_link = format!("/console/reports/kinds.csv?site={blog_id}%2C{help_id}");
    assert!(report.contains(&csv_link), "{report}");
    let totals = async |site: &str| -> HashMap<String, i64> {
        let csv = admin
            .get(&format!("/console/reports/kinds.csv?site={site}"))
            .await
            .text()
            .await
            .unwrap();
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        let headers = reader.headers().unwrap().clone();
        let mut totals = HashMap::new();
        for row in reader.records() {
            for (name, value) in headers.iter().zip(row.unwrap().iter()).skip(1) {
                *totals.entry(name.to_lowercase()).or_default() += value.parse::<i64>().unwrap();
            }
        }
        totals
    };
    let two = totals(&format!("{blog_id},{help_id}")).await;
    assert_eq!((two["idea"], two["complaint"], two["total"]), (2, 0, 2));
    let one = totals(help_id).await;
    assert_eq!((one["idea"], one["total"]), (1, 1));
    let every = totals("").await;
    assert_eq!((every["idea"], every["complaint"]), (2, 1));
    // A list with an id no site has is refused, not shown as empty.
    let refused = admin
        .get(&format!("/console/reports?site={blog_id},99999"))
        .await;
    assert_eq!(refused.status(), 422);
}

#[tokio::test]
async fn a_reference_as_q_lists_and_exports_that_entry_alone() {
    let (app, _clock) = console_app().await;
    let first = reference_of(&app, complaint(&app, "The discount code failed")).await;
    let second = reference_of(&app, complaint(&app, "The discount was not applied")).await;
    let api = Api {
        app: &app,
        token: token_for(&app, "bo@example.com", "read", None).await,
    };
    // As a customer reads it out: lower case, spaces for hyphens.
    let spoken = second.to_lowercase().replace('-', " ");
    let q = serde_html_form::to_string([("q", spoken.as_str())]).unwrap();
    let page = api.json(&format!("/api/v1/entries?view=all&{q}")).await;
    assert_eq!(refs(&page), [second.as_str()]);
    let csv = api
        .get(&format!("/api/v1/entries/export.csv?view=all&{q}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(csv.contains(&second) && !csv.contains(&first), "{csv}");
    // Within the other filters, like any search.
    let spam = api.json(&format!("/api/v1/entries?view=spam&{q}")).await;
    assert_eq!(spam["entries"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn customer_lists_and_exports_the_feedback_of_whoever_sent_an_entry() {
    let (app, _clock) = console_app().await;
    let from = |email: &str, message: &str| {
        let mut body = complaint(&app, message);
        body["email"] = json!(email);
        body
    };
    let first = reference_of(&app, from("ana@example.com", "The discount code failed")).await;
    let bo = reference_of(&app, from("bo@example.com", "Slow checkout")).await;
    let second = reference_of(&app, from(" ANA@example.com", "Still no discount")).await;
    let api = Api {
        app: &app,
        token: token_for(&app, "bo@example.com", "read", None).await,
    };
    let spoken = first.to_lowercase();
    let page = api
        .json(&format!("/api/v1/entries?view=all&customer={spoken}"))
        .await;
    assert_eq!(refs(&page), [second.clone(), first.clone()]);
    let csv = api
        .get(&format!("/api/v1/entries/export.csv?customer={second}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        csv.contains(&first) && csv.contains(&second) && !csv.contains(&bo),
        "{csv}"
    );
    let response = api.get("/api/v1/entries?customer=ana%40example.com").await;
    assert_eq!(error_of(response, 422).await.1.as_deref(), Some("customer"));
}

#[tokio::test]
async fn a_misspelt_parameter_is_refused_by_name_rather_than_ignored() {
    let (app, _clock) = console_app().await;
    let reference = reference_of(&app, complaint(&app, "The discount code failed")).await;
    let api = Api {
        app: &app,
        token: token_for(&app, "bo@example.com", "read", None).await,
    };
    let one = format!("/api/v1/entries/{reference}?fields=all");
    for path in [
        "/api/v1/entries?view=all&stauts=open",
        "/api/v1/entries?limit=1&page=2",
        "/api/v1/entries/export.csv?kind=idea&format=csv",
        "/api/v1/entries/export.ndjson?sort=created",
        "/api/v1/attachments/a_01?downlaod=1",
        "/api/v1/sites?page=2",
        "/api/v1/staff?active=true",
        &one,
    ] {
        let response = api.get(path).await;
        assert_eq!(response.status(), 422, "{path}");
        let body: Value = response.json().await.unwrap();
        let unknown = path.rsplit('&').next().unwrap().rsplit('?').next().unwrap();
        let name = unknown.split('=').next().unwrap();
        assert_eq!(body["error"]["field"], "query", "{path}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("\"{name}\"")),
            "{path}: {message}"
        );
    }
    // Every parameter the API documents is still read, together.
    let all = "/api/v1/entries?view=all&site=&kind=complaint&status=new&severity=&assignee=\
               &promise=&from=2020-01-01&to=2100-01-01&q=discount&customer=&limit=5";
    assert_eq!(api.json(all).await["entries"].as_array().unwrap().len(), 1);
    let export = api
        .get("/api/v1/entries/export.csv?view=all&q=discount&bom=1")
        .await;
    assert_eq!(export.status(), 200);
    // An action reads none: one given is refused, and nothing is done.
    let writer = Api {
        app: &app,
        token: token_for(&app, "bo@example.com", "write", None).await,
    };
    let response = writer
        .post(
            &format!("/api/v1/entries/{reference}/notes?notify=everyone"),
            json!({"body": "Checked the coupon"}),
        )
        .await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["field"], "query");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("this route reads none"), "{message}");
    let entry = format!("/api/v1/entries/{reference}");
    assert_eq!(writer.json(&entry).await["notes"], json!([]));
}

#[tokio::test]
async fn entries_name_their_assignee_and_can_be_filtered_by_a_colleagues_email() {
    let (app, _clock) = console_app().await;
    reference_of(&app, complaint(&app, "The discount code failed")).await;
    let reference = reference_of(&app, complaint(&app, "The parcel never came")).await;
    let api = Api {
        app: &app,
        token: token_for(&app, "bo@example.com", "write", None).await,
    };
    let assigned: Value = api
        .post(
            &format!("/api/v1/entries/{reference}/assign"),
            json!({"assignee": "ada@example.com"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(assigned["assignee"], "Ada");
    let ada_id = assigned["assignee_id"].as_i64().unwrap();

    let page = api
        .json("/api/v1/entries?view=all&assignee=%20ADA@example.com")
        .await;
    let entries = page["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{page}");
    assert_eq!(entries[0]["reference"], reference.as_str());
    assert_eq!(entries[0]["assignee"], "Ada");
    assert_eq!(entries[0]["assignee_id"], ada_id);
    let by_id = api
        .json(&format!("/api/v1/entries?view=all&assignee={ada_id}"))
        .await;
    assert_eq!(by_id["entries"], page["entries"]);
    let unassigned = api.json("/api/v1/entries?view=all&assignee=none").await;
    assert_eq!(unassigned["entries"][0]["assignee"], Value::Null);
    assert_eq!(unassigned["entries"][0]["assignee_id"], Value::Null);

    // Several, separated by commas: Bo's own (none) or nobody's; Ada's
    // or nobody's.
    let discount = unassigned["entries"][0]["reference"].clone();
    let listed = async |query: &str| {
        let page = api.json(&format!("/api/v1/entries?view=all&{query}")).await;
        page["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["reference"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        listed("assignee=me,none").await,
        std::slice::from_ref(&discount)
    );
    assert_eq!(
        listed("assignee=ada@example.com,none").await,
        [json!(reference), discount.clone()]
    );
    assert_eq!(
        listed(&format!("assignee={ada_id},me")).await,
        [json!(reference)]
    );
    let console = signed_in(&app, "ada@example.com").await;
    let inbox = console.html("/console?view=all&assignee=me,none").await;
    assert_eq!(
        inbox.matches(r#"<option value="me,none""#).count(),
        1,
        "{inbox}"
    );
    assert!(
        inbox.contains(r#"<option value="me,none" selected>Me or nobody</option>"#),
        "{inbox}"
    );
    for (query, field) in [
        ("assignee=me,someone", "assignee"),
        ("assignee=me,,none", "assignee"),
        (
            &format!("assignee={}", vec!["me"; 51].join(",")),
            "assignee",
        ),
    ] {
        let response = api.get(&format!("/api/v1/entries?{query}")).await;
        assert_eq!(response.status(), 422, "{query}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["field"], field, "{query}");
    }

    for nobody in [
        "nobody@example.com",
        "99999",
        "0",
        "me,nobody@example.com",
        "none,99999",
    ] {
        let response = api.get(&format!("/api/v1/entries?assignee={nobody}")).await;
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unknown_colleague", "{nobody}");
        assert_eq!(body["error"]["field"], "assignee", "{nobody}");
        assert_eq!(
            body["error"]["message"], "no colleague has this id or email",
            "a filter gives no work: {nobody}"
        );
    }
}
