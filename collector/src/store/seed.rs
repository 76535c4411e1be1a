//! `earshot dev seed`: realistic volume for trying the console and for the
//! console benchmark. A year of feedback, mostly answered and closed, a few
//! hundred still waiting, some promises.

use earshot_protocol::Kind;
use rand::rngs::StdRng;
use rand::{Rng, RngExt, SeedableRng};
use rusqlite::{Connection, params};

use super::{Sqlite, StoreError};
use crate::ids;
use crate::review::workflow::{DAY, HOUR};

/// Entries written per transaction.
pub(in crate::store) const CHUNK: usize = 10_000;

const WORDS: &[&str] = &[
    "checkout",
    "discount",
    "code",
    "rejected",
    "password",
    "reset",
    "email",
    "never",
    "arrived",
    "invoice",
    "shows",
    "wrong",
    "amount",
    "delivery",
    "late",
    "tracking",
    "page",
    "blank",
    "button",
    "does",
    "nothing",
    "mobile",
    "app",
    "crashes",
    "login",
    "slow",
    "search",
    "results",
    "empty",
    "expected",
    "refund",
    "within",
    "days",
    "still",
    "waiting",
    "support",
    "chat",
    "closed",
    "subscription",
    "cancelled",
    "charged",
    "twice",
    "card",
    "declined",
    "address",
    "saved",
    "language",
    "switches",
    "back",
    "english",
    "price",
    "changed",
    "cart",
    "emptied",
    "after",
    "update",
    "notification",
    "settings",
    "dark",
    "mode",
    "unreadable",
    "export",
    "csv",
    "broken",
    "great",
    "service",
    "love",
    "new",
    "design",
    "thanks",
    "quick",
    "answer",
    "please",
    "add",
    "filter",
    "by",
    "date",
    "would",
    "like",
    "invoice",
    "pdf",
    "download",
    "size",
    "guide",
    "wrong",
    "colour",
    "different",
    "from",
    "photo",
    "parcel",
    "damaged",
    "coupon",
    "expired",
    "early",
    "account",
    "locked",
    "verification",
    "sms",
    "missing",
    "calendar",
    "sync",
    "timezone",
    "off",
    "hour",
    "report",
    "totals",
    "mismatch",
    "upload",
    "fails",
    "large",
    "file",
    "image",
    "preview",
];

fn sentence(rng: &mut StdRng, words: usize) -> String {
    let mut out = String::new();
    for i in 0..words {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(WORDS[rng.random_range(0..WORDS.len())]);
    }
    out
}

