//! "Forgot your password?": a link by email, the same answer for every
//! address, and limits on who may ask how often.

use std::time::Duration;

use earshot_protocol::limits::EMAIL_MAX;
use reqwest::StatusCode;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::sync::mpsc::error::TryRecvError;

use crate::helpers::TestApp;
use crate::staff::{Console, console_app, console_app_with_mail, signed_in};

async fn app_with_mail() -> (TestApp, UnboundedReceiver<String>) {
    let (app, _, mails) = console_app_with_mail().await;
    (app, mails)
}

async fn ask(app: &TestApp, email: &str) -> reqwest::Response {
    Console::new(app)
        .post("/console/forgot", &[("email", email)])
        .await
}

/// The next email, which must come within ten seconds.
async fn next_mail(mails: &mut UnboundedReceiver<String>) -> String {
    tokio::time::timeout(Duration::from_secs(10), mails.recv())
        .await
        .expect("an email within ten seconds")
        .unwrap()
        .replace("=\r\n", "")
        .replace("=\n", "")
}

/// No further email, after giving one time to arrive.
async fn assert_no_more_mail(mails: &mut UnboundedReceiver<String>) {
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(mails.try_recv().unwrap_err(), TryRecvError::Empty);
}

fn link_in(mail: &str) -> String {
    let start = mail.find("/console/link/").expect("a link in the email");
    mail[start..start + "/console/link/".len() + 32].to_owned()
}

#[tokio::test]
async fn a_forgotten_password_is_reset_by_an_emailed_link_that_works_once() {
    let (app, mut mails) = app_with_mail().await;
    let login = Console::new(&app).html("/console/login").await;
    assert!(login.contains(r#"<a href="/console/forgot">Forgot your password?</a>"#));
    let answer = ask(&app, " bo@example.com ").await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert!(answer.text().await.unwrap().contains("is on its way"));

    let mail = next_mail(&mut mails).await;
    assert!(mail.contains("To: bo@example.com"), "{mail}");
    assert!(mail.contains("Someone, most likely you"), "{mail}");
    assert!(mail.contains("for an hour"), "{mail}");
    let link = link_in(&mail);
    let browser = Console::new(&app);
    assert!(browser.html(&link).await.contains("Choose a new password"));
    let set = browser
        .post(&link, &[("password", "a passphrase chosen by mail")])
        .await;
    assert_eq!(set.status(), StatusCode::SEE_OTHER);
    let mut fresh = Console::new(&app);
    let signed_in_again = fresh
        .login("bo@example.com", "a passphrase chosen by mail")
        .await;
    assert_eq!(signed_in_again.status(), StatusCode::SEE_OTHER);
    let again = Console::new(&app)
        .post(&link, &[("password", "yet another passphrase")])
        .await;
    assert_ne!(again.status(), StatusCode::SEE_OTHER, "the link works once");
    assert!(
        again
            .text()
            .await
            .unwrap()
            .contains("Forgot your password?")
    );

    // The audit log says who asked: the account's owner, at sign-in.
    let admin = signed_in(&app, "ada@example.com").await;
    let audit = admin.html("/console/audit").await;
    assert!(audit.contains("staff.reset_asked"), "{audit}");
}

#[tokio::test]
async fn every_address_gets_the_same_answer_and_only_an_account_gets_mail() {
    let (app, mut mails) = app_with_mail().await;
    let unknown = ask(&app, "nobody@example.com").await;
    assert_eq!(unknown.status(), StatusCode::OK);
    let unknown = unknown.text().await.unwrap();
    let known = ask(&app, "bo@example.com").await.text().await.unwrap();
    assert_eq!(
        unknown.replace("nobody@example.com", "<address>"),
        known.replace("bo@example.com", "<address>")
    );
    let mail = next_mail(&mut mails).await;
    assert!(mail.contains("To: bo@example.com"), "{mail}");
    assert_no_more_mail(&mut mails).await;

    // What cannot be an address is said so, and never echoed at length.
    let empty = ask(&app, "  ").await;
    assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        empty
            .text()
            .await
            .unwrap()
            .contains("Enter your email address.")
    );
    let long = format!("{}@example.com", "a".repeat(EMAIL_MAX));
    let long = ask(&app, &long).await;
    assert_eq!(long.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!long.text().await.unwrap().contains("aaaaaaaaaa"));
    // Far beyond any address, the form is refused before it is read.
    let huge = format!("{}@example.com", "a".repeat(5_000));
    assert_eq!(
        ask(&app, &huge).await.status(),
        StatusCode::PAYLOAD_TOO_LARGE
    );
}

#[tokio::test]
async fn a_mailbox_gets_a_few_links_and_a_network_may_ask_only_so_often() {
    let (app, mut mails) = app_with_mail().await;
    // Five wrong passwords first: asking for a link is still allowed.
    let mut guesser = Console::new(&app);
    for _ in 0..5 {
        guesser.login("bo@example.com", "not it").await;
    }
    for _ in 0..3 {
        assert_eq!(ask(&app, "bo@example.com").await.status(), StatusCode::OK);
        assert!(next_mail(&mut mails).await.contains("To: bo@example.com"));
    }
    // A fourth asks in vain, and is told exactly what the others were.
    let fourth = ask(&app, "bo@example.com").await;
    assert_eq!(fourth.status(), StatusCode::OK);
    assert!(fourth.text().await.unwrap().contains("is on its way"));
    assert_no_more_mail(&mut mails).await;
    // Ten requests per network, then a wait.
    for n in 4..10 {
        let answer = ask(&app, &format!("someone{n}@example.com")).await;
        assert_eq!(answer.status(), StatusCode::OK, "request {n}");
    }
    let refused = ask(&app, "ada@example.com").await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn without_email_the_page_says_who_can_reset_a_password_instead() {
    let (app, _) = console_app().await;
    let page = Console::new(&app).html("/console/forgot").await;
    assert!(page.contains("not set up to send email"), "{page}");
    assert!(page.contains("earshot user password --email &lt;your address&gt;"));
    let answer = ask(&app, "bo@example.com").await;
    assert_eq!(answer.status(), StatusCode::OK);
    let answer = answer.text().await.unwrap();
    assert!(answer.contains("earshot user password --email bo@example.com"));
}
