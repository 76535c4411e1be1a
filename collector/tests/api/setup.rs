//! The first account: the setup link printed at start while no staff
//! account exists, good once, and what it does once the command line made
//! the first account meanwhile.

use reqwest::StatusCode;

use crate::cli_integrations::add_admin;
use crate::helpers::{Binary, spawn_app_with};
use crate::staff::{Console, PASSWORD, session_cookie};

/// The token a setup link (or its path) carries.
pub fn setup_token(link: &str) -> &str {
    link.split_once("token=")
        .map(|(_, token)| token)
        .expect("a setup link carries its token")
}

#[tokio::test]
async fn the_setup_link_creates_the_first_admin_once() {
    let app = spawn_app_with(|_| {}).await;
    let setup = app.running.setup_url.clone().expect("no users yet");
    let path = setup.trim_start_matches(&app.address).to_owned();
    let token = setup_token(&path).to_owned();
    let mut console = Console::new(&app);
    assert_eq!(console.get(&path).await.status(), StatusCode::OK);
    assert_eq!(
        console.get("/console/setup?token=wrong").await.status(),
        StatusCode::NOT_FOUND
    );
    let short = console
        .post(
            "/console/setup",
            &[
                ("token", &token),
                ("name", "Ada"),
                ("email", "ada@example.com"),
                ("password", "short"),
            ],
        )
        .await;
    assert_eq!(short.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let created = console
        .post(
            "/console/setup",
            &[
                ("token", &token),
                ("name", "Ada"),
                ("email", "ada@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    console.cookie = session_cookie(created.headers());
    assert!(console.html("/console").await.contains("Ada"));
    assert_eq!(
        console.get(&path).await.status(),
        StatusCode::NOT_FOUND,
        "used up"
    );
    let role: String = app
        .db()
        .query_row("SELECT role FROM users", [], |r| r.get(0))
        .unwrap();
    assert_eq!(role, "admin");
}

/// `earshot user add` for Ada, an administrator, beside the running server.
async fn cli_adds_ada(app: &crate::helpers::TestApp) {
    let db = app.db_path.clone();
    tokio::task::spawn_blocking(move || add_admin(&db, "ada@example.com"))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_setup_link_followed_after_the_cli_made_the_first_account_opens_the_sign_in_form() {
    let app = spawn_app_with(|_| {}).await;
    let setup = app.running.setup_url.clone().expect("no users yet");
    let path = setup.trim_start_matches(&app.address).to_owned();
    let console = Console::new(&app);
    let before = console.html("/console/login").await;
    assert!(before.contains("No staff account exists yet"), "{before}");

    cli_adds_ada(&app).await;
    let followed = console.html(&path).await;
    assert!(
        followed.contains("The first account has been made already"),
        "{followed}"
    );
    assert!(
        followed.contains(r#"action="/console/login""#),
        "{followed}"
    );
    assert!(
        !followed.contains(r#"action="/console/setup""#),
        "{followed}"
    );
    assert_eq!(
        console.get(&path).await.status(),
        StatusCode::NOT_FOUND,
        "the link has ended"
    );
    let after = console.html("/console/login").await;
    assert!(!after.contains("No staff account exists yet"), "{after}");
}

#[tokio::test]
async fn a_setup_form_sent_after_the_cli_made_the_first_account_makes_nobody_and_says_why() {
    let app = spawn_app_with(|_| {}).await;
    let setup = app.running.setup_url.clone().expect("no users yet");
    let path = setup.trim_start_matches(&app.address).to_owned();
    let token = setup_token(&path).to_owned();
    let console = Console::new(&app);
    // The form was opened before the account was made elsewhere.
    assert_eq!(console.get(&path).await.status(), StatusCode::OK);

    cli_adds_ada(&app).await;
    let sent = console
        .post(
            "/console/setup",
            &[
                ("token", &token),
                ("name", "Mallory"),
                ("email", "mallory@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(sent.status(), StatusCode::CONFLICT);
    assert!(session_cookie(sent.headers()).is_none(), "nobody signed in");
    let page = sent.text().await.unwrap();
    assert!(
        page.contains("The first account has been made already"),
        "{page}"
    );
    let emails: Vec<String> = app
        .db()
        .prepare("SELECT email FROM users")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(emails, ["ada@example.com"]);
}

#[tokio::test]
async fn a_restart_prints_the_same_setup_link_while_no_account_exists() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("earshot.db");
    let first = Binary::start(&db, &[]);
    let token = setup_token(&first.setup_url()).to_owned();
    drop(first);
    let again = Binary::start(&db, &[]);
    assert_eq!(setup_token(&again.setup_url()), token);
    let console = Console::at(&again.url);
    let path = format!("/console/setup?token={token}");
    assert_eq!(console.get(&path).await.status(), StatusCode::OK);
}
