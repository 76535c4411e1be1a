//! Schema migrations (`schema/*.sql`), embedded in the binary and applied
//! in order on open. `PRAGMA user_version` records how many have run; never
//! edit a released migration, append a new one.

use rusqlite::Connection;

use super::StoreError;

const MIGRATIONS: &[&str] = &[
    include_str!("schema/0001.sql"),
    include_str!("schema/0002.sql"),
    include_str!("schema/0003.sql"),
    include_str!("schema/0004.sql"),
    include_str!("schema/0005.sql"),
    include_str!("schema/0006.sql"),
    include_str!("schema/0007.sql"),
    include_str!("schema/0008.sql"),
    include_str!("schema/0009.sql"),
    include_str!("schema/0010.sql"),
    include_str!("schema/0011.sql"),
    include_str!("schema/0012.sql"),
    include_str!("schema/0013.sql"),
    include_str!("schema/0014.sql"),
    include_str!("schema/0015.sql"),
    include_str!("schema/0016.sql"),
    include_str!("schema/0017.sql"),
    include_str!("schema/0018.sql"),
    include_str!("schema/0019.sql"),
    include_str!("schema/0020.sql"),
    include_str!("schema/0021.sql"),
    include_str!("schema/0022.sql"),
    include_str!("schema/0023.sql"),
    include_str!("schema/0024.sql"),
    include_str!("schema/0025.sql"),
    include_str!("schema/0026.sql"),
    include_str!("schema/0027.sql"),
    include_str!("schema/0028.sql"),
    include_str!("schema/0029.sql"),
    include_str!("schema/0030.sql"),
    include_str!("schema/0031.sql"),
    include_str!("schema/0032.sql"),
    include_str!("schema/0033.sql"),
    include_str!("schema/0034.sql"),
    include_str!("schema/0035.sql"),
    include_str!("schema/0036.sql"),
];

/// Kinds added to `CHECK (kind IN (...))` lists after their table was made:
/// (the migration that does it, table, the last kinds listed before, what
/// they become).
const WIDENED_CHECKS: [(usize, &str, &str, &str); 8] = [
    (
        11,
        "events",
        "'promise_broken')",
        "'promise_broken', 'follow_up')",
    ),
    (
        11,
        "notices",
        "'promise_overdue')",
        "'promise_overdue', 'follow_up')",
    ),
    (
        11,
        "mail_outbox",
        "'digest', 'reply')",
        "'digest', 'reply', 'follow_up')",
    ),
    (
        22,
        "mail_outbox",
        "'reply', 'follow_up')",
        "'reply', 'follow_up', 'receipt')",
    ),
    (
        23,
        "notices",
        "'promise_overdue', 'follow_up')",
        "'promise_overdue', 'follow_up', 'note')",
    ),
    (
        23,
        "mail_outbox",
        "'follow_up', 'receipt')",
        "'follow_up', 'receipt', 'mention', 'promise')",
    ),
    (
        25,
        "mail_outbox",
        "'mention', 'promise')",
        "'mention', 'promise', 'closed')",
    ),
    (
        26,
        "mail_outbox",
        "'promise', 'closed')",
        "'promise', 'closed', 'kept')",
    ),
];

/// Admits new kinds into CHECK lists. Rebuilding `events` the usual way is
/// not possible while `promises` references it with foreign keys on, and
/// would copy every row; SQLite documents editing the stored schema for
/// changes that only loosen a CHECK, since no stored row can violate the
/// looser rule (sqlite.org/lang_altertable.html, "otherwise").
fn widen_checks(tx: &rusqlite::Transaction<'_>, migration: usize) -> Result<(), StoreError> {
    let version: i64 = tx.pragma_query_value(None, "schema_version", |r| r.get(0))?;
    tx.pragma_update(None, "writable_schema", "ON")?;
    for (_, table, before, after) in WIDENED_CHECKS.iter().filter(|w| w.0 == migration) {
        let changed = tx.execute(
            "UPDATE sqlite_schema SET sql = replace(sql, ?2, ?3)
             WHERE type = 'table' AND name = ?1 AND instr(sql, ?2) > 0",
            rusqlite::params![table, before, after],
        )?;
        if changed != 1 {
            return Err(StoreError::Corrupt(format!(
                "table {table} does not have the CHECK list migration {migration} expects"
            )));
        }
    }
    tx.pragma_update(None, "schema_version", version + 1)?;
    tx.pragma_update(None, "writable_schema", "OFF")?;
    Ok(())
}

/// Adds `column` (declared as `definition`) to `table` unless it is there:
/// SQLite adds a column only unconditionally, and a migration must run
/// again on a database rewound to the version before it.
pub(super) fn add_column_once(
    conn: &Connection,
    table: &str,
    column: &str,
    definition: &str,
) -> Result<(), StoreError> {
    let present = conn
        .prepare("SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2")?
        .exists([table, column])?;
    if !present {
        conn.execute_batch(&format!(
            "ALTER TABLE {table} ADD COLUMN {column} {definition}"
        ))?;
    }
    Ok(())
}

