//! Console speed at volume, run with `cargo bench --bench console`.
//!
//! Seeds (once, then reused from `target/console-bench/`) a database of
//! `EARSHOT_BENCH_ENTRIES` entries (default 1,000,000) with
//! `Store::seed`, starts the real collector on it and times, over HTTP on
//! loopback, the pages staff use most: the default inbox, other views and
//! filters, full-text searches, an entry page and the promises report.
//! Each is requested once cold (its pages possibly not yet in the OS cache:
//! the "first" column), then `EARSHOT_BENCH_REPEATS` times (default 40) one
//! after another; the table gives p50, p99 and max of those in milliseconds.
//! Then it exports every entry as CSV and NDJSON over the API and reports
//! rows per second and the process's peak memory. Last, the Sites pages
//! with 10,000 sites (`EARSHOT_BENCH_SITES`) in a database of their own;
//! `EARSHOT_BENCH_ONLY=sites` runs only that part;
//! `EARSHOT_BENCH_PAGES=<text>` times only the pages whose names contain
//! the text, with no export and no Sites part.
//! `EARSHOT_BENCH_BACKEND=postgres` times the same pages on a throwaway
//! PostgreSQL (seeded afresh each run, then `VACUUM ANALYZE`d), or on the
//! seeded database `EARSHOT_BENCH_DATABASE_URL` names.

#![allow(clippy::expect_used, clippy::unwrap_used)]

#[path = "../../tests/support/postgres.rs"]
mod postgres_server;
mod sites;
#[path = "../support/mod.rs"]
mod support;
mod timing;

use std::path::PathBuf;
use std::time::Instant;

use earshot_collector::auth::{ApiToken, Password, password};
use earshot_collector::clock::system_millis;
use earshot_collector::config::Config;
use earshot_collector::origin::OriginPattern;
use earshot_collector::review::filter::{Filter, View, parse_date};
use earshot_collector::review::workflow::Status;
use earshot_collector::server;
use earshot_collector::store::{NewEntry, NewSite, NewToken, NewUser, Role, Store};
use earshot_protocol::{FeedbackRequest, Submission};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn count(store: &Store) -> usize {
    let path = store
        .path()
        .expect("the console bench runs on SQLite")
        .to_path_buf();
    tokio::task::spawn_blocking(move || {
        rusqlite::Connection::open(path)
            // The seeded site's alone: the small sites' are added later.
            .and_then(|c| {
                c.query_row("SELECT count(*) FROM entries WHERE site_id = 1", [], |r| {
                    r.get::<_, i64>(0)
                })
            })
            .map(|n| usize::try_from(n).unwrap_or(0))
            .unwrap_or(0)
    })
    .await
    .unwrap()
}

