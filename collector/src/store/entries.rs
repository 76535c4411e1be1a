//! Feedback entries.

use earshot_protocol::Submission;
use rusqlite::{Connection, OptionalExtension, params};

use super::{Sqlite, StoreError};
use crate::abuse::SpamReason;
use crate::auth::constant_time_eq;
use crate::ids;

/// A validated submission bound to a known site.
#[derive(Debug, Clone)]
pub struct NewEntry {
    pub site_id: i64,
    pub submission: Submission,
    /// Daily-rotated keyed hash of the client IP (never the IP itself).
    pub ip_hash: Option<String>,
    /// Set when the entry looks automated; it is stored with status `spam`.
    pub spam: Option<SpamReason>,
    /// When it arrived (Unix ms, from the collector's clock).
    pub received_at: i64,
}

impl NewEntry {
    /// The status it is stored with: `spam` when it looks automated.
    pub fn status(&self) -> &'static str {
        if self.spam.is_some() { "spam" } else { "new" }
    }

    /// Its email as entries are matched by it ([`crate::person::email_key`]).
    pub fn email_key(&self) -> Option<String> {
        self.submission
            .email
            .as_ref()
            .map(|e| crate::person::email_key(e.as_str()))
    }
}

/// What the customer is told after submitting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inserted {
    pub public_id: String,
    pub reference: String,
    pub status_token: String,
    /// True when the idempotency key matched an earlier entry.
    pub replayed: bool,
}

impl Inserted {
    /// Fresh ids for an entry created at `at` (Unix ms): the public id, the
    /// reference and the status link's secret, drawn again on a collision.
    pub(super) fn drawn(at: i64) -> Inserted {
        Inserted {
            public_id: ids::public_id(at),
            reference: ids::reference(at),
            status_token: ids::status_token(),
            replayed: false,
        }
    }
}

/// An optional text field as the database takes it.
pub(super) fn text(t: &Option<earshot_protocol::submission::Text>) -> Option<&str> {
    t.as_ref().map(|t| t.as_str())
}

/// An entry as the customer's status page shows it.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The internal id: a key for per-entry limits, never shown.
    pub id: i64,
    pub reference: String,
    pub kind: String,
    pub message: Option<String>,
    pub expected: Option<String>,
    pub actual: Option<String>,
    pub status: String,
    pub created_at: i64,
    pub site_name: String,
    /// The customer's browser language (`pt-BR`), for the status page.
    pub language: Option<String>,
    /// Whether they gave an email address (replies reach them there too);
    /// the address itself never leaves the console.
    pub has_email: bool,
}

/// Attempts at a fresh reference before giving up. Within one tenth of a
/// second a reference has 15 random bits: at a thousand submissions in that
/// tenth a draw collides 3% of the time, eight in a row practically never.
pub(super) const ID_ATTEMPTS: usize = 8;

fn find_by_idempotency_key(
    conn: &Connection,
    site_id: i64,
    key: &str,
) -> Result<Option<Inserted>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT public_id, reference, status_token FROM entries WHERE site_id = ?1 AND idempotency_key = ?2",
    )?;
    Ok(stmt
        .query_row(params![site_id, key], |r| {
            Ok(Inserted {
                public_id: r.get(0)?,
                reference: r.get(1)?,
                status_token: r.get(2)?,
                replayed: true,
            })
        })
        .optional()?)
}

