//! Panics reach the log like any other failure, with where they happened.

use std::any::Any;

/// Sends every panic, on any thread, to `tracing` instead of the default
/// hook's bare stderr line.
pub fn log_panics() {
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        tracing::error!(%location, message = loggable(info.payload()), "panicked");
    }));
}

/// Only a panic's fixed text is logged. A formatted one may quote what the
/// failing code was handed (slicing a string at a bad index quotes the
/// string), and that may be a customer's words or email.
fn loggable(payload: &(dyn Any + Send)) -> &'static str {
    payload
        .downcast_ref::<&'static str>()
        .copied()
        .unwrap_or("(a formatted message, withheld: it may quote data)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_panic_text_is_logged_and_formatted_text_is_withheld() {
        let fixed = std::panic::catch_unwind(|| panic!("the writer is gone")).unwrap_err();
        assert_eq!(loggable(fixed.as_ref()), "the writer is gone");
        let words = String::from("my order never came, jane@example.com");
        let formatted = std::panic::catch_unwind(|| panic!("cannot file {words}")).unwrap_err();
        let logged = loggable(formatted.as_ref());
        assert!(!logged.contains("jane"), "{logged}");
        // std's own message here quotes the string it could not slice.
        let accented = String::from("é");
        let sliced = std::panic::catch_unwind(|| accented[..accented.len() - 1].len()).unwrap_err();
        assert!(!loggable(sliced.as_ref()).contains('é'));
    }
}
