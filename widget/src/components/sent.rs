use earshot_protocol::FeedbackAccepted;
use yew::prelude::*;

use crate::strings;

#[derive(Properties, PartialEq)]
pub struct SentNoticeProps {
    pub accepted: FeedbackAccepted,
    pub onanother: Callback<()>,
    pub onclose: Callback<()>,
}

/// Confirmation with the reference the customer can quote.
#[function_component(SentNotice)]
pub fn sent_notice(props: &SentNoticeProps) -> Html {
    let a = &props.accepted;
    html! {
        <div class="sent" role="status">
            <p class="thanks">{ strings::THANKS }</p>
            <p>{ strings::REFERENCE }{ ": " }<strong class="reference">{ a.reference.clone() }</strong></p>
            <p><a class="status-link" href={a.status_url.clone()} target="_blank" rel="noopener noreferrer">
                { strings::STATUS_LINK }</a></p>
            <div class="actions">
                <button type="button" class="secondary" onclick={props.onanother.reform(|_: MouseEvent| ())}>
                    { strings::ANOTHER }</button>
                <button type="button" class="primary" onclick={props.onclose.reform(|_: MouseEvent| ())}>
                    { strings::CLOSE }</button>
            </div>
        </div>
    }
}
