//! Click to interactive, cold: from a click on the launcher until the
//! dialog's first field holds focus, in headless Chromium with a fresh
//! profile for every run (nothing cached, as for a first-time visitor).
//! Run with `cargo bench -p earshot-e2e --bench widget_open`.
//!
//! Three cases, `EARSHOT_BENCH_RUNS` runs each (default 10), median and
//! worst: on loopback clicked straight away (nothing fetched before the
//! click); on loopback with the pointer resting on the button first (the
//! loader starts fetching on `pointerenter`); and clicked straight away with
//! Chromium's network throttled to DevTools' "Fast 3G" preset. The time is
//! taken inside the page (`performance.now()`), so WebDriver's own round
//! trips are not in it.

// A benchmark that cannot drive its browser should stop loudly.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::Duration;

use earshot_e2e::{Browser, Collector, TestResult, serve_host_pages};
use fantoccini::wd::WebDriverCompatibleCommand;

/// A Chrome DevTools Protocol command, through chromedriver.
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: serde_json::Value,
}

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = serde_json::json!({ "cmd": self.cmd, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
}

/// Clicks the launcher (after resting the pointer on it for `arguments[0]`
/// ms, when that is above zero), then waits for the message field and
/// focuses it; answers the milliseconds from the click, and when each of
/// the widget's files started and finished arriving, relative to it.
const CLICK_TO_FOCUS: &str = r#"
const [hover, done] = arguments;
const root = document.querySelector("earshot-widget").shadowRoot;
const button = root.querySelector("button.launcher");
const click = () => {
  const started = performance.now();
  button.click();
  const poll = () => {
    const field = root.querySelector("dialog[open] textarea#message");
    if (field) {
      field.focus();
      if (root.activeElement === field) {
        const ms = performance.now() - started;
        const files = performance.getEntriesByType("resource")
          .filter((r) => r.name.includes("/widget/"))
          .map((r) => [r.name.split(".").pop(), r.startTime - started, r.responseEnd - started]);
        return done({ ms, files });
      }
    }
    setTimeout(poll, 1);
  };
  poll();
};
if (hover > 0) {
  button.dispatchEvent(new PointerEvent("pointerenter"));
  setTimeout(click, hover);
} else {
  click();
}
"#;

#[derive(Clone, Copy)]
struct Case {
    name: &'static str,
    hover_ms: u64,
    fast_3g: bool,
}

/// One run: the time to interactive, and per file type (`js`, `css`,
/// `wasm`) when it started and finished arriving.
struct Run {
    ms: f64,
    files: Vec<(String, f64, f64)>,
}

async fn once(host: SocketAddr, case: Case) -> TestResult<Run> {
    let browser = Browser::start().await?;
    if case.fast_3g {
        // DevTools' "Fast 3G": 562.5 ms latency, 1.6 Mbit/s down and
        // 750 kbit/s up, each at 90%.
        browser
            .client
            .issue_cmd(Cdp {
                cmd: "Network.enable",
                params: serde_json::json!({}),
            })
            .await?;
        browser
            .client
            .issue_cmd(Cdp {
                cmd: "Network.emulateNetworkConditions",
                params: serde_json::json!({
                    "offline": false,
                    "latency": 562.5,
                    "downloadThroughput": 1_600_000.0 * 0.9 / 8.0,
                    "uploadThroughput": 750_000.0 * 0.9 / 8.0,
                }),
            })
            .await?;
    }
    browser
        .client
        .goto(&format!("http://{host}/index.html"))
        .await?;
    browser.find_in_widget("button.launcher").await?;
    let answer = browser
        .client
        .execute_async(CLICK_TO_FOCUS, vec![serde_json::json!(case.hover_ms)])
        .await?;
    browser.close().await;
    let ms = answer["ms"].as_f64().ok_or("the page answered no time")?;
    let files = answer["files"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| Some((f[0].as_str()?.to_owned(), f[1].as_f64()?, f[2].as_f64()?)))
        .collect();
    Ok(Run { ms, files })
}

/// Sorts `values` and returns the middle one.
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() -> TestResult {
    let runs: usize = std::env::var("EARSHOT_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let collector = Collector::start().await?;
        let host = serve_host_pages(&collector.url(), &collector.site_key).await?;
        println!("click → first field focused, cold, {runs} runs each (ms); for each");
        println!("file, the median start → end of its arrival from the click\n");
        println!("| case | median | worst | js | css | wasm | runs |");
        println!("|---|---|---|---|---|---|---|");
        for case in [
            Case {
                name: "loopback, clicked straight away",
                hover_ms: 0,
                fast_3g: false,
            },
            Case {
                name: "loopback, pointer on the button 150 ms first",
                hover_ms: 150,
                fast_3g: false,
            },
            Case {
                name: "Fast 3G, clicked straight away",
                hover_ms: 0,
                fast_3g: true,
            },
        ] {
            let mut results = Vec::with_capacity(runs);
            for _ in 0..runs {
                results.push(once(host, case).await?);
                // Let the last browser's processes go before the next.
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            let mut times: Vec<f64> = results.iter().map(|r| r.ms).collect();
            let median_ms = median(&mut times);
            let worst = times[times.len() - 1];
            let file = |kind: &str| {
                let (mut starts, mut ends): (Vec<f64>, Vec<f64>) = results
                    .iter()
                    .flat_map(|r| &r.files)
                    .filter(|f| f.0 == kind)
                    .map(|f| (f.1, f.2))
                    .unzip();
                if starts.is_empty() {
                    return "—".to_owned();
                }
                format!("{:.0} → {:.0}", median(&mut starts), median(&mut ends))
            };
            let all: Vec<String> = times.iter().map(|t| format!("{t:.0}")).collect();
            println!(
                "| {} | {median_ms:.0} | {worst:.0} | {} | {} | {} | {} |",
                case.name,
                file("js"),
                file("css"),
                file("wasm"),
                all.join(", ")
            );
        }
        collector.running.stop().await?;
        Ok(())
    })
}
