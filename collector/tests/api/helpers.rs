use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use earshot_collector::config::Config;
use earshot_collector::server::{self, Running};
use serde_json::{Value, json};
use tempfile::TempDir;

pub struct TestApp {
    pub address: String,
    pub site_key: String,
    pub db_path: PathBuf,
    pub client: reqwest::Client,
    pub running: Running,
    _dir: TempDir,
}

/// A collector with every abuse limit off, so tests can send freely.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// The `earshot` binary this test build made.
pub const BIN: &str = env!("CARGO_BIN_EXE_earshot");

/// Runs `earshot <args> --db <db>` with no standard input; returns (success,
/// stdout, stderr).
pub fn earshot(args: &[&str], db: &Path) -> (bool, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .arg("--db")
        .arg(db)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// `earshot site add` of a site "Shop" at https://shop.example.
pub fn add_shop(db: &Path) -> (bool, String, String) {
    earshot(
        &[
            "site",
            "add",
            "--name",
            "Shop",
            "--origin",
            "https://shop.example",
        ],
        db,
    )
}

/// [`earshot`] off the runtime, so a server in this process keeps serving
/// meanwhile.
pub async fn earshot_beside(args: Vec<String>, db: &Path) -> (bool, String, String) {
    let db = db.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        earshot(&args, &db)
    })
    .await
    .unwrap()
}

/// `earshot site add --name <name> --origin <origin>`, which must
/// succeed; returns the new site's key.
pub fn added_site(db: &Path, name: &str, origin: &str) -> String {
    let (ok, stdout, stderr) = earshot(&["site", "add", "--name", name, "--origin", origin], db);
    assert!(ok, "{stderr}");
    stdout
        .split("with key ")
        .nth(1)
        .and_then(|rest| rest.lines().next())
        .unwrap()
        .to_owned()
}

/// A promise's due day six weeks from today (UTC, `YYYY-MM-DD`): a
/// promise must fall due within a year, so no fixed date stays valid.
pub fn due_in_six_weeks() -> String {
    earshot_collector::clock::date(earshot_collector::clock::system_millis() + 42 * 86_400_000)
}

/// A configuration for a collector on a free port with the database at
/// `db` and every abuse limit off, so tests can send freely.
pub fn test_config(db: &Path) -> Config {
    let mut config = Config::new("127.0.0.1:0".parse().unwrap(), db.to_path_buf());
    config.limits.per_ip_per_minute = 0;
    config.limits.max_connections_per_ip = 0;
    config.limits.per_site_per_minute = 0;
    config.limits.min_fill = std::time::Duration::ZERO;
    config
}

/// A collector whose configuration `configure` adjusts, starting from
/// limits that are all off.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("earshot.db");
    let mut config = test_config(&db_path);
    configure(&mut config);
    let running = server::start(&config).await.unwrap();
    let site_key = running.created_site.as_ref().unwrap().key.clone();
    TestApp {
        address: running.public_url.clone(),
        site_key,
        db_path,
        client: reqwest::Client::new(),
        running,
        _dir: dir,
    }
}

impl TestApp {
    pub fn valid_body(&self) -> Value {
        json!({
            "site": self.site_key,
            "kind": "complaint",
            "message": "The discount code was rejected at checkout.",
            "email": "ana@example.com",
            "page": {"url": "http://localhost:3000/checkout", "title": "Checkout", "referrer": ""},
            "client": {"user_agent": "Mozilla/5.0", "language": "pt-BR", "timezone": "America/Sao_Paulo", "viewport": "390x844"}
        })
    }

    pub async fn post_json(&self, body: &Value, origin: Option<&str>) -> reqwest::Response {
        self.post_raw(body.to_string(), "application/json", origin)
            .await
    }

    pub async fn post_raw(
        &self,
        body: impl Into<reqwest::Body>,
        content_type: &str,
        origin: Option<&str>,
    ) -> reqwest::Response {
        let mut req = self
            .client
            .post(format!("{}/api/v1/feedback", self.address))
            .header("content-type", content_type)
            .body(body);
        if let Some(origin) = origin {
            req = req.header("origin", origin);
        }
        req.send().await.unwrap()
    }

    pub fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(&self.db_path).unwrap()
    }

    pub fn entry_count(&self) -> i64 {
        self.db()
            .query_row("SELECT count(*) FROM entries", [], |r| r.get(0))
            .unwrap()
    }
}

/// One line of the audit log: (action, actor's email, subject, detail).
pub type AuditRow = (String, Option<String>, String, Option<String>);

