//! Harness for end-to-end tests: the real collector (in-process, real
//! socket, real SQLite file), the example host pages served from a second
//! origin, and headless Chromium driven through chromedriver (the widget's
//! core cases also in Firefox ESR through geckodriver and in WebKitGTK
//! through WebKitWebDriver).
//!
//! Chromium and chromedriver come from Debian (`chromium`,
//! `chromium-driver`), Firefox from Debian (`firefox-esr`) and geckodriver
//! from crates.io, WebKitGTK from Debian (`webkit2gtk-driver`, `xvfb`);
//! `./test` installs them. `CHROMIUM`, `CHROMEDRIVER`, `FIREFOX`,
//! `GECKODRIVER`, `WEBKIT_MINIBROWSER`, `WEBKITWEBDRIVER` and `XVFB` override
//! their paths. A missing browser fails the tests loudly: they are never
//! skipped.

mod browser;
mod driver_retry;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use earshot_collector::config::Config;
use earshot_collector::server::{self, Running};
use tempfile::TempDir;

pub use browser::{Browser, Engine};
pub use driver_retry::{driver_failed, once_more_if_webkit_driver_failed};

pub type TestResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// How long to wait for anything in the browser before failing.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// Serialises browser tests: two Chromiums on two cores make every timing
/// flaky, and the suite is short anyway.
pub static BROWSER_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A collector on `127.0.0.1:<random port>` with a fresh database.
pub struct Collector {
    pub running: Running,
    pub db: PathBuf,
    pub site_key: String,
    _dir: TempDir,
}

impl Collector {
    pub async fn start() -> TestResult<Collector> {
        Self::start_with(|_| {}).await
    }

    /// Starts with `adjust` applied to the test configuration.
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> TestResult<Collector> {
        let dir = tempfile::tempdir()?;
        let db = dir.path().join("earshot.db");
        let mut config = Self::config("127.0.0.1:0".parse()?, &db);
        adjust(&mut config);
        let running = server::start(&config).await?;
        let site_key = running
            .created_site
            .as_ref()
            .map(|s| s.key.clone())
            .ok_or("a fresh database must get a default site")?;
        Ok(Collector {
            running,
            db,
            site_key,
            _dir: dir,
        })
    }

    fn config(addr: SocketAddr, db: &Path) -> Config {
        let mut config = Config::new(addr, db.to_path_buf());
        // WebDriver types faster than any person; the spam timing check is
        // covered by the API tests.
        config.limits.min_fill = std::time::Duration::ZERO;
        config
    }

    pub fn url(&self) -> String {
        self.running.public_url.clone()
    }

    /// The default site's id.
    pub fn site_id(&self) -> TestResult<i64> {
        Ok(self
            .running
            .created_site
            .as_ref()
            .ok_or("a fresh database must get a default site")?
            .id)
    }

    /// Stops the server (gracefully, as on SIGTERM); the database stays.
    pub async fn stop(self) -> TestResult<Stopped> {
        let addr = self.running.addr;
        self.running.stop().await?;
        Ok(Stopped {
            addr,
            db: self.db,
            site_key: self.site_key,
            dir: self._dir,
        })
    }
}

/// A collector that was stopped; its address and database are kept.
pub struct Stopped {
    addr: SocketAddr,
    db: PathBuf,
    site_key: String,
    dir: TempDir,
}

impl Stopped {
    /// Starts again on the same address and database.
    pub async fn restart(self) -> TestResult<Collector> {
        let config = Collector::config(self.addr, &self.db);
        let running = server::start(&config).await?;
        Ok(Collector {
            running,
            db: self.db,
            site_key: self.site_key,
            _dir: self.dir,
        })
    }
}

impl Collector {
    /// Opens the database file read-only, as an operator would.
    pub fn db(&self) -> TestResult<rusqlite::Connection> {
        Ok(rusqlite::Connection::open_with_flags(
            &self.db,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )?)
    }
}

#[derive(Clone)]
struct HostState {
    dir: PathBuf,
    collector_url: String,
    site_key: String,
}

/// Serves `examples/host/` from its own origin, pointing the pages at
/// `collector_url` and `site_key` instead of the placeholders.
pub async fn serve_host_pages(collector_url: &str, site_key: &str) -> TestResult<SocketAddr> {
    let state = HostState {
        dir: Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/host"),
        collector_url: collector_url.to_owned(),
        site_key: site_key.to_owned(),
    };
    let app = Router::new()
        .route("/{file}", get(host_file))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(addr)
}

async fn host_file(
    State(state): State<HostState>,
    UrlPath(file): UrlPath<String>,
) -> impl IntoResponse {
    let path = state.dir.join(&file);
    let content_type = if file.ends_with(".css") {
        "text/css; charset=utf-8"
    } else if file.ends_with(".js") {
        "text/javascript; charset=utf-8"
    } else {
        "text/html; charset=utf-8"
    };
    match tokio::fs::read_to_string(&path).await {
        Ok(text) if !file.contains("..") => {
            let text = text
                .replace("http://127.0.0.1:8080", &state.collector_url)
                .replace("YOUR_SITE_KEY", &state.site_key);
            // A cross-origin isolated page, as its own server would send it.
            let (opener, embedder) = if file == "isolated.html" {
                ("same-origin", "require-corp")
            } else {
                ("unsafe-none", "unsafe-none")
            };
            (
                StatusCode::OK,
                [
                    (header::CONTENT_TYPE, content_type),
                    (
                        header::HeaderName::from_static("cross-origin-opener-policy"),
                        opener,
                    ),
                    (
                        header::HeaderName::from_static("cross-origin-embedder-policy"),
                        embedder,
                    ),
                ],
                text,
            )
                .into_response()
        }
        _ => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain")],
            "not found".to_owned(),
        )
            .into_response(),
    }
}

/// Resolves to 127.0.0.1 in the test browser, which does not count it as
/// potentially trustworthy: a page from `http://{INSECURE_HOST}:<port>` is
/// not a secure context.
pub const INSECURE_HOST: &str = "intranet.test";
