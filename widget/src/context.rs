//! Context captured from the browser at send time. Every value is cut to the
//! server's limits here: the customer cannot fix an over-long page title, so
//! it must never be the reason a submission fails.

use earshot_protocol::{ClientInfo, PageInfo, limits};

use crate::config::WidgetConfig;

/// Cuts `s` to at most `max` characters.
pub fn truncate_chars(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// Keeps `url` only if the server will accept it (http(s), within limit).
pub fn http_url(url: &str) -> Option<String> {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    let is_http = lower.starts_with("http://") || lower.starts_with("https://");
    (is_http && url.chars().count() <= limits::URL_MAX).then(|| url.to_owned())
}

fn bounded(value: Option<String>, max: usize) -> Option<String> {
    value
        .map(|v| truncate_chars(v.trim(), max))
        .filter(|v| !v.is_empty())
}

/// The browser's IANA time zone, e.g. `Europe/Berlin`. Read when sending,
/// not when the dialog opens: a page's first `Intl.DateTimeFormat` loads
/// the browser's locale data, 40 ms of a cold open in Chromium, and a send
/// waits on the network anyway.
fn time_zone() -> Option<String> {
    let options = js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &js_sys::Object::new())
        .resolved_options();
    js_sys::Reflect::get(&options, &wasm_bindgen::JsValue::from_str("timeZone"))
        .ok()?
        .as_string()
}

/// What the page and the browser say right now.
pub fn capture(config: &WidgetConfig) -> (PageInfo, ClientInfo) {
    let window = web_sys::window();
    let user_agent = window
        .as_ref()
        .and_then(|w| w.navigator().user_agent().ok());
    let document = window.as_ref().and_then(|w| w.document());
    let url = window.as_ref().and_then(|w| w.location().href().ok());
    let viewport = window.as_ref().and_then(|w| {
        // CSS pixels are whole numbers here; integers also keep float
        // formatting (several KB of WebAssembly) out of the widget.
        let width = w.inner_width().ok()?.as_f64()? as u32;
        let height = w.inner_height().ok()?.as_f64()? as u32;
        Some(format!("{width}x{height}"))
    });
    let page = PageInfo {
        url: url.as_deref().and_then(http_url),
        title: bounded(document.as_ref().map(|d| d.title()), limits::TITLE_MAX),
        referrer: document.as_ref().and_then(|d| http_url(&d.referrer())),
    };
    let client = ClientInfo {
        user_agent: bounded(user_agent, limits::USER_AGENT_MAX),
        language: bounded(config.language.clone(), limits::LANGUAGE_MAX),
        timezone: bounded(time_zone(), limits::TIMEZONE_MAX),
        viewport: bounded(viewport, limits::VIEWPORT_MAX),
    };
    (page, client)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_urls_are_kept() {
        assert_eq!(
            http_url("https://shop.example/a"),
            Some("https://shop.example/a".into())
        );
        assert_eq!(
            http_url("HTTP://shop.example"),
            Some("HTTP://shop.example".into())
        );
        assert_eq!(http_url("file:///home/me/index.html"), None);
        assert_eq!(http_url(""), None);
        assert_eq!(
            http_url(&format!("https://x.example/{}", "a".repeat(3000))),
            None
        );
    }

    #[test]
    fn bounded_trims_and_cuts_by_characters() {
        assert_eq!(bounded(Some("  ünï  ".into()), 2), Some("ün".into()));
        assert_eq!(bounded(Some("   ".into()), 10), None);
    }
}
