//! The whole path in a real browser: host page → `<script>` → loader →
//! WebAssembly widget in a shadow root → collector → SQLite.

use earshot_e2e::{
    BROWSER_LOCK, Browser, Collector, Engine, INSECURE_HOST, TestResult, serve_host_pages,
};
use rusqlite::OptionalExtension;

/// The widget's core cases run in every engine it must work in: one test
/// each, named for the engine, all running `$case(engine)`.
macro_rules! in_every_engine {
    ($case:ident: $chromium:ident, $firefox:ident, $webkit:ident) => {
        #[tokio::test]
        async fn $chromium() -> TestResult {
            $case(Engine::Chromium).await
        }

        #[tokio::test]
        async fn $firefox() -> TestResult {
            $case(Engine::Firefox).await
        }

        #[tokio::test]
        async fn $webkit() -> TestResult {
            $case(Engine::WebKit).await
        }
    };
}

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
    open_widget_from(browser, collector, "127.0.0.1", page).await
}

/// Like `open_widget`, with the host pages reached under `host_name` (one
/// the test browser resolves to 127.0.0.1), which sets the page's origin.
async fn open_widget_from(
    browser: &Browser,
    collector: &Collector,
    host_name: &str,
    page: &str,
) -> TestResult<String> {
    let host = serve_host_pages(&collector.url(), &collector.site_key).await?;
    let url = format!("http://{host_name}:{}/{page}", host.port());
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

/// Unfolds "Add your email…" (email, name, screenshot).
async fn open_details(browser: &Browser) -> TestResult {
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

async fn type_into(browser: &Browser, css: &str, text: &str) -> TestResult {
    browser.find_in_widget(css).await?.send_keys(text).await?;
    Ok(())
}

/// Presses Send and returns the reference the widget then shows.
async fn send_for_reference(browser: &Browser) -> TestResult<String> {
    browser.find_in_widget("button.send").await?.click().await?;
    browser.text_in_widget(".reference").await
}

in_every_engine!(complaint_from_a_plain_host_page_is_stored_and_referenced_with: complaint_from_a_plain_host_page_is_stored_and_referenced, complaint_from_a_plain_host_page_is_stored_and_referenced_in_firefox, complaint_from_a_plain_host_page_is_stored_and_referenced_in_webkit);

async fn complaint_from_a_plain_host_page_is_stored_and_referenced_with(
    engine: Engine,
) -> TestResult {
    let _serial = BROWSER_LOCK.lock().await;
    let collector = Collector::start().await?;
    // The site's promise, as an admin sets it in the console.
    rusqlite::Connection::open(&collector.db)?.execute(
        "UPDATE sites SET response_promise = 'We answer within 1 business day'",
        [],
    )?;
    let browser = Browser::start_in(engine).await?;
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
    // The folded extras (a quarter of the form) are built the first time
    // they unfold, not with the rest of it.
    let email_built =
        "return !!document.querySelector('earshot-widget').shadowRoot.querySelector('input#email')";
    assert_eq!(
        browser.client.execute(email_built, vec![]).await?,
        serde_json::json!(false)
    );
    open_details(&browser).await?;
    type_into(&browser, "input#email", "ana@example.com").await?;
    type_into(&browser, "input#name", "Ana").await?;
    browser
        .find_in_widget("select#severity option[value=blocking]")
        .await?
        .click()
        .await?;
    // What goes along is said before sending.
    let included = browser.text_in_widget(".included").await?;
    assert!(included.contains("this page"), "{included}");
    let reference = send_for_reference(&browser).await?;
    assert_eq!(
        browser.text_in_widget(".promise").await?,
        "What to expect: We answer within 1 business day"
    );
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
    let (name, severity): (String, String) = collector.db()?.query_row(
        "SELECT name, severity FROM entries WHERE reference = ?1",
        [&reference],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    assert_eq!((name.as_str(), severity.as_str()), ("Ana", "blocking"));
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

fn unix_millis() -> TestResult<u64> {
    Ok(u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis(),
    )?)
}

/// Text form of an RFC 9562 version 7 (time-ordered) UUID.
fn is_uuid_v7(key: &str) -> bool {
    let b = key.as_bytes();
    b.len() == 36
        && [8, 13, 18, 23].iter().all(|&i| b[i] == b'-')
        && b.iter()
            .enumerate()
            .all(|(i, c)| [8, 13, 18, 23].contains(&i) || matches!(c, b'0'..=b'9' | b'a'..=b'f'))
        && b[14] == b'7'
        && matches!(b[19], b'8' | b'9' | b'a' | b'b')
}

#[tokio::test]
async fn a_plain_http_intranet_page_still_sends_an_idempotency_key() -> TestResult {
    let _serial = BROWSER_LOCK.lock().await;
    let collector = Collector::start().await?;
    rusqlite::Connection::open(&collector.db)?.execute(
        "UPDATE sites SET origins = ?1",
        [format!("http://{INSECURE_HOST}:*")],
    )?;
    let browser = Browser::start().await?;
    let started = unix_millis()?;
    open_widget_from(&browser, &collector, INSECURE_HOST, "index.html").await?;
    // The premise: browsers offer `crypto.randomUUID` to secure contexts only.
    let context = browser
        .client
        .execute(
            "return [window.isSecureContext, typeof crypto.randomUUID]",
            vec![],
        )
        .await?;
    assert_eq!(context, serde_json::json!([false, "undefined"]));
    type_into(
        &browser,
        "textarea#message",
        "The leave form ate my request",
    )
    .await?;
    let reference = send_for_reference(&browser).await?;
    let finished = unix_millis()?;
    browser.close().await;

    let row =
        stored(&collector, &reference)?.ok_or("the reference shown is not in the database")?;
    let key = row
        .idempotency_key
        .ok_or("no idempotency key: a retry could duplicate the entry")?;
    assert!(is_uuid_v7(&key), "{key}");
    // Its first 48 bits are when the draft began: during this test.
    let millis = u64::from_str_radix(&key[..8], 16)? << 16 | u64::from_str_radix(&key[9..13], 16)?;
    assert!(
        (started..=finished).contains(&millis),
        "key time {millis} is not within the test ({started}..={finished})"
    );
    collector.running.stop().await?;
    Ok(())
}

in_every_engine!(expectation_mismatch_survives_a_hostile_host_page_with: expectation_mismatch_survives_a_hostile_host_page, expectation_mismatch_survives_a_hostile_host_page_in_firefox, expectation_mismatch_survives_a_hostile_host_page_in_webkit);

async fn expectation_mismatch_survives_a_hostile_host_page_with(engine: Engine) -> TestResult {
    let _serial = BROWSER_LOCK.lock().await;
    let collector = Collector::start().await?;
    let browser = Browser::start_in(engine).await?;
    open_widget(&browser, &collector, "hostile.html").await?;

    // The host's `html { font-size: 8px }`, `* { all: unset }` and
    // `button { display: none !important }` must not reach the widget.
    let launcher = browser.find_in_widget("button.launcher").await?;
    assert_eq!(launcher.css_value("font-size").await?, "15px");
    // Blockified as an item of its layer's column; never the host's `none`.
    assert_eq!(launcher.css_value("display").await?, "block");
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
    let reference = send_for_reference(&browser).await?;
    browser.close().await;

    let row = stored(&collector, &reference)?.ok_or("not stored")?;
    assert_eq!(row.kind, "expectation");
    assert_eq!(row.expected.as_deref(), Some("A confirmation email"));
    assert_eq!(row.actual.as_deref(), Some("Nothing arrived after an hour"));
    assert_eq!(row.message, None);
    collector.running.stop().await?;
    Ok(())
}

in_every_engine!(widget_works_under_a_strict_content_security_policy_with: widget_works_under_a_strict_content_security_policy, widget_works_under_a_strict_content_security_policy_in_firefox, widget_works_under_a_strict_content_security_policy_in_webkit);

async fn widget_works_under_a_strict_content_security_policy_with(engine: Engine) -> TestResult {
    let _serial = BROWSER_LOCK.lock().await;
    let collector = Collector::start().await?;
    let browser = Browser::start_in(engine).await?;
    open_widget(&browser, &collector, "strict-csp.html").await?;

    // The stylesheet applied (it is the only way styles get in under this CSP).
    let launcher = browser.find_in_widget("button.launcher").await?;
    assert_eq!(launcher.css_value("border-radius").await?, "999px");
    // The text on the accent is white or black, whichever contrasts more,
    // on the launcher and on the dialog's send button alike.
    for (accent, ink) in [
        (None, [255, 255, 255]),
        (Some("#ffd166"), [0, 0, 0]),
        (Some("#0b6e4f"), [255, 255, 255]),
        (Some("#e0e4ea"), [0, 0, 0]),
    ] {
        if let Some(accent) = accent {
            browser
                .client
                .execute(
                    "document.querySelector('earshot-widget').style.setProperty('--earshot-color', arguments[0])",
                    vec![accent.into()],
                )
                .await?;
        }
        for button in ["button.launcher", "button.send"] {
            assert_eq!(
                browser.painted_color(button, "color").await?,
                ink,
                "{button} on {accent:?}"
            );
        }
    }

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
    let reference = send_for_reference(&browser).await?;
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

/// Waits until `sql` (a count) reaches `want`, or fails after the patience.
async fn wait_for_count(collector: &Collector, sql: &str, want: i64) -> TestResult {
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

const LOCAL_STORAGE_ITEM: &str = "return window.localStorage.getItem(arguments[0])";

async fn local_storage(browser: &Browser, key: &str) -> TestResult<serde_json::Value> {
    Ok(browser
        .client
        .execute(LOCAL_STORAGE_ITEM, vec![key.into()])
        .await?)
}

fn outbox_key(site_key: &str) -> String {
    format!("earshot:{site_key}:outbox")
}

/// Sends while the collector cannot store: the customer is told honestly
/// that it is saved (no reference, no "thanks") and it sits in the outbox.
async fn send_and_expect_it_kept(browser: &Browser, site_key: &str, message: &str) -> TestResult {
    browser.find_in_widget("button.send").await?.click().await?;
    let notice = browser.text_in_widget(".queued .explain").await?;
    assert!(notice.contains("saved on this device"), "{notice}");
    let root = browser.widget().await?;
    assert!(
        root.find(fantoccini::Locator::Css(".reference"))
            .await
            .is_err(),
        "no reference is shown for something not stored"
    );
    let outbox = local_storage(browser, &outbox_key(site_key)).await?;
    assert!(
        outbox.as_str().is_some_and(|o| o.contains(message)),
        "kept in storage: {outbox}"
    );
    Ok(())
}

async fn wait_for_empty_outbox(browser: &Browser, site_key: &str) -> TestResult {
    browser
        .until_script_returns(
            LOCAL_STORAGE_ITEM,
            vec![outbox_key(site_key).into()],
            serde_json::Value::Null,
        )
        .await
}

in_every_engine!(a_submission_sent_while_the_collector_is_down_is_delivered_once_when_it_returns_with: a_submission_sent_while_the_collector_is_down_is_delivered_once_when_it_returns, a_submission_sent_while_the_collector_is_down_is_delivered_once_when_it_returns_in_firefox, a_submission_sent_while_the_collector_is_down_is_delivered_once_when_it_returns_in_webkit);

async fn a_submission_sent_while_the_collector_is_down_is_delivered_once_when_it_returns_with(
    engine: Engine,
) -> TestResult {
    let _serial = BROWSER_LOCK.lock().await;
    let collector = Collector::start().await?;
    let browser = Browser::start_in(engine).await?;
    let host = serve_host_pages(&collector.url(), &collector.site_key).await?;
    let page = format!("http://{host}/index.html");
    browser.client.goto(&page).await?;
    browser
        .find_in_widget("button.launcher")
        .await?
        .click()
        .await?;
    let message = "The tracking link in my order email leads nowhere";
    type_into(&browser, "textarea#message", message).await?;

    let site_key = collector.site_key.clone();
    let stopped = collector.stop().await?;
    send_and_expect_it_kept(&browser, &site_key, message).await?;

    // A reload while the collector is still down loses nothing.
    browser.client.goto(&page).await?;
    let outbox = local_storage(&browser, &outbox_key(&site_key)).await?;
    assert!(outbox.as_str().is_some_and(|o| o.contains(message)));

    // The collector comes back: the widget delivers on its own, once.
    let collector = stopped.restart().await?;
    let count = format!("SELECT count(*) FROM entries WHERE message = '{message}'");
    wait_for_count(&collector, &count, 1).await?;
    wait_for_empty_outbox(&browser, &site_key).await?;
    // Opening the widget now shows the reference of what was delivered.
    browser
        .find_in_widget("button.launcher")
        .await?
        .click()
        .await?;
    let reference = browser.text_in_widget(".reference").await?;
    let row = stored(&collector, &reference)?.ok_or("the reference shown is not stored")?;
    assert_eq!(row.message.as_deref(), Some(message));
    // Another reload sends nothing again.
    browser.client.goto(&page).await?;
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    browser.close().await;
    wait_for_count(&collector, &count, 1).await?;
    assert_eq!(entry_count(&collector)?, 1);
    collector.running.stop().await?;
    Ok(())
}

/// The collector is up but cannot store (here: its store was shut down, as
/// when it is stopping or a disk fails): it answers 503 with Retry-After,
/// and the widget must treat that exactly like being offline.
#[tokio::test]
async fn a_submission_answered_503_is_kept_and_delivered_once_the_collector_recovers() -> TestResult
{
    let _serial = BROWSER_LOCK.lock().await;
    let collector = Collector::start().await?;
    let browser = Browser::start().await?;
    open_widget(&browser, &collector, "index.html").await?;
    let message = "My refund was approved but never arrived";
    type_into(&browser, "textarea#message", message).await?;

    collector.running.store.shutdown().await;
    // The real collector, still serving HTTP, refuses to store: 503.
    let probe = browser
        .client
        .execute_async(
            "var done = arguments[arguments.length - 1];
             fetch(arguments[0] + '/api/v1/feedback', {method: 'POST',
               headers: {'content-type': 'application/json'},
               body: JSON.stringify({site: arguments[1], kind: 'idea', message: 'probe'})})
             .then(function (r) { done([r.status, r.headers.get('retry-after')]); },
                   function (e) { done(['failed', String(e)]); });",
            vec![collector.url().into(), collector.site_key.clone().into()],
        )
        .await?;
    assert_eq!(probe, serde_json::json!([503, "5"]));

    send_and_expect_it_kept(&browser, &collector.site_key, message).await?;
    assert_eq!(entry_count(&collector)?, 0);

    // Restarted, the collector stores again and the widget delivers, once.
    let collector = collector.stop().await?.restart().await?;
    let count = format!("SELECT count(*) FROM entries WHERE message = '{message}'");
    wait_for_count(&collector, &count, 1).await?;
    wait_for_empty_outbox(&browser, &collector.site_key).await?;
    browser.close().await;
    assert_eq!(entry_count(&collector)?, 1);
    collector.running.stop().await?;
    Ok(())
}

#[tokio::test]
async fn the_draft_survives_closing_and_reloading_until_it_is_sent() -> TestResult {
    let _serial = BROWSER_LOCK.lock().await;
    let collector = Collector::start().await?;
    let browser = Browser::start().await?;
    open_widget(&browser, &collector, "index.html").await?;
    browser
        .find_in_widget("input#kind-expectation")
        .await?
        .click()
        .await?;
    type_into(&browser, "textarea#expected", "Delivery on Saturday").await?;
    type_into(&browser, "textarea#actual", "It says Monday now").await?;
    browser.client.refresh().await?;
    browser
        .find_in_widget("button.launcher")
        .await?
        .click()
        .await?;
    let expected = browser.find_in_widget("textarea#expected").await?;
    assert_eq!(
        expected.prop("value").await?.as_deref(),
        Some("Delivery on Saturday")
    );
    let reference = send_for_reference(&browser).await?;
    let row = stored(&collector, &reference)?.ok_or("not stored")?;
    assert_eq!(row.actual.as_deref(), Some("It says Monday now"));
    // Sent: the next visit starts empty.
    browser.client.refresh().await?;
    browser
        .find_in_widget("button.launcher")
        .await?
        .click()
        .await?;
    let message = browser.find_in_widget("textarea#message").await?;
    assert_eq!(message.prop("value").await?.as_deref(), Some(""));
    browser.close().await;
    collector.running.stop().await?;
    Ok(())
}

in_every_engine!(the_javascript_api_queues_calls_made_before_the_widget_loaded_with: the_javascript_api_queues_calls_made_before_the_widget_loaded, the_javascript_api_queues_calls_made_before_the_widget_loaded_in_firefox, the_javascript_api_queues_calls_made_before_the_widget_loaded_in_webkit);

async fn the_javascript_api_queues_calls_made_before_the_widget_loaded_with(
    engine: Engine,
) -> TestResult {
    let _serial = BROWSER_LOCK.lock().await;
    let collector = Collector::start().await?;
    let browser = Browser::start_in(engine).await?;
    let host = serve_host_pages(&collector.url(), &collector.site_key).await?;
    browser
        .client
        .goto(&format!("http://{host}/manual.html"))
        .await?;
    // Manual mode: no floating button; nothing but the loader fetched yet.
    let root = browser.widget().await?;
    assert!(
        root.find(fantoccini::Locator::Css("button.launcher"))
            .await
            .is_err()
    );
    let wasm_fetched = "return performance.getEntriesByType('resource').some(function (r) { return r.name.endsWith('.wasm'); })";
    assert_eq!(
        browser.client.execute(wasm_fetched, vec![]).await?,
        serde_json::json!(false)
    );

    // The host's own button calls Earshot.open({kind, message}).
    browser
        .client
        .find(fantoccini::Locator::Css("#suggest"))
        .await?
        .click()
        .await?;
    browser.find_in_widget("dialog[open]").await?;
    let idea = browser.find_in_widget("input#kind-idea").await?;
    assert_eq!(idea.prop("checked").await?.as_deref(), Some("true"));
    let message = browser.find_in_widget("textarea#message").await?;
    assert_eq!(
        message.prop("value").await?.as_deref(),
        Some("It would help if ")
    );
    let body_class = "return document.body.className";
    browser
        .until_script_returns(body_class, vec![], serde_json::json!("feedback-open"))
        .await?;
    type_into(&browser, "textarea#message", "invoices were searchable").await?;
    let reference = send_for_reference(&browser).await?;

    // The page's `submitted` listener, registered before load, heard it.
    let heard = browser
        .client
        .find(fantoccini::Locator::Css("#events li"))
        .await?
        .text()
        .await?;
    assert_eq!(heard, format!("submitted {reference}"));
    browser.client.execute("Earshot.close()", vec![]).await?;
    // The page hears `close` once the dialog has closed, a render later.
    browser
        .until_script_returns(body_class, vec![], serde_json::json!(""))
        .await?;
    browser.close().await;

    let (message, email, name, context): (String, String, String, String) =
        collector.db()?.query_row(
            "SELECT message, email, name, context FROM entries WHERE reference = ?1",
            [&reference],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?;
    assert_eq!(message, "It would help if invoices were searchable");
    assert_eq!((email.as_str(), name.as_str()), ("ana@example.com", "Ana"));
    let context: serde_json::Value = serde_json::from_str(&context)?;
    assert_eq!(
        context,
        serde_json::json!({"account": "4711", "beta": "true", "plan": "pro"})
    );
    collector.running.stop().await?;
    Ok(())
}

#[tokio::test]
async fn a_rate_limited_submission_is_kept_and_the_wait_is_shown() -> TestResult {
    let _serial = BROWSER_LOCK.lock().await;
    let collector = Collector::start_with(|c| c.limits.per_ip_per_minute = 1).await?;
    let browser = Browser::start().await?;
    open_widget(&browser, &collector, "index.html").await?;
    type_into(
        &browser,
        "textarea#message",
        "First: the size chart is wrong",
    )
    .await?;
    send_for_reference(&browser).await?;
    browser
        .find_in_widget(".sent button.secondary")
        .await?
        .click()
        .await?;
    type_into(&browser, "textarea#message", "Second: and so is the colour").await?;
    browser.find_in_widget("button.send").await?.click().await?;
    let notice = browser.text_in_widget(".queued .explain").await?;
    assert!(notice.contains("Too many messages"), "{notice}");
    assert!(notice.contains("seconds"), "the wait is shown: {notice}");
    let outbox = local_storage(&browser, &outbox_key(&collector.site_key)).await?;
    assert!(
        outbox
            .as_str()
            .is_some_and(|o| o.contains("Second: and so is the colour"))
    );
    browser.close().await;
    assert_eq!(entry_count(&collector)?, 1);
    collector.running.stop().await?;
    Ok(())
}

#[tokio::test]
async fn the_webassembly_is_fetched_only_when_someone_reaches_for_the_button() -> TestResult {
    let _serial = BROWSER_LOCK.lock().await;
    let collector = Collector::start().await?;
    let browser = Browser::start().await?;
    let host = serve_host_pages(&collector.url(), &collector.site_key).await?;
    browser
        .client
        .goto(&format!("http://{host}/index.html"))
        .await?;
    let button = browser.find_in_widget("button.launcher").await?;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let fetched = "return performance.getEntriesByType('resource').filter(function (r) { return /\\/widget\\//.test(r.name); }).length";
    assert_eq!(
        browser.client.execute(fetched, vec![]).await?,
        serde_json::json!(0),
        "nothing but the loader before any interaction"
    );
    // Styled all the same: the launcher's rules came inside the loader.
    assert_eq!(button.css_value("border-top-left-radius").await?, "999px");
    let started = std::time::Instant::now();
    button.click().await?;
    browser
        .find_in_widget("dialog[open] textarea#message")
        .await?;
    eprintln!(
        "click to interactive dialog (cold, loopback): {} ms",
        started.elapsed().as_millis()
    );
    assert_eq!(
        browser.client.execute(fetched, vec![]).await?,
        serde_json::json!(3),
        "stylesheet, app script and wasm once opened"
    );
    browser.close().await;
    collector.running.stop().await?;
    Ok(())
}

/// Presses `key` (a WebDriver key code) wherever focus is.
async fn press(browser: &Browser, key: fantoccini::key::Key) -> TestResult {
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
async fn focus(browser: &Browser) -> TestResult<String> {
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
async fn tab_to(browser: &Browser, want: &str) -> TestResult {
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

#[tokio::test]
async fn a_keyboard_alone_opens_fills_sends_and_closes_the_dialog() -> TestResult {
    use fantoccini::key::Key;
    let _serial = BROWSER_LOCK.lock().await;
    let collector = Collector::start().await?;
    let browser = Browser::start().await?;
    let host = serve_host_pages(&collector.url(), &collector.site_key).await?;
    browser
        .client
        .goto(&format!("http://{host}/index.html"))
        .await?;
    browser.find_in_widget("button.launcher").await?;
    // Tab through the page to the button, as a keyboard user would.
    for _ in 0..20 {
        if focus(&browser).await? == "launcher" {
            break;
        }
        press(&browser, Key::Tab).await?;
    }
    assert_eq!(focus(&browser).await?, "launcher");
    press(&browser, Key::Enter).await?;
    let dialog = browser.find_in_widget("dialog[open]").await?;
    assert_eq!(dialog.attr("role").await?.as_deref(), Some("dialog"));
    assert_eq!(dialog.attr("aria-modal").await?.as_deref(), Some("true"));
    assert_eq!(
        dialog.attr("aria-labelledby").await?.as_deref(),
        Some("earshot-title")
    );
    assert!(
        focus(&browser).await?.starts_with("dialog:"),
        "focus moves into the dialog"
    );

    tab_to(&browser, "dialog:message").await?;
    let message = "Keyboard only: the size filter ignores my choice";
    browser
        .client
        .perform_actions({
            use fantoccini::actions::{InputSource, KeyAction, KeyActions};
            message
                .chars()
                .fold(KeyActions::new("typing".into()), |keys, c| {
                    keys.then(KeyAction::Down { value: c })
                        .then(KeyAction::Up { value: c })
                })
        })
        .await?;
    tab_to(&browser, "dialog:primary send").await?;
    // Focus is trapped: a full round of Tabs stays inside the dialog.
    for _ in 0..10 {
        press(&browser, Key::Tab).await?;
        let now = focus(&browser).await?;
        assert!(
            now.starts_with("dialog:"),
            "focus escaped the dialog: {now}"
        );
    }
    tab_to(&browser, "dialog:primary send").await?;
    press(&browser, Key::Enter).await?;
    let reference = browser.text_in_widget(".reference").await?;

    press(&browser, Key::Escape).await?;
    let deadline = std::time::Instant::now() + earshot_e2e::PATIENCE;
    while browser
        .widget()
        .await?
        .find(fantoccini::Locator::Css("dialog[open]"))
        .await
        .is_ok()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "Esc did not close the dialog"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        focus(&browser).await?,
        "launcher",
        "focus returns to the button"
    );
    let expanded = browser
        .find_in_widget("button.launcher")
        .await?
        .attr("aria-expanded")
        .await?;
    assert_eq!(expanded.as_deref(), Some("false"));
    browser.close().await;
    let row = stored(&collector, &reference)?.ok_or("not stored")?;
    assert_eq!(row.message.as_deref(), Some(message));
    collector.running.stop().await?;
    Ok(())
}

#[tokio::test]
async fn a_german_page_gets_the_widget_in_german_with_the_hosts_own_words() -> TestResult {
    let _serial = BROWSER_LOCK.lock().await;
    let collector = Collector::start().await?;
    let browser = Browser::start().await?;
    open_widget(&browser, &collector, "de.html").await?;
    assert_eq!(
        browser.text_in_widget("#earshot-title").await?,
        "Erzählen Sie uns, was passiert ist"
    );
    let dialog = browser.find_in_widget("dialog[open]").await?;
    assert_eq!(dialog.attr("lang").await?.as_deref(), Some("de"));
    assert_eq!(browser.text_in_widget("button.send").await?, "Abschicken");
    browser.find_in_widget("button.send").await?.click().await?;
    assert_eq!(
        browser.text_in_widget("#message-error").await?,
        "Bitte schreiben Sie ein paar Worte."
    );
    // data-position and data-color reach the button.
    let launcher = browser.find_in_widget("button.launcher").await?;
    assert_eq!(
        launcher.css_value("background-color").await?,
        "rgba(11, 110, 79, 1)"
    );
    // Dark green takes white text.
    assert_eq!(
        browser.painted_color("button.launcher", "color").await?,
        [255, 255, 255]
    );
    let left = browser
        .client
        .execute(
            "return document.querySelector('earshot-widget').shadowRoot.querySelector('button.launcher').getBoundingClientRect().left",
            vec![],
        )
        .await?;
    assert!(
        left.as_f64().is_some_and(|x| x < 100.0),
        "bottom-left: {left}"
    );
    browser.close().await;
    assert_eq!(entry_count(&collector)?, 0);
    collector.running.stop().await?;
    Ok(())
}

#[tokio::test]
async fn praise_and_a_question_are_stored_with_their_kinds() -> TestResult {
    let _serial = BROWSER_LOCK.lock().await;
    let collector = Collector::start().await?;
    let browser = Browser::start().await?;
    open_widget(&browser, &collector, "index.html").await?;
    let mut references = Vec::new();
    for (kind, message) in [
        ("praise", "Delivery was a day early, thank you"),
        ("question", "Do the pots have drainage holes?"),
    ] {
        browser
            .find_in_widget(&format!("input#kind-{kind}"))
            .await?
            .click()
            .await?;
        type_into(&browser, "textarea#message", message).await?;
        references.push((kind, message, send_for_reference(&browser).await?));
        browser
            .find_in_widget(".sent button.secondary")
            .await?
            .click()
            .await?;
    }
    browser.close().await;
    for (kind, message, reference) in references {
        let row = stored(&collector, &reference)?.ok_or("not stored")?;
        assert_eq!(row.kind, kind);
        assert_eq!(row.message.as_deref(), Some(message));
    }
    collector.running.stop().await?;
    Ok(())
}

/// A 1×1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0xF8, 0xCF, 0xC0, 0xF0,
    0x1F, 0x00, 0x05, 0x00, 0x01, 0xFF, 0x89, 0x99, 0x3D, 0x1D, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];

#[tokio::test]
async fn a_screenshot_is_checked_in_the_browser_and_attached_to_the_entry() -> TestResult {
    let _serial = BROWSER_LOCK.lock().await;
    let collector = Collector::start().await?;
    let files = tempfile::tempdir()?;
    let svg = files.path().join("drawing.svg");
    std::fs::write(&svg, "<svg xmlns='http://www.w3.org/2000/svg'/>")?;
    let png = files.path().join("checkout.png");
    std::fs::write(&png, PNG)?;
    let browser = Browser::start().await?;
    open_widget(&browser, &collector, "index.html").await?;
    type_into(
        &browser,
        "textarea#message",
        "The total is cut off, see screenshot",
    )
    .await?;

    // Not an image we take: said beside the field, nothing attached.
    open_details(&browser).await?;
    browser
        .find_in_widget("input#screenshot")
        .await?
        .send_keys(&svg.display().to_string())
        .await?;
    assert_eq!(
        browser.text_in_widget("#screenshot-error").await?,
        "Please choose a PNG, JPEG, WebP or GIF image."
    );
    browser
        .find_in_widget("input#screenshot")
        .await?
        .send_keys(&png.display().to_string())
        .await?;
    let chosen = browser.text_in_widget(".chosen").await?;
    assert!(chosen.contains("checkout.png"), "{chosen}");
    let reference = send_for_reference(&browser).await?;
    let deadline = std::time::Instant::now() + earshot_e2e::PATIENCE;
    loop {
        let upload = browser.text_in_widget(".upload").await?;
        if upload == "Your screenshot is attached." {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "upload: {upload}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    browser.close().await;

    let (content_type, bytes): (String, Vec<u8>) = collector.db()?.query_row(
        "SELECT a.content_type, a.bytes FROM attachments a JOIN entries e ON e.id = a.entry_id
         WHERE e.reference = ?1",
        [&reference],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    assert_eq!(content_type, "image/png");
    assert_eq!(bytes, PNG);
    collector.running.stop().await?;
    Ok(())
}

#[tokio::test]
async fn on_a_360_pixel_screen_the_button_is_a_slim_tab_and_the_dialog_fits() -> TestResult {
    let _serial = BROWSER_LOCK.lock().await;
    let collector = Collector::start().await?;
    let browser = Browser::start().await?;
    browser.client.set_window_size(360, 740).await?;
    let host = serve_host_pages(&collector.url(), &collector.site_key).await?;
    browser
        .client
        .goto(&format!("http://{host}/index.html"))
        .await?;
    let width = browser
        .client
        .execute("return window.innerWidth", vec![])
        .await?;
    assert!(
        width.as_f64().is_some_and(|w| w <= 400.0),
        "viewport {width}"
    );
    let launcher = browser.find_in_widget("button.launcher").await?;
    let rect = "var r = document.querySelector('earshot-widget').shadowRoot.querySelector(arguments[0]).getBoundingClientRect(); return [r.left, r.right, r.width, window.innerWidth];";
    let tab = browser
        .client
        .execute(rect, vec!["button.launcher".into()])
        .await?;
    let tab: Vec<f64> = serde_json::from_value(tab)?;
    assert!(tab[2] < 48.0, "a slim tab, not a wide pill: {tab:?}");
    assert!((tab[3] - tab[1]).abs() < 1.0, "on the right edge: {tab:?}");
    launcher.click().await?;
    browser.find_in_widget("dialog[open]").await?;
    let dialog: Vec<f64> =
        serde_json::from_value(browser.client.execute(rect, vec!["dialog".into()]).await?)?;
    assert!(
        dialog[0] >= 0.0 && dialog[1] <= dialog[3],
        "the dialog fits the screen: {dialog:?}"
    );
    type_into(&browser, "textarea#message", "Small screen, still works").await?;
    send_for_reference(&browser).await?;
    browser.close().await;
    assert_eq!(entry_count(&collector)?, 1);
    collector.running.stop().await?;
    Ok(())
}

#[tokio::test]
async fn a_page_the_site_does_not_allow_is_told_plainly_keeps_its_text_and_does_not_retry()
-> TestResult {
    let _serial = BROWSER_LOCK.lock().await;
    // The default site accepts localhost and 127.0.0.1 only.
    let collector = Collector::start().await?;
    let browser = Browser::start().await?;
    open_widget_from(&browser, &collector, INSECURE_HOST, "index.html").await?;
    let words = "The invoice page shows last month";
    type_into(&browser, "textarea#message", words).await?;
    browser.find_in_widget("button.send").await?.click().await?;
    let said = browser.text_in_widget(".error.general").await?;
    assert!(
        said.contains("cannot be sent from this page"),
        "the customer is told why: {said}"
    );
    let root = browser.widget().await?;
    assert!(
        root.find(fantoccini::Locator::Css(".queued"))
            .await
            .is_err(),
        "not 'saved, will retry': retrying cannot help"
    );
    let kept = browser
        .find_in_widget("textarea#message")
        .await?
        .prop("value")
        .await?;
    assert_eq!(kept.as_deref(), Some(words), "the words stay in the form");
    assert!(
        local_storage(&browser, &outbox_key(&collector.site_key))
            .await?
            .is_null(),
        "nothing queued for retries"
    );
    // Past the first retry's delay, still nothing was sent again.
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    let site_id = collector.site_id()?;
    let refused = collector
        .running
        .sites
        .rejected_origins(&[site_id], earshot_collector::clock::system_millis())
        .await?
        .remove(&site_id)
        .ok_or("no refusals counted")?;
    assert_eq!(refused.last_day, 1, "one attempt, no retries");
    assert!(refused.origins[0].starts_with(&format!("http://{INSECURE_HOST}:")));
    assert_eq!(entry_count(&collector)?, 0);
    browser.close().await;
    collector.running.stop().await?;
    Ok(())
}

fn assert_accessible(violations: &[String], state: &str) {
    assert!(
        violations.is_empty(),
        "axe found violations with the widget {state}:\n{}",
        violations.join("\n")
    );
}

#[tokio::test]
async fn the_widget_has_no_axe_violations_and_moves_focus_where_the_customer_needs_it() -> TestResult
{
    let _serial = BROWSER_LOCK.lock().await;
    let collector = Collector::start().await?;
    let browser = Browser::start().await?;
    open_widget(&browser, &collector, "index.html").await?;
    assert_eq!(
        focus(&browser).await?,
        "dialog:kind-complaint",
        "focus starts on the first field, not Close"
    );
    assert_accessible(&browser.axe().await?, "open");

    // Two mistakes: both are shown at once, focus on the first.
    open_details(&browser).await?;
    type_into(&browser, "input#email", "not an email").await?;
    browser.find_in_widget("button.send").await?.click().await?;
    browser.find_in_widget("#message-error").await?;
    browser.find_in_widget("#email-error").await?;
    assert_eq!(focus(&browser).await?, "dialog:message");
    assert_accessible(&browser.axe().await?, "showing errors");
    assert_eq!(entry_count(&collector)?, 0);

    // Fixing one leaves the other in view.
    type_into(&browser, "textarea#message", "Coupon field is hidden").await?;
    assert!(
        browser
            .widget()
            .await?
            .find(fantoccini::Locator::Css("#email-error"))
            .await
            .is_ok(),
        "the email error stays until the email is edited"
    );
    let email = browser.find_in_widget("input#email").await?;
    email.clear().await?;
    email.send_keys("ana@example.com").await?;
    browser.find_in_widget("button.send").await?.click().await?;
    browser.text_in_widget(".reference").await?;
    assert_eq!(
        focus(&browser).await?,
        "dialog:earshot-receipt",
        "after sending, focus is on the receipt's heading"
    );
    assert_accessible(&browser.axe().await?, "showing the receipt");

    browser
        .find_in_widget(".sent button.secondary")
        .await?
        .click()
        .await?;
    browser.find_in_widget("textarea#message").await?;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(
        focus(&browser).await?,
        "dialog:kind-complaint",
        "'send something else' starts at the first field"
    );
    browser.close().await;
    collector.running.stop().await?;
    Ok(())
}

/// The bottom of `css` in the widget, and the viewport height, in CSS px.
async fn bottom_of(browser: &Browser, css: &str) -> TestResult<(f64, f64)> {
    let value = browser
        .client
        .execute(
            &format!(
                r#"var el = document.querySelector("earshot-widget").shadowRoot.querySelector({css:?});
                   return [el.getBoundingClientRect().bottom, window.innerHeight];"#
            ),
            vec![],
        )
        .await?;
    let pair = value.as_array().ok_or("no rect")?;
    Ok((
        pair[0].as_f64().unwrap_or(f64::MAX),
        pair[1].as_f64().unwrap_or(0.0),
    ))
}

#[tokio::test]
async fn send_is_in_view_at_1280_by_800_and_the_dialog_fits_a_page_zoomed_to_200_percent()
-> TestResult {
    let _serial = BROWSER_LOCK.lock().await;
    let collector = Collector::start().await?;
    let browser = Browser::start().await?;
    // A 1280×800 viewport: the window is that plus the browser's own frame.
    browser.client.set_window_size(1280, 800).await?;
    let frame = browser
        .client
        .execute("return window.outerHeight - window.innerHeight;", vec![])
        .await?
        .as_u64()
        .unwrap_or(0);
    browser
        .client
        .set_window_size(1280, 800 + u32::try_from(frame).unwrap_or(0))
        .await?;
    open_widget(&browser, &collector, "index.html").await?;
    let (send, height) = bottom_of(&browser, "button.send").await?;
    assert_eq!(height, 800.0, "the viewport the issue measured");
    assert!(
        send <= height,
        "Send at {send}px is below the fold of {height}px"
    );
    // The longest form: an expectation mismatch.
    browser
        .find_in_widget("input#kind-expectation")
        .await?
        .click()
        .await?;
    let (send, height) = bottom_of(&browser, "button.send").await?;
    assert!(
        send <= height,
        "expectation form: Send at {send}px of {height}px"
    );

    // A host page zoomed to 200%: the dialog still fits the viewport and
    // Send can be scrolled to inside it.
    browser.client.refresh().await?;
    browser
        .client
        .execute(
            "document.documentElement.style.zoom = '2'; Earshot.open();",
            vec![],
        )
        .await?;
    browser.find_in_widget("dialog[open]").await?;
    let (dialog, height) = bottom_of(&browser, "dialog").await?;
    assert!(
        dialog <= height + 1.0,
        "zoomed dialog ends at {dialog}px of {height}px"
    );
    browser
        .client
        .execute(
            r#"document.querySelector("earshot-widget").shadowRoot
                 .querySelector("button.send").scrollIntoView({block: "end"});"#,
            vec![],
        )
        .await?;
    let (send, height) = bottom_of(&browser, "button.send").await?;
    assert!(
        send <= height + 1.0,
        "zoomed: Send at {send}px of {height}px"
    );
    let close_visible = browser
        .client
        .execute(
            r#"var root = document.querySelector("earshot-widget").shadowRoot;
               var box = root.querySelector("dialog").getBoundingClientRect();
               var close = root.querySelector("button.close").getBoundingClientRect();
               return root.querySelector("dialog .scroller").scrollTop > 0 && close.top >= box.top - 1;"#,
            vec![],
        )
        .await?;
    assert_eq!(
        close_visible,
        serde_json::json!(true),
        "Close stays in view while the form scrolls"
    );
    browser.close().await;
    collector.running.stop().await?;
    Ok(())
}

#[tokio::test]
async fn when_the_widgets_own_files_cannot_load_the_button_says_so_and_tries_again_later()
-> TestResult {
    let _serial = BROWSER_LOCK.lock().await;
    let collector = Collector::start().await?;
    let browser = Browser::start().await?;
    let host = serve_host_pages(&collector.url(), &collector.site_key).await?;
    browser
        .client
        .goto(&format!("http://{host}/index.html"))
        .await?;
    browser.find_in_widget("button.launcher").await?;
    // The loader is in; the collector goes away before the dialog is fetched.
    let stopped = collector.stop().await?;
    browser
        .find_in_widget("button.launcher")
        .await?
        .click()
        .await?;
    let said = browser.text_in_widget(".load-error").await?;
    assert!(said.contains("unavailable"), "{said}");
    let error = browser.find_in_widget(".load-error").await?;
    assert_eq!(error.attr("role").await?.as_deref(), Some("alert"));

    // Back again: the next click loads the dialog and the message goes.
    let collector = stopped.restart().await?;
    browser
        .find_in_widget("button.launcher")
        .await?
        .click()
        .await?;
    browser.find_in_widget("dialog[open]").await?;
    assert!(
        browser
            .widget()
            .await?
            .find(fantoccini::Locator::Css(".load-error"))
            .await
            .is_err()
    );
    browser.close().await;
    collector.running.stop().await?;
    Ok(())
}
