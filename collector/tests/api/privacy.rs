//! A person's data by their email address: `earshot erase` leaves no trace
//! in the database file, its WAL or the search index, and `earshot
//! export-person` hands over everything held.

use std::path::Path;

use earshot_collector::auth::{Password, password};
use earshot_collector::server::{self, Running};
use earshot_collector::store::{NewReply, NewUser, Role};
use serde_json::{Value, json};

use crate::helpers::{earshot, test_config};
use crate::raw_file::{contains, raw_bytes};

const EMAIL: &str = "Ana.Erase@Example.com";
/// Words only Ana wrote, in a message, an expectation and a reply.
const PHRASE: &str = "zanzibarquokka7731 lost my parcel";
const EXPECTED: &str = "Delivery by quetzalmarmot4402";
const REPLY: &str = "We found parcel ocelotnarwhal5513 for you";
const NOTE: &str = "Internal: Ana's depot is tapirgecko8824";
const PIXELS: &[u8] = b"PIXELMARKER-mongooseyak9935";
/// Bo stays.
const BO_PHRASE: &str = "wombatheron6646 wrong size";

/// A 1×1 PNG with bytes after its end.
fn png_with_marker() -> Vec<u8> {
    let mut png = vec![
        0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44,
        0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F,
        0x15, 0xC4, 0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0xF8,
        0xCF, 0xC0, 0xF0, 0x1F, 0x00, 0x05, 0x00, 0x01, 0xFF, 0x89, 0x99, 0x3D, 0x1D, 0x00, 0x00,
        0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
    ];
    png.extend_from_slice(PIXELS);
    png
}

/// Posts feedback; returns the answer's JSON.
async fn submit(running: &Running, body: Value) -> Value {
    let response = reqwest::Client::new()
        .post(format!("{}/api/v1/feedback", running.public_url))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    response.json().await.unwrap()
}

/// Ana's three entries (one with a screenshot, one answered with a promise
/// and noted on, one with a webhook delivery) and Bo's one.
async fn people(running: &Running) -> (Vec<Value>, Value) {
    let site = running.created_site.clone().unwrap().key;
    let mut ana = Vec::new();
    ana.push(
        submit(
            running,
            json!({"site": site, "kind": "complaint", "message": PHRASE, "email": EMAIL, "name": "Ana Erase"}),
        )
        .await,
    );
    ana.push(
        submit(
            running,
            json!({"site": site, "kind": "expectation", "expected": EXPECTED, "actual": "Nothing came",
                   "email": format!("  {}  ", EMAIL.to_uppercase()), "page": {"url": "https://shop.example/orders/ana-erase"}}),
        )
        .await,
    );
    ana.push(
        submit(
            running,
            json!({"site": site, "kind": "idea", "message": "See the picture", "email": EMAIL.to_lowercase()}),
        )
        .await,
    );
    let bo = submit(
        running,
        json!({"site": site, "kind": "complaint", "message": BO_PHRASE, "email": "bo@example.com"}),
    )
    .await;
    let secret = ana[2]["status_url"]
        .as_str()
        .unwrap()
        .rsplit_once('.')
        .unwrap()
        .1
        .to_owned();
    let uploaded = reqwest::Client::new()
        .post(format!(
            "{}/api/v1/feedback/{}/attachments",
            running.public_url,
            ana[2]["id"].as_str().unwrap()
        ))
        .header("authorization", format!("Bearer {secret}"))
        .header("content-type", "image/png")
        .body(png_with_marker())
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status().as_u16(), 201);
    let staff = running
        .store
        .add_user(
            NewUser {
                email: "ada@example.com".into(),
                name: "Ada".into(),
                role: Role::Admin,
                password_hash: password::hash(&Password::parse("a long staff passphrase").unwrap())
                    .unwrap(),
            },
            earshot_collector::clock::system_millis(),
        )
        .await
        .unwrap();
    let first = ana[0]["id"].as_str().unwrap().to_owned();
    let now = earshot_collector::clock::system_millis();
    running
        .store
        .reply(
            first.clone(),
            NewReply {
                body: REPLY.into(),
                promise: Some(("A refund".into(), now + 86_400_000)),
            },
            staff.id,
            now,
        )
        .await
        .unwrap();
    running
        .store
        .add_note(first, NOTE.into(), staff.id, now)
        .await
        .unwrap();
    // Everything searchable and rolled up, as after a while in production.
    running.store.index_for_search().await.unwrap();
    running.store.roll_up().await.unwrap();
    (ana, bo)
}

