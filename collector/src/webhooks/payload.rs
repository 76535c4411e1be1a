//! Message bodies, built once when the message is queued so every retry
//! sends the same bytes. Standard bodies stay under 20 KB: the longest text
//! is cut (and `truncated` set) until they fit; the console link always
//! leads to the whole entry.

use serde_json::{Value, json};

use super::{EventType, Format};
use crate::clock::rfc3339;

/// Largest standard body.
pub const MAX_BODY_BYTES: usize = 20_000;
/// Customer words quoted in a chat message.
const CHAT_QUOTE_CHARS: usize = 500;

/// The entry as a message shows it, read when the message is queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntrySnapshot {
    pub public_id: String,
    pub reference: String,
    pub kind: String,
    pub status: String,
    pub severity: Option<String>,
    pub message: Option<String>,
    pub expected: Option<String>,
    pub actual: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub page_url: Option<String>,
    pub page_title: Option<String>,
    pub site_key: String,
    pub site_name: String,
    pub assignee: Option<String>,
    pub created_at: i64,
}

/// What a promise message is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromiseDetail {
    pub id: i64,
    pub text: String,
    pub due_at: i64,
    /// `kept` or `broken`, once settled.
    pub outcome: Option<String>,
    /// The reply that made it, and who wrote that reply: whom to remind
    /// when it turns due (never sent in a message).
    pub event_id: i64,
    pub made_by: Option<i64>,
}

/// What happened, beyond the entry itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Detail {
    Created,
    StatusChanged {
        from: String,
        to: String,
        actor: Option<String>,
    },
    /// Names with their accounts: colleagues may share a name.
    Assigned {
        assignee: Option<String>,
        assignee_id: Option<i64>,
        actor: Option<String>,
        actor_id: Option<i64>,
    },
    Replied {
        body: String,
        actor: Option<String>,
    },
    /// The customer wrote again from their status page.
    FollowedUp {
        body: String,
    },
    Promise(PromiseDetail),
}

/// One event about one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub event: EventType,
    /// When it happened (Unix ms).
    pub at: i64,
    pub entry: EntrySnapshot,
    pub detail: Detail,
}

/// Where staff open an entry.
pub fn console_link(public_url: &str, public_id: &str) -> String {
    format!("{public_url}/console/entries/{public_id}")
}

fn entry_json(entry: &EntrySnapshot, include_email: bool, public_url: &str) -> Value {
    let mut value = json!({
        "id": entry.public_id,
        "reference": entry.reference,
        "kind": entry.kind,
        "status": entry.status,
        "severity": entry.severity,
        "message": entry.message,
        "expected": entry.expected,
        "actual": entry.actual,
        "name": entry.name,
        "page": {"url": entry.page_url, "title": entry.page_title},
        "site": {"key": entry.site_key, "name": entry.site_name},
        "assignee": entry.assignee,
        "created_at": rfc3339(entry.created_at),
        "links": {"console": console_link(public_url, &entry.public_id)}
    });
    if include_email {
        value["email"] = json!(entry.email);
    }
    value
}

fn data(message: &Message, include_email: bool, public_url: &str) -> Value {
    let mut data = json!({"entry": entry_json(&message.entry, include_email, public_url)});
    match &message.detail {
        Detail::Created => {}
        Detail::StatusChanged { from, to, actor } => {
            data["from"] = json!(from);
            data["to"] = json!(to);
            data["actor"] = json!(actor);
        }
        Detail::Assigned {
            assignee,
            assignee_id,
            actor,
            actor_id,
        } => {
            data["assignee"] = json!(assignee);
            data["assignee_id"] = json!(assignee_id);
            data["actor"] = json!(actor);
            data["actor_id"] = json!(actor_id);
        }
        Detail::Replied { body, actor } => {
            data["reply"] = json!({"body": body});
            data["actor"] = json!(actor);
        }
        Detail::FollowedUp { body } => {
            data["follow_up"] = json!({"body": body});
        }
        Detail::Promise(p) => {
            data["promise"] = json!({
                "id": p.id,
                "text": p.text,
                "due_at": rfc3339(p.due_at),
                "outcome": p.outcome,
            });
        }
    }
    data
}

