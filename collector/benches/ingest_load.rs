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

#[path = "support/backends.rs"]
mod backends;
#[path = "../tests/support/postgres.rs"]
mod postgres_server;
mod support;

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
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
    /// (second of the phase the request was sent in, latency in µs).
    timeline: Vec<(u32, u32)>,
    elapsed: Duration,
    /// CPU nanoseconds spent during the phase, by thread group.
    cpu_ns: BTreeMap<&'static str, u64>,
    /// Share of the machine's CPU time that was idle or waiting for I/O.
    idle: f64,
}

/// Groups a thread by its name, as the collector names them.
fn group(comm: &str) -> &'static str {
    match comm {
        c if c.starts_with("tokio-rt-worker") => "server: HTTP workers",
        c if c.starts_with("earshot-writer") => "server: writer",
        c if c.starts_with("earshot-flush") => "server: flush",
        c if c.starts_with("earshot-checkp") => "server: checkpoint",
        _ => "server: other",
    }
}

/// CPU time so far of every thread of `pid`, added per group into `out`
/// (`schedstat`'s first field: nanoseconds on a CPU).
fn add_cpu(out: &mut BTreeMap<&'static str, u64>, pid: u32, group: fn(&str) -> &'static str) {
    let dir = format!("/proc/{pid}/task");
    for task in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = task.path();
        let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        let ns: u64 = std::fs::read_to_string(path.join("schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
            .unwrap_or(0);
        *out.entry(group(comm.trim())).or_insert(0) += ns;
    }
}

/// (idle + iowait, total) jiffies of the whole machine.
fn machine_idle() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let fields: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let idle = fields.get(3).copied().unwrap_or(0) + fields.get(4).copied().unwrap_or(0);
    (idle, fields.iter().sum())
}

/// Snapshot of everything a phase's CPU report needs.
struct Cpu {
    /// Server thread groups and the load generator (this process).
    by_group: BTreeMap<&'static str, u64>,
    idle: (u64, u64),
}

impl Cpu {
    fn now(server_pid: u32) -> Cpu {
        let mut by_group = BTreeMap::new();
        add_cpu(&mut by_group, server_pid, group);
        add_cpu(&mut by_group, std::process::id(), |_| "load generator");
        Cpu {
            by_group,
            idle: machine_idle(),
        }
    }

    /// Per-group CPU between `self` and `later`; threads that exited in
    /// between are missed, which the collector's long-lived threads never do.
    fn until(&self, later: &Cpu) -> (BTreeMap<&'static str, u64>, f64) {
        let spent = later
            .by_group
            .iter()
            .map(|(name, ns)| {
                let start = self.by_group.get(name).copied().unwrap_or(0);
                (*name, ns.saturating_sub(start))
            })
            .collect();
        let idle = later.idle.0.saturating_sub(self.idle.0) as f64;
        let total = later.idle.1.saturating_sub(self.idle.1).max(1) as f64;
        (spent, idle / total)
    }
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

/// splitmix64's finaliser: a bijection on `u64`, so distinct inputs give
/// distinct outputs.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// How the bench's idempotency keys are shaped.
#[derive(Clone, Copy, PartialEq)]
enum Keys {
    /// The widget's: a UUID v7, the time in milliseconds then random bits,
    /// so keys made in order land at the end of the unique index.
    Widget,
    /// A random UUID v4 (`crypto.randomUUID()`), as the widget made until
    /// December 2026: each lands on a random page of the unique index and dirties it.
    /// `EARSHOT_BENCH_KEYS=v4` measures what that costs.
    Random,
}

impl Keys {
    fn from_env() -> Keys {
        match std::env::var("EARSHOT_BENCH_KEYS").as_deref() {
            Ok("v4") => Keys::Random,
            _ => Keys::Widget,
        }
    }

