//! Nothing is lost: what cannot be sent now is kept and sent once, and
//! what will never be accepted is said plainly.

use earshot_e2e::{BROWSER_LOCK, Browser, Collector, Engine, INSECURE_HOST, TestResult};

use crate::support::{
    LOCAL_STORAGE_ITEM, entry_count, local_storage, open_widget, open_widget_from, outbox_key,
    refuse_storage, send_for_reference, stored, type_into, wait_for_count,
};

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
    let page = open_widget(&browser, &collector, "index.html").await?;
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

/// Storage the browser refuses (cookies blocked, a full quota): the
/// customer is not told it is kept on the device, but to keep the page
/// open, and the page itself delivers it once the collector is back.
#[tokio::test]
async fn a_kept_submission_that_storage_refuses_says_to_keep_the_page_open_and_is_delivered()
-> TestResult {
    let _serial = BROWSER_LOCK.lock().await;
    let collector = Collector::start().await?;
    let browser = Browser::start().await?;
    open_widget(&browser, &collector, "index.html").await?;
    let message = "The gift card balance shows zero";
    type_into(&browser, "textarea#message", message).await?;
    refuse_storage(&browser).await?;

    let site_key = collector.site_key.clone();
    let stopped = collector.stop().await?;
    browser.find_in_widget("button.send").await?.click().await?;
    let title = browser.text_in_widget(".queued .saved").await?;
    assert_eq!(title, "Not sent yet — keep this page open");
    let notice = browser.text_in_widget(".queued .explain").await?;
    assert!(
        notice.contains("does not let us keep your message on this device")
            && !notice.contains("even if you close this page"),
        "{notice}"
    );
    assert!(
        local_storage(&browser, &outbox_key(&site_key))
            .await?
            .is_null()
    );

    let collector = stopped.restart().await?;
    let count = format!("SELECT count(*) FROM entries WHERE message = '{message}'");
    wait_for_count(&collector, &count, 1).await?;
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    browser.close().await;
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
async fn a_rate_limited_submission_is_kept_and_the_wait_is_shown() -> TestResult {
    let _serial = BROWSER_LOCK.lock().await;
    let collector = Collector::start_with(|c| c.limits.per_ip_per_minute = 1).await?;
    let browser = Browser::start().await?;
    open_widget(&browser, &collector, "index.html").await?;
    spend_the_limit(&browser, "First: the size chart is wrong").await?;
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

/// Refused for a while and unable to keep it on the device: the customer
/// still learns how long the wait is, and that the page must stay open.
#[tokio::test]
async fn a_rate_limited_submission_that_storage_refuses_shows_the_wait_and_to_keep_the_page_open()
-> TestResult {
    let _serial = BROWSER_LOCK.lock().await;
    let collector = Collector::start_with(|c| c.limits.per_ip_per_minute = 1).await?;
    let browser = Browser::start().await?;
    open_widget(&browser, &collector, "index.html").await?;
    spend_the_limit(&browser, "First: the basket empties itself").await?;
    refuse_storage(&browser).await?;
    type_into(
        &browser,
        "textarea#message",
        "Second: and the coupon vanished",
    )
    .await?;
    browser.find_in_widget("button.send").await?.click().await?;
    let title = browser.text_in_widget(".queued .saved").await?;
    assert_eq!(title, "Not sent yet — keep this page open");
    let notice = browser.text_in_widget(".queued .explain").await?;
    assert!(notice.contains("Too many messages"), "{notice}");
    assert!(notice.contains("waits in this page"), "{notice}");
    assert!(
        notice.contains(" in about ") && notice.contains("seconds."),
        "the wait is shown: {notice}"
    );
    assert!(!notice.contains("saved on this device"), "{notice}");
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

/// Sends `words` (the one submission a limit of one a minute allows) and
/// opens a fresh form for the next.
async fn spend_the_limit(browser: &Browser, words: &str) -> TestResult {
    type_into(browser, "textarea#message", words).await?;
    send_for_reference(browser).await?;
    browser
        .find_in_widget(".sent button.secondary")
        .await?
        .click()
        .await?;
    Ok(())
}