/// A webhook delivery carrying Ana's words, as the dispatcher writes them.
fn delivery_for(db: &Path, public_id: &str) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute(
        "INSERT INTO webhooks (public_id, site_id, url, events, format, secret, created_at)
         VALUES ('wh_test', 1, 'https://hooks.example/x', '*', 'standard', 'whsec_x', 0)",
        [],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO webhook_deliveries (webhook_id, msg_id, event, entry_id, body, created_at, due_at)
         VALUES ((SELECT id FROM webhooks), 'msg_1', 'entry.created',
                 (SELECT id FROM entries WHERE public_id = ?1), ?2, 0, 0)",
        rusqlite::params![public_id, json!({"email": EMAIL, "message": PHRASE}).to_string()],
    )
    .unwrap();
}

/// Whether the full-text index still has `term` among its tokens.
fn indexed(db: &Path, term: &str) -> bool {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute_batch(
        "CREATE VIRTUAL TABLE temp.vocab USING fts5vocab(main, entries_fts, 'row');",
    )
    .unwrap();
    conn.query_row(
        "SELECT count(*) FROM temp.vocab WHERE term = ?1",
        [term],
        |r| r.get::<_, i64>(0),
    )
    .unwrap()
        > 0
}

#[tokio::test]
async fn erasing_a_person_leaves_no_trace_of_them_in_the_file_its_wal_or_the_index() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("earshot.db");
    let running = server::start(&test_config(&db)).await.unwrap();
    let (ana, bo) = people(&running).await;
    running.stop().await.unwrap();
    delivery_for(&db, ana[0]["id"].as_str().unwrap());

    // The premise: before, all of it is in the file and the index.
    let before = raw_bytes(&db);
    for needle in [
        PHRASE.as_bytes(),
        EXPECTED.as_bytes(),
        REPLY.as_bytes(),
        NOTE.as_bytes(),
        PIXELS,
        EMAIL.as_bytes(),
    ] {
        assert!(
            contains(&before, needle),
            "{:?} is stored",
            String::from_utf8_lossy(needle)
        );
    }
    assert!(indexed(&db, "zanzibarquokka7731"));

    let address = "  ana.erase@EXAMPLE.com ";
    let (ok, stdout, _) = earshot(&["erase", "--email", address, "--dry-run"], &db);
    assert!(ok);
    assert!(
        stdout.contains(
            "Would erase 3 entries (1 attachment, 3 timeline events, 1 webhook delivery) \
             from ana.erase@EXAMPLE.com."
        ),
        "{stdout}"
    );
    let (ok, _, stderr) = earshot(&["erase", "--email", address], &db);
    assert!(!ok, "no question can be asked without a terminal");
    assert!(stderr.contains("--yes"), "{stderr}");
    assert!(
        contains(&raw_bytes(&db), PHRASE.as_bytes()),
        "nothing erased yet"
    );

    let (ok, stdout, stderr) = earshot(&["erase", "--email", address, "--yes"], &db);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("Erased 3 entries"), "{stdout}");

    let after = raw_bytes(&db);
    for needle in [
        PHRASE.as_bytes(),
        b"zanzibarquokka7731".as_slice(),
        EXPECTED.as_bytes(),
        b"quetzalmarmot4402".as_slice(),
        REPLY.as_bytes(),
        NOTE.as_bytes(),
        PIXELS,
        EMAIL.as_bytes(),
        EMAIL.to_lowercase().as_bytes(),
        EMAIL.to_uppercase().as_bytes(),
        b"ana-erase".as_slice(),
    ] {
        assert!(
            !contains(&after, needle),
            "{:?} is still in the file",
            String::from_utf8_lossy(needle)
        );
    }
    for term in ["zanzibarquokka7731", "quetzalmarmot4402", "tapirgecko8824"] {
        assert!(!indexed(&db, term), "{term} is still indexed");
    }
    assert!(
        contains(&after, BO_PHRASE.as_bytes()),
        "Bo's feedback stays"
    );
    assert!(indexed(&db, "wombatheron6646"));

    let conn = rusqlite::Connection::open(&db).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let audit = crate::helpers::audit_details(&conn, "");
    assert_eq!(
        audit,
        [("person.erased".to_owned(), Some("entries=3".to_owned()))]
    );
    drop(conn);

    // Her status links say what happened; Bo's still work.
    let running = server::start(&test_config(&db)).await.unwrap();
    let at_new_address = |entry: &Value| {
        let url = entry["status_url"].as_str().unwrap();
        format!(
            "{}/s/{}",
            running.public_url,
            url.rsplit_once("/s/").unwrap().1
        )
    };
    for entry in &ana {
        let url = at_new_address(entry);
        let page = reqwest::get(&url).await.unwrap();
        assert_eq!(page.status().as_u16(), 410, "{url}");
        assert!(
            page.text()
                .await
                .unwrap()
                .contains("at the customer's request")
        );
    }
    // Nothing of hers says which language she wrote in any more: the page
    // speaks the visitor's browser's.
    let german = reqwest::Client::new()
        .get(at_new_address(&ana[0]))
        .header("accept-language", "ja, de-CH;q=0.9, en;q=0.5")
        .send()
        .await
        .unwrap();
    assert_eq!(german.status().as_u16(), 410);
    let german = german.text().await.unwrap();
    assert!(german.contains("auf Wunsch"), "{german}");
    assert!(german.contains("lang=\"de\""), "{german}");
    let bo_page = reqwest::get(at_new_address(&bo)).await.unwrap();
    assert_eq!(bo_page.status().as_u16(), 200);
    running.stop().await.unwrap();
}