/// Version 32's columns (see `schema/0032.sql`).
fn add_assignment_accounts(conn: &Connection) -> Result<(), StoreError> {
    for column in ["old_user_id", "new_user_id"] {
        add_column_once(conn, "events", column, "INTEGER REFERENCES users(id)")?;
    }
    Ok(())
}

/// Version 34's column (see `schema/0034.sql`).
fn add_address_refused(conn: &Connection) -> Result<(), StoreError> {
    add_column_once(
        conn,
        "mail_attempts",
        "address_refused",
        "INTEGER NOT NULL DEFAULT 0 CHECK (address_refused IN (0, 1))",
    )
}

/// How many schema versions this binary knows.
pub fn known() -> usize {
    MIGRATIONS.len()
}

/// Brings the database up to this binary's schema, then makes again any
/// index or trigger of that schema the database lacks and keys the names
/// stored without their sort key.
pub fn run(conn: &mut Connection) -> Result<(), StoreError> {
    let applied = apply(conn)?;
    match applied.as_slice() {
        [] => {}
        // A new database: one line, not one per version it never had.
        [1, .., last] => tracing::info!(version = last, "created the database schema"),
        upgraded => {
            for &version in upgraded {
                tracing::info!(version, "applied database migration");
            }
        }
    }
    // A database the migrations have just made whole has nothing to
    // restore; the check costs about 10 ms, paid once a start.
    if applied.first() != Some(&1) {
        restore_missing(conn)?;
    }
    super::name_order::refresh(conn)?;
    Ok(())
}

/// Applies the migrations not yet applied; returns the versions it applied.
fn apply(conn: &mut Connection) -> Result<Vec<usize>, StoreError> {
    apply_upto(conn, MIGRATIONS.len())
}

/// [`apply`], stopping at version `upto`: tests build an older database
/// the way that version's binary did.
fn apply_upto(conn: &mut Connection, upto: usize) -> Result<Vec<usize>, StoreError> {
    let applied: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let applied = usize::try_from(applied).unwrap_or(usize::MAX);
    if applied > MIGRATIONS.len() {
        return Err(StoreError::SchemaTooNew {
            found: applied,
            known: MIGRATIONS.len(),
        });
    }
    let mut done = Vec::new();
    for (i, sql) in MIGRATIONS.iter().enumerate().take(upto).skip(applied) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        if i + 1 == 7 {
            super::attachments::backfill_dimensions(&tx)?;
        }
        if i + 1 == 29 {
            super::privacy::add_email_keys(&tx)?;
        }
        if i + 1 == 30 {
            super::name_order::add_keys(&tx)?;
        }
        if i + 1 == 32 {
            add_assignment_accounts(&tx)?;
        }
        if i + 1 == 33 {
            super::privacy::rekey_international_domains(&tx)?;
        }
        if i + 1 == 34 {
            add_address_refused(&tx)?;
        }
        let redacted = if i + 1 == 27 {
            super::redact::backfill(&tx)?
        } else {
            super::redact::Redacted::default()
        };
        if WIDENED_CHECKS.iter().any(|w| w.0 == i + 1) {
            widen_checks(&tx, i + 1)?;
        }
        tx.pragma_update(
            None,
            "user_version",
            i64::try_from(i + 1).unwrap_or(i64::MAX),
        )?;
        tx.commit()?;
        redacted.log();
        done.push(i + 1);
    }
    Ok(done)
}

