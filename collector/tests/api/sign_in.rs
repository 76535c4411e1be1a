//! Signing in and staying signed in: sessions, cookies, CSRF and the
//! sign-in throttle (the first account's setup link: `setup`).

use std::time::Duration;

use earshot_collector::config::Config;
use earshot_collector::server;
use reqwest::StatusCode;
use reqwest::header::SET_COOKIE;

use crate::helpers::Binary;
use crate::staff::{
    Console, PASSWORD, add_staff, complaint, console_app, console_app_with, location,
    session_cookie, signed_in, submit,
};

#[tokio::test]
async fn console_routes_redirect_to_login_or_answer_401_without_a_session() {
    let (app, _) = console_app().await;
    let anonymous = Console::new(&app);
    for path in [
        "/console",
        "/console/promises",
        "/console/sites",
        "/console/entries/e_00000000000000000000000",
    ] {
        let response = anonymous.get(path).await;
        assert_eq!(response.status(), StatusCode::FOUND, "{path}");
        assert!(location(&response).starts_with("/console/login?next=%2Fconsole"));
    }
    for path in [
        "/console/bulk",
        "/console/logout",
        "/console/entries/x/note",
    ] {
        let response = anonymous.post(path, &[("_csrf", "x")]).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    // A forged cookie is no session either.
    let mut forged = Console::new(&app);
    forged.cookie = Some(format!("earshot_session={}", "a".repeat(52)));
    assert_eq!(forged.get("/console").await.status(), StatusCode::FOUND);
    // The collector's bare address leads to the console, and from there
    // to signing in.
    let root = anonymous.get("/").await;
    assert_eq!(root.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&root), "/console");
}

#[tokio::test]
async fn every_console_response_carries_the_strict_headers() {
    let (app, _) = console_app().await;
    let console = signed_in(&app, "ada@example.com").await;
    for response in [
        Console::new(&app).get("/console/login").await,
        Console::new(&app).get("/console").await,
        console.get("/console").await,
        console.get("/console/nowhere").await,
    ] {
        let h = response.headers();
        assert_eq!(
            h["content-security-policy"],
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        );
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["cache-control"], "no-store");
        assert!(h.contains_key("referrer-policy"));
    }
}

