//! Headless browsers under their WebDrivers: Chromium for most tests,
//! Firefox ESR and WebKitGTK for the widget's core cases.

use std::net::TcpListener as StdListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::{Element, ShadowRoot};
use fantoccini::{Client, ClientBuilder, Locator};
use tempfile::TempDir;

use crate::driver_retry::DriverSaid;
use crate::{INSECURE_HOST, PATIENCE, TestResult};

/// A browser engine the widget must work in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// Debian `chromium` + `chromium-driver`; `CHROMIUM`, `CHROMEDRIVER`.
    Chromium,
    /// Debian `firefox-esr` + geckodriver (from crates.io, `cargo install
    /// geckodriver`); `FIREFOX`, `GECKODRIVER`.
    Firefox,
    /// WebKitGTK, Safari's engine: Debian `webkit2gtk-driver` (its
    /// MiniBrowser) on a virtual display from `xvfb` (WebKitGTK's headless
    /// mode does not work under WebDriver); `WEBKIT_MINIBROWSER`.
    WebKit,
}

/// A headless browser under its WebDriver; both end when this is dropped.
pub struct Browser {
    pub client: Client,
    driver: Child,
    /// The virtual display WebKit draws on.
    display: Option<Child>,
    _profile: TempDir,
}

fn free_port() -> TestResult<u16> {
    Ok(StdListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Runs a driver or display in the background, its output discarded.
trait Quiet {
    fn quiet(&mut self) -> std::io::Result<Child>;
}

impl Quiet for Command {
    fn quiet(&mut self) -> std::io::Result<Child> {
        self.stdout(Stdio::null()).stderr(Stdio::null()).spawn()
    }
}

/// `var` if set, else the first of `candidates` that exists; else an
/// error with the command that installs it.
fn program(var: &str, candidates: &[PathBuf], install: &str) -> TestResult<PathBuf> {
    if let Ok(path) = std::env::var(var) {
        return Ok(PathBuf::from(path));
    }
    candidates
        .iter()
        .find(|p| p.exists())
        .cloned()
        .ok_or_else(|| {
            format!(
                "end-to-end tests need {} (or set {var}): {install}",
                candidates
                    .first()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            )
            .into()
        })
}

impl Browser {
    /// Headless Chromium, the engine most tests run in.
    pub async fn start() -> TestResult<Browser> {
        Self::start_in(Engine::Chromium).await
    }

    pub async fn start_in(engine: Engine) -> TestResult<Browser> {
        Self::launch(engine, None, &[]).await
    }

    /// Chromium whose clock reads in the time zone `zone` (an IANA name,
    /// as `TZ` takes it), as a colleague's abroad would.
    pub async fn start_in_time_zone(zone: &str) -> TestResult<Browser> {
        Self::launch(Engine::Chromium, Some(zone), &[]).await
    }

    /// Chromium in forced colours, as Windows' contrast themes show pages:
    /// system colours replace the page's own.
    pub async fn start_in_forced_colors() -> TestResult<Browser> {
        Self::launch(Engine::Chromium, None, &["--force-high-contrast"]).await
    }

    /// `engine`, Chromium's clock in `zone` and with `extra` arguments.
    async fn launch(engine: Engine, zone: Option<&str>, extra: &[&str]) -> TestResult<Browser> {
        let port = free_port()?;
        let profile = tempfile::tempdir()?;
        let mut display = None;
        let (mut driver, caps) = match engine {
            Engine::Chromium => {
                let chromedriver = program(
                    "CHROMEDRIVER",
                    &["/usr/bin/chromedriver".into()],
                    "apt-get install chromium-driver",
                )?;
                let chromium = program(
                    "CHROMIUM",
                    &["/usr/bin/chromium".into()],
                    "apt-get install chromium",
                )?;
                let mut command = Command::new(&chromedriver);
                command.arg(format!("--port={port}"));
                // The browser it starts inherits it.
                if let Some(zone) = zone {
                    command.env("TZ", zone);
                }
                let driver = command.quiet()?;
                let mut args = vec![
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--disable-dev-shm-usage",
                    "--window-size=1280,900",
                ]
                .into_iter()
                .map(str::to_owned)
                .collect::<Vec<_>>();
                args.extend([
                    // A name that is not localhost: pages served under it
                    // are not a secure context, like a plain-http intranet.
                    format!("--host-resolver-rules=MAP {INSECURE_HOST} 127.0.0.1"),
                    format!("--user-data-dir={}", profile.path().display()),
                ]);
                args.extend(extra.iter().map(|a| (*a).to_owned()));
                let caps = serde_json::json!({
                    "goog:chromeOptions": { "binary": chromium, "args": args }
                });
                (driver, caps)
            }
            Engine::Firefox => {
                let cargo_bin = std::env::var_os("CARGO_HOME")
                    .map(PathBuf::from)
                    .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
                    .unwrap_or_default()
                    .join("bin/geckodriver");
                let geckodriver = program(
                    "GECKODRIVER",
                    &[
                        cargo_bin,
                        "/usr/local/bin/geckodriver".into(),
                        "/usr/bin/geckodriver".into(),
                    ],
                    "cargo install geckodriver (./test does this)",
                )?;
                let firefox = program(
                    "FIREFOX",
                    &["/usr/bin/firefox-esr".into(), "/usr/bin/firefox".into()],
                    "apt-get install firefox-esr",
                )?;
                let driver = Command::new(&geckodriver)
                    .arg(format!("--port={port}"))
                    .arg("--profile-root")
                    .arg(profile.path())
                    .quiet()?;
                let caps = serde_json::json!({
                    "moz:firefoxOptions": {
                        "binary": firefox,
                        "args": ["-headless", "--width=1280", "--height=900"],
                    }
                });
                (driver, caps)
            }
            Engine::WebKit => {
                let minibrowser = program(
                    "WEBKIT_MINIBROWSER",
                    &["/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser".into()],
                    "apt-get install webkit2gtk-driver",
                )?;
                let xvfb = program("XVFB", &["/usr/bin/Xvfb".into()], "apt-get install xvfb")?;
                // One display per browser; browsers never run two at once
                // (BROWSER_LOCK), and the port is free, so this one is too.
                let number = format!(":{}", 100 + port % 20_000);
                display = Some(
                    Command::new(xvfb)
                        .args([&number, "-screen", "0", "1280x1024x24", "-nolisten", "tcp"])
                        .quiet()?,
                );
                let driver = Command::new(program(
                    "WEBKITWEBDRIVER",
                    &["/usr/bin/WebKitWebDriver".into()],
                    "apt-get install webkit2gtk-driver",
                )?)
                .arg(format!("--port={port}"))
                .env("DISPLAY", &number)
                .quiet()?;
                let caps = serde_json::json!({
                    "webkitgtk:browserOptions": {
                        "binary": minibrowser,
                        "args": ["--automation", "--geometry=1280x900"],
                    }
                });
                (driver, caps)
            }
        };
        let caps = match caps {
            serde_json::Value::Object(map) => map,
            _ => unreachable!("built as an object above"),
        };
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + PATIENCE;
        let client = loop {
            match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => break client,
                Err(e) if Instant::now() > deadline => {
                    let _ = driver.kill();
                    if let Some(display) = display.as_mut() {
                        let _ = display.kill();
                    }
                    return Err(format!("{engine:?}'s WebDriver did not start: {e}").into());
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        };
        Ok(Browser {
            client,
            driver,
            display,
            _profile: profile,
        })
    }

    /// Opens `url` and waits for it to load. WebKitWebDriver may fail the
    /// navigation with an UnknownError without a message when it moves the
    /// page into a process of its own (cross-origin isolated pages); the
    /// page has often loaded all the same, and if not it is asked for once
    /// more.
    pub async fn goto(&self, url: &str) -> TestResult {
        let Err(first) = self.client.goto(url).await else {
            return Ok(());
        };
        tokio::time::sleep(Duration::from_millis(200)).await;
        if self
            .client
            .current_url()
            .await
            .is_ok_and(|now| now.as_str() == url)
        {
            return Ok(());
        }
        self.client.goto(url).await.map_err(|again| {
            DriverSaid::new(format!("{url} did not open: {first}, then"), again).into()
        })
    }

    /// Ends the WebDriver session and the driver process.
    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        if let Some(display) = self.display.as_mut() {
            let _ = display.kill();
            let _ = display.wait();
        }
    }

    /// Runs axe-core (WCAG 2.0–2.2 A and AA rules, open shadow roots
    /// included) on the current page; returns the violations, one line each
    /// (rule, impact and the elements). `EARSHOT_AXE_JS` names axe.min.js;
    /// `./test` fetches the pinned version. Missing, the test fails: never
    /// skipped.
    pub async fn axe(&self) -> TestResult<Vec<String>> {
        let fetched = || {
            let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/axe");
            std::fs::read_dir(&dir)
                .ok()
                .and_then(|entries| {
                    entries.filter_map(Result::ok).map(|e| e.path()).find(|p| {
                        p.file_name()
                            .and_then(|n| n.to_str())
                            .is_some_and(|n| n.starts_with("axe-") && n.ends_with(".min.js"))
                    })
                })
                .unwrap_or_else(|| dir.join("axe-<version>.min.js"))
        };
        let path = std::env::var("EARSHOT_AXE_JS")
            .map(PathBuf::from)
            .unwrap_or_else(|_| fetched());
        let source = std::fs::read_to_string(&path).map_err(|e| {
            format!(
                "accessibility checks need axe-core at {} ({e}); ./test fetches it",
                path.display()
            )
        })?;
        let script = format!(
            r#"{source}
;var done = arguments[arguments.length - 1];
axe.run(document, {{ runOnly: {{ type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"] }} }})
  .then(function (r) {{
    done(r.violations.map(function (v) {{
      return v.id + " (" + v.impact + "): " + v.nodes.map(function (n) {{ return JSON.stringify(n.target); }}).join(", ");
    }}));
  }}, function (e) {{ done(["axe failed to run: " + e]); }});"#
        );
        let value = self.client.execute_async(&script, vec![]).await?;
        Ok(value
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_else(|| vec![format!("axe returned {value}")]))
    }

    /// The widget's shadow root, once the loader has created it.
    pub async fn widget(&self) -> TestResult<ShadowRoot> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            // Not there yet is not the only answer to ask again after:
            // while a page loads WebKitWebDriver now and then answers "Could
            // not parse shadow root information" for a root that is there,
            // or fails the search itself with an UnknownError without a
            // message (each seen once in CI, the second on the cross-origin
            // isolated page, which WebKit moves into a process of its own).
            let found = match self.client.find(Locator::Css("earshot-widget")).await {
                Ok(host) => host.shadow_root().await,
                Err(e) => Err(e),
            };
            match found {
                Ok(root) => return Ok(root),
                Err(e) if Instant::now() > deadline => {
                    return Err(DriverSaid::new("the widget's shadow root never came", e).into());
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// Waits until `css` matches inside the widget's shadow root.
    pub async fn find_in_widget(&self, css: &str) -> TestResult<Element> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let root = self.widget().await?;
            match root.find(Locator::Css(css)).await {
                Ok(el) => return Ok(el),
                Err(e) if Instant::now() > deadline => {
                    return Err(
                        DriverSaid::new(format!("{css} never appeared in the widget"), e).into(),
                    );
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// The sRGB bytes of `property` (a colour) of the element `css` in the
    /// widget, as painted: each engine serialises computed colours its own
    /// way (`rgb()`, `lch()`, `color(srgb …)`), a canvas does not.
    pub async fn painted_color(&self, css: &str, property: &str) -> TestResult<[u8; 3]> {
        self.find_in_widget(css).await?;
        let value = self
            .client
            .execute(
                "const el = document.querySelector('earshot-widget').shadowRoot.querySelector(arguments[0]);
                 const ctx = document.createElement('canvas').getContext('2d');
                 ctx.fillStyle = getComputedStyle(el).getPropertyValue(arguments[1]);
                 ctx.fillRect(0, 0, 1, 1);
                 return Array.from(ctx.getImageData(0, 0, 1, 1).data.slice(0, 3));",
                vec![css.into(), property.into()],
            )
            .await?;
        let bytes: Vec<u8> = serde_json::from_value(value)?;
        bytes
            .try_into()
            .map_err(|b| format!("{css} {property} painted as {b:?}").into())
    }

    /// Waits until `script` (run in the page with `args`) returns `want`:
    /// what the widget tells the page or stores happens as it renders or
    /// sends, after the call that caused it has returned.
    pub async fn until_script_returns(
        &self,
        script: &str,
        args: Vec<serde_json::Value>,
        want: serde_json::Value,
    ) -> TestResult<()> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let got = self.client.execute(script, args.clone()).await?;
            if got == want {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("{script} returned {got}, never {want}").into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until `css` inside the widget has non-empty text, returning it.
    pub async fn text_in_widget(&self, css: &str) -> TestResult<String> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let text = self.find_in_widget(css).await?.text().await?;
            if !text.trim().is_empty() {
                return Ok(text);
            }
            if Instant::now() > deadline {
                return Err(format!("{css} stayed empty").into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // A failed test must not leave a driver (and its browser) behind.
        let _ = self.driver.kill();
        if let Some(display) = self.display.as_mut() {
            let _ = display.kill();
        }
    }
}
