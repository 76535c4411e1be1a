//! A person's data, by their email address: everything held about them (a
//! data subject access request) and its complete erasure.
//!
//! Erasure deletes the entries and, by cascade, everything hanging off
//! them: timeline events, promises, attachments, notices, queued emails and
//! webhook deliveries with their attempts; the full-text index drops them
//! (FTS5 `secure-delete`), the roll-ups lose their words and pages, and
//! `secure_delete` zeroes every freed page. Only the audit log keeps that
//! it happened (who, when, how many), never what was erased.

use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Value, json};

use super::accounts::audit;
use super::{Sqlite, StoreError};

/// A data subject access request's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonExport {
    pub entries: usize,
    /// The document, pretty-printed JSON.
    pub json: String,
}

/// What an erasure removes (or would, in a dry run).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Erasure {
    pub entries: i64,
    pub attachments: i64,
    pub events: i64,
    pub deliveries: i64,
}

/// "1 entry", "2 entries": how summaries, the audit log and the command
/// line count.
pub fn counted<N: std::fmt::Display + PartialEq + From<u8>>(n: N, one: &str, many: &str) -> String {
    let word = if n == N::from(1) { one } else { many };
    format!("{n} {word}")
}

impl Erasure {
    pub(in crate::store) fn add(&mut self, other: Erasure) {
        self.entries += other.entries;
        self.attachments += other.attachments;
        self.events += other.events;
        self.deliveries += other.deliveries;
    }

    /// "2 entries (1 attachment, 5 timeline events, 0 webhook deliveries)",
    /// for the console and the command line alike.
    pub fn summary(&self) -> String {
        format!(
            "{} ({}, {}, {})",
            counted(self.entries, "entry", "entries"),
            counted(self.attachments, "attachment", "attachments"),
            counted(self.events, "timeline event", "timeline events"),
            counted(self.deliveries, "webhook delivery", "webhook deliveries"),
        )
    }
}

/// One of a person's entries, as the console lists them before an
/// erasure: enough to tell them apart and open one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldEntry {
    pub public_id: String,
    pub reference: String,
    pub kind: String,
    pub created_at: i64,
}

/// A person's entries, newest first, as they are matched by the email
/// they gave; the same SQL on both backends.
pub(in crate::store) const HELD_SELECT: &str =
    "SELECT public_id, reference, kind, created_at FROM entries
     WHERE email_key = $1
       AND (CAST($2 AS bigint) IS NULL OR site_id = $2)
     ORDER BY id DESC LIMIT $3";

/// Entries keyed per page while the keys are made for stored entries.
pub(in crate::store) const KEY_PAGE: i64 = 10_000;

/// The stored entries an upgrade keys, in SQL both backends read: those
/// with no key yet (SQLite version 29, PostgreSQL 15).
pub(in crate::store) const UNKEYED: &str = "email_key IS NULL";

/// Those whose key has a character beyond ASCII (SQLite version 33,
/// PostgreSQL 21): keying an international domain in Punycode changed
/// only such keys, and most addresses have none, so an upgrade reads
/// every entry but rewrites few.
pub(in crate::store) const KEYED_BEYOND_ASCII: &str =
    "length(email_key) <> octet_length(email_key)";

/// Schema version 29: `entries.email_key` (unless a replayed migration
/// finds it there), filled for every stored entry that gave an email, then
/// its index. Rows a collector already wrote keep their key.
pub(super) fn add_email_keys(conn: &Connection) -> Result<(), StoreError> {
    super::migrations::add_column_once(conn, "entries", "email_key", "TEXT")?;
    key_stored_emails(conn, KEY_PAGE, UNKEYED)?;
    conn.execute_batch(
        "CREATE INDEX IF NOT EXISTS entries_email_key ON entries (email_key, id)
             WHERE email_key IS NOT NULL",
    )?;
    Ok(())
}

