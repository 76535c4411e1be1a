//! The widget in the host's language: translated, German, right to left.

use earshot_e2e::{BROWSER_LOCK, Browser, Collector, Engine, TestResult};

use crate::support::{
    entry_count, open_details, open_widget, send_for_reference, show_launcher, stored, type_into,
};

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

in_every_engine!(a_right_to_left_page_gets_a_dialog_laid_out_as_its_language_reads_with: a_right_to_left_page_gets_a_dialog_laid_out_as_its_language_reads, a_right_to_left_page_gets_a_dialog_laid_out_as_its_language_reads_in_firefox, a_right_to_left_page_gets_a_dialog_laid_out_as_its_language_reads_in_webkit);

/// A Hebrew page: `dir="rtl"` reaches into the widget's shadow root (`all:
/// initial` leaves `direction` alone), so an English dialog would read
/// right to left, its punctuation at the wrong ends. The dialog takes the
/// direction of its language; what the customer types takes its own.
async fn a_right_to_left_page_gets_a_dialog_laid_out_as_its_language_reads_with(
    engine: Engine,
) -> TestResult {
    let _serial = BROWSER_LOCK.lock().await;
    let collector = Collector::start().await?;
    let browser = Browser::start_in(engine).await?;
    open_widget(&browser, &collector, "rtl.html").await?;
    let directions = |fields: &'static str| {
        let browser = &browser;
        async move {
            browser
                .client
                .execute(
                    "const root = document.querySelector('earshot-widget').shadowRoot;
                     return arguments[0].split(' ').map(function (css) {
                       return getComputedStyle(root.querySelector(css)).direction;
                     });",
                    vec![fields.into()],
                )
                .await
        }
    };
    assert_eq!(
        browser
            .client
            .execute(
                "return document.documentElement.matches(':dir(rtl)')",
                vec![]
            )
            .await?,
        true,
        "the host page itself is right to left"
    );
    assert_eq!(
        directions("button.launcher dialog[open] #earshot-title #message").await?,
        serde_json::json!(["ltr", "ltr", "ltr", "ltr"])
    );
    let hebrew = "ההזמנה שלי לא הגיעה (מספר 4417)";
    type_into(&browser, "textarea#message", hebrew).await?;
    open_details(&browser).await?;
    type_into(&browser, "input#name", "דנה לוי").await?;
    type_into(&browser, "input#email", "dana@example.com").await?;
    assert_eq!(
        directions("dialog[open] #message #name #email").await?,
        serde_json::json!(["ltr", "rtl", "rtl", "ltr"])
    );
    let reference = send_for_reference(&browser).await?;
    let row = stored(&collector, &reference)?.ok_or("the reference shown is not stored")?;
    assert_eq!(row.message.as_deref(), Some(hebrew), "stored as typed");
    browser.close().await;
    collector.running.stop().await?;
    Ok(())
}

in_every_engine!(a_host_that_translates_the_widget_into_hebrew_gets_a_hebrew_dialog_laid_out_right_to_left_with: a_host_that_translates_the_widget_into_hebrew_gets_a_hebrew_dialog_laid_out_right_to_left, a_host_that_translates_the_widget_into_hebrew_gets_a_hebrew_dialog_laid_out_right_to_left_in_firefox, a_host_that_translates_the_widget_into_hebrew_gets_a_hebrew_dialog_laid_out_right_to_left_in_webkit);

/// The widget ships five left-to-right languages; a Hebrew shop gives it
/// its own words with `setStrings` and says which language they are in.
/// The dialog then reads right to left (its close button at the left end
/// of its heading, its send button at the left end of its actions), and
/// screen readers pronounce it as Hebrew. The words come from a frame's
/// script (`parent.Earshot…`), whose objects are no `instanceof Object` in
/// the page: the widget reads them all the same.
async fn a_host_that_translates_the_widget_into_hebrew_gets_a_hebrew_dialog_laid_out_right_to_left_with(
    engine: Engine,
) -> TestResult {
    let _serial = BROWSER_LOCK.lock().await;
    let collector = Collector::start().await?;
    let browser = Browser::start_in(engine).await?;
    show_launcher(&browser, &collector, "rtl.html").await?;
    browser
        .client
        .execute(
            "const frame = document.body.appendChild(document.createElement('iframe'));
             const strings = frame.contentWindow.JSON.parse(arguments[0]);
             Earshot.setStrings(strings);
             Earshot.open();",
            vec![
                serde_json::json!({
                    "lang": "he",
                    "title": "ספרו לנו מה קרה",
                    "message": "מה קרה?",
                    "send": "שליחה",
                    "close": "סגירה",
                })
                .to_string()
                .into(),
            ],
        )
        .await?;
    browser.find_in_widget("dialog[open]").await?;
    let laid_out = browser
        .client
        .execute(
            "const root = document.querySelector('earshot-widget').shadowRoot;
             const dialog = root.querySelector('dialog');
             const box = (css) => root.querySelector(css).getBoundingClientRect();
             const [frame, title, close, send] =
               ['dialog', '#earshot-title', 'button.close', 'button.send'].map(box);
             return {
               lang: dialog.lang,
               direction: getComputedStyle(dialog).direction,
               title: root.querySelector('#earshot-title').textContent,
               closeLeftOfTitle: close.right <= title.left,
               sendAtTheLeft: send.left - frame.left < frame.right - send.right,
             };",
            vec![],
        )
        .await?;
    assert_eq!(
        laid_out,
        serde_json::json!({
            "lang": "he",
            "direction": "rtl",
            "title": "ספרו לנו מה קרה",
            "closeLeftOfTitle": true,
            "sendAtTheLeft": true,
        })
    );
    let hebrew = "החבילה הגיעה ריקה";
    type_into(&browser, "textarea#message", hebrew).await?;
    let reference = send_for_reference(&browser).await?;
    let row = stored(&collector, &reference)?.ok_or("the reference shown is not stored")?;
    assert_eq!(row.message.as_deref(), Some(hebrew));
    browser.close().await;
    collector.running.stop().await?;
    Ok(())
}
