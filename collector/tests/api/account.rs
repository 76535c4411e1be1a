//! "Your account": changing one's own name and password, and ending the
//! sessions open elsewhere.

use reqwest::StatusCode;

use crate::staff::{Console, PASSWORD, console_app, location, session_cookie, signed_in};

async fn change_password(console: &Console, current: &str, new: &str) -> reqwest::Response {
    console
        .act(
            "/console/account/password",
            &[("current", current), ("new", new)],
        )
        .await
}

#[tokio::test]
async fn a_password_change_needs_the_current_one_and_ends_every_other_session() {
    let (app, _) = console_app().await;
    let elsewhere = signed_in(&app, "bo@example.com").await;
    let mut here = signed_in(&app, "bo@example.com").await;
    let page = here.html("/console/account").await;
    assert!(page.contains("bo@example.com"));
    assert!(page.contains(r#"<a class="who" href="/console/account" aria-current="page">"#));

    let wrong = change_password(&here, "not my password", "a brand new passphrase").await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("That is not your current password.")
    );
    let short = change_password(&here, PASSWORD, "short").await;
    assert_eq!(short.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        short
            .text()
            .await
            .unwrap()
            .contains("at least 10 characters")
    );
    assert_eq!(elsewhere.get("/console").await.status(), StatusCode::OK);

    let changed = change_password(&here, PASSWORD, "a brand new passphrase").await;
    assert_eq!(changed.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&changed),
        "/console/account?done=password#password"
    );
    here.cookie = session_cookie(changed.headers());
    // This browser stays signed in; the other session has ended.
    assert!(
        here.html("/console/account?done=password")
            .await
            .contains("Password changed.")
    );
    assert_eq!(elsewhere.get("/console").await.status(), StatusCode::FOUND);
    let mut fresh = Console::new(&app);
    assert_eq!(
        fresh.login("bo@example.com", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        fresh
            .login("bo@example.com", "a brand new passphrase")
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    let admin = signed_in(&app, "ada@example.com").await;
    let audit = admin.html("/console/audit").await;
    assert!(audit.contains("staff.password_changed"), "{audit}");
}

#[tokio::test]
async fn guessing_the_current_password_is_throttled_like_signing_in() {
    let (app, _) = console_app().await;
    // A stolen browser holds the device cookie too: its own budget of ten
    // guesses, then one per three minutes.
    let stolen = signed_in(&app, "bo@example.com").await;
    let mut refused = 0;
    for n in 0..13 {
        let guess = format!("guess number {n}");
        let answer = change_password(&stolen, guess.as_str(), "the thief's passphrase").await;
        match answer.status() {
            StatusCode::UNPROCESSABLE_ENTITY => {}
            StatusCode::TOO_MANY_REQUESTS => refused += 1,
            other => panic!("guess {n}: {other}"),
        }
    }
    assert!(
        refused >= 3,
        "only ten guesses get through ({refused} refused)"
    );
}

#[tokio::test]
async fn a_colleague_changes_the_name_others_see_and_a_bad_one_is_refused_as_typed() {
    let (app, _) = console_app().await;
    let bo = signed_in(&app, "bo@example.com").await;
    let renamed = bo
        .act("/console/account/name", &[("name", "  Bo Jensen ")])
        .await;
    assert_eq!(renamed.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&renamed), "/console/account?done=name#name");
    let page = bo.html("/console/account?done=name").await;
    assert!(
        page.contains("Colleagues see you as <strong>Bo Jensen</strong>."),
        "{page}"
    );
    assert!(
        page.contains(r#"title="Your account">Bo Jensen</a>"#) || page.contains(">Bo Jensen</a>")
    );
    // What the others see: the assignee list.
    let ada = signed_in(&app, "ada@example.com").await;
    assert!(ada.html("/console").await.contains("Bo Jensen"));

    for (typed, why) in [
        ("Bo\r\nBcc: everyone@example.com", "line breaks"),
        ("   ", "Enter a name."),
        (&"x".repeat(101), "at most 100 characters"),
    ] {
        let refused = bo.act("/console/account/name", &[("name", typed)]).await;
        assert_eq!(
            refused.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{typed:?}"
        );
        let page = refused.text().await.unwrap();
        assert!(page.contains(why), "{typed:?}: {page}");
    }
    let name: String = app
        .db()
        .query_row(
            "SELECT name FROM users WHERE email = 'bo@example.com'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(name, "Bo Jensen");
    let renames: i64 = app
        .db()
        .query_row(
            "SELECT count(*) FROM audit_log WHERE action = 'staff.renamed'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(renames, 1);
}

#[tokio::test]
async fn a_colleague_signs_out_everywhere_else_and_this_browser_stays() {
    let (app, _) = console_app().await;
    let laptop = signed_in(&app, "bo@example.com").await;
    let phone = signed_in(&app, "bo@example.com").await;
    let here = signed_in(&app, "bo@example.com").await;
    let page = here.html("/console/account").await;
    assert!(page.contains("Here, and in 2 other sessions:"), "{page}");
    assert!(page.contains("last active <time"), "{page}");
    assert!(page.contains("Your API tokens keep working"), "{page}");
    let alone = signed_in(&app, "ada@example.com").await;
    assert!(
        alone
            .html("/console/account")
            .await
            .contains("Only here, in this browser.")
    );

    // A page's token is needed, as for every change.
    let forged = here.post("/console/account/sessions/end", &[]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(laptop.get("/console").await.status(), StatusCode::OK);

    let ended = here.act("/console/account/sessions/end", &[]).await;
    assert_eq!(ended.status(), StatusCode::SEE_OTHER);
    let page = here.html(&location(&ended)).await;
    assert!(
        page.contains("Every other session has ended: only this browser is signed in."),
        "{page}"
    );
    assert!(page.contains("Only here, in this browser."));
    for gone in [&laptop, &phone] {
        assert_eq!(gone.get("/console").await.status(), StatusCode::FOUND);
    }
    assert_eq!(
        alone.get("/console").await.status(),
        StatusCode::OK,
        "a colleague's session is theirs"
    );
    let audit = alone.html("/console/audit").await;
    assert!(audit.contains("staff.signed_out_elsewhere"), "{audit}");
    assert!(audit.contains("sessions=2"), "{audit}");
}
