//! Each colleague's own notification settings in the console, with a
//! few sites and with many.

use earshot_collector::notify::Prefs;
use earshot_collector::store::Role;

use crate::notify::app_with_mail;
use crate::staff::{NOON, add_branches, signed_in};

#[tokio::test]
async fn each_colleague_sets_their_own_notifications_in_the_console() {
    let (app, _, _mails) = app_with_mail(NOON, 0).await;
    let bo = signed_in(&app, "bo@example.com").await;
    let page = bo.html("/console/notifications").await;
    assert!(page.contains("bo@example.com"));
    assert!(page.contains(r#"value="08" selected"#) || page.contains(r#"value="8" selected"#));
    let site_key = app.site_key.clone();
    let saved = bo
        .act(
            "/console/notifications",
            &[
                ("immediate", "idea"),
                ("immediate", "blocking"),
                ("sites", "chosen"),
                ("site", site_key.as_str()),
                ("digest", "17"),
            ],
        )
        .await;
    assert_eq!(saved.status().as_u16(), 303);
    let users = app.running.store.users().await.unwrap();
    let bo_user = users.iter().find(|u| u.name == "Bo").unwrap().clone();
    let prefs = app.running.store.notify_prefs(bo_user).await.unwrap();
    assert_eq!(prefs.immediate_text(), "idea,blocking");
    assert_eq!(prefs.digest_hour, Some(17));
    assert!(!prefs.on_assign, "unticked");
    assert!(
        matches!(prefs.sites, earshot_collector::notify::Sites::Only(ref ids) if ids.len() == 1)
    );
    let bad = bo
        .act(
            "/console/notifications",
            &[("immediate", "praise"), ("digest", "25")],
        )
        .await;
    assert_eq!(bad.status().as_u16(), 422);
    let html = bad.text().await.unwrap();
    assert!(html.contains("<h1>Notifications</h1>"), "{html}");
    assert!(html.contains("role=\"alert\">"), "{html}");
    assert!(
        html.contains(r#"value="praise" checked"#),
        "the choices as sent, not as stored: {html}"
    );
    assert!(!html.contains(r#"value="idea" checked"#), "{html}");
    // "Only these" with none ticked would silently mean no site at all.
    let none = bo
        .act(
            "/console/notifications",
            &[
                ("immediate", "praise"),
                ("sites", "chosen"),
                ("digest", "9"),
            ],
        )
        .await;
    assert_eq!(none.status().as_u16(), 422);
    let html = none.text().await.unwrap();
    assert!(
        html.contains("role=\"alert\">Choose at least one site, or choose All sites."),
        "{html}"
    );
    assert!(html.contains(r#"value="chosen" checked"#), "{html}");
    assert!(html.contains(r#"<option value="9" selected>"#), "{html}");
    let prefs = app
        .running
        .store
        .notify_prefs(users.iter().find(|u| u.name == "Bo").unwrap().clone())
        .await
        .unwrap();
    assert_eq!(
        prefs.immediate_text(),
        "idea,blocking",
        "nothing refused was kept"
    );
    // Ada's are untouched.
    let ada = users.iter().find(|u| u.name == "Ada").unwrap().clone();
    assert_eq!(
        app.running.store.notify_prefs(ada).await.unwrap(),
        Prefs::defaults(Role::Admin)
    );
}

#[tokio::test]
async fn with_many_sites_notifications_take_typed_site_names_instead_of_checkboxes() {
    let (app, _, _mails) = app_with_mail(NOON, 0).await;
    let branches = add_branches(&app.running.store, 120, NOON).await;
    let bo = signed_in(&app, "bo@example.com").await;
    let page = bo.html("/console/notifications").await;
    assert!(!page.contains(r#"name="site" value="#), "no 121 checkboxes");
    assert!(page.contains(r#"<textarea id="site-list" name="site_list""#));

    let chosen = format!("branch 007\r\n\n{}\nch 099", branches[42].key);
    let saved = bo
        .act(
            "/console/notifications",
            &[
                ("immediate", "complaint"),
                ("sites", "chosen"),
                ("site_list", chosen.as_str()),
                ("digest", "off"),
            ],
        )
        .await;
    assert_eq!(saved.status().as_u16(), 303);
    let users = app.running.store.users().await.unwrap();
    let bo_user = users.iter().find(|u| u.name == "Bo").unwrap().clone();
    let prefs = app
        .running
        .store
        .notify_prefs(bo_user.clone())
        .await
        .unwrap();
    let wanted = [7, 42, 99].map(|i| branches[i].id).into_iter().collect();
    assert_eq!(prefs.sites, earshot_collector::notify::Sites::Only(wanted));
    let page = bo.html("/console/notifications").await;
    let keys = [7, 42, 99].map(|i| branches[i].key.as_str()).join("\n");
    assert!(
        page.contains(&format!(
            "name=\"site_list\" rows=\"5\" placeholder=\"Shop\nsite_…\">{keys}</textarea>"
        )),
        "the choice shown back as keys, one per line: {page}"
    );

    // A line naming no site, or several, is refused by its number and the
    // text stays as typed.
    for (typed, why) in [
        (
            "branch 007\nzebra <b>",
            "Line 2: No site is called “zebra &lt;b&gt;”.",
        ),
        (
            "branch 0",
            "Line 1: More than one site is called “branch 0”",
        ),
    ] {
        let refused = bo
            .act(
                "/console/notifications",
                &[("sites", "chosen"), ("site_list", typed), ("digest", "off")],
            )
            .await;
        assert_eq!(refused.status().as_u16(), 422);
        let html = refused.text().await.unwrap();
        assert!(html.contains(&format!("role=\"alert\">{why}")), "{html}");
        assert!(
            html.contains(&format!(
                "{}</textarea>",
                typed.replace('<', "&lt;").replace('>', "&gt;")
            )),
            "{html}"
        );
    }
    assert_eq!(
        app.running.store.notify_prefs(bo_user).await.unwrap().sites,
        prefs.sites,
        "nothing refused was kept"
    );
}
