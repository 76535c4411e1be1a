//! The host page's side: `window.Earshot` lives in the loader, which queues
//! calls until the WebAssembly is ready and keeps the event listeners. This
//! module turns those calls into [`Command`]s for the app and reports the
//! app's events back through the loader's `emit` function.

use std::cell::RefCell;
use std::rc::Rc;

use earshot_protocol::{FeedbackAccepted, Kind};
use js_sys::{Function, Object, Reflect};
use wasm_bindgen::JsValue;
use yew::Callback;

use crate::json::Json;

/// A call on `window.Earshot`.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Open {
        kind: Option<Kind>,
        message: Option<String>,
    },
    Close,
    Identify {
        email: Option<String>,
        name: Option<String>,
    },
    /// Replaces the host's context (string keys and values).
    SetContext(Vec<(String, String)>),
    /// Replaces some of the widget's wording (`strings::Key::name` keys).
    SetStrings(Vec<(String, String)>),
}

fn string_field(arg: &JsValue, name: &str) -> Option<String> {
    if !arg.is_object() {
        return None;
    }
    Reflect::get(arg, &JsValue::from_str(name))
        .ok()?
        .as_string()
}

/// A host value as context text: strings as they are, numbers and booleans
/// spelled out, anything else (objects, functions) left out.
fn context_value(value: &JsValue) -> Option<String> {
    if let Some(s) = value.as_string() {
        return Some(s);
    }
    if value.as_f64().is_some() {
        // The browser's own spelling of the number (`4711`, `0.5`), and no
        // float formatting compiled into the widget.
        return js_sys::JSON::stringify(value).ok()?.as_string();
    }
    value.as_bool().map(|b| b.to_string())
}

/// An object's own entries with text (or number or boolean) values.
fn entries(arg: &JsValue) -> Vec<(String, String)> {
    arg.members()
        .into_iter()
        .filter_map(|(key, value)| Some((key, context_value(&value)?)))
        .collect()
}

impl Command {
    /// Reads a call; `None` for unknown methods (a newer page talking to an
    /// older widget), which are ignored.
    pub fn from_js(method: &str, arg: &JsValue) -> Option<Command> {
        Some(match method {
            "open" => Command::Open {
                kind: string_field(arg, "kind").and_then(|k| Kind::parse(&k)),
                message: string_field(arg, "message"),
            },
            "close" => Command::Close,
            "identify" => Command::Identify {
                email: string_field(arg, "email"),
                name: string_field(arg, "name"),
            },
            "setContext" => Command::SetContext(entries(arg)),
            "setStrings" => Command::SetStrings(entries(arg)),
            _ => return None,
        })
    }
}

/// Commands from the host, held until the app is ready to take them.
#[derive(Clone, Default)]
pub struct Commands {
    waiting: Rc<RefCell<Vec<Command>>>,
    handler: Rc<RefCell<Option<Callback<Command>>>>,
}

impl PartialEq for Commands {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.waiting, &other.waiting)
    }
}

impl Commands {
    pub fn push(&self, command: Command) {
        // Clone out of the cell: the handler may dispatch and re-render.
        let handler = self.handler.borrow().clone();
        match handler {
            Some(handler) => handler.emit(command),
            None => self.waiting.borrow_mut().push(command),
        }
    }

    /// The calls made so far, for the app's first render.
    pub fn take_waiting(&self) -> Vec<Command> {
        std::mem::take(&mut *self.waiting.borrow_mut())
    }

    /// The app is mounted: deliver what waited, then everything as it comes.
    pub fn attach(&self, handler: Callback<Command>) {
        *self.handler.borrow_mut() = Some(handler.clone());
        for command in self.take_waiting() {
            handler.emit(command);
        }
    }
}

/// Reports events to the host page's `Earshot.on` listeners.
#[derive(Clone, Default)]
pub struct Host {
    emit: Option<Function>,
}

impl PartialEq for Host {
    fn eq(&self, other: &Self) -> bool {
        self.emit == other.emit
    }
}

fn object(fields: &[(&str, &str)]) -> JsValue {
    let object = Object::new();
    for (name, value) in fields {
        let _ = Reflect::set(&object, &(*name).into(), &(*value).into());
    }
    object.into()
}

impl Host {
    pub fn new(emit: Option<Function>) -> Self {
        Host { emit }
    }

    fn emit(&self, name: &str, detail: &JsValue) {
        if let Some(emit) = &self.emit {
            // A throwing listener is the host's problem, not ours.
            let _ = emit.call2(&JsValue::NULL, &name.into(), detail);
        }
    }

    pub fn submitted(&self, accepted: &FeedbackAccepted) {
        self.emit(
            "submitted",
            &object(&[
                ("reference", &accepted.reference),
                ("statusUrl", &accepted.status_url),
            ]),
        );
    }

    /// `reason`: `unreachable` or `rate_limited` (kept and retried), or
    /// `rejected` (the customer must change something).
    pub fn failed(&self, reason: &str) {
        self.emit("failed", &object(&[("reason", reason)]));
    }

    pub fn opened(&self, open: bool) {
        self.emit(if open { "open" } else { "close" }, &JsValue::UNDEFINED);
    }
}