/// Cuts the longest of the long texts in half (on a character boundary).
fn shorten_longest(data: &mut Value) -> bool {
    let paths: [&[&str]; 5] = [
        &["entry", "message"],
        &["entry", "expected"],
        &["entry", "actual"],
        &["reply", "body"],
        &["follow_up", "body"],
    ];
    let longest = paths
        .iter()
        .filter_map(|path| {
            let mut v = &*data;
            for key in *path {
                v = v.get(key)?;
            }
            Some((*path, v.as_str()?.len()))
        })
        .max_by_key(|(_, len)| *len);
    let Some((path, _)) = longest.filter(|(_, len)| *len > 1) else {
        return false;
    };
    let mut v = &mut *data;
    for key in path {
        v = &mut v[*key];
    }
    if let Some(text) = v.as_str() {
        let keep: String = text.chars().take(text.chars().count() / 2).collect();
        *v = json!(format!("{keep}…"));
    }
    true
}

/// The body for an endpoint of `format`.
pub fn body(message: &Message, format: Format, include_email: bool, public_url: &str) -> String {
    match format {
        Format::Standard => standard(message, include_email, public_url),
        Format::Slack => slack(message, public_url),
    }
}

fn standard(message: &Message, include_email: bool, public_url: &str) -> String {
    let mut data = data(message, include_email, public_url);
    loop {
        let body = json!({
            "type": message.event.as_str(),
            "timestamp": rfc3339(message.at),
            "data": data,
        })
        .to_string();
        if body.len() <= MAX_BODY_BYTES || !shorten_longest(&mut data) {
            return body;
        }
        data["truncated"] = json!(true);
    }
}

/// Slack's mrkdwn treats `&`, `<` and `>` as markup (`<!channel>`, a
/// hidden link); Mattermost also takes a plain `@channel`, `@all` or
/// `@someone` in a webhook's text as a mention, and Markdown's
/// `[words](url)` as a link that hides its address (or `![…](url)` as an
/// image fetched from the customer's server). Customer text is shown as
/// written, never as a hidden link or a mention: an `@` that starts a word
/// and every `]` are followed by an invisible word joiner, which no
/// mention matches and which keeps a `]` from opening a link's address or
/// label (`[words]⁠(url)`, `[words]⁠[label]`, `[label]⁠: url`).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut previous: Option<char> = None;
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            _ => out.push(c),
        }
        if c == ']' || (c == '@' && !previous.is_some_and(char::is_alphanumeric)) {
            out.push(WORD_JOINER);
        }
        previous = Some(c);
    }
    out
}

/// U+2060: joins without showing or allowing a line break.
const WORD_JOINER: char = '\u{2060}';

