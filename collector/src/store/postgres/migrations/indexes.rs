//! Indexes built concurrently, so collectors already serving keep
//! writing meanwhile: the versions that only build indexes
//! ([`rebuild_concurrently`]) and the indexes a database lacks
//! ([`restore_missing`]). What each index should be is read from a copy
//! the migrations build in a schema of their own.

use std::collections::HashSet;

use deadpool_postgres::Client;

use super::{MIGRATIONS, RECORD, apply, known, quiet, said, stored};
use crate::store::StoreError;

/// Applies version `version`, which only builds or rebuilds the indexes
/// `names`: each is built concurrently under a name of its own, as the
/// version leaves it, then put in place of any it replaces (dropped
/// concurrently too), and the version is recorded last. Built in the
/// version's transaction, they made every write to `entries` from a
/// collector not yet upgraded wait until it committed (about 2 s per
/// million entries each), and dropping the old index made reads wait as
/// well, behind any transaction the drop waited for. A crash in between
/// leaves the version unrecorded: the next start drops the half-built copy
/// and builds it again. Where the definitions cannot be read (a role that
/// may not create a schema), the version is applied as written.
pub(super) async fn rebuild_concurrently(
    client: &mut Client,
    version: usize,
    names: &[&str],
) -> Result<(), StoreError> {
    let (home, wanted) = wanted_indexes(client, version).await?;
    let builds = match wanted {
        Ok(wanted) => names
            .iter()
            .map(|&name| {
                let building = format!("{name}{BUILDING}");
                concurrently(&definition(&wanted, name)?, name, &building, &home.quoted)
                    .map(|sql| (name, building, sql))
            })
            .collect::<Option<Vec<_>>>(),
        Err(error) => {
            tracing::warn!(%error, version, "could not read the indexes the version builds");
            None
        }
    };
    let Some(builds) = builds else {
        return apply(client, &[version], true).await;
    };
    for (name, building, sql) in builds {
        let started = std::time::Instant::now();
        drop_if_present(client, &home, &building).await?;
        client.batch_execute(&sql).await?;
        drop_if_present(client, &home, name).await?;
        client
            .batch_execute(&format!(
                "ALTER INDEX {}.{building} RENAME TO {name}",
                home.quoted
            ))
            .await?;
        tracing::info!(
            index = name,
            ms = started.elapsed().as_millis(),
            "rebuilt an index concurrently"
        );
    }
    client.execute(RECORD, &[&stored(version)]).await?;
    said(&[version]);
    Ok(())
}

/// What an index being built concurrently is called until it replaces the
/// one of its name.
const BUILDING: &str = "_rebuilt";

/// How `wanted` (from [`reference_indexes`]) defines index `name`.
fn definition(wanted: &[tokio_postgres::Row], name: &str) -> Option<String> {
    wanted
        .iter()
        .find(|row| row.try_get::<_, String>(0).is_ok_and(|n| n == name))?
        .try_get(1)
        .ok()
}

/// The statement that builds concurrently, as `build_as` in the schema
/// `home`, the index `name` whose `definition` the reference copy gave;
/// `None` for a definition not of the form PostgreSQL writes.
fn concurrently(definition: &str, name: &str, build_as: &str, home: &str) -> Option<String> {
    let named = format!("INDEX {name} ON ");
    if !definition.starts_with("CREATE ") || !definition.contains(&named) {
        return None;
    }
    Some(
        definition
            .replacen(&named, &format!("INDEX CONCURRENTLY {build_as} ON "), 1)
            .replace(&format!("{REFERENCE}."), &format!("{home}.")),
    )
}

/// Drops index `name` of the schema `home` concurrently if it is there;
/// asked first, so the log does not carry the server's notice that it
/// was not.
async fn drop_if_present(client: &Client, home: &Home, name: &str) -> Result<(), StoreError> {
    let index = format!("{}.{name}", home.quoted);
    let present: bool = client
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&index])
        .await?
        .try_get(0)?;
    if present {
        client
            .batch_execute(&format!("DROP INDEX CONCURRENTLY {index}"))
            .await?;
    }
    Ok(())
}

/// The schema that holds `entries`, by name and quoted for SQL.
struct Home {
    name: String,
    quoted: String,
}

impl Home {
    async fn of(tx: &deadpool_postgres::Transaction<'_>) -> Result<Home, StoreError> {
        let name: String = tx
            .query_one(
                "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE c.oid = 'entries'::regclass",
                &[],
            )
            .await?
            .try_get(0)?;
        let quoted: String = tx
            .query_one("SELECT quote_ident($1)", &[&name])
            .await?
            .try_get(0)?;
        Ok(Home { name, quoted })
    }
}

