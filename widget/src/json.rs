//! JSON through the browser's own `JSON.parse` and `JSON.stringify`, read
//! and written field by field.
//!
//! serde's derives with serde-wasm-bindgen cost 22 KB of the brotli'd
//! WebAssembly: every derived visitor, and error messages that pull in
//! float formatting. The widget reads and writes only a handful of shapes,
//! so each does it by hand over [`Json`]: a JavaScript value in the
//! browser, serde_json's `Value` in the native tests. Those tests hold the
//! shapes to serde's: the collector reads requests with the protocol's
//! derives, and `localStorage` holds what earlier versions wrote.

use js_sys::{Array, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

/// A JSON value the widget can build and take apart.
pub trait Json: Sized {
    fn object() -> Self;
    fn string(text: &str) -> Self;
    fn number(number: f64) -> Self;
    fn array(items: Vec<Self>) -> Self;
    /// Sets a member of an object (nothing on anything else).
    fn set(&mut self, key: &str, value: Self);
    /// The member `key` of an object, unless it is absent or `null`.
    fn get(&self, key: &str) -> Option<Self>;
    fn as_text(&self) -> Option<String>;
    fn as_number(&self) -> Option<f64>;
    /// The items of an array (none for anything else).
    fn items(&self) -> Vec<Self>;
    /// The members of an object, in order (none for anything else).
    fn members(&self) -> Vec<(String, Self)>;

    fn text_at(&self, key: &str) -> Option<String> {
        self.get(key)?.as_text()
    }

    fn number_at(&self, key: &str) -> Option<f64> {
        self.get(key)?.as_number()
    }

    /// Sets `key` to `text`, or leaves it out when there is none (as the
    /// protocol's `skip_serializing_if = "Option::is_none"`).
    fn set_text(&mut self, key: &str, text: Option<&str>) {
        if let Some(text) = text {
            self.set(key, Self::string(text));
        }
    }
}

/// What the widget sends or keeps as JSON.
pub trait ToJson {
    fn to_json<J: Json>(&self) -> J;
}

/// What the widget reads from JSON: `None` when the value is not that shape.
pub trait FromJson: Sized {
    fn from_json<J: Json>(value: &J) -> Option<Self>;
}

/// A whole number from 0 to 2^53 - 1 (what `JSON.parse` holds exactly), as
/// the protocol reads `fill_ms`.
pub fn whole(number: f64) -> Option<u64> {
    const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;
    // Exact: every whole f64 in that range converts without rounding.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    (number.fract() == 0.0 && (0.0..=MAX_SAFE_INTEGER).contains(&number)).then_some(number as u64)
}

impl Json for JsValue {
    fn object() -> Self {
        Object::new().into()
    }

    fn string(text: &str) -> Self {
        JsValue::from_str(text)
    }

    fn number(number: f64) -> Self {
        JsValue::from_f64(number)
    }

    fn array(items: Vec<Self>) -> Self {
        items.into_iter().collect::<Array>().into()
    }

    fn set(&mut self, key: &str, value: Self) {
        if self.is_object() {
            // Cannot fail on a plain object the widget made itself.
            let _ = Reflect::set(self, &JsValue::from_str(key), &value);
        }
    }

    fn get(&self, key: &str) -> Option<Self> {
        if !self.is_object() {
            return None;
        }
        Reflect::get(self, &JsValue::from_str(key))
            .ok()
            .filter(|v| !v.is_null() && !v.is_undefined())
    }

    fn as_text(&self) -> Option<String> {
        self.as_string()
    }

    fn as_number(&self) -> Option<f64> {
        self.as_f64()
    }

    fn items(&self) -> Vec<Self> {
        match self.dyn_ref::<Array>() {
            Some(array) => array.iter().collect(),
            None => Vec::new(),
        }
    }

    fn members(&self) -> Vec<(String, Self)> {
        // Not `dyn_ref::<Object>()`: that is `instanceof Object`, false for
        // an object made in another window (a frame calling
        // `parent.Earshot.setStrings({...})`).
        if !self.is_object() {
            return Vec::new();
        }
        Object::entries(self.unchecked_ref())
            .iter()
            .filter_map(|pair| {
                let pair: Array = pair.dyn_into().ok()?;
                Some((pair.get(0).as_string()?, pair.get(1)))
            })
            .collect()
    }
}

/// `text` as a JavaScript value, or `None` when it is not JSON.
pub fn parse(text: &str) -> Option<JsValue> {
    js_sys::JSON::parse(text).ok()
}

/// `value` as JSON text.
pub fn stringify(value: &JsValue) -> Option<String> {
    js_sys::JSON::stringify(value).ok()?.as_string()
}

/// serde_json's `Value` as [`Json`], so the shapes are tested natively
/// against the protocol's serde derives.
#[cfg(test)]
pub mod native {
    use serde_json::{Map, Value};

    use super::Json;

    impl Json for Value {
        fn object() -> Self {
            Value::Object(Map::new())
        }

        fn string(text: &str) -> Self {
            Value::String(text.to_owned())
        }

        fn number(number: f64) -> Self {
            // Whole numbers as integers, as serde writes a `u64`.
            match super::whole(number) {
                Some(whole) => Value::from(whole),
                None => Value::from(number),
            }
        }

        fn array(items: Vec<Self>) -> Self {
            Value::Array(items)
        }

        fn set(&mut self, key: &str, value: Self) {
            if let Value::Object(map) = self {
                map.insert(key.to_owned(), value);
            }
        }

        fn get(&self, key: &str) -> Option<Self> {
            self.as_object()?.get(key).filter(|v| !v.is_null()).cloned()
        }

        fn as_text(&self) -> Option<String> {
            self.as_str().map(str::to_owned)
        }

        fn as_number(&self) -> Option<f64> {
            self.as_f64()
        }

        fn items(&self) -> Vec<Self> {
            self.as_array().cloned().unwrap_or_default()
        }

        fn members(&self) -> Vec<(String, Self)> {
            self.as_object()
                .map(|map| map.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_are_those_json_holds_exactly() {
        assert_eq!(whole(4_000.0), Some(4_000));
        assert_eq!(whole(0.0), Some(0));
        assert_eq!(whole(9_007_199_254_740_991.0), Some(9_007_199_254_740_991));
        for bad in [1.5, -1.0, 9_007_199_254_740_992.0, f64::NAN, f64::INFINITY] {
            assert_eq!(whole(bad), None, "{bad}");
        }
    }
}