#[tokio::main]
async fn main() {
    let entries = env_or("EARSHOT_BENCH_ENTRIES", 1_000_000);
    let repeats = env_or("EARSHOT_BENCH_REPEATS", 40);
    // `EARSHOT_BENCH_ONLY=sites` times just the Sites pages.
    if std::env::var("EARSHOT_BENCH_ONLY").as_deref() == Ok("sites") {
        sites::sites(repeats).await;
        return;
    }
    if std::env::var("EARSHOT_BENCH_BACKEND").as_deref() == Ok("postgres") {
        on_postgres(entries, repeats).await;
        return;
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/console-bench");
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join(format!("earshot-{entries}.db"));

    let store = Store::open(&db).unwrap();
    let have = count(&store).await;
    if have != entries {
        drop(store);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
        }
        let store = Store::open(&db).unwrap();
        seed(&store, entries).await;
        store.shutdown().await;
    } else {
        store.shutdown().await;
    }

    // Roll-ups for reports: a database seeded before they existed is
    // rolled up here, once, and timed.
    let store = Store::open(&db).unwrap();
    let started = Instant::now();
    let rolled = store.roll_up().await.unwrap();
    store.shutdown().await;
    if rolled > 0 {
        println!(
            "rolled up {rolled} entries for reports in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    measure(
        &Config::new("127.0.0.1:0".parse().unwrap(), db.clone()),
        entries,
        repeats,
    )
    .await;
    if std::env::var_os("EARSHOT_BENCH_PAGES").is_none() {
        sites::sites(repeats).await;
    }
}

/// The first site and `entries` seeded entries, rolled up, timed.
async fn seed(store: &Store, entries: usize) {
    let started = Instant::now();
    store
        .ensure_first_site(
            earshot_collector::store::NewSite {
                name: "Bench shop".into(),
                origins: Vec::new(),
            },
            earshot_collector::clock::system_millis(),
        )
        .await
        .unwrap();
    store
        .seed(entries, system_millis(), |done| {
            if done % 100_000 == 0 {
                eprintln!("seeded {done} of {entries}");
            }
        })
        .await
        .unwrap();
    eprintln!(
        "seeded {entries} entries in {:.1} s ({})",
        started.elapsed().as_secs_f64(),
        store.engine()
    );
}

/// `EARSHOT_BENCH_BACKEND=postgres`: the same pages on a throwaway
/// PostgreSQL with its defaults (every commit flushed), seeded afresh.
/// `EARSHOT_BENCH_DATABASE_URL` names one seeded before instead (seeding a
/// million takes about 12 minutes), e.g. by `earshot dev seed --count`.
async fn on_postgres(entries: usize, repeats: usize) {
    // The throwaway server lives until the pages are timed.
    let (url, _server) = match std::env::var("EARSHOT_BENCH_DATABASE_URL") {
        Ok(url) => (url, None),
        Err(_) => {
            let pg = postgres_server::TempPostgres::start_durable();
            let url = pg.fresh_c_database();
            let store = Store::connect(&url).await.unwrap();
            seed(&store, entries).await;
            store.shutdown().await;
            (url, Some(pg))
        }
    };
    // Fresh statistics, as autovacuum would have them by now.
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client.batch_execute("VACUUM ANALYZE").await.unwrap();
    let mut config = Config::new("127.0.0.1:0".parse().unwrap(), PathBuf::from("unused.db"));
    config.database_url = Some(earshot_collector::config::Secret::new(url));
    measure(&config, entries, repeats).await;
}

/// Serves `config`'s database and times the console's pages and exports.
async fn measure(config: &Config, entries: usize, repeats: usize) {
    let running = server::start(config).await.unwrap();
    let user = match running.store.users().await.unwrap().into_iter().next() {
        Some(user) => user,
        None => running
            .store
            .add_user(
                NewUser {
                    email: "bench@example.com".into(),
                    name: "Bench".into(),
                    role: Role::Admin,
                    password_hash: password::hash(&Password::generate()).unwrap(),
                },
                earshot_collector::clock::system_millis(),
            )
            .await
            .unwrap(),
    };
    let cookie = timing::session_cookie(&running.store, user.id).await;
    let client = reqwest::Client::new();
    let base = running.public_url.clone();

    let html = |path: &str| {
        let request = client
            .get(format!("{base}{path}"))
            .header("cookie", &cookie)
            .send();
        async move { request.await.unwrap().text().await.unwrap() }
    };
    // An entry id from the middle of the year, for the entry page.
    let page = html("/console?view=all&to=2026-06-01").await;
    let entry = page
        .split("/console/entries/")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or("none")
        .to_owned();

    // Where the first pages of "Needs a response" and of everything go on.
    let next_of = |path: &'static str| {
        let page = html(path);
        async move {
            let page = page.await;
            let after = page.split("after=").nth(1).expect("a next-page link");
            after
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect::<String>()
        }
    };
    // An entry left open for eleven months, as real backlogs have one: the
    // open view's searches read from it. Reopened once; a database reused
    // from an earlier run has it open already.
    let old = Filter {
        view: View::All,
        to: parse_date("2026-01-01"),
        ..Filter::default()
    };
    let now = system_millis();
    let old = running.store.inbox(old, 1, now).await.unwrap().rows;
    let old = old.first().expect("an entry from before 2026");
    if old.status != "in_progress" {
        running
            .store
            .set_status(old.public_id.clone(), Status::InProgress, user.id, now)
            .await
            .unwrap();
    }
    let waiting_next = next_of("/console").await;
    let all_next = next_of("/console?view=all").await;
    let open_next = next_of("/console?view=open").await;
    // A place mid-year, to page a search from deep down.
    let mid_next = next_of("/console?view=all&to=2026-06-01").await;

    let token = ApiToken::generate();
    running
        .store
        .add_token(
            NewToken {
                user_id: user.id,
                name: "bench".into(),
                scope: "read".into(),
                hash: token.digest(),
                hint: token.hint(),
                expires_at: None,
            },
            None,
            system_millis(),
        )
        .await
        .unwrap();
    // One of those mid-year entries whose customer gave an email, for
    // their other feedback beside it and in the inbox.
    let listed: serde_json::Value = client
        .get(format!(
            "{base}/api/v1/entries?view=all&to=2026-06-01&limit=200"
        ))
        .bearer_auth(token.reveal())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let with_email = listed["entries"]
        .as_array()
        .and_then(|entries| entries.iter().find(|e| e["email"].is_string()))
        .expect("a seeded entry with an email");
    let customer_page = with_email["console_url"]
        .as_str()
        .unwrap()
        .trim_start_matches(base.as_str())
        .to_owned();
    let customer = with_email["reference"].as_str().unwrap().to_owned();
    let (blog, help) = small_sites(&running.store).await;
    let cases: Vec<(&str, String)> = vec![
        ("inbox: needs a response", "/console".into()),
        (
            "inbox: needs a response, page 2",
            format!("/console?after={waiting_next}"),
        ),
        ("inbox: still open", "/console?view=open".into()),
        (
            "inbox: still open, page 2",
            format!("/console?view=open&after={open_next}"),
        ),
        (
            "inbox: still open, complaints, unassigned",
            "/console?view=open&kind=complaint&assignee=none".into(),
        ),
        ("inbox: all, newest first", "/console?view=all".into()),
        (
            "inbox: all, page 2",
            format!("/console?view=all&after={all_next}"),
        ),
        (
            "inbox: blocking, unassigned",
            "/console?view=all&severity=blocking&assignee=none".into(),
        ),
        (
            "inbox: still open, two kinds, mine or unassigned",
            "/console?view=open&kind=complaint,expectation&assignee=me,none".into(),
        ),
        (
            "inbox: all, two kinds",
            "/console?view=all&kind=idea,praise".into(),
        ),
        (
            "inbox: overdue promises",
            "/console?view=all&promise=overdue".into(),
        ),
        (
            "inbox: one month",
            "/console?view=all&from=2026-03-01&to=2026-03-31".into(),
        ),
        ("inbox: all, one site", "/console?view=all&site=1".into()),
        (
            "inbox: two small sites",
            format!("/console?view=all&site={blog},{help}"),
        ),
        (
            "inbox: the large site and a small one",
            format!("/console?view=all&site=1,{help}"),
        ),
        (
            "inbox: one site, unassigned",
            "/console?view=all&site=1&assignee=none".into(),
        ),
        (
            "inbox: one site, one month",
            "/console?view=all&site=1&from=2026-03-01&to=2026-03-31".into(),
        ),
        (
            "search: one common word",
            "/console?view=all&q=checkout".into(),
        ),
        (
            "search: word + a small site",
            format!("/console?view=all&q=checkout&site={help}"),
        ),
        (
            "search: word + two small sites",
            format!("/console?view=all&q=checkout&site={blog},{help}"),
        ),
        (
            "search: two words",
            "/console?view=all&q=refund+charged".into(),
        ),
        (
            "search: rare phrase prefix",
            "/console?view=all&q=verification+sm".into(),
        ),
        (
            "search: word + status",
            "/console?view=all&q=invoice&status=wont_fix".into(),
        ),
        (
            "search: word + site",
            "/console?view=all&q=invoice&site=1".into(),
        ),
        (
            "search: word + two statuses",
            "/console?view=all&q=invoice&status=resolved,wont_fix".into(),
        ),
        (
            "search: one common word, needs a response",
            "/console?q=checkout".into(),
        ),
        (
            "search: one common word, still open",
            "/console?view=open&q=checkout".into(),
        ),
        (
            "search: rare phrase prefix, still open",
            "/console?view=open&q=verification+sm".into(),
        ),
        ("search: no hits", "/console?view=all&q=zebra".into()),
        (
            "search: one common word, mid-year page",
            format!("/console?view=all&q=checkout&after={mid_next}"),
        ),
        (
            "search: word + status, mid-year page",
            format!("/console?view=all&q=invoice&status=wont_fix&after={mid_next}"),
        ),
        ("entry page", format!("/console/entries/{entry}")),
        ("entry page, a customer with an email", customer_page),
        (
            "inbox: one customer's feedback",
            format!("/console?view=all&customer={customer}"),
        ),
        ("promises report", "/console/promises".into()),
        (
            "promises report: a small site",
            format!("/console/promises?site={help}"),
        ),
        (
            "promises report: the large site",
            "/console/promises?site=1".into(),
        ),
        ("reports: last 12 weeks", "/console/reports".into()),
        (
            "reports: one site, a year",
            "/console/reports?site=1&from=2025-12-01&to=2026-11-30".into(),
        ),
        (
            "reports: CSV of one table",
            "/console/reports/pages.csv".into(),
        ),
        ("API: entries, all, 50", "/api/v1/entries?view=all".into()),
        (
            "API: entries, still open, 50",
            "/api/v1/entries?view=open".into(),
        ),
    ];
    println!(
        "console at {entries} entries on {}, {repeats} requests each (ms)",
        running.store.engine()
    );
    let only = std::env::var("EARSHOT_BENCH_PAGES").ok();
    let cases: Vec<(&str, String)> = cases
        .into_iter()
        .filter(|(name, _)| {
            only.as_ref()
                .is_none_or(|only| name.contains(only.as_str()))
        })
        .collect();
    timing::time_pages(&client, &base, &cookie, Some(&token), &cases, repeats).await;
    if only.is_some() {
        running.stop().await.unwrap();
        return;
    }

    // The whole database as CSV and NDJSON, as a tool would fetch it: read
    // chunk by chunk, never held. Peak memory is the process's (server and
    // client share it).
    println!();
    println!("export of every entry (view=all) over the API");
    println!(
        "{:<10} {:>10} {:>10} {:>10} {:>12} {:>14}",
        "format", "rows", "MB", "seconds", "rows/s", "peak RSS MiB"
    );
    for format in ["csv", "ndjson"] {
        let before = support::proc_kib("self", "VmRSS:");
        let started = Instant::now();
        let mut response = client
            .get(format!("{base}/api/v1/entries/export.{format}?view=all"))
            .bearer_auth(token.reveal())
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
        let (mut bytes, mut lines, mut peak) = (0usize, 0usize, before);
        while let Some(chunk) = response.chunk().await.unwrap() {
            bytes += chunk.len();
            lines += chunk.iter().filter(|b| **b == b'\n').count();
            peak = peak.max(support::proc_kib("self", "VmRSS:"));
        }
        let secs = started.elapsed().as_secs_f64();
        // NDJSON has one line per entry; CSV adds its header (and a line
        // break inside a quoted cell would add more, which seeded text has not).
        let rows = if format == "csv" { lines - 1 } else { lines };
        println!(
            "{:<10} {:>10} {:>10.1} {:>10.1} {:>12.0} {:>14.1}",
            format,
            rows,
            bytes as f64 / 1e6,
            secs,
            rows as f64 / secs,
            peak as f64 / 1024.0
        );
        println!("(resident before: {:.1} MiB)", before as f64 / 1024.0);
    }
    running.stop().await.unwrap();
}

/// Two small sites beside the seeded ones, 30 entries and 5 (added once,
/// then found by name in a reused database): for the pages that choose
/// several sites, where a few entries lie among a million.
async fn small_sites(store: &Store) -> (i64, i64) {
    let mut ids = Vec::new();
    for (name, count) in [("Bench blog", 30), ("Bench help", 5)] {
        let known = store.sites().await.unwrap();
        if let Some(site) = known.iter().find(|s| s.name == name) {
            ids.push(site.id);
            continue;
        }
        let site = store
            .add_site(
                NewSite {
                    name: name.into(),
                    origins: vec![OriginPattern::parse("https://blog.example").unwrap()],
                },
                system_millis(),
            )
            .await
            .unwrap();
        for i in 0..count {
            let request: FeedbackRequest = serde_json::from_value(serde_json::json!({
                "site": site.key, "kind": "complaint", "message": format!("Small site entry {i}"),
            }))
            .unwrap();
            store
                .insert_entry(NewEntry {
                    site_id: site.id,
                    submission: Submission::parse(&request).unwrap(),
                    ip_hash: None,
                    spam: None,
                    received_at: system_millis(),
                })
                .await
                .unwrap();
        }
        ids.push(site.id);
    }
    (ids[0], ids[1])
}
