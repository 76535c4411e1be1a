//! `examples/deploy/nginx.conf` as shipped, run by a real nginx in front of
//! a collector: the example must load on the nginx Debian ships and do what
//! its comments and the README promise (TLS to browsers, plain HTTP sent on
//! to HTTPS, each client's own address reaching the collector's limits
//! however it spoofs `X-Forwarded-For`, screenshots through, the
//! collector's own errors for bodies it refuses, the console and status
//! pages behind it). Needs Debian's `nginx` and `openssl` packages (or
//! `NGINX` naming the binary); without them the test fails with the install
//! command, it never skips.

use std::ffi::OsStr;
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use earshot_collector::store::Store;
use reqwest::StatusCode;
use serde_json::Value;

use crate::certs::TestCa;
use crate::helpers::{Binary, error_of, spawn_app_with};
use crate::postgres::submit;
use crate::postgres_server::TempPostgres;
use crate::staff::{Console, PASSWORD, add_staff, named_set_cookie};

const HOST: &str = "feedback.example.com";
const ONE_COLLECTOR: &str = include_str!("../../../examples/deploy/nginx.conf");
const TWO_COLLECTORS: &str = include_str!("../../../examples/deploy/postgres/nginx.conf");

/// nginx running the example in the foreground; stopped on drop.
struct Nginx {
    child: Child,
    dir: tempfile::TempDir,
    /// Holds the certificate's files.
    _ca: TestCa,
}