    /// The `n`th key. All 64 bits of `mix(n)` survive in the text, so keys
    /// never repeat; sequential keys would flatter the writer more than
    /// real ones, whose random half still differs.
    fn key(self, n: u64) -> String {
        let (a, b) = (mix(n), mix(!n));
        let (high, version) = match self {
            Keys::Widget => {
                let millis = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as u64);
                (millis & 0xFFFF_FFFF_FFFF, 7)
            }
            Keys::Random => (a >> 16, 4),
        };
        format!(
            "{:08x}-{:04x}-{version}{:03x}-{:04x}-{:04x}{:08x}",
            high >> 16,
            high & 0xFFFF,
            (a >> 4) & 0xFFF,
            0x8000 | ((b >> 32) & 0x3FFF),
            a & 0xFFFF,
            b & 0xFFFF_FFFF,
        )
    }
}

/// Requests one after another, or one every `interval` from `first` on
/// when paced.
#[derive(Clone, Copy)]
struct Pace {
    first: Instant,
    interval: Duration,
}

async fn connection(
    addr: String,
    target: Target,
    submissions: Submissions,
    until: Instant,
    sent: Option<Sent>,
    pace: Option<Pace>,
) -> Phase {
    let phase_started = Instant::now();
    let mut next = pace.map(|p| p.first);
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
        if let (Some(at), Some(pace)) = (next.as_mut(), pace) {
            tokio::time::sleep_until((*at).into()).await;
            *at += pace.interval;
        }
        let request = match target {
            Target::Hello => Request::get("/livez")
                .header("host", &addr)
                .body(Full::new(Bytes::new())),
            Target::Ingest => {
                let Submissions { site, counter, keys } = &submissions;
                let n = counter.fetch_add(1, Ordering::Relaxed);
                if let Some(sent) = &sent {
                    sent.lock().unwrap().insert(n, Instant::now());
                }
                // ~500 bytes, like a real submission with context.
                let body = format!(
                    r#"{{"site":"{site}","kind":"complaint","message":"Bench submission {n}: the checkout button did nothing when I pressed it twice, and then the cart emptied itself.","email":"bench{n}@example.com","page":{{"url":"https://shop.example/checkout?step=2","title":"Checkout","referrer":"https://shop.example/cart"}},"client":{{"user_agent":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36","language":"en-GB","timezone":"Europe/London","viewport":"1280x800"}},"idempotency_key":"{key}"}}"#,
                    key = keys.key(n)
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
        let latency = u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX);
        phase.latencies_us.push(latency);
        let second = u32::try_from((started - phase_started).as_secs()).unwrap_or(u32::MAX);
        phase.timeline.push((second, latency));
        phase.requests += 1;
        match status {
            201 => phase.created += 1,
            200 if matches!(target, Target::Hello) => {}
            _ => phase.other += 1,
        }
    }
    phase
}

/// When each numbered submission was sent, for webhook latencies.
type Sent = Arc<Mutex<HashMap<u64, Instant>>>;

/// What every submission is made of.
#[derive(Clone)]
struct Submissions {
    site: Arc<String>,
    /// Hands out unique idempotency keys across phases.
    counter: Arc<AtomicU64>,
    keys: Keys,
}

/// The server under test and how hard to drive it.
struct Rig {
    pid: u32,
    addr: String,
    submissions: Submissions,
    conns: u64,
}

async fn run(rig: &Rig, target: Target, secs: u64) -> Phase {
    run_recording(rig, target, secs, None).await
}

async fn run_recording(rig: &Rig, target: Target, secs: u64, sent: Option<Sent>) -> Phase {
    run_phase(rig, target, secs, sent, None).await
}

/// Ingest at `rate` submissions per second in all, spread over the
/// connections.
async fn run_paced(rig: &Rig, rate: f64, secs: u64) -> Phase {
    run_phase(rig, Target::Ingest, secs, None, Some(rate)).await
}

async fn run_phase(
    rig: &Rig,
    target: Target,
    secs: u64,
    sent: Option<Sent>,
    rate: Option<f64>,
) -> Phase {
    let cpu = Cpu::now(rig.pid);
    let started = Instant::now();
    let until = started + Duration::from_secs(secs);
    let tasks: Vec<_> = (0..rig.conns)
        .map(|i| {
            // Connections take turns, evenly spaced.
            let pace = rate.map(|rate| {
                let interval = Duration::from_secs_f64(rig.conns as f64 / rate);
                Pace {
                    first: started + interval.mul_f64(i as f64 / rig.conns as f64),
                    interval,
                }
            });
            tokio::spawn(connection(
                rig.addr.clone(),
                target,
                rig.submissions.clone(),
                until,
                sent.clone(),
                pace,
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
        total.timeline.extend(p.timeline);
    }
    total.elapsed = started.elapsed();
    (total.cpu_ns, total.idle) = cpu.until(&Cpu::now(rig.pid));
    total.latencies_us.sort_unstable();
    total
}

/// Webhook requests received: (submission number, when).
type Received = Arc<Mutex<Vec<(u64, Instant)>>>;

/// A webhook receiver that answers 200 at once and notes which bench
/// submission each message was about.
async fn webhook_receiver(received: Received) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let received = received.clone();
            tokio::spawn(async move {
                let service =
                    hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
                        let received = received.clone();
                        async move {
                            let body = request.into_body().collect().await.map(|b| b.to_bytes());
                            let text = body
                                .as_deref()
                                .map(String::from_utf8_lossy)
                                .unwrap_or_default();
                            let n = text
                                .split("Bench submission ")
                                .nth(1)
                                .and_then(|rest| rest.split(':').next())
                                .and_then(|n| n.parse::<u64>().ok());
                            if let Some(n) = n {
                                received.lock().unwrap().push((n, Instant::now()));
                            }
                            Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(
                                Bytes::new(),
                            )))
                        }
                    });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    url
}

/// An SMTP server that takes every message and counts them.
async fn smtp_sink(count: Arc<AtomicU64>) -> String {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("smtp://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let count = count.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = tokio::io::BufReader::new(read).lines();
                let _ = write.write_all(b"220 sink\r\n").await;
                let mut in_data = false;
                while let Ok(Some(line)) = lines.next_line().await {
                    let answer: &[u8] = if in_data {
                        if line != "." {
                            continue;
                        }
                        in_data = false;
                        count.fetch_add(1, Ordering::Relaxed);
                        b"250 queued\r\n"
                    } else {
                        match line.get(..4).unwrap_or("").to_ascii_uppercase().as_str() {
                            "DATA" => {
                                in_data = true;
                                b"354 go ahead\r\n"
                            }
                            "QUIT" => break,
                            _ => b"250 ok\r\n",
                        }
                    };
                    let _ = write.write_all(answer).await;
                }
            });
        }
    });
    url
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

