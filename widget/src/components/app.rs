use earshot_protocol::Kind;
use yew::prelude::*;

use crate::bridge::{Command, Commands, Host};
use crate::components::FeedbackDialog;
use crate::config::WidgetConfig;
use crate::context;
use crate::courier::Courier;
use crate::keys;
use crate::state::{Action, Input, Phase, Screenshot, State, check_image};
use crate::storage;
use crate::strings::{Lang, Strings};

#[derive(Properties, PartialEq)]
pub struct AppProps {
    pub config: WidgetConfig,
    /// Calls from `window.Earshot`, including those made before loading.
    pub commands: Commands,
    pub host: Host,
}

/// Fresh key for a new draft, time-ordered (see [`keys::uuid_v7`]). From
/// `crypto.getRandomValues`, not `crypto.randomUUID`: the latter exists
/// only in secure contexts, and on a plain-http page (an intranet) calling
/// it throws, so nothing is sent.
fn new_idempotency_key() -> Option<String> {
    let crypto = web_sys::window()?.crypto().ok()?;
    let mut bytes = [0u8; 16];
    crypto.get_random_values_with_u8_array(&mut bytes).ok()?;
    // `as` saturates: a clock before 1970 gives 0, a key still unique by its
    // random bits, only out of order.
    Some(keys::uuid_v7(js_sys::Date::now() as u64, bytes))
}

/// What a call from the host page does to the state.
fn command_actions(command: Command, mut dispatch: impl FnMut(Action)) {
    match command {
        Command::Open { kind, message } => {
            dispatch(Action::Prefill { kind, message });
            dispatch(Action::Open(js_sys::Date::now()));
        }
        Command::Close => dispatch(Action::Close),
        Command::Identify { email, name } => dispatch(Action::Identify { email, name }),
        Command::SetContext(entries) => dispatch(Action::SetContext(entries)),
        Command::SetStrings(entries) => dispatch(Action::SetStrings(entries)),
    }
}

#[function_component(App)]
pub fn app(props: &AppProps) -> Html {
    let config = &props.config;
    // The first render already shows what the page asked for (the click
    // that loaded us opens the dialog at once, with the earlier page's
    // draft in it): one render instead of a closed one and an open one,
    // which is most of the time from click to a field.
    let state = {
        let lang = Lang::pick(config.locale.as_deref(), config.language.as_deref());
        let (site, commands) = (config.site.clone(), props.commands.clone());
        use_reducer(move || {
            let mut state = State::new(Strings::new(lang));
            if let Some(draft) = storage::load(&site, storage::DRAFT) {
                state.apply(Action::Loaded(draft));
            }
            for command in commands.take_waiting() {
                command_actions(command, |action| state.apply(action));
            }
            state
        })
    };
    let courier = {
        let dispatch = state.dispatcher();
        let (site, url, host) = (
            config.site.clone(),
            config.feedback_url(),
            props.host.clone(),
        );
        use_memo((), move |_| Courier::new(&site, &url, dispatch, host))
    };

    // The chosen file itself; the state only knows its name and size.
    let file = use_mut_ref(|| None::<web_sys::File>);

    // Once: what the outbox still holds, and the host's later calls.
    {
        let (state, courier, commands) = (state.clone(), courier.clone(), props.commands.clone());
        use_effect_with((), move |_| {
            courier.start();
            commands.attach(Callback::from(move |command| {
                command_actions(command, |action| state.dispatch(action))
            }));
        });
    }
    // Every keystroke is kept: a reload or a crash of the tab loses nothing.
    {
        let site = config.site.clone();
        use_effect_with(state.draft.clone(), move |draft| {
            if draft.is_blank() && draft.idempotency_key.is_none() {
                storage::remove(&site, storage::DRAFT);
            } else {
                storage::save(&site, storage::DRAFT, draft);
            }
        });
    }
    {
        // The host hears of every change, and of a first render that opens.
        let host = props.host.clone();
        let first = use_mut_ref(|| true);
        use_effect_with(state.open, move |&open| {
            if !std::mem::replace(&mut *first.borrow_mut(), false) || open {
                host.opened(open);
            }
        });
    }

    let onclose = {
        let state = state.clone();
        Callback::from(move |()| state.dispatch(Action::Close))
    };
    let onkind = {
        let state = state.clone();
        Callback::from(move |kind: Kind| state.dispatch(Action::SetKind(kind)))
    };
    let onseverity = {
        let state = state.clone();
        Callback::from(move |severity| state.dispatch(Action::SetSeverity(severity)))
    };
    let onedit = {
        let state = state.clone();
        Callback::from(move |(input, value): (Input, String)| {
            state.dispatch(Action::Edit(input, value))
        })
    };
    let onanother = {
        let (state, file) = (state.clone(), file.clone());
        Callback::from(move |()| {
            *file.borrow_mut() = None;
            state.dispatch(Action::StartOver)
        })
    };
    let onscreenshot = {
        let (state, file) = (state.clone(), file.clone());
        Callback::from(move |chosen: Option<web_sys::File>| {
            let checked = chosen.map(|f| (check_image(&f.type_(), f.size()), f));
            match checked {
                None => {
                    *file.borrow_mut() = None;
                    state.dispatch(Action::ChooseScreenshot(None));
                }
                Some((Err(key), _)) => {
                    *file.borrow_mut() = None;
                    state.dispatch(Action::ScreenshotRejected(key));
                }
                Some((Ok(()), f)) => {
                    let shown = Screenshot {
                        name: f.name(),
                        kb: (f.size() / 1024.0).ceil() as u32,
                    };
                    *file.borrow_mut() = Some(f);
                    state.dispatch(Action::ChooseScreenshot(Some(shown)));
                }
            }
        })
    };
    let onretry = {
        let courier = courier.clone();
        Callback::from(move |()| courier.retry_now())
    };
    let onsubmit = {
        let state = state.clone();
        let config = config.clone();
        let courier = courier.clone();
        let file = file.clone();
        Callback::from(move |()| {
            if matches!(state.phase, Phase::Sending | Phase::Queued { .. }) {
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
                Err(errors) => return state.dispatch(Action::Invalid(errors)),
            };
            state.dispatch(Action::Sending {
                idempotency_key: key,
            });
            // The courier takes the file: it goes with this submission.
            courier.send(request, file.borrow_mut().take());
        })
    };

    // The button is the loader's: it is there before this app is loaded.
    html! {
        <FeedbackDialog state={state.clone()} {onkind} {onseverity} {onscreenshot} {onedit} {onsubmit} {onclose} {onanother} {onretry} />
    }
}
