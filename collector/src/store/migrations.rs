//! Schema migrations, embedded in the binary and applied in order on open.
//! `PRAGMA user_version` records how many have run; never edit a released
//! migration, append a new one.

use rusqlite::Connection;

use super::StoreError;

const MIGRATIONS: &[&str] = &[
    // 1: sites and entries.
    r#"
    CREATE TABLE sites (
        id          INTEGER PRIMARY KEY,
        key         TEXT NOT NULL UNIQUE,
        name        TEXT NOT NULL,
        -- Allowed origin patterns, one per line.
        origins     TEXT NOT NULL,
        created_at  INTEGER NOT NULL
    ) STRICT;

    CREATE TABLE entries (
        id              INTEGER PRIMARY KEY,
        public_id       TEXT NOT NULL UNIQUE,
        reference       TEXT NOT NULL UNIQUE,
        -- Secret half of the status link; found through public_id, so it
        -- needs no index of its own (a random-key index costs every insert).
        status_token    TEXT NOT NULL,
        site_id         INTEGER NOT NULL REFERENCES sites(id),
        kind            TEXT NOT NULL,
        message         TEXT,
        expected        TEXT,
        actual          TEXT,
        email           TEXT,
        page_url        TEXT,
        page_title      TEXT,
        page_referrer   TEXT,
        user_agent      TEXT,
        language        TEXT,
        timezone        TEXT,
        viewport        TEXT,
        idempotency_key TEXT,
        status          TEXT NOT NULL DEFAULT 'new',
        -- Unix time in milliseconds, UTC.
        created_at      INTEGER NOT NULL
    ) STRICT;

    -- Retries after a lost response or a crash can never duplicate an entry.
    CREATE UNIQUE INDEX entries_idempotency
        ON entries(site_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
    CREATE INDEX entries_site_status ON entries(site_id, status, id);
    "#,
    // 2: abuse handling and privacy.
    r#"
    -- Server-wide secrets, generated on first start.
    CREATE TABLE settings (
        name  TEXT PRIMARY KEY,
        value BLOB NOT NULL
    ) STRICT;
    -- Keyed hash of the client IP, rotated daily; the raw IP is never stored.
    ALTER TABLE entries ADD COLUMN ip_hash TEXT;
    -- Why an entry was filed as spam ('honeypot', 'too_fast'), if it was.
    ALTER TABLE entries ADD COLUMN spam_reason TEXT;
    "#,
    // 3: the review console: staff, sessions, workflow, timeline, promises,
    // full-text search.
    r#"
    CREATE TABLE users (
        id            INTEGER PRIMARY KEY,
        email         TEXT NOT NULL UNIQUE COLLATE NOCASE,
        name          TEXT NOT NULL,
        role          TEXT NOT NULL CHECK (role IN ('admin', 'agent')),
        -- argon2id PHC string.
        password_hash TEXT NOT NULL,
        created_at    INTEGER NOT NULL
    ) STRICT;

    -- Only a hash of the session id is stored: a leaked database file does
    -- not hand out live sessions.
    CREATE TABLE sessions (
        id_hash    BLOB PRIMARY KEY,
        user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        csrf_token TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        last_seen  INTEGER NOT NULL
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX sessions_user ON sessions(user_id);

    -- First-response target shown in the inbox, and the promise the widget
    -- makes after sending ("We answer within 1 business day").
    ALTER TABLE sites ADD COLUMN first_response_minutes INTEGER NOT NULL DEFAULT 1440;
    ALTER TABLE sites ADD COLUMN response_promise TEXT;

    ALTER TABLE entries ADD COLUMN severity TEXT;
    ALTER TABLE entries ADD COLUMN name TEXT;
    ALTER TABLE entries ADD COLUMN assignee_id INTEGER REFERENCES users(id);
    -- When staff first replied to the customer; NULL while they wait.
    ALTER TABLE entries ADD COLUMN first_response_at INTEGER;

    -- The inbox's default view: who is still waiting, oldest first.
    CREATE INDEX entries_waiting ON entries(id)
        WHERE first_response_at IS NULL AND status IN ('new', 'acknowledged', 'in_progress');
    CREATE INDEX entries_status ON entries(status, id);
    CREATE INDEX entries_assignee ON entries(assignee_id, id) WHERE assignee_id IS NOT NULL;
    CREATE INDEX entries_kind ON entries(kind, id);
    CREATE INDEX entries_created ON entries(created_at);

    -- Everything that happened to an entry, in order. Replies are what the
    -- customer sees; notes never leave the console.
    CREATE TABLE events (
        id         INTEGER PRIMARY KEY,
        entry_id   INTEGER NOT NULL REFERENCES entries(id) ON DELETE CASCADE,
        actor_id   INTEGER REFERENCES users(id),
        kind       TEXT NOT NULL CHECK (kind IN
                       ('status', 'assign', 'note', 'reply', 'promise_kept', 'promise_broken')),
        body       TEXT,
        old_value  TEXT,
        new_value  TEXT,
        created_at INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX events_entry ON events(entry_id, id);

    CREATE TABLE promises (
        id         INTEGER PRIMARY KEY,
        entry_id   INTEGER NOT NULL REFERENCES entries(id) ON DELETE CASCADE,
        -- The reply that made the promise.
        event_id   INTEGER NOT NULL REFERENCES events(id),
        made_by    INTEGER REFERENCES users(id),
        text       TEXT NOT NULL,
        due_at     INTEGER NOT NULL,
        state      TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'kept', 'broken')),
        settled_at INTEGER,
        created_at INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX promises_entry ON promises(entry_id);
    CREATE INDEX promises_open ON promises(due_at) WHERE state = 'open';

    -- Search over the customer's words and staff notes. The table keeps its
    -- own copy of the text so notes (from events) can live beside it; its
    -- rowid is the entry id.
    CREATE VIRTUAL TABLE entries_fts USING fts5(
        message, expected, actual, notes,
        tokenize = 'unicode61 remove_diacritics 2'
    );
    INSERT INTO entries_fts (rowid, message, expected, actual, notes)
        SELECT id, message, expected, actual, '' FROM entries;
    -- New entries are indexed in batches (store::search), not by a trigger:
    -- an FTS5 insert in every group commit cost ingest half its throughput.
    CREATE TRIGGER entries_fts_delete AFTER DELETE ON entries BEGIN
        DELETE FROM entries_fts WHERE rowid = old.id;
    END;
    "#,
    // 4: what the host page adds through `Earshot.setContext`.
    r#"
    -- A JSON object of string keys and values; NULL when the host added none.
    ALTER TABLE entries ADD COLUMN context TEXT;
    "#,
    // 5: images customers attach (a screenshot they already have).
    r#"
    CREATE TABLE attachments (
        id           INTEGER PRIMARY KEY,
        -- Random: it appears in the console's URLs.
        public_id    TEXT NOT NULL UNIQUE,
        entry_id     INTEGER NOT NULL REFERENCES entries(id) ON DELETE CASCADE,
        -- Checked against the file's own first bytes before storing.
        content_type TEXT NOT NULL,
        bytes        BLOB NOT NULL,
        size         INTEGER NOT NULL,
        created_at   INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX attachments_entry ON attachments(entry_id);
    "#,
    // 6: sign-in attempts, so throttles survive a restart.
    r#"
    -- Attempts the throttle let through, kept only as long as a throttle
    -- remembers them. Keyed hashes (auth::throttle): no address, no email.
    -- A trusted device's attempt has only `device`; others the other three.
    CREATE TABLE login_attempts (
        at      INTEGER NOT NULL,
        net     BLOB,
        pair    BLOB,
        account BLOB,
        device  BLOB
    ) STRICT;
    CREATE INDEX login_attempts_at ON login_attempts(at);
    "#,
    // 7: image dimensions, read from the file's header (an image bomb can
    // declare gigapixels in a small file). Rows from before are filled in
    // by `backfill_image_dimensions`.
    r#"
    ALTER TABLE attachments ADD COLUMN width INTEGER;
    ALTER TABLE attachments ADD COLUMN height INTEGER;
    "#,
    // 8: telling people: staff notification preferences, what happened
    // (notices), the email outbox and signed webhooks with their deliveries.
    r#"
    -- How each colleague wants to hear; no row means the defaults for
    -- their role (notify::Prefs).
    CREATE TABLE notify_prefs (
        user_id     INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
        -- Kinds and severities that send an email at once, comma-separated.
        immediate   TEXT NOT NULL,
        -- Site ids the immediate emails cover, comma-separated; '*' is all.
        sites       TEXT NOT NULL,
        -- UTC hour of the daily digest; NULL is off.
        digest_hour INTEGER CHECK (digest_hour BETWEEN 0 AND 23),
        on_assign   INTEGER NOT NULL
    ) STRICT;

    -- Things staff did that someone may need to hear of, written in the
    -- same transaction as the change; the dispatcher fans them out and
    -- deletes them. New entries need no notice: the dispatcher follows the
    -- entries table itself (settings 'dispatched_entries').
    CREATE TABLE notices (
        id         INTEGER PRIMARY KEY,
        kind       TEXT NOT NULL CHECK (kind IN ('status', 'assign', 'reply',
                       'promise_made', 'promise_settled', 'promise_due', 'promise_overdue')),
        entry_id   INTEGER NOT NULL REFERENCES entries(id) ON DELETE CASCADE,
        actor_id   INTEGER REFERENCES users(id) ON DELETE SET NULL,
        -- The colleague assigned, or the reply's event, or the promise.
        subject_id INTEGER,
        old_value  TEXT,
        new_value  TEXT,
        at         INTEGER NOT NULL
    ) STRICT;

    -- How far background work has got through an append-only table.
    CREATE TABLE cursors (
        name TEXT PRIMARY KEY,
        upto INTEGER NOT NULL
    ) STRICT;
    -- Entries from before this version were never announced; they stay so.
    INSERT INTO cursors (name, upto)
        SELECT 'dispatched_entries', coalesce(max(id), 0) FROM entries;

    -- When a promise's 'due soon' and 'overdue' notices went out.
    ALTER TABLE promises ADD COLUMN due_noticed_at INTEGER;
    ALTER TABLE promises ADD COLUMN overdue_noticed_at INTEGER;

    -- Email to send: staff notifications and replies to customers.
    CREATE TABLE mail_outbox (
        id         INTEGER PRIMARY KEY,
        kind       TEXT NOT NULL CHECK (kind IN ('new_entry', 'assigned', 'digest', 'reply')),
        -- The colleague it is for; NULL for a reply to the customer.
        user_id    INTEGER REFERENCES users(id) ON DELETE CASCADE,
        entry_id   INTEGER REFERENCES entries(id) ON DELETE CASCADE,
        -- The reply's event, for a reply email.
        event_id   INTEGER REFERENCES events(id) ON DELETE CASCADE,
        -- Who did it (the colleague who assigned the entry).
        actor_id   INTEGER REFERENCES users(id) ON DELETE SET NULL,
        -- The UTC day (days since 1970) a digest covers.
        day        INTEGER,
        created_at INTEGER NOT NULL,
        due_at     INTEGER NOT NULL,
        attempts   INTEGER NOT NULL DEFAULT 0,
        state      TEXT NOT NULL DEFAULT 'pending'
                   CHECK (state IN ('pending', 'sent', 'folded', 'failed', 'cancelled')),
        -- The message that carried it (its own id, or the one it was folded into).
        sent_in    INTEGER,
        sent_at    INTEGER
    ) STRICT;
    CREATE INDEX mail_outbox_pending ON mail_outbox(due_at) WHERE state = 'pending';
    -- A colleague's waiting new-entry emails, and when they were last sent
    -- one: both asked for every new entry, so each is a seek, never a scan
    -- past thousands of folded rows.
    CREATE INDEX mail_outbox_user_waiting ON mail_outbox(user_id, due_at)
        WHERE kind = 'new_entry' AND state = 'pending';
    CREATE INDEX mail_outbox_user_sent ON mail_outbox(user_id, sent_at)
        WHERE kind = 'new_entry' AND state = 'sent';
    CREATE UNIQUE INDEX mail_outbox_digest ON mail_outbox(user_id, day) WHERE kind = 'digest';

    CREATE TABLE mail_attempts (
        id        INTEGER PRIMARY KEY,
        outbox_id INTEGER NOT NULL REFERENCES mail_outbox(id) ON DELETE CASCADE,
        at        INTEGER NOT NULL,
        ok        INTEGER NOT NULL,
        -- A short reason, never the server's text (it can quote addresses).
        error     TEXT
    ) STRICT;
    CREATE INDEX mail_attempts_outbox ON mail_attempts(outbox_id);

    CREATE TABLE webhooks (
        id              INTEGER PRIMARY KEY,
        public_id       TEXT NOT NULL UNIQUE,
        site_id         INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
        url             TEXT NOT NULL,
        -- Event types, comma-separated; '*' is all.
        events          TEXT NOT NULL,
        format          TEXT NOT NULL CHECK (format IN ('standard', 'slack')),
        include_email   INTEGER NOT NULL DEFAULT 0,
        secret          TEXT NOT NULL,
        -- After a rotation the old secret signs too, until then.
        previous_secret TEXT,
        previous_until  INTEGER,
        state           TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'failing', 'disabled')),
        state_reason    TEXT,
        created_at      INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX webhooks_site ON webhooks(site_id);

    -- One message to one endpoint. The body is built once, so every retry
    -- sends the same bytes under the same webhook-id.
    CREATE TABLE webhook_deliveries (
        id           INTEGER PRIMARY KEY,
        webhook_id   INTEGER NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
        msg_id       TEXT NOT NULL,
        event        TEXT NOT NULL,
        entry_id     INTEGER REFERENCES entries(id) ON DELETE CASCADE,
        body         TEXT NOT NULL,
        created_at   INTEGER NOT NULL,
        due_at       INTEGER NOT NULL,
        attempts     INTEGER NOT NULL DEFAULT 0,
        state        TEXT NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'delivered', 'failed', 'cancelled')),
        delivered_at INTEGER
    ) STRICT;
    CREATE INDEX webhook_deliveries_pending ON webhook_deliveries(due_at) WHERE state = 'pending';
    CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries(webhook_id, id);
    CREATE INDEX webhook_deliveries_waiting ON webhook_deliveries(webhook_id)
        WHERE state = 'pending';

    CREATE TABLE webhook_attempts (
        id          INTEGER PRIMARY KEY,
        delivery_id INTEGER NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
        at          INTEGER NOT NULL,
        -- The HTTP status, when there was an answer.
        status      INTEGER,
        latency_ms  INTEGER NOT NULL,
        error       TEXT
    ) STRICT;
    CREATE INDEX webhook_attempts_delivery ON webhook_attempts(delivery_id);
    "#,
    // 9: API tokens. Only a SHA-256 of each token is kept (it has 256
    // random bits, so a slow hash would add nothing); the prefix shown in
    // lists is the token's first characters, enough to tell them apart.
    r#"
    CREATE TABLE api_tokens (
        id INTEGER PRIMARY KEY,
        public_id TEXT NOT NULL UNIQUE,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        scope TEXT NOT NULL CHECK (scope IN ('read', 'write')),
        hash BLOB NOT NULL UNIQUE,
        hint TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER,
        last_used_at INTEGER,
        revoked_at INTEGER
    );
    CREATE INDEX api_tokens_user ON api_tokens(user_id);
    "#,
    // 10: roll-ups for reports, kept by a background task that follows
    // entries (cursor `rollup_entries`, from 0, so older entries are rolled
    // up too) and by the staff actions that change what they count. Weeks
    // start on Monday (UTC); times are histograms (see `report`). Promises
    // learn their site, so reports count them without visiting entries.
    r#"
    CREATE TABLE rollup_volume (
        week INTEGER NOT NULL,
        site_id INTEGER NOT NULL,
        kind TEXT NOT NULL,
        severity TEXT NOT NULL,
        entries INTEGER NOT NULL,
        PRIMARY KEY (week, site_id, kind, severity)
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE rollup_first_response (
        week INTEGER NOT NULL,
        site_id INTEGER NOT NULL,
        bucket INTEGER NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (week, site_id, bucket)
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE rollup_resolution (
        week INTEGER NOT NULL,
        site_id INTEGER NOT NULL,
        kind TEXT NOT NULL,
        bucket INTEGER NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (week, site_id, kind, bucket)
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE rollup_pages (
        week INTEGER NOT NULL,
        site_id INTEGER NOT NULL,
        page TEXT NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (week, site_id, page)
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE rollup_words (
        page TEXT NOT NULL,
        week INTEGER NOT NULL,
        site_id INTEGER NOT NULL,
        word TEXT NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (page, week, site_id, word)
    ) STRICT, WITHOUT ROWID;
    INSERT INTO cursors (name, upto) VALUES ('rollup_entries', 0);
    ALTER TABLE promises ADD COLUMN site_id INTEGER REFERENCES sites(id);
    UPDATE promises SET site_id = (SELECT site_id FROM entries WHERE entries.id = promises.entry_id);
    -- Covering: reports count promises by outcome from the index alone.
    CREATE INDEX promises_created ON promises(created_at, state, settled_at, due_at);
    CREATE INDEX promises_site_created ON promises(site_id, created_at, state, settled_at, due_at);
    -- The Promises page lists the latest settled ones.
    CREATE INDEX promises_settled ON promises(settled_at) WHERE state <> 'open';
    "#,
    // 11: the customer can answer back from their status page. A follow-up
    // is an event; it puts the entry back among those waiting for staff
    // until a reply. The kinds it adds to three CHECK lists are admitted by
    // `widen_checks` below.
    r#"
    -- When the customer's latest unanswered follow-up arrived; NULL when
    -- staff have replied since (or there was none).
    ALTER TABLE entries ADD COLUMN followup_at INTEGER;
    DROP INDEX entries_waiting;
    CREATE INDEX entries_waiting ON entries(id)
        WHERE status IN ('new', 'acknowledged', 'in_progress')
          AND (first_response_at IS NULL OR followup_at IS NOT NULL);
    "#,
    // 12: staff and sites managed in the console: disabled accounts,
    // one-time invitation and password-reset links, and a record of who
    // changed what.
    r#"
    -- A disabled account cannot sign in; its sessions and tokens stop at
    -- once. Its name stays on the timeline.
    ALTER TABLE users ADD COLUMN disabled_at INTEGER;

    -- One-time links: only a hash of the secret is kept.
    CREATE TABLE account_links (
        id         INTEGER PRIMARY KEY,
        hash       BLOB NOT NULL UNIQUE,
        purpose    TEXT NOT NULL CHECK (purpose IN ('invite', 'reset')),
        -- Who a reset is for.
        user_id    INTEGER REFERENCES users(id) ON DELETE CASCADE,
        -- Who an invitation is for, and as what.
        email      TEXT,
        name       TEXT,
        role       TEXT CHECK (role IN ('admin', 'agent')),
        created_by INTEGER REFERENCES users(id),
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        used_at    INTEGER
    ) STRICT;

    -- Who changed what in the administration of this collector. Never the
    -- content of feedback.
    CREATE TABLE audit_log (
        id       INTEGER PRIMARY KEY,
        actor_id INTEGER REFERENCES users(id),
        action   TEXT NOT NULL,
        subject  TEXT,
        detail   TEXT,
        at       INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX audit_log_at ON audit_log(at);

    -- Erasing a person must take their words out of the search index's
    -- own pages too, not only hide them (FTS5 keeps deleted tokens in its
    -- segments until a merge otherwise).
    INSERT INTO entries_fts (entries_fts, rank) VALUES ('secure-delete', 1);

    -- Status links of entries erased at the customer's request: they
    -- answer 410 rather than 404. The public id is random, not personal.
    CREATE TABLE erased_entries (
        public_id TEXT PRIMARY KEY,
        at        INTEGER NOT NULL
    ) STRICT, WITHOUT ROWID;

    -- Retention per site: feedback older than retention_days is deleted
    -- (only resolved and won't-fix, or all), spam after spam_days.
    ALTER TABLE sites ADD COLUMN retention_days INTEGER CHECK (retention_days > 0);
    ALTER TABLE sites ADD COLUMN retention_scope TEXT NOT NULL DEFAULT 'closed'
        CHECK (retention_scope IN ('closed', 'all'));
    ALTER TABLE sites ADD COLUMN spam_days INTEGER NOT NULL DEFAULT 30 CHECK (spam_days > 0);

    -- The Sites page lists sites by name, a page at a time: read in order,
    -- not sorted, so a deep page skips rows without computing them.
    CREATE INDEX sites_name ON sites(name COLLATE NOCASE, id);
    "#,
    // 13: deleting an entry (erasure, retention) cascades into these
    // tables and checks `promises` by event; without an index on those
    // columns every single deletion scanned each table whole.
    r#"
    CREATE INDEX notices_entry ON notices(entry_id);
    CREATE INDEX mail_outbox_entry ON mail_outbox(entry_id) WHERE entry_id IS NOT NULL;
    CREATE INDEX mail_outbox_event ON mail_outbox(event_id) WHERE event_id IS NOT NULL;
    CREATE INDEX webhook_deliveries_entry ON webhook_deliveries(entry_id)
        WHERE entry_id IS NOT NULL;
    CREATE INDEX promises_event ON promises(event_id);
    "#,
    // 14: search at a million entries. The words in the search index, so
    // a search can spell out which longer words its last word starts (see
    // `search::match_query`): a view over `entries_fts` that stores
    // nothing. And the columns a filter tests beside a search, by id: a
    // search reads its matches newest first and tests each against the
    // filter; from this index (about 40 bytes an entry, read in order)
    // rather than from the entries' whole rows scattered over the file.
    r#"
    CREATE VIRTUAL TABLE search_terms USING fts5vocab(entries_fts, 'row');
    CREATE INDEX entries_search_filter ON entries(
        id, status, site_id, kind, severity, assignee_id, created_at,
        first_response_at, followup_at
    );
    "#,
    // 15: "Needs a response" lists whoever has waited longest first,
    // counting from a customer's unanswered follow-up (see
    // `review::WAITING_SINCE_SQL`), not by arrival: an old entry the
    // customer wrote again on minutes ago no longer heads the list. The
    // waiting entries' index holds that order.
    r#"
    DROP INDEX entries_waiting;
    CREATE INDEX entries_waiting ON entries(coalesce(followup_at, created_at), id)
        WHERE status IN ('new', 'acknowledged', 'in_progress')
          AND (first_response_at IS NULL OR followup_at IS NOT NULL);
    "#,
    // 16: feedback refused because its page's origin is not allowed, per
    // site and hour, and the latest origins refused (`store::refusals`):
    // the Sites page's count survives a restart. Counted in memory and
    // written every few seconds, never a write per refusal.
    r#"
    CREATE TABLE origin_refusals (
        site_id INTEGER NOT NULL REFERENCES sites(id),
        -- Hours since 1970, UTC.
        hour    INTEGER NOT NULL,
        count   INTEGER NOT NULL,
        PRIMARY KEY (site_id, hour)
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE refused_origins (
        site_id INTEGER NOT NULL REFERENCES sites(id),
        origin  TEXT NOT NULL,
        last_at INTEGER NOT NULL,
        PRIMARY KEY (site_id, origin)
    ) STRICT, WITHOUT ROWID;
    "#,
    // 17: the waiting entries' index also holds each one's site, so the
    // count of who waits past their site's target (on every console page)
    // reads the index alone instead of every waiting entry's row: 4 ms to
    // 1 ms with 4,882 waiting among a million.
    r#"
    DROP INDEX entries_waiting;
    CREATE INDEX entries_waiting ON entries(coalesce(followup_at, created_at), id, site_id)
        WHERE status IN ('new', 'acknowledged', 'in_progress')
          AND (first_response_at IS NULL OR followup_at IS NOT NULL);
    "#,
    // 18: the vocabulary view lists each word once per occurrence rather
    // than once per word. A 'row' view counts every occurrence of each word
    // it passes, so spelling out "sm" walked all 173,589 entries holding
    // "sms" (11 ms at a million entries); an 'instance' view is read
    // lazily, and `search::longer_words` steps from word to word: 1 ms.
    r#"
    DROP TABLE search_terms;
    CREATE VIRTUAL TABLE search_instances USING fts5vocab(entries_fts, 'instance');
    "#,
];

/// Kinds added to `CHECK (kind IN (...))` lists after their table was made:
/// (table, the last kind listed before, what it becomes).
const WIDENED_CHECKS: [(&str, &str, &str); 3] = [
    (
        "events",
        "'promise_broken')",
        "'promise_broken', 'follow_up')",
    ),
    (
        "notices",
        "'promise_overdue')",
        "'promise_overdue', 'follow_up')",
    ),
    (
        "mail_outbox",
        "'digest', 'reply')",
        "'digest', 'reply', 'follow_up')",
    ),
];

/// Admits new kinds into CHECK lists. Rebuilding `events` the usual way is
/// not possible while `promises` references it with foreign keys on, and
/// would copy every row; SQLite documents editing the stored schema for
/// changes that only loosen a CHECK, since no stored row can violate the
/// looser rule (sqlite.org/lang_altertable.html, "otherwise").
fn widen_checks(tx: &rusqlite::Transaction<'_>) -> Result<(), StoreError> {
    let version: i64 = tx.pragma_query_value(None, "schema_version", |r| r.get(0))?;
    tx.pragma_update(None, "writable_schema", "ON")?;
    for (table, before, after) in WIDENED_CHECKS {
        let changed = tx.execute(
            "UPDATE sqlite_schema SET sql = replace(sql, ?2, ?3)
             WHERE type = 'table' AND name = ?1 AND instr(sql, ?2) > 0",
            rusqlite::params![table, before, after],
        )?;
        if changed != 1 {
            return Err(StoreError::Corrupt(format!(
                "table {table} does not have the CHECK list migration 11 expects"
            )));
        }
    }
    tx.pragma_update(None, "schema_version", version + 1)?;
    tx.pragma_update(None, "writable_schema", "OFF")?;
    Ok(())
}

/// How many schema versions this binary knows.
pub fn known() -> usize {
    MIGRATIONS.len()
}

pub fn run(conn: &mut Connection) -> Result<(), StoreError> {
    let applied: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let applied = usize::try_from(applied).unwrap_or(usize::MAX);
    if applied > MIGRATIONS.len() {
        return Err(StoreError::SchemaTooNew {
            found: applied,
            known: MIGRATIONS.len(),
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        if i + 1 == 7 {
            super::attachments::backfill_dimensions(&tx)?;
        }
        if i + 1 == 11 {
            widen_checks(&tx)?;
        }
        tx.pragma_update(
            None,
            "user_version",
            i64::try_from(i + 1).unwrap_or(i64::MAX),
        )?;
        tx.commit()?;
        tracing::info!(version = i + 1, "applied database migration");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::OptionalExtension;

    #[test]
    fn migrations_apply_once_and_are_idempotent() {
        let mut conn = Connection::open_in_memory().unwrap();
        run(&mut conn).unwrap();
        run(&mut conn).unwrap();
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, MIGRATIONS.len() as i64);
    }

    #[test]
    fn images_stored_before_their_size_was_recorded_get_it_from_their_header() {
        let mut conn = Connection::open_in_memory().unwrap();
        for sql in &MIGRATIONS[..6] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 6).unwrap();
        conn.execute_batch(
            "INSERT INTO sites (id, key, name, origins, created_at) VALUES (1, 'k', 'n', '', 0);
             INSERT INTO entries (id, public_id, reference, status_token, site_id, kind, created_at)
                 VALUES (1, 'e_1', 'ES-1', 't', 1, 'idea', 0);",
        )
        .unwrap();
        let png = |w: u32, h: u32| {
            let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
            b.extend_from_slice(&w.to_be_bytes());
            b.extend_from_slice(&h.to_be_bytes());
            b
        };
        for (id, bytes) in [
            ("att_a", png(40_000, 40_000)),
            ("att_b", png(800, 600)),
            ("att_c", b"\x89PNG".to_vec()),
        ] {
            conn.execute(
                "INSERT INTO attachments (public_id, entry_id, content_type, bytes, size, created_at)
                 VALUES (?1, 1, 'image/png', ?2, 0, 0)",
                rusqlite::params![id, bytes],
            )
            .unwrap();
        }
        run(&mut conn).unwrap();
        let sizes: Vec<(String, Option<i64>, Option<i64>)> = conn
            .prepare("SELECT public_id, width, height FROM attachments ORDER BY public_id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            sizes,
            [
                ("att_a".to_owned(), Some(40_000), Some(40_000)),
                ("att_b".to_owned(), Some(800), Some(600)),
                ("att_c".to_owned(), None, None),
            ]
        );
    }

    #[test]
    fn follow_ups_are_admitted_into_an_existing_database_without_losing_rows() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "foreign_keys", "ON").unwrap();
        for sql in &MIGRATIONS[..10] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 10).unwrap();
        conn.execute_batch(
            "INSERT INTO sites (id, key, name, origins, created_at) VALUES (1, 'k', 'n', '', 0);
             INSERT INTO entries (id, public_id, reference, status_token, site_id, kind, created_at)
                 VALUES (1, 'e_1', 'ES-1', 't', 1, 'idea', 0);
             INSERT INTO events (id, entry_id, kind, body, created_at) VALUES (1, 1, 'reply', 'hi', 0);
             INSERT INTO promises (entry_id, event_id, text, due_at, created_at)
                 VALUES (1, 1, 'soon', 5, 0);",
        )
        .unwrap();
        let refused = conn.execute(
            "INSERT INTO events (entry_id, kind, created_at) VALUES (1, 'follow_up', 1)",
            [],
        );
        assert!(refused.is_err(), "version 10 does not know follow-ups");
        run(&mut conn).unwrap();
        conn.execute_batch(
            "INSERT INTO events (entry_id, kind, body, created_at) VALUES (1, 'follow_up', 'more', 1);
             INSERT INTO notices (kind, entry_id, at) VALUES ('follow_up', 1, 1);
             INSERT INTO mail_outbox (kind, created_at, due_at) VALUES ('follow_up', 1, 1);",
        )
        .unwrap();
        let still_refused = conn.execute(
            "INSERT INTO events (entry_id, kind, created_at) VALUES (1, 'gossip', 1)",
            [],
        );
        assert!(still_refused.is_err(), "the CHECK still holds");
        let events: i64 = conn
            .query_row("SELECT count(*) FROM events", [], |r| r.get(0))
            .unwrap();
        assert_eq!(events, 2);
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
        let fk: Option<String> = conn
            .query_row("PRAGMA foreign_key_check", [], |r| r.get(0))
            .optional()
            .unwrap();
        assert_eq!(fk, None);
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", 999).unwrap();
        assert!(matches!(
            run(&mut conn),
            Err(StoreError::SchemaTooNew { .. })
        ));
    }

    #[test]
    fn every_foreign_key_a_deletion_follows_is_indexed() {
        let mut conn = Connection::open_in_memory().unwrap();
        run(&mut conn).unwrap();
        let mut stmt = conn
            .prepare(
                "SELECT m.name, f.\"from\" FROM sqlite_schema m, pragma_foreign_key_list(m.name) f
                 WHERE m.type = 'table'",
            )
            .unwrap();
        let keys: Vec<(String, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert!(keys.len() > 10);
        // Columns referring to sites and staff accounts, which are never
        // deleted (an account is disabled instead): no cascade follows them.
        let never_deleted = [
            "site_id",
            "actor_id",
            "made_by",
            "assignee_id",
            "user_id",
            "created_by",
        ];
        let unindexed: Vec<_> = keys
            .iter()
            .filter(|(_, column)| !never_deleted.contains(&column.as_str()))
            .filter(|(table, column)| {
                let leading: i64 = conn
                    .query_row(
                        "SELECT count(*) FROM pragma_index_list(?1) l, pragma_index_info(l.name) i
                         WHERE i.seqno = 0 AND i.name = ?2",
                        [table, column],
                        |r| r.get(0),
                    )
                    .unwrap();
                leading == 0
            })
            .collect();
        assert!(
            unindexed.is_empty(),
            "unindexed foreign keys: {unindexed:?}"
        );
    }
}
