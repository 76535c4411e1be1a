//! What an email to a customer is written from: who it goes to, the entry
//! it is about, and whether it should still go (a receipt, a reply, a close
//! or a promise kept). Each query reads the customer's columns first, and
//! counts what went to the same address lately where anyone could have
//! typed that address.

use rusqlite::{OptionalExtension, named_params};

use super::notify::MailKind;
use super::{Sqlite, StoreError};

/// Who an email to a customer goes to, and the entry it is about: what
/// every such email's query reads first, in this order (`e.email, s.name,
/// e.reference, e.public_id, e.status_token, e.language`).
#[derive(Debug, Clone)]
pub struct CustomerParts {
    pub to: String,
    pub site_name: String,
    pub reference: String,
    pub public_id: String,
    pub status_token: String,
    /// The customer's browser's language tag, as the entry holds it.
    pub language: Option<String>,
}

/// How many columns [`CustomerParts`] takes.
pub(in crate::store) const CUSTOMER_COLUMNS: usize = 6;

impl CustomerParts {
    fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CustomerParts> {
        Ok(CustomerParts {
            to: r.get(0)?,
            site_name: r.get(1)?,
            reference: r.get(2)?,
            public_id: r.get(3)?,
            status_token: r.get(4)?,
            language: r.get(5)?,
        })
    }
}

/// A reply email's parts.
#[derive(Debug, Clone)]
pub struct ReplyParts {
    pub customer: CustomerParts,
    pub body: String,
    pub promise: Option<(String, i64)>,
}

/// A reply email's parts, if the customer left an address. The same SQL
/// on both backends.
pub(in crate::store) const REPLY_SQL: &str =
    "SELECT e.email, s.name, e.reference, e.public_id, e.status_token, e.language,
        ev.body, p.text, p.due_at
     FROM events ev JOIN entries e ON e.id = ev.entry_id
     JOIN sites s ON s.id = e.site_id
     LEFT JOIN promises p ON p.event_id = ev.id
     WHERE ev.id = $1 AND ev.kind = 'reply' AND e.email IS NOT NULL";

/// A receipt email's parts.
#[derive(Debug, Clone)]
pub struct ReceiptParts {
    pub customer: CustomerParts,
    /// What the site tells customers to expect.
    pub response_promise: Option<String>,
    /// Receipts sent to the same address (trimmed, any case) since the
    /// time asked about.
    pub sent_lately: i64,
}

/// How many emails of `kind` went since `$2` to entry `e`'s address
/// (trimmed, any case): anyone can type anyone's address into a widget, so
/// what is written to an address on its own is counted by address. Seeks
/// the address's entries through `entries_email_key`, then each one's
/// emails through `mail_outbox_entry`.
fn sent_to_address(kind: MailKind) -> String {
    format!(
        "(SELECT count(*) FROM entries o JOIN mail_outbox m ON m.entry_id = o.id
          WHERE o.email_key = e.email_key
            AND m.kind = '{}' AND m.state = 'sent' AND m.sent_at >= $2)",
        kind.as_str()
    )
}

/// A receipt's parts (entry `$1`), if the entry still wants one: it has an
/// address, is not spam and its site still sends receipts; with the
/// receipts its address was sent since `$2`. The same SQL on both
/// backends.
pub(in crate::store) fn receipt_sql() -> String {
    format!(
        "SELECT e.email, s.name, e.reference, e.public_id, e.status_token, e.language,
            s.response_promise, {}
         FROM entries e JOIN sites s ON s.id = e.site_id
         WHERE e.id = $1 AND e.email IS NOT NULL AND e.status <> 'spam' AND s.receipt_email",
        sent_to_address(MailKind::Receipt)
    )
}

/// What the email telling a customer their feedback was closed says.
#[derive(Debug, Clone)]
pub struct ClosedParts {
    pub customer: CustomerParts,
    /// Resolved, rather than closed without a change (won't fix).
    pub resolved: bool,
    /// Closing emails sent to the same address (trimmed, any case) since
    /// the time asked about.
    pub sent_lately: i64,
}

/// A reply this close to a closing (before it, or any time after) has
/// told the customer: the closing email is not sent.
pub const REPLY_TELLS_MS: i64 = 10 * crate::review::workflow::MINUTE;

/// A closing email's parts, if it should still go: the status change
/// (`$1`, its event) stands (nothing changed the status since), the
/// customer left an address, the site sends receipts, and no reply came
/// within `$3` ms before it or since; with the closing emails its address
/// was sent since `$2`. The same SQL on both backends.
pub(in crate::store) fn closed_sql() -> String {
    format!(
        "SELECT e.email, s.name, e.reference, e.public_id, e.status_token, e.language,
            ev.new_value = 'resolved', {}
         FROM events ev JOIN entries e ON e.id = ev.entry_id JOIN sites s ON s.id = e.site_id
         WHERE ev.id = $1 AND ev.kind = 'status' AND ev.new_value IN ('resolved', 'wont_fix')
           AND e.status = ev.new_value AND e.email IS NOT NULL AND s.receipt_email
           AND NOT EXISTS (SELECT 1 FROM events later
                           WHERE later.entry_id = e.id AND later.id > ev.id AND later.kind = 'status')
           AND NOT EXISTS (SELECT 1 FROM events r
                           WHERE r.entry_id = e.id AND r.kind = 'reply'
                             AND r.created_at >= ev.created_at - $3)",
        sent_to_address(MailKind::Closed)
    )
}

