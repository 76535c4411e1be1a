//! Slow clients and connection caps.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::spawn_app_with;

fn host_port(app: &crate::helpers::TestApp) -> String {
    app.address.trim_start_matches("http://").to_owned()
}

/// Reads until the server closes the connection or `limit` passes.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> Option<String> {
    let mut buf = Vec::new();
    let read = tokio::time::timeout(limit, stream.read_to_end(&mut buf)).await;
    read.ok()
        .map(|_| String::from_utf8_lossy(&buf).into_owned())
}

#[tokio::test]
async fn a_client_that_stalls_while_sending_headers_is_disconnected() {
    let app = spawn_app_with(|c| c.limits.header_timeout = Duration::from_secs(1)).await;
    let mut stream = TcpStream::connect(host_port(&app)).await.unwrap();
    stream
        .write_all(b"POST /api/v1/feedback HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let answer = read_until_closed(&mut stream, Duration::from_secs(10)).await;
    assert!(
        answer.is_some(),
        "the server kept a stalled connection open"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_body_that_trickles_in_too_slowly_gets_408() {
    let app = spawn_app_with(|c| c.limits.request_timeout = Duration::from_secs(1)).await;
    let mut stream = TcpStream::connect(host_port(&app)).await.unwrap();
    stream
        .write_all(
            b"POST /api/v1/feedback HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n{\"site\":",
        )
        .await
        .unwrap();
    let answer = read_until_closed(&mut stream, Duration::from_secs(10))
        .await
        .expect("no answer to a stalled body");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert_eq!(app.entry_count(), 0);
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_while_every_slot_is_serving_a_request() {
    let app = spawn_app_with(|c| {
        c.limits.max_connections = 1;
        c.limits.request_timeout = Duration::from_secs(2);
    })
    .await;
    // Holds the only slot with a request in flight: a body that never ends.
    let mut busy = TcpStream::connect(host_port(&app)).await.unwrap();
    busy.write_all(
        b"POST /api/v1/feedback HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n{",
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let url = format!("{}/livez", app.address);
    let client = reqwest::Client::new();
    let started = Instant::now();
    let waiting =
        tokio::spawn(async move { client.get(url).send().await.map(|r| r.status().as_u16()) });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !waiting.is_finished(),
        "a second connection was served while the only slot was busy"
    );
    // The busy request times out (408); then the newcomer is served.
    let status = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("the waiting connection was never served")
        .unwrap()
        .unwrap();
    assert_eq!(status, 200);
    assert!(started.elapsed() >= Duration::from_millis(1500));
    drop(busy);
}

/// Opens a connection from `source` (any 127.0.0.0/8 address is this
/// machine) that starts a request it will never finish.
async fn slow_client(source: &str, server: &str) -> Option<TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
    let mut stream = socket.connect(server.parse().unwrap()).await.ok()?;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .ok()?;
    Some(stream)
}

/// A slowloris: `per_source` connections from each of `sources`, each
/// trickling a header byte every half second and reopened as soon as the
/// server closes it, until the task is aborted.
fn slowloris(
    server: String,
    sources: Vec<String>,
    per_source: usize,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut streams: Vec<(String, Option<TcpStream>)> = Vec::new();
        for source in &sources {
            for _ in 0..per_source {
                let stream = slow_client(source, &server).await;
                streams.push((source.clone(), stream));
            }
        }
        loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            for (source, stream) in &mut streams {
                let alive = match stream {
                    Some(s) => s.write_all(b"X").await.is_ok() && !closed_by_server(s),
                    None => false,
                };
                if !alive {
                    *stream = slow_client(source, &server).await;
                }
            }
        }
    })
}

/// Whether the server has closed this stream or answered on it.
fn closed_by_server(stream: &TcpStream) -> bool {
    let mut buf = [0u8; 256];
    match stream.try_read(&mut buf) {
        Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
        Ok(_) => true,
    }
}

