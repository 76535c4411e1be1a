//! The order sites and staff are listed in, the same on every backend and
//! the one a reader expects: "Édith" beside "Eve" and "Ärzte" beside
//! "Apotheke", not after "zoo" as code points put them. Neither backend
//! can sort so by itself alike (SQLite's `NOCASE` folds only A to Z;
//! PostgreSQL's collations differ from database to database), so each
//! name is stored with its [`name_key`], and lists are sorted by that key
//! byte by byte (SQLite's `BINARY`, PostgreSQL's `"C"`), then by id.
//! The key is written with the name; names written by anything else (a
//! SQL tool, a collector older than the column) get theirs when a
//! collector next opens the database.

use rusqlite::{Connection, params};

use super::StoreError;
use crate::name::name_key;

/// The tables whose rows have a name listed in order.
pub(super) const NAMED: [&str; 2] = ["sites", "users"];

/// Version 30's columns and index; the keys come with [`refresh`].
pub(super) fn add_keys(conn: &Connection) -> Result<(), StoreError> {
    for table in NAMED {
        super::migrations::add_column_once(conn, table, "name_key", "TEXT NOT NULL DEFAULT ''")?;
    }
    conn.execute_batch("CREATE INDEX IF NOT EXISTS sites_name ON sites(name_key, id)")?;
    Ok(())
}

/// Gives every name whose key is missing or stale its key; returns how
/// many it changed. Sites and staff are at most thousands, read in a few
/// milliseconds.
pub(super) fn refresh(conn: &Connection) -> Result<usize, StoreError> {
    // One transaction: one sync of the file, not one per name.
    let tx = conn.unchecked_transaction()?;
    let mut changed = 0;
    for table in NAMED {
        let stale: Vec<(i64, String)> = tx
            .prepare(&format!("SELECT id, name, name_key FROM {table}"))?
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })?
            .filter_map(|row| match row {
                Ok((id, name, key)) => {
                    let fresh = name_key(&name);
                    (fresh != key).then_some(Ok((id, fresh)))
                }
                Err(e) => Some(Err(e)),
            })
            .collect::<Result<_, _>>()?;
        let mut update = tx.prepare(&format!("UPDATE {table} SET name_key = ?2 WHERE id = ?1"))?;
        for (id, key) in &stale {
            changed += update.execute(params![id, key])?;
        }
    }
    tx.commit()?;
    if changed > 0 {
        tracing::info!(changed, "keyed names written without their sort key");
    }
    Ok(changed)
}
