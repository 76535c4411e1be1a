//! Memory across page loads: the draft and the outbox, in the host page's
//! localStorage under one key per site. Storage can be missing, blocked or
//! full (cookies blocked, quotas); then the widget still works, only
//! without that memory, and `save` says so: a queued message must not be
//! called kept on the device when it is not.

use crate::json::{self, FromJson, ToJson};

pub const DRAFT: &str = "draft";
pub const OUTBOX: &str = "outbox";

fn local() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

fn key(site: &str, what: &str) -> String {
    format!("earshot:{site}:{what}")
}

pub fn load<T: FromJson>(site: &str, what: &str) -> Option<T> {
    let text = local()?.get_item(&key(site, what)).ok()??;
    T::from_json(&json::parse(&text)?)
}

/// Whether `value` is now stored.
pub fn save<T: ToJson>(site: &str, what: &str, value: &T) -> bool {
    match (local(), json::stringify(&value.to_json())) {
        (Some(storage), Some(text)) => storage.set_item(&key(site, what), &text).is_ok(),
        _ => false,
    }
}

pub fn remove(site: &str, what: &str) {
    if let Some(storage) = local() {
        let _ = storage.remove_item(&key(site, what));
    }
}