impl Drop for Nginx {
    /// Stops nginx with its workers: killing the master alone would leave
    /// them holding the port.
    fn drop(&mut self) {
        let _ = nginx(self.dir.path(), &["-s", "stop"]).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `nginx <extra>` on the configuration in `dir`.
fn nginx(dir: &Path, extra: &[&str]) -> Command {
    let mut command = Command::new(nginx_bin());
    command
        .arg("-e")
        .arg(dir.join("error.log"))
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .args(extra);
    command
}

fn nginx_bin() -> PathBuf {
    let bin =
        std::env::var_os("NGINX").map_or_else(|| PathBuf::from("/usr/sbin/nginx"), PathBuf::from);
    assert!(
        bin.exists(),
        "{} not found: apt-get install nginx (or set NGINX to the binary)",
        bin.display()
    );
    bin
}

/// A free loopback port below Linux's ephemeral range (32768 and up), so
/// that no server another test starts on port 0 meanwhile can take it
/// between this check and nginx's start.
fn free_port() -> u16 {
    use std::hash::{BuildHasher, RandomState};
    let random = RandomState::new();
    (0u64..)
        .map(|n| 20_000 + u16::try_from(random.hash_one(n) % 12_000).unwrap())
        .find(|&port| TcpListener::bind(("127.0.0.1", port)).is_ok())
        .unwrap()
}

/// Where nginx listens: HTTPS and plain HTTP, on loopback.
#[derive(Clone, Copy)]
struct Ports {
    tls: u16,
    plain: u16,
}

impl Ports {
    fn free() -> Ports {
        Ports {
            tls: free_port(),
            plain: free_port(),
        }
    }

    /// The collector's public URL behind nginx.
    fn public(self) -> String {
        format!("https://{HOST}:{}", self.tls)
    }
}

/// `shipped` with only what a test must change: the certificate's files,
/// the ports it listens on and, for each of `upstreams`, where that
/// collector really is.
fn example(
    shipped: &str,
    cert: &Path,
    key: &Path,
    ports: Ports,
    upstreams: &[(&str, SocketAddr)],
) -> String {
    let mut swaps = vec![
        (
            "/etc/letsencrypt/live/feedback.example.com/fullchain.pem",
            cert.display().to_string(),
        ),
        (
            "/etc/letsencrypt/live/feedback.example.com/privkey.pem",
            key.display().to_string(),
        ),
        (
            "listen 443 ssl",
            format!("listen 127.0.0.1:{} ssl", ports.tls),
        ),
        ("listen 80;", format!("listen 127.0.0.1:{};", ports.plain)),
    ];
    swaps.extend(upstreams.iter().map(|(from, to)| (*from, to.to_string())));
    swaps.iter().fold(shipped.to_owned(), |config, (from, to)| {
        assert!(
            config.contains(from),
            "the example no longer says {from:?}: change this test with it"
        );
        config.replace(from, to)
    })
}

impl Nginx {
    /// Checks the example `shipped` (`nginx -t`) and starts it on `ports`
    /// in front of `upstreams` (see [`example`]).
    fn start(shipped: &str, ports: Ports, upstreams: &[(&str, SocketAddr)]) -> Nginx {
        let dir = tempfile::Builder::new()
            .prefix("earshot-nginx-")
            .tempdir()
            .unwrap();
        // nginx's workers (nobody, when started as root) buffer bodies in
        // folders the master makes in here.
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        let ca = TestCa::new();
        let (cert, key) = ca.issue("nginx", HOST);
        let site = dir.path().join("earshot.conf");
        std::fs::write(&site, example(shipped, &cert, &key, ports, upstreams)).unwrap();
        let d = dir.path().display();
        std::fs::write(
            dir.path().join("nginx.conf"),
            format!(
                "worker_processes 1;\nerror_log {d}/error.log;\npid {d}/nginx.pid;\n\
                 events {{ worker_connections 256; }}\n\
                 http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  \
                 proxy_temp_path {d}/proxy;\n  include {};\n}}\n",
                site.display()
            ),
        )
        .unwrap();
        let checked = nginx(dir.path(), &["-t"]).output().unwrap();
        assert!(
            checked.status.success(),
            "nginx refuses the example:\n{}",
            String::from_utf8_lossy(&checked.stderr)
        );
        let child = nginx(dir.path(), &["-g", "daemon off;"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut nginx = Nginx {
            child,
            dir,
            _ca: ca,
        };
        while TcpStream::connect(("127.0.0.1", ports.tls)).is_err() {
            assert!(
                Instant::now() < deadline && matches!(nginx.child.try_wait(), Ok(None)),
                "nginx did not start: {}",
                nginx.errors()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        nginx
    }

    fn errors(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }
}

/// A browser at `ip` (any loopback address: the proxy sees it as the
/// client's) that reaches [`HOST`] through nginx and trusts its
/// certificate (from a throwaway authority).
fn browser(ip: [u8; 4], ports: Ports) -> reqwest::Client {
    let nginx = |port| SocketAddr::from(([127, 0, 0, 1], port));
    reqwest::Client::builder()
        .local_address(IpAddr::from(ip))
        .resolve(HOST, nginx(ports.tls))
        .resolve(&format!("{HOST}:{}", ports.plain), nginx(ports.plain))
        .danger_accept_invalid_certs(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Ada (see `staff::add_staff`) signed in through nginx as a browser at
/// `ip` would sign in.
async fn signed_in_through(ports: Ports, ip: [u8; 4]) -> Console {
    let public = ports.public();
    let mut console = Console::at(&public);
    console.http = browser(ip, ports);
    let signed_in = console
        .post_with(
            "/console/login",
            &[("email", "ada@example.com"), ("password", PASSWORD)],
            &[("origin", &public), ("sec-fetch-site", "same-origin")],
        )
        .await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    // The public URL is https, so the cookie is bound to it.
    console.cookie = named_set_cookie(signed_in.headers(), "__Host-earshot_session");
    assert!(console.cookie.is_some(), "{:?}", signed_in.headers());
    console
}

#[tokio::test]
async fn the_example_nginx_config_runs_in_front_of_the_collector_as_its_comments_say() {
    let ports = Ports::free();
    let public = ports.public();
    let app = spawn_app_with(|c| {
        c.public_url = Some(public.clone());
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
        c.limits.per_ip_per_minute = 2;
    })
    .await;
    add_staff(&app.running.store).await;
    let nginx = Nginx::start(
        ONE_COLLECTOR,
        ports,
        &[("127.0.0.1:8080", app.running.addr)],
    );

    // Plain HTTP is sent on to HTTPS.
    let moved = browser([127, 0, 0, 2], ports)
        .get(format!("http://{HOST}:{}/console", ports.plain))
        .send()
        .await
        .unwrap();
    assert_eq!(moved.status(), StatusCode::MOVED_PERMANENTLY);
    assert_eq!(
        moved.headers()["location"],
        format!("https://{HOST}/console")
    );

    // Each client is limited by its own address, whatever it claims.
    let send = |ip: [u8; 4], claimed: &'static str| {
        let body = app.valid_body();
        let public = public.clone();
        async move {
            browser(ip, ports)
                .post(format!("{public}/api/v1/feedback"))
                .header("origin", "http://localhost:3000")
                .header("x-forwarded-for", claimed)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let first = send([127, 0, 0, 2], "203.0.113.1").await;
    assert_eq!(first.status(), StatusCode::CREATED, "{}", nginx.errors());
    let accepted: Value = first.json().await.unwrap();
    assert_eq!(send([127, 0, 0, 2], "203.0.113.2").await.status(), 201);
    let limited = send([127, 0, 0, 2], "203.0.113.3").await;
    assert_eq!(error_of(limited, 429).await.0, "rate_limited");
    assert_eq!(send([127, 0, 0, 3], "203.0.113.1").await.status(), 201);

    // The customer's status link, at the public address, opens through it.
    let status_url = accepted["status_url"].as_str().unwrap();
    assert!(
        status_url.starts_with(&format!("{public}/s/")),
        "{status_url}"
    );
    let page = browser([127, 0, 0, 4], ports)
        .get(status_url)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);

    // A screenshot of 1.5 MB passes (the general limit is 256 KB)...
    let id = accepted["id"].as_str().unwrap();
    let secret = status_url.rsplit_once('.').unwrap().1;
    let mut png = crate::attachments::PNG.to_vec();
    png.resize(1_500_000, 0);
    let uploaded = browser([127, 0, 0, 4], ports)
        .post(format!("{public}/api/v1/feedback/{id}/attachments"))
        .header("origin", "http://localhost:3000")
        .header("authorization", format!("Bearer {secret}"))
        .header("content-type", "image/png")
        .body(png)
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), StatusCode::CREATED, "{}", nginx.errors());

    // ...and a body the collector refuses gets its answer, not nginx's.
    let mut long = app.valid_body();
    long["message"] = Value::from("x".repeat(100_000));
    let refused = browser([127, 0, 0, 5], ports)
        .post(format!("{public}/api/v1/feedback"))
        .header("origin", "http://localhost:3000")
        .json(&long)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 413, "{}", nginx.errors());
    assert_eq!(error_of(refused, 413).await.0, "payload_too_large");

    // Staff sign in through it as a browser would, and stay signed in.
    let console = signed_in_through(ports, [127, 0, 0, 6]).await;
    let inbox = console.html("/console").await;
    assert!(inbox.contains("Needs a response"), "{inbox}");
}

/// The address a [`Binary`] serves on.
fn served_at(collector: &Binary) -> SocketAddr {
    collector
        .url
        .strip_prefix("http://")
        .and_then(|a| a.parse().ok())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_for_two_collectors_keeps_taking_feedback_while_one_is_down() {
    let pg = TempPostgres::shared();
    let url = pg.fresh_database();
    let ports = Ports::free();
    let public = ports.public();
    let start = || {
        let args = [
            "--database-url",
            &url,
            "--public-url",
            &public,
            "--trusted-proxy",
            "127.0.0.1",
        ];
        Binary::serve(&args.map(OsStr::new), &[])
    };
    let (mut a, b) = (start(), start());
    let nginx = Nginx::start(
        TWO_COLLECTORS,
        ports,
        &[
            ("127.0.0.1:8081", served_at(&a)),
            ("127.0.0.1:8082", served_at(&b)),
        ],
    );
    let customer = browser([127, 0, 0, 2], ports);
    let send = |n: usize| submit(&customer, &public, &a.site_key, n);
    let mut references = Vec::new();
    for n in 0..6 {
        let (status, reference) = send(n).await;
        assert_eq!(status, StatusCode::CREATED, "{n}: {}", nginx.errors());
        references.push(reference);
    }

    // One collector goes (an upgrade, a crash): nginx passes everything to
    // the other, a submission's retry included.
    a.child.kill().unwrap();
    a.child.wait().unwrap();
    for n in 6..12 {
        let (status, reference) = send(n).await;
        assert_eq!(status, StatusCode::CREATED, "{n}: {}", nginx.errors());
        references.push(reference);
    }
    let (status, again) = send(0).await;
    assert_eq!(status, StatusCode::OK, "a retry is answered as a replay");
    assert_eq!(again, references[0]);
    let store = Store::connect(&url).await.unwrap();
    add_staff(&store).await;
    let console = signed_in_through(ports, [127, 0, 0, 3]).await;
    let inbox = console.html("/console?view=all").await;
    for reference in &references {
        assert!(inbox.contains(reference.as_str()), "{reference}");
    }
    drop(b);
    store.shutdown().await;
}