/// The audit log's lines whose action starts with `prefix`, oldest first,
/// but for accounts added without anyone signed in (`staff.added`): the
/// staff every test starts with (`staff::add_staff`) are added that way.
pub fn audit_log(db: &rusqlite::Connection, prefix: &str) -> Vec<AuditRow> {
    let mut stmt = db
        .prepare(
            "SELECT a.action, u.email, coalesce(a.subject, ''), a.detail
             FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id
             WHERE a.action LIKE ?1 || '%'
               AND NOT (a.action = 'staff.added' AND a.actor_id IS NULL)
             ORDER BY a.id",
        )
        .unwrap();
    stmt.query_map([prefix], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

/// [`audit_log`] as (action, detail).
pub fn audit_details(db: &rusqlite::Connection, prefix: &str) -> Vec<(String, Option<String>)> {
    audit_log(db, prefix)
        .into_iter()
        .map(|(action, _, _, detail)| (action, detail))
        .collect()
}

/// Every line of `app`'s audit log.
pub fn audit_rows(app: &TestApp) -> Vec<AuditRow> {
    audit_log(&app.db(), "")
}

/// Asserts the standard error shape and returns (code, field).
pub async fn error_of(response: reqwest::Response, status: u16) -> (String, Option<String>) {
    assert_eq!(response.status().as_u16(), status, "unexpected status");
    let body: Value = response.json().await.unwrap();
    let error = &body["error"];
    let message = error["message"].as_str().unwrap();
    assert!(!message.is_empty(), "every error explains itself");
    (
        error["code"].as_str().unwrap().to_owned(),
        error["field"].as_str().map(str::to_owned),
    )
}

/// A minimal SMTP server on loopback that accepts every message and hands
/// each one's DATA over the channel.
pub async fn smtp_sink() -> (String, tokio::sync::mpsc::UnboundedReceiver<String>) {
    smtp_sink_refusing(0).await
}

/// An SMTP sink that answers the first `refuse` messages with a temporary
/// failure (451) after their DATA, and accepts the rest.
pub async fn smtp_sink_refusing(
    refuse: usize,
) -> (String, tokio::sync::mpsc::UnboundedReceiver<String>) {
    sink(refuse, SINK).await
}

/// What a sink answers to EHLO (the extensions it offers) and to MAIL
/// FROM, lines and all, and which recipients it does not know.
#[derive(Debug, Clone, Copy)]
pub struct Answers {
    pub ehlo: &'static str,
    pub mail: &'static str,
    /// A RCPT TO naming an address that holds this (unless empty) is
    /// refused for good, as a relay refuses a mailbox it does not have.
    pub unknown: &'static str,
}

/// A sink that offers no extension (as many small relays: no SMTPUTF8,
/// no STARTTLS, no AUTH) and takes every message.
pub const SINK: Answers = Answers {
    ehlo: "250 sink\r\n",
    mail: "250 ok\r\n",
    unknown: "",
};

/// An SMTP sink that gives `answers` (`"250-sink\r\n250 SMTPUTF8\r\n"` to
/// EHLO, say) and hands over every message it takes.
pub async fn smtp_sink_answering(
    answers: Answers,
) -> (String, tokio::sync::mpsc::UnboundedReceiver<String>) {
    sink(0, answers).await
}

async fn sink(
    refuse: usize,
    answers: Answers,
) -> (String, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("smtp://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let refused = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (tx, refused) = (tx.clone(), refused.clone());
            tokio::spawn(smtp_session(stream, tx, refused, refuse, answers));
        }
    });
    (url, rx)
}

/// An SMTP sink over TLS from the first byte, as relays take submissions
/// on port 465, with this certificate and key (PEM files): its URL is
/// `smtps://localhost:<port>`. Handshakes the client refuses are dropped.
pub async fn smtps_sink(
    cert: &Path,
    key: &Path,
) -> (String, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let acceptor = crate::certs::acceptor(cert, key);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "smtps://localhost:{}",
        listener.local_addr().unwrap().port()
    );
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let refused = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (tx, refused, acceptor) = (tx.clone(), refused.clone(), acceptor.clone());
            tokio::spawn(async move {
                if let Ok(stream) = acceptor.accept(stream).await {
                    smtp_session(stream, tx, refused, 0, SINK).await;
                }
            });
        }
    });
    (url, rx)
}

/// One client's SMTP conversation with a sink that gives `answers`: every
/// message's DATA goes over `tx`, except the first `refuse` of all
/// (counted in `refused`), which get a 451.
async fn smtp_session(
    stream: impl tokio::io::AsyncRead + tokio::io::AsyncWrite,
    tx: tokio::sync::mpsc::UnboundedSender<String>,
    refused: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    refuse: usize,
    answers: Answers,
) {
    use std::sync::atomic::Ordering;
    use tokio::io::{AsyncBufReadExt, BufReader};
    let (read, mut write) = tokio::io::split(stream);
    let mut lines = BufReader::new(read).lines();
    say(&mut write, b"220 sink ESMTP\r\n").await;
    let mut data: Option<String> = None;
    while let Ok(Some(line)) = lines.next_line().await {
        if let Some(body) = data.as_mut() {
            if line == "." {
                let message = data.take().unwrap();
                if refused.fetch_add(1, Ordering::SeqCst) < refuse {
                    say(&mut write, b"451 try again later\r\n").await;
                } else {
                    let _ = tx.send(message);
                    say(&mut write, b"250 queued\r\n").await;
                }
            } else {
                body.push_str(&line);
                body.push('\n');
            }
            continue;
        }
        let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
        let answer: &[u8] = match verb.as_str() {
            "EHLO" | "HELO" => answers.ehlo.as_bytes(),
            "MAIL" => answers.mail.as_bytes(),
            "RCPT" if !answers.unknown.is_empty() && line.contains(answers.unknown) => {
                b"550 5.1.1 The email account that you tried to reach does not exist\r\n"
            }
            "DATA" => {
                data = Some(String::new());
                b"354 go ahead\r\n"
            }
            "QUIT" => {
                say(&mut write, b"221 bye\r\n").await;
                break;
            }
            _ => b"250 ok\r\n",
        };
        say(&mut write, answer).await;
    }
}

