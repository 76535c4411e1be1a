//! Load benchmark for the ingest endpoint, run with `cargo bench`.
//!
//! Starts the real `earshot` binary (bench profile) on a fresh database and
//! drives it over loopback with keep-alive HTTP/1.1 connections: first a
//! trivial route (`GET /livez`, the hello-world baseline of the same
//! server), then `POST /api/v1/feedback` with unique submissions. Client and
//! server share the machine, so compare the ratio taken in one run, not
//! absolute numbers across machines. Finally it stops the server and checks
//! that every 201 is on disk.
//!
//! Alongside the rates it reports where the CPU went: microseconds of CPU
//! per request for each group of server threads (HTTP workers, the writer,
//! the flush thread), for the load generator, and how much of the machine
//! sat idle. On two shared cores the ratio is mostly a ratio of CPU per
//! request, so this says which part to work on.
//!
//! A third phase repeats ingest with the way out switched on: two webhook
//! endpoints (a receiver in this process) and one administrator notified of
//! every complaint at once (an SMTP sink in this process). It reports the
//! rate beside the plain one, and how long a submission took to reach the
//! webhook receiver, under that load and at rest.
//!
//! Between those, two phases about the WAL: ingest beside a reader that
//! holds one snapshot for half the phase (the WAL cannot start over
//! meanwhile, and must shrink back after), then half the peak rate for
//! `EARSHOT_BENCH_STEADY_SECONDS` (default 600), with p99 and the WAL's
//! size by tenth of the run.
//!
//! Environment: `EARSHOT_BENCH_CONNECTIONS` (default 64),
//! `EARSHOT_BENCH_SECONDS` per phase (default 10), `EARSHOT_BENCH_KEYS=v4`
//! for random idempotency keys instead of the widget's time-ordered ones,
//! `EARSHOT_BENCH_ONLY=ingest` to stop after the WAL phases,
//! `EARSHOT_BENCH_ONLY=backends` for ingest alone on SQLite, on PostgreSQL
//! with one collector and with two, side by side (`support/backends.rs`).

// A benchmark that cannot reach its server should stop loudly.
#![allow(clippy::expect_used, clippy::unwrap_used)]

#[path = "../support/backends.rs"]
mod backends;
mod cpu;
mod load;
#[path = "../../tests/support/postgres.rs"]
mod postgres_server;
mod receivers;
mod report;
mod server;
#[path = "../support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;

use crate::load::{Keys, Rig, Sent, Submissions, Target, run, run_paced, run_recording};
use crate::receivers::{Received, smtp_sink, webhook_latencies, webhook_receiver};
use crate::report::{WalPhases, pct, report_ingest, scrape, wal_sampler};
use crate::server::Server;

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_earshot");

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[derive(Default)]
pub(crate) struct Phase {
    requests: u64,
    created: u64,
    other: u64,
    latencies_us: Vec<u32>,
    /// (second of the phase the request was sent in, latency in µs).
    timeline: Vec<(u32, u32)>,
    elapsed: Duration,
    /// CPU nanoseconds spent during the phase, by thread group.
    cpu_ns: BTreeMap<&'static str, u64>,
    /// Share of the machine's CPU time that was idle or waiting for I/O.
    idle: f64,
}

impl Phase {
    fn rate(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        let i = ((self.latencies_us.len() - 1) as f64 * p).round() as usize;
        f64::from(self.latencies_us[i]) / 1000.0
    }
}

