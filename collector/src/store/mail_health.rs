//! Whether email gets through: every attempt to send one, the outbox's
//! and the test emails colleagues send themselves, counted since the last
//! that went out.

use rusqlite::params;

use super::outbox::LEASE_MS;
use super::{Sqlite, StoreError};

/// Whether email has been getting through: the attempts that failed
/// since the last one that went out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailHealth {
    /// When an email last went out.
    pub last_sent_at: Option<i64>,
    /// Attempts that failed since then (ever, if none went out).
    pub failed: i64,
    /// When the first of them failed.
    pub failing_since: Option<i64>,
    /// The latest one's short reason.
    pub last_error: Option<String>,
}

impl MailHealth {
    pub fn is_failing(&self) -> bool {
        self.failed > 0
    }
}

/// Forgets the attempts of test emails made before `$1`, which have no
/// email to go with: all but the last that went out, kept as the email of
/// the last real one is, so the console can still say when email last
/// went out. Few (a colleague's click each), found by the outbox index.
/// The same SQL on both backends.
pub(in crate::store) const FORGET_TEST_MAILS: &str = "DELETE FROM mail_attempts
     WHERE outbox_id IS NULL AND at < $1
       AND id IS DISTINCT FROM (SELECT id FROM mail_attempts WHERE ok = true
                                ORDER BY id DESC LIMIT 1)";

/// Email's health as [`MailHealth`]'s fields: when the last attempt that
/// went out was made, then how many failed since, when the first of them
/// did and the latest failure's reason. An address refused alone
/// (`address_refused`) is no failure of email. The same SQL on both
/// backends.
pub(in crate::store) const HEALTH_SQL: &str = "WITH last_ok AS (
         SELECT id, at FROM mail_attempts WHERE ok = true ORDER BY id DESC LIMIT 1)
     SELECT (SELECT at FROM last_ok), count(*), min(a.at),
            (SELECT error FROM mail_attempts WHERE ok = false AND NOT address_refused
             ORDER BY id DESC LIMIT 1)
     FROM mail_attempts a
     WHERE a.id > coalesce((SELECT id FROM last_ok), 0) AND NOT a.address_refused";

impl Sqlite {
    /// Whether email has been getting through. Walks back from the newest
    /// attempt to the last that went out, so it reads only the failures.
    pub async fn mail_health(&self) -> Result<MailHealth, StoreError> {
        self.read(|conn| {
            Ok(conn.prepare_cached(HEALTH_SQL)?.query_row([], |r| {
                let failed: i64 = r.get(1)?;
                Ok(MailHealth {
                    last_sent_at: r.get(0)?,
                    failed,
                    failing_since: r.get(2)?,
                    last_error: if failed > 0 { r.get(3)? } else { None },
                })
            })?)
        })
        .await
    }

    /// Records a test email sent at `at` as an attempt with no email of
    /// the outbox behind it, `failure` being why the relay did not take
    /// it: email's health then says whether the relay works now, not what
    /// it did when the last real email went out. One that went out also
    /// makes the waiting emails that have failed before due at `at`: they
    /// need not wait for their next retry, hours away. Those due within
    /// [`LEASE_MS`] keep their time: on PostgreSQL that is also where an
    /// email being sent right now waits, and due now another collector
    /// would send it again. Returns how many were made due.
    pub async fn mail_tested(&self, at: i64, failure: Option<String>) -> Result<usize, StoreError> {
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT INTO mail_attempts (outbox_id, at, ok, error) VALUES (NULL, ?1, ?2, ?3)",
            )?
            .execute(params![at, failure.is_none(), failure])?;
            if failure.is_some() {
                return Ok(0);
            }
            Ok(conn
                .prepare_cached(
                    "UPDATE mail_outbox SET due_at = ?1
                     WHERE state = 'pending' AND attempts > 0 AND due_at > ?1 + ?2",
                )?
                .execute([at, LEASE_MS])?)
        })
        .await
    }
}