/// What the email telling a customer a promise was kept says.
#[derive(Debug, Clone)]
pub struct KeptParts {
    pub customer: CustomerParts,
    /// The promise, in the words it was made in.
    pub promise: String,
    /// Such emails sent to the same address (trimmed, any case) since the
    /// time asked about.
    pub sent_lately: i64,
}

/// A kept promise's email parts (the promise made by reply event `$1`), if
/// it should still go: it was kept, the customer left an address, the site
/// sends receipts, the entry is not closed (the closing email tells them
/// that) and no reply came within `$3` ms before it was kept or since;
/// with such emails its address was sent since `$2`. The same SQL on both
/// backends.
pub(in crate::store) fn kept_sql() -> String {
    format!(
        "SELECT e.email, s.name, e.reference, e.public_id, e.status_token, e.language,
            p.text, {}
         FROM promises p JOIN entries e ON e.id = p.entry_id JOIN sites s ON s.id = e.site_id
         WHERE p.event_id = $1 AND p.state = 'kept'
           AND e.status NOT IN ('resolved', 'wont_fix', 'spam')
           AND e.email IS NOT NULL AND s.receipt_email
           AND NOT EXISTS (SELECT 1 FROM events r
                           WHERE r.entry_id = e.id AND r.kind = 'reply'
                             AND r.created_at >= p.settled_at - $3)",
        sent_to_address(MailKind::Kept)
    )
}

impl Sqlite {
    /// What a reply email says, if the customer left an address.
    pub async fn reply_parts(&self, event_id: i64) -> Result<Option<ReplyParts>, StoreError> {
        self.read(move |conn| {
            Ok(conn
                .prepare_cached(REPLY_SQL)?
                .query_row([event_id], |r| {
                    let c = CUSTOMER_COLUMNS;
                    let promise = match (r.get::<_, Option<String>>(c + 1)?, r.get(c + 2)?) {
                        (Some(text), Some(due)) => Some((text, due)),
                        _ => None,
                    };
                    Ok(ReplyParts {
                        customer: CustomerParts::from_row(r)?,
                        body: r.get::<_, Option<String>>(c)?.unwrap_or_default(),
                        promise,
                    })
                })
                .optional()?)
        })
        .await
    }

    /// What a receipt email for entry `entry_id` says, if it should go,
    /// with how many receipts its address was sent since `since`.
    pub async fn receipt_parts(
        &self,
        entry_id: i64,
        since: i64,
    ) -> Result<Option<ReceiptParts>, StoreError> {
        self.read(move |conn| {
            Ok(conn
                .prepare_cached(&receipt_sql())?
                // By name: `$2` comes first in the text, and SQLite numbers
                // named parameters in order of appearance.
                .query_row(named_params! {"$1": entry_id, "$2": since}, |r| {
                    Ok(ReceiptParts {
                        customer: CustomerParts::from_row(r)?,
                        response_promise: r.get(CUSTOMER_COLUMNS)?,
                        sent_lately: r.get(CUSTOMER_COLUMNS + 1)?,
                    })
                })
                .optional()?)
        })
        .await
    }

    /// What the email telling a customer their feedback was closed (by
    /// status event `event_id`) says, if it should still go, with how many
    /// closing emails its address was sent since `since`.
    pub async fn closed_parts(
        &self,
        event_id: i64,
        since: i64,
    ) -> Result<Option<ClosedParts>, StoreError> {
        self.read(move |conn| {
            let params = named_params! {"$1": event_id, "$2": since, "$3": REPLY_TELLS_MS};
            Ok(conn
                .prepare_cached(&closed_sql())?
                .query_row(params, |r| {
                    Ok(ClosedParts {
                        customer: CustomerParts::from_row(r)?,
                        resolved: r.get(CUSTOMER_COLUMNS)?,
                        sent_lately: r.get(CUSTOMER_COLUMNS + 1)?,
                    })
                })
                .optional()?)
        })
        .await
    }

    /// What the email telling a customer the promise made by reply event
    /// `event_id` was kept says, if it should still go, with how many such
    /// emails its address was sent since `since`.
    pub async fn kept_parts(
        &self,
        event_id: i64,
        since: i64,
    ) -> Result<Option<KeptParts>, StoreError> {
        self.read(move |conn| {
            let params = named_params! {"$1": event_id, "$2": since, "$3": REPLY_TELLS_MS};
            Ok(conn
                .prepare_cached(&kept_sql())?
                .query_row(params, |r| {
                    Ok(KeptParts {
                        customer: CustomerParts::from_row(r)?,
                        promise: r.get(CUSTOMER_COLUMNS)?,
                        sent_lately: r.get(CUSTOMER_COLUMNS + 1)?,
                    })
                })
                .optional()?)
        })
        .await
    }
}
