//! `earshot migrate-to-postgres`: an existing SQLite installation copied
//! into an empty PostgreSQL database, ids kept, then counted table by
//! table. One PostgreSQL transaction: a copy either arrives whole or not
//! at all.

use std::path::Path;

use rusqlite::types::Value;
use tokio_postgres::types::{ToSql, Type};

use super::Postgres;
use crate::store::StoreError;

/// Tables in the order their references allow, as named in both.
const TABLES: &[&str] = &[
    "sites",
    "users",
    "entries",
    "settings",
    "sessions",
    "events",
    "promises",
    "attachments",
    "login_attempts",
    "notify_prefs",
    "notices",
    "mail_outbox",
    "mail_attempts",
    "webhooks",
    "webhook_deliveries",
    "webhook_attempts",
    "api_tokens",
    "rollup_volume",
    "rollup_first_response",
    "rollup_resolution",
    "rollup_pages",
    "rollup_words",
    "account_links",
    "audit_log",
    "erased_entries",
    "origin_refusals",
    "refused_origins",
];

/// Tables whose rows are only worth keeping while their server runs.
const SESSION_TABLES: &[&str] = &["sessions"];

/// What was copied: (table, rows), in copying order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Copied {
    pub tables: Vec<(&'static str, i64)>,
}

#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("the PostgreSQL database already holds data (table {0}); copy into an empty one")]
    NotEmpty(&'static str),
    #[error("table {table}: {sqlite} rows in SQLite but {postgres} in PostgreSQL after the copy")]
    Mismatch {
        table: &'static str,
        sqlite: i64,
        postgres: i64,
    },
    #[error("column {column} of {table} holds a value PostgreSQL's {expected} cannot take")]
    Value {
        table: &'static str,
        column: String,
        expected: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for CopyError {
    fn from(e: rusqlite::Error) -> CopyError {
        CopyError::Store(e.into())
    }
}

impl From<tokio_postgres::Error> for CopyError {
    fn from(e: tokio_postgres::Error) -> CopyError {
        CopyError::Store(e.into())
    }
}

/// A SQLite value as the PostgreSQL column `ty` takes it.
fn convert(value: Value, ty: &Type) -> Option<Box<dyn ToSql + Sync + Send>> {
    Some(match (value, ty) {
        (Value::Null, t) if *t == Type::INT8 => Box::new(None::<i64>),
        (Value::Null, t) if *t == Type::BOOL => Box::new(None::<bool>),
        (Value::Null, t) if *t == Type::BYTEA => Box::new(None::<Vec<u8>>),
        (Value::Null, _) => Box::new(None::<String>),
        (Value::Integer(n), t) if *t == Type::INT8 => Box::new(n),
        (Value::Integer(n), t) if *t == Type::BOOL => Box::new(n != 0),
        // PostgreSQL's text cannot hold U+0000, which SQLite's can (older
        // versions kept it in staff notes); it shows nothing, so it goes.
        (Value::Text(s), t) if *t == Type::TEXT => Box::new(without_nul(s)),
        (Value::Blob(b), t) if *t == Type::BYTEA => Box::new(b),
        // Older rows may hold text where bytes are expected, and back.
        (Value::Text(s), t) if *t == Type::BYTEA => Box::new(s.into_bytes()),
        (Value::Blob(b), t) if *t == Type::TEXT => {
            Box::new(without_nul(String::from_utf8(b).ok()?))
        }
        _ => return None,
    })
}

fn without_nul(text: String) -> String {
    if text.contains('\0') {
        text.replace('\0', "")
    } else {
        text
    }
}

fn sqlite_count(conn: &rusqlite::Connection, table: &str) -> Result<i64, CopyError> {
    Ok(conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?)
}

impl Postgres {
    /// Copies the SQLite database at `from` (which no server may be using)
    /// into this one, which must be empty. `sessions`: keep staff signed
    /// in across the move.
    pub async fn copy_from_sqlite(&self, from: &Path, sessions: bool) -> Result<Copied, CopyError> {
        let sqlite = rusqlite::Connection::open_with_flags(
            from,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        for table in ["sites", "users", "entries"] {
            let any: bool = tx
                .query_one(&format!("SELECT EXISTS (SELECT 1 FROM {table})"), &[])
                .await?
                .try_get(0)?;
            if any {
                return Err(CopyError::NotEmpty(table));
            }
        }
        let mut copied = Copied::default();
        for &table in TABLES {
            if !sessions && SESSION_TABLES.contains(&table) {
                continue;
            }
            let mut read = sqlite.prepare(&format!("SELECT * FROM {table}"))?;
            let columns: Vec<String> = read.column_names().map(str::to_owned).collect();
            let placeholders: Vec<String> = (1..=columns.len()).map(|i| format!("${i}")).collect();
            let insert = tx
                .prepare(&format!(
                    "INSERT INTO {table} ({}) OVERRIDING SYSTEM VALUE VALUES ({})",
                    columns.join(", "),
                    placeholders.join(", ")
                ))
                .await?;
            let types = insert.params().to_vec();
            let mut rows = read.query([])?;
            let mut n = 0i64;
            while let Some(row) = rows.next()? {
                let mut args: Vec<Box<dyn ToSql + Sync + Send>> = Vec::with_capacity(columns.len());
                for (i, ty) in types.iter().enumerate() {
                    let value: Value = row.get(i)?;
                    args.push(convert(value, ty).ok_or_else(|| CopyError::Value {
                        table,
                        column: columns[i].clone(),
                        expected: ty.name().to_owned(),
                    })?);
                }
                let refs: Vec<&(dyn ToSql + Sync)> = args
                    .iter()
                    .map(|a| a.as_ref() as &(dyn ToSql + Sync))
                    .collect();
                tx.execute(&insert, &refs).await?;
                n += 1;
            }
            copied.tables.push((table, n));
        }
        // What SQLite keeps elsewhere: words for search (its FTS5 index),
        // and which entries are yet to be announced and counted (cursors).
        tx.batch_execute(
            "UPDATE entries e SET search = earshot_words(e.message, e.expected, e.actual,
                 (SELECT string_agg(n.body, ' ') FROM events n
                  WHERE n.entry_id = e.id AND n.kind IN ('note', 'follow_up')))",
        )
        .await?;
        let cursor = |name: &str| -> Result<i64, CopyError> {
            Ok(sqlite
                .query_row("SELECT upto FROM cursors WHERE name = ?1", [name], |r| {
                    r.get(0)
                })
                .or_else(|e| match e {
                    rusqlite::Error::QueryReturnedNoRows => Ok(0),
                    e => Err(e),
                })?)
        };
        let announced = cursor(crate::store::notify::ENTRIES_CURSOR)?;
        let counted = cursor("rollup_entries")?;
        tx.execute(
            "INSERT INTO entries_to_announce (entry_id)
             SELECT id FROM entries WHERE id > $1 AND status <> 'spam'",
            &[&announced],
        )
        .await?;
        tx.execute(
            "INSERT INTO entries_to_roll_up (entry_id) SELECT id FROM entries WHERE id > $1",
            &[&counted],
        )
        .await?;
        // New rows continue after the copied ids (sites also after the
        // removed ones', which SQLite kept aside).
        let removed_sites = cursor(crate::store::sites::REMOVED_SITES_CURSOR)?;
        for &table in TABLES {
            let has_identity: bool = tx
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM information_schema.columns
                     WHERE table_schema = current_schema() AND table_name = $1
                       AND column_name = 'id' AND is_identity = 'YES')",
                    &[&table],
                )
                .await?
                .try_get(0)?;
            if has_identity {
                tx.execute(
                    &format!(
                        "SELECT setval(pg_get_serial_sequence('{table}', 'id'),
                                       greatest(coalesce((SELECT max(id) FROM {table}), 0), $1) + 1,
                                       false)"
                    ),
                    &[&if table == "sites" { removed_sites } else { 0 }],
                )
                .await?;
            }
        }
        for &(table, rows) in &copied.tables {
            let sqlite_rows = sqlite_count(&sqlite, table)?;
            let postgres: i64 = tx
                .query_one(&format!("SELECT count(*) FROM {table}"), &[])
                .await?
                .try_get(0)?;
            if sqlite_rows != rows || postgres != rows {
                return Err(CopyError::Mismatch {
                    table,
                    sqlite: sqlite_rows,
                    postgres,
                });
            }
        }
        tx.commit().await?;
        Ok(copied)
    }
}
