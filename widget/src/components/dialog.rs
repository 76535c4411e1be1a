use earshot_protocol::{Kind, Severity, limits};
use wasm_bindgen::JsCast;
use yew::prelude::*;

use crate::components::{KindPicker, QueuedNotice, SentNotice, SeverityPicker, TextField};
use crate::hooks::use_modal;
use crate::state::{Focus, Input, Phase, State};
use crate::strings::Key;

#[derive(Properties, PartialEq)]
pub struct FeedbackDialogProps {
    pub state: UseReducerHandle<State>,
    pub onkind: Callback<Kind>,
    pub onseverity: Callback<Option<Severity>>,
    /// A file was picked (`None`: the screenshot was removed).
    pub onscreenshot: Callback<Option<web_sys::File>>,
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
    let t = state.strings.clone();
    let dialog = use_modal(state.open);
    {
        // Carries out the state's focus request once the DOM shows it.
        let dialog = dialog.clone();
        let (seq, to) = state.focus.clone();
        use_effect_with(seq, move |_| {
            let selector = match &to {
                Focus::Stay => None,
                Focus::FirstField => Some("[data-first]".to_owned()),
                Focus::Field(field) => Some(format!("#{field}")),
                Focus::General => Some(".error.general".to_owned()),
                Focus::Receipt => Some("#earshot-receipt".to_owned()),
            };
            if let (Some(selector), Some(dialog)) = (selector, dialog.cast::<web_sys::Element>())
                && let Ok(Some(target)) = dialog.query_selector(&selector)
                && let Ok(target) = target.dyn_into::<web_sys::HtmlElement>()
            {
                let _ = target.focus();
            }
        });
    }
    let oncancel = props.onclose.reform(|e: Event| e.prevent_default());
    let onclose = props.onclose.reform(|_: Event| ());
    let close_click = props.onclose.reform(|_: MouseEvent| ());
    let onkeydown = {
        let dialog = dialog.clone();
        Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Tab"
                && let Some(dialog) = dialog.cast::<web_sys::Element>()
            {
                trap_focus(&dialog, &e);
            }
        })
    };

    // The folded fields are built the first time they unfold, not before:
    // a cold first render and the dialog's first layout are most of a
    // click's time, and these (a file picker among them) are a quarter of
    // the form. Once built they stay, folded or not.
    let unfolded = use_state_eq(|| false);
    let ontoggle = {
        let unfolded = unfolded.clone();
        Callback::from(move |_: Event| unfolded.set(true))
    };
    let body = match &state.phase {
        Phase::Sent(accepted) => html! {
            <SentNotice strings={t.clone()} upload={state.upload} accepted={accepted.clone()} onanother={props.onanother.clone()}
                onclose={props.onclose.clone()} />
        },
        Phase::Queued {
            rate_limited,
            retry_at,
            saved,
        } => html! {
            <QueuedNotice strings={t.clone()} with_screenshot={state.screenshot.is_some()} rate_limited={*rate_limited} retry_at={*retry_at} saved={*saved}
                onretry={props.onretry.clone()} onanother={props.onanother.clone()}
                onclose={props.onclose.clone()} />
        },
        phase => {
            let draft = &state.draft;
            let sending = *phase == Phase::Sending;
            // Three fields for an expectation mismatch: two lines each, so
            // Send stays in view; each grows as the customer types.
            let rows = if draft.kind == Kind::Expectation {
                2
            } else {
                4
            };
            let field = |id: &'static str,
                         label: &str,
                         input: Input,
                         value: &str,
                         max: usize,
                         required: bool| {
                let onedit = props.onedit.clone();
                html! {
                    <TextField id={id} label={AttrValue::from(label.to_owned())} value={value.to_owned()} max={max} multiline=true
                        required={required} rows={rows}
                        error={state.error_for(input).map(|e| AttrValue::from(e.to_owned()))}
                        oninput={Callback::from(move |v| onedit.emit((input, v)))} />
                }
            };
            let onsubmit = props.onsubmit.reform(|e: SubmitEvent| e.prevent_default());
            let onname = {
                let onedit = props.onedit.clone();
                Callback::from(move |v| onedit.emit((Input::Name, v)))
            };
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
            let general_error = state.general_error().map(str::to_owned);
            let details_open = !draft.email.trim().is_empty()
                || !draft.name.trim().is_empty()
                || state.screenshot.is_some()
                || [Input::Email, Input::Name, Input::Screenshot]
                    .into_iter()
                    .any(|i| state.error_for(i).is_some());
            html! {
                <form class="form" novalidate=true {onsubmit}>
                    <KindPicker strings={t.clone()} selected={draft.kind} onselect={props.onkind.clone()} />
                    if draft.kind == Kind::Expectation {
                        { field("expected", t.get(Key::Expected), Input::Expected, &draft.expected, limits::EXPECTED_MAX, true) }
                        { field("actual", t.get(Key::Actual), Input::Actual, &draft.actual, limits::ACTUAL_MAX, true) }
                        { field("message", t.get(Key::Extra), Input::Message, &draft.message, limits::MESSAGE_MAX, false) }
                    } else {
                        { field("message", t.get(Key::Message), Input::Message, &draft.message, limits::MESSAGE_MAX, true) }
                    }
                    if draft.kind.takes_severity() {
                        <SeverityPicker strings={t.clone()} selected={draft.severity} onselect={props.onseverity.clone()} />
                    }
                    // Optional extras fold away so Send is in view without
                    // scrolling; open when any is filled in or refused.
                    <details class="more" open={details_open} ontoggle={ontoggle}>
                        <summary>{ t.get(Key::AddDetails).to_owned() }</summary>
                        if details_open || *unfolded {
                            <TextField id="email" label={AttrValue::from(t.get(Key::Email).to_owned())} value={draft.email.clone()}
                                max={limits::EMAIL_MAX} input_type="email" autocomplete={AttrValue::from("email")}
                                error={state.error_for(Input::Email).map(|e| AttrValue::from(e.to_owned()))}
                                oninput={onemail} />
                            <TextField id="name" label={AttrValue::from(t.get(Key::Name).to_owned())} value={draft.name.clone()}
                                max={limits::NAME_MAX} autocomplete={AttrValue::from("name")}
                                error={state.error_for(Input::Name).map(|e| AttrValue::from(e.to_owned()))}
                                oninput={onname} />
                            { screenshot_field(state, &t, &props.onscreenshot) }
                        }
                    </details>
                    <p class="included"><strong>{ t.get(Key::Included).to_owned() }</strong>{ ": " }
                        { t.get(Key::IncludedList).to_owned() }
                        if !state.host_context.is_empty() {
                            { " (+ " }{ listed(&state.host_context) }{ ")" }
                        }
                    </p>
                    // Invisible to people (and to assistive technology); bots fill it in.
                    <div class="hp" aria-hidden="true">
                        <label>{ "Website" }
                            <input type="text" name="website" tabindex="-1" autocomplete="off"
                                value={draft.honeypot.clone()} oninput={onhoneypot} />
                        </label>
                    </div>
                    if let Some(message) = general_error {
                        <p class="error general" role="alert" tabindex="-1">{ message }</p>
                    }
                    <div class="actions">
                        <button type="submit" class="primary send" disabled={sending} aria-busy={if sending { "true" } else { "false" }}>
                            { t.get(if sending { Key::Sending } else { Key::Send }).to_owned() }
                        </button>
                    </div>
                </form>
            }
        }
    };

    // `dir="auto"`: the dialog reads in the direction of its own words (its
    // title's first letter), not the page's: English on a Hebrew page left
    // to right, a host's Hebrew strings right to left on any page.
    html! {
        <dialog class="dialog" ref={dialog} role="dialog" aria-modal="true" {onkeydown} lang={t.get(Key::Lang).to_owned()} dir="auto" aria-labelledby="earshot-title" {oncancel} {onclose}>
            // The content scrolls inside the dialog, not the dialog itself:
            // Firefox draws a scrolling box's scrollbar over its rounded
            // corner.
            <div class="scroller">
                // Not a <header>: inside the dialog it would be a second
                // banner landmark beside the host page's own.
                <div class="head">
                    <h2 id="earshot-title">{ t.get(Key::Title).to_owned() }</h2>
                    <button type="button" class="close" aria-label={t.get(Key::Close).to_owned()} onclick={close_click}>{ "×" }</button>
                </div>
                { body }
            </div>
        </dialog>
    }
}