/// Schema version 33: the stored keys of addresses with an international
/// domain, written as [`crate::person::email_key`] now writes them.
pub(super) fn rekey_international_domains(conn: &Connection) -> Result<(), StoreError> {
    key_stored_emails(conn, KEY_PAGE, KEYED_BEYOND_ASCII)
}

/// Keys the stored entries that gave an email and match `which`.
fn key_stored_emails(conn: &Connection, page_size: i64, which: &str) -> Result<(), StoreError> {
    // A page at a time, in id order: memory stays flat at any size, and
    // no row is changed while a statement is still reading it.
    let mut read = conn.prepare(&format!(
        "SELECT id, email FROM entries
         WHERE id > ?1 AND email IS NOT NULL AND {which} ORDER BY id LIMIT ?2"
    ))?;
    let mut write = conn.prepare("UPDATE entries SET email_key = ?2 WHERE id = ?1")?;
    let mut after = 0i64;
    loop {
        let page: Vec<(i64, String)> = read
            .query_map(params![after, page_size], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        let Some(&(last, _)) = page.last() else {
            return Ok(());
        };
        for (id, email) in page {
            write.execute(params![id, crate::person::email_key(&email)])?;
        }
        after = last;
    }
}

fn matching(
    conn: &Connection,
    email: &str,
    site: Option<i64>,
) -> Result<Vec<(i64, String)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, public_id FROM entries
         WHERE email_key = ?1 AND (?2 IS NULL OR site_id = ?2)
         ORDER BY id",
    )?;
    let rows = stmt.query_map(params![crate::person::email_key(email), site], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn count_for(conn: &Connection, table: &str, entry_id: i64) -> Result<i64, StoreError> {
    Ok(conn
        .prepare_cached(&format!("SELECT count(*) FROM {table} WHERE entry_id = ?1"))?
        .query_row([entry_id], |r| r.get(0))?)
}

fn plan(conn: &Connection, ids: &[(i64, String)]) -> Result<Erasure, StoreError> {
    let mut e = Erasure {
        entries: i64::try_from(ids.len()).unwrap_or(i64::MAX),
        ..Erasure::default()
    };
    for (id, _) in ids {
        e.attachments += count_for(conn, "attachments", *id)?;
        e.events += count_for(conn, "events", *id)?;
        e.deliveries += count_for(conn, "webhook_deliveries", *id)?;
    }
    Ok(e)
}

/// How long one deletion job may hold the writer, so submissions queued
/// behind it wait at most about this long. Deleting an entry costs about
/// 3 ms in a million-entry database, most of it the search index's secure
/// delete, so a job deletes a handful.
pub(in crate::store) const DELETE_BUDGET: Duration = Duration::from_millis(10);

/// Entries handed to one deletion job; it deletes as many as its budget
/// allows.
pub(super) const DELETE_CHUNK: usize = 64;

/// Rest between the transactions of a long deletion (an erasure, a site's
/// removal) on SQLite, so submissions get the writer in between: the
/// server's own (queued behind a site's removal they waited p50 12 ms),
/// and above all a running server's when the deletion runs from the
/// command line, where without it the two processes fought for SQLite's
/// lock and submissions waited up to 2.3 s in a site's removal (p99
/// 669 ms; with it 65 ms, p99 24 ms) and 3.1 s in an erasure of 20,000
/// entries. It about doubles the deletion's time.
const CHUNK_PAUSE: Duration = Duration::from_millis(10);

/// Deletes entries from the front of `ids` completely (see the module's
/// comment) until [`DELETE_BUDGET`] is spent, at least one; returns what
/// went and how many of `ids` it took. With `erased_at` their status links
/// answer 410 from then on.
pub(super) fn delete_some(
    conn: &Connection,
    ids: &[(i64, String)],
    erased_at: Option<i64>,
) -> Result<(Erasure, usize), StoreError> {
    let started = Instant::now();
    let mut done = Erasure::default();
    let mut taken = 0;
    for entry in ids {
        if taken > 0 && started.elapsed() >= DELETE_BUDGET {
            break;
        }
        done.add(delete_one(conn, entry, erased_at)?);
        taken += 1;
    }
    Ok((done, taken))
}

fn delete_one(
    conn: &Connection,
    entry: &(i64, String),
    erased_at: Option<i64>,
) -> Result<Erasure, StoreError> {
    let done = plan(conn, std::slice::from_ref(entry))?;
    let (id, public_id) = entry;
    super::rollup::forget_text(conn, *id)?;
    if let Some(at) = erased_at {
        conn.prepare_cached(
            "INSERT OR IGNORE INTO erased_entries (public_id, at) VALUES (?1, ?2)",
        )?
        .execute(params![public_id, at])?;
    }
    conn.prepare_cached("DELETE FROM entries WHERE id = ?1")?
        .execute([id])?;
    Ok(done)
}

/// The SQL of a person's export, with `?` for the entry's id (each
/// backend numbers it its own way); the same on both.
pub(in crate::store) const PERSON_ENTRY_SQL: &str =
    "SELECT e.reference, s.name, e.kind, e.status, e.severity, e.message, e.expected,
            e.actual, e.email, e.name, e.page_url, e.page_title, e.page_referrer,
            e.user_agent, e.language, e.timezone, e.viewport, e.context, e.created_at
     FROM entries e JOIN sites s ON s.id = e.site_id WHERE e.id = ?";
pub(in crate::store) const PERSON_EVENTS_SQL: &str =
    "SELECT ev.kind, u.name, ev.body, ev.old_value, ev.new_value, ev.created_at
     FROM events ev LEFT JOIN users u ON u.id = ev.actor_id
     WHERE ev.entry_id = ? ORDER BY ev.id";
pub(in crate::store) const PERSON_PROMISES_SQL: &str =
    "SELECT text, due_at, state, settled_at FROM promises WHERE entry_id = ? ORDER BY id";
pub(in crate::store) const PERSON_ATTACHMENTS_SQL: &str =
    "SELECT content_type, size, bytes FROM attachments WHERE entry_id = ? ORDER BY id";

/// A timeline event in a person's export: (kind, by, body, from, to, at).
pub(in crate::store) type PersonEvent = (
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
);

/// One entry of a person's export, as read by either backend from
/// [`PERSON_ENTRY_SQL`]'s columns (texts in order, then the time).
pub(in crate::store) struct PersonEntry {
    /// reference, site, kind, status (always there).
    pub fixed: [String; 4],
    /// severity, message, expected, actual, email, name, page url, title,
    /// referrer, user agent, language, time zone, viewport, context.
    pub optional: [Option<String>; 14],
    pub created_at: i64,
    /// (kind, by, body, from, to, at) of each timeline event.
    pub timeline: Vec<PersonEvent>,
    /// (text, due, state, settled) of each promise.
    pub promises: Vec<(String, i64, String, Option<i64>)>,
    /// (content type, size, bytes) of each attachment.
    pub attachments: Vec<(String, i64, Vec<u8>)>,
}

impl PersonEntry {
    pub fn to_json(&self) -> Value {
        use base64::Engine;
        let rfc3339 = crate::clock::rfc3339;
        let [reference, site, kind, status] = &self.fixed;
        let [
            severity,
            message,
            expected,
            actual,
            email,
            name,
            url,
            title,
            referrer,
            user_agent,
            language,
            timezone,
            viewport,
            context,
        ] = &self.optional;
        json!({
            "reference": reference,
            "site": site,
            "kind": kind,
            "status": status,
            "severity": severity,
            "message": message,
            "expected": expected,
            "actual": actual,
            "email": email,
            "name": name,
            "page": {"url": url, "title": title, "referrer": referrer},
            "browser": {
                "user_agent": user_agent,
                "language": language,
                "timezone": timezone,
                "viewport": viewport,
            },
            "context": context.as_deref().and_then(|c| serde_json::from_str::<Value>(c).ok()),
            "created": rfc3339(self.created_at),
            "timeline": self.timeline.iter().map(|(kind, by, body, from, to, at)| json!({
                "kind": kind, "by": by, "body": body, "from": from, "to": to, "at": rfc3339(*at),
            })).collect::<Vec<_>>(),
            "promises": self.promises.iter().map(|(text, due, state, settled)| json!({
                "text": text, "due": rfc3339(*due), "state": state,
                "settled": settled.map(rfc3339),
            })).collect::<Vec<_>>(),
            "attachments": self.attachments.iter().map(|(content_type, size, bytes)| json!({
                "content_type": content_type,
                "size": size,
                "base64": base64::engine::general_purpose::STANDARD.encode(bytes),
            })).collect::<Vec<_>>(),
        })
    }
}

/// The document `export-person` writes: the address, when, and the entries.
pub(in crate::store) fn person_document(email: &str, at: i64, entries: Vec<Value>) -> PersonExport {
    let n = entries.len();
    let document = json!({
        "email": email.trim(),
        "exported_at": crate::clock::rfc3339(at),
        "entries": entries,
    });
    PersonExport {
        entries: n,
        json: serde_json::to_string_pretty(&document).unwrap_or_default(),
    }
}

fn export(conn: &Connection, email: &str, site: Option<i64>) -> Result<Vec<Value>, StoreError> {
    let ids = matching(conn, email, site)?;
    let mut entries = Vec::with_capacity(ids.len());
    for (id, _) in ids {
        let mut entry = conn
            .prepare_cached(PERSON_ENTRY_SQL)?
            .query_row([id], |r| {
                let mut optional: [Option<String>; 14] = Default::default();
                for (i, slot) in optional.iter_mut().enumerate() {
                    *slot = r.get(4 + i)?;
                }
                Ok(PersonEntry {
                    fixed: [r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?],
                    optional,
                    created_at: r.get(18)?,
                    timeline: Vec::new(),
                    promises: Vec::new(),
                    attachments: Vec::new(),
                })
            })?;
        entry.timeline = conn
            .prepare_cached(PERSON_EVENTS_SQL)?
            .query_map([id], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })?
            .collect::<Result<_, _>>()?;
        entry.promises = conn
            .prepare_cached(PERSON_PROMISES_SQL)?
            .query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
            .collect::<Result<_, _>>()?;
        entry.attachments = conn
            .prepare_cached(PERSON_ATTACHMENTS_SQL)?
            .query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        entries.push(entry.to_json());
    }
    Ok(entries)
}

