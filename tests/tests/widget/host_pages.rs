//! Sending from the host pages a site may have: plain, plain HTTP,
//! hostile, under a strict CSP, scripted through the API, one that swaps
//! its `<body>` as it navigates.

use earshot_e2e::{
    BROWSER_LOCK, Browser, Collector, Engine, INSECURE_HOST, TestResult, serve_host_pages,
};

use crate::support::{
    entry_count, open_details, open_widget, open_widget_from, send_for_reference, show_launcher,
    stored, type_into,
};

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

in_every_engine!(widget_works_on_a_cross_origin_isolated_page_with: widget_works_on_a_cross_origin_isolated_page, widget_works_on_a_cross_origin_isolated_page_in_firefox, widget_works_on_a_cross_origin_isolated_page_in_webkit);

/// A page that uses SharedArrayBuffer must be cross-origin isolated
/// (`Cross-Origin-Embedder-Policy: require-corp`): the browser then loads
/// the widget's script, stylesheet and WebAssembly from the collector only
/// because each says it may be embedded anywhere.
async fn widget_works_on_a_cross_origin_isolated_page_with(engine: Engine) -> TestResult {
    a_message_goes_from(
        engine,
        "isolated.html",
        "Export froze at 99%",
        async |browser| {
            assert_eq!(
                browser
                    .client
                    .execute("return window.crossOriginIsolated", vec![])
                    .await?,
                serde_json::json!(true),
                "the page is isolated, or this test proves nothing"
            );
            let launcher = browser.find_in_widget("button.launcher").await?;
            assert_eq!(launcher.css_value("border-radius").await?, "999px");
            Ok(())
        },
    )
    .await
}

in_every_engine!(widget_works_where_trusted_types_are_enforced_with: widget_works_where_trusted_types_are_enforced, widget_works_where_trusted_types_are_enforced_in_firefox, widget_works_where_trusted_types_are_enforced_in_webkit);

/// Sites that enforce Trusted Types (`require-trusted-types-for 'script'`)
/// refuse any plain string at a script or HTML sink; with `trusted-types
/// 'none'` nobody may make a policy either. The widget loads and sends
/// there because it uses no such sink. (Engines without Trusted Types
/// enforce nothing here.)
async fn widget_works_where_trusted_types_are_enforced_with(engine: Engine) -> TestResult {
    a_message_goes_from(
        engine,
        "trusted-types.html",
        "Invoice PDF is blank",
        async |browser| {
            // The folded extras (the screenshot's preview among them) are built
            // too.
            open_details(browser).await
        },
    )
    .await
}

in_every_engine!(widget_works_under_a_nonce_and_strict_dynamic_with: widget_works_under_a_nonce_and_strict_dynamic, widget_works_under_a_nonce_and_strict_dynamic_in_firefox, widget_works_under_a_nonce_and_strict_dynamic_in_webkit);

/// The "strict CSP" many large sites run: `script-src 'nonce-…'
/// 'strict-dynamic'`, no host listed. The loader carries the nonce; the
/// glue it imports is trusted through it.
async fn widget_works_under_a_nonce_and_strict_dynamic_with(engine: Engine) -> TestResult {
    a_message_goes_from(
        engine,
        "strict-dynamic.html",
        "Coupon code rejected",
        async |_| Ok(()),
    )
    .await
}

in_every_engine!(widget_works_from_a_module_script_tag_with: widget_works_from_a_module_script_tag, widget_works_from_a_module_script_tag_in_firefox, widget_works_from_a_module_script_tag_in_webkit);

/// `<script type="module">` has no `document.currentScript`: the loader
/// finds its tag by its file instead, not another vendor's `data-site`.
async fn widget_works_from_a_module_script_tag_with(engine: Engine) -> TestResult {
    a_message_goes_from(
        engine,
        "module.html",
        "Lieferung kam nie an",
        async |browser| {
            // The tag's own attributes were read: its language, not the
            // browser's, and its site (the message is stored below).
            let dialog = browser.find_in_widget("dialog[open]").await?;
            assert_eq!(dialog.attr("lang").await?.as_deref(), Some("de"));
            assert_eq!(browser.text_in_widget("button.send").await?, "Senden");
            Ok(())
        },
    )
    .await
}

/// Opens the widget on the host page `page`, lets `inspect` look at it,
/// sends `message` and checks that it was stored.
async fn a_message_goes_from(
    engine: Engine,
    page: &str,
    message: &str,
    inspect: impl AsyncFnOnce(&Browser) -> TestResult,
) -> TestResult {
    let _serial = BROWSER_LOCK.lock().await;
    let collector = Collector::start().await?;
    let browser = Browser::start_in(engine).await?;
    open_widget(&browser, &collector, page).await?;
    inspect(&browser).await?;
    type_into(&browser, "textarea#message", message).await?;
    let reference = send_for_reference(&browser).await?;
    browser.close().await;

    let row = stored(&collector, &reference)?.ok_or("not stored")?;
    assert_eq!(row.message.as_deref(), Some(message));
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

in_every_engine!(the_button_stays_when_the_page_swaps_its_body_as_turbo_and_htmx_do_with: the_button_stays_when_the_page_swaps_its_body_as_turbo_and_htmx_do, the_button_stays_when_the_page_swaps_its_body_as_turbo_and_htmx_do_in_firefox, the_button_stays_when_the_page_swaps_its_body_as_turbo_and_htmx_do_in_webkit);

/// Turbo Drive (Rails' default) replaces `<body>` on every navigation and
/// htmx's `hx-boost` swaps its content: the widget lives beside `<body>`,
/// so the button is there on the next "page" and sends from it.
async fn the_button_stays_when_the_page_swaps_its_body_as_turbo_and_htmx_do_with(
    engine: Engine,
) -> TestResult {
    let _serial = BROWSER_LOCK.lock().await;
    let collector = Collector::start().await?;
    let browser = Browser::start_in(engine).await?;
    show_launcher(&browser, &collector, "index.html").await?;
    browser
        .client
        .execute(
            "const next = document.createElement('body');
             next.innerHTML = '<main><h1>Your orders</h1><a href=\"#\">Order 4411</a></main>';
             document.body.replaceWith(next);
             document.body.innerHTML = '<main><h1>Order 4411</h1></main>';",
            vec![],
        )
        .await?;
    // A real WebDriver click: the button must be there and on top.
    browser
        .find_in_widget("button.launcher")
        .await?
        .click()
        .await?;
    browser.find_in_widget("dialog[open]").await?;
    let message = "The tracking link on order 4411 leads nowhere";
    type_into(&browser, "textarea#message", message).await?;
    let reference = send_for_reference(&browser).await?;
    let row = stored(&collector, &reference)?.ok_or("the reference shown is not stored")?;
    assert_eq!(row.message.as_deref(), Some(message));
    browser.close().await;
    collector.running.stop().await?;
    Ok(())
}
