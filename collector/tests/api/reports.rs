//! Reports: numbers checked against a fixture worked out by hand.

use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::staff::{Console, DAY, between, complaint, console_app, location, signed_in, submit};

const MINUTE: i64 = 60_000;
/// `NOON` (Sunday 2026-11-22) falls in the week starting Monday 2026-11-16.
const WEEK: &str = "2026-11-16";

fn expectation(app: &TestApp, page: &str, expected: &str) -> Value {
    json!({"site": app.site_key, "kind": "expectation", "expected": expected,
           "actual": "I was charged for shipping", "page": {"url": page}})
}

/// The rows of one report table as CSV, keyed by their first cell.
async fn table(console: &Console, name: &str) -> Vec<Vec<String>> {
    let response = console
        .get(&format!(
            "/console/reports/{name}.csv?from={WEEK}&to=2026-11-22"
        ))
        .await;
    assert_eq!(response.status(), 200, "{name}");
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = response.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

fn row<'a>(rows: &'a [Vec<String>], first: &str) -> &'a [String] {
    rows.iter()
        .find(|r| r[0] == first)
        .unwrap_or_else(|| panic!("no row {first} in {rows:?}"))
}

fn near(got: &str, want_secs: i64) {
    let got: f64 = got.parse().unwrap();
    let error = (got - want_secs as f64).abs() / want_secs as f64;
    assert!(
        error <= 0.026,
        "{got} s is not within 2.5% of {want_secs} s"
    );
}