/// Makes again the indexes and triggers the migrations made that are gone
/// (dropped by hand, or lost to a tool that copied only the tables):
/// queries that name their index fail outright without it, and a lost
/// trigger would let what it keeps in step drift. What the schema should
/// hold is read from a scratch database the migrations build in memory,
/// so this list cannot fall behind them.
fn restore_missing(conn: &Connection) -> Result<(), StoreError> {
    let mut reference = Connection::open_in_memory()?;
    apply(&mut reference)?;
    let present: std::collections::HashSet<String> = conn
        .prepare("SELECT name FROM sqlite_schema")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut wanted = reference.prepare(
        "SELECT type, name, sql FROM sqlite_schema
         WHERE type IN ('index', 'trigger') AND sql IS NOT NULL ORDER BY type, name",
    )?;
    let wanted = wanted.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    for object in wanted {
        let (kind, name, sql) = object?;
        if present.contains(&name) {
            continue;
        }
        let started = std::time::Instant::now();
        conn.execute_batch(&sql)?;
        tracing::warn!(
            kind,
            name,
            ms = started.elapsed().as_millis(),
            "the database lacked part of its schema (removed by hand?); made it again"
        );
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

    /// Before version 32 an assignment kept names alone: it keeps them,
    /// and is not matched to an account by name (two colleagues may share
    /// it). One recorded since names the account as it is named now.
    #[test]
    fn assignments_recorded_before_version_32_keep_the_names_of_their_day() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "foreign_keys", "ON").unwrap();
        apply_upto(&mut conn, 31).unwrap();
        conn.execute_batch(
            "INSERT INTO sites (id, key, name, origins, created_at) VALUES (1, 'k', 'n', '', 0);
             INSERT INTO users (id, email, name, role, password_hash, created_at)
                 VALUES (1, 'ann@example.com', 'Ann', 'agent', 'x', 0);
             INSERT INTO entries (id, public_id, reference, status_token, site_id, kind, created_at)
                 VALUES (1, 'e_1', 'ES-1', 't', 1, 'idea', 0);
             INSERT INTO events (entry_id, actor_id, kind, new_value, created_at)
                 VALUES (1, 1, 'assign', 'Ann', 0);",
        )
        .unwrap();
        run(&mut conn).unwrap();
        conn.execute_batch(
            "UPDATE users SET name = 'Ann Berg' WHERE id = 1;
             INSERT INTO events (entry_id, actor_id, kind, new_value, new_user_id, created_at)
                 VALUES (1, 1, 'assign', 'Ann', 1, 1);",
        )
        .unwrap();
        let events = format!(
            "{} WHERE ev.entry_id = 1 ORDER BY ev.id",
            crate::store::review::EVENTS_SELECT
        );
        let named: Vec<(Option<String>, Option<i64>)> = conn
            .prepare(&events)
            .unwrap()
            .query_map([], |r| Ok((r.get(5)?, r.get(10)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            named,
            [
                (Some("Ann".to_owned()), None),
                (Some("Ann Berg".to_owned()), Some(1))
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
             INSERT INTO mail_outbox (kind, created_at, due_at) VALUES ('follow_up', 1, 1);
             INSERT INTO mail_outbox (kind, created_at, due_at) VALUES ('receipt', 1, 1);
             INSERT INTO mail_outbox (kind, created_at, due_at) VALUES ('closed', 1, 1);
             INSERT INTO mail_outbox (kind, created_at, due_at) VALUES ('kept', 1, 1);",
        )
        .unwrap();
        let outbox_refused = conn.execute(
            "INSERT INTO mail_outbox (kind, created_at, due_at) VALUES ('gossip', 1, 1)",
            [],
        );
        assert!(outbox_refused.is_err(), "the outbox's CHECK still holds");
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
    fn last_sign_ins_start_from_the_sessions_still_open() {
        let mut conn = Connection::open_in_memory().unwrap();
        apply_upto(&mut conn, 20).unwrap();
        conn.execute_batch(
            "INSERT INTO users (id, email, name, role, password_hash, created_at)
                 VALUES (1, 'ada@x', 'Ada', 'admin', 'h', 0), (2, 'bo@x', 'Bo', 'agent', 'h', 0);
             INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, last_seen)
                 VALUES (x'01', 1, 'c', 100, 150), (x'02', 1, 'c', 300, 300);",
        )
        .unwrap();
        run(&mut conn).unwrap();
        let last: Vec<Option<i64>> = conn
            .prepare("SELECT last_sign_in_at FROM users ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(last, [Some(300), None]);
    }

    #[test]
    fn indexes_and_triggers_removed_by_hand_are_made_again() {
        let mut conn = Connection::open_in_memory().unwrap();
        run(&mut conn).unwrap();
        let schema = |conn: &Connection| -> Vec<(String, Option<String>)> {
            conn.prepare("SELECT name, sql FROM sqlite_schema ORDER BY name")
                .unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .map(Result::unwrap)
                .collect()
        };
        let whole = schema(&conn);
        let trigger: String = conn
            .query_row(
                "SELECT name FROM sqlite_schema WHERE type = 'trigger' LIMIT 1",
                [],
                |r| r.get(0),
            )
            .unwrap();
        conn.execute_batch(&format!(
            "DROP INDEX entries_waiting; DROP INDEX entries_search_filter; DROP TRIGGER {trigger};"
        ))
        .unwrap();
        assert_ne!(schema(&conn), whole);
        run(&mut conn).unwrap();
        assert_eq!(schema(&conn), whole);
        // The inbox's own count, which names its index.
        let waiting: i64 = conn
            .query_row(
                &format!(
                    "SELECT count(*) FROM entries e INDEXED BY entries_waiting WHERE {}",
                    crate::store::review::WAITING_SQL
                ),
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(waiting, 0);
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
            "old_user_id",
            "new_user_id",
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
