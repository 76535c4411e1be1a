//! One entry as staff see it: the customer's words, context, timeline and
//! promises.

use rusqlite::{Connection, OptionalExtension};

use crate::store::{Sqlite, StoreError};

use super::{Event, EventKind, PromiseRow};
use crate::review::workflow::Status;

/// Everything the entry page shows.
#[derive(Debug, Clone)]
pub struct EntryDetail {
    pub id: i64,
    pub public_id: String,
    pub reference: String,
    pub status_token: String,
    pub kind: String,
    pub status: Status,
    pub severity: Option<String>,
    pub message: Option<String>,
    pub expected: Option<String>,
    pub actual: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
    pub page_url: Option<String>,
    pub page_title: Option<String>,
    pub page_referrer: Option<String>,
    pub user_agent: Option<String>,
    pub language: Option<String>,
    pub timezone: Option<String>,
    pub viewport: Option<String>,
    /// What the host page added (`Earshot.setContext`), in key order.
    pub host_context: Vec<(String, String)>,
    /// Images the customer attached.
    pub attachments: Vec<crate::store::AttachmentMeta>,
    pub spam_reason: Option<String>,
    pub created_at: i64,
    pub first_response_at: Option<i64>,
    /// When the customer's latest unanswered follow-up arrived.
    pub followup_at: Option<i64>,
    pub site_name: String,
    pub site_key: String,
    pub first_response_target_ms: i64,
    /// The assignee's id and name.
    pub assignee_id: Option<i64>,
    pub assignee: Option<String>,
    pub events: Vec<Event>,
    pub promises: Vec<PromiseRow>,
    /// What became of the receipt emailed to the customer, if one was
    /// queued (on a site that sends them).
    pub receipt: Option<Receipt>,
    /// The customer left an address on a site that writes to customers on
    /// its own: closing the entry emails them (unless a reply tells them).
    pub closing_emailed: bool,
}

/// What became of an email the collector wrote to a customer on its own: a
/// receipt, or the word that their feedback was closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Receipt {
    /// Queued, or waiting to be tried again.
    Waiting,
    Sent,
    /// The relay refused it to the end: the address may not take mail.
    Failed,
    /// Given up at once: the relay cannot take its address (letters beyond
    /// ASCII before the `@`, and no SMTPUTF8), however often asked.
    Refused,
    /// Not sent: the address had its receipts for the day, the entry turned
    /// out to be spam, or (a closing word) a reply told the customer or
    /// the entry was reopened first.
    Skipped,
}

impl Receipt {
    /// From the outbox row's state, or `refused` for one failed whose
    /// address alone was refused; `None` for a state no collector writes.
    pub fn from_state(state: &str) -> Option<Receipt> {
        match state {
            "pending" => Some(Receipt::Waiting),
            "sent" | "folded" => Some(Receipt::Sent),
            "failed" => Some(Receipt::Failed),
            "refused" => Some(Receipt::Refused),
            "cancelled" => Some(Receipt::Skipped),
            _ => None,
        }
    }
}

pub(super) fn promise_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PromiseRow> {
    Ok(PromiseRow {
        id: r.get(0)?,
        entry_public_id: r.get(1)?,
        entry_reference: r.get(2)?,
        text: r.get(3)?,
        due_at: r.get(4)?,
        settled: r.get(5)?,
        settled_at: r.get(6)?,
        made_by: r.get(7)?,
        created_at: r.get(8)?,
        event_id: r.get(9)?,
        made_by_id: r.get(10)?,
        site_id: r.get(11)?,
    })
}

/// One entry as [`EntryDetail`] reads it, up to its `WHERE`; the same SQL
/// on both backends.
pub(in crate::store) const DETAIL_SELECT: &str =
    "SELECT e.id, e.public_id, e.reference, e.status_token, e.kind, e.status, e.severity,
        e.message, e.expected, e.actual, e.email, e.name, e.page_url, e.page_title,
        e.page_referrer, e.user_agent, e.language, e.timezone, e.viewport, e.spam_reason,
        e.created_at, e.first_response_at, s.name, s.first_response_minutes, e.assignee_id,
        e.context, e.followup_at, u.name,
        (SELECT CASE WHEN m.state = 'failed' AND EXISTS (
                    SELECT 1 FROM mail_attempts a WHERE a.outbox_id = m.id AND a.address_refused)
                THEN 'refused' ELSE m.state END
         FROM mail_outbox m WHERE m.entry_id = e.id AND m.kind = 'receipt'
         ORDER BY m.id DESC LIMIT 1),
        e.email IS NOT NULL AND s.receipt_email, s.key
     FROM entries e JOIN sites s ON s.id = e.site_id LEFT JOIN users u ON u.id = e.assignee_id";

/// An entry's timeline, oldest first, up to its `WHERE`; the same SQL on
/// both backends. Colleagues are named as they are named now, where the
/// event knows their account.
pub(in crate::store) const EVENTS_SELECT: &str =
    "SELECT ev.id, ev.kind, u.name, ev.body, coalesce(ou.name, ev.old_value),
        coalesce(nu.name, ev.new_value), ev.created_at,
        (SELECT m.state FROM mail_outbox m WHERE m.event_id = ev.id AND m.kind IN ('closed', 'kept')
         ORDER BY m.id DESC LIMIT 1),
        ev.actor_id, ev.old_user_id, ev.new_user_id
     FROM events ev LEFT JOIN users u ON u.id = ev.actor_id
        LEFT JOIN users ou ON ou.id = ev.old_user_id
        LEFT JOIN users nu ON nu.id = ev.new_user_id";

