//! What staff are emailed: new feedback (one email, or one that folds a
//! burst into "and N more"), an entry assigned to them, a customer's
//! follow-up and account links (the daily digest has a file of its own).
//! Each has a plain-text and an HTML part; customer words are
//! quoted in both, escaped in the HTML by the template engine. Subjects
//! carry the kind, reference and site, never what the customer wrote (it
//! may hold their address).

use maud::{DOCTYPE, Markup, html};

use super::Outgoing;
use crate::review::kind_label;
use crate::review::workflow::human_duration;
use crate::webhooks::payload::console_link;

/// Customer words quoted in an email.
const QUOTE_CHARS: usize = 300;
/// Entries listed by name in a folded email or a digest section.
pub const LIST_MAX: usize = 50;

/// An entry as a staff email mentions it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryLine {
    pub public_id: String,
    pub reference: String,
    pub kind: String,
    pub severity: Option<String>,
    pub site_name: String,
    /// The start of what the customer wrote.
    pub words: String,
    /// When the customer's wait began: arrival, or their latest unanswered
    /// follow-up.
    pub waiting_since: i64,
    /// Whether they still wait: an email folded for a minute, or an
    /// assignment, can come after a colleague answered.
    pub waiting: bool,
}

impl EntryLine {
    /// "waiting 3 min", or that a colleague answered meanwhile.
    fn wait(&self, now: i64) -> String {
        if self.waiting {
            format!("waiting {}", human_duration(now - self.waiting_since))
        } else {
            "answered already".to_owned()
        }
    }

    /// " (answered already)" after a listed entry that no longer waits.
    fn answered_mark(&self) -> &'static str {
        if self.waiting {
            ""
        } else {
            " (answered already)"
        }
    }

    pub(super) fn label(&self) -> String {
        let mut label = format!("{} {}", kind_label(&self.kind), self.reference);
        if let Some(severity) = &self.severity {
            label.push_str(&format!(" ({severity})"));
        }
        label
    }
}

fn first_words(text: &str) -> String {
    let cut: String = text.chars().take(QUOTE_CHARS).collect();
    if cut.len() < text.len() {
        format!("{cut}…")
    } else {
        cut
    }
}

/// The HTML page of an email; a notification (`settings`: the console's
/// base URL) ends with a link to the page that changes what is sent.
pub(super) fn page(title: &str, body: Markup, settings: Option<&str>) -> String {
    html! {
        (DOCTYPE)
        html {
            head { meta charset="utf-8"; title { (title) } }
            body style="font-family: system-ui, sans-serif; line-height: 1.5; color: #1d2330" {
                (body)
                @if let Some(base) = settings {
                    p style="color: #555b66; font-size: 13px" {
                        a href={ (base) "/console/notifications" } { "Change what you receive" }
                        " from Earshot."
                    }
                }
            }
        }
    }
    .into_string()
}

/// The plain-text footer of a notification: where to change what is sent.
pub(super) fn footer(public_url: &str) -> String {
    format!("\n--\nChange what you receive from Earshot: {public_url}/console/notifications\n")
}

/// New feedback: the oldest entry in full, the rest folded in.
#[derive(Debug, Clone)]
pub struct NewEntries {
    pub to: String,
    /// Oldest first; never empty. Beyond the first [`LIST_MAX`] + 1 only
    /// the count matters.
    pub entries: Vec<EntryLine>,
    /// How many entries this email stands for, at least `entries.len()`.
    pub total: usize,
    pub now: i64,
    pub public_url: String,
}

