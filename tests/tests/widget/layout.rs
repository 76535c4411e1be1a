//! The widget on small screens, ordinary windows and zoomed pages.

use earshot_e2e::{BROWSER_LOCK, Browser, Collector, TestResult, serve_host_pages};

use crate::support::{entry_count, open_widget, send_for_reference, type_into};

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

/// Forced colours (Windows' contrast themes) take the button's accent
/// away, leaving its text on a system colour that may be the page's own:
/// an outline, unseen otherwise, becomes its edge.
#[tokio::test]
async fn in_forced_colors_the_button_keeps_a_visible_edge() -> TestResult {
    let _serial = BROWSER_LOCK.lock().await;
    let collector = Collector::start().await?;
    let host = serve_host_pages(&collector.url(), &collector.site_key).await?;
    const EDGE: &str = "const b = document.querySelector('earshot-widget').shadowRoot.querySelector('button.launcher');
         const s = getComputedStyle(b);
         return [matchMedia('(forced-colors: active)').matches, s.outlineStyle, s.outlineWidth, s.outlineColor];";
    for (browser, forced, color) in [
        (Browser::start().await?, false, "rgba(0, 0, 0, 0)"),
        (
            Browser::start_in_forced_colors().await?,
            true,
            "rgb(0, 0, 0)",
        ),
    ] {
        browser
            .client
            .goto(&format!("http://{host}/index.html"))
            .await?;
        browser.find_in_widget("button.launcher").await?;
        assert_eq!(
            browser.client.execute(EDGE, vec![]).await?,
            serde_json::json!([forced, "solid", "1px", color]),
            "forced colours: {forced}"
        );
        browser.close().await;
    }
    collector.running.stop().await?;
    Ok(())
}

#[tokio::test]
async fn each_position_puts_the_button_in_its_corner_and_on_small_screens_on_its_edge_30_percent_up()
-> TestResult {
    let _serial = BROWSER_LOCK.lock().await;
    let collector = Collector::start().await?;
    let host = serve_host_pages(&collector.url(), &collector.site_key).await?;
    let browser = Browser::start().await?;
    // The layer takes the class data-position names when the loader runs;
    // setting it here tries every corner on one page. The distances are
    // from the layout viewport, which fixed elements sit in.
    const PLACED: &str = "const layer = document.querySelector('earshot-widget').shadowRoot.querySelector('.launcher-layer');
         layer.className = 'launcher-layer ' + arguments[0];
         const r = layer.querySelector('button.launcher').getBoundingClientRect();
         const v = document.documentElement;
         return [r.left, r.top, v.clientWidth - r.right, v.clientHeight - r.bottom, v.clientHeight];";
    for (width, small) in [(1024, false), (360, true)] {
        browser.client.set_window_size(width, 740).await?;
        browser
            .client
            .goto(&format!("http://{host}/index.html"))
            .await?;
        browser.find_in_widget("button.launcher").await?;
        for position in ["bottom-right", "bottom-left", "top-right", "top-left"] {
            let placed: Vec<f64> = serde_json::from_value(
                browser
                    .client
                    .execute(PLACED, vec![position.into()])
                    .await?,
            )?;
            let [left, top, right, bottom, height] = placed[..] else {
                return Err(format!("{position}: {placed:?}").into());
            };
            let (side, other_side) = if position.ends_with("left") {
                (left, right)
            } else {
                (right, left)
            };
            let near = |a: f64, b: f64| (a - b).abs() < 1.0;
            if small {
                assert!(
                    near(side, 0.0),
                    "{position} at 360 px: on the edge, {placed:?}"
                );
                assert!(
                    near(bottom, 0.3 * height),
                    "{position} at 360 px: 30% up, {placed:?}"
                );
            } else {
                assert!(
                    near(side, 16.0),
                    "{position}: 16 px from its side, {placed:?}"
                );
                let end = if position.starts_with("top") {
                    top
                } else {
                    bottom
                };
                assert!(
                    near(end, 16.0),
                    "{position}: 16 px from its end, {placed:?}"
                );
            }
            assert!(other_side > 100.0, "{position}: one side only, {placed:?}");
        }
    }
    browser.close().await;
    collector.running.stop().await?;
    Ok(())
}
