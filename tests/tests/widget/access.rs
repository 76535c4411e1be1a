//! Keyboard and assistive technology: the dialog works without a mouse
//! and passes axe.

use earshot_e2e::{BROWSER_LOCK, Browser, Collector, TestResult};

use crate::support::{
    entry_count, focus, open_details, open_widget, press, show_launcher, stored, tab_to, type_into,
};

#[tokio::test]
async fn a_keyboard_alone_opens_fills_sends_and_closes_the_dialog() -> TestResult {
    use fantoccini::key::Key;
    let _serial = BROWSER_LOCK.lock().await;
    let collector = Collector::start().await?;
    let browser = Browser::start().await?;
    show_launcher(&browser, &collector, "index.html").await?;
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
