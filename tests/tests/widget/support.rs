//! What the widget's tests share: opening it on a host page, typing,
//! sending, and reading what the collector and the browser kept.

use earshot_e2e::{Browser, Collector, TestResult, serve_host_pages};
use fantoccini::elements::Element;
use rusqlite::OptionalExtension;

pub(crate) struct Stored {
    pub(crate) kind: String,
    pub(crate) message: Option<String>,
    pub(crate) expected: Option<String>,
    pub(crate) actual: Option<String>,
    pub(crate) email: Option<String>,
    pub(crate) page_url: Option<String>,
    pub(crate) language: Option<String>,
    pub(crate) idempotency_key: Option<String>,
}

pub(crate) fn stored(collector: &Collector, reference: &str) -> TestResult<Option<Stored>> {
    let db = collector.db()?;
    Ok(db
        .query_row(
            "SELECT kind, message, expected, actual, email, page_url, language, idempotency_key
             FROM entries WHERE reference = ?1",
            [reference],
            |r| {
                Ok(Stored {
                    kind: r.get(0)?,
                    message: r.get(1)?,
                    expected: r.get(2)?,
                    actual: r.get(3)?,
                    email: r.get(4)?,
                    page_url: r.get(5)?,
                    language: r.get(6)?,
                    idempotency_key: r.get(7)?,
                })
            },
        )
        .optional()?)
}

pub(crate) fn entry_count(collector: &Collector) -> TestResult<i64> {
    Ok(collector
        .db()?
        .query_row("SELECT count(*) FROM entries", [], |r| r.get(0))?)
}

/// Opens `page` from the example host pages and clicks the launcher.
pub(crate) async fn open_widget(
    browser: &Browser,
    collector: &Collector,
    page: &str,
) -> TestResult<String> {
    open_widget_from(browser, collector, "127.0.0.1", page).await
}

/// Like `open_widget`, with the host pages reached under `host_name` (one
/// the test browser resolves to 127.0.0.1), which sets the page's origin.
pub(crate) async fn open_widget_from(
    browser: &Browser,
    collector: &Collector,
    host_name: &str,
    page: &str,
) -> TestResult<String> {
    let (url, launcher) = show_launcher_from(browser, collector, host_name, page).await?;
    // A real WebDriver click: it fails if anything (say, the hostile page's
    // overlay) covers the button.
    launcher.click().await?;
    browser.find_in_widget("dialog[open]").await?;
    Ok(url)
}

/// Loads `page` from the example host pages and waits for the launcher,
/// without touching it; returns the page's address and the button.
pub(crate) async fn show_launcher(
    browser: &Browser,
    collector: &Collector,
    page: &str,
) -> TestResult<(String, Element)> {
    show_launcher_from(browser, collector, "127.0.0.1", page).await
}

async fn show_launcher_from(
    browser: &Browser,
    collector: &Collector,
    host_name: &str,
    page: &str,
) -> TestResult<(String, Element)> {
    let host = serve_host_pages(&collector.url(), &collector.site_key).await?;
    let url = format!("http://{host_name}:{}/{page}", host.port());
    browser.goto(&url).await?;
    let launcher = browser.find_in_widget("button.launcher").await?;
    Ok((url, launcher))
}

/// Unfolds "Add your email…" (email, name, screenshot).
pub(crate) async fn open_details(browser: &Browser) -> TestResult {
    let details = browser.find_in_widget("details.more").await?;
    if details.attr("open").await?.is_none() {
        browser
            .find_in_widget("details.more summary")
            .await?
            .click()
            .await?;
    }
    Ok(())
}

pub(crate) async fn type_into(browser: &Browser, css: &str, text: &str) -> TestResult {
    browser.find_in_widget(css).await?.send_keys(text).await?;
    Ok(())
}

/// Presses Send and returns the reference the widget then shows.
pub(crate) async fn send_for_reference(browser: &Browser) -> TestResult<String> {
    browser.find_in_widget("button.send").await?.click().await?;
    browser.text_in_widget(".reference").await
}

/// Waits until `sql` (a count) reaches `want`, or fails after the patience.
pub(crate) async fn wait_for_count(collector: &Collector, sql: &str, want: i64) -> TestResult {
    let deadline = std::time::Instant::now() + earshot_e2e::PATIENCE;
    loop {
        let got: i64 = collector.db()?.query_row(sql, [], |r| r.get(0))?;
        if got == want {
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            return Err(format!("{sql}: {got}, expected {want}").into());
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

pub(crate) const LOCAL_STORAGE_ITEM: &str = "return window.localStorage.getItem(arguments[0])";

pub(crate) async fn local_storage(browser: &Browser, key: &str) -> TestResult<serde_json::Value> {
    Ok(browser
        .client
        .execute(LOCAL_STORAGE_ITEM, vec![key.into()])
        .await?)
}

pub(crate) fn outbox_key(site_key: &str) -> String {
    format!("earshot:{site_key}:outbox")
}

/// Presses `key` (a WebDriver key code) wherever focus is.
pub(crate) async fn press(browser: &Browser, key: fantoccini::key::Key) -> TestResult {
    use fantoccini::actions::{InputSource, KeyAction, KeyActions};
    let value = char::from(key);
    let keys = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value })
        .then(KeyAction::Up { value });
    browser.client.perform_actions(keys).await?;
    Ok(())
}

/// Where focus is: `"launcher"`, `"dialog:<id or class>"`, or `"page"` for
/// anything outside the widget.
pub(crate) async fn focus(browser: &Browser) -> TestResult<String> {
    let where_ = browser
        .client
        .execute(
            r#"var host = document.querySelector("earshot-widget");
               if (document.activeElement !== host) return "page";
               var el = host.shadowRoot.activeElement;
               if (!el) return "page";
               if (el.classList.contains("launcher")) return "launcher";
               return (el.closest("dialog") ? "dialog:" : "loose:") + (el.id || el.className);"#,
            vec![],
        )
        .await?;
    Ok(where_.as_str().unwrap_or_default().to_owned())
}

/// Tabs until `want` has focus, checking that focus never leaves the dialog.
pub(crate) async fn tab_to(browser: &Browser, want: &str) -> TestResult {
    for _ in 0..12 {
        let now = focus(browser).await?;
        if now == want {
            return Ok(());
        }
        assert!(
            now.starts_with("dialog:"),
            "focus escaped the dialog: {now}"
        );
        press(browser, fantoccini::key::Key::Tab).await?;
    }
    Err(format!("{want} never got focus").into())
}

/// Storage that throws on every write, as Firefox and Safari do when it is
/// blocked or full.
pub(crate) async fn refuse_storage(browser: &Browser) -> TestResult {
    browser
        .client
        .execute(
            "Storage.prototype.setItem = function () {
               throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
             };",
            vec![],
        )
        .await?;
    Ok(())
}
