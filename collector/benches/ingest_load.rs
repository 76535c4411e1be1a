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
//! Environment: `EARSHOT_BENCH_CONNECTIONS` (default 64),
//! `EARSHOT_BENCH_SECONDS` per phase (default 10).

// A benchmark that cannot reach its server should stop loudly.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;

const BIN: &str = env!("CARGO_BIN_EXE_earshot");

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[derive(Default)]
struct Phase {
    requests: u64,
    created: u64,
    other: u64,
    latencies_us: Vec<u32>,
    elapsed: Duration,
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

#[derive(Clone, Copy)]
enum Target {
    Hello,
    Ingest,
}

async fn connection(
    addr: String,
    target: Target,
    site: Arc<String>,
    counter: Arc<AtomicU64>,
    until: Instant,
) -> Phase {
    let mut phase = Phase::default();
    let stream = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    stream.set_nodelay(true).ok();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    while Instant::now() < until {
        let request = match target {
            Target::Hello => Request::get("/livez")
                .header("host", &addr)
                .body(Full::new(Bytes::new())),
            Target::Ingest => {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                // ~500 bytes, like a real submission with context.
                let body = format!(
                    r#"{{"site":"{site}","kind":"complaint","message":"Bench submission {n}: the checkout button did nothing when I pressed it twice, and then the cart emptied itself.","email":"bench{n}@example.com","page":{{"url":"https://shop.example/checkout?step=2","title":"Checkout","referrer":"https://shop.example/cart"}},"client":{{"user_agent":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36","language":"en-GB","timezone":"Europe/London","viewport":"1280x800"}},"idempotency_key":"bench-{n:012}"}}"#
                );
                Request::builder()
                    .method(Method::POST)
                    .uri("/api/v1/feedback")
                    .header("host", &addr)
                    .header("content-type", "application/json")
                    .body(Full::new(Bytes::from(body)))
            }
        }
        .expect("request");
        let started = Instant::now();
        let response = match sender.send_request(request).await {
            Ok(r) => r,
            Err(_) => break,
        };
        let status = response.status().as_u16();
        let _ = response.into_body().collect().await;
        phase
            .latencies_us
            .push(u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX));
        phase.requests += 1;
        match status {
            201 => phase.created += 1,
            200 if matches!(target, Target::Hello) => {}
            _ => phase.other += 1,
        }
    }
    phase
}

async fn run(
    addr: &str,
    target: Target,
    site: &Arc<String>,
    counter: &Arc<AtomicU64>,
    conns: u64,
    secs: u64,
) -> Phase {
    let started = Instant::now();
    let until = started + Duration::from_secs(secs);
    let tasks: Vec<_> = (0..conns)
        .map(|_| {
            tokio::spawn(connection(
                addr.to_owned(),
                target,
                site.clone(),
                counter.clone(),
                until,
            ))
        })
        .collect();
    let mut total = Phase::default();
    for task in tasks {
        let p = task.await.expect("connection task");
        total.requests += p.requests;
        total.created += p.created;
        total.other += p.other;
        total.latencies_us.extend(p.latencies_us);
    }
    total.elapsed = started.elapsed();
    total.latencies_us.sort_unstable();
    total
}

fn rss_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let conns = env_or("EARSHOT_BENCH_CONNECTIONS", 64);
    let secs = env_or("EARSHOT_BENCH_SECONDS", 10);
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("bench.db");
    let mut child = Command::new(BIN)
        .args(["serve", "--addr", "127.0.0.1:0", "--db"])
        .arg(&db)
        .env("EARSHOT_RATE_LIMIT_PER_IP", "0")
        .env("EARSHOT_RATE_LIMIT_PER_SITE", "0")
        .env("EARSHOT_MIN_FILL_MS", "0")
        .env("EARSHOT_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start earshot");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let (mut addr, mut site) = (String::new(), String::new());
    for line in lines.by_ref() {
        let line = line.expect("stdout line");
        if let Some(rest) = line.strip_prefix("Earshot is listening on http://") {
            addr = rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned();
        }
        if let Some(rest) = line.split("data-site=\"").nth(1) {
            site = rest.split('"').next().unwrap_or_default().to_owned();
            break;
        }
    }
    std::thread::spawn(move || lines.for_each(drop));
    let pid = child.id();
    let site = Arc::new(site);
    let counter = Arc::new(AtomicU64::new(0));

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (hello, ingest, rss_load) = runtime.block_on(async {
        // Warm-up: connections, page cache, SQLite's first pages.
        run(&addr, Target::Hello, &site, &counter, conns, 2).await;
        run(&addr, Target::Ingest, &site, &counter, conns, 2).await;
        let hello = run(&addr, Target::Hello, &site, &counter, conns, secs).await;
        let sampler = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(secs / 2)).await;
            rss_kib(pid, "VmRSS:")
        });
        let ingest = run(&addr, Target::Ingest, &site, &counter, conns, secs).await;
        (hello, ingest, sampler.await.unwrap_or(0))
    });
    let peak = rss_kib(pid, "VmHWM:");
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
    let ratio = ingest.rate() / hello.rate();
    println!(
        "\ningest / hello-world throughput: {:.0}%  (target ≥ 50%)",
        ratio * 100.0
    );
    println!(
        "ingest p99: {:.2} ms  (target ≤ 25 ms)",
        ingest.percentile(0.99)
    );
    println!(
        "RSS under ingest load: {} MiB, peak {} MiB",
        rss_load / 1024,
        peak / 1024
    );
    println!("WAL file after the load: {wal_mib} MiB (bounded: the writer lets it rewind)");
    println!(
        "stored rows: {stored} (≥ {answered_201_in_phase} answered 201 in the measured phase; all {} handed-out keys incl. warm-up)",
        counter.load(Ordering::Relaxed)
    );
    let on_disk = conn
        .query_row(
            "SELECT count(*) FROM entries WHERE idempotency_key LIKE 'bench-%'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .expect("count keys");
    let on_disk = u64::try_from(on_disk).unwrap_or(0);
    assert!(exit.success(), "the collector did not shut down cleanly");
    assert_eq!(ingest.other, 0, "ingest answered non-201");
    // Every request got 201 and every key is unique, so each 201 is a row.
    assert_eq!(
        on_disk,
        counter.load(Ordering::Relaxed),
        "a 201 is missing from disk"
    );
    println!("every 201 is on disk: yes ({on_disk} rows for {on_disk} acknowledged submissions)");
}