/// What one seeded entry looks like, decided up front.
pub(in crate::store) struct Seeded {
    pub created_at: i64,
    pub kind: &'static str,
    pub status: &'static str,
    pub severity: Option<&'static str>,
    pub message: Option<String>,
    pub expected: Option<String>,
    pub actual: Option<String>,
    pub email: Option<String>,
    pub first_response_at: Option<i64>,
    /// When a colleague moved it from new to `status`, for every status
    /// but new and spam: resolution times and timelines need the move.
    pub status_at: Option<i64>,
    pub promise: Option<(i64, &'static str, Option<i64>)>,
}

pub(in crate::store) fn seeded(rng: &mut StdRng, created_at: i64, now: i64) -> Seeded {
    let kind = ["complaint", "expectation", "idea", "praise", "question"][rng.random_range(0..5)];
    let age = now - created_at;
    let (message, expected, actual) = if kind == "expectation" {
        let n = rng.random_range(4..16);
        (None, Some(sentence(rng, n)), Some(sentence(rng, n)))
    } else {
        let n = rng.random_range(6..40);
        (Some(sentence(rng, n)), None, None)
    };
    // Old entries are nearly all answered and closed; the last days hold
    // the backlog.
    let answered = age > 3 * DAY || rng.random_bool(0.4);
    let status = if rng.random_bool(0.01) {
        "spam"
    } else if !answered {
        ["new", "new", "acknowledged", "in_progress"][rng.random_range(0..4)]
    } else if age > 14 * DAY {
        ["resolved", "resolved", "resolved", "wont_fix"][rng.random_range(0..4)]
    } else {
        ["acknowledged", "in_progress", "resolved"][rng.random_range(0..3)]
    };
    // Clamped after the draw, which keeps the sequence: no reply from the
    // future for a recent entry.
    let first_response_at = (answered && status != "spam")
        .then(|| created_at + rng.random_range(10 * 60_000..2 * DAY))
        .map(|at| at.min(now));
    let promise = first_response_at
        .filter(|_| rng.random_bool(0.03))
        .map(|at| {
            let due = at + rng.random_range(DAY..10 * DAY);
            if due > now {
                (due, "open", None)
            } else if rng.random_bool(0.85) {
                (due, "kept", Some(due - rng.random_range(0..DAY)))
            } else {
                (due, "broken", Some(due + DAY))
            }
        });
    // Derived, not drawn: another draw would change every later entry's
    // words, and the search benchmarks are written against those.
    let spread = |most: i64| HOUR + created_at.wrapping_mul(7_919).rem_euclid(most);
    let status_at = match status {
        "new" | "spam" => None,
        "resolved" | "wont_fix" => Some(first_response_at.unwrap_or(created_at) + spread(6 * DAY)),
        _ => Some(first_response_at.unwrap_or_else(|| created_at + spread(6 * HOUR))),
    }
    .map(|at| at.min(now));
    Seeded {
        created_at,
        kind,
        status,
        status_at,
        // Drawn for every kind, which keeps the sequence; kept only where
        // the widget asks for it.
        severity: [None, Some("minor"), Some("annoying"), Some("blocking")][rng.random_range(0..4)]
            .filter(|_| Kind::parse(kind).is_some_and(Kind::takes_severity)),
        message,
        expected,
        actual,
        email: rng
            .random_bool(0.6)
            .then(|| format!("customer{}@example.com", rng.next_u32() % 100_000)),
        first_response_at,
        promise,
    }
}

/// Who answered and closed the seeded entries: the first administrator,
/// if there is one yet (on a timeline, nobody reads as the customer).
pub(in crate::store) const SEED_ACTOR: &str = "SELECT min(id) FROM users WHERE role = 'admin'";

fn insert_chunk(
    conn: &Connection,
    site_id: i64,
    first: usize,
    len: usize,
    total: usize,
    now: i64,
) -> Result<(), StoreError> {
    // Same seed per chunk: a replayed chunk writes the same entries.
    let mut rng = StdRng::seed_from_u64(first as u64);
    let span = 365 * DAY;
    let mut entry = conn.prepare_cached(
        "INSERT INTO entries (public_id, reference, status_token, site_id, kind, message,
             expected, actual, email, status, severity, created_at, first_response_at,
             language, page_url, email_key)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 'en-GB',
             'https://shop.example/checkout', ?14)",
    )?;
    let actor: Option<i64> = conn.query_row(SEED_ACTOR, [], |r| r.get(0))?;
    let mut reply = conn.prepare_cached(
        "INSERT INTO events (entry_id, kind, body, created_at, actor_id)
         VALUES (?1, 'reply', ?2, ?3, ?4)",
    )?;
    let mut promise = conn.prepare_cached(
        "INSERT INTO promises (entry_id, event_id, text, due_at, state, settled_at, created_at, site_id,
             made_by)
         VALUES (?1, ?2, 'We will have this fixed', ?3, ?4, ?5, ?6,
                 (SELECT site_id FROM entries WHERE id = ?1), ?7)",
    )?;
    let mut moved = conn.prepare_cached(
        "INSERT INTO events (entry_id, kind, old_value, new_value, created_at, actor_id)
         VALUES (?1, 'status', 'new', ?2, ?3, ?4)",
    )?;
    let newest = |conn: &Connection| -> Result<i64, StoreError> {
        Ok(conn.query_row("SELECT coalesce(max(id), 0) FROM entries", [], |r| r.get(0))?)
    };
    let before = newest(conn)?;
    for i in first..first + len {
        let offset =
            i64::try_from(i).unwrap_or(0) * span / i64::try_from(total.max(1)).unwrap_or(1);
        let created_at = now - span + offset;
        let s = seeded(&mut rng, created_at, now);
        let mut attempts = 0;
        loop {
            let result = entry.execute(params![
                ids::public_id(created_at),
                ids::reference(created_at),
                ids::status_token(),
                site_id,
                s.kind,
                s.message,
                s.expected,
                s.actual,
                s.email,
                s.status,
                s.severity,
                s.created_at,
                s.first_response_at,
                s.email.as_deref().map(crate::person::email_key),
            ]);
            match result {
                Ok(_) => break,
                // A random reference collided (likely somewhere in a million).
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                        && attempts < 3 =>
                {
                    attempts += 1;
                }
                Err(e) => return Err(e.into()),
            }
        }
        let entry_id = conn.last_insert_rowid();
        if let Some(at) = s.first_response_at {
            reply.execute(params![
                entry_id,
                "Thanks, we are looking into it.",
                at,
                actor
            ])?;
            let event_id = conn.last_insert_rowid();
            if let Some((due, state, settled)) = s.promise {
                promise.execute(params![entry_id, event_id, due, state, settled, at, actor])?;
            }
        }
        if let Some(at) = s.status_at {
            moved.execute(params![entry_id, s.status, at, actor])?;
        }
    }
    // Made-up entries from last year are not news: nobody is emailed and no
    // webhook told. Only when everything before them was announced, so a
    // real entry still waiting for its announcement keeps it.
    super::notify::pass_over_entries(conn, before, newest(conn)?)?;
    Ok(())
}

impl Sqlite {
    /// Adds `count` synthetic entries to the first site, spread over the
    /// year before `now`. Reports progress through `progress(done)`.
    pub async fn seed(
        &self,
        count: usize,
        now: i64,
        progress: impl Fn(usize),
    ) -> Result<(), StoreError> {
        let site_id: i64 = self
            .read(|conn| Ok(conn.query_row("SELECT min(id) FROM sites", [], |r| r.get(0))?))
            .await?;
        let mut done = 0;
        while done < count {
            let len = CHUNK.min(count - done);
            let first = done;
            self.write(move |conn| insert_chunk(conn, site_id, first, len, count, now))
                .await?;
            done += len;
            progress(done);
        }
        self.index_for_search().await?;
        self.roll_up().await.map(drop)
    }
}
