//! The Earshot widget: a feedback button and dialog that live inside a
//! shadow root on someone else's page.
//!
//! `assets/loader.js` creates the shadow root, then calls [`mount`] once the
//! WebAssembly is ready. Nothing here may panic on a customer's page: every
//! browser call that can fail is handled, and the build uses `panic = "abort"`
//! so a bug stops the widget, not the host page.

pub mod api;
pub mod bridge;
pub mod components;
pub mod config;
pub mod context;
pub mod courier;
pub mod draft;
pub mod hooks;
pub mod json;
pub mod keys;
pub mod outbox;
pub mod state;
pub mod storage;
pub mod strings;
pub mod wire;

use wasm_bindgen::prelude::*;

// Smaller than the default (dlmalloc) by 2.2 KB brotli; the widget is
// single-threaded, as this allocator requires.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

/// Entry point called by the loader with the shadow root it created, the
/// configuration it read from the `<script>` tag (an object), its `emit`
/// function for `Earshot.on` listeners and the `window.Earshot` calls made
/// while loading (`[method, argument]` pairs, in order), which the first
/// render already shows. Returns the function the loader hands later calls
/// to: `(method, argument)`.
#[wasm_bindgen]
pub fn mount(
    root: web_sys::ShadowRoot,
    config: JsValue,
    emit: Option<js_sys::Function>,
    waiting: Option<js_sys::Array>,
) -> Result<JsValue, JsValue> {
    let mut config = <config::WidgetConfig as json::FromJson>::from_json(&config)
        .ok_or_else(|| JsValue::from_str("earshot: invalid widget configuration"))?;
    let window = web_sys::window().ok_or_else(|| JsValue::from_str("earshot: no window"))?;
    let document = window
        .document()
        .ok_or_else(|| JsValue::from_str("earshot: no document"))?;
    // Read here, not by the loader: its bytes are paid on every page view.
    config.language = window.navigator().language();
    let container = document.create_element("div")?;
    container.set_class_name("earshot");
    root.append_child(&container)?;
    let commands = bridge::Commands::default();
    for call in waiting.iter().flat_map(|calls| calls.iter()) {
        let call = js_sys::Array::from(&call);
        if let Some(method) = call.get(0).as_string()
            && let Some(command) = bridge::Command::from_js(&method, &call.get(1))
        {
            commands.push(command);
        }
    }
    yew::Renderer::<components::App>::with_root_and_props(
        container,
        components::AppProps {
            config,
            commands: commands.clone(),
            host: bridge::Host::new(emit),
        },
    )
    .render();
    // Lives as long as the page: the loader keeps calling it.
    let call = Closure::<dyn Fn(String, JsValue)>::new(move |method: String, arg: JsValue| {
        if let Some(command) = bridge::Command::from_js(&method, &arg) {
            commands.push(command);
        }
    });
    Ok(call.into_js_value())
}
