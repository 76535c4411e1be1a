//! What the notification dispatcher reads and writes: notices written in
//! the same transaction as the change they describe, new entries followed
//! by a cursor, and the fan-out into the email outbox and webhook
//! deliveries, committed together with the cursor so nothing is announced
//! twice or skipped across a crash. Who wants what: `notify_prefs`.

use rusqlite::{Connection, OptionalExtension, params};

mod pending;

use super::{Sqlite, StoreError};
use crate::review::workflow::DAY;
use crate::webhooks::payload::{EntrySnapshot, PromiseDetail};
use pending::pending;

/// At most one new-entry email per colleague this often; what arrives
/// meanwhile is folded into the next.
pub const FOLD_WINDOW_MS: i64 = crate::review::workflow::MINUTE;

/// How long the email telling a customer their feedback was closed (or a
/// promise kept) waits: a status set by mistake can be undone meanwhile,
/// and a reply written just after tells them instead.
pub const CLOSED_GRACE_MS: i64 = 5 * crate::review::workflow::MINUTE;

/// The cursor over `entries` for announcing new ones.
pub(in crate::store) const ENTRIES_CURSOR: &str = "dispatched_entries";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    Status,
    Assign,
    Reply,
    PromiseMade,
    PromiseSettled,
    PromiseDue,
    PromiseOverdue,
    /// The customer wrote again; the subject is their follow-up's event.
    FollowUp,
    /// An internal note; the subject is its event. Colleagues it names
    /// (`@bo`) are emailed; it never leaves by webhook.
    Note,
}

impl NoticeKind {
    const ALL: [NoticeKind; 9] = [
        NoticeKind::Status,
        NoticeKind::Assign,
        NoticeKind::Reply,
        NoticeKind::PromiseMade,
        NoticeKind::PromiseSettled,
        NoticeKind::PromiseDue,
        NoticeKind::PromiseOverdue,
        NoticeKind::FollowUp,
        NoticeKind::Note,
    ];

    pub(in crate::store) fn as_str(self) -> &'static str {
        match self {
            NoticeKind::Status => "status",
            NoticeKind::Assign => "assign",
            NoticeKind::Reply => "reply",
            NoticeKind::PromiseMade => "promise_made",
            NoticeKind::PromiseSettled => "promise_settled",
            NoticeKind::PromiseDue => "promise_due",
            NoticeKind::PromiseOverdue => "promise_overdue",
            NoticeKind::FollowUp => "follow_up",
            NoticeKind::Note => "note",
        }
    }

    pub(in crate::store) fn parse(raw: &str) -> Option<NoticeKind> {
        NoticeKind::ALL.into_iter().find(|k| k.as_str() == raw)
    }
}

/// Something staff did (or time did) that someone may need to hear of.
#[derive(Debug, Clone)]
pub(super) struct Notice<'a> {
    pub kind: NoticeKind,
    pub entry_id: i64,
    pub actor: Option<i64>,
    /// The colleague assigned, the status change's, reply's, follow-up's
    /// or note's event, or the promise.
    pub subject: Option<i64>,
    pub old_value: Option<&'a str>,
    pub new_value: Option<&'a str>,
    pub at: i64,
}

impl Notice<'static> {
    /// The notice an internal note (timeline event `event`) leaves: only
    /// one that names a colleague has anyone to tell.
    pub(super) fn of_note(
        body: &str,
        entry_id: i64,
        actor: i64,
        event: i64,
        at: i64,
    ) -> Option<Notice<'static>> {
        crate::review::mention::names_anyone(body).then_some(Notice {
            kind: NoticeKind::Note,
            entry_id,
            actor: Some(actor),
            subject: Some(event),
            old_value: None,
            new_value: None,
            at,
        })
    }
}

/// Records a notice; call it in the transaction that made the change.
pub(super) fn notice(conn: &Connection, n: Notice<'_>) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO notices (kind, entry_id, actor_id, subject_id, old_value, new_value, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        n.kind.as_str(),
        n.entry_id,
        n.actor,
        n.subject,
        n.old_value,
        n.new_value,
        n.at
    ])?;
    Ok(())
}

/// Sites that email their customers a receipt; the same SQL on both
/// backends.
pub(in crate::store) const RECEIPT_SITES_SQL: &str = "SELECT id FROM sites WHERE receipt_email";

/// The snapshot query: an entry with its site and assignee.
pub(in crate::store) const SNAPSHOT_SELECT: &str =
    "SELECT e.id, e.site_id, e.public_id, e.reference, e.kind, e.status,
        e.severity, e.message, e.expected, e.actual, e.name, e.email, e.page_url, e.page_title,
        s.key, s.name, u.name, e.created_at
     FROM entries e JOIN sites s ON s.id = e.site_id LEFT JOIN users u ON u.id = e.assignee_id";