fn insert(conn: &Connection, entry: &NewEntry) -> Result<Inserted, StoreError> {
    let s = &entry.submission;
    let key = s.idempotency_key.as_ref().map(|k| k.as_str());
    if let Some(key) = key
        && let Some(existing) = find_by_idempotency_key(conn, entry.site_id, key)?
    {
        return Ok(existing);
    }
    let mut stmt = conn.prepare_cached(
        "INSERT INTO entries (public_id, reference, status_token, site_id, kind, message, expected, actual,
            email, page_url, page_title, page_referrer, user_agent, language, timezone, viewport,
            idempotency_key, created_at, ip_hash, spam_reason, status, severity, name, context, email_key)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25)",
    )?;
    // Creation times never go backwards, even if the system clock does: the
    // console relies on id order being time order (date filters become id
    // ranges). One index seek on `entries_created`.
    let latest: Option<i64> = conn
        .prepare_cached("SELECT max(created_at) FROM entries")?
        .query_row([], |r| r.get(0))?;
    let now = entry.received_at.max(latest.unwrap_or(i64::MIN));
    let context = host_context_json(&s.context);
    let email_key = entry.email_key();
    for _ in 0..ID_ATTEMPTS {
        let inserted = Inserted::drawn(now);
        let result = stmt.execute(params![
            inserted.public_id,
            inserted.reference,
            inserted.status_token,
            entry.site_id,
            s.kind.as_str(),
            s.body.message(),
            s.body.expected(),
            s.body.actual(),
            s.email.as_ref().map(|e| e.as_str()),
            s.page.url.as_ref().map(|u| u.as_str()),
            text(&s.page.title),
            s.page.referrer.as_ref().map(|u| u.as_str()),
            text(&s.client.user_agent),
            text(&s.client.language),
            text(&s.client.timezone),
            text(&s.client.viewport),
            key,
            now,
            entry.ip_hash,
            entry.spam.map(SpamReason::as_str),
            entry.status(),
            s.severity.map(|v| v.as_str()),
            text(&s.name),
            context,
            email_key,
        ]);
        match result {
            Ok(_) => return Ok(inserted),
            // A random id collided with an existing one: draw again.
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE => {}
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::IdExhausted)
}

/// The host's context as a JSON object, or `None` when there is none.
pub(super) fn host_context_json(context: &earshot_protocol::HostContext) -> Option<String> {
    if context.is_empty() {
        return None;
    }
    let object: serde_json::Map<String, serde_json::Value> = context
        .entries()
        .map(|(k, v)| (k.to_owned(), serde_json::Value::from(v)))
        .collect();
    Some(serde_json::Value::Object(object).to_string())
}

fn by_status_link(
    conn: &Connection,
    public_id: &str,
    secret: &str,
) -> Result<Option<Entry>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT e.reference, e.kind, e.message, e.expected, e.actual, e.status, e.created_at, s.name,
                e.status_token, e.language, e.id, e.email IS NOT NULL
         FROM entries e JOIN sites s ON s.id = e.site_id WHERE e.public_id = ?1",
    )?;
    let found = stmt
        .query_row([public_id], |r| {
            Ok((
                Entry {
                    reference: r.get(0)?,
                    kind: r.get(1)?,
                    message: r.get(2)?,
                    expected: r.get(3)?,
                    actual: r.get(4)?,
                    status: r.get(5)?,
                    created_at: r.get(6)?,
                    site_name: r.get(7)?,
                    language: r.get(9)?,
                    id: r.get(10)?,
                    has_email: r.get(11)?,
                },
                r.get::<_, String>(8)?,
            ))
        })
        .optional()?;
    Ok(found.and_then(|(entry, token)| {
        constant_time_eq(token.as_bytes(), secret.as_bytes()).then_some(entry)
    }))
}

impl Sqlite {
    /// Stores a submission, or returns the entry an earlier submission with
    /// the same idempotency key created. Resolves only after commit.
    pub async fn insert_entry(&self, entry: NewEntry) -> Result<Inserted, StoreError> {
        self.note_submission();
        self.write(move |conn| insert(conn, &entry)).await
    }

    /// The entry behind a customer's status link, if the secret matches.
    pub async fn entry_by_status_link(
        &self,
        public_id: String,
        secret: String,
    ) -> Result<Option<Entry>, StoreError> {
        self.read(move |conn| by_status_link(conn, &public_id, &secret))
            .await
    }
}

impl Inserted {
    /// Path of the customer's private status page: the public id to find
    /// the entry, the secret to prove the right to see it.
    pub fn status_path(&self) -> String {
        format!("/s/{}.{}", self.public_id, self.status_token)
    }
}

/// The id of the newest entry (0 when there is none).
pub(super) fn newest_id(conn: &rusqlite::Connection) -> Result<i64, StoreError> {
    Ok(conn
        .prepare_cached("SELECT coalesce(max(id), 0) FROM entries")?
        .query_row([], |r| r.get(0))?)
}
