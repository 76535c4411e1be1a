//! Administering staff in the console: invitations, roles, disabling and
//! password resets, over real HTTP.

use reqwest::StatusCode;

use crate::staff::{
    Console, PASSWORD, between, complaint, console_app, console_app_with_mail, location,
    session_cookie, signed_in, submit, user_id,
};

/// The one-time link shown after making it, as a path.
fn link_path(html: &str) -> String {
    let url = between(html, "<code class=\"secret\">", "<");
    format!("/console/link/{}", url.rsplit('/').next().unwrap())
}

/// The Staff page after `admin` invited `email` as `role`, with its link.
async fn invited(admin: &Console, email: &str, role: &str) -> String {
    admin
        .act("/console/staff/invite", &[("email", email), ("role", role)])
        .await
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_invited_colleague_joins_by_the_link_once_and_is_signed_in() {
    let (app, clock) = console_app().await;
    let agent = signed_in(&app, "bo@example.com").await;
    assert_eq!(
        agent.get("/console/staff").await.status(),
        StatusCode::FORBIDDEN
    );
    let admin = signed_in(&app, "ada@example.com").await;
    assert!(
        admin
            .html("/console")
            .await
            .contains("href=\"/console/staff\"")
    );
    let page = admin
        .act(
            "/console/staff/invite",
            &[
                ("email", "cy@example.com"),
                ("name", "Cy <b>"),
                ("role", "agent"),
            ],
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Invitation for cy@example.com"), "{page}");
    let link = link_path(&page);
    assert!(
        admin
            .html("/console/staff")
            .await
            .contains("Invitations not yet accepted")
    );

    let mut newcomer = Console::new(&app);
    let form = newcomer.html(&link).await;
    assert!(form.contains("Join Earshot"));
    assert!(
        form.contains("value=\"Cy &lt;b&gt;\""),
        "the name is prefilled, escaped"
    );
    let weak = newcomer
        .post(&link, &[("name", "Cy"), ("password", "short")])
        .await;
    assert_eq!(weak.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let joined = newcomer
        .post(&link, &[("name", "Cy"), ("password", PASSWORD)])
        .await;
    assert_eq!(joined.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&joined), "/console");
    newcomer.cookie = session_cookie(joined.headers());
    assert!(newcomer.html("/console").await.contains("Cy"));
    let role: String = app
        .db()
        .query_row(
            "SELECT role FROM users WHERE email = 'cy@example.com'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(role, "agent");

    // Used once; and a link past 72 hours is dead too.
    let again = Console::new(&app)
        .post(&link, &[("name", "Mallory"), ("password", PASSWORD)])
        .await;
    assert_eq!(again.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = invited(&admin, "dee@example.com", "admin").await;
    let late = link_path(&page);
    // Inviting an existing colleague is refused, plainly.
    let taken = admin
        .act(
            "/console/staff/invite",
            &[("email", "BO@example.com"), ("role", "agent")],
        )
        .await;
    assert_eq!(taken.status(), StatusCode::UNPROCESSABLE_ENTITY);
    clock.advance(72 * 3_600_000 + 1);
    let expired = Console::new(&app).get(&late).await;
    assert_eq!(expired.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let junk = Console::new(&app).get("/console/link/not-a-link").await;
    assert_eq!(junk.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_newcomer_who_joins_under_a_colleagues_name_is_told_where_to_choose_another() {
    let (app, _clock) = console_app().await;
    let admin = signed_in(&app, "ada@example.com").await;
    let link = link_path(&invited(&admin, "bo.other@example.com", "agent").await);
    let mut newcomer = Console::new(&app);
    let joined = newcomer
        .post(&link, &[("name", " Bo "), ("password", PASSWORD)])
        .await;
    assert_eq!(joined.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&joined), "/console/account?done=joined");
    newcomer.cookie = session_cookie(joined.headers());
    let page = newcomer.html("/console/account?done=joined").await;
    assert!(
        page.contains("Welcome. Colleagues see you as <strong>Bo</strong>. Another colleague is called that too"),
        "{page}"
    );
    // The notice is about this account's name, not anyone's say-so in the
    // address: Ada, alone in her name, is not told it.
    let alone = admin.html("/console/account?done=joined").await;
    assert!(
        !alone.contains("Another colleague is called that too"),
        "{alone}"
    );
    assert!(!alone.contains("Welcome."), "{alone}");
}

#[tokio::test]
async fn an_invitation_sent_to_the_wrong_address_is_withdrawn_and_its_link_stops() {
    let (app, _) = console_app().await;
    let admin = signed_in(&app, "ada@example.com").await;
    let page = invited(&admin, "cy@exmaple.com", "admin").await;
    let link = link_path(&page);
    let listed = admin.html("/console/staff").await;
    let line = between(&listed, "<ul class=\"invites\"><li>", "<form");
    assert!(
        line.starts_with("cy@exmaple.com as administrator, invited <time"),
        "{line}"
    );
    assert!(
        line.contains(">just now</time> by Ada, valid for another 3 d"),
        "{line}"
    );
    let withdraw = format!(
        "/console/staff/links/{}/withdraw",
        between(&listed, "/console/staff/links/", "/withdraw")
    );
    // Only an administrator, and only with the page's token.
    let agent = signed_in(&app, "bo@example.com").await;
    assert_eq!(
        agent.act(&withdraw, &[]).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        admin.post(&withdraw, &[]).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(Console::new(&app).get(&link).await.status(), StatusCode::OK);

    let done = admin.act(&withdraw, &[]).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    let after = admin.html(&location(&done)).await;
    assert!(
        after.contains("Link withdrawn: it no longer works."),
        "{after}"
    );
    assert!(!after.contains("cy@exmaple.com"), "no longer listed");
    let stopped = Console::new(&app)
        .post(&link, &[("name", "Cy"), ("password", PASSWORD)])
        .await;
    assert_eq!(stopped.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let again = admin.act(&withdraw, &[]).await;
    assert_eq!(again.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        again
            .text()
            .await
            .unwrap()
            .contains("can no longer be withdrawn")
    );
    let audit = admin.html("/console/audit").await;
    assert!(audit.contains("staff.invite_withdrawn"), "{audit}");
}

#[tokio::test]
async fn disabling_an_account_ends_its_sessions_and_tokens_at_once_but_keeps_its_name() {
    let (app, _) = console_app().await;
    let (id, _) = submit(&app, complaint(&app, "Paket beschädigt")).await;
    let bo = signed_in(&app, "bo@example.com").await;
    bo.act(
        &format!("/console/entries/{id}/note"),
        &[("body", "Checking with the warehouse")],
    )
    .await;
    let html = bo
        .act("/console/tokens", &[("name", "script"), ("scope", "read")])
        .await
        .text()
        .await
        .unwrap();
    let token = format!("esk_{}", between(&html, "<code class=\"secret\">esk_", "<"));
    let api = |token: String| {
        let url = format!("{}/api/v1/sites", app.address);
        async move {
            reqwest::Client::new()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(api(token.clone()).await, StatusCode::OK);

    let admin = signed_in(&app, "ada@example.com").await;
    let bo_id = user_id(&app, "bo@example.com");
    let given = admin
        .act(
            &format!("/console/entries/{id}/assign"),
            &[("assignee", &bo_id.to_string())],
        )
        .await;
    assert_eq!(given.status(), StatusCode::SEE_OTHER);
    let done = admin
        .act(&format!("/console/staff/{bo_id}/disable"), &[])
        .await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&done), "/console/staff?done=disabled");
    assert!(
        admin
            .html("/console/staff?done=disabled")
            .await
            .contains("Account disabled")
    );

    // What was left with Bo can be found, to be handed on, but no new
    // work is offered to him.
    let staff_page = admin.html("/console/staff").await;
    let theirs = format!("/console?view=all&amp;assignee={bo_id}");
    assert!(
        staff_page.contains(&format!(
            "<a href=\"{theirs}\">Entries assigned to them</a>"
        )),
        "{staff_page}"
    );
    let left = admin
        .html(&format!("/console?view=all&assignee={bo_id}"))
        .await;
    assert!(left.contains(&id), "{left}");
    assert!(
        left.contains(&format!(
            "<option value=\"{bo_id}\" selected>Bo (disabled)</option>"
        )),
        "{left}"
    );
    assert!(
        !left.contains(&format!("value=\"assign:{bo_id}\"")),
        "{left}"
    );
    let nobody = admin.get("/console?view=all&assignee=99999").await;
    assert_eq!(nobody.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        nobody
            .text()
            .await
            .unwrap()
            .contains("No colleague has the id 99999.")
    );

    assert_eq!(bo.get("/console").await.status(), StatusCode::FOUND);
    assert_eq!(api(token.clone()).await, StatusCode::UNAUTHORIZED);
    let mut again = Console::new(&app);
    let refused = again.login("bo@example.com", PASSWORD).await;
    assert_ne!(refused.status(), StatusCode::SEE_OTHER, "cannot sign in");
    let entry = admin.html(&format!("/console/entries/{id}")).await;
    assert!(entry.contains("<strong>Bo</strong> added an internal note"));
    // Still his, not "Nobody"; the form sent back unchanged changes nothing.
    assert!(
        entry.contains(&format!(
            "<option value=\"{bo_id}\" selected>Bo (disabled)</option>"
        )),
        "{entry}"
    );
    let kept = admin
        .act(
            &format!("/console/entries/{id}/assign"),
            &[
                ("assignee", &bo_id.to_string()),
                ("seen", &bo_id.to_string()),
            ],
        )
        .await;
    assert_eq!(kept.status(), StatusCode::SEE_OTHER);
    let (other, _) = submit(&app, complaint(&app, "Zweites Paket")).await;
    let assign = admin
        .act(
            &format!("/console/entries/{other}/assign"),
            &[("assignee", &bo_id.to_string())],
        )
        .await;
    assert_eq!(
        assign.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "no work for a disabled account"
    );
    let said = assign.text().await.unwrap();
    assert!(
        said.contains("No active colleague is called that (a disabled account takes no new work)."),
        "{said}"
    );

    let enabled = admin
        .act(&format!("/console/staff/{bo_id}/enable"), &[])
        .await;
    assert_eq!(enabled.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        again.login("bo@example.com", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        api(token).await,
        StatusCode::UNAUTHORIZED,
        "tokens stay revoked"
    );
}

#[tokio::test]
async fn the_last_active_admin_can_be_neither_disabled_nor_demoted() {
    let (app, _) = console_app().await;
    let admin = signed_in(&app, "ada@example.com").await;
    let ada = user_id(&app, "ada@example.com");
    let bo = user_id(&app, "bo@example.com");
    let demote = admin
        .act(&format!("/console/staff/{ada}/role"), &[("role", "agent")])
        .await;
    assert_eq!(demote.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = demote.text().await.unwrap();
    assert!(html.contains("<h1>Staff</h1>"), "the Staff page: {html}");
    assert!(html.contains("role=\"alert\">"), "{html}");
    assert!(html.contains("last active administrator"), "{html}");
    let own = admin
        .act(&format!("/console/staff/{ada}/disable"), &[])
        .await;
    assert_eq!(own.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = own.text().await.unwrap();
    assert!(html.contains("<h1>Staff</h1>"), "{html}");
    assert!(
        html.contains("role=\"alert\">You cannot disable your own account"),
        "{html}"
    );
    // With a second admin, stepping down works.
    let promote = admin
        .act(&format!("/console/staff/{bo}/role"), &[("role", "admin")])
        .await;
    assert_eq!(promote.status(), StatusCode::SEE_OTHER);
    let demote = admin
        .act(&format!("/console/staff/{ada}/role"), &[("role", "agent")])
        .await;
    assert_eq!(demote.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        admin.get("/console/staff").await.status(),
        StatusCode::FORBIDDEN,
        "an agent now"
    );
    let actions: Vec<String> = crate::helpers::audit_rows(&app)
        .into_iter()
        .map(|row| row.0)
        .collect();
    assert_eq!(actions, ["staff.role", "staff.role"]);
}

#[tokio::test]
async fn an_admin_renames_a_colleague_everywhere_and_a_bad_name_comes_back_with_the_reason() {
    let (app, _) = console_app().await;
    let admin = signed_in(&app, "ada@example.com").await;
    let bo = user_id(&app, "bo@example.com");
    let renamed = admin
        .act(
            &format!("/console/staff/{bo}/name"),
            &[("name", " Bo Jensen ")],
        )
        .await;
    assert_eq!(renamed.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&renamed), "/console/staff?done=name");
    let page = admin.html("/console/staff?done=name").await;
    assert!(page.contains("Name changed"), "{page}");
    assert!(page.contains("<td>Bo Jensen<details"), "{page}");
    // Bo sees it as his own name.
    let colleague = signed_in(&app, "bo@example.com").await;
    assert!(
        colleague
            .html("/console/account")
            .await
            .contains(r#"value="Bo Jensen""#)
    );

    let refused = admin
        .act(
            &format!("/console/staff/{bo}/name"),
            &[("name", "Bo\r\nBcc: all@example.com")],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    assert!(html.contains("<h1>Staff</h1>"), "{html}");
    assert!(html.contains("line breaks"), "{html}");
    let unknown = admin
        .act("/console/staff/99999/name", &[("name", "Nobody")])
        .await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    // Agents may rename only themselves.
    let forbidden = colleague
        .act(
            &format!("/console/staff/{}/name", user_id(&app, "ada@example.com")),
            &[("name", "Not Ada")],
        )
        .await;
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        crate::helpers::audit_log(&app.db(), "staff.renamed"),
        [(
            "staff.renamed".to_owned(),
            Some("ada@example.com".to_owned()),
            "bo@example.com".to_owned(),
            None
        )]
    );
}

#[tokio::test]
async fn a_reset_link_sets_a_new_password_and_ends_the_old_sessions() {
    let (app, _) = console_app().await;
    let bo = signed_in(&app, "bo@example.com").await;
    let admin = signed_in(&app, "ada@example.com").await;
    let bo_id = user_id(&app, "bo@example.com");
    let page = admin
        .act(&format!("/console/staff/{bo_id}/reset"), &[])
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Password reset link for Bo"));
    let link = link_path(&page);
    let browser = Console::new(&app);
    assert!(browser.html(&link).await.contains("Choose a new password"));
    let set = browser
        .post(&link, &[("password", "an entirely new passphrase")])
        .await;
    assert_eq!(set.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        bo.get("/console").await.status(),
        StatusCode::FOUND,
        "old session ended"
    );
    let mut fresh = Console::new(&app);
    assert_ne!(
        fresh.login("bo@example.com", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        fresh
            .login("bo@example.com", "an entirely new passphrase")
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn a_reset_link_is_shown_on_its_account_until_used_and_can_be_withdrawn() {
    let (app, _) = console_app().await;
    let admin = signed_in(&app, "ada@example.com").await;
    let bo_id = user_id(&app, "bo@example.com");
    let page = admin
        .act(&format!("/console/staff/{bo_id}/reset"), &[])
        .await
        .text()
        .await
        .unwrap();
    let link = link_path(&page);
    let listed = admin.html("/console/staff").await;
    // Who signs in, and who never has.
    let ada_row = between(&listed, "<td>ada@example.com</td>", "</td>");
    assert!(ada_row.contains(">just now</time>"), "{ada_row}");
    let bo_row = between(&listed, "<td>bo@example.com</td>", "</td>");
    assert!(bo_row.contains("never"), "{bo_row}");
    let out = between(&listed, "<p class=\"reset\">", "<form");
    assert_eq!(
        out,
        "Password reset link out (made by Ada), valid for another 3 d "
    );
    let withdraw = format!(
        "/console/staff/links/{}/withdraw",
        between(&listed, "/console/staff/links/", "/withdraw")
    );
    assert!(
        listed.contains("the password reset link for Bo"),
        "named for screen readers"
    );
    let done = admin.act(&withdraw, &[]).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert!(
        !admin
            .html("/console/staff")
            .await
            .contains("Password reset link out")
    );
    let stopped = Console::new(&app)
        .post(&link, &[("password", "an entirely new passphrase")])
        .await;
    assert_eq!(stopped.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let mut bo = Console::new(&app);
    assert_eq!(
        bo.login("bo@example.com", PASSWORD).await.status(),
        StatusCode::SEE_OTHER,
        "the password is as it was"
    );
    let audit = admin.html("/console/audit").await;
    assert!(audit.contains("staff.reset_withdrawn"), "{audit}");
}

#[tokio::test]
async fn an_invitation_is_emailed_when_smtp_is_set() {
    let (app, _, mut mails) = console_app_with_mail().await;
    let admin = signed_in(&app, "ada@example.com").await;
    let page = invited(&admin, "cy@example.com", "agent").await;
    assert!(page.contains("has been emailed to them"), "{page}");
    let link = link_path(&page);
    let mail = loop {
        let mail = tokio::time::timeout(std::time::Duration::from_secs(10), mails.recv())
            .await
            .expect("the invitation is emailed")
            .unwrap()
            .replace("=\n", "");
        if mail.contains("To: cy@example.com") {
            break mail;
        }
    };
    assert!(mail.contains("Ada invited you"), "{mail}");
    assert!(mail.contains(&link), "the same one-time link: {mail}");
}

#[tokio::test]
async fn a_refused_invitation_comes_back_as_typed_with_the_reason() {
    let (app, _) = console_app().await;
    let admin = signed_in(&app, "ada@example.com").await;
    let refused = admin
        .act(
            "/console/staff/invite",
            &[
                ("email", "cy-at-example.com"),
                ("name", "Cy <b>"),
                ("role", "admin"),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    assert!(
        html.contains("<h1>Staff</h1>"),
        "the page, not an error page"
    );
    assert!(
        html.contains("role=\"alert\">Enter a valid email address."),
        "{html}"
    );
    assert!(html.contains("value=\"cy-at-example.com\""), "{html}");
    assert!(html.contains("value=\"Cy &lt;b&gt;\""), "{html}");
    assert!(
        html.contains("<option value=\"admin\" selected>"),
        "the role as chosen: {html}"
    );
    assert!(!html.contains("/console/link/"), "no link was made");
    let links: i64 = app
        .db()
        .query_row("SELECT count(*) FROM account_links", [], |r| r.get(0))
        .unwrap();
    assert_eq!(links, 0);
}