/// An entry's id, site and snapshot, from [`SNAPSHOT_SELECT`].
fn snapshot_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, i64, EntrySnapshot)> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        EntrySnapshot {
            public_id: r.get(2)?,
            reference: r.get(3)?,
            kind: r.get(4)?,
            status: r.get(5)?,
            severity: r.get(6)?,
            message: r.get(7)?,
            expected: r.get(8)?,
            actual: r.get(9)?,
            name: r.get(10)?,
            email: r.get(11)?,
            page_url: r.get(12)?,
            page_title: r.get(13)?,
            site_key: r.get(14)?,
            site_name: r.get(15)?,
            assignee: r.get(16)?,
            created_at: r.get(17)?,
        },
    ))
}

/// A new entry to announce.
#[derive(Debug, Clone)]
pub struct NewEntryFact {
    pub id: i64,
    pub site_id: i64,
    pub entry: EntrySnapshot,
}

/// A notice to announce, with what its messages need.
#[derive(Debug, Clone)]
pub struct NoticeFact {
    pub id: i64,
    pub kind: NoticeKind,
    pub entry_id: i64,
    pub site_id: i64,
    pub entry: EntrySnapshot,
    pub actor_id: Option<i64>,
    pub actor: Option<String>,
    pub subject: Option<i64>,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub at: i64,
    /// The words of a reply, a follow-up or a note.
    pub reply: Option<String>,
    /// Who the entry is assigned to, for a follow-up or a promise turning
    /// due (they are told).
    pub assignee_id: Option<i64>,
    /// The promise, for promise notices.
    pub promise: Option<PromiseDetail>,
}

/// An endpoint as the dispatcher needs it.
#[derive(Debug, Clone)]
pub struct EndpointRow {
    pub id: i64,
    pub site_id: i64,
    pub events: String,
    pub format: String,
    pub include_email: bool,
}

/// Everything waiting to be announced.
#[derive(Debug, Clone, Default)]
pub struct Pending {
    pub entries: Vec<NewEntryFact>,
    /// Which new entries this batch took (spam included, which is passed
    /// over but never announced): handed back with the batch's messages.
    pub taken: EntriesTaken,
    pub notices: Vec<NoticeFact>,
    /// Notices that could not be read (a row edited by hand into something
    /// no collector understands): taken off the queue with the batch rather
    /// than stopping every announcement behind them.
    pub unreadable_notices: Vec<i64>,
    pub endpoints: Vec<EndpointRow>,
    /// Sites that email their customers a receipt.
    pub receipt_sites: Vec<i64>,
}

impl Pending {
    /// Every notice the batch takes off the queue, read or not.
    pub fn notice_ids(&self) -> Vec<i64> {
        self.notices
            .iter()
            .map(|n| n.id)
            .chain(self.unreadable_notices.iter().copied())
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.taken.count() == 0 && self.notices.is_empty() && self.unreadable_notices.is_empty()
    }
}

/// The new entries a batch took, as its backend keeps track of them: a
/// cursor over ids on SQLite (one writer commits them in order), the ids
/// themselves on PostgreSQL (several writers commit in any order, so a
/// cursor could pass over one committed late). Opaque to the dispatcher.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntriesTaken(Taken);

#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::store) enum Taken {
    Cursor { from: i64, upto: i64, count: i64 },
    Queue(Vec<i64>),
}

impl Default for Taken {
    fn default() -> Taken {
        Taken::Queue(Vec::new())
    }
}

impl EntriesTaken {
    pub(in crate::store) fn new(taken: Taken) -> EntriesTaken {
        EntriesTaken(taken)
    }

    pub(in crate::store) fn taken(&self) -> &Taken {
        &self.0
    }

    /// How many entries the batch took.
    pub fn count(&self) -> i64 {
        match &self.0 {
            Taken::Cursor { count, .. } => *count,
            Taken::Queue(ids) => i64::try_from(ids.len()).unwrap_or(i64::MAX),
        }
    }
}

/// One webhook message to queue.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub webhook_id: i64,
    pub msg_id: String,
    pub event: &'static str,
    pub entry_id: i64,
    pub body: String,
}