impl NewEntries {
    pub fn outgoing(&self) -> Option<Outgoing> {
        let (first, more) = self.entries.split_first()?;
        let more_count = self.total.max(self.entries.len()) - 1;
        let link = console_link(&self.public_url, &first.public_id);
        let wait = first.wait(self.now);
        let subject = if more_count == 0 {
            format!(
                "[Earshot] New {} {} on {}",
                kind_label(&first.kind).to_lowercase(),
                first.reference,
                first.site_name
            )
        } else {
            format!(
                "[Earshot] New {} {} and {} more",
                kind_label(&first.kind).to_lowercase(),
                first.reference,
                more_count
            )
        };
        let words = first_words(&first.words);
        let mut text = format!(
            "{} on {}, {wait}:\n\n{}\n\nOpen it: {link}\n",
            first.label(),
            first.site_name,
            quote_text(&words)
        );
        if more_count > 0 {
            text.push_str(&format!("\nAnd {more_count} more:\n"));
            for e in more.iter().take(LIST_MAX) {
                text.push_str(&format!(
                    "- {} on {}{}: {}\n",
                    e.label(),
                    e.site_name,
                    e.answered_mark(),
                    console_link(&self.public_url, &e.public_id)
                ));
            }
            let listed = more.len().min(LIST_MAX);
            if more_count > listed {
                text.push_str(&format!(
                    "- … {} more in the inbox: {}/console\n",
                    more_count - listed,
                    self.public_url
                ));
            }
        }
        text.push_str(&footer(&self.public_url));
        let body = html! {
            p { strong { (first.label()) } " on " (first.site_name) ", " (wait) }
            blockquote style="border-left: 3px solid #c4c8d0; margin: 0; padding-left: 12px" { (words) }
            p { a href=(link) { "Open it in Earshot" } }
            @if more_count > 0 {
                p { "And " (more_count) " more:" }
                ul {
                    @for e in more.iter().take(LIST_MAX) {
                        li { a href=(console_link(&self.public_url, &e.public_id)) { (e.label()) } " on " (e.site_name) (e.answered_mark()) }
                    }
                }
                @if more_count > more.len().min(LIST_MAX) {
                    p { a href={ (self.public_url) "/console" } { (more_count - more.len().min(LIST_MAX)) " more in the inbox" } }
                }
            }
        };
        Some(Outgoing {
            to: self.to.clone(),
            html: Some(page(&subject, body, Some(&self.public_url))),
            subject,
            text,
            // Folded, it is about many: threaded with none of them.
            about: (more_count == 0).then(|| first.reference.clone()),
            automatic: true,
        })
    }
}

