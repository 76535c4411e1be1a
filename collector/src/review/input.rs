//! What staff type, checked once for the console and the API alike: the
//! same limits, the same refusals, each naming the field it is about.

use earshot_protocol::submission::{Field, Text};

use super::filter::parse_date;
use super::workflow::{DAY, Status};

/// Longest note or reply staff can write.
pub const TEXT_MAX: usize = 10_000;
/// Longest promise.
pub const PROMISE_MAX: usize = 300;
/// How far ahead a promise may fall due, in days. A promise further out
/// is not one a customer can hold staff to, and is more often a typo in
/// the year (2062 for 2026) that would keep it from ever turning overdue.
pub const PROMISE_DAYS_MAX: i64 = 366;

/// Input staff can correct: which field, and how, written as the API
/// says it (lower case, no full stop, as every API error is); a page shows
/// it as a sentence ([`InputError::sentence`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InputError {
    pub field: &'static str,
    pub message: String,
}

impl InputError {
    /// The message as a page shows it: capitalised, with a full stop.
    pub fn sentence(&self) -> String {
        let mut chars = self.message.chars();
        match chars.next() {
            Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
            None => String::new(),
        }
    }
}

pub(crate) fn bad(field: &'static str, message: impl Into<String>) -> InputError {
    InputError {
        field,
        message: message.into(),
    }
}

/// A field given a value it does not take: what it takes instead ("kind
/// is complaint, expectation, idea, praise or question"), not the value
/// sent back.
pub(crate) fn one_of<const N: usize>(field: &'static str, values: [&str; N]) -> InputError {
    let listed = match values.split_last() {
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    };
    bad(field, format!("{field} is {listed}"))
}

/// A status as a form or a tool names it (`in_progress`).
pub fn status(raw: &str, field: &'static str) -> Result<Status, InputError> {
    Status::parse(raw).ok_or_else(|| one_of(field, Status::ALL.map(Status::as_str)))
}

/// A note, reply or promise: cleaned as a customer's text is, something
/// visible, at most `max` characters.
pub fn staff_text(raw: &str, field: &'static str, max: usize) -> Result<String, InputError> {
    // A browser sends a textarea's line breaks as CR LF and counts each
    // as one character against its maxlength: counted as two, a note
    // typed to the limit was refused.
    let text = raw.replace("\r\n", "\n");
    // Read as a customer's words are: control characters and bidi
    // overrides go, line breaks and tabs stay. A reply is shown to the
    // customer and mailed to them. The length is checked below, on what
    // is kept, so the field here is only a label.
    let Ok(Some(text)) = Text::parse(Some(&text), Field::Message, usize::MAX, true) else {
        return Err(bad(field, format!("the {field} is empty")));
    };
    let text = text.as_str();
    if text.chars().count() > max {
        return Err(bad(
            field,
            format!("the {field} is longer than {max} characters"),
        ));
    }
    Ok(text.to_owned())
}

/// A promise needs both what and when; the due time is the end of the
/// chosen day (UTC), which must not be in the past nor more than
/// [`PROMISE_DAYS_MAX`] days ahead.
pub fn promise(text: &str, due: &str, now: i64) -> Result<Option<(String, i64)>, InputError> {
    let (text, due) = (text.trim(), due.trim());
    match (text.is_empty(), due.is_empty()) {
        (true, true) => Ok(None),
        (false, true) => Err(bad("promise_due", "a promise needs a due date")),
        (true, false) => Err(bad(
            "promise_text",
            "say what you promise, or clear the due date",
        )),
        (false, false) => {
            let text = staff_text(text, "promise", PROMISE_MAX)?;
            let day = parse_date(due)
                .ok_or_else(|| bad("promise_due", "the due date must be a date (YYYY-MM-DD)"))?;
            let due_at = day + DAY - 1;
            if due_at < now {
                return Err(bad("promise_due", "the due date is in the past"));
            }
            let latest = latest_promise_day(now);
            if day > latest {
                return Err(bad(
                    "promise_due",
                    format!(
                        "a promise can be due within a year at most: pick a date by {}",
                        crate::clock::date(latest)
                    ),
                ));
            }
            Ok(Some((text, due_at)))
        }
    }
}