/// What an email is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailKind {
    NewEntry,
    Assigned,
    Digest,
    Reply,
    /// The customer wrote again on an entry assigned to the recipient, or
    /// (held by no active colleague) of a kind they hear of at once.
    FollowUp,
    /// A colleague named the recipient in an internal note.
    Mention,
    /// A promise on an entry the recipient holds (or, held by no active
    /// colleague, one they made) is due within a day, or overdue.
    Promise,
    /// The customer's reference and status link, sent when their feedback
    /// arrives (on sites that send receipts).
    Receipt,
    /// The customer is told their feedback was resolved or closed without
    /// a change (on sites that send receipts), unless a reply said so.
    Closed,
    /// The customer is told a promise made to them was kept (on sites that
    /// send receipts), unless a reply said so or the entry was closed.
    Kept,
}

impl MailKind {
    /// Emails of this kind go to one colleague at most once a minute:
    /// what arrives meanwhile is folded into the next ("and N more").
    pub fn folds(self) -> bool {
        matches!(self, MailKind::NewEntry | MailKind::Assigned)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MailKind::NewEntry => "new_entry",
            MailKind::Assigned => "assigned",
            MailKind::Digest => "digest",
            MailKind::Reply => "reply",
            MailKind::FollowUp => "follow_up",
            MailKind::Receipt => "receipt",
            MailKind::Mention => "mention",
            MailKind::Promise => "promise",
            MailKind::Closed => "closed",
            MailKind::Kept => "kept",
        }
    }

    pub fn parse(raw: &str) -> Option<MailKind> {
        [
            MailKind::NewEntry,
            MailKind::Assigned,
            MailKind::Digest,
            MailKind::Reply,
            MailKind::FollowUp,
            MailKind::Receipt,
            MailKind::Mention,
            MailKind::Promise,
            MailKind::Closed,
            MailKind::Kept,
        ]
        .into_iter()
        .find(|k| k.as_str() == raw)
    }
}

/// One email to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMail {
    pub kind: MailKind,
    /// The colleague it is for; `None` for a reply to the customer.
    pub user_id: Option<i64>,
    pub entry_id: Option<i64>,
    pub event_id: Option<i64>,
    pub actor_id: Option<i64>,
}

/// A batch's fan-out, committed with what it took.
#[derive(Debug, Clone, Default)]
pub struct Dispatched {
    pub taken: EntriesTaken,
    pub notice_ids: Vec<i64>,
    pub deliveries: Vec<NewDelivery>,
    pub mails: Vec<NewMail>,
    pub at: i64,
}

fn cursor(conn: &Connection, name: &str) -> Result<i64, StoreError> {
    Ok(conn
        .prepare_cached("SELECT upto FROM cursors WHERE name = ?1")?
        .query_row([name], |r| r.get(0))
        .optional()?
        .unwrap_or(0))
}

/// Moves the announcement cursor from `from` to `upto` if it stands at
/// `from`, so the entries between are never announced.
pub(in crate::store) fn pass_over_entries(
    conn: &Connection,
    from: i64,
    upto: i64,
) -> Result<(), StoreError> {
    if cursor(conn, ENTRIES_CURSOR)? == from {
        conn.prepare_cached(
            "INSERT INTO cursors (name, upto) VALUES (?1, ?2)
             ON CONFLICT (name) DO UPDATE SET upto = excluded.upto",
        )?
        .execute(params![ENTRIES_CURSOR, upto])?;
    }
    Ok(())
}

