use earshot_protocol::Kind;
use yew::prelude::*;

use crate::api::{self, SubmitError};
use crate::components::{FeedbackDialog, Launcher};
use crate::config::WidgetConfig;
use crate::context;
use crate::state::{Action, Input, Phase, State};
use crate::strings;

#[derive(Properties, PartialEq)]
pub struct AppProps {
    pub config: WidgetConfig,
}

/// Fresh random key for a new draft; `None` only in browsers without
/// `crypto.randomUUID`, where the collector then cannot de-duplicate.
fn new_idempotency_key() -> Option<String> {
    let crypto = web_sys::window()?.crypto().ok()?;
    Some(crypto.random_uuid())
}

#[function_component(App)]
pub fn app(props: &AppProps) -> Html {
    let state = use_reducer(State::default);
    let config = &props.config;

    let onopen = {
        let state = state.clone();
        Callback::from(move |()| state.dispatch(Action::Open(js_sys::Date::now())))
    };
    let onclose = {
        let state = state.clone();
        Callback::from(move |()| state.dispatch(Action::Close))
    };
    let onkind = {
        let state = state.clone();
        Callback::from(move |kind: Kind| state.dispatch(Action::SetKind(kind)))
    };
    let onedit = {
        let state = state.clone();
        Callback::from(move |(input, value): (Input, String)| {
            state.dispatch(Action::Edit(input, value))
        })
    };
    let onanother = {
        let state = state.clone();
        Callback::from(move |()| state.dispatch(Action::StartOver))
    };
    let onsubmit = {
        let state = state.clone();
        let config = config.clone();
        Callback::from(move |()| {
            if state.phase == Phase::Sending {
                return;
            }
            let key = state
                .draft
                .idempotency_key
                .clone()
                .or_else(new_idempotency_key)
                .unwrap_or_default();
            let (page, client) = context::capture(&config);
            let request = match state.request(&config.site, &key, js_sys::Date::now(), page, client)
            {
                Ok(request) => request,
                Err(error) => return state.dispatch(Action::Rejected(error)),
            };
            state.dispatch(Action::Sending {
                idempotency_key: key,
            });
            let state = state.clone();
            let url = config.feedback_url();
            wasm_bindgen_futures::spawn_local(async move {
                let action = match api::submit(&url, &request).await {
                    Ok(accepted) => Action::Sent(accepted),
                    Err(SubmitError::Rejected(error)) => Action::Rejected(error),
                    Err(SubmitError::RateLimited) => Action::RateLimited,
                    Err(SubmitError::Unreachable) => Action::Unreachable,
                };
                state.dispatch(action);
            });
        })
    };

    let label = config
        .label
        .clone()
        .unwrap_or_else(|| strings::LAUNCHER.to_owned());
    html! {
        <>
            <Launcher label={label} expanded={state.open} {onopen} />
            <FeedbackDialog state={state.clone()} {onkind} {onedit} {onsubmit} {onclose} {onanother} />
        </>
    }
}