/// Runs the `earshot` command line on the bench database.
fn cli(db: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(args)
        .arg("--db")
        .arg(db)
        .output()
        .expect("earshot cli");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn main() {
    let conns = env_or("EARSHOT_BENCH_CONNECTIONS", 64);
    let secs = env_or("EARSHOT_BENCH_SECONDS", 10);
    if std::env::var("EARSHOT_BENCH_ONLY").as_deref() == Ok("backends") {
        backends::compare(conns, secs);
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("bench.db");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let received: Received = Arc::default();
    let mails = Arc::new(AtomicU64::new(0));
    let (hook_url, smtp_url) = runtime.block_on(async {
        (
            webhook_receiver(received.clone()).await,
            smtp_sink(mails.clone()).await,
        )
    });
    let server = Server::start(
        &[OsStr::new("--db"), db.as_os_str()],
        &[
            ("EARSHOT_ALLOW_PRIVATE_WEBHOOKS", "1"),
            ("EARSHOT_SMTP_URL", &smtp_url),
        ],
    );
    let (mut child, addr, site, metrics) = (server.child, server.addr, server.site, server.metrics);
    let pid = child.id();
    let rig = Rig {
        pid,
        addr,
        submissions: Submissions {
            site: Arc::new(site),
            counter: Arc::new(AtomicU64::new(0)),
            keys: Keys::from_env(),
        },
        conns,
    };

    let (hello, ingest, rss_load) = runtime.block_on(async {
        // Warm-up: connections, page cache, SQLite's first pages.
        run(&rig, Target::Hello, 2).await;
        run(&rig, Target::Ingest, 2).await;
        let hello = run(&rig, Target::Hello, secs).await;
        let sampler = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(secs / 2)).await;
            support::proc_kib(&pid.to_string(), "VmRSS:")
        });
        let ingest = run(&rig, Target::Ingest, secs).await;
        (hello, ingest, sampler.await.unwrap_or(0))
    });

    // A reader holding one snapshot for half a phase pins the WAL, which
    // cannot start over meanwhile; once the reader is gone it must rewind
    // and shrink back to `journal_size_limit` (64 MiB).
    let wal_path = db.with_extension("db-wal");
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let samples = wal_sampler(wal_path.clone(), stop.clone());
    let hold = Duration::from_secs(secs / 2);
    let reader = {
        let db = db.clone();
        std::thread::spawn(move || {
            let conn = rusqlite::Connection::open(&db).expect("reader");
            conn.execute_batch("BEGIN").expect("begin");
            let _: i64 = conn
                .query_row("SELECT count(*) FROM entries", [], |r| r.get(0))
                .expect("read");
            std::thread::sleep(hold);
            conn.execute_batch("COMMIT").expect("end the read");
        })
    };
    let reading = runtime.block_on(run(&rig, Target::Ingest, secs));
    reader.join().expect("reader");
    stop.store(true, Ordering::Relaxed);
    let reading_wal = samples.join().expect("WAL samples");

    // Half the peak rate for a long while: does the WAL stay bounded, and
    // the tail latency flat?
    let steady_secs = env_or("EARSHOT_BENCH_STEADY_SECONDS", 600);
    let steady_rate = ingest.rate() / 2.0;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let samples = wal_sampler(wal_path.clone(), stop.clone());
    let steady = runtime.block_on(run_paced(&rig, steady_rate, steady_secs));
    stop.store(true, Ordering::Relaxed);
    let steady_wal = samples.join().expect("WAL samples");
    let wal_phases = WalPhases {
        reading,
        hold,
        reading_wal,
        steady,
        steady_secs,
        steady_rate,
        steady_wal,
        // Where the writer's time went over every phase so far.
        writer_times: scrape(&metrics),
    };
    if std::env::var("EARSHOT_BENCH_ONLY").as_deref() == Ok("ingest") {
        report_ingest(&hello, &ingest, &wal_phases);
        Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("kill");
        assert!(child.wait().expect("wait").success());
        return;
    }

    // The way out switched on: two endpoints and one administrator told of
    // every complaint at once.
    if std::env::var("EARSHOT_BENCH_CONTROL").is_err() {
        cli(
            &db,
            &[
                "user",
                "add",
                "--email",
                "bench-admin@example.com",
                "--role",
                "admin",
                "--generate-password",
            ],
        );
    }
    let paths: &[&str] = if std::env::var("EARSHOT_BENCH_CONTROL").is_err() {
        &["a", "b"]
    } else {
        &[]
    };
    for path in paths {
        cli(
            &db,
            &[
                "webhook",
                "add",
                "--site",
                &rig.submissions.site,
                "--url",
                &format!("{hook_url}/{path}"),
            ],
        );
    }
    let sent: Sent = Arc::default();
    // While submissions flood in, notifications only trickle; let the
    // dispatcher catch up on the plain phases before measuring.
    let undispatched = || -> i64 {
        rusqlite::Connection::open(&db)
            .and_then(|c| {
                c.query_row(
                    "SELECT (SELECT max(id) FROM entries) - upto
                         + (SELECT count(*) FROM webhook_deliveries WHERE state = 'pending')
                     FROM cursors WHERE name = 'dispatched_entries'",
                    [],
                    |r| r.get(0),
                )
            })
            .unwrap_or(0)
    };
    let catch_up_from = undispatched();
    let catch_up = Instant::now();
    while undispatched() > 0 && catch_up.elapsed() < Duration::from_secs(600) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let catch_up_secs = catch_up.elapsed().as_secs_f64();
    // Receipts of submissions recorded in `sent`.
    let matched = |sent: &Sent| -> usize {
        let sent = sent.lock().unwrap();
        received
            .lock()
            .unwrap()
            .iter()
            .filter(|(n, _)| sent.contains_key(n))
            .count()
    };
    let (notifying, backlog_secs, at_rest) = runtime.block_on(async {
        let notifying = run_recording(&rig, Target::Ingest, secs, Some(sent.clone())).await;
        let expected = paths.len() * notifying.created as usize;
        let started = Instant::now();
        while matched(&sent) < expected && started.elapsed() < Duration::from_secs(600) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let backlog_secs = started.elapsed().as_secs_f64();
        let under_load = received.lock().unwrap().clone();
        // At rest: one submission at a time.
        let rest: Sent = Arc::default();
        for _ in 0..100 {
            let n = rig.submissions.counter.fetch_add(1, Ordering::Relaxed);
            rest.lock().unwrap().insert(n, Instant::now());
            let body = format!(
                r#"{{"site":"{}","kind":"complaint","message":"Bench submission {n}: at rest.","idempotency_key":"{}"}}"#,
                rig.submissions.site,
                rig.submissions.keys.key(n)
            );
            let stream = tokio::net::TcpStream::connect(&rig.addr).await.expect("connect");
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.expect("handshake");
            tokio::spawn(conn);
            let request = Request::builder()
                .method(Method::POST)
                .uri("/api/v1/feedback")
                .header("host", &rig.addr)
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from(body)))
                .expect("request");
            let response = sender.send_request(request).await.expect("at-rest submission");
            assert_eq!(response.status().as_u16(), 201);
            let want = paths.len() * rest.lock().unwrap().len();
            let waited = Instant::now();
            while matched(&rest) < want && waited.elapsed() < Duration::from_secs(10) {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let all = received.lock().unwrap().clone();
        let at_rest = webhook_latencies(&rest, &all);
        (notifying, backlog_secs, (webhook_latencies(&sent, &under_load), at_rest))
    });
    let peak = support::proc_kib(&pid.to_string(), "VmHWM:");
    // The WAL file keeps its high-water size until shutdown truncates it.
    let wal_mib = std::fs::metadata(db.with_extension("db-wal"))
        .map(|m| m.len() / (1024 * 1024))
        .unwrap_or(0);
    Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill");
    let exit = child.wait().expect("wait");

    let conn = rusqlite::Connection::open(&db).expect("open db");
    let stored: i64 = conn
        .query_row("SELECT count(*) FROM entries", [], |r| r.get(0))
        .expect("count");
    // Warm-up ingest created entries too: compare against every key handed out
    // that was answered 201, i.e. the stored count must cover all of them.
    let answered_201_in_phase = ingest.created;

    println!(
        "\nEarshot ingest load benchmark: {conns} connections, {secs} s per phase, client and server on one machine\n"
    );
    println!("| route | requests/s | p50 ms | p99 ms | max ms | non-2xx |");
    println!("|---|---|---|---|---|---|");
    for (name, p) in [
        ("GET /livez (hello world)", &hello),
        ("POST /api/v1/feedback", &ingest),
        (
            "POST /api/v1/feedback, 2 webhooks + 1 notified admin",
            &notifying,
        ),
    ] {
        println!(
            "| {name} | {:.0} | {:.2} | {:.2} | {:.2} | {} |",
            p.rate(),
            p.percentile(0.50),
            p.percentile(0.99),
            p.percentile(1.0),
            p.other
        );
    }
    println!("\nCPU per request (µs; both processes share the machine):\n");
    println!("| thread group | hello world | ingest | ingest, notifying |");
    println!("|---|---|---|---|");
    let names: std::collections::BTreeSet<&str> = hello
        .cpu_ns
        .keys()
        .chain(ingest.cpu_ns.keys())
        .chain(notifying.cpu_ns.keys())
        .copied()
        .collect();
    let per_request = |p: &Phase, name: &str| {
        p.cpu_ns.get(name).copied().unwrap_or(0) as f64 / 1000.0 / p.requests.max(1) as f64
    };
    let total =
        |p: &Phase| p.cpu_ns.values().sum::<u64>() as f64 / 1000.0 / p.requests.max(1) as f64;
    for name in names {
        println!(
            "| {name} | {:.1} | {:.1} | {:.1} |",
            per_request(&hello, name),
            per_request(&ingest, name),
            per_request(&notifying, name)
        );
    }
    println!(
        "| **all** | {:.1} | {:.1} | {:.1} |",
        total(&hello),
        total(&ingest),
        total(&notifying)
    );
    println!(
        "| machine idle or waiting for I/O | {:.0}% | {:.0}% | {:.0}% |",
        hello.idle * 100.0,
        ingest.idle * 100.0,
        notifying.idle * 100.0
    );
    report_ingest(&hello, &ingest, &wal_phases);
    let (loaded, rest) = &at_rest;
    println!(
        "\nbacklog left by the plain phases (notifications trickle while submissions flood in): {catch_up_from} entries, announced {catch_up_secs:.1} s after"
    );
    println!(
        "\nwith 2 webhooks and 1 notified admin: {:.0}% of the plain ingest rate",
        notifying.rate() / ingest.rate() * 100.0
    );
    println!(
        "submission → webhook received, under that load: p50 {:.0} ms, p99 {:.0} ms ({} receipts; backlog drained {:.1} s after the phase)",
        pct(loaded, 0.5),
        pct(loaded, 0.99),
        loaded.len(),
        backlog_secs
    );
    println!(
        "submission → webhook received, at rest: p50 {:.1} ms, p99 {:.1} ms ({} receipts)",
        pct(rest, 0.5),
        pct(rest, 0.99),
        rest.len()
    );
    println!(
        "emails to the notified admin: {} (one at once, then one folded email a minute)",
        mails.load(Ordering::Relaxed)
    );
    println!(
        "RSS under ingest load: {} MiB, peak {} MiB",
        rss_load / 1024,
        peak / 1024
    );
    println!("WAL file after the load: {wal_mib} MiB (bounded: the writer lets it rewind)");
    println!(
        "stored rows: {stored} (≥ {answered_201_in_phase} answered 201 in the measured phase; all {} handed-out keys incl. warm-up)",
        rig.submissions.counter.load(Ordering::Relaxed)
    );
    let on_disk = conn
        .query_row(
            "SELECT count(DISTINCT idempotency_key) FROM entries",
            [],
            |r| r.get::<_, i64>(0),
        )
        .expect("count keys");
    let on_disk = u64::try_from(on_disk).unwrap_or(0);
    assert!(exit.success(), "the collector did not shut down cleanly");
    assert_eq!(ingest.other, 0, "ingest answered non-201");
    assert_eq!(
        wal_phases.reading.other, 0,
        "ingest beside a long reader answered non-201"
    );
    assert_eq!(wal_phases.steady.other, 0, "steady ingest answered non-201");
    // Every request got 201 and every key is unique, so each 201 is a row.
    assert_eq!(
        on_disk,
        rig.submissions.counter.load(Ordering::Relaxed),
        "a 201 is missing from disk"
    );
    println!("every 201 is on disk: yes ({on_disk} rows for {on_disk} acknowledged submissions)");
}
