use yew::prelude::*;

use crate::strings;

#[derive(Properties, PartialEq)]
pub struct QueuedNoticeProps {
    pub rate_limited: bool,
    /// When the next attempt is due (ms since the epoch).
    pub retry_at: f64,
    pub onretry: Callback<()>,
    pub onanother: Callback<()>,
    pub onclose: Callback<()>,
}

/// Says honestly that nothing was sent yet, and that nothing is lost.
#[function_component(QueuedNotice)]
pub fn queued_notice(props: &QueuedNoticeProps) -> Html {
    let message = if props.rate_limited {
        let wait = (props.retry_at - js_sys::Date::now()) / 1_000.0;
        format!(
            "{}{}",
            strings::QUEUED_RATE_LIMITED,
            strings::retry_in(wait)
        )
    } else {
        strings::QUEUED_OFFLINE.to_owned()
    };
    html! {
        <div class="queued" role="status">
            <p class="saved">{ strings::QUEUED_TITLE }</p>
            <p class="explain">{ message }</p>
            <div class="actions">
                <button type="button" class="secondary retry" onclick={props.onretry.reform(|_: MouseEvent| ())}>
                    { strings::TRY_NOW }</button>
                <button type="button" class="secondary" onclick={props.onanother.reform(|_: MouseEvent| ())}>
                    { strings::ANOTHER }</button>
                <button type="button" class="primary" onclick={props.onclose.reform(|_: MouseEvent| ())}>
                    { strings::CLOSE }</button>
            </div>
        </div>
    }
}
