//! When the widget's own files are fetched, and what it says when they
//! cannot be.

use earshot_e2e::{BROWSER_LOCK, Browser, Collector, TestResult};

use crate::support::show_launcher;

#[tokio::test]
async fn the_webassembly_is_fetched_only_when_someone_reaches_for_the_button() -> TestResult {
    let _serial = BROWSER_LOCK.lock().await;
    let collector = Collector::start().await?;
    let browser = Browser::start().await?;
    let (_, button) = show_launcher(&browser, &collector, "index.html").await?;
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

#[tokio::test]
async fn when_the_widgets_own_files_cannot_load_the_button_says_so_and_tries_again_later()
-> TestResult {
    let _serial = BROWSER_LOCK.lock().await;
    let collector = Collector::start().await?;
    let browser = Browser::start().await?;
    show_launcher(&browser, &collector, "index.html").await?;
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
