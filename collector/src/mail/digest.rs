//! The daily digest: who waits past their site's target, promises due
//! today and overdue, what arrived since yesterday, and (for
//! administrators) webhooks that keep failing.

use maud::html;

use super::Outgoing;
use super::staff::{EntryLine, LIST_MAX, footer, page};
use crate::clock::{date, timestamp};
use crate::review::kind_label;
use crate::review::workflow::human_duration;
use crate::webhooks::payload::console_link;

/// Someone waiting past their site's first-response target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    pub entry: EntryLine,
    pub target_ms: i64,
}

/// An open promise, due or overdue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromiseLine {
    pub entry_public_id: String,
    pub reference: String,
    pub text: String,
    pub due_at: i64,
}

/// A webhook endpoint whose deliveries keep failing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailingEndpoint {
    pub site_name: String,
    /// Scheme, host and port only: the path may hold a token.
    pub origin: String,
}

/// The daily digest.
#[derive(Debug, Clone)]
pub struct Digest {
    pub to: String,
    pub now: i64,
    pub public_url: String,
    /// Oldest first.
    pub waiting_late: Vec<Waiting>,
    pub due_today: Vec<PromiseLine>,
    pub overdue: Vec<PromiseLine>,
    /// New entries in the last 24 hours, by kind (spam left out).
    pub counts: Vec<(String, i64)>,
    /// For administrators.
    pub failing: Vec<FailingEndpoint>,
}

impl Digest {
    pub fn outgoing(&self) -> Outgoing {
        let total: i64 = self.counts.iter().map(|(_, n)| n).sum();
        let overdue = self.overdue.len();
        let subject = format!(
            "[Earshot] Digest for {}: {} waiting past target, {overdue} {} overdue",
            date(self.now),
            self.waiting_late.len(),
            if overdue == 1 { "promise" } else { "promises" }
        );
        let link = |id: &str| console_link(&self.public_url, id);
        let mut text = format!("Earshot digest, {}\n\n", timestamp(self.now));
        text.push_str(&format!(
            "Waiting past their site's first-response target: {}\n",
            self.waiting_late.len()
        ));
        for w in self.waiting_late.iter().take(LIST_MAX) {
            text.push_str(&format!(
                "- {} on {}, waiting {} (target {}): {}\n",
                w.entry.label(),
                w.entry.site_name,
                human_duration(self.now - w.entry.waiting_since),
                human_duration(w.target_ms),
                link(&w.entry.public_id)
            ));
        }
        for (title, promises) in [
            ("Promises due today", &self.due_today),
            ("Promises overdue", &self.overdue),
        ] {
            text.push_str(&format!("\n{title}: {}\n", promises.len()));
            for p in promises.iter().take(LIST_MAX) {
                text.push_str(&format!(
                    "- {}: \"{}\", due {}: {}\n",
                    p.reference,
                    p.text,
                    date(p.due_at),
                    link(&p.entry_public_id)
                ));
            }
        }
        text.push_str(&format!("\nNew in the last 24 hours: {total}\n"));
        for (kind, n) in &self.counts {
            text.push_str(&format!("- {}: {n}\n", kind_label(kind)));
        }
        if !self.failing.is_empty() {
            text.push_str("\nWebhooks failing (see Sites in the console):\n");
            for f in &self.failing {
                text.push_str(&format!("- {} → {}\n", f.site_name, f.origin));
            }
        }
        text.push_str(&format!(
            "\nInbox: {}/console\n{}",
            self.public_url,
            footer(&self.public_url)
        ));
        let body = html! {
            h2 { "Earshot digest, " (timestamp(self.now)) }
            h3 { "Waiting past target: " (self.waiting_late.len()) }
            ul {
                @for w in self.waiting_late.iter().take(LIST_MAX) {
                    li {
                        a href=(link(&w.entry.public_id)) { (w.entry.label()) } " on " (w.entry.site_name)
                        ", waiting " (human_duration(self.now - w.entry.waiting_since))
                        " (target " (human_duration(w.target_ms)) ")"
                    }
                }
            }
            @for (title, promises) in [("Promises due today", &self.due_today), ("Promises overdue", &self.overdue)] {
                h3 { (title) ": " (promises.len()) }
                ul {
                    @for p in promises.iter().take(LIST_MAX) {
                        li { a href=(link(&p.entry_public_id)) { (p.reference) } ": “" (p.text) "”, due " (date(p.due_at)) }
                    }
                }
            }
            h3 { "New in the last 24 hours: " (total) }
            ul { @for (kind, n) in &self.counts { li { (kind_label(kind)) ": " (n) } } }
            @if !self.failing.is_empty() {
                h3 { "Webhooks failing" }
                ul { @for f in &self.failing { li { (f.site_name) " → " (f.origin) } } }
            }
            p { a href={ (self.public_url) "/console" } { "Open the inbox" } }
        };
        Outgoing {
            to: self.to.clone(),
            html: Some(page(&subject, body, Some(&self.public_url))),
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

    #[test]
    fn the_digest_lists_who_waits_promises_and_counts() {
        let digest = Digest {
            to: "ada@example.com".into(),
            now: 1_795_348_800_000,
            public_url: "https://fb.example".into(),
            waiting_late: vec![Waiting {
                entry: EntryLine {
                    public_id: "e_1".into(),
                    reference: "ES-AAAA-0001".into(),
                    kind: "complaint".into(),
                    severity: Some("blocking".into()),
                    site_name: "Fern & Fig".into(),
                    words: "x".into(),
                    waiting_since: 1_795_348_800_000 - 30 * 3_600_000,
                    waiting: true,
                },
                target_ms: 24 * 3_600_000,
            }],
            due_today: vec![],
            overdue: vec![PromiseLine {
                entry_public_id: "e_2".into(),
                reference: "ES-AAAA-0002".into(),
                text: "Refund".into(),
                due_at: 1_795_348_800_000 - 86_400_000,
            }],
            counts: vec![("complaint".into(), 3), ("idea".into(), 1)],
            failing: vec![FailingEndpoint {
                site_name: "Fern & Fig".into(),
                origin: "https://hooks.example".into(),
            }],
        }
        .outgoing();
        assert_eq!(
            digest.subject,
            "[Earshot] Digest for 2026-11-22: 1 waiting past target, 1 promise overdue"
        );
        assert!(digest.text.contains("waiting 1 d 6 h (target 1 d)"));
        assert!(digest.text.contains("Promises overdue: 1"));
        assert!(digest.text.contains("New in the last 24 hours: 4"));
        assert!(digest.text.contains("- Complaint: 3"));
        assert!(digest.text.contains("Fern & Fig → https://hooks.example"));
    }
}
