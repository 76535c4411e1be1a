//! The review console in a real browser: first-run setup, sign-in, the
//! inbox, answering with a promise, and the customer's status page; and
//! hostile customer text that must stay text everywhere staff look.

use earshot_collector::store::{Inserted, NewEntry};
use earshot_e2e::{BROWSER_LOCK, Browser, Collector, PATIENCE, TestResult};
use earshot_protocol::{FeedbackRequest, Submission};
use fantoccini::Locator;
use serde_json::json;

const PASSWORD: &str = "a long staff passphrase";

/// The console's pages beyond the inbox and an entry, as an administrator
/// sees them.
const ADMIN_PAGES: [&str; 11] = [
    "/console?view=all",
    "/console/account",
    "/console/promises",
    "/console/reports",
    "/console/notifications",
    "/console/tokens",
    "/console/sites",
    "/console/sites/1",
    "/console/staff",
    "/console/audit",
    "/console/people",
];

/// Stores feedback as the ingest endpoint would, from a wire-format body.
async fn feedback(collector: &Collector, body: serde_json::Value) -> TestResult<Inserted> {
    feedback_at(collector, body, earshot_collector::clock::system_millis()).await
}

/// [`feedback`] received at `received_at` (ms since the epoch).
async fn feedback_at(
    collector: &Collector,
    body: serde_json::Value,
    received_at: i64,
) -> TestResult<Inserted> {
    let mut body = body;
    body["site"] = collector.site_key.clone().into();
    let request: FeedbackRequest = serde_json::from_value(body)?;
    let submission = Submission::parse(&request)?;
    let site_id = collector.running.store.sites().await?[0].id;
    Ok(collector
        .running
        .store
        .insert_entry(NewEntry {
            site_id,
            submission,
            ip_hash: None,
            spam: None,
            received_at,
        })
        .await?)
}

/// Creates the first administrator through the setup link and waits until
/// the browser is signed in as them.
async fn set_up_first_admin(browser: &Browser, collector: &Collector) -> TestResult {
    let setup = collector.running.setup_url.clone().ok_or("setup link")?;
    browser.client.goto(&setup).await?;
    fill(browser, "#name", "Ada").await?;
    fill(browser, "#email", "ada@example.com").await?;
    fill(browser, "#password", PASSWORD).await?;
    click(browser, "button[type=submit]").await?;
    // Signed in only once the setup answer has set the session cookie:
    // navigating before that would land on the sign-in page.
    text_with(browser, "h1", "Needs a response").await?;
    Ok(())
}

async fn fill(browser: &Browser, css: &str, text: &str) -> TestResult {
    browser
        .client
        .find(Locator::Css(css))
        .await?
        .send_keys(text)
        .await?;
    Ok(())
}

async fn click(browser: &Browser, css: &str) -> TestResult {
    browser
        .client
        .find(Locator::Css(css))
        .await?
        .click()
        .await?;
    Ok(())
}

