//! What a failing webhook endpoint costs over an hour: the outbox's size,
//! the attempts made and the process's memory, with time injected (the
//! clock jumps a minute at a time, so an hour takes well under a minute).
//!
//! A collector runs in this process on a manual clock with one endpoint
//! whose receiver answers every request with 500. Each simulated minute
//! brings `EARSHOT_BENCH_PER_MINUTE` new entries (default 60); after each
//! jump the run waits until nothing due is left undelivered. Every ten
//! minutes it prints what the outbox holds and the resident memory.

// A benchmark that cannot reach its server should stop loudly.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use earshot_collector::clock::Clock;
use earshot_collector::config::Config;
use earshot_collector::server;
use earshot_collector::store::NewWebhook;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A receiver that reads each request and answers 500.
async fn failing_receiver(requests: Arc<AtomicU64>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let requests = requests.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                let _ = stream.read(&mut buf).await;
                requests.fetch_add(1, Ordering::Relaxed);
                let _ = stream
                    .write_all(
                        b"HTTP/1.1 500 Oops\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    )
                    .await;
            });
        }
    });
    url
}

fn main() {
    let per_minute: u64 = std::env::var("EARSHOT_BENCH_PER_MINUTE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("outbox.db");
        let clock = Clock::manual(earshot_collector::clock::system_millis());
        let mut config = Config::new("127.0.0.1:0".parse().unwrap(), db.clone());
        config.limits.per_ip_per_minute = 0;
        config.limits.per_site_per_minute = 0;
        config.limits.max_connections_per_ip = 0;
        config.limits.min_fill = Duration::ZERO;
        config.allow_private_webhooks = true;
        config.clock = clock.clone();
        let running = server::start(&config).await.unwrap();
        let requests = Arc::new(AtomicU64::new(0));
        let url = failing_receiver(requests.clone()).await;
        let site = running.created_site.clone().unwrap();
        running
            .store
            .add_webhook(
                NewWebhook {
                    site_id: site.id,
                    url,
                    events: "*".into(),
                    format: "standard".into(),
                    include_email: false,
                    secret: earshot_collector::webhooks::sign::SigningSecret::generate()
                        .expose()
                        .to_owned(),
                },
                None,
                clock.now_millis(),
            )
            .await
            .unwrap();
        let client = reqwest::Client::new();
        let conn = rusqlite::Connection::open(&db).unwrap();
        let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
        let started = Instant::now();
        let rss_start = support::proc_kib("self", "VmRSS:");
        println!(
            "\nA webhook endpoint failing (500) for an hour of injected time, {per_minute} new entries a minute\n"
        );
        println!("| minute | entries | pending | failed for good | attempts made | receiver requests | RSS MiB | database MiB |");
        println!("|---|---|---|---|---|---|---|---|");
        for minute in 1..=60 {
            for i in 0..per_minute {
                let response = client
                    .post(format!("{}/api/v1/feedback", running.public_url))
                    .json(&serde_json::json!({
                        "site": site.key, "kind": "complaint",
                        "message": format!("minute {minute}, entry {i}: the parcel never came")
                    }))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status().as_u16(), 201);
            }
            clock.advance(60_000);
            // Until every due message has been tried (and its retry set).
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                let now = clock.now_millis();
                let due: i64 = conn
                    .query_row(
                        "SELECT count(*) FROM webhook_deliveries WHERE state = 'pending' AND due_at <= ?1",
                        [now],
                        |r| r.get(0),
                    )
                    .unwrap();
                let undispatched: i64 = conn
                    .query_row(
                        "SELECT (SELECT max(id) FROM entries) - upto FROM cursors WHERE name = 'dispatched_entries'",
                        [],
                        |r| r.get(0),
                    )
                    .unwrap();
                if due == 0 && undispatched == 0 {
                    break;
                }
                assert!(Instant::now() < deadline, "minute {minute}: {due} still due");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            if minute % 10 == 0 {
                let db_mib = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0) as f64 / 1_048_576.0;
                println!(
                    "| {minute} | {} | {} | {} | {} | {} | {:.1} | {db_mib:.1} |",
                    count("SELECT count(*) FROM entries"),
                    count("SELECT count(*) FROM webhook_deliveries WHERE state = 'pending'"),
                    count("SELECT count(*) FROM webhook_deliveries WHERE state = 'failed'"),
                    count("SELECT count(*) FROM webhook_attempts"),
                    requests.load(Ordering::Relaxed),
                    support::proc_kib("self", "VmRSS:") as f64 / 1024.0,
                );
            }
        }
        println!(
            "\nRSS {:.1} MiB at the start, {:.1} MiB after the hour; wall time {:.1} s",
            rss_start as f64 / 1024.0,
            support::proc_kib("self", "VmRSS:") as f64 / 1024.0,
            started.elapsed().as_secs_f64()
        );
        let state: String = conn
            .query_row("SELECT state FROM webhooks", [], |r| r.get(0))
            .unwrap();
        println!("endpoint state after the hour: {state} (failing is declared after the eighth attempt, about a day in)");
        running.stop().await.unwrap();
    });
}