pub(in crate::store) const PROMISE_SELECT: &str =
    "SELECT p.id, e.public_id, e.reference, p.text, p.due_at, p.state,
        p.settled_at, u.name, p.created_at, p.event_id, p.made_by, p.site_id
     FROM promises p JOIN entries e ON e.id = p.entry_id LEFT JOIN users u ON u.id = p.made_by";

fn detail(conn: &Connection, public_id: &str) -> Result<Option<EntryDetail>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!("{DETAIL_SELECT} WHERE e.public_id = ?1"))?;
    let found = stmt
        .query_row([public_id], |r| {
            Ok(EntryDetail {
                id: r.get(0)?,
                public_id: r.get(1)?,
                reference: r.get(2)?,
                status_token: r.get(3)?,
                kind: r.get(4)?,
                status: r.get(5)?,
                severity: r.get(6)?,
                message: r.get(7)?,
                expected: r.get(8)?,
                actual: r.get(9)?,
                email: r.get(10)?,
                name: r.get(11)?,
                page_url: r.get(12)?,
                page_title: r.get(13)?,
                page_referrer: r.get(14)?,
                user_agent: r.get(15)?,
                language: r.get(16)?,
                timezone: r.get(17)?,
                viewport: r.get(18)?,
                spam_reason: r.get(19)?,
                created_at: r.get(20)?,
                first_response_at: r.get(21)?,
                site_name: r.get(22)?,
                first_response_target_ms: r.get::<_, i64>(23)?.saturating_mul(60_000),
                assignee_id: r.get(24)?,
                host_context: r
                    .get::<_, Option<String>>(25)?
                    .and_then(|json| {
                        serde_json::from_str::<std::collections::BTreeMap<String, String>>(&json)
                            .ok()
                    })
                    .map(|map| map.into_iter().collect())
                    .unwrap_or_default(),
                followup_at: r.get(26)?,
                assignee: r.get(27)?,
                receipt: r
                    .get::<_, Option<String>>(28)?
                    .as_deref()
                    .and_then(Receipt::from_state),
                closing_emailed: r.get(29)?,
                site_key: r.get(30)?,
                attachments: Vec::new(),
                events: Vec::new(),
                promises: Vec::new(),
            })
        })
        .optional()?;
    let Some(mut entry) = found else {
        return Ok(None);
    };
    entry.attachments = crate::store::attachments::for_entry(conn, entry.id)?;
    let mut stmt = conn.prepare_cached(&format!(
        "{EVENTS_SELECT} WHERE ev.entry_id = ?1 ORDER BY ev.id"
    ))?;
    let events = stmt.query_map([entry.id], |r| {
        let kind: String = r.get(1)?;
        let event = Event {
            id: r.get(0)?,
            kind: EventKind::Note,
            actor: r.get(2)?,
            body: r.get(3)?,
            old_value: r.get(4)?,
            new_value: r.get(5)?,
            created_at: r.get(6)?,
            customer_mail: r
                .get::<_, Option<String>>(7)?
                .as_deref()
                .and_then(Receipt::from_state),
            actor_id: r.get(8)?,
            old_user: r.get(9)?,
            new_user: r.get(10)?,
        };
        // The CHECK constraint admits only known kinds; skip anything else.
        Ok(EventKind::parse(&kind).map(|kind| Event { kind, ..event }))
    })?;
    for event in events {
        entry.events.extend(event?);
    }
    let mut stmt = conn.prepare_cached(&format!(
        "{PROMISE_SELECT} WHERE p.entry_id = ?1 ORDER BY p.id"
    ))?;
    entry.promises = stmt
        .query_map([entry.id], promise_from_row)?
        .collect::<Result<_, _>>()?;
    Ok(Some(entry))
}

impl Sqlite {
    /// The public id of the entry with this reference.
    pub async fn entry_by_reference(
        &self,
        reference: String,
    ) -> Result<Option<String>, StoreError> {
        self.read(move |conn| {
            Ok(conn
                .prepare_cached("SELECT public_id FROM entries WHERE reference = ?1")?
                .query_row([reference], |r| r.get(0))
                .optional()?)
        })
        .await
    }

    pub async fn entry_detail(&self, public_id: String) -> Result<Option<EntryDetail>, StoreError> {
        self.read(move |conn| detail(conn, &public_id)).await
    }
}

#[cfg(test)]
mod tests {
    use super::Receipt;

    #[test]
    fn every_state_an_email_can_be_in_says_what_became_of_a_receipt() {
        let states = [
            "pending",
            "sent",
            "folded",
            "failed",
            "refused",
            "cancelled",
        ];
        let read: Vec<Option<Receipt>> = states.into_iter().map(Receipt::from_state).collect();
        assert_eq!(
            read,
            [
                Some(Receipt::Waiting),
                Some(Receipt::Sent),
                Some(Receipt::Sent),
                Some(Receipt::Failed),
                Some(Receipt::Refused),
                Some(Receipt::Skipped),
            ]
        );
        assert_eq!(Receipt::from_state("gossip"), None);
    }
}