fn quote_text(words: &str) -> String {
    words
        .lines()
        .map(|l| format!("> {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A colleague assigned an entry to the recipient.
#[derive(Debug, Clone)]
pub struct Assigned {
    pub to: String,
    pub entry: EntryLine,
    pub by: String,
    pub now: i64,
    pub public_url: String,
}

impl Assigned {
    pub fn outgoing(&self) -> Outgoing {
        let e = &self.entry;
        let link = console_link(&self.public_url, &e.public_id);
        let waited = if e.waiting {
            format!(
                "The customer has waited {}.",
                human_duration(self.now - e.waiting_since)
            )
        } else {
            "The customer has an answer already.".to_owned()
        };
        let subject = format!("[Earshot] {} assigned {} to you", self.by, e.reference);
        let words = first_words(&e.words);
        let text = format!(
            "{} assigned {} on {} to you. {waited}\n\n{}\n\nOpen it: {link}\n{}",
            self.by,
            e.label(),
            e.site_name,
            quote_text(&words),
            footer(&self.public_url)
        );
        let body = html! {
            p { (self.by) " assigned " strong { (e.label()) } " on " (e.site_name) " to you. " (waited) }
            blockquote style="border-left: 3px solid #c4c8d0; margin: 0; padding-left: 12px" { (words) }
            p { a href=(link) { "Open it in Earshot" } }
        };
        Outgoing {
            to: self.to.clone(),
            html: Some(page(&subject, body, Some(&self.public_url))),
            subject,
            text,
            about: Some(e.reference.clone()),
            automatic: true,
        }
    }
}

/// The customer wrote again on an entry assigned to the recipient, or one
/// no active colleague holds.
#[derive(Debug, Clone)]
pub struct FollowedUp {
    pub to: String,
    pub entry: EntryLine,
    /// What the customer wrote this time.
    pub words: String,
    /// Assigned to the recipient; otherwise no active colleague holds it.
    pub yours: bool,
    pub public_url: String,
}

impl FollowedUp {
    pub fn outgoing(&self) -> Outgoing {
        let e = &self.entry;
        let link = console_link(&self.public_url, &e.public_id);
        let subject = format!("[Earshot] The customer wrote again on {}", e.reference);
        let words = first_words(&self.words);
        let held = if self.yours {
            "assigned to you"
        } else {
            "which no active colleague holds"
        };
        let text = format!(
            "The customer wrote again on {} on {}, {held}. It is back in \"Needs a response\".\n\n{}\n\nOpen it: {link}\n{}",
            e.label(),
            e.site_name,
            quote_text(&words),
            footer(&self.public_url)
        );
        let body = html! {
            p { "The customer wrote again on " strong { (e.label()) } " on " (e.site_name) ", " (held) ". It is back in \u{201c}Needs a response\u{201d}." }
            blockquote style="border-left: 3px solid #c4c8d0; margin: 0; padding-left: 12px" { (words) }
            p { a href=(link) { "Open it in Earshot" } }
        };
        Outgoing {
            to: self.to.clone(),
            html: Some(page(&subject, body, Some(&self.public_url))),
            subject,
            text,
            about: Some(e.reference.clone()),
            automatic: true,
        }
    }
}

/// A one-time link to join, or to choose a new password.
#[derive(Debug, Clone)]
pub struct AccountLinkMail {
    pub to: String,
    /// The administrator who made it; `None` when the account's owner
    /// asked for it from the sign-in page.
    pub by: Option<String>,
    pub url: String,
    pub invite: bool,
    pub valid_hours: i64,
}

impl AccountLinkMail {
    pub fn outgoing(&self) -> Outgoing {
        let by = self.by.as_deref().unwrap_or("An administrator");
        let (subject, lead) = if self.invite {
            (
                format!("[Earshot] {by} invited you to the feedback console"),
                format!(
                    "{by} invited you to Earshot, where your team answers customer feedback. Open this link to choose your name and password:"
                ),
            )
        } else if self.by.is_some() {
            (
                "[Earshot] Choose a new password".to_owned(),
                format!("{by} made you a link to choose a new Earshot password:"),
            )
        } else {
            (
                "[Earshot] Choose a new password".to_owned(),
                "Someone, most likely you, asked for a link to choose a new Earshot password. If it was not you, ignore this email: your password stays as it is."
                    .to_owned(),
            )
        };
        let lasts = match self.valid_hours {
            1 => "an hour".to_owned(),
            n => format!("{n} hours"),
        };
        let text = format!(
            "{lead}\n\n{}\n\nThe link works once, for {lasts}.\n",
            self.url
        );
        let body = html! {
            p { (lead) }
            p { a href=(self.url) { (self.url) } }
            p { "The link works once, for " (lasts) "." }
        };
        Outgoing {
            to: self.to.clone(),
            // Not a notification: nothing to change about receiving it.
            html: Some(page(&subject, body, None)),
            subject,
            text,
            about: None,
            automatic: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(n: usize, words: &str) -> EntryLine {
        EntryLine {
            public_id: format!("e_{n}"),
            reference: format!("ES-AAAA-{n:04}"),
            kind: "complaint".into(),
            severity: Some("blocking".into()),
            site_name: "Fern & Fig".into(),
            words: words.into(),
            waiting_since: 0,
            waiting: true,
        }
    }

    #[test]
    fn one_new_entry_is_quoted_with_its_wait_and_link() {
        let mail = NewEntries {
            to: "ada@example.com".into(),
            entries: vec![line(1, "<script>alert(1)</script> ana@customer.example")],
            total: 1,
            now: 2 * 3_600_000,
            public_url: "https://fb.example".into(),
        }
        .outgoing()
        .unwrap();
        assert_eq!(
            mail.subject,
            "[Earshot] New complaint ES-AAAA-0001 on Fern & Fig"
        );
        assert!(!mail.subject.contains("customer.example"));
        assert!(mail.text.contains("waiting 2 h"));
        assert!(mail.text.contains("> <script>alert(1)</script>"));
        assert!(mail.text.contains("https://fb.example/console/entries/e_1"));
        let html = mail.html.unwrap();
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!html.contains("<script>"));
        // Where to hear less, one click away.
        assert!(mail.text.ends_with(
            "Change what you receive from Earshot: https://fb.example/console/notifications\n"
        ));
        assert!(html.contains(r#"<a href="https://fb.example/console/notifications">"#));
    }

    #[test]
    fn an_account_link_is_not_a_notification_and_has_no_footer_about_them() {
        let mail = AccountLinkMail {
            to: "new@example.com".into(),
            by: Some("Ada".into()),
            url: "https://fb.example/console/link/secret".into(),
            invite: true,
            valid_hours: 72,
        }
        .outgoing();
        assert!(mail.text.contains("https://fb.example/console/link/secret"));
        assert!(!mail.text.contains("notifications"), "{}", mail.text);
        assert!(!mail.html.unwrap().contains("notifications"));
    }

    #[test]
    fn a_burst_folds_into_and_n_more() {
        let entries: Vec<EntryLine> = (0..=LIST_MAX).map(|n| line(n, "words")).collect();
        let mail = NewEntries {
            to: "ada@example.com".into(),
            entries,
            total: 99,
            now: 0,
            public_url: "https://fb.example".into(),
        }
        .outgoing()
        .unwrap();
        assert_eq!(
            mail.subject,
            "[Earshot] New complaint ES-AAAA-0000 and 98 more"
        );
        assert!(mail.text.contains("And 98 more:"));
        assert!(mail.text.contains("48 more in the inbox"));
    }

    #[test]
    fn an_entry_answered_before_the_email_went_says_so_instead_of_a_wait() {
        let answered = EntryLine {
            waiting: false,
            ..line(1, "words")
        };
        let mail = NewEntries {
            to: "ada@example.com".into(),
            entries: vec![answered.clone(), line(2, "more"), answered.clone()],
            total: 3,
            now: 2 * 3_600_000,
            public_url: "https://fb.example".into(),
        }
        .outgoing()
        .unwrap();
        assert!(
            mail.text.contains("on Fern & Fig, answered already:"),
            "{}",
            mail.text
        );
        assert!(!mail.text.contains("waiting 2 h"), "{}", mail.text);
        assert!(
            mail.text
                .contains("- Complaint ES-AAAA-0002 (blocking) on Fern & Fig: "),
            "{}",
            mail.text
        );
        assert!(
            mail.text
                .contains("- Complaint ES-AAAA-0001 (blocking) on Fern & Fig (answered already): "),
            "{}",
            mail.text
        );
        assert!(
            mail.html
                .unwrap()
                .contains("on Fern &amp; Fig (answered already)")
        );

        let assigned = Assigned {
            entry: answered,
            ..assigned_to_bo()
        }
        .outgoing();
        assert!(
            assigned
                .text
                .contains("to you. The customer has an answer already."),
            "{}",
            assigned.text
        );
        let waiting = Assigned {
            entry: line(2, "more"),
            ..assigned_to_bo()
        }
        .outgoing();
        assert!(
            waiting.text.contains("The customer has waited 2 h."),
            "{}",
            waiting.text
        );
    }

    fn assigned_to_bo() -> Assigned {
        Assigned {
            to: "bo@example.com".into(),
            entry: line(0, ""),
            by: "Ada".into(),
            now: 2 * 3_600_000,
            public_url: "https://fb.example".into(),
        }
    }
}