/// Waits until `css` shows text containing `needle` and returns that text.
/// After a click that submits a form, the old page can still be there (or
/// its elements go stale mid-read): keep looking until the new one is.
async fn text_with(browser: &Browser, css: &str, needle: &str) -> TestResult<String> {
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        let seen = match browser.client.find(Locator::Css(css)).await {
            Ok(element) => element.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if seen.contains(needle) {
            return Ok(seen);
        }
        if std::time::Instant::now() > deadline {
            return Err(format!("{css} never showed {needle:?}; last: {seen:?}").into());
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

async fn text(browser: &Browser, css: &str) -> TestResult<String> {
    Ok(browser
        .client
        .wait()
        .at_most(PATIENCE)
        .for_element(Locator::Css(css))
        .await?
        .text()
        .await?)
}

#[tokio::test]
async fn staff_set_up_sign_in_answer_with_a_promise_and_the_customer_sees_it() -> TestResult {
    let _serial = BROWSER_LOCK.lock().await;
    let collector = Collector::start().await?;
    let entry = feedback(
        &collector,
        json!({"kind": "expectation", "expected": "A refund within 5 days",
               "actual": "Nothing after two weeks", "email": "ana@example.com",
               "client": {"language": "pt-BR"}}),
    )
    .await?;
    let browser = Browser::start().await?;
    let url = collector.url();

    // First run: the one-time setup link creates the administrator.
    let setup = collector
        .running
        .setup_url
        .clone()
        .ok_or("a fresh collector prints a setup link")?;
    browser.client.goto(&setup).await?;
    fill(&browser, "#name", "Ada").await?;
    fill(&browser, "#email", "ada@example.com").await?;
    fill(&browser, "#password", PASSWORD).await?;
    click(&browser, "button[type=submit]").await?;
    assert_eq!(
        text_with(&browser, "h1", "Needs a response").await?,
        "Needs a response"
    );

    // Sign out and back in through the login form.
    click(&browser, "form.signout button").await?;
    assert_eq!(
        text_with(&browser, "h1", "Sign in to Earshot").await?,
        "Sign in to Earshot"
    );
    fill(&browser, "#email", "ada@example.com").await?;
    fill(&browser, "#password", PASSWORD).await?;
    click(&browser, "button[type=submit]").await?;
    let row = text_with(&browser, "table.inbox tbody tr", "A refund within 5 days").await?;
    assert!(row.contains("A refund within 5 days"), "{row}");
    assert!(row.contains(&entry.reference), "{row}");

    // Open the entry: expected beside actual.
    click(&browser, "td.words a").await?;
    let sides = text_with(&browser, ".sides", "What they expected").await?;
    assert!(sides.contains("What they expected") && sides.contains("Nothing after two weeks"));

    // Reply with a promise. The date input is set directly: typing into it
    // depends on the browser's locale. Six weeks ahead: a promise is due
    // within a year.
    let due = earshot_collector::clock::date(
        earshot_collector::clock::system_millis() + 42 * 24 * 3_600_000,
    );
    fill(&browser, "#reply", "Sorry! The refund is on its way.").await?;
    fill(&browser, "#promise-text", "Refund in your account").await?;
    browser
        .client
        .execute(
            "document.getElementById('promise-due').value = arguments[0];",
            vec![json!(due)],
        )
        .await?;
    click(&browser, "#reply-panel button[type=submit]").await?;
    let timeline = text_with(&browser, "#timeline", "Ada replied to the customer").await?;
    assert!(
        timeline.contains("Ada replied to the customer"),
        "{timeline}"
    );
    assert!(timeline.contains("Sorry! The refund is on its way."));
    assert!(timeline.contains("changed the status from New to Acknowledged"));
    let promises = text_with(&browser, "#promises", "Refund in your account").await?;
    assert!(promises.contains("Refund in your account") && promises.contains(&due));

    // The inbox no longer lists the customer as waiting.
    browser.client.goto(&format!("{url}/console")).await?;
    text_with(&browser, "main", "Nobody is waiting").await?;

    // The customer's status page, in Portuguese.
    browser
        .client
        .goto(&format!("{url}{}", entry.status_path()))
        .await?;
    let page = text_with(&browser, "main", "Confirmado").await?;
    assert!(page.contains("Confirmado"), "{page}");
    assert!(page.contains("Sorry! The refund is on its way."));
    assert!(page.contains("Refund in your account") && page.contains(&due));
    assert!(!page.contains("Ada"), "staff names stay inside");
    assert_accessible(&browser.axe().await?, "the status page");

    // Staff resolve it; the customer says it is not solved, from the page.
    browser
        .client
        .goto(&format!("{url}/console/entries/{}", entry.public_id))
        .await?;
    assert_accessible(&browser.axe().await?, "an entry page");
    browser
        .client
        .execute(
            "document.getElementById('status').value = 'resolved';",
            vec![],
        )
        .await?;
    click(&browser, "form[action$='/status'] button").await?;
    text_with(&browser, ".notice", "Status changed").await?;
    browser
        .client
        .goto(&format!("{url}{}", entry.status_path()))
        .await?;
    text_with(&browser, "section.add", "Reabrir e enviar").await?;
    // A person reads before answering (the form refuses a reply in under
    // two seconds as a script's).
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    fill(&browser, "#message", "Ainda não recebi o reembolso.").await?;
    click(&browser, "section.add button[type=submit]").await?;
    let page = text_with(&browser, "main", "foi acrescentada").await?;
    assert!(page.contains("Em andamento"), "reopened: {page}");
    assert!(page.contains("Ainda não recebi o reembolso."));

    // Back in "Needs a response", marked; j and o open it from the keyboard.
    browser.client.goto(&format!("{url}/console")).await?;
    let row = text_with(&browser, "table.inbox tbody tr", "wrote again").await?;
    assert!(row.contains(&entry.reference), "{row}");
    assert_accessible(&browser.axe().await?, "the inbox");
    press_keys(&browser, "jo").await?;
    let timeline = text_with(&browser, "#timeline", "wrote again from their status page").await?;
    assert!(timeline.contains("Ainda não recebi o reembolso."));
    assert!(timeline.contains("The customer changed the status from Resolved to In progress"));
    press_keys(&browser, "?").await?;
    text_with(&browser, "dialog.shortcuts", "Keyboard shortcuts").await?;

    // An invitation waits, so the Staff page below is checked with its
    // line and Withdraw button.
    browser.client.goto(&format!("{url}/console/staff")).await?;
    fill(&browser, "#invite-email", "cy@example.com").await?;
    click(&browser, "form[action='/console/staff/invite'] button").await?;
    text_with(&browser, "ul.invites", "cy@example.com as agent").await?;
    // And a session elsewhere (a second device), so "Your account" is
    // checked with its list and its "Sign out everywhere else".
    let store = &collector.running.store;
    let ada = store
        .user_by_email("ada@example.com".into())
        .await?
        .ok_or("Ada has an account")?;
    let now = earshot_collector::clock::system_millis();
    store
        .create_session(vec![7; 32], ada.id, "elsewhere".into(), now, None)
        .await?;
    browser
        .client
        .goto(&format!("{url}/console/account"))
        .await?;
    text_with(&browser, "main", "Sign out everywhere else").await?;

    // The customer writes again about something else: the entry page is
    // checked with "Also from this customer", and the inbox it links to.
    feedback(
        &collector,
        json!({"kind": "complaint", "message": "And the invoice is wrong",
               "email": " ANA@example.com"}),
    )
    .await?;
    let entry_page = format!("/console/entries/{}", entry.public_id);
    browser.client.goto(&format!("{url}{entry_page}")).await?;
    text_with(&browser, "#same-customer", "1 other entry").await?;
    assert_accessible(
        &browser.axe().await?,
        "an entry with the customer's other feedback",
    );
    click(&browser, "#same-customer a[href*='customer=']").await?;
    let listed = text_with(&browser, "table.inbox", "And the invoice is wrong").await?;
    assert!(listed.contains("A refund within 5 days"), "{listed}");
    text_with(&browser, "main", "Only feedback from the customer who sent").await?;
    assert_accessible(&browser.axe().await?, "one customer's feedback");

    // Every other console page an administrator uses, checked the same way.
    for path in ADMIN_PAGES {
        browser.client.goto(&format!("{url}{path}")).await?;
        text_with(&browser, "main", "").await?;
        assert_accessible(&browser.axe().await?, path);
        assert_scroll_boxes_stop_only_when_they_scroll(&browser, path).await?;
    }

    // On a phone every page fits the screen's width: a wide table scrolls
    // in a box of its own, the inbox becomes a list of cards.
    browser.client.set_window_size(360, 740).await?;
    for path in ["/console", entry_page.as_str()]
        .into_iter()
        .chain(ADMIN_PAGES)
    {
        browser.client.goto(&format!("{url}{path}")).await?;
        text_with(&browser, "main", "").await?;
        let sideways = browser
            .client
            .execute(
                "const d = document.documentElement; return d.scrollWidth - d.clientWidth;",
                vec![],
            )
            .await?;
        assert_eq!(sideways, json!(0), "{path} scrolls sideways on a phone");
        // The header leaves the screen to the page (it took 270 px when
        // the pages wrapped), and the current page is in view in its row.
        let header = browser
            .client
            .execute(
                "const nav = document.querySelector('header.top nav').getBoundingClientRect();
                 const here = document.querySelector('header.top nav [aria-current=page]');
                 const r = here && here.getBoundingClientRect();
                 return {
                   height: Math.round(document.querySelector('header.top').getBoundingClientRect().height),
                   current_in_view: !r || (r.left >= nav.left - 1 && r.right <= nav.right + 1),
                 };",
                vec![],
            )
            .await?;
        let height = header["height"].as_i64().unwrap_or(i64::MAX);
        assert!(
            height <= 100,
            "{path}: the header is {height} px tall on a phone"
        );
        assert_eq!(
            header["current_in_view"],
            json!(true),
            "{path}: current page out of view"
        );
        assert_accessible(&browser.axe().await?, path);
        assert_scroll_boxes_stop_only_when_they_scroll(&browser, path).await?;
    }

    // The inbox's filters fold on a phone, so the list starts on the first
    // screen; a filter in use keeps them open.
    browser
        .client
        .goto(&format!("{url}/console?view=all"))
        .await?;
    let folded = browser
        .client
        .execute(
            "const row = document.querySelector('table.inbox tbody tr');
             return {
               row_on_first_screen: !!row && row.getBoundingClientRect().top < innerHeight,
               kind_shown: !!document.querySelector('select[name=kind]').offsetParent,
               expanded: document.querySelector('button.fold').getAttribute('aria-expanded'),
             };",
            vec![],
        )
        .await?;
    assert_eq!(
        folded,
        json!({"row_on_first_screen": true, "kind_shown": false, "expanded": "false"})
    );
    click(&browser, "button.fold").await?;
    let kind_shown = "return !!document.querySelector('select[name=kind]').offsetParent;";
    assert_eq!(
        browser.client.execute(kind_shown, vec![]).await?,
        json!(true)
    );
    browser
        .client
        .goto(&format!("{url}/console?view=all&kind=complaint"))
        .await?;
    assert_eq!(
        browser.client.execute(kind_shown, vec![]).await?,
        json!(true)
    );

    browser.close().await;
    collector.running.stop().await?;
    Ok(())
}

/// A table's scroll box takes a keyboard stop exactly when it has
/// something to scroll.
async fn assert_scroll_boxes_stop_only_when_they_scroll(
    browser: &Browser,
    path: &str,
) -> TestResult {
    let wrong = browser
        .client
        .execute(
            "return [...document.querySelectorAll('.scrolls')]
               .filter(b => (b.scrollWidth > b.clientWidth) !== b.hasAttribute('tabindex'))
               .map(b => b.getAttribute('aria-label'));",
            vec![],
        )
        .await?;
    assert_eq!(
        wrong,
        json!([]),
        "{path}: scroll boxes with the wrong keyboard stop"
    );
    Ok(())
}

fn assert_accessible(violations: &[String], page: &str) {
    assert!(
        violations.is_empty(),
        "axe found violations on {page}:\n{}",
        violations.join("\n")
    );
}

/// Types `keys` as key presses to the page (not into a field).
async fn press_keys(browser: &Browser, keys: &str) -> TestResult {
    use fantoccini::actions::{InputSource, KeyAction, KeyActions};
    let actions = keys
        .chars()
        .fold(KeyActions::new("shortcuts".into()), |a, c| {
            a.then(KeyAction::Down { value: c })
                .then(KeyAction::Up { value: c })
        });
    browser.client.perform_actions(actions).await?;
    Ok(())
}

#[tokio::test]
async fn hostile_customer_text_is_shown_verbatim_and_never_runs() -> TestResult {
    let _serial = BROWSER_LOCK.lock().await;
    let collector = Collector::start().await?;
    let hostile = r#"<script>window.pwned=1</script><img src=x onerror="window.pwned=2"><svg onload="window.pwned=3">"#;
    let entry = feedback(
        &collector,
        json!({"kind": "complaint", "message": hostile, "name": "<i onmouseover=\"window.pwned=4\">Eve</i>",
               "page": {"url": "https://shop.example/\"><script>window.pwned=5</script>"}}),
    )
    .await?;
    let browser = Browser::start().await?;
    let url = collector.url();
    set_up_first_admin(&browser, &collector).await?;

    let pages = [
        (format!("{url}/console"), "td.words a"),
        (
            format!("{url}/console/entries/{}", entry.public_id),
            "section.words p",
        ),
        (format!("{url}{}", entry.status_path()), "p.words"),
    ];
    for (page, css) in pages {
        browser.client.goto(&page).await?;
        let shown = text(&browser, css).await?;
        assert_eq!(shown, hostile, "{page}: the customer's words, verbatim");
        // Give any injected handler a chance to fire, then look for effects.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let pwned = browser
            .client
            .execute("return typeof window.pwned", vec![])
            .await?;
        assert_eq!(pwned, json!("undefined"), "{page}: nothing executed");
        let injected = browser
            .client
            .execute(
                "return document.querySelectorAll('main script, main img, main svg, main [onerror], main [onload], main [onmouseover]').length",
                vec![],
            )
            .await?;
        assert_eq!(injected, json!(0), "{page}: no customer markup in the DOM");
    }
    browser.close().await;
    collector.running.stop().await?;
    Ok(())
}

/// Times read in the colleague's own time zone where the console's script
/// runs (the server knows none and writes UTC, kept on hover), and in the
/// customer's on their status page, under its strict CSP.
#[tokio::test]
async fn times_are_shown_in_the_readers_time_zone_with_utc_on_hover() -> TestResult {
    let _serial = BROWSER_LOCK.lock().await;
    let collector = Collector::start().await?;
    // 2026-11-22 12:00 UTC, 17:30 in India (which has no summer time).
    let at = 1_795_348_800_000;
    let entry = feedback_at(
        &collector,
        json!({"kind": "idea", "message": "Gift wrapping, please"}),
        at,
    )
    .await?;
    assert_eq!(
        earshot_collector::clock::timestamp(at),
        "2026-11-22 12:00 UTC"
    );
    let browser = Browser::start_in_time_zone("Asia/Kolkata").await?;
    set_up_first_admin(&browser, &collector).await?;
    let shown = |css: &'static str| {
        let browser = &browser;
        async move {
            browser
                .client
                .execute(
                    "const t = document.querySelector(arguments[0]);
                     return [t.textContent, t.title];",
                    vec![css.into()],
                )
                .await
        }
    };
    browser
        .client
        .goto(&format!(
            "{}/console/entries/{}",
            collector.url(),
            entry.public_id
        ))
        .await?;
    text(&browser, "ol.timeline").await?;
    assert_eq!(
        shown("ol.timeline time").await?,
        json!(["2026-11-22 17:30 GMT+5:30", "2026-11-22 12:00 UTC"])
    );
    // An age keeps its words; its exact time on hover is the reader's too.
    let age = shown("p.meta time").await?;
    assert_eq!(age[1], "2026-11-22 17:30 GMT+5:30", "{age}");
    assert!(age[0].as_str().is_some_and(|t| t.ends_with("ago")), "{age}");
    // The digest's hours are UTC hours; each says when that is here.
    browser
        .client
        .goto(&format!("{}/console/notifications", collector.url()))
        .await?;
    assert_eq!(
        text(&browser, "select#digest option[value='8']").await?,
        "08:00 (13:30 your time)"
    );
    browser
        .client
        .goto(&format!("{}{}", collector.url(), entry.status_path()))
        .await?;
    text(&browser, "main").await?;
    browser
        .until_script_returns(
            "const t = document.querySelector('time');
             return [t.textContent, t.title];",
            vec![],
            json!(["2026-11-22 17:30 GMT+5:30", "2026-11-22 12:00 UTC"]),
        )
        .await?;
    browser.close().await;
    collector.running.stop().await?;
    Ok(())
}