/// The slowest of `rounds` `/healthz` requests from 127.0.0.1, each on a
/// fresh connection.
async fn slowest_healthz(address: &str, rounds: usize) -> Duration {
    let mut slowest = Duration::ZERO;
    for _ in 0..rounds {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let started = Instant::now();
        let response = client.get(format!("{address}/healthz")).send().await;
        assert_eq!(response.unwrap().status().as_u16(), 200);
        slowest = slowest.max(started.elapsed());
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    slowest
}

#[tokio::test]
async fn a_slowloris_from_one_address_does_not_delay_another_client() {
    let app = spawn_app_with(|c| {
        c.limits.max_connections = 128;
        c.limits.max_connections_per_ip = 64;
    })
    .await;
    let attack = slowloris(host_port(&app), vec!["127.0.0.2".to_owned()], 300);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let slowest = slowest_healthz(&app.address, 10).await;
    attack.abort();
    eprintln!("slowloris from one address: slowest /healthz {slowest:?}");
    assert!(slowest < Duration::from_secs(1), "{slowest:?}");
}

#[tokio::test]
async fn a_slowloris_from_many_addresses_gives_way_to_a_real_client() {
    let app = spawn_app_with(|c| {
        c.limits.max_connections = 100;
        c.limits.max_connections_per_ip = 64;
    })
    .await;
    let sources = (2..12).map(|n| format!("127.0.0.{n}")).collect();
    let attack = slowloris(host_port(&app), sources, 40);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let slowest = slowest_healthz(&app.address, 10).await;
    attack.abort();
    eprintln!("slowloris from ten addresses: slowest /healthz {slowest:?}");
    assert!(slowest < Duration::from_secs(1), "{slowest:?}");
}

/// `earshot serve` started under `prlimit --nofile=<soft>:<hard>`, with the
/// per-address cap of a real deployment; its log goes to `log`.
fn serve_with_open_files(
    soft: u32,
    hard: u32,
    db: &std::path::Path,
    log: &std::path::Path,
) -> crate::helpers::Binary {
    let mut prlimit = std::process::Command::new("prlimit");
    prlimit
        .arg(format!("--nofile={soft}:{hard}"))
        .arg(crate::helpers::BIN);
    let command = crate::helpers::Binary::serving(
        prlimit,
        &["--db".as_ref(), db.as_os_str()],
        &[
            ("EARSHOT_MAX_CONNECTIONS_PER_IP", "64"),
            ("EARSHOT_LOG", "warn"),
        ],
    );
    crate::helpers::Binary::launch(command, std::fs::File::create(log).unwrap())
}

/// The limit on open files the process `pid` has now: (soft, hard).
fn open_files_limit(pid: u32) -> (String, String) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap()
        .to_owned();
    let mut numbers = line.split_whitespace().skip(3);
    (
        numbers.next().unwrap().to_owned(),
        numbers.next().unwrap().to_owned(),
    )
}

/// systemd starts services with a soft limit of 1,024 open files (and a
/// hard one far above it); each connection is one. The collector raises
/// the soft limit to the hard one, and where even that cannot hold
/// `--max-connections` beside its own files, it takes fewer connections
/// and says so: were the connections to use up the files, accepting
/// would fail, and the shedding that keeps a slowloris from starving real
/// clients would never run.
#[tokio::test]
async fn a_slowloris_gives_way_to_a_real_client_even_where_few_files_may_be_open() {
    let dir = tempfile::tempdir().unwrap();
    let raised = serve_with_open_files(
        256,
        4096,
        &dir.path().join("a.db"),
        &dir.path().join("a.log"),
    );
    assert_eq!(
        open_files_limit(raised.child.id()),
        ("4096".to_owned(), "4096".to_owned())
    );
    drop(raised);

    let log = dir.path().join("b.log");
    let server = serve_with_open_files(256, 256, &dir.path().join("b.db"), &log);
    let warned = std::fs::read_to_string(&log).unwrap();
    assert!(
        warned.contains("fewer connections than --max-connections")
            && warned.contains("max_connections=128"),
        "{warned}"
    );
    let address = server.url.trim_start_matches("http://").to_owned();
    let sources = (2..12).map(|n| format!("127.0.0.{n}")).collect();
    let attack = slowloris(address, sources, 40);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let slowest = slowest_healthz(&server.url, 10).await;
    attack.abort();
    eprintln!("slowloris of 400 connections, 256 open files: slowest /healthz {slowest:?}");
    // `accept` fails (EMFILE) only when the sockets have used up the files.
    let accept_failures = std::fs::read_to_string(&log)
        .unwrap()
        .matches("accept failed")
        .count();
    assert_eq!(
        accept_failures, 0,
        "the sockets never outnumber the open files the process may hold"
    );
    assert!(slowest < Duration::from_secs(1), "{slowest:?}");
}
