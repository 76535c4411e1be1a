//! A promise turning due (within a day) or overdue, emailed to whoever
//! holds its entry, or, held by no active colleague, to whoever made it:
//! "do what you say" needs a nudge before the day, not only a red mark in
//! the console or a line in tomorrow's digest.

use maud::html;

use super::Outgoing;
use super::staff::{EntryLine, OneEntry};
use crate::review::workflow::human_duration;

#[derive(Debug, Clone)]
pub struct PromiseReminder {
    pub to: String,
    /// Who made the promise, when not the recipient ("A colleague" when
    /// their account is gone).
    pub made_by: Option<String>,
    pub entry: EntryLine,
    /// What the customer was promised.
    pub text: String,
    pub due_at: i64,
    pub now: i64,
    pub public_url: String,
}

impl PromiseReminder {
    pub fn outgoing(&self) -> Outgoing {
        let e = &self.entry;
        let overdue = self.now > self.due_at;
        let whose = if self.made_by.is_some() {
            "A promise"
        } else {
            "Your promise"
        };
        let subject = if overdue {
            format!("[Earshot] {whose} on {} is overdue", e.reference)
        } else {
            format!("[Earshot] {whose} on {} is due", e.reference)
        };
        let who = self.made_by.as_deref().unwrap_or("You");
        let due = crate::clock::date(self.due_at);
        let when = if overdue {
            format!(
                "It was due {due} (UTC), {} ago.",
                human_duration(self.now - self.due_at)
            )
        } else {
            format!(
                "It is due {due} (UTC), in {}.",
                human_duration(self.due_at - self.now)
            )
        };
        OneEntry {
            to: &self.to,
            subject,
            entry: e,
            lead: (
                format!(
                    "{who} promised the customer of {} on {}:",
                    e.label(),
                    e.site_name
                ),
                html! { (who) " promised the customer of " strong { (e.label()) } " on " (e.site_name) ":" },
            ),
            quoted: &self.text,
            after: Some(format!(
                "{when} Keep it, then record it as kept (or as broken) on the entry."
            )),
            public_url: &self.public_url,
        }
        .outgoing()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::staff::line;
    use crate::review::workflow::{DAY, HOUR};

    fn reminder(made_by: Option<&str>, now: i64) -> Outgoing {
        PromiseReminder {
            to: "bo@example.com".into(),
            made_by: made_by.map(str::to_owned),
            entry: EntryLine {
                waiting: false,
                ..line(1, "The parcel came empty")
            },
            text: "A new parcel <by Friday>".into(),
            due_at: 10 * DAY,
            now,
            public_url: "https://fb.example".into(),
        }
        .outgoing()
    }

    #[test]
    fn a_promise_due_tomorrow_says_when_and_what_was_promised() {
        let mail = reminder(None, 10 * DAY - 20 * HOUR);
        assert_eq!(
            mail.subject,
            "[Earshot] Your promise on ES-AAAA-0001 is due"
        );
        assert!(
            mail.text.starts_with(
                "You promised the customer of Complaint ES-AAAA-0001 (blocking) on Fern & Fig:\n\n> A new parcel <by Friday>\n\nIt is due 1970-01-11 (UTC), in 20 h."
            ),
            "{}",
            mail.text
        );
        let html = mail.html.unwrap_or_default();
        assert!(html.contains("A new parcel &lt;by Friday&gt;"), "{html}");
    }

    #[test]
    fn an_overdue_promise_made_by_a_colleague_says_whose_and_how_late() {
        let mail = reminder(Some("Ada"), 10 * DAY + 3 * HOUR);
        assert_eq!(
            mail.subject,
            "[Earshot] A promise on ES-AAAA-0001 is overdue"
        );
        assert!(
            mail.text.starts_with("Ada promised the customer of"),
            "{}",
            mail.text
        );
        assert!(
            mail.text.contains("It was due 1970-01-11 (UTC), 3 h ago."),
            "{}",
            mail.text
        );
    }
}