#[tokio::test]
async fn login_sets_a_strict_cookie_rotates_the_session_and_logout_ends_it() {
    let (app, _) = console_app().await;
    let mut console = Console::new(&app);
    let response = console.login("ada@example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/console");
    let set_cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Strict"), "{set_cookie}");
    assert!(!set_cookie.contains("Secure"), "plain http: {set_cookie}");
    let first = console.cookie.clone().unwrap();
    assert!(first.len() > "earshot_session=".len() + 50, "≥ 256 bits");

    // Signing in again from the same browser replaces the session.
    console.login("ada@example.com", PASSWORD).await;
    let second = console.cookie.clone().unwrap();
    assert_ne!(first, second);
    let mut old = Console::new(&app);
    old.cookie = Some(first);
    assert_eq!(old.get("/console").await.status(), StatusCode::FOUND);
    assert_eq!(console.get("/console").await.status(), StatusCode::OK);

    let response = console.act("/console/logout", &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(
        response.headers()[SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_eq!(console.get("/console").await.status(), StatusCode::FOUND);
}

#[tokio::test]
async fn wrong_passwords_and_unknown_accounts_get_the_same_answer_then_throttling() {
    let (app, _) = console_app().await;
    let mut console = Console::new(&app);
    let wrong = console.login("ada@example.com", "not the password").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let wrong = wrong.text().await.unwrap();
    let unknown = console
        .login("nobody@example.com", "not the password")
        .await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    let unknown = unknown.text().await.unwrap();
    assert!(wrong.contains("Wrong email or password."));
    assert_eq!(
        wrong.replace("ada@example.com", ""),
        unknown.replace("nobody@example.com", "")
    );
    // Five attempts per account, then 429 even with the right password.
    for _ in 0..4 {
        console.login("ada@example.com", "guess guess guess").await;
    }
    let throttled = console.login("ada@example.com", PASSWORD).await;
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(throttled.headers().contains_key("retry-after"));
    // Another account from the same place is still fine.
    assert_eq!(
        console.login("bo@example.com", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn idle_sessions_end_on_the_clock() {
    let (app, clock) = console_app().await;
    let console = signed_in(&app, "ada@example.com").await;
    clock.advance(7 * 3_600_000);
    assert_eq!(console.get("/console").await.status(), StatusCode::OK);
    // Activity kept it alive; another idle stretch past 8 h ends it.
    clock.advance(8 * 3_600_000 + 1);
    assert_eq!(console.get("/console").await.status(), StatusCode::FOUND);
}

#[tokio::test]
async fn forms_without_the_sessions_csrf_token_or_from_another_origin_are_refused() {
    let (app, _) = console_app().await;
    let (id, _) = submit(&app, complaint(&app, "Refund never arrived")).await;
    let console = signed_in(&app, "ada@example.com").await;
    let path = format!("/console/entries/{id}/note");
    let token = console.csrf().await;
    let missing = console.post(&path, &[("body", "x")]).await;
    assert_eq!(missing.status(), StatusCode::FORBIDDEN);
    let wrong = console
        .post(
            &path,
            &[("_csrf", "0".repeat(token.len()).as_str()), ("body", "x")],
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    let cross_site = console
        .post_with(
            &path,
            &[("_csrf", token.as_str()), ("body", "x")],
            &[
                ("origin", "https://evil.example"),
                ("sec-fetch-site", "cross-site"),
            ],
        )
        .await;
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);
    let ok = console
        .post(
            &path,
            &[("_csrf", token.as_str()), ("body", "Checked the PSP logs")],
        )
        .await;
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    let notes: i64 = app
        .db()
        .query_row("SELECT count(*) FROM events WHERE kind = 'note'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(notes, 1, "only the accepted form wrote");
}

/// Sends a form whose declared length is `declared` bytes but only its
/// first `sent`, the way a flood would, and returns the status line.
async fn post_declared(
    address: &str,
    path: &str,
    declared: usize,
    sent: &[u8],
    extra_headers: &str,
) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\n{extra_headers}Content-Length: {declared}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // The server may answer and close before the body is through.
    let _ = stream.write_all(sent).await;
    let mut answer = vec![0u8; 256];
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut answer))
        .await
        .expect("an answer without waiting for the declared body")
        .unwrap_or(0);
    String::from_utf8_lossy(&answer[..read])
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn a_flood_of_megabyte_sign_in_emails_leaves_memory_where_it_was() {
    let dir = tempfile::tempdir().unwrap();
    // RSS as a measure of live memory: mimalloc otherwise keeps what a
    // thread freed (a password hash's 19 MiB) until that thread allocates
    // again, and a sample then moves by tens of MiB either way with the
    // scheduling of the test machine.
    let live_memory = [("MIMALLOC_PURGE_DELAY", "0")];
    let server = Binary::start(&dir.path().join("earshot.db"), &live_memory);
    let email = format!("email={}%40example.com&password=x", "a".repeat(1_900_000));
    // Warm up: the first requests allocate what any request needs.
    for _ in 0..5 {
        let small = b"email=a%40example.com&password=b";
        post_declared(&server.url, "/console/login", small.len(), small, "").await;
    }
    let before = server.settled_rss_kib().await;
    let mut statuses = std::collections::BTreeMap::<String, usize>::new();
    for _ in 0..300 {
        let status = post_declared(
            &server.url,
            "/console/login",
            email.len(),
            email.as_bytes(),
            "",
        )
        .await;
        *statuses.entry(status).or_default() += 1;
    }
    // Within the form's size, but each address different and long: the
    // throttle keeps a fixed-size tag per key, and nothing once throttled.
    let client = reqwest::Client::new();
    for i in 0..2_000 {
        let email = format!("{i}{}@example.com", "b".repeat(230));
        let _ = client
            .post(format!("{}/console/login", server.url))
            .form(&[("email", email.as_str()), ("password", "not it")])
            .send()
            .await
            .unwrap();
    }
    let after = server.settled_rss_kib().await;
    eprintln!("sign-in flood: RSS {before} KiB -> {after} KiB; answers {statuses:?}");
    assert_eq!(
        statuses.get("HTTP/1.1 413 Payload Too Large"),
        Some(&300),
        "{statuses:?}"
    );
    assert!(
        after < before + 6 * 1024,
        "RSS grew from {before} KiB to {after} KiB"
    );
}

#[tokio::test]
async fn console_forms_are_capped_at_what_the_form_can_hold() {
    let (app, _) = console_app().await;
    let (id, _) = submit(&app, complaint(&app, "The tracking link is dead")).await;
    let console = signed_in(&app, "ada@example.com").await;
    // A declared body past the form's size is refused before it is read.
    let cookie = console.cookie_header().unwrap();
    let status = post_declared(
        &app.address,
        &format!("/console/entries/{id}/note"),
        5_000_000,
        b"_csrf=x&body=",
        &format!("Cookie: {cookie}\r\n"),
    )
    .await;
    assert_eq!(status, "HTTP/1.1 413 Payload Too Large");
    let setup = post_declared(&app.address, "/console/setup", 1_000_000, b"token=", "").await;
    assert_eq!(setup, "HTTP/1.1 413 Payload Too Large");
    // The longest reply the form allows, in a script that needs three bytes
    // a character and nine percent-encoded, still fits.
    let longest = "続".repeat(10_000);
    let reply = console
        .act(
            &format!("/console/entries/{id}/reply"),
            &[("body", longest.as_str())],
        )
        .await;
    assert_eq!(reply.status(), StatusCode::SEE_OTHER);
    let stored: String = app
        .db()
        .query_row("SELECT body FROM events WHERE kind = 'reply'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(stored, longest);
}

#[tokio::test]
async fn an_attacker_hammering_an_account_from_other_ips_does_not_stop_its_owner() {
    let (app, _) =
        console_app_with(|c| c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()]).await;
    // The owner signed in from this browser before.
    let mut owner = Console::new(&app);
    let first = owner
        .login_from("ada@example.com", PASSWORD, "198.51.100.20")
        .await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    assert!(owner.device.is_some(), "a device cookie is set on sign-in");
    let device_cookie = first
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("earshot_device="))
        .unwrap();
    assert!(device_cookie.contains("HttpOnly"), "{device_cookie}");
    assert!(device_cookie.contains("SameSite=Strict"), "{device_cookie}");

    // Guesses from twelve networks, five each: every per-network budget
    // and then the account's budget for unknown browsers run out.
    let mut attacker = Console::new(&app);
    let mut refused = 0;
    for net in 0..12 {
        let ip = format!("203.0.113.{net}");
        for _ in 0..5 {
            let answer = attacker.login_from("ada@example.com", "guess", &ip).await;
            if answer.status() == StatusCode::TOO_MANY_REQUESTS {
                refused += 1;
            }
        }
    }
    assert!(refused >= 10, "the account budget held ({refused} refused)");
    // A browser that never signed in to this account is kept out, even
    // with the right password from a fresh network ...
    let mut stranger = Console::new(&app);
    let answer = stranger
        .login_from("ada@example.com", PASSWORD, "192.0.2.99")
        .await;
    assert_eq!(answer.status(), StatusCode::TOO_MANY_REQUESTS);
    // ... but the owner's own browser gets in, at home and on the road.
    owner.cookie = None;
    let home = owner
        .login_from("ada@example.com", PASSWORD, "198.51.100.20")
        .await;
    assert_eq!(home.status(), StatusCode::SEE_OTHER);
    let road = owner
        .login_from("ada@example.com", PASSWORD, "203.0.113.3")
        .await;
    assert_eq!(road.status(), StatusCode::SEE_OTHER);
    assert_eq!(owner.get("/console").await.status(), StatusCode::OK);
    // Another account is not affected.
    assert_eq!(
        stranger
            .login_from("bo@example.com", PASSWORD, "192.0.2.99")
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn an_office_signing_in_for_the_first_time_from_one_address_is_not_throttled() {
    let (app, _) = console_app().await;
    // Far more browsers without a device cookie than one network may
    // guess from (20), each signing in to one of two accounts (5 each).
    for n in 0..30 {
        let email = if n % 2 == 0 {
            "ada@example.com"
        } else {
            "bo@example.com"
        };
        let mut browser = Console::new(&app);
        let answer = browser.login(email, PASSWORD).await;
        assert_eq!(answer.status(), StatusCode::SEE_OTHER, "sign-in {n}");
    }
    // Guessing from there is still counted in full.
    let mut guesser = Console::new(&app);
    for _ in 0..5 {
        let answer = guesser.login("ada@example.com", "guess").await;
        assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    }
    let answer = guesser.login("ada@example.com", PASSWORD).await;
    assert_eq!(answer.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn the_sign_in_throttle_survives_a_restart_and_forgets_sign_ins_that_succeeded() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("earshot.db");
    let config = Config::new("127.0.0.1:0".parse().unwrap(), db);
    let running = server::start(&config).await.unwrap();
    add_staff(&running.store).await;
    let app_url = running.public_url.clone();
    for _ in 0..5 {
        let answer = Console::at(&app_url)
            .login("bo@example.com", PASSWORD)
            .await;
        assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    }
    let mut console = Console::at(&app_url);
    for _ in 0..4 {
        let answer = console.login("bo@example.com", "not the password").await;
        assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    }
    running.stop().await.unwrap();

    let running = server::start(&config).await.unwrap();
    let mut console = Console::at(&running.public_url);
    // The four wrong passwords came back, the five sign-ins did not.
    let answer = console.login("bo@example.com", "not the password").await;
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    let answer = console.login("bo@example.com", PASSWORD).await;
    assert_eq!(
        answer.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "a restart must not hand out a fresh budget"
    );
    running.stop().await.unwrap();
}

#[tokio::test]
async fn a_sign_in_through_a_proxy_that_hides_the_address_says_to_set_the_public_url() {
    // A proxy that does not pass the Host header, in front of a collector
    // started without --public-url: the browser's form comes from the
    // address people use, the collector takes itself to be at the
    // address it listens on.
    let behind_proxy = [
        ("origin", "https://feedback.shop.example"),
        ("sec-fetch-site", "same-origin"),
    ];
    let form = [("email", "ada@example.com"), ("password", PASSWORD)];
    let (app, _) = console_app().await;
    let response = Console::new(&app)
        .post_with("/console/login", &form, &behind_proxy)
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(session_cookie(response.headers()).is_none());
    let page = response.text().await.unwrap();
    assert!(
        page.contains("Start it with --public-url https://feedback.shop.example"),
        "{page}"
    );
    assert!(!page.contains("Reload the page"), "{page}");

    // Told its address, the collector takes the same sign-in.
    let (named, _) =
        console_app_with(|c| c.public_url = Some("https://feedback.shop.example".into())).await;
    let response = Console::at(&format!("http://{}", named.running.addr))
        .post_with("/console/login", &form, &behind_proxy)
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

/// An administrator adds Jan from the command line as he writes his
/// address, `jan@müller.example`; Chromium's sign-in form sends it as
/// `jan@xn--mller-kva.example`. He signs in, and the command line finds
/// him by either way of writing it.
#[tokio::test]
async fn a_colleague_at_an_international_domain_signs_in_from_a_browser_that_sends_punycode() {
    let (app, _) = console_app().await;
    let db = app.db_path.clone();
    let added = tokio::task::spawn_blocking(move || {
        let args = ["user", "add", "--email", "jan@müller.example"];
        crate::helpers::earshot(&[&args[..], &["--generate-password"]].concat(), &db)
    });
    let (ok, out, err) = added.await.unwrap();
    assert!(ok, "{err}");
    let password = out
        .split("Password (shown once): ")
        .nth(1)
        .unwrap()
        .trim()
        .to_owned();
    let mut console = Console::new(&app);
    let response = console.login("jan@xn--mller-kva.example", &password).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(console.get("/console").await.status().is_success());

    let db = app.db_path.clone();
    let renamed = tokio::task::spawn_blocking(move || {
        let args = ["user", "rename", "--email", "JAN@XN--MLLER-KVA.example"];
        crate::helpers::earshot(&[&args[..], &["--name", "Jan M."]].concat(), &db)
    });
    let (ok, _, err) = renamed.await.unwrap();
    assert!(ok, "{err}");
    let name: String = app
        .db()
        .query_row(
            "SELECT name FROM users WHERE email = 'jan@müller.example'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(name, "Jan M.");
}