/// What Tab can reach inside the dialog (the honeypot opts out with -1).
const FOCUSABLE: &str =
    "button:not([disabled]), input:not([tabindex='-1']), textarea, a[href], select";

/// A modal `<dialog>` makes the page inert, but Tab past its last control
/// still leaves for the browser's own interface; wrap around instead, so a
/// keyboard user stays in the form until they close it.
fn trap_focus(dialog: &web_sys::Element, e: &KeyboardEvent) {
    let Ok(nodes) = dialog.query_selector_all(FOCUSABLE) else {
        return;
    };
    let (Some(first), Some(last)) = (nodes.get(0), nodes.get(nodes.length().saturating_sub(1)))
    else {
        return;
    };
    let Some(target) = e.target().and_then(|t| t.dyn_into::<web_sys::Node>().ok()) else {
        return;
    };
    let to = match (e.shift_key(), target) {
        (false, t) if t == last => first,
        (true, t) if t == first => last,
        _ => return,
    };
    if let Ok(to) = to.dyn_into::<web_sys::HtmlElement>() {
        e.prevent_default();
        let _ = to.focus();
    }
}

/// "Add a screenshot": a file picker, or the chosen file with Remove.
fn screenshot_field(
    state: &State,
    t: &crate::strings::Strings,
    onscreenshot: &Callback<Option<web_sys::File>>,
) -> Html {
    let error = state.error_for(Input::Screenshot).map(str::to_owned);
    let onchange = onscreenshot.reform(|e: Event| {
        let input = e.target_unchecked_into::<web_sys::HtmlInputElement>();
        let file = input.files().and_then(|files| files.get(0));
        // Cleared, so picking the same file again after Remove still fires.
        input.set_value("");
        file
    });
    let onremove = onscreenshot.reform(|_: MouseEvent| None);
    html! {
        <div class={classes!("field", error.is_some().then_some("has-error"))}>
            <label for="screenshot">{ t.get(Key::Screenshot).to_owned() }</label>
            if let Some(chosen) = &state.screenshot {
                <p class="chosen">{ format!("{} ({} KB) ", chosen.name, chosen.kb) }
                    <button type="button" class="secondary remove" onclick={onremove}>
                        { t.get(Key::RemoveScreenshot).to_owned() }</button>
                </p>
            } else {
                <input type="file" id="screenshot" accept="image/png,image/jpeg,image/webp,image/gif"
                    aria-describedby="screenshot-error" {onchange} />
            }
            <p class="error" id="screenshot-error" role="alert">{ error.unwrap_or_default() }</p>
        </div>
    }
}

/// The host's context keys as the customer reads them: `plan, cart`.
/// Pushed one by one: `join` would bring its own copy loop along.
fn listed(context: &[(String, String)]) -> String {
    let mut out = String::new();
    for (key, _) in context {
        if !out.is_empty() {
            out.push_str(", ");
        }
        out.push_str(key);
    }
    out
}