#[tokio::test]
async fn export_person_hands_over_everything_held_about_them() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("earshot.db");
    let running = server::start(&test_config(&db)).await.unwrap();
    let (ana, _) = people(&running).await;
    running.stop().await.unwrap();
    let to = dir.path().join("ana.json");
    let (ok, _, stderr) = earshot(
        &[
            "export-person",
            "--email",
            "ANA.ERASE@example.com",
            "--to",
            to.to_str().unwrap(),
        ],
        &db,
    );
    assert!(ok, "{stderr}");
    let document: Value = serde_json::from_str(&std::fs::read_to_string(&to).unwrap()).unwrap();
    let entries = document["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 3);
    let references: Vec<&str> = entries
        .iter()
        .map(|e| e["reference"].as_str().unwrap())
        .collect();
    for entry in &ana {
        assert!(references.contains(&entry["reference"].as_str().unwrap()));
    }
    let text = document.to_string();
    for needle in [PHRASE, EXPECTED, REPLY, NOTE, "A refund", "Ana Erase"] {
        assert!(text.contains(needle), "{needle} is in the export");
    }
    let image = entries
        .iter()
        .flat_map(|e| e["attachments"].as_array().unwrap())
        .next()
        .unwrap();
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(image["base64"].as_str().unwrap())
        .unwrap();
    assert_eq!(bytes, png_with_marker());
    assert!(!text.contains("bo@example.com"), "only this person");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&to).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "a person's data is the owner's alone");
    }

    // An existing file is never written over: not an earlier export, not
    // the database itself named by mistake.
    let database = std::fs::read(&db).unwrap();
    for existing in [&to, &db] {
        let (ok, _, stderr) = earshot(
            &[
                "export-person",
                "--email",
                EMAIL,
                "--to",
                existing.to_str().unwrap(),
            ],
            &db,
        );
        assert!(!ok && stderr.contains("already exists"), "{stderr}");
    }
    assert_eq!(std::fs::read(&db).unwrap(), database);
    let actions = crate::helpers::audit_details(&rusqlite::Connection::open(&db).unwrap(), "");
    assert_eq!(actions.len(), 1, "refusals export nothing: {actions:?}");
    assert_eq!(actions[0].0, "person.exported");
}

