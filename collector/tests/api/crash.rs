//! Durability under crashes: the real binary is killed with SIGKILL in the
//! middle of concurrent load, again and again, on SQLite and on
//! PostgreSQL. Every submission the collector acknowledged must be stored
//! exactly once, and a SQLite file must pass its integrity check.

use std::collections::{HashMap, VecDeque};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::Binary;

const KILLS: usize = 6;
const WORKERS: usize = 16;
const SUBMISSIONS: usize = 4_000;

#[derive(Default)]
struct Ledger {
    pending: Mutex<VecDeque<usize>>,
    /// Submission number → reference from every 2xx answer.
    acknowledged: Mutex<HashMap<usize, String>>,
    answers: AtomicUsize,
    mismatches: AtomicUsize,
}

async fn worker(ledger: Arc<Ledger>, url: String, site_key: String, stop: Arc<AtomicBool>) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    while !stop.load(Ordering::Relaxed) {
        let Some(n) = ledger.pending.lock().unwrap().pop_front() else {
            return;
        };
        let body = json!({
            "site": site_key,
            "kind": "complaint",
            "message": format!("crash test submission {n}"),
            "idempotency_key": format!("crash-test-key-{n:08}"),
        });
        let answer = client
            .post(format!("{url}/api/v1/feedback"))
            .json(&body)
            .send()
            .await;
        let reference = match answer {
            Ok(r) if r.status().is_success() => r
                .json::<Value>()
                .await
                .ok()
                .and_then(|v| v["reference"].as_str().map(str::to_owned)),
            _ => None,
        };
        match reference {
            Some(reference) => {
                ledger.answers.fetch_add(1, Ordering::Relaxed);
                let mut acked = ledger.acknowledged.lock().unwrap();
                if let Some(previous) = acked.insert(n, reference.clone())
                    && previous != reference
                {
                    ledger.mismatches.fetch_add(1, Ordering::Relaxed);
                }
            }
            // Not acknowledged (killed mid-flight): the widget would retry
            // with the same idempotency key, and so do we.
            None => ledger.pending.lock().unwrap().push_back(n),
        }
    }
}

async fn run_load(
    ledger: &Arc<Ledger>,
    server: &Binary,
    stop: &Arc<AtomicBool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..WORKERS)
        .map(|_| {
            tokio::spawn(worker(
                ledger.clone(),
                server.url.clone(),
                server.site_key.clone(),
                stop.clone(),
            ))
        })
        .collect()
}

/// Kills the collector `start` starts [`KILLS`] times under load, then lets
/// a last one deliver the rest and stop cleanly; returns the ledger.
async fn kill_under_load(start: impl Fn() -> Binary) -> Arc<Ledger> {
    let ledger = Arc::new(Ledger::default());
    ledger.pending.lock().unwrap().extend(0..SUBMISSIONS);
    for round in 0..KILLS {
        let mut server = start();
        let stop = Arc::new(AtomicBool::new(false));
        let workers = run_load(&ledger, &server, &stop).await;
        // The kill waits for progress, not for a time: a share of what is
        // left (a seventh, a sixth, ... a half), so it lands under load on
        // a fast machine as on a slow one, at a different point each round.
        let acked_at_start = ledger.acknowledged.lock().unwrap().len();
        let target = acked_at_start + (SUBMISSIONS - acked_at_start) / (KILLS + 1 - round);
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while ledger.acknowledged.lock().unwrap().len() < target {
            assert!(
                std::time::Instant::now() < deadline,
                "round {round}: {target} acknowledgements not reached in a minute"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let acked_before_kill = ledger.acknowledged.lock().unwrap().len();
        server.child.kill().unwrap();
        server.child.wait().unwrap();
        // Otherwise this kill tested nothing.
        assert!(
            acked_before_kill < SUBMISSIONS,
            "round {round}: the load finished before the kill"
        );
        stop.store(true, Ordering::Relaxed);
        for w in workers {
            w.await.unwrap();
        }
    }
    // A last, clean run delivers whatever was never acknowledged.
    let mut server = start();
    let stop = Arc::new(AtomicBool::new(false));
    for w in run_load(&ledger, &server, &stop).await {
        w.await.unwrap();
    }
    Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(server.child.wait().unwrap().success());
    ledger
}

/// Checks the ledger against what was stored: `stored` is every
/// (idempotency key, reference) row.
fn every_acknowledged_entry_stored_once(
    ledger: &Ledger,
    stored: &[(String, String)],
    engine: &str,
) {
    let acked = ledger.acknowledged.lock().unwrap();
    let mut by_key: HashMap<&str, Vec<&str>> = HashMap::new();
    for (key, reference) in stored {
        by_key
            .entry(key.as_str())
            .or_default()
            .push(reference.as_str());
    }
    let missing = acked
        .iter()
        .filter(|(n, reference)| {
            by_key.get(format!("crash-test-key-{n:08}").as_str()) != Some(&vec![reference.as_str()])
        })
        .count();
    eprintln!(
        "crash test ({engine}): {KILLS} kills under load, {} answers (2xx), {} submissions acknowledged, {} rows stored, {} duplicates, {missing} acknowledged-but-missing",
        ledger.answers.load(Ordering::Relaxed),
        acked.len(),
        stored.len(),
        stored.len() - by_key.len(),
    );
    assert_eq!(
        acked.len(),
        SUBMISSIONS,
        "every submission was eventually acknowledged"
    );
    assert_eq!(
        missing, 0,
        "acknowledged entries missing or stored differently"
    );
    assert_eq!(stored.len(), by_key.len(), "duplicates stored");
    assert_eq!(stored.len(), SUBMISSIONS);
    assert_eq!(
        ledger.mismatches.load(Ordering::Relaxed),
        0,
        "a retry returned a different entry"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_submissions_survive_repeated_kill_9_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("earshot.db");
    let ledger = kill_under_load(|| Binary::start(&db, &[])).await;
    let conn = rusqlite::Connection::open(&db).unwrap();
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let stored: Vec<(String, String)> = conn
        .prepare("SELECT idempotency_key, reference FROM entries")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    every_acknowledged_entry_stored_once(&ledger, &stored, "SQLite");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_submissions_survive_repeated_kill_9_exactly_once_on_postgres() {
    let pg = crate::postgres_server::TempPostgres::shared();
    let url = pg.fresh_database();
    let args = [
        std::ffi::OsStr::new("--database-url"),
        std::ffi::OsStr::new(&url),
    ];
    let ledger = kill_under_load(|| Binary::serve(&args, &[])).await;
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let stored: Vec<(String, String)> = client
        .query("SELECT idempotency_key, reference FROM entries", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    every_acknowledged_entry_stored_once(&ledger, &stored, "PostgreSQL");
}
