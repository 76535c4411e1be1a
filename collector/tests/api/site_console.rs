//! Administering sites in the console: adding, renaming, origins and
//! response terms, applied at once and recorded; the paged list.

use reqwest::StatusCode;

use crate::staff::{between, complaint, console_app, location, signed_in, submit};

#[tokio::test]
async fn admins_add_and_change_sites_which_apply_at_once_and_are_recorded() {
    let (app, _) = console_app().await;
    let admin = signed_in(&app, "ada@example.com").await;
    let bad = admin
        .act(
            "/console/sites",
            &[
                ("name", "Shop"),
                ("origins", "https://shop.example\nftp://nope"),
            ],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text().await.unwrap().contains("Line 2"));
    let added = admin
        .act(
            "/console/sites",
            &[("name", "Shop <b>"), ("origins", "https://shop.example")],
        )
        .await;
    assert_eq!(added.status(), StatusCode::SEE_OTHER);
    let detail_path = location(&added);
    let site_id = between(&detail_path, "/console/sites/", "?").to_owned();
    let detail = admin.html(&detail_path).await;
    let key = between(&detail, "Key <code>", "<").to_owned();
    assert!(detail.contains("Shop &lt;b&gt;"));
    assert!(
        detail.contains(&format!(
            "&lt;script src=&quot;{}/widget.js&quot; data-site=&quot;{key}&quot; defer&gt;&lt;/script&gt;",
            app.address
        )),
        "the whole snippet, as text: {detail}"
    );

    // Works at once, without waiting for the directory's refresh.
    let body = serde_json::json!({"site": key, "kind": "idea", "message": "Dark mode"});
    let sent = app.post_json(&body, Some("https://shop.example")).await;
    assert_eq!(sent.status().as_u16(), 201);
    assert!(
        admin
            .html("/console/sites")
            .await
            .contains(&format!("href=\"/console/sites/{site_id}\""))
    );

    let changed = admin
        .act(
            &format!("/console/sites/{site_id}"),
            &[
                ("name", "Fern & Fig"),
                ("origins", "https://www.fernandfig.example"),
                ("first_response_hours", "8"),
                ("response_promise", ""),
            ],
        )
        .await;
    assert_eq!(changed.status(), StatusCode::SEE_OTHER);
    let refused = app.post_json(&body, Some("https://shop.example")).await;
    assert_eq!(
        refused.status().as_u16(),
        403,
        "the old origin stops at once"
    );
    let detail = admin.html(&format!("/console/sites/{site_id}")).await;
    assert!(detail.contains("1 submission refused in the last 24 hours"));
    assert!(detail.contains("https://shop.example"));
    assert!(detail.contains("Fern &amp; Fig"));

    let found = admin.html("/console/sites?q=fern").await;
    assert!(found.contains("1 site matching"));
    // The list shows the refusal too, with where it came from.
    assert!(
        found.contains(r#"<span class="late" title="Latest: https://shop.example">1</span>"#),
        "{found}"
    );
    let by_key = admin.html(&format!("/console/sites?q={key}")).await;
    assert!(by_key.contains("Fern &amp; Fig"));
    let wildcard = admin.html("/console/sites?q=%25").await;
    assert!(
        wildcard.contains("0 sites matching"),
        "% is text, not a wildcard"
    );

    let audit = admin.html("/console/audit?area=site").await;
    assert!(audit.contains("site.added") && audit.contains("site.changed"));
    assert!(audit.contains("Ada"), "who did it");
    let csv = admin.get("/console/audit.csv").await.text().await.unwrap();
    assert!(csv.starts_with("at,who,action,subject,detail,who_email\r\n"));
    assert!(csv.contains(",Ada,site.changed,"), "{csv}");
    assert!(
        csv.lines()
            .filter(|l| l.contains(",Ada,site."))
            .all(|l| l.ends_with(",ada@example.com")),
        "{csv}"
    );
    let agent = signed_in(&app, "bo@example.com").await;
    assert_eq!(
        agent.get("/console/audit").await.status(),
        StatusCode::FORBIDDEN
    );
    let actions = crate::helpers::audit_details(&app.db(), "");
    assert_eq!(
        actions,
        [
            ("site.added".to_owned(), None),
            (
                "site.changed".to_owned(),
                Some("name,origins,first_response_target,response_promise".to_owned())
            )
        ]
    );
}

#[tokio::test]
async fn the_sites_list_is_paged_with_the_newest_feedback_of_each() {
    let (app, _) = console_app().await;
    for i in 0..60 {
        app.running
            .store
            .add_site(
                earshot_collector::store::NewSite {
                    name: format!("Site {i:02}"),
                    origins: vec![],
                },
                earshot_collector::clock::system_millis(),
            )
            .await
            .unwrap();
    }
    submit(&app, complaint(&app, "Alt")).await;
    let admin = signed_in(&app, "ada@example.com").await;
    let first = admin.html("/console/sites").await;
    assert!(first.contains("61 sites · page 1 of 2"), "{first}");
    assert!(first.contains("rel=\"next\""));
    assert!(!first.contains("rel=\"prev\""));
    let second = admin.html("/console/sites?page=2").await;
    assert!(second.contains("rel=\"prev\""));
    assert!(second.contains("Site 59"));
    assert!(!second.contains("Site 00"));
    // The default site got feedback just now; the others never did.
    let all = format!("{first}{second}");
    assert_eq!(all.matches("just now").count(), 1);
    assert!(all.contains("never"));
}

#[tokio::test]
async fn a_refused_site_form_comes_back_as_typed_with_the_reason() {
    let (app, _) = console_app().await;
    let admin = signed_in(&app, "ada@example.com").await;
    let typed = "https://shop.example\nhttps://*.shop.example\nftp://nope";
    let bad = admin
        .act(
            "/console/sites",
            &[("name", "Shop <b>"), ("origins", typed)],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = bad.text().await.unwrap();
    assert!(
        html.contains("<h1>Sites</h1>"),
        "the list, not an error page"
    );
    assert!(html.contains("role=\"alert\">Line 3"), "{html}");
    assert!(html.contains("<details class=\"panel\" open>"), "{html}");
    assert!(html.contains("value=\"Shop &lt;b&gt;\""), "{html}");
    assert!(
        html.contains("https://shop.example\nhttps://*.shop.example\nftp://nope</textarea>"),
        "{html}"
    );

    let added = admin
        .act(
            "/console/sites",
            &[("name", "Shop"), ("origins", "https://shop.example")],
        )
        .await;
    let site_id = between(&location(&added), "/console/sites/", "?").to_owned();
    let bad = admin
        .act(
            &format!("/console/sites/{site_id}"),
            &[
                ("name", "Shop renamed"),
                ("origins", "https://shop.example\nhttps://new.example/path"),
                ("first_response_hours", "12"),
                ("response_promise", "We answer within a day"),
            ],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = bad.text().await.unwrap();
    assert!(html.contains("<h1>Shop</h1>"), "the site as stored: {html}");
    assert!(html.contains("role=\"alert\">Line 2"), "{html}");
    assert!(html.contains("value=\"Shop renamed\""), "{html}");
    assert!(
        html.contains("https://shop.example\nhttps://new.example/path</textarea>"),
        "{html}"
    );
    assert!(html.contains("value=\"12\""), "{html}");
    assert!(html.contains("value=\"We answer within a day\""), "{html}");
    let stored = admin.html(&format!("/console/sites/{site_id}")).await;
    assert!(!stored.contains("Shop renamed"), "nothing was changed");
}

#[tokio::test]
async fn a_site_name_is_one_line_that_no_other_site_has() {
    let (app, _) = console_app().await;
    let admin = signed_in(&app, "ada@example.com").await;
    let add = |name: &'static str| {
        let admin = &admin;
        async move {
            admin
                .act(
                    "/console/sites",
                    &[("name", name), ("origins", "https://shop.example")],
                )
                .await
        }
    };
    let shop = add("Shop").await;
    assert_eq!(shop.status(), StatusCode::SEE_OTHER);
    let shop_id = between(&location(&shop), "/console/sites/", "?").to_owned();
    let again = add(" Shop ").await;
    assert_eq!(again.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = again.text().await.unwrap();
    assert!(
        html.contains("role=\"alert\">A site named “Shop” exists already (key site_"),
        "{html}"
    );
    // Names differing only in case would read as one site in filters and
    // subjects; the refusal names the site that has it.
    let shouted = add("SHOP").await;
    assert_eq!(shouted.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        shouted
            .text()
            .await
            .unwrap()
            .contains("A site named “Shop” exists already")
    );
    let forged = add("Shop\r\nBcc: all@example.com").await;
    assert_eq!(forged.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(forged.text().await.unwrap().contains("line breaks"));

    let blog = add("Blog").await;
    let blog_id = between(&location(&blog), "/console/sites/", "?").to_owned();
    let settings = |name: &'static str| {
        [
            ("name", name),
            ("origins", "https://shop.example"),
            ("first_response_hours", "24"),
            ("response_promise", ""),
        ]
    };
    let taken = admin
        .act(&format!("/console/sites/{blog_id}"), &settings("Shop"))
        .await;
    assert_eq!(taken.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        taken
            .text()
            .await
            .unwrap()
            .contains("A site named “Shop” exists already")
    );
    // Keeping its own name is fine, even one a site shared before names
    // were checked.
    app.running
        .store
        .add_site(
            earshot_collector::store::NewSite {
                name: "Shop".into(),
                origins: Vec::new(),
            },
            earshot_collector::clock::system_millis(),
        )
        .await
        .unwrap();
    let kept = admin
        .act(&format!("/console/sites/{shop_id}"), &settings("Shop"))
        .await;
    assert_eq!(kept.status(), StatusCode::SEE_OTHER);
    // Recasing its own name is fine; taking another's in another case not.
    let recased = admin
        .act(&format!("/console/sites/{blog_id}"), &settings("BLOG"))
        .await;
    assert_eq!(recased.status(), StatusCode::SEE_OTHER);
    let taken = admin
        .act(&format!("/console/sites/{blog_id}"), &settings("shop"))
        .await;
    assert_eq!(taken.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn feedback_naming_a_key_no_site_has_is_pointed_out_on_the_sites_page() {
    let (app, _) = console_app().await;
    let admin = signed_in(&app, "ada@example.com").await;
    assert!(!admin.html("/console/sites").await.contains("unknown-keys"));
    let mut body = complaint(&app, "Where did my words go?");
    body["site"] = "site_mistyped00000".into();
    let refused = app.post_json(&body, Some("https://shop.example")).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let page = admin.html("/console/sites").await;
    let notice = between(&page, "id=\"unknown-keys\"", "</p>")
        .split_once('>')
        .unwrap()
        .1;
    assert!(
        notice.starts_with("1 submission in the last 24 hours named a site key no site has")
            && notice.contains("site_mistyped00000 from https://shop.example"),
        "{notice}"
    );
}

#[tokio::test]
async fn a_site_whose_https_pages_cannot_load_the_widget_from_a_plain_http_address_says_so() {
    let public_url = "http://feedback.shop.example:8080";
    let (app, _) = crate::staff::console_app_with(|c| c.public_url = Some(public_url.into())).await;
    let mut admin = crate::staff::Console::at(&format!("http://{}", app.running.addr));
    let signed = admin.login("ada@example.com", crate::staff::PASSWORD).await;
    assert_eq!(signed.status(), StatusCode::SEE_OTHER);
    let added = admin
        .act(
            "/console/sites",
            &[("name", "Shop"), ("origins", "https://shop.example")],
        )
        .await;
    assert_eq!(added.status(), StatusCode::SEE_OTHER);
    let detail = admin.html(&location(&added)).await;
    let warning = "Browsers will not show the feedback button on pages at https://shop.example: they refuse a script from http://feedback.shop.example:8080";
    assert!(detail.contains(warning), "{detail}");
    let key = between(&detail, "Key <code>", "<").to_owned();
    // Pages on plain http (the default site's, for development) can.
    let default_site = app.running.created_site.as_ref().unwrap().id;
    let other = admin.html(&format!("/console/sites/{default_site}")).await;
    assert!(!other.contains("Browsers will not show"), "{other}");

    let (ok, shown, stderr) =
        crate::helpers::earshot_beside(vec!["site".into(), "show".into(), key], &app.db_path).await;
    assert!(ok, "{stderr}");
    assert!(shown.contains(&format!("Warning: {warning}")), "{shown}");
}
