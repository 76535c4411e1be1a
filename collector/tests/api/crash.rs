//! Durability under crashes: the real binary is killed with SIGKILL in the
//! middle of concurrent load, again and again. Every submission the
//! collector acknowledged must be stored exactly once, and the database
//! must pass SQLite's integrity check.

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_submissions_survive_repeated_kill_9_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("earshot.db");
    let ledger = Arc::new(Ledger::default());
    ledger.pending.lock().unwrap().extend(0..SUBMISSIONS);

    let mut kills_under_load = 0;
    for round in 0..KILLS {
        let mut server = Binary::start(&db, &[]);
        let stop = Arc::new(AtomicBool::new(false));
        let workers = run_load(&ledger, &server, &stop).await;
        // Vary the moment of death so kills land in different phases.
        tokio::time::sleep(Duration::from_millis(250 + 97 * round as u64)).await;
        let acked_before_kill = ledger.acknowledged.lock().unwrap().len();
        server.child.kill().unwrap();
        server.child.wait().unwrap();
        // Otherwise this kill tested nothing.
        assert!(
            acked_before_kill < SUBMISSIONS,
            "round {round}: the load finished before the kill"
        );
        kills_under_load += 1;
        stop.store(true, Ordering::Relaxed);
        for w in workers {
            w.await.unwrap();
        }
    }

    // A last, clean run delivers whatever was never acknowledged.
    let mut server = Binary::start(&db, &[]);
    let stop = Arc::new(AtomicBool::new(false));
    for w in run_load(&ledger, &server, &stop).await {
        w.await.unwrap();
    }
    Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(server.child.wait().unwrap().success());

    let acked = ledger.acknowledged.lock().unwrap();
    let conn = rusqlite::Connection::open(&db).unwrap();
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let rows: i64 = conn
        .query_row("SELECT count(*) FROM entries", [], |r| r.get(0))
        .unwrap();
    let distinct: i64 = conn
        .query_row(
            "SELECT count(DISTINCT idempotency_key) FROM entries",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let mut stmt = conn
        .prepare("SELECT reference FROM entries WHERE idempotency_key = ?1")
        .unwrap();
    let mut missing = 0;
    for (n, reference) in acked.iter() {
        let stored: Vec<String> = stmt
            .query_map([format!("crash-test-key-{n:08}")], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        if stored != [reference.clone()] {
            missing += 1;
        }
    }
    eprintln!(
        "crash test: {kills_under_load} kills under load, {} answers (2xx), {} submissions acknowledged, {rows} rows stored, {} duplicates, {missing} acknowledged-but-missing",
        ledger.answers.load(Ordering::Relaxed),
        acked.len(),
        rows - distinct,
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
    assert_eq!(rows, distinct, "duplicates stored");
    assert_eq!(rows as usize, SUBMISSIONS);
    assert_eq!(
        ledger.mismatches.load(Ordering::Relaxed),
        0,
        "a retry returned a different entry"
    );
}