impl Sqlite {
    /// Up to `limit` of the entries sent with `email`, newest first.
    pub async fn person_entries(
        &self,
        email: String,
        site: Option<i64>,
        limit: i64,
    ) -> Result<Vec<HeldEntry>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(HELD_SELECT)?;
            let rows = stmt.query_map(
                params![crate::person::email_key(&email), site, limit],
                |r| {
                    Ok(HeldEntry {
                        public_id: r.get(0)?,
                        reference: r.get(1)?,
                        kind: r.get(2)?,
                        created_at: r.get(3)?,
                    })
                },
            )?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    /// What erasing `email` (on one site, or all) would remove.
    pub async fn erasure_plan(
        &self,
        email: String,
        site: Option<i64>,
    ) -> Result<Erasure, StoreError> {
        self.read(move |conn| plan(conn, &matching(conn, &email, site)?))
            .await
    }

    /// Deletes the entries `ids` completely, a few per write transaction
    /// with [`CHUNK_PAUSE`] after each, so submissions get the writer in
    /// between; with `erased_at` their status links answer 410.
    pub(super) async fn delete_paced(
        &self,
        ids: &[(i64, String)],
        erased_at: Option<i64>,
    ) -> Result<Erasure, StoreError> {
        let mut done = Erasure::default();
        let mut rest = ids;
        while !rest.is_empty() {
            let chunk = rest[..rest.len().min(DELETE_CHUNK)].to_vec();
            let (part, taken) = self
                .write(move |conn| delete_some(conn, &chunk, erased_at))
                .await?;
            rest = &rest[taken..];
            done.add(part);
            tokio::time::sleep(CHUNK_PAUSE).await;
        }
        Ok(done)
    }

