//! Several collectors on one PostgreSQL, as behind a load balancer: real
//! `earshot` processes sharing a throwaway PostgreSQL server.

use std::ffi::OsStr;
use std::time::Duration;

use earshot_collector::store::Store;
use earshot_collector::store::postgres::Postgres;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::certs::TestCa;
use crate::helpers::Binary;
use crate::postgres_server::TempPostgres;
use crate::staff::{Console, PASSWORD, add_staff};

fn on_postgres(url: &str) -> Binary {
    Binary::serve(&[OsStr::new("--database-url"), OsStr::new(url)], &[])
}

/// Two collectors on `url`, started at the same moment.
fn two_at_once_on_postgres(url: &str) -> (Binary, Binary) {
    std::thread::scope(|s| {
        let a = s.spawn(|| on_postgres(url));
        let b = s.spawn(|| on_postgres(url));
        (a.join().unwrap(), b.join().unwrap())
    })
}

/// Sends submission `n` (its idempotency key made from `n`) for site
/// `site_key` to the collector at `base`, as the widget on a localhost page
/// would; returns the answer's status and the entry's reference (empty
/// when there is none).
pub async fn submit(
    client: &reqwest::Client,
    base: &str,
    site_key: &str,
    n: usize,
) -> (StatusCode, String) {
    let body = json!({
        "site": site_key,
        "kind": "complaint",
        "message": format!("shared submission {n}"),
        "idempotency_key": format!("shared-key-{n:010}"),
    });
    let response = client
        .post(format!("{base}/api/v1/feedback"))
        .header("origin", "http://localhost:3000")
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let answer: Value = response.json().await.unwrap();
    (
        status,
        answer["reference"].as_str().unwrap_or_default().to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_collectors_on_one_postgres_serve_as_one() {
    let pg = TempPostgres::shared();
    let url = pg.fresh_database();
    // Both start at once: the schema is made once, and one first site.
    let (a, b) = two_at_once_on_postgres(&url);
    assert_eq!(a.site_key, b.site_key, "one first site for both");
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let versions: Vec<i64> = client
        .query("SELECT version FROM schema_migrations", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        versions,
        (1..=Postgres::schema_version()).collect::<Vec<_>>(),
        "each version applied once"
    );
    let store = Store::connect(&url).await.unwrap();
    add_staff(&store).await;

    // Submissions through both; a retry through the other collector is
    // answered with the same entry.
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut references = Vec::new();
    for n in 0..12 {
        let collector = if n % 2 == 0 { &a } else { &b };
        let (status, reference) = submit(&http, &collector.url, &collector.site_key, n).await;
        assert_eq!(status, StatusCode::CREATED, "submission {n}");
        references.push(reference);
    }
    let (status, again) = submit(&http, &b.url, &b.site_key, 0).await;
    assert_eq!(status, StatusCode::OK, "a retry is answered as a replay");
    assert_eq!(again, references[0], "a retry elsewhere is the same entry");

    // A session opened on one collector works on the other, CSRF included.
    let mut console = Console::at(&a.url);
    let signed = console.login("ada@example.com", PASSWORD).await;
    assert_eq!(signed.status(), StatusCode::SEE_OTHER);
    for collector in [&a, &b] {
        console.base = collector.url.clone();
        let inbox = console.html("/console?view=all").await;
        for reference in &references {
            assert!(
                inbox.contains(reference.as_str()),
                "{reference} on {}",
                collector.url
            );
        }
    }
    let token = {
        console.base = a.url.clone();
        console.csrf().await
    };
    console.base = b.url.clone();
    let id = store
        .entry_by_reference(references[0].clone())
        .await
        .unwrap()
        .expect("the first entry");
    let noted = console
        .post(
            &format!("/console/entries/{id}/note"),
            &[
                ("_csrf", token.as_str()),
                ("body", "Checked on the other collector"),
            ],
        )
        .await;
    assert_eq!(noted.status(), StatusCode::SEE_OTHER);
    console.base = a.url.clone();
    let page = console.html(&format!("/console/entries/{id}")).await;
    assert!(page.contains("Checked on the other collector"));

    // Guesses spread over both collectors spend one budget.
    let mut guesser = Console::at(&a.url);
    for _ in 0..5 {
        let guess = guesser
            .login("bo@example.com", "not the password at all")
            .await;
        assert_ne!(guess.status(), StatusCode::TOO_MANY_REQUESTS);
    }
    guesser.base = b.url.clone();
    let guess = guesser
        .login("bo@example.com", "not the password at all")
        .await;
    assert_eq!(guess.status(), StatusCode::TOO_MANY_REQUESTS);
    store.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_setup_link_any_collector_printed_works_on_every_collector() {
    let pg = TempPostgres::shared();
    let url = pg.fresh_database();
    let (a, b) = two_at_once_on_postgres(&url);
    let path_of = |link: String, base: &str| link.trim_start_matches(base).to_owned();
    let path = path_of(a.setup_url(), &a.url);
    assert_eq!(path_of(b.setup_url(), &b.url), path, "one link for both");
    let token = crate::setup::setup_token(&path).to_owned();

    // Opened through one collector, sent through the other.
    let mut console = Console::at(&a.url);
    assert_eq!(console.get(&path).await.status(), StatusCode::OK);
    console.base = b.url.clone();
    let made = console
        .post(
            "/console/setup",
            &[
                ("token", token.as_str()),
                ("name", "Ada"),
                ("email", "ada@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(made.status(), StatusCode::SEE_OTHER);

    // The collector that printed it learns from the database that setup
    // is over.
    console.base = a.url.clone();
    let followed = console.html(&path).await;
    assert!(
        followed.contains("The first account has been made already"),
        "{followed}"
    );
    assert_eq!(console.get(&path).await.status(), StatusCode::NOT_FOUND);
    let login = console.html("/console/login").await;
    assert!(!login.contains("No staff account exists yet"), "{login}");
}

fn migrate(db: &std::path::Path, url: &str, extra: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(crate::helpers::BIN)
        .args(["migrate-to-postgres", "--from"])
        .arg(db)
        .args(["--database-url", url])
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_installation_moves_to_postgres_whole() {
    use earshot_collector::review::filter::{Filter, Search, View};
    use earshot_collector::store::{NewReply, NewToken};

    let (app, clock) = crate::staff::console_app().await;
    let now = clock.now_millis();
    let store = app.running.store.clone();
    let mut ids = Vec::new();
    for i in 0..5 {
        let mut body = app.valid_body();
        body["message"] = json!(format!("Moving day {i}"));
        ids.push(crate::staff::submit(&app, body).await.0);
    }
    let ada = store
        .user_by_email("ada@example.com".into())
        .await
        .unwrap()
        .unwrap();
    let reply = NewReply {
        body: "We are on it".into(),
        promise: Some(("Fixed by Friday".into(), now + 3 * crate::staff::DAY)),
    };
    store
        .reply(ids[0].clone(), reply, ada.id, now + 1)
        .await
        .unwrap();
    store
        .add_note(
            ids[1].clone(),
            "Customer mentioned a zeppelin".into(),
            ada.id,
            now + 2,
        )
        .await
        .unwrap();
    // PostgreSQL's text cannot hold U+0000; SQLite kept it in notes
    // before the console and API refused it.
    store
        .add_note(
            ids[2].clone(),
            "Old note with a NUL\0 in it".into(),
            ada.id,
            now + 3,
        )
        .await
        .unwrap();
    let token = NewToken {
        user_id: ada.id,
        name: "exporter".into(),
        scope: "read".into(),
        hash: vec![42; 32],
        hint: "esk_…".into(),
        expires_at: None,
    };
    store.add_token(token, Some(ada.id), now).await.unwrap();
    let site_id = app.running.created_site.as_ref().unwrap().id;
    let mut refused = earshot_collector::store::refusals::RefusalTally::new(site_id);
    refused.add("https://typo.example", now);
    store.record_refusals(vec![refused], now).await.unwrap();
    store
        .create_session(vec![9; 32], ada.id, "csrf".into(), now, None)
        .await
        .unwrap();
    // A removed site, the newest: its id is not given again on either side.
    let gone = earshot_collector::store::NewSite {
        name: "Gone".into(),
        origins: Vec::new(),
    };
    let gone = store.add_site_by(gone, Some(ada.id), now).await.unwrap();
    store.remove_site(gone.id, Some(ada.id), now).await.unwrap();
    let db = app.db_path.clone();

    let pg = TempPostgres::shared();
    let url = pg.fresh_database();
    // Not while a server has the file.
    let (ok, _, err) = migrate(&db, &url, &[]);
    assert!(!ok);
    assert!(err.contains("in use by a running server"), "{err}");
    let all = Filter {
        view: View::All,
        ..Filter::default()
    };
    let before = store.inbox(all.clone(), 100, now + 10).await.unwrap();
    let detail_before = store.entry_detail(ids[0].clone()).await.unwrap().unwrap();
    app.running.stop().await.unwrap();

    let (ok, out, err) = migrate(&db, &url, &["--with-sessions"]);
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("entries") && out.contains("counted the same"),
        "{out}"
    );

    let moved = Store::connect(&url).await.unwrap();
    let after = moved.inbox(all, 100, now + 10).await.unwrap();
    let refs = |p: &earshot_collector::store::InboxPage| -> Vec<String> {
        p.rows.iter().map(|r| r.reference.clone()).collect()
    };
    assert_eq!(refs(&after), refs(&before));
    let detail = moved.entry_detail(ids[0].clone()).await.unwrap().unwrap();
    assert_eq!(detail.reference, detail_before.reference);
    assert_eq!(detail.status, detail_before.status);
    assert_eq!(detail.events.len(), detail_before.events.len());
    assert_eq!(detail.promises[0].text, "Fixed by Friday");
    assert_eq!(detail.email.as_deref(), Some("ana@example.com"));
    let noted = moved.entry_detail(ids[2].clone()).await.unwrap().unwrap();
    assert!(
        noted
            .events
            .iter()
            .any(|e| e.body.as_deref() == Some("Old note with a NUL in it")),
        "{:?}",
        noted.events
    );
    // Searchable, signed in, tokens working, and new rows after the old.
    let search = Filter {
        view: View::All,
        search: Search::parse("zeppelin"),
        ..Filter::default()
    };
    assert_eq!(moved.inbox(search, 10, now).await.unwrap().rows.len(), 1);
    assert_eq!(
        moved.session(vec![9; 32]).await.unwrap().unwrap().user.id,
        ada.id
    );
    assert!(
        moved
            .token_holder(vec![42; 32], now)
            .await
            .unwrap()
            .is_some()
    );
    let user = earshot_collector::store::NewUser {
        email: "new@example.com".into(),
        name: "New".into(),
        role: earshot_collector::store::Role::Agent,
        password_hash: "x".into(),
    };
    assert!(moved.add_user(user, now).await.unwrap().id > ada.id);
    let next = earshot_collector::store::NewSite {
        name: "Next".into(),
        origins: Vec::new(),
    };
    let next = moved.add_site_by(next, Some(ada.id), now).await.unwrap();
    assert!(next.id > gone.id, "{} after {}", next.id, gone.id);
    let refusals = moved.refusals(vec![site_id], now + 10).await.unwrap();
    assert_eq!(refusals[&site_id].count, 1);
    moved.shutdown().await;
    // A second copy into the same database is refused.
    let (ok, _, err) = migrate(&db, &url, &[]);
    assert!(!ok);
    assert!(err.contains("already holds data"), "{err}");
}

/// `earshot <args> --database-url <url>`: (success, stdout, stderr).
fn on_postgres_cli(args: &[&str], url: &str) -> (bool, String, String) {
    let out = std::process::Command::new(crate::helpers::BIN)
        .args(args)
        .args(["--database-url", url])
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[tokio::test]
async fn a_site_edited_from_the_command_line_applies_on_every_collector() {
    let pg = TempPostgres::shared();
    let url = pg.fresh_database();
    let (a, b) = (on_postgres(&url), on_postgres(&url));
    let shop = "https://shop.example";
    let (ok, out, err) = on_postgres_cli(
        &[
            "site",
            "edit",
            &a.site_key,
            "--add-origin",
            shop,
            "--response-promise",
            "We answer within a day",
            "--retention-days",
            "365",
        ],
        &url,
    );
    assert!(ok, "{err}");
    // The schema was there: the server's "already exists, skipping"
    // notices stay out of what the command prints.
    assert!(!err.contains("NOTICE"), "{err}");
    assert!(
        out.contains("  retention: resolved and won't-fix feedback deleted after 365 days;"),
        "{out}"
    );
    let http = reqwest::Client::new();
    let body = json!({"site": a.site_key, "kind": "idea", "message": "Gift wrapping"});
    for collector in [&a, &b] {
        let deadline = std::time::Instant::now() + Duration::from_secs(8);
        let answer: Value = loop {
            let response = http
                .post(format!("{}/api/v1/feedback", collector.url))
                .header("origin", shop)
                .json(&body)
                .send()
                .await
                .unwrap();
            if response.status() == StatusCode::CREATED {
                break response.json().await.unwrap();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{} follows within 5 seconds",
                collector.url
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        assert_eq!(answer["response_promise"], "We answer within a day");
    }
    let (ok, shown, err) = on_postgres_cli(&["site", "show", &a.site_key], &url);
    assert!(ok, "{err}");
    assert!(
        shown.contains("  holds: 2 entries and 0 webhooks; last feedback 20"),
        "{shown}"
    );
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let recorded: Vec<(String, Option<i64>)> = client
        .query(
            "SELECT action, actor_id FROM audit_log WHERE action LIKE 'site.%' ORDER BY id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        recorded,
        [
            ("site.changed".to_owned(), None),
            ("site.retention".to_owned(), None)
        ]
    );
}

/// Connections from `application_name` to the database of `plain` (a URL
/// without TLS) that are encrypted.
async fn encrypted(plain: &str, application_name: &str) -> i64 {
    let (client, connection) = tokio_postgres::connect(plain, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
        .query_one(
            "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
             WHERE s.ssl AND a.application_name = $1",
            &[&application_name],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn postgres_tls_follows_sslmode_and_sslrootcert_as_libpq_reads_them() {
    let ca = TestCa::new();
    let (cert, key) = ca.issue("postgres", "localhost");
    let pg = TempPostgres::start_with_tls(&cert, &key);
    let plain = pg.fresh_database();
    let at = |host: &str, options: &str| {
        plain
            .replace("127.0.0.1", host)
            .replace("sslmode=disable", options)
    };
    let root = ca.certificate().display().to_string();
    let stranger = TestCa::new();
    let other = stranger.certificate().display().to_string();

    // Debian's PostgreSQL answers with a self-signed certificate: without
    // sslmode, or with `require`, the connection is encrypted, unchecked.
    let key_value = format!(
        "host=localhost port={} user=earshot dbname={} application_name=pairs sslmode=verify-full sslrootcert={root}",
        plain.rsplit_once(':').unwrap().1.split('/').next().unwrap(),
        plain.rsplit_once('/').unwrap().1.split('?').next().unwrap(),
    );
    for (name, url) in [
        ("default", at("127.0.0.1", "application_name=default")),
        (
            "require",
            at("127.0.0.1", "sslmode=require&application_name=require"),
        ),
        (
            "ca",
            at(
                "127.0.0.1",
                &format!("sslmode=verify-ca&sslrootcert={root}&application_name=ca"),
            ),
        ),
        (
            "full",
            at(
                "localhost",
                &format!("sslmode=verify-full&sslrootcert={root}&application_name=full"),
            ),
        ),
        ("pairs", key_value),
    ] {
        let store = Store::connect(&url)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}\n{}", pg.log()));
        assert!(encrypted(&plain, name).await > 0, "{name}: not encrypted");
        store.shutdown().await;
    }

    // What is checked is refused when it does not hold, with the reason.
    for (url, reason) in [
        (
            at(
                "127.0.0.1",
                &format!("sslmode=verify-full&sslrootcert={root}"),
            ),
            "not valid for name",
        ),
        (at("localhost", "sslmode=verify-ca"), "UnknownIssuer"),
        (
            at("localhost", &format!("sslmode=require&sslrootcert={other}")),
            "invalid peer certificate",
        ),
        (
            at(
                "localhost",
                "sslmode=verify-full&sslrootcert=/nonexistent/ca.pem",
            ),
            "sslrootcert /nonexistent/ca.pem",
        ),
        (
            at("localhost", "sslmode=verify_full"),
            "sslmode=verify_full",
        ),
    ] {
        let Err(refused) = Store::connect(&url).await else {
            panic!("{url} connected");
        };
        let refused = refused.to_string();
        assert!(refused.contains(reason), "{url}: {refused}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collectors_run_through_pgbouncer_in_session_mode_and_transaction_mode_is_named() {
    let pg = TempPostgres::shared();
    let url = pg.fresh_database();
    let database = url.rsplit_once('/').unwrap().1.split('?').next().unwrap();
    let session = pg.pooler(database, "session");
    let collector = on_postgres(&session.url(database));
    let http = reqwest::Client::new();
    for n in 0..6 {
        let (status, _) = submit(&http, &collector.url, &collector.site_key, n).await;
        assert_eq!(status, StatusCode::CREATED, "submission {n}");
    }
    let (status, _) = submit(&http, &collector.url, &collector.site_key, 0).await;
    assert_eq!(status, StatusCode::OK, "a retry is answered as a replay");
    drop(collector);

    // In transaction mode the driver's prepared statements meet other
    // clients' on the same server connection: from the second client on
    // (the first leaves its statements behind), it fails, saying why.
    let transaction = pg.pooler(database, "transaction");
    let through = transaction.url(database);
    let _ = on_postgres_cli(&["site", "list"], &through);
    let (ok, _, stderr) = on_postgres_cli(&["site", "list"], &through);
    assert!(!ok, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "database postgres://earshot@127.0.0.1:{}/{database}:",
            transaction.port
        )),
        "{stderr}"
    );
    assert!(stderr.contains("use pool_mode = session"), "{stderr}");
}
