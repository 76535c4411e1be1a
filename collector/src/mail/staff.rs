//! What staff are emailed about feedback: new entries (one email, or one
//! that folds a burst into "and N more"), entries assigned to them (folded
//! likewise) and a customer's follow-up. The daily digest and account
//! links have files of their own.
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
    pub(super) fn wait(&self, now: i64) -> String {
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

pub(super) fn first_words(text: &str) -> String {
    let cut: String = text.chars().take(QUOTE_CHARS).collect();
    if cut.len() < text.len() {
        format!("{cut}…")
    } else {
        cut
    }
}

/// Words quoted in an email's HTML, in their own direction and with their
/// line breaks.
pub(super) fn quote_html(words: &str) -> Markup {
    html! {
        blockquote dir="auto" style="border-left: 3px solid #c4c8d0; margin: 0; padding-left: 12px; white-space: pre-line" { (words) }
    }
}

/// A notification about one entry: what happened (`lead`, as text and
/// HTML), the words it is about quoted, a paragraph after them if any,
/// the link to the entry; threaded with the entry's other emails.
pub(super) struct OneEntry<'a> {
    pub to: &'a str,
    pub subject: String,
    pub entry: &'a EntryLine,
    pub lead: (String, Markup),
    pub quoted: &'a str,
    pub after: Option<String>,
    pub public_url: &'a str,
}

