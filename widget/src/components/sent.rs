use earshot_protocol::FeedbackAccepted;
use yew::prelude::*;

use std::rc::Rc;

use crate::state::Upload;
use crate::strings::{Key, Strings};

#[derive(Properties, PartialEq)]
pub struct SentNoticeProps {
    pub strings: Rc<Strings>,
    pub accepted: FeedbackAccepted,
    /// How the screenshot's upload is going, if there was one.
    pub upload: Option<Upload>,
    pub onanother: Callback<()>,
    pub onclose: Callback<()>,
}

/// Confirmation with the reference the customer can quote.
#[function_component(SentNotice)]
pub fn sent_notice(props: &SentNoticeProps) -> Html {
    let a = &props.accepted;
    let t = &props.strings;
    html! {
        <div class="sent" role="status">
            // Focus lands here after sending (tabindex -1: focusable by
            // script, not a tab stop), so a screen reader reads the receipt.
            <h3 id="earshot-receipt" class="thanks" tabindex="-1">{ t.get(Key::Thanks).to_owned() }</h3>
            <p>{ t.get(Key::Reference).to_owned() }{ ": " }<strong class="reference">{ a.reference.clone() }</strong></p>
            <p><a class="status-link" href={a.status_url.clone()} target="_blank" rel="noopener noreferrer">
                { t.get(Key::StatusLink).to_owned() }</a></p>
            if let Some(upload) = props.upload {
                <p class="upload">{ t.get(match upload {
                    Upload::Sending => Key::Uploading,
                    Upload::Attached => Key::Attached,
                    Upload::Failed => Key::AttachFailed,
                }).to_owned() }</p>
            }
            if let Some(promise) = &a.response_promise {
                <p class="promise"><strong>{ t.get(Key::PromiseIntro).to_owned() }</strong>{ " " }{ promise.clone() }</p>
            }
            <div class="actions">
                <button type="button" class="secondary" onclick={props.onanother.reform(|_: MouseEvent| ())}>
                    { t.get(Key::Another).to_owned() }</button>
                <button type="button" class="primary" onclick={props.onclose.reform(|_: MouseEvent| ())}>
                    { t.get(Key::Close).to_owned() }</button>
            </div>
        </div>
    }
}
