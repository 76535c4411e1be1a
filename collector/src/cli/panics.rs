//! Panics reach the log like any other failure, with where they happened.

use std::any::Any;

/// How a shell reports a program stopped by SIGPIPE (128 + 13).
const CLOSED_PIPE_EXIT: i32 = 141;

/// Sends every panic, on any thread, to `tracing` instead of the default
/// hook's bare stderr line.
pub fn log_panics() {
    std::panic::set_hook(Box::new(|info| {
        // `earshot site list | head -1`: the reader has gone, so there is
        // no one left to print for. Stop quietly, as a Unix tool stopped
        // by SIGPIPE does, rather than log a panic (Rust ignores SIGPIPE,
        // so `println!` panics instead).
        if stdout_closed(info.payload()) {
            std::process::exit(CLOSED_PIPE_EXIT);
        }
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        tracing::error!(%location, message = loggable(info.payload()), "panicked");
    }));
}

/// Whether this is `print!`'s panic at a standard output whose reader has
/// closed it (its text is std's and the OS's, never data).
fn stdout_closed(payload: &(dyn Any + Send)) -> bool {
    payload.downcast_ref::<String>().is_some_and(|text| {
        text.starts_with("failed printing to stdout")
            && (text.contains("Broken pipe") || text.contains("os error 32"))
    })
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

    #[test]
    fn only_printing_to_a_closed_pipe_counts_as_a_closed_pipe() {
        let closed: Box<dyn Any + Send> = Box::new(String::from(
            "failed printing to stdout: Broken pipe (os error 32)",
        ));
        assert!(stdout_closed(closed.as_ref()));
        for other in [
            "failed printing to stdout: No space left on device (os error 28)",
            "failed printing to stderr: Broken pipe (os error 32)",
            "Broken pipe",
        ] {
            let payload: Box<dyn Any + Send> = Box::new(String::from(other));
            assert!(!stdout_closed(payload.as_ref()), "{other}");
        }
        let fixed: Box<dyn Any + Send> = Box::new("failed printing to stdout");
        assert!(!stdout_closed(fixed.as_ref()));
    }
}
