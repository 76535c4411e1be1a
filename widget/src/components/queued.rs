use yew::prelude::*;

use std::rc::Rc;

use crate::strings::{Key, Strings};

#[derive(Properties, PartialEq)]
pub struct QueuedNoticeProps {
    pub strings: Rc<Strings>,
    pub rate_limited: bool,
    /// A screenshot waits too; it cannot survive a reload.
    pub with_screenshot: bool,
    /// When the next attempt is due (ms since the epoch).
    pub retry_at: f64,
    /// Kept on the device; if not, it is said that only this page holds it.
    pub saved: bool,
    pub onretry: Callback<()>,
    pub onanother: Callback<()>,
    pub onclose: Callback<()>,
}

/// Says honestly that nothing was sent yet, and that nothing is lost.
#[function_component(QueuedNotice)]
pub fn queued_notice(props: &QueuedNoticeProps) -> Html {
    let t = &props.strings;
    // Refused for a while, the customer is told how long, saved or not.
    let message = match (props.saved, props.rate_limited) {
        (true, false) => t.get(Key::QueuedOffline).to_owned(),
        (false, false) => t.get(Key::QueuedHere).to_owned(),
        (saved, true) => {
            let key = if saved {
                Key::QueuedRateLimited
            } else {
                Key::QueuedHereRateLimited
            };
            let wait = (props.retry_at - js_sys::Date::now()) / 1_000.0;
            format!("{}{}", t.get(key), t.retry_in(wait))
        }
    };
    let title = if props.saved {
        Key::QueuedTitle
    } else {
        Key::QueuedHereTitle
    };
    html! {
        <div class="queued" role="status">
            <p class="saved">{ t.get(title).to_owned() }</p>
            <p class="explain">{ message }</p>
            if props.with_screenshot {
                <p class="volatile">{ t.get(Key::ScreenshotVolatile).to_owned() }</p>
            }
            <div class="actions">
                <button type="button" class="secondary retry" onclick={props.onretry.reform(|_: MouseEvent| ())}>
                    { t.get(Key::TryNow).to_owned() }</button>
                <button type="button" class="secondary" onclick={props.onanother.reform(|_: MouseEvent| ())}>
                    { t.get(Key::Another).to_owned() }</button>
                <button type="button" class="primary" onclick={props.onclose.reform(|_: MouseEvent| ())}>
                    { t.get(Key::Close).to_owned() }</button>
            </div>
        </div>
    }
}
