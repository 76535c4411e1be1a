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
];

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
    fn a_newer_schema_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", 999).unwrap();
        assert!(matches!(
            run(&mut conn),
            Err(StoreError::SchemaTooNew { .. })
        ));
    }
}