/// Writes `line` and sends it at once (TLS holds written bytes back until
/// flushed).
async fn say(write: &mut (impl tokio::io::AsyncWrite + Unpin), line: &[u8]) {
    use tokio::io::AsyncWriteExt;
    write.write_all(line).await.unwrap();
    write.flush().await.unwrap();
}

/// The real `earshot` binary serving on 127.0.0.1:0, for tests that kill
/// it or measure the process. Killed when dropped.
pub struct Binary {
    pub child: Child,
    pub url: String,
    pub site_key: String,
    /// The setup link, once the server has printed it (after the snippet).
    setup_link: Arc<Mutex<Option<String>>>,
}

impl Binary {
    /// Posts an idea saying `message` to its first site; returns the
    /// answer's status.
    pub async fn post_idea(&self, message: &str) -> u16 {
        let body = json!({"site": self.site_key, "kind": "idea", "message": message});
        reqwest::Client::new()
            .post(format!("{}/api/v1/feedback", self.url))
            .json(&body)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// Starts the binary on `db` with every abuse limit off, then `env`.
    pub fn start(db: &Path, env: &[(&str, &str)]) -> Binary {
        Binary::serve(&["--db".as_ref(), db.as_os_str()], env)
    }

    /// Starts `earshot serve <args>` on a free port with every abuse limit
    /// off, then `env`.
    pub fn serve(args: &[&std::ffi::OsStr], env: &[(&str, &str)]) -> Binary {
        Binary::serve_logging(args, env, Stdio::null())
    }

    /// [`Binary::serve`], its log (standard error) going to `log`.
    pub fn serve_logging(
        args: &[&std::ffi::OsStr],
        env: &[(&str, &str)],
        log: impl Into<Stdio>,
    ) -> Binary {
        Binary::launch(Binary::serving(Command::new(BIN), args, env), log)
    }

    /// `command` (the binary, or a program that runs it, such as `setpriv
    /// … earshot`) made to `serve <args>` on a free port with every abuse
    /// limit off, then `env`.
    pub fn serving(
        mut command: Command,
        args: &[&std::ffi::OsStr],
        env: &[(&str, &str)],
    ) -> Command {
        command
            .args(["serve", "--addr", "127.0.0.1:0"])
            .args(args)
            .env("EARSHOT_RATE_LIMIT_PER_IP", "0")
            .env("EARSHOT_MAX_CONNECTIONS_PER_IP", "0")
            .env("EARSHOT_RATE_LIMIT_PER_SITE", "0")
            .env("EARSHOT_MIN_FILL_MS", "0")
            .env("EARSHOT_LOG", "error");
        for (name, value) in env {
            command.env(name, value);
        }
        command
    }

    /// Runs `command` ([`Binary::serving`]) until it says where it listens;
    /// its log (standard error) goes to `log`.
    pub fn launch(mut command: Command, log: impl Into<Stdio>) -> Binary {
        let mut child = command.stdout(Stdio::piped()).stderr(log).spawn().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut url = None;
        let mut site_key = None;
        for line in lines.by_ref() {
            let line = line.unwrap();
            if let Some(rest) = line.strip_prefix("Earshot is listening on ") {
                url = rest.split_whitespace().next().map(str::to_owned);
            }
            if let Some(rest) = line.split("data-site=\"").nth(1) {
                site_key = rest.split('"').next().map(str::to_owned);
                break;
            }
        }
        // Keep draining stdout so the server never blocks on a full pipe,
        // keeping the setup link it prints after the snippets.
        let setup_link = Arc::new(Mutex::new(None));
        let printed = setup_link.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                if line.contains("/console/setup?token=") {
                    *printed.lock().unwrap() = Some(line.trim().to_owned());
                }
            }
        });
        Binary {
            child,
            url: url.expect("the server printed its address"),
            site_key: site_key.expect("the server printed a snippet"),
            setup_link,
        }
    }

    /// The setup link the server printed, for one started without staff
    /// accounts (waited for: it comes a moment after the snippets).
    pub fn setup_url(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(url) = self.setup_link.lock().unwrap().clone() {
                return url;
            }
            assert!(
                Instant::now() < deadline,
                "the server printed no setup link"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Resident memory of the process, in KiB.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc/<pid>/status")
    }

    /// The least RSS seen over a second and a half: what the process holds
    /// once the work in flight (a password hash's memory, a start-up
    /// task's) has been let go, rather than whatever one sample catches.
    pub async fn settled_rss_kib(&self) -> u64 {
        let mut least = self.rss_kib();
        for _ in 0..15 {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            least = least.min(self.rss_kib());
        }
        least
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
