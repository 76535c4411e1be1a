//! The whole path in a real browser: host page → `<script>` → loader →
//! WebAssembly widget in a shadow root → collector → SQLite.

use earshot_e2e::{BROWSER_LOCK, Browser, Collector, TestResult, serve_host_pages};
use rusqlite::OptionalExtension;

struct Stored {
    kind: String,
    message: Option<String>,
    expected: Option<String>,
    actual: Option<String>,
    email: Option<String>,
    page_url: Option<String>,
    language: Option<String>,
    idempotency_key: Option<String>,
}

fn stored(collector: &Collector, reference: &str) -> TestResult<Option<Stored>> {
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

fn entry_count(collector: &Collector) -> TestResult<i64> {
    Ok(collector
        .db()?
        .query_row("SELECT count(*) FROM entries", [], |r| r.get(0))?)
}

/// Opens `page` from the example host pages and clicks the launcher.
async fn open_widget(browser: &Browser, collector: &Collector, page: &str) -> TestResult<String> {
    let host = serve_host_pages(&collector.url(), &collector.site_key).await?;
    let url = format!("http://{host}/{page}");
    browser.client.goto(&url).await?;
    // A real WebDriver click: it fails if anything (say, the hostile page's
    // overlay) covers the button.
    browser
        .find_in_widget("button.launcher")
        .await?
        .click()
        .await?;
    browser.find_in_widget("dialog[open]").await?;
    Ok(url)
}

async fn type_into(browser: &Browser, css: &str, text: &str) -> TestResult {
    browser.find_in_widget(css).await?.send_keys(text).await?;
    Ok(())
}

#[tokio::test]
async fn complaint_from_a_plain_host_page_is_stored_and_referenced() -> TestResult {
    let _serial = BROWSER_LOCK.lock().await;
    let collector = Collector::start().await?;
    let browser = Browser::start().await?;
    let page_url = open_widget(&browser, &collector, "index.html").await?;

    // The loader leaves exactly one global behind.
    let globals = browser
        .client
        .execute(
            "return [typeof window.Earshot, typeof window.wasm_bindgen, typeof window.__wbg_init]",
            vec![],
        )
        .await?;
    assert_eq!(
        globals,
        serde_json::json!(["object", "undefined", "undefined"])
    );

    let message = "Pay now did nothing <b>twice</b> & the cart emptied";
    type_into(&browser, "textarea#message", message).await?;
    type_into(&browser, "input#email", "ana@example.com").await?;
    browser.find_in_widget("button.send").await?.click().await?;

    let reference = browser.text_in_widget(".reference").await?;
    let status_href = browser
        .find_in_widget("a.status-link")
        .await?
        .attr("href")
        .await?
        .unwrap_or_default();
    browser.close().await;

    let row =
        stored(&collector, &reference)?.ok_or("the reference shown is not in the database")?;
    assert_eq!(row.kind, "complaint");
    assert_eq!(row.message.as_deref(), Some(message));
    assert_eq!(row.email.as_deref(), Some("ana@example.com"));
    assert_eq!(row.page_url.as_deref(), Some(page_url.as_str()));
    assert!(row.language.is_some(), "browser context is captured");
    assert!(
        row.idempotency_key.is_some_and(|k| k.len() >= 16),
        "the widget sends an idempotency key"
    );
    assert!(status_href.starts_with(&format!("{}/s/", collector.url())));
    assert_eq!(entry_count(&collector)?, 1);
    collector.running.stop().await?;
    Ok(())
}

#[tokio::test]
async fn expectation_mismatch_survives_a_hostile_host_page() -> TestResult {
    let _serial = BROWSER_LOCK.lock().await;
    let collector = Collector::start().await?;
    let browser = Browser::start().await?;
    open_widget(&browser, &collector, "hostile.html").await?;

    // The host's `html { font-size: 8px }`, `* { all: unset }` and
    // `button { display: none !important }` must not reach the widget.
    let launcher = browser.find_in_widget("button.launcher").await?;
    assert_eq!(launcher.css_value("font-size").await?, "15px");
    assert_eq!(launcher.css_value("display").await?, "inline-block");
    let textarea = browser.find_in_widget("textarea#message").await?;
    assert_eq!(textarea.css_value("display").await?, "block");
    assert_eq!(textarea.css_value("font-size").await?, "15px");

    browser
        .find_in_widget("input#kind-expectation")
        .await?
        .click()
        .await?;
    type_into(&browser, "textarea#expected", "A confirmation email").await?;
    type_into(&browser, "textarea#actual", "Nothing arrived after an hour").await?;
    browser.find_in_widget("button.send").await?.click().await?;
    let reference = browser.text_in_widget(".reference").await?;
    browser.close().await;

    let row = stored(&collector, &reference)?.ok_or("not stored")?;
    assert_eq!(row.kind, "expectation");
    assert_eq!(row.expected.as_deref(), Some("A confirmation email"));
    assert_eq!(row.actual.as_deref(), Some("Nothing arrived after an hour"));
    assert_eq!(row.message, None);
    collector.running.stop().await?;
    Ok(())
}

#[tokio::test]
async fn widget_works_under_a_strict_content_security_policy() -> TestResult {
    let _serial = BROWSER_LOCK.lock().await;
    let collector = Collector::start().await?;
    let browser = Browser::start().await?;
    open_widget(&browser, &collector, "strict-csp.html").await?;

    // The stylesheet applied (it is the only way styles get in under this CSP).
    let launcher = browser.find_in_widget("button.launcher").await?;
    assert_eq!(launcher.css_value("border-radius").await?, "999px");

    browser
        .find_in_widget("input#kind-idea")
        .await?
        .click()
        .await?;
    type_into(
        &browser,
        "textarea#message",
        "Let me save my cart for later",
    )
    .await?;
    browser.find_in_widget("button.send").await?.click().await?;
    let reference = browser.text_in_widget(".reference").await?;
    browser.close().await;

    let row = stored(&collector, &reference)?.ok_or("not stored")?;
    assert_eq!(row.kind, "idea");
    collector.running.stop().await?;
    Ok(())
}

#[tokio::test]
async fn empty_message_is_explained_beside_the_field_and_nothing_is_sent() -> TestResult {
    let _serial = BROWSER_LOCK.lock().await;
    let collector = Collector::start().await?;
    let browser = Browser::start().await?;
    open_widget(&browser, &collector, "index.html").await?;

    type_into(&browser, "textarea#message", "   ").await?;
    browser.find_in_widget("button.send").await?.click().await?;
    let error = browser.text_in_widget("#message-error").await?;
    assert_eq!(error, "Please write a few words.");
    let invalid = browser
        .find_in_widget("textarea#message")
        .await?
        .attr("aria-invalid")
        .await?;
    assert_eq!(invalid.as_deref(), Some("true"));
    browser.close().await;

    assert_eq!(entry_count(&collector)?, 0);
    collector.running.stop().await?;
    Ok(())
}