    /// Erases every entry sent with `email` and everything about them, a
    /// few entries per transaction so ingest keeps flowing. Interrupted, it
    /// has erased whole entries only; running it again finishes the job.
    pub async fn erase_person(
        &self,
        email: String,
        site: Option<i64>,
        actor: Option<i64>,
        at: i64,
    ) -> Result<Erasure, StoreError> {
        let ids = self.read(move |conn| matching(conn, &email, site)).await?;
        let done = self.delete_paced(&ids, Some(at)).await?;
        self.write(move |conn| {
            audit(
                conn,
                actor,
                "person.erased",
                "",
                Some(&format!("entries={}", done.entries)),
                at,
            )
        })
        .await?;
        if done.entries > 0 {
            self.reclaim_logged().await;
        }
        Ok(done)
    }

    /// Everything held about `email`, as one JSON document (the address,
    /// when, and every entry); recorded in the audit log.
    pub async fn export_person(
        &self,
        email: String,
        site: Option<i64>,
        actor: Option<i64>,
        at: i64,
    ) -> Result<PersonExport, StoreError> {
        let entries = self
            .read({
                let email = email.clone();
                move |conn| export(conn, &email, site)
            })
            .await?;
        let n = entries.len();
        self.write(move |conn| {
            audit(
                conn,
                actor,
                "person.exported",
                "",
                Some(&format!("entries={n}")),
                at,
            )
        })
        .await?;
        Ok(person_document(&email, at, entries))
    }

