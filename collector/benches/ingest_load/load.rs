//! The load generator: connections sending hello-world or widget-shaped
//! submissions as fast as they are answered, or at a set pace, each
//! request's latency recorded.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;

use crate::Phase;
use crate::cpu::Cpu;

#[derive(Clone, Copy)]
pub(crate) enum Target {
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
pub(crate) enum Keys {
    /// The widget's: a UUID v7, the time in milliseconds then random bits,
    /// so keys made in order land at the end of the unique index.
    Widget,
    /// A random UUID v4 (`crypto.randomUUID()`), as the widget made until
    /// December 2026: each lands on a random page of the unique index and dirties it.
    /// `EARSHOT_BENCH_KEYS=v4` measures what that costs.
    Random,
}

impl Keys {
    pub(crate) fn from_env() -> Keys {
        match std::env::var("EARSHOT_BENCH_KEYS").as_deref() {
            Ok("v4") => Keys::Random,
            _ => Keys::Widget,
        }
    }

    /// The `n`th key. All 64 bits of `mix(n)` survive in the text, so keys
    /// never repeat; sequential keys would flatter the writer more than
    /// real ones, whose random half still differs.
    pub(crate) fn key(self, n: u64) -> String {
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
pub(crate) type Sent = Arc<Mutex<HashMap<u64, Instant>>>;

/// What every submission is made of.
#[derive(Clone)]
pub(crate) struct Submissions {
    pub(crate) site: Arc<String>,
    /// Hands out unique idempotency keys across phases.
    pub(crate) counter: Arc<AtomicU64>,
    pub(crate) keys: Keys,
}

/// The server under test and how hard to drive it.
pub(crate) struct Rig {
    pub(crate) pid: u32,
    pub(crate) addr: String,
    pub(crate) submissions: Submissions,
    pub(crate) conns: u64,
}

pub(crate) async fn run(rig: &Rig, target: Target, secs: u64) -> Phase {
    run_recording(rig, target, secs, None).await
}

pub(crate) async fn run_recording(
    rig: &Rig,
    target: Target,
    secs: u64,
    sent: Option<Sent>,
) -> Phase {
    run_phase(rig, target, secs, sent, None).await
}

/// Ingest at `rate` submissions per second in all, spread over the
/// connections.
pub(crate) async fn run_paced(rig: &Rig, rate: f64, secs: u64) -> Phase {
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