#[tokio::test]
async fn retention_deletes_old_closed_feedback_and_old_spam_on_the_clock() {
    use crate::staff::{DAY, complaint, console_app, signed_in, submit};
    let (app, clock) = console_app().await;
    let (resolved, _) = submit(&app, complaint(&app, "Old and resolved")).await;
    let (open, _) = submit(&app, complaint(&app, "Old and still open")).await;
    let (spam, _) = submit(&app, complaint(&app, "Buy cheap things")).await;
    let admin = signed_in(&app, "ada@example.com").await;
    for (id, status) in [(&resolved, "resolved"), (&spam, "spam")] {
        let moved = admin
            .act(
                &format!("/console/entries/{id}/status"),
                &[("status", status)],
            )
            .await;
        assert_eq!(moved.status().as_u16(), 303);
    }
    let set = admin
        .act(
            "/console/sites/1/retention",
            &[
                ("retention_days", "30"),
                ("retention_scope", "closed"),
                ("spam_days", "30"),
            ],
        )
        .await;
    assert_eq!(set.status().as_u16(), 303);
    let bad = admin
        .act(
            "/console/sites/1/retention",
            &[("retention_days", "0"), ("spam_days", "30")],
        )
        .await;
    assert_eq!(bad.status().as_u16(), 422);
    let exists = |id: &str| {
        app.db()
            .query_row(
                "SELECT count(*) FROM entries WHERE public_id = ?1",
                [id],
                |r| r.get::<_, i64>(0),
            )
            .unwrap()
            == 1
    };

    clock.advance(29 * DAY);
    let swept = app
        .running
        .store
        .sweep_retention(clock.now_millis())
        .await
        .unwrap();
    assert!(swept.is_empty(), "nothing is 30 days old yet");
    clock.advance(2 * DAY);
    let swept = app
        .running
        .store
        .sweep_retention(clock.now_millis())
        .await
        .unwrap();
    assert_eq!(swept.len(), 1);
    assert_eq!(swept[0].1, 2);
    assert!(!exists(&resolved) && !exists(&spam));
    assert!(exists(&open), "open feedback is kept under 'closed only'");

    // A month later: a fresh session.
    let admin = signed_in(&app, "ada@example.com").await;
    admin
        .act(
            "/console/sites/1/retention",
            &[
                ("retention_days", "30"),
                ("retention_scope", "all"),
                ("spam_days", "30"),
            ],
        )
        .await;
    app.running
        .store
        .sweep_retention(clock.now_millis())
        .await
        .unwrap();
    assert!(!exists(&open), "'all' takes open feedback too");
    let audit = crate::helpers::audit_details(&app.db(), "retention.");
    assert_eq!(
        audit,
        [
            ("retention.deleted".to_owned(), Some("entries=2".to_owned())),
            ("retention.deleted".to_owned(), Some("entries=1".to_owned()))
        ]
    );
}

#[tokio::test]
async fn an_admin_can_export_and_erase_a_persons_data_in_the_console() {
    use crate::staff::{complaint, console_app, signed_in, submit};
    let (app, _) = console_app().await;
    let mut body = complaint(&app, "Please forget me, okapi9911");
    body["email"] = json!("Cy@Example.com");
    let (id, status_url) = submit(&app, body).await;
    let agent = signed_in(&app, "bo@example.com").await;
    assert_eq!(agent.get("/console/people").await.status().as_u16(), 403);
    let admin = signed_in(&app, "ada@example.com").await;
    let found = admin
        .act("/console/people", &[("email", "cy@example.com")])
        .await
        .text()
        .await
        .unwrap();
    assert!(
        found.contains("1 entry (0 attachments, 0 timeline events, 0 webhook deliveries)"),
        "{found}"
    );
    assert!(found.contains("Erase this entry"), "{found}");
    // Which entries go, each a link to open it first.
    let reference: String = app
        .db()
        .query_row(
            "SELECT reference FROM entries WHERE public_id = ?1",
            [&id],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        found.contains(&format!(
            r#"<a href="/console/entries/{id}"><code>{reference}</code></a> · Complaint · "#
        )),
        "{found}"
    );
    let export = admin
        .act("/console/people/export", &[("email", "cy@example.com")])
        .await;
    assert_eq!(
        export.headers()["content-disposition"],
        "attachment; filename=\"earshot-person.json\""
    );
    let document: Value = export.json().await.unwrap();
    assert!(document.to_string().contains("okapi9911"));
    let unconfirmed = admin
        .act("/console/people/erase", &[("email", "cy@example.com")])
        .await;
    assert_eq!(unconfirmed.status().as_u16(), 422);
    let html = unconfirmed.text().await.unwrap();
    assert!(
        html.contains("role=\"alert\">Tick the box to confirm the erasure."),
        "the erase form again, with the reason: {html}"
    );
    assert!(html.contains("Held about cy@example.com"), "{html}");
    let nobody = admin.act("/console/people", &[("email", "  ")]).await;
    assert_eq!(nobody.status().as_u16(), 422);
    let html = nobody.text().await.unwrap();
    assert!(
        html.contains("role=\"alert\">Enter the email address the customer gave."),
        "{html}"
    );
    assert!(
        html.contains("id=\"person-email\""),
        "the form again: {html}"
    );
    let erased = admin
        .act(
            "/console/people/erase",
            &[("email", "cy@example.com"), ("confirm", "yes")],
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(erased.contains("Erased 1 entry ("), "{erased}");
    let left: i64 = app
        .db()
        .query_row(
            "SELECT count(*) FROM entries WHERE public_id = ?1",
            [&id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(left, 0);
    assert_eq!(
        reqwest::get(&status_url).await.unwrap().status().as_u16(),
        410
    );
    let actions: Vec<String> = crate::helpers::audit_log(&app.db(), "person.")
        .into_iter()
        .map(|row| row.0)
        .collect();
    assert_eq!(actions, ["person.exported", "person.erased"]);
}
