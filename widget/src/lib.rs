//! The Earshot widget: a feedback button and dialog that live inside a
//! shadow root on someone else's page.
//!
//! `assets/loader.js` creates the shadow root, then calls [`mount`] once the
//! WebAssembly is ready. Nothing here may panic on a customer's page: every
//! browser call that can fail is handled, and the build uses `panic = "abort"`
//! so a bug stops the widget, not the host page.

pub mod api;
pub mod components;
pub mod config;
pub mod context;
pub mod hooks;
pub mod state;
pub mod strings;

use wasm_bindgen::prelude::*;

/// Entry point called by the loader with the shadow root it created and the
/// configuration it read from the `<script>` tag (as JSON).
#[wasm_bindgen]
pub fn mount(root: web_sys::ShadowRoot, config_json: &str) -> Result<(), JsValue> {
    let config = config::WidgetConfig::from_json(config_json)
        .map_err(|_| JsValue::from_str("earshot: invalid widget configuration"))?;
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or_else(|| JsValue::from_str("earshot: no document"))?;
    let container = document.create_element("div")?;
    container.set_class_name("earshot");
    root.append_child(&container)?;
    yew::Renderer::<components::App>::with_root_and_props(
        container,
        components::AppProps { config },
    )
    .render();
    Ok(())
}