fn complete(conn: &Connection, done: &Dispatched) -> Result<bool, StoreError> {
    let (from, upto) = match done.taken.taken() {
        Taken::Cursor { from, upto, .. } => (*from, *upto),
        Taken::Queue(ids) if ids.is_empty() => {
            let at = cursor(conn, ENTRIES_CURSOR)?;
            (at, at)
        }
        Taken::Queue(_) => return Err(StoreError::Corrupt("a batch taken elsewhere".into())),
    };
    // Only the dispatcher moves this cursor; if it moved anyway (a second
    // collector on the same file), this batch was someone else's.
    if cursor(conn, ENTRIES_CURSOR)? != from {
        return Ok(false);
    }
    conn.prepare_cached(
        "INSERT INTO cursors (name, upto) VALUES (?1, ?2)
         ON CONFLICT (name) DO UPDATE SET upto = excluded.upto",
    )?
    .execute(params![ENTRIES_CURSOR, upto])?;
    let mut delete = conn.prepare_cached("DELETE FROM notices WHERE id = ?1")?;
    for id in &done.notice_ids {
        delete.execute([id])?;
    }
    let mut insert = conn.prepare_cached(
        "INSERT INTO webhook_deliveries (webhook_id, msg_id, event, entry_id, body, created_at, due_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
    )?;
    for d in &done.deliveries {
        insert.execute(params![
            d.webhook_id,
            d.msg_id,
            d.event,
            d.entry_id,
            d.body,
            done.at
        ])?;
    }
    // An email that folds, to someone sent one of its kind within the fold
    // window, is born waiting for the window to end, so holding it costs
    // nothing later. (The kinds are spelt out: a partial index is used only
    // for the literal it names.) A closing email waits out its grace from
    // the close, a kept promise's from when it was kept.
    let mut insert = conn.prepare_cached(
        "INSERT INTO mail_outbox (kind, user_id, entry_id, event_id, actor_id, created_at, due_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, CASE ?1
             WHEN 'new_entry' THEN max(?6, coalesce((SELECT max(sent_at) FROM mail_outbox
                 WHERE user_id = ?2 AND kind = 'new_entry' AND state = 'sent') + ?7, ?6))
             WHEN 'assigned' THEN max(?6, coalesce((SELECT max(sent_at) FROM mail_outbox
                 WHERE user_id = ?2 AND kind = 'assigned' AND state = 'sent') + ?7, ?6))
             WHEN 'closed' THEN coalesce((SELECT created_at FROM events WHERE id = ?4), ?6) + ?8
             WHEN 'kept' THEN coalesce((SELECT settled_at FROM promises WHERE event_id = ?4), ?6) + ?8
             ELSE ?6 END)",
    )?;
    for m in &done.mails {
        insert.execute(params![
            m.kind.as_str(),
            m.user_id,
            m.entry_id,
            m.event_id,
            m.actor_id,
            done.at,
            FOLD_WINDOW_MS,
            CLOSED_GRACE_MS
        ])?;
    }
    Ok(true)
}

impl Sqlite {
    /// Up to `limit` new entries and notices waiting to be announced.
    pub async fn pending_dispatch(&self, limit: i64) -> Result<Pending, StoreError> {
        self.read(move |conn| pending(conn, limit)).await
    }

    /// Queues a batch's messages and advances past it, in one transaction.
    /// `false` when the batch had already been taken.
    pub async fn complete_dispatch(&self, done: Dispatched) -> Result<bool, StoreError> {
        self.write(move |conn| complete(conn, &done)).await
    }

    /// Writes notices for open promises that turned due soon (a day ahead)
    /// or overdue, once each; returns how many.
    pub async fn notice_promises(&self, now: i64) -> Result<usize, StoreError> {
        self.write(move |conn| {
            let mut count = 0;
            for (kind, column, condition) in [
                (
                    NoticeKind::PromiseDue,
                    "due_noticed_at",
                    "due_at - ?1 <= ?2 AND due_at >= ?2",
                ),
                (
                    NoticeKind::PromiseOverdue,
                    "overdue_noticed_at",
                    "due_at < ?2",
                ),
            ] {
                let found: Vec<(i64, i64)> = conn
                    .prepare_cached(&format!(
                        "SELECT id, entry_id FROM promises
                         WHERE state = 'open' AND {column} IS NULL AND {condition}"
                    ))?
                    .query_map(params![DAY, now], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<Result<_, _>>()?;
                for (promise_id, entry_id) in found {
                    conn.prepare_cached(&format!(
                        "UPDATE promises SET {column} = ?2 WHERE id = ?1"
                    ))?
                    .execute(params![promise_id, now])?;
                    notice(
                        conn,
                        Notice {
                            kind,
                            entry_id,
                            actor: None,
                            subject: Some(promise_id),
                            old_value: None,
                            new_value: None,
                            at: now,
                        },
                    )?;
                    count += 1;
                }
            }
            Ok(count)
        })
        .await
    }

    /// Queues the digest of everyone whose digest is due
    /// ([`Prefs::digest_day`](crate::notify::Prefs::digest_day)), whose account is older than its hour
    /// ([`Prefs::digest_scheduled`](crate::notify::Prefs::digest_scheduled)) and who has not had it yet; returns
    /// how many.
    pub async fn queue_digests(&self, now: i64) -> Result<usize, StoreError> {
        self.write(move |conn| {
            let mut queued = 0;
            for (user, prefs) in super::notify_prefs::staff_prefs(conn)? {
                let Some((day, scheduled)) = prefs
                    .digest_day(now)
                    .and_then(|day| Some((day, prefs.digest_scheduled(day)?)))
                else {
                    continue;
                };
                queued += conn
                    .prepare_cached(
                        "INSERT INTO mail_outbox (kind, user_id, day, created_at, due_at)
                         SELECT 'digest', id, ?2, ?3, ?3 FROM users
                         WHERE id = ?1 AND created_at <= ?4
                         ON CONFLICT DO NOTHING",
                    )?
                    .execute(params![user.id, day, now, scheduled])?;
            }
            Ok(queued)
        })
        .await
    }
}