#[tokio::test]
async fn the_report_matches_a_fixture_worked_out_by_hand() {
    let (app, clock) = console_app().await;
    let bo = signed_in(&app, "bo@example.com").await;
    let complaint = |message: &str, severity: Option<&str>| {
        let mut body = json!({"site": app.site_key, "kind": "complaint", "message": message});
        if let Some(s) = severity {
            body["severity"] = json!(s);
        }
        body
    };
    let (a, _) = submit(&app, complaint("Checkout failed", Some("blocking"))).await;
    let (b, _) = submit(&app, complaint("Slow pages", None)).await;
    submit(&app, complaint("Rude reply", None)).await;
    let checkout = "https://shop.example/checkout?session=42";
    let (e1, _) = submit(&app, expectation(&app, checkout, "Free shipping over 50")).await;
    submit(
        &app,
        expectation(&app, checkout, "Free shipping on sale items"),
    )
    .await;
    let (e3, _) = submit(
        &app,
        expectation(&app, "https://shop.example/cart", "A discount"),
    )
    .await;
    submit(
        &app,
        json!({"site": app.site_key, "kind": "idea", "message": "Dark mode"}),
    )
    .await;
    // A honeypot hit is stored as spam and counted nowhere.
    submit(
        &app,
        json!({"site": app.site_key, "kind": "idea", "message": "buy now", "hp": "x"}),
    )
    .await;
    // The first look rolls everything so far up; what follows goes
    // through the staff actions' own adjustments.
    let html = bo.html("/console/reports").await;
    assert!(html.contains("Feedback by kind"));

    clock.advance(10 * MINUTE);
    bo.act(
        &format!("/console/entries/{a}/reply"),
        &[("body", "Looking")],
    )
    .await;
    clock.advance(50 * MINUTE);
    bo.act(
        &format!("/console/entries/{b}/reply"),
        &[
            ("body", "Sorry"),
            ("promise_text", "Faster by Monday"),
            ("promise_due", "2026-11-23"),
        ],
    )
    .await;
    bo.act(
        &format!("/console/entries/{e1}/reply"),
        &[
            ("body", "Checking"),
            ("promise_text", "Refund"),
            ("promise_due", "2026-11-23"),
        ],
    )
    .await;
    clock.advance(60 * MINUTE);
    bo.act(
        &format!("/console/entries/{a}/status"),
        &[("status", "resolved")],
    )
    .await;
    bo.act(
        &format!("/console/entries/{e3}/status"),
        &[("status", "spam")],
    )
    .await;
    let entry = bo.html(&format!("/console/entries/{b}")).await;
    let settle = between(&entry, &format!("/console/entries/{b}/promises/"), "\"").to_owned();
    bo.act(
        &format!("/console/entries/{b}/promises/{settle}"),
        &[("outcome", "kept")],
    )
    .await;
    let entry = bo.html(&format!("/console/entries/{e1}")).await;
    let settle = between(&entry, &format!("/console/entries/{e1}/promises/"), "\"").to_owned();
    bo.act(
        &format!("/console/entries/{e1}/promises/{settle}"),
        &[("outcome", "broken")],
    )
    .await;
    // One more, answered before the roller ever sees it.
    let (late, _) = submit(&app, complaint("Late one", None)).await;
    clock.advance(30 * MINUTE);
    bo.act(
        &format!("/console/entries/{late}/reply"),
        &[("body", "Here")],
    )
    .await;

    // 4 complaints, 2 expectations (the cart one went to spam), 1 idea.
    let kinds = table(&bo, "kinds").await;
    assert_eq!(row(&kinds, WEEK), [WEEK, "4", "2", "1", "0", "0", "7"]);
    let severities = table(&bo, "severities").await;
    assert_eq!(row(&severities, WEEK), [WEEK, "0", "0", "1", "6", "7"]);
    // Severities are named as kinds are, on the report and the entry.
    let html = bo.html("/console/reports").await;
    assert!(
        html.contains(r#"<th scope="col" class="num">Blocking</th>"#),
        "{html}"
    );
    let entry = bo.html(&format!("/console/entries/{a}")).await;
    assert!(
        entry.contains(r#"<dt>Severity</dt><dd dir="auto">Blocking</dd>"#),
        "{entry}"
    );
    // First replies after 10, 60, 60 and 30 minutes: median (2nd of 4) is
    // 30 minutes, the 90th percentile (4th of 4) an hour.
    let first = table(&bo, "first-response").await;
    let week = row(&first, WEEK);
    assert_eq!(week[1], "4");
    near(&week[2], 30 * 60);
    near(&week[3], 60 * 60);
    let promises = table(&bo, "promises").await;
    assert_eq!(row(&promises, "made")[1], "2");
    assert_eq!(row(&promises, "kept on time")[1], "1");
    assert_eq!(row(&promises, "kept late")[1], "0");
    assert_eq!(row(&promises, "broken")[1], "1");
    let pages = table(&bo, "pages").await;
    assert_eq!(pages.len(), 1, "the spam page is gone: {pages:?}");
    assert_eq!(pages[0][0], "https://shop.example/checkout");
    assert_eq!(pages[0][1], "2");
    // Ties in alphabetical order.
    assert!(
        pages[0][2].starts_with("charged (2), free (2), shipping (2), items (1)"),
        "{pages:?}"
    );
    let resolution = table(&bo, "resolution").await;
    let complaints = row(&resolution, "Complaint");
    assert_eq!(complaints[1], "1");
    near(&complaints[2], 120 * 60);

    // The page shows the same numbers beside its charts.
    let html = bo
        .html(&format!("/console/reports?from={WEEK}&to=2026-11-22"))
        .await;
    assert_eq!(html.matches("<svg").count(), 6);
    assert!(html.contains("<title>Feedback by kind</title>"));
    assert!(html.contains("<desc>"));
    assert!(html.contains("https://shop.example/checkout"));
    assert!(!html.contains("style="), "no inline styles under the CSP");
    // Headings start with a capital on the page; the CSV keeps them as
    // scripts read them.
    assert!(html.contains(r#"<th scope="col">Week</th>"#));
    assert!(html.contains(r#"<th scope="col" class="num">90th percentile</th>"#));
    assert!(!html.contains(r#"<th scope="col">week</th>"#));
    let csv = bo
        .get(&format!(
            "/console/reports/first-response.csv?from={WEEK}&to=2026-11-22"
        ))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        csv.starts_with("week,answered,median (seconds),90th percentile (seconds)\r\n"),
        "{csv}"
    );
    // A site that does not exist is named, not shown as an empty report.
    let other_site = bo.get("/console/reports?site=999").await;
    assert_eq!(other_site.status(), 422);
    assert!(
        other_site
            .text()
            .await
            .unwrap()
            .contains("No site is called “999”.")
    );
    let bad = bo
        .get("/console/reports?from=2026-12-01&to=2026-11-01")
        .await;
    assert_eq!(bad.status(), 422);
}

#[tokio::test]
async fn hostile_text_is_escaped_in_charts_tables_and_csv() {
    let (app, _clock) = console_app().await;
    let bo = signed_in(&app, "bo@example.com").await;
    let page = "https://shop.example/\"><svg/onload=alert(1)>";
    let response = app
        .post_json(
            &expectation(&app, page, "<script>alert(1)</script> ships"),
            None,
        )
        .await;
    assert_eq!(response.status(), 201);
    let html = bo
        .html(&format!("/console/reports?from={WEEK}&to=2026-11-22"))
        .await;
    assert!(!html.contains("<svg/onload"), "page address escaped");
    assert!(html.contains("&lt;svg/onload=alert(1)&gt;"));
    assert!(!html.contains("<script>alert"));
    let pages = table(&bo, "pages").await;
    assert!(pages[0][0].starts_with("https://"), "{pages:?}");
    let csv = bo
        .get(&format!(
            "/console/reports/pages.csv?from={WEEK}&to=2026-11-22"
        ))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        csv.contains("alert (1)") && csv.contains("script (1)"),
        "{csv}"
    );
    let signed_out = app
        .client
        .get(format!("{}/console/reports/pages.csv", app.address))
        .send()
        .await
        .unwrap();
    assert!(signed_out.url().path().starts_with("/console/login"));
}

#[tokio::test]
async fn the_promises_page_shows_open_promises_a_page_at_a_time_and_refuses_a_damaged_link() {
    let (app, _clock) = console_app().await;
    let (id, _) = submit(&app, complaint(&app, "Export is broken")).await;
    let ada = signed_in(&app, "ada@example.com").await;
    // One more promise than a page shows, each due a day later than the last.
    for i in 0..201 {
        let due = format!("2026-12-{:02}", 1 + i % 28);
        let body = format!("Answer {i}");
        let text = format!("Promise number {i:03}");
        let response = ada
            .act(
                &format!("/console/entries/{id}/reply"),
                &[
                    ("body", &body),
                    ("promise_text", &text),
                    ("promise_due", &due),
                ],
            )
            .await;
        assert_eq!(response.status(), reqwest::StatusCode::SEE_OTHER, "{i}");
    }
    let first = ada.html("/console/promises").await;
    assert!(
        first.contains("1–200 of 201 open, due soonest first."),
        "{first}"
    );
    assert!(!first.contains("First page"));
    let next = between(&first, "rel=\"next\" href=\"", "\"").replace("&amp;", "&");
    let rest = ada.html(&next).await;
    assert!(rest.contains("201–201 of 201 open, due soonest first."));
    assert!(rest.contains("href=\"/console/promises\">← First page"));
    assert!(!rest.contains("rel=\"next\""));
    // Every promise on one page or the other, once.
    for i in 0..201 {
        let text = format!("Promise number {i:03}<");
        let seen = usize::from(first.contains(&text)) + usize::from(rest.contains(&text));
        assert_eq!(seen, 1, "{text}");
    }
    // A link kept open while others settle the rest finds nothing after it.
    let past = ada.html("/console/promises?after=9999999999999.1").await;
    assert!(past.contains(
        "No more open promises. <a href=\"/console/promises\">Back to the first page</a>"
    ));
    // Every one kept: none open, and the settled list says what it leaves out.
    let entry = ada.html(&format!("/console/entries/{id}")).await;
    let marker = format!("/console/entries/{id}/promises/");
    let settles: std::collections::BTreeSet<&str> = entry
        .split(&marker)
        .skip(1)
        .map(|rest| &rest[..rest.find('"').unwrap()])
        .collect();
    assert_eq!(settles.len(), 201);
    for promise in settles {
        let done = ada
            .act(&format!("{marker}{promise}"), &[("outcome", "kept")])
            .await;
        assert_eq!(done.status(), reqwest::StatusCode::SEE_OTHER);
    }
    let settled = ada.html("/console/promises").await;
    assert!(settled.contains("No open promises."));
    assert!(settled.contains("The latest 200 of 201, most recently settled first."));
    let damaged = ada.get("/console/promises?after=42").await;
    assert_eq!(damaged.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        damaged
            .text()
            .await
            .unwrap()
            .contains("its link is damaged")
    );
}

#[tokio::test]
async fn the_promises_page_shows_the_sites_chosen_and_links_keep_the_choice() {
    let (app, clock) = console_app().await;
    let ada = signed_in(&app, "ada@example.com").await;
    let added = ada
        .act(
            "/console/sites",
            &[("name", "Blog"), ("origins", "https://blog.example")],
        )
        .await;
    let path = location(&added);
    let blog_id = between(&path, "/console/sites/", "?").to_owned();
    let key = between(&ada.html(&path).await, "Key <code>", "<").to_owned();
    let (on_shop, _) = submit(&app, complaint(&app, "Checkout is slow")).await;
    let on_blog = app
        .post_json(
            &json!({"site": key, "kind": "complaint", "message": "The feed is empty"}),
            Some("https://blog.example"),
        )
        .await;
    let on_blog: Value = on_blog.json().await.unwrap();
    let on_blog = on_blog["id"].as_str().unwrap().to_owned();
    for (id, promise) in [(&on_shop, "Faster checkout"), (&on_blog, "A full feed")] {
        let replied = ada
            .act(
                &format!("/console/entries/{id}/reply"),
                &[
                    ("body", "On it"),
                    ("promise_text", promise),
                    ("promise_due", "2026-11-27"),
                ],
            )
            .await;
        assert_eq!(replied.status(), reqwest::StatusCode::SEE_OTHER);
    }
    let every = ada.html("/console/promises").await;
    assert!(every.contains("Faster checkout") && every.contains("A full feed"));
    assert!(every.contains("2 open, due soonest first."));
    // Several sites on the page: each promise says whose it is.
    assert!(every.contains(r#"<th scope="col">Site</th>"#));
    assert!(every.contains("<td>Blog</td>"));
    // By name, as typed in the box; the links then name the site by id.
    let blog = ada.html("/console/promises?site=blog").await;
    assert!(blog.contains("A full feed") && !blog.contains("Faster checkout"));
    assert!(blog.contains("1 open, due soonest first."));
    assert!(!blog.contains(r#"<th scope="col">Site</th>"#));
    assert!(
        blog.contains(&format!(
            r#"<option value="{blog_id}" selected>Blog</option>"#
        )),
        "{blog}"
    );
    let past = ada
        .html(&format!(
            "/console/promises?site={blog_id}&after=9999999999999.1"
        ))
        .await;
    assert!(past.contains(&format!(r#"<a href="/console/promises?site={blog_id}">"#)));
    // Past due, the figure leads to that site's overdue entries alone.
    clock.advance(6 * DAY);
    let ada = signed_in(&app, "ada@example.com").await;
    let blog = ada.html("/console/promises?site=blog").await;
    let overdue = format!("/console?view=all&amp;promise=overdue&amp;site={blog_id}");
    assert!(
        blog.contains(&format!(r#"<a href="{overdue}">overdue now</a>"#)),
        "{blog}"
    );
    let inbox = ada.html(&overdue.replace("&amp;", "&")).await;
    assert!(inbox.contains(&on_blog) && !inbox.contains(&on_shop));
    let unknown = ada.get("/console/promises?site=zebra").await;
    assert_eq!(unknown.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        unknown
            .text()
            .await
            .unwrap()
            .contains("No site is called “zebra”.")
    );
}