    /// Whether the entry behind a status link was erased on request.
    pub async fn was_erased(&self, public_id: String) -> Result<bool, StoreError> {
        self.read(move |conn| {
            Ok(conn
                .prepare_cached("SELECT 1 FROM erased_entries WHERE public_id = ?1")?
                .query_row([public_id], |_| Ok(()))
                .optional()?
                .is_some())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every entry's `email_key`, in id order.
    fn stored_keys(conn: &Connection) -> Vec<Option<String>> {
        conn.prepare("SELECT email_key FROM entries ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn stored_emails_are_keyed_page_by_page_to_the_last() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE entries (id INTEGER PRIMARY KEY, email TEXT, email_key TEXT);
             INSERT INTO entries (email) VALUES
                 ('Änna@X.de'), (NULL), ('BO@x.de'), ('cy@x.de'), (NULL), ('DÜ@x.de');",
        )
        .unwrap();
        key_stored_emails(&conn, 2, UNKEYED).unwrap();
        let keys = stored_keys(&conn);
        let keyed = ["änna@x.de", "", "bo@x.de", "cy@x.de", "", "dü@x.de"]
            .map(|k| (!k.is_empty()).then(|| k.to_owned()));
        assert_eq!(keys, keyed);
    }

    #[test]
    fn an_upgrade_rekeys_only_the_keys_beyond_ascii() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE entries (id INTEGER PRIMARY KEY, email TEXT, email_key TEXT);
             INSERT INTO entries (email, email_key) VALUES
                 ('Ana@Bücher.de', 'ana@bücher.de'), ('Bo@X.de', 'left alone'),
                 ('Änna@x.de', 'änna@x.de'), ('cy@BÜCHER.de', 'cy@bücher.de');",
        )
        .unwrap();
        key_stored_emails(&conn, 1, KEYED_BEYOND_ASCII).unwrap();
        let keyed = [
            "ana@xn--bcher-kva.de",
            "left alone",
            "änna@x.de",
            "cy@xn--bcher-kva.de",
        ];
        assert_eq!(stored_keys(&conn), keyed.map(|k| Some(k.to_owned())));
    }

    #[test]
    fn one_is_counted_in_the_singular_whatever_the_number_type() {
        assert_eq!(counted(1_i64, "entry", "entries"), "1 entry");
        assert_eq!(counted(0_usize, "entry", "entries"), "0 entries");
        assert_eq!(counted(2_usize, "entry", "entries"), "2 entries");
    }
}