/// Makes again the indexes the migrations made that are gone (dropped by
/// hand, or lost to a tool that copied only the tables) or invalid (left
/// by a build that failed part-way): queries that are planned around an
/// index crawl without it. What the schema should hold is read from a
/// copy the migrations build in a schema of its own, so this list cannot
/// fall behind them; indexes that back a constraint go only with their
/// constraint, which is another matter. Each is built concurrently, so
/// collectors already serving keep writing to the table meanwhile. It runs
/// under the upgrade's lock: collectors starting together take turns
/// (building the copies side by side measured slower than one after
/// another, as the catalog is shared), and two never build one index.
pub(super) async fn restore_missing(client: &mut Client) -> Result<(), StoreError> {
    let (home, wanted) = wanted_indexes(client, known()).await?;
    let wanted = match wanted {
        Ok(wanted) => wanted,
        // A role that may not create a schema still runs Earshot.
        Err(error) => {
            tracing::warn!(%error, "could not check the schema for missing indexes");
            return Ok(());
        }
    };
    let valid = valid_indexes_in(client, &home.name).await?;
    for row in &wanted {
        let name: String = row.try_get(0)?;
        if valid.contains(&name) {
            continue;
        }
        let definition: String = row.try_get(1)?;
        let Some(sql) = concurrently(&definition, &name, &name, &home.quoted) else {
            tracing::warn!(
                name,
                "the database lacks an index of its schema, of a form not known"
            );
            continue;
        };
        let started = std::time::Instant::now();
        let made = async {
            // An invalid one holds the name.
            drop_if_present(client, &home, &name).await?;
            client.batch_execute(&sql).await?;
            Ok::<_, StoreError>(())
        };
        match made.await {
            Ok(()) => tracing::warn!(
                name,
                ms = started.elapsed().as_millis(),
                "the database lacked an index of its schema (removed by hand, or left invalid?); made it again"
            ),
            // Only a table's owner may index it; the collector still runs.
            Err(error) => tracing::warn!(
                name,
                %error,
                "the database lacks an index of its schema and it could not be made again"
            ),
        }
    }
    Ok(())
}

/// The schema that holds `entries`, and the indexes the migrations up to
/// version `upto` make there, from [`reference_indexes`] (an error where
/// the copy could not be built, as for a role that may not create a
/// schema).
async fn wanted_indexes(
    client: &mut Client,
    upto: usize,
) -> Result<(Home, Result<Vec<tokio_postgres::Row>, StoreError>), StoreError> {
    let tx = client.transaction().await?;
    quiet(&tx).await?;
    let home = Home::of(&tx).await?;
    let wanted = reference_indexes(&tx, &home.quoted, upto).await;
    // Nobody else ever sees the copy.
    tx.rollback().await?;
    Ok((home, wanted))
}

/// The schema the reference copy is built in.
const REFERENCE: &str = "earshot_reference";

/// Every index the migrations up to version `upto` make that backs no
/// constraint, as its name and definition, from a copy they build in a
/// schema of its own.
async fn reference_indexes(
    tx: &deadpool_postgres::Transaction<'_>,
    home: &str,
    upto: usize,
) -> Result<Vec<tokio_postgres::Row>, StoreError> {
    tx.batch_execute(&format!(
        "CREATE SCHEMA {REFERENCE}; SET LOCAL search_path TO {REFERENCE}, {home};"
    ))
    .await?;
    for sql in MIGRATIONS.iter().take(upto) {
        tx.batch_execute(sql).await?;
    }
    Ok(tx
        .query(
            &format!(
                "SELECT i.indexname::text, i.indexdef FROM pg_indexes i
                 JOIN pg_class c ON c.relname = i.indexname
                     AND c.relnamespace = '{REFERENCE}'::regnamespace
                 WHERE i.schemaname = '{REFERENCE}'
                     AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = c.oid)
                 ORDER BY 1"
            ),
            &[],
        )
        .await?)
}

/// The names of the valid indexes in `schema`.
async fn valid_indexes_in(client: &Client, schema: &str) -> Result<HashSet<String>, StoreError> {
    let rows = client
        .query(
            "SELECT c.relname::text FROM pg_index i
             JOIN pg_class c ON c.oid = i.indexrelid
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = $1 AND i.indisvalid",
            &[&schema],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?)
}
