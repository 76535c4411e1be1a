use earshot_protocol::{Kind, limits};
use yew::prelude::*;

use crate::components::{KindPicker, QueuedNotice, SentNotice, TextField};
use crate::hooks::use_modal;
use crate::state::{Input, Phase, State};
use crate::strings;

#[derive(Properties, PartialEq)]
pub struct FeedbackDialogProps {
    pub state: UseReducerHandle<State>,
    pub onkind: Callback<Kind>,
    pub onedit: Callback<(Input, String)>,
    pub onsubmit: Callback<()>,
    pub onclose: Callback<()>,
    pub onanother: Callback<()>,
    /// "Try now" while a submission waits in the outbox.
    pub onretry: Callback<()>,
}

/// The modal feedback form, or the confirmation once sent.
#[function_component(FeedbackDialog)]
pub fn feedback_dialog(props: &FeedbackDialogProps) -> Html {
    let state = &*props.state;
    let dialog = use_modal(state.open);
    let oncancel = props.onclose.reform(|e: Event| e.prevent_default());
    let onclose = props.onclose.reform(|_: Event| ());
    let close_click = props.onclose.reform(|_: MouseEvent| ());

    let body = match &state.phase {
        Phase::Sent(accepted) => html! {
            <SentNotice accepted={accepted.clone()} onanother={props.onanother.clone()}
                onclose={props.onclose.clone()} />
        },
        Phase::Queued {
            rate_limited,
            retry_at,
        } => html! {
            <QueuedNotice rate_limited={*rate_limited} retry_at={*retry_at}
                onretry={props.onretry.clone()} onanother={props.onanother.clone()}
                onclose={props.onclose.clone()} />
        },
        phase => {
            let draft = &state.draft;
            let sending = *phase == Phase::Sending;
            let field = |id: &'static str,
                         label: &'static str,
                         input: Input,
                         value: &str,
                         max: usize,
                         required: bool| {
                let onedit = props.onedit.clone();
                html! {
                    <TextField id={id} label={label} value={value.to_owned()} max={max} multiline=true
                        required={required}
                        error={state.error_for(input).map(|e| AttrValue::from(e.to_owned()))}
                        oninput={Callback::from(move |v| onedit.emit((input, v)))} />
                }
            };
            let onsubmit = props.onsubmit.reform(|e: SubmitEvent| e.prevent_default());
            let onemail = {
                let onedit = props.onedit.clone();
                Callback::from(move |v| onedit.emit((Input::Email, v)))
            };
            let onhoneypot = {
                let onedit = props.onedit.clone();
                Callback::from(move |e: InputEvent| {
                    let value = e
                        .target_unchecked_into::<web_sys::HtmlInputElement>()
                        .value();
                    onedit.emit((Input::Honeypot, value))
                })
            };
            let general_error = match phase {
                Phase::Failed { message } => Some(message.clone()),
                Phase::Invalid {
                    field: None,
                    message,
                } => Some(message.clone()),
                _ => None,
            };
            html! {
                <form class="form" novalidate=true {onsubmit}>
                    <KindPicker selected={draft.kind} onselect={props.onkind.clone()} />
                    if draft.kind == Kind::Expectation {
                        { field("expected", strings::EXPECTED, Input::Expected, &draft.expected, limits::EXPECTED_MAX, true) }
                        { field("actual", strings::ACTUAL, Input::Actual, &draft.actual, limits::ACTUAL_MAX, true) }
                        { field("message", strings::EXTRA, Input::Message, &draft.message, limits::MESSAGE_MAX, false) }
                    } else {
                        { field("message", strings::MESSAGE, Input::Message, &draft.message, limits::MESSAGE_MAX, true) }
                    }
                    <TextField id="email" label={strings::EMAIL} value={draft.email.clone()}
                        max={limits::EMAIL_MAX} input_type="email" autocomplete={AttrValue::from("email")}
                        error={state.error_for(Input::Email).map(|e| AttrValue::from(e.to_owned()))}
                        oninput={onemail} />
                    // Invisible to people (and to assistive technology); bots fill it in.
                    <div class="hp" aria-hidden="true">
                        <label>{ "Website" }
                            <input type="text" name="website" tabindex="-1" autocomplete="off"
                                value={draft.honeypot.clone()} oninput={onhoneypot} />
                        </label>
                    </div>
                    if let Some(message) = general_error {
                        <p class="error general" role="alert">{ message }</p>
                    }
                    <div class="actions">
                        <button type="submit" class="primary send" disabled={sending} aria-busy={sending.to_string()}>
                            { if sending { strings::SENDING } else { strings::SEND } }
                        </button>
                    </div>
                </form>
            }
        }
    };

    html! {
        <dialog class="dialog" ref={dialog} aria-labelledby="earshot-title" {oncancel} {onclose}>
            <header>
                <h2 id="earshot-title">{ strings::TITLE }</h2>
                <button type="button" class="close" aria-label={strings::CLOSE} onclick={close_click}>{ "×" }</button>
            </header>
            { body }
        </dialog>
    }
}
