//! A colleague named the recipient in an internal note (`@bo`): the note
//! itself, the entry it is on and how long its customer has waited, so a
//! question asked in house is answered without opening the console first.
//! The subject names who and which entry, never the note's words.

use maud::html;

use super::Outgoing;
use super::staff::{EntryLine, OneEntry, first_words};

#[derive(Debug, Clone)]
pub struct Mentioned {
    pub to: String,
    /// Who wrote the note ("A colleague" when their account is gone).
    pub by: String,
    pub entry: EntryLine,
    /// The note.
    pub note: String,
    pub now: i64,
    pub public_url: String,
}

impl Mentioned {
    pub fn outgoing(&self) -> Outgoing {
        let e = &self.entry;
        let by = &self.by;
        let wait = e.wait(self.now);
        OneEntry {
            to: &self.to,
            subject: format!("[Earshot] {by} mentioned you on {}", e.reference),
            entry: e,
            lead: (
                format!(
                    "{by} mentioned you in a note on {} on {} ({wait}):",
                    e.label(),
                    e.site_name
                ),
                html! { (by) " mentioned you in a note on " strong { (e.label()) } " on " (e.site_name) " (" (wait) "):" },
            ),
            quoted: &first_words(&self.note),
            after: None,
            public_url: &self.public_url,
        }
        .outgoing()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::staff::line;

    #[test]
    fn a_mention_quotes_the_note_escaped_and_keeps_it_out_of_the_subject() {
        let mail = Mentioned {
            to: "bo@example.com".into(),
            by: "Ada".into(),
            entry: line(1, "The parcel came empty"),
            note: "@bo which carrier was it? <b>urgent</b>\nOrder 4411".into(),
            now: 3 * 3_600_000,
            public_url: "https://fb.example".into(),
        }
        .outgoing();
        assert_eq!(mail.subject, "[Earshot] Ada mentioned you on ES-AAAA-0001");
        assert!(
            mail.text.starts_with(
                "Ada mentioned you in a note on Complaint ES-AAAA-0001 (blocking) on Fern & Fig (waiting 3 h):\n\n> @bo which carrier was it? <b>urgent</b>\n> Order 4411\n"
            ),
            "{}",
            mail.text
        );
        assert!(
            mail.text
                .contains("Open it: https://fb.example/console/entries/e_1")
        );
        let html = mail.html.unwrap_or_default();
        assert!(html.contains("&lt;b&gt;urgent&lt;/b&gt;"), "{html}");
        assert!(!html.contains("<b>urgent"));
        assert_eq!(mail.about.as_deref(), Some("ES-AAAA-0001"));
    }
}