/// The start of the last day a promise made at `now` may fall due.
pub fn latest_promise_day(now: i64) -> i64 {
    (now.div_euclid(DAY) + PROMISE_DAYS_MAX) * DAY
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_note_typed_to_the_forms_limit_fits_with_its_line_breaks() {
        let lines = vec!["é".repeat(99); TEXT_MAX / 100].join("\r\n");
        let kept = staff_text(&lines, "note", TEXT_MAX).unwrap();
        assert_eq!(kept, lines.replace("\r\n", "\n"));
        assert_eq!(kept.chars().count(), TEXT_MAX - 1);
        let over = format!("{lines}\r\néé");
        assert!(staff_text(&over, "note", TEXT_MAX).is_err());
    }

    #[test]
    fn a_status_it_does_not_know_is_answered_with_the_ones_it_does() {
        assert_eq!(status("in_progress", "status"), Ok(Status::InProgress));
        let wrong = status("closed", "from").unwrap_err();
        assert_eq!(wrong.field, "from");
        assert_eq!(
            wrong.sentence(),
            "From is new, acknowledged, in_progress, resolved, wont_fix or spam."
        );
    }

    #[test]
    fn the_api_reads_a_refusal_as_a_phrase_and_a_page_as_a_sentence() {
        let empty = staff_text(" ", "note", TEXT_MAX).unwrap_err();
        assert_eq!(empty.message, "the note is empty");
        assert_eq!(empty.sentence(), "The note is empty.");
        assert_eq!(bad("q", "").sentence(), "");
    }

    #[test]
    fn promises_need_text_and_a_future_day() {
        let now = parse_date("2026-11-22").unwrap() + 12 * 3_600_000;
        assert!(promise("", "", now).unwrap().is_none());
        assert_eq!(promise("Fixed", "", now).unwrap_err().field, "promise_due");
        assert_eq!(
            promise("", "2026-11-27", now).unwrap_err().field,
            "promise_text"
        );
        assert!(promise("Fixed", "2026-11-21", now).is_err());
        assert!(promise("Fixed", "Friday", now).is_err());
        assert!(promise(&"x".repeat(PROMISE_MAX + 1), "2026-11-27", now).is_err());
        // A year ahead at most: a typo in the year is caught.
        assert!(promise("Fixed", "2027-11-23", now).is_ok());
        let far = promise("Fixed", "2027-11-24", now).unwrap_err();
        assert_eq!(far.field, "promise_due");
        assert!(far.message.contains("by 2027-11-23"), "{}", far.message);
        assert!(promise("Fixed", "2062-11-27", now).is_err());
        // Today is allowed: due at the end of it.
        let (text, due) = promise(" Fixed ", "2026-11-22", now).unwrap().unwrap();
        assert_eq!(text, "Fixed");
        assert_eq!(due, parse_date("2026-11-23").unwrap() - 1);
    }

    #[test]
    fn staff_text_loses_control_characters_and_bidi_overrides_but_keeps_its_lines() {
        let pasted = "Refund\u{7} sent\u{1b}[31m\n\tto \u{202E}you\u{202C}\u{FEFF}\r\nOK";
        assert_eq!(
            staff_text(pasted, "reply", TEXT_MAX).unwrap(),
            "Refund sent[31m\n\tto you\nOK"
        );
        // What goes does not count against the limit.
        let padded = format!("{}{}", "a".repeat(10), "\u{7}".repeat(5));
        assert_eq!(staff_text(&padded, "note", 10).unwrap(), "a".repeat(10));
        assert!(staff_text("\u{7}\u{202E}", "note", 10).is_err());
    }

    #[test]
    fn staff_text_is_trimmed_and_must_show_something() {
        assert_eq!(staff_text("  hi ", "note", 10).unwrap(), "hi");
        assert_eq!(
            staff_text(" \u{200B} ", "note", 10).unwrap_err().field,
            "note"
        );
        assert!(staff_text("abcdefghijk", "reply", 10).is_err());
        // Characters, not bytes.
        assert!(staff_text(&"é".repeat(10), "reply", 10).is_ok());
    }
}
