//! The form itself: refusals beside the field, the draft, each kind, a
//! screenshot.

use earshot_collector::store::Store;
use earshot_e2e::{BROWSER_LOCK, Browser, Collector, Engine, TestResult};

use crate::support::{
    entry_count, open_details, open_widget, send_for_reference, stored, type_into,
};

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

in_every_engine!(a_customer_at_an_international_domain_is_found_by_it_written_either_way_with: a_customer_at_an_international_domain_is_found_by_it_written_either_way, a_customer_at_an_international_domain_is_found_by_it_written_either_way_in_firefox, a_customer_at_an_international_domain_is_found_by_it_written_either_way_in_webkit);

/// Chromium's email field sends `Ana@Bücher.example` as
/// `Ana@xn--bcher-kva.example`, Firefox as typed. Whatever the browser
/// sent, an erasure or export asked for either way finds her.
async fn a_customer_at_an_international_domain_is_found_by_it_written_either_way_with(
    engine: Engine,
) -> TestResult {
    let _serial = BROWSER_LOCK.lock().await;
    let collector = Collector::start().await?;
    let browser = Browser::start_in(engine).await?;
    open_widget(&browser, &collector, "index.html").await?;
    type_into(&browser, "textarea#message", "Where is my order?").await?;
    open_details(&browser).await?;
    type_into(&browser, "input#email", "Ana@Bücher.example").await?;
    let reference = send_for_reference(&browser).await?;
    browser.close().await;
    let row = stored(&collector, &reference)?.ok_or("not stored")?;
    let sent = row.email.ok_or("no email stored")?;
    assert!(
        ["Ana@Bücher.example", "Ana@xn--bcher-kva.example"].contains(&sent.as_str()),
        "{engine:?} sent {sent}"
    );
    let db = collector.db.clone();
    collector.running.stop().await?;
    let store = Store::open(&db)?;
    for asked in ["ana@bücher.example", "ANA@XN--BCHER-KVA.EXAMPLE"] {
        let held = store.person_entries(asked.into(), None, 10).await?;
        let held: Vec<&str> = held.iter().map(|h| h.reference.as_str()).collect();
        assert_eq!(
            held,
            [reference.as_str()],
            "{asked}; {engine:?} sent {sent}"
        );
    }
    store.shutdown().await;
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