impl OneEntry<'_> {
    pub(super) fn outgoing(self) -> Outgoing {
        let link = console_link(self.public_url, &self.entry.public_id);
        let (lead_text, lead_html) = self.lead;
        let after_text = self
            .after
            .as_ref()
            .map(|after| format!("{after}\n\n"))
            .unwrap_or_default();
        let text = format!(
            "{lead_text}\n\n{}\n\n{after_text}Open it: {link}\n{}",
            quote_text(self.quoted),
            footer(self.public_url)
        );
        let body = html! {
            p { (lead_html) }
            (quote_html(self.quoted))
            @if let Some(after) = &self.after { p { (after) } }
            p { a href=(link) { "Open it in Earshot" } }
        };
        Outgoing {
            to: self.to.to_owned(),
            html: Some(page(&self.subject, body, Some(self.public_url))),
            subject: self.subject,
            text,
            about: Some(self.entry.reference.clone()),
            automatic: true,
        }
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
        let more: Vec<(&EntryLine, Option<String>)> = more.iter().map(|e| (e, None)).collect();
        let (more_text, more_html) = Folded {
            more: &more,
            count: more_count,
            public_url: &self.public_url,
            rest: ("more in the inbox", "/console"),
        }
        .render();
        text.push_str(&more_text);
        text.push_str(&footer(&self.public_url));
        let body = html! {
            p { strong { (first.label()) } " on " (first.site_name) ", " (wait) }
            (quote_html(&words))
            p { a href=(link) { "Open it in Earshot" } }
            (more_html)
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

pub(super) fn quote_text(words: &str) -> String {
    words
        .lines()
        .map(|l| format!("> {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The entries a folded email stands for beyond its first, as text and
/// HTML: up to [`LIST_MAX`] lines, then how many more and where they are.
struct Folded<'a> {
    /// Each entry with a note after it (who assigned it, where that
    /// differs from the first).
    more: &'a [(&'a EntryLine, Option<String>)],
    /// How many entries beyond the first, at least `more.len()`.
    count: usize,
    public_url: &'a str,
    /// What the rest are called and the console path that lists them.
    rest: (&'a str, &'a str),
}

impl Folded<'_> {
    fn render(&self) -> (String, Markup) {
        if self.count == 0 {
            return (String::new(), html! {});
        }
        let listed = &self.more[..self.more.len().min(LIST_MAX)];
        let unlisted = self.count.saturating_sub(listed.len());
        let (rest, path) = self.rest;
        let mut text = format!("\nAnd {} more:\n", self.count);
        for (e, note) in listed {
            text.push_str(&format!(
                "- {} on {}{}{}: {}\n",
                e.label(),
                e.site_name,
                e.answered_mark(),
                note.as_deref().unwrap_or_default(),
                console_link(self.public_url, &e.public_id)
            ));
        }
        if unlisted > 0 {
            text.push_str(&format!(
                "- … {unlisted} {rest}: {}{path}\n",
                self.public_url
            ));
        }
        let body = html! {
            p { "And " (self.count) " more:" }
            ul {
                @for (e, note) in listed {
                    li { a href=(console_link(self.public_url, &e.public_id)) { (e.label()) } " on " (e.site_name) (e.answered_mark()) (note.as_deref().unwrap_or_default()) }
                }
            }
            @if unlisted > 0 {
                p { a href={ (self.public_url) (path) } { (unlisted) " " (rest) } }
            }
        };
        (text, body)
    }
}

/// Colleagues assigned entries to the recipient: the oldest in full, the
/// rest folded in, so a bulk assignment is one email, not one per entry.
#[derive(Debug, Clone)]
pub struct Assigned {
    pub to: String,
    /// Oldest first, each with who assigned it; never empty. Beyond the
    /// first [`LIST_MAX`] + 1 only the count matters.
    pub entries: Vec<(EntryLine, String)>,
    /// How many entries this email stands for, at least `entries.len()`.
    pub total: usize,
    pub now: i64,
    pub public_url: String,
}

impl Assigned {
    pub fn outgoing(&self) -> Option<Outgoing> {
        let ((e, by), more) = self.entries.split_first()?;
        let more_count = self.total.max(self.entries.len()) - 1;
        let link = console_link(&self.public_url, &e.public_id);
        let waited = if e.waiting {
            format!(
                "The customer has waited {}.",
                human_duration(self.now - e.waiting_since)
            )
        } else {
            "The customer has an answer already.".to_owned()
        };
        let one_hand = more.iter().all(|(_, other)| other == by);
        let subject = match more_count {
            0 => format!("[Earshot] {by} assigned {} to you", e.reference),
            n if one_hand => format!(
                "[Earshot] {by} assigned {} and {n} more to you",
                e.reference
            ),
            n => format!(
                "[Earshot] {} and {n} more were assigned to you",
                e.reference
            ),
        };
        let noted: Vec<(&EntryLine, Option<String>)> = more
            .iter()
            .map(|(line, other)| (line, (other != by).then(|| format!(" (by {other})"))))
            .collect();
        let (more_text, more_html) = Folded {
            more: &noted,
            count: more_count,
            public_url: &self.public_url,
            rest: ("more assigned to you", "/console?view=open&assignee=me"),
        }
        .render();
        let words = first_words(&e.words);
        let text = format!(
            "{by} assigned {} on {} to you. {waited}\n\n{}\n\nOpen it: {link}\n{more_text}{}",
            e.label(),
            e.site_name,
            quote_text(&words),
            footer(&self.public_url)
        );
        let body = html! {
            p { (by) " assigned " strong { (e.label()) } " on " (e.site_name) " to you. " (waited) }
            (quote_html(&words))
            p { a href=(link) { "Open it in Earshot" } }
            (more_html)
        };
        Some(Outgoing {
            to: self.to.clone(),
            html: Some(page(&subject, body, Some(&self.public_url))),
            subject,
            text,
            // Folded, it is about many: threaded with none of them.
            about: (more_count == 0).then(|| e.reference.clone()),
            automatic: true,
        })
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
        let held = if self.yours {
            "assigned to you"
        } else {
            "which no active colleague holds"
        };
        OneEntry {
            to: &self.to,
            subject: format!("[Earshot] The customer wrote again on {}", e.reference),
            entry: e,
            lead: (
                format!(
                    "The customer wrote again on {} on {}, {held}. It is back in \"Needs a response\".",
                    e.label(),
                    e.site_name
                ),
                html! { "The customer wrote again on " strong { (e.label()) } " on " (e.site_name) ", " (held) ". It is back in \u{201c}Needs a response\u{201d}." },
            ),
            quoted: &first_words(&self.words),
            after: None,
            public_url: &self.public_url,
        }
        .outgoing()
    }
}

/// Entry `n` for the emails' tests: a blocking complaint, waiting since 0.
#[cfg(test)]
pub(super) fn line(n: usize, words: &str) -> EntryLine {
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

#[cfg(test)]
mod tests {
    use super::*;

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
            entries: vec![(answered, "Ada".into())],
            ..assigned_to_bo()
        }
        .outgoing()
        .unwrap();
        assert!(
            assigned
                .text
                .contains("to you. The customer has an answer already."),
            "{}",
            assigned.text
        );
        let waiting = Assigned {
            entries: vec![(line(2, "more"), "Ada".into())],
            ..assigned_to_bo()
        }
        .outgoing()
        .unwrap();
        assert!(
            waiting.text.contains("The customer has waited 2 h."),
            "{}",
            waiting.text
        );
    }

    fn assigned_to_bo() -> Assigned {
        Assigned {
            to: "bo@example.com".into(),
            entries: vec![(line(0, ""), "Ada".into())],
            total: 1,
            now: 2 * 3_600_000,
            public_url: "https://fb.example".into(),
        }
    }

    #[test]
    fn a_bulk_assignment_folds_and_names_any_other_colleague_who_assigned() {
        let entries: Vec<(EntryLine, String)> = (0..=LIST_MAX)
            .map(|n| (line(n, "words"), if n == 3 { "Cy" } else { "Ada" }.into()))
            .collect();
        let mail = Assigned {
            entries,
            total: 80,
            ..assigned_to_bo()
        }
        .outgoing()
        .unwrap();
        assert_eq!(
            mail.subject,
            "[Earshot] ES-AAAA-0000 and 79 more were assigned to you"
        );
        assert!(mail.text.starts_with("Ada assigned Complaint ES-AAAA-0000"));
        assert!(mail.text.contains("And 79 more:"), "{}", mail.text);
        assert!(
            mail.text
                .contains("- Complaint ES-AAAA-0003 (blocking) on Fern & Fig (by Cy): "),
            "{}",
            mail.text
        );
        assert!(!mail.text.contains("(by Ada)"));
        assert!(mail.text.contains(
            "- … 29 more assigned to you: https://fb.example/console?view=open&assignee=me\n"
        ));
        assert_eq!(mail.about, None, "about many, threaded with none");
        let html = mail.html.unwrap();
        assert!(html.contains("(by Cy)"));
        assert!(html.contains("29 more assigned to you"));

        let one_hand = Assigned {
            entries: vec![(line(0, ""), "Ada".into()), (line(1, ""), "Ada".into())],
            total: 2,
            ..assigned_to_bo()
        }
        .outgoing()
        .unwrap();
        assert_eq!(
            one_hand.subject,
            "[Earshot] Ada assigned ES-AAAA-0000 and 1 more to you"
        );
    }
}
