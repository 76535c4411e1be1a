//! Retention at volume, run with `cargo bench --bench retention`.
//!
//! Copies the million-entry database of `cargo bench --bench console`
//! (run that first: it seeds `target/console-bench/earshot-1000000.db`),
//! converts the copy with `earshot vacuum`'s compaction (the seed predates
//! incremental auto-vacuum), sets every site to delete all feedback older
//! than the median entry (see below), and sweeps as the background task does, while a
//! probe stores a submission every 10 ms through the same writer. It
//! reports the sweep's time, how long those submissions waited, peak
//! memory, and the file's size before and after the space went back.
//! `EARSHOT_BENCH_ENTRIES` picks another seeded size, and
//! `EARSHOT_BENCH_DELETE_PERCENT` (default 50) how much of it goes.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use earshot_collector::clock::system_millis;
use earshot_collector::store::retention::Retention;
use earshot_collector::store::{NewEntry, Store};
use earshot_protocol::{FeedbackRequest, Submission};

const DAY: i64 = 86_400_000;

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn size(db: &Path) -> u64 {
    let wal = format!("{}-wal", db.display());
    std::fs::metadata(db).map_or(0, |m| m.len()) + std::fs::metadata(wal).map_or(0, |m| m.len())
}

#[tokio::main]
async fn main() {
    let entries: usize = std::env::var("EARSHOT_BENCH_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let percent: i64 = std::env::var("EARSHOT_BENCH_DELETE_PERCENT")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|p| (1..=99).contains(p))
        .unwrap_or(50);
    let target = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target");
    let source = target.join(format!("console-bench/earshot-{entries}.db"));
    assert!(
        source.exists(),
        "{} is missing: run `cargo bench --bench console` first",
        source.display()
    );
    let dir = target.join("retention-bench");
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("earshot.db");
    for suffix in ["", "-wal", "-shm", ".lock"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    std::fs::copy(&source, &db).unwrap();

    let started = Instant::now();
    let compacted = earshot_collector::store::vacuum::compact(&db).unwrap();
    println!(
        "earshot vacuum: {:.1} MiB -> {:.1} MiB in {:.1} s",
        mib(compacted.before),
        mib(compacted.after),
        started.elapsed().as_secs_f64()
    );

    let store = Store::open(&db).unwrap();
    let now = system_millis();
    let (total, median): (i64, i64) = {
        let conn = rusqlite::Connection::open(&db).unwrap();
        let total = conn
            .query_row("SELECT count(*) FROM entries", [], |r| r.get(0))
            .unwrap();
        let median = conn
            .query_row(
                "SELECT created_at FROM entries ORDER BY created_at LIMIT 1 OFFSET ?1",
                [total * percent / 100],
                |r| r.get(0),
            )
            .unwrap();
        (total, median)
    };
    let days = ((now - median) / DAY).max(1);
    for site in store.sites().await.unwrap() {
        store
            .set_retention(
                site.id,
                Retention {
                    days: Some(days),
                    all: true,
                    spam_days: days,
                },
                None,
                now,
            )
            .await
            .unwrap();
    }
    let before = size(&db);

    let stop = Arc::new(AtomicBool::new(false));
    let site = store.sites().await.unwrap()[0].clone();
    let probe = {
        let store = store.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut waits = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let request: FeedbackRequest = serde_json::from_value(serde_json::json!({
                    "site": site.key, "kind": "idea", "message": "A submission during retention"
                }))
                .unwrap();
                let entry = NewEntry {
                    site_id: site.id,
                    submission: Submission::parse(&request).unwrap(),
                    ip_hash: None,
                    spam: None,
                    received_at: system_millis(),
                };
                let asked = Instant::now();
                store.insert_entry(entry).await.unwrap();
                waits.push(asked.elapsed());
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            waits
        })
    };
    let started = Instant::now();
    let swept = store.sweep_retention(now).await.unwrap();
    let took = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let mut waits = probe.await.unwrap();
    waits.sort();
    let deleted: i64 = swept.iter().map(|(_, n)| n).sum();
    store.shutdown().await;
    drop(store);
    let after = size(&db);
    let pct = |p: f64| waits[((waits.len() - 1) as f64 * p) as usize].as_secs_f64() * 1e3;
    println!(
        "retention deleted {deleted} of {total} entries (older than {days} days) in {:.1} s ({:.2} ms per entry, space given back included)",
        took.as_secs_f64(),
        took.as_secs_f64() * 1e3 / deleted.max(1) as f64
    );
    println!(
        "a write queued meanwhile waited p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} probes)",
        pct(0.5),
        pct(0.99),
        pct(1.0),
        waits.len()
    );
    println!(
        "file (with WAL): {:.1} MiB before, {:.1} MiB after; peak RSS {} MiB",
        mib(before),
        mib(after),
        support::proc_kib("self", "VmHWM:") / 1024
    );
}