fn quote(text: &str) -> String {
    let cut: String = text.chars().take(CHAT_QUOTE_CHARS).collect();
    let cut = if cut.len() < text.len() {
        format!("{cut}…")
    } else {
        cut
    };
    escape(&cut)
        .lines()
        .map(|l| format!("> {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn slack(message: &Message, public_url: &str) -> String {
    let e = &message.entry;
    let kind = crate::review::kind_label(&e.kind);
    let who = |actor: &Option<String>| escape(actor.as_deref().unwrap_or("Someone"));
    let headline = match &message.detail {
        Detail::Created => format!("New {} on {}", kind.to_lowercase(), escape(&e.site_name)),
        Detail::StatusChanged { from, to, actor } => format!(
            "{} moved {} from {} to {}",
            who(actor),
            e.reference,
            escape(from),
            escape(to)
        ),
        Detail::Assigned {
            assignee,
            assignee_id,
            actor,
            actor_id,
        } => match assignee {
            Some(_) if assignee_id.is_some() && assignee_id == actor_id => {
                format!("{} took {} on", who(actor), e.reference)
            }
            // Colleagues may share a name; a channel must not read as if
            // Ann gave the entry to herself when she gave it to another Ann.
            Some(to) if actor.as_deref() == Some(to.as_str()) => {
                format!(
                    "{} assigned {} to another {}",
                    who(actor),
                    e.reference,
                    escape(to)
                )
            }
            Some(to) => format!("{} assigned {} to {}", who(actor), e.reference, escape(to)),
            None => format!("{} unassigned {}", who(actor), e.reference),
        },
        Detail::Replied { actor, .. } => format!("{} replied to {}", who(actor), e.reference),
        Detail::FollowedUp { .. } => format!("The customer wrote again on {}", e.reference),
        Detail::Promise(p) => {
            let what = match message.event {
                EventType::PromiseMade => "Promise made",
                EventType::PromiseDue => "Promise due soon",
                EventType::PromiseOverdue => "Promise overdue",
                _ => "Promise settled",
            };
            let outcome = p
                .outcome
                .as_deref()
                .map(|o| format!(" ({o})"))
                .unwrap_or_default();
            format!(
                "{what} on {}: \u{201c}{}\u{201d}, due {}{outcome}",
                e.reference,
                escape(&p.text),
                crate::clock::date(p.due_at)
            )
        }
    };
    let words = match (&e.expected, &e.actual) {
        (Some(expected), Some(actual)) => format!(
            "*Expected*\n{}\n*Happened*\n{}",
            quote(expected),
            quote(actual)
        ),
        _ => e.message.as_deref().map(quote).unwrap_or_default(),
    };
    let link = console_link(public_url, &e.public_id);
    let text = format!("*{headline}*\n{words}");
    json!({
        // Slack shows the blocks and puts this in notifications; Mattermost
        // takes no blocks and shows only this, so it carries the words and
        // the link too.
        "text": format!("*{headline}* ({})\n{words}\n<{link}|Open in Earshot>", e.reference),
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": text}},
            {"type": "context", "elements": [
                {"type": "mrkdwn", "text": format!("{} · {} · {} · <{link}|Open in Earshot>", e.reference, kind, escape(&e.status))}
            ]}
        ]
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> EntrySnapshot {
        EntrySnapshot {
            public_id: "e_1".into(),
            reference: "ES-AAAA-BBBB".into(),
            kind: "expectation".into(),
            status: "new".into(),
            severity: Some("blocking".into()),
            message: None,
            expected: Some("Free shipping over €50".into()),
            actual: Some("Charged <b>€4.90</b> & more".into()),
            name: Some("Ana".into()),
            email: Some("ana@example.com".into()),
            page_url: Some("https://shop.example/checkout".into()),
            page_title: None,
            site_key: "site_x".into(),
            site_name: "Fern & Fig".into(),
            assignee: None,
            created_at: 1_795_348_800_000,
        }
    }

    fn created() -> Message {
        Message {
            event: EventType::EntryCreated,
            at: 1_795_348_800_000,
            entry: entry(),
            detail: Detail::Created,
        }
    }

    #[test]
    fn a_standard_body_has_type_timestamp_and_the_entrys_public_fields() {
        let body = body(&created(), Format::Standard, false, "https://fb.example");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["type"], "entry.created");
        assert_eq!(v["timestamp"], "2026-11-22T12:00:00Z");
        assert_eq!(v["data"]["entry"]["reference"], "ES-AAAA-BBBB");
        assert_eq!(v["data"]["entry"]["expected"], "Free shipping over €50");
        assert_eq!(
            v["data"]["entry"]["links"]["console"],
            "https://fb.example/console/entries/e_1"
        );
        assert!(
            v["data"]["entry"].get("email").is_none(),
            "only when configured"
        );
        let with_email = super::body(&created(), Format::Standard, true, "https://fb.example");
        assert!(with_email.contains("ana@example.com"));
    }

    fn assigned(assignee_id: i64, actor_id: i64) -> Message {
        Message {
            event: EventType::EntryAssigned,
            detail: Detail::Assigned {
                assignee: Some("Ann".into()),
                assignee_id: Some(assignee_id),
                actor: Some("Ann".into()),
                actor_id: Some(actor_id),
            },
            ..created()
        }
    }

    /// Colleagues may share a name: their ids say who is who, and taking
    /// an entry on yourself reads as such.
    #[test]
    fn an_assignment_names_its_colleagues_with_their_ids() {
        let body = body(
            &assigned(2, 1),
            Format::Standard,
            false,
            "https://fb.example",
        );
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            (
                &v["data"]["assignee"],
                &v["data"]["assignee_id"],
                &v["data"]["actor"],
                &v["data"]["actor_id"]
            ),
            (&json!("Ann"), &json!(2), &json!("Ann"), &json!(1))
        );
        let headline = |message: &Message| -> String {
            let slack: Value = serde_json::from_str(&super::body(
                message,
                Format::Slack,
                false,
                "https://fb.example",
            ))
            .unwrap();
            slack["text"]
                .as_str()
                .unwrap()
                .lines()
                .next()
                .unwrap()
                .to_owned()
        };
        assert_eq!(
            headline(&assigned(2, 1)),
            "*Ann assigned ES-AAAA-BBBB to another Ann* (ES-AAAA-BBBB)"
        );
        assert_eq!(
            headline(&assigned(1, 1)),
            "*Ann took ES-AAAA-BBBB on* (ES-AAAA-BBBB)"
        );
        let mut to_bo = assigned(2, 1);
        if let Detail::Assigned { assignee, .. } = &mut to_bo.detail {
            *assignee = Some("Bo".into());
        }
        assert_eq!(
            headline(&to_bo),
            "*Ann assigned ES-AAAA-BBBB to Bo* (ES-AAAA-BBBB)"
        );
    }

    #[test]
    fn long_words_are_cut_to_keep_the_body_under_20_kb() {
        let mut message = created();
        message.entry.kind = "complaint".into();
        message.entry.expected = None;
        message.entry.actual = None;
        message.entry.message = Some("😀".repeat(5_000));
        let body = body(&message, Format::Standard, false, "https://fb.example");
        assert!(body.len() <= MAX_BODY_BYTES, "{}", body.len());
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["data"]["truncated"], true);
        assert!(
            v["data"]["entry"]["message"]
                .as_str()
                .unwrap()
                .ends_with('…')
        );
        let short = super::body(&created(), Format::Standard, false, "https://fb.example");
        assert!(!short.contains("truncated"));
    }

    #[test]
    fn a_mention_in_customer_text_mentions_nobody_and_an_address_stays_whole() {
        assert_eq!(
            escape("@channel @all (@bo) pay <me> & write to ana@example.com"),
            "@\u{2060}channel @\u{2060}all (@\u{2060}bo) pay &lt;me&gt; &amp; write to ana@example.com"
        );
    }

    #[test]
    fn a_markdown_link_in_customer_text_shows_its_words_and_links_nowhere() {
        assert_eq!(
            escape(
                "[Reset](https://evil.example) ![x](https://evil.example/p.png) [a][b]\n[b]: https://evil.example"
            ),
            "[Reset]\u{2060}(https://evil.example) ![x]\u{2060}(https://evil.example/p.png) [a]\u{2060}[b]\u{2060}\n[b]\u{2060}: https://evil.example"
        );
    }

    #[test]
    fn a_slack_message_escapes_customer_text_and_links_to_the_console() {
        let body = body(&created(), Format::Slack, false, "https://fb.example");
        let v: Value = serde_json::from_str(&body).unwrap();
        // What Mattermost shows, which takes no blocks: all of it.
        let text = v["text"].as_str().unwrap();
        assert!(
            text.starts_with("*New expectation on Fern &amp; Fig* (ES-AAAA-BBBB)\n"),
            "{text}"
        );
        assert!(
            text.contains("&lt;b&gt;€4.90&lt;/b&gt; &amp; more"),
            "{text}"
        );
        assert!(
            text.ends_with("\n<https://fb.example/console/entries/e_1|Open in Earshot>"),
            "{text}"
        );
        let section = v["blocks"][0]["text"]["text"].as_str().unwrap();
        assert!(
            section.contains("&lt;b&gt;€4.90&lt;/b&gt; &amp; more"),
            "{section}"
        );
        assert!(!section.contains("<b>"));
        let context = v["blocks"][1]["elements"][0]["text"].as_str().unwrap();
        assert!(context.contains("<https://fb.example/console/entries/e_1|Open in Earshot>"));
        assert!(!body.contains("ana@example.com"));
    }
}