/// Milliseconds from sending each submission to each webhook receipt of it,
/// sorted.
fn webhook_latencies(sent: &Sent, received: &[(u64, Instant)]) -> Vec<f64> {
    let sent = sent.lock().unwrap();
    let mut ms: Vec<f64> = received
        .iter()
        .filter_map(|(n, at)| {
            sent.get(n)
                .map(|s| at.duration_since(*s).as_secs_f64() * 1000.0)
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    ms
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Samples the WAL file's length every 100 ms until `stop`:
/// (seconds since the start, bytes).
fn wal_sampler(
    wal: std::path::PathBuf,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<Vec<(f64, u64)>> {
    std::thread::spawn(move || {
        let started = Instant::now();
        let mut samples = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            let len = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
            samples.push((started.elapsed().as_secs_f64(), len));
            std::thread::sleep(Duration::from_millis(100));
        }
        samples
    })
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// The writer's histograms from `/metrics`: (name, count, sum seconds,
/// buckets as (upper bound, cumulative count)).
type Histograms = Vec<(String, f64, f64, Vec<(f64, f64)>)>;

fn scrape(metrics: &str) -> Histograms {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(metrics).expect("metrics listener");
    write!(
        stream,
        "GET /metrics HTTP/1.0\r\nHost: {metrics}\r\nConnection: close\r\n\r\n"
    )
    .expect("ask for metrics");
    let mut text = String::new();
    stream.read_to_string(&mut text).expect("metrics");
    let mut out: Histograms = Vec::new();
    for name in [
        "earshot_writer_commit_seconds",
        "earshot_writer_fsync_seconds",
        "earshot_writer_rewind_seconds",
    ] {
        let value = |line: &str| line.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok());
        let mut count = 0.0;
        let mut sum = 0.0;
        let mut buckets = Vec::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix(&format!("{name}_bucket{{le=\"")) {
                let le = rest.split('"').next().unwrap_or("+Inf");
                let le = le.parse::<f64>().unwrap_or(f64::INFINITY);
                buckets.push((le, value(line).unwrap_or(0.0)));
            } else if line.starts_with(&format!("{name}_count")) {
                count = value(line).unwrap_or(0.0);
            } else if line.starts_with(&format!("{name}_sum")) {
                sum = value(line).unwrap_or(0.0);
            }
        }
        out.push((name.to_owned(), count, sum, buckets));
    }
    out
}

/// The phases about the WAL and what they found.
struct WalPhases {
    /// Ingest beside a reader holding one snapshot for `hold`.
    reading: Phase,
    hold: Duration,
    /// WAL length samples over `reading`.
    reading_wal: Vec<(f64, u64)>,
    /// Ingest at `steady_rate` for `steady_secs`.
    steady: Phase,
    steady_secs: u64,
    steady_rate: f64,
    steady_wal: Vec<(f64, u64)>,
    writer_times: Histograms,
}

fn report_ingest(hello: &Phase, ingest: &Phase, wal: &WalPhases) {
    let WalPhases {
        reading,
        hold,
        reading_wal,
        steady,
        steady_secs,
        steady_rate,
        steady_wal,
        writer_times,
    } = wal;
    let (hold, steady_secs, steady_rate) = (*hold, *steady_secs, *steady_rate);
    let ratio = ingest.rate() / hello.rate();
    println!(
        "\ningest / hello-world throughput: {:.0}%  (target ≥ 25%)",
        ratio * 100.0
    );
    println!(
        "ingest p99: {:.2} ms (target ≤ 25 ms), max {:.2} ms (target ≤ 100 ms)",
        ingest.percentile(0.99),
        ingest.percentile(1.0)
    );
    let max_wal = |samples: &[(f64, u64)], from: f64, to: f64| {
        samples
            .iter()
            .filter(|(t, _)| *t >= from && *t < to)
            .map(|(_, len)| *len)
            .max()
            .unwrap_or(0)
    };
    let held = hold.as_secs_f64();
    println!(
        "\nwith a reader holding one snapshot for the first {held:.0} s of a {:.0} s ingest phase: {:.0} submissions/s, p99 {:.2} ms, max {:.2} ms; WAL up to {:.1} MiB while held, {:.1} MiB at the end (journal_size_limit 64 MiB)",
        reading.elapsed.as_secs_f64(),
        reading.rate(),
        reading.percentile(0.99),
        reading.percentile(1.0),
        mib(max_wal(reading_wal, 0.0, held + 0.5)),
        mib(reading_wal.last().map_or(0, |(_, len)| *len)),
    );
    println!(
        "\n{steady_secs} s at half the peak rate ({steady_rate:.0}/s offered): {:.0} submissions/s, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, WAL up to {:.1} MiB\n",
        steady.rate(),
        steady.percentile(0.5),
        steady.percentile(0.99),
        steady.percentile(1.0),
        mib(max_wal(steady_wal, 0.0, f64::MAX)),
    );
    println!("| from s | to s | requests | p99 ms | max ms | WAL max MiB |");
    println!("|---|---|---|---|---|---|");
    let window = (steady_secs / 10).max(1);
    for start in (0..steady_secs).step_by(usize::try_from(window).unwrap_or(1)) {
        let end = start + window;
        let mut latencies: Vec<u32> = steady
            .timeline
            .iter()
            .filter(|(t, _)| u64::from(*t) >= start && u64::from(*t) < end)
            .map(|(_, l)| *l)
            .collect();
        latencies.sort_unstable();
        let at = |q: f64| {
            latencies
                .get(((latencies.len().max(1) - 1) as f64 * q).round() as usize)
                .map_or(0.0, |us| f64::from(*us) / 1000.0)
        };
        println!(
            "| {start} | {end} | {} | {:.2} | {:.2} | {:.1} |",
            latencies.len(),
            at(0.99),
            at(1.0),
            mib(max_wal(steady_wal, start as f64, end as f64))
        );
    }
    println!("\nthe writer over the phases above (from /metrics; quantiles are bucket bounds):\n");
    println!("| histogram | count | mean ms | p50 ≤ ms | p99 ≤ ms | over 12.8 ms | over 51.2 ms |");
    println!("|---|---|---|---|---|---|---|");
    for (name, count, sum, buckets) in writer_times {
        let bound = |q: f64| {
            buckets
                .iter()
                .find(|(_, c)| *c >= q * count)
                .map_or(f64::INFINITY, |(le, _)| le * 1000.0)
        };
        let over = |seconds: f64| {
            count
                - buckets
                    .iter()
                    .find(|(le, _)| (*le - seconds).abs() < 1e-9)
                    .map_or(*count, |(_, c)| *c)
        };
        println!(
            "| {name} | {count:.0} | {:.2} | {:.2} | {:.2} | {:.0} | {:.0} |",
            sum / count.max(1.0) * 1000.0,
            bound(0.5),
            bound(0.99),
            over(0.0128),
            over(0.0512)
        );
    }
}

/// A collector under test: the bench-profile binary serving `args`.
struct Server {
    child: std::process::Child,
    addr: String,
    site: String,
    metrics: String,
}

impl Server {
    /// Starts `earshot serve <args>` on free ports with every abuse limit
    /// off, then `env`; returns once it has printed where it listens.
    fn start(args: &[&OsStr], env: &[(&str, &str)]) -> Server {
        let mut command = Command::new(BIN);
        command
            .args([
                "serve",
                "--addr",
                "127.0.0.1:0",
                "--metrics-addr",
                "127.0.0.1:0",
            ])
            .args(args)
            .env("EARSHOT_RATE_LIMIT_PER_IP", "0")
            .env("EARSHOT_MAX_CONNECTIONS_PER_IP", "0")
            .env("EARSHOT_RATE_LIMIT_PER_SITE", "0")
            .env("EARSHOT_MIN_FILL_MS", "0")
            .env("EARSHOT_LOG", "warn");
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command
            .stdout(Stdio::piped())
            .spawn()
            .expect("start earshot");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let (mut addr, mut site, mut metrics) = (String::new(), String::new(), String::new());
        for line in lines.by_ref() {
            let line = line.expect("stdout line");
            if let Some(rest) = line.strip_prefix("Earshot is listening on http://") {
                addr = rest
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_owned();
            }
            if let Some(rest) = line.strip_prefix("Metrics (Prometheus): http://") {
                metrics = rest.trim_end_matches("/metrics").to_owned();
            }
            if let Some(rest) = line.split("data-site=\"").nth(1) {
                site = rest.split('"').next().unwrap_or_default().to_owned();
                break;
            }
        }
        std::thread::spawn(move || lines.for_each(drop));
        Server {
            child,
            addr,
            site,
            metrics,
        }
    }

    fn stop(mut self) {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(self.child.wait().expect("wait").success());
    }
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
