//! JSON through the browser's own `JSON.parse` and `JSON.stringify`, with
//! serde on either side of a JavaScript value. serde_json's parser and
//! printer, compiled into the WebAssembly, cost more than this bridge.

use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::JsValue;

/// `text` as a `T`, or `None` when it is not JSON or not that shape.
pub fn parse<T: DeserializeOwned>(text: &str) -> Option<T> {
    let value = js_sys::JSON::parse(text).ok()?;
    serde_wasm_bindgen::from_value(value).ok()
}

/// Whatever reads JSON text for logic that is unit-tested natively, where
/// the browser's `JSON` does not exist.
pub trait ParseJson {
    fn parse<T: DeserializeOwned>(text: &str) -> Option<T>;
}

/// The browser's `JSON.parse`, as [`parse`].
#[derive(Debug)]
pub struct BrowserJson;

impl ParseJson for BrowserJson {
    fn parse<T: DeserializeOwned>(text: &str) -> Option<T> {
        parse(text)
    }
}

/// `value` as a JavaScript value that `JSON.stringify` writes as serde_json
/// would: maps as objects, 64-bit numbers as numbers, `None` as `null`.
pub fn to_value<T: Serialize>(value: &T) -> Option<JsValue> {
    let serializer =
        serde_wasm_bindgen::Serializer::json_compatible().serialize_missing_as_null(true);
    value.serialize(&serializer).ok()
}

/// `value` as JSON text.
pub fn to_string<T: Serialize>(value: &T) -> Option<String> {
    js_sys::JSON::stringify(&to_value(value)?).ok()?.as_string()
}
