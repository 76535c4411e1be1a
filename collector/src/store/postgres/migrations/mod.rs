//! Versioned schema changes for PostgreSQL, applied on start under an
//! advisory lock: collectors starting together wait for one another, and
//! each version is applied exactly once and recorded in
//! `schema_migrations`.

use deadpool_postgres::Client;
use futures_util::TryStreamExt;
use tokio_postgres::types::ToSql;

use crate::store::StoreError;
use crate::store::redact::Redacted;

mod indexes;

use indexes::{rebuild_concurrently, restore_missing};

/// Every version, in order; never edit one that has shipped.
const MIGRATIONS: &[&str] = &[
    include_str!("../schema/0001.sql"),
    include_str!("../schema/0002.sql"),
    include_str!("../schema/0003.sql"),
    include_str!("../schema/0004.sql"),
    include_str!("../schema/0005.sql"),
    include_str!("../schema/0006.sql"),
    include_str!("../schema/0007.sql"),
    include_str!("../schema/0008.sql"),
    include_str!("../schema/0009.sql"),
    include_str!("../schema/0010.sql"),
    include_str!("../schema/0011.sql"),
    include_str!("../schema/0012.sql"),
    include_str!("../schema/0013.sql"),
    include_str!("../schema/0014.sql"),
    include_str!("../schema/0015.sql"),
    include_str!("../schema/0016.sql"),
    include_str!("../schema/0017.sql"),
    include_str!("../schema/0018.sql"),
    include_str!("../schema/0019.sql"),
    include_str!("../schema/0020.sql"),
    include_str!("../schema/0021.sql"),
    include_str!("../schema/0022.sql"),
    include_str!("../schema/0023.sql"),
];

/// The advisory lock's key: "earshot" in ASCII, so it stays clear of
/// other applications' locks on a shared server.
const LOCK: i64 = 0x0065_6172_7368_6f74;

pub fn known() -> usize {
    MIGRATIONS.len()
}

/// The version whose stored entries get their key outside its transaction
/// (see [`upgrade`]).
const KEYS_STORED_ENTRIES: usize = 15;

/// The version that drops the severity stored with praise and ideas, a
/// page of entries per transaction ahead of its own (see [`upgrade`]).
const DROPS_STALE_SEVERITIES: usize = 13;

/// The version whose stored keys of international domains are written
/// again a page per transaction ahead of its own (see [`upgrade`]).
const REKEYS_INTERNATIONAL_DOMAINS: usize = 21;

/// Entries changed per transaction when an upgrade rewrites stored ones.
const PAGE: usize = 10_000;

/// Versions that only build or rebuild indexes, and the indexes each
/// leaves: an upgrade builds them concurrently (see
/// [`rebuild_concurrently`]). A test checks that every such version is
/// listed.
const REBUILDS_INDEXES: &[(usize, &[&str])] = &[
    (4, &["entries_severity", "entries_created"]),
    (
        5,
        &[
            "mail_outbox_user_assigned_waiting",
            "mail_outbox_user_assigned_sent",
        ],
    ),
    (17, &["sites_name"]),
    (19, &["entries_open"]),
    (23, &["entries_kind", "entries_open"]),
];

/// How often a collector waiting for another's upgrade asks for the lock.
const LOCK_POLL: std::time::Duration = std::time::Duration::from_millis(100);

pub async fn run(client: &mut Client) -> Result<(), StoreError> {
    // A lock of the session, not of one transaction: an upgrade may take
    // several, and a second collector must wait here until the last has
    // committed, then find the work done. It asks again and again rather
    // than waiting inside `pg_advisory_lock`: a statement that waits holds
    // a snapshot, and an index built concurrently waits for every
    // snapshot, so the two collectors would wait for each other until
    // PostgreSQL failed one of them as a deadlock.
    while !client
        .query_one("SELECT pg_try_advisory_lock($1)", &[&LOCK])
        .await?
        .try_get::<_, bool>(0)?
    {
        tokio::time::sleep(LOCK_POLL).await;
    }
    let upgraded = upgrade(client).await;
    let restored = match &upgraded {
        // A database the migrations have just made whole has nothing to
        // restore.
        Ok(applied) if applied.first() != Some(&1) => restore_missing(client).await,
        _ => Ok(()),
    };
    // Also after a failure: the connection goes back to the pool. (A
    // connection that is lost takes its session's lock with it.)
    let unlocked = client
        .execute("SELECT pg_advisory_unlock($1)", &[&LOCK])
        .await;
    upgraded?;
    restored?;
    unlocked?;
    super::name_order::refresh(&*client).await?;
    Ok(())
}

/// Applies the versions the database lacks, each with its record in
/// `schema_migrations`, and returns them. A new database gets them all in
/// one transaction. An existing one gets a transaction per version:
/// collectors not yet upgraded keep serving meanwhile, and a version that
/// alters or indexes a table makes their writes to it wait until its own
/// transaction commits, not until the last one's. Version 15 altered
/// `entries`, and keying a million stored addresses in its transaction
/// kept them from storing anything for a minute: its statements commit
/// first, the keys then a page per transaction (entries stored meanwhile
/// are keyed by its trigger), and its record last. A crash in between
/// leaves it unrecorded: the next start applies its statements again
/// (they can be) and keys what is left. Version 13 rewrites the stored
/// praise and ideas that carry a severity; at 400,000 of them its
/// transaction held their rows for 51 s, so a colleague answering one on
/// an older collector waited as long: they are rewritten a page per
/// transaction first, and its own transaction then drops what older
/// collectors stored meanwhile and moves the report's counts. Version 21
/// writes again the stored keys of addresses with an international domain
/// the same way, a page per transaction, before its own. Versions that
/// only build or rebuild indexes build them concurrently, with no
/// transaction at all ([`rebuild_concurrently`]).
async fn upgrade(client: &mut Client) -> Result<Vec<usize>, StoreError> {
    let current = {
        let tx = client.transaction().await?;
        quiet(&tx).await?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version    bigint PRIMARY KEY,
                 applied_at timestamptz NOT NULL DEFAULT now()
             )",
        )
        .await?;
        let current: i64 = tx
            .query_one(
                "SELECT coalesce(max(version), 0) FROM schema_migrations",
                &[],
            )
            .await?
            .try_get(0)?;
        tx.commit().await?;
        usize::try_from(current).map_err(|_| StoreError::Corrupt("schema version".into()))?
    };
    if current > known() {
        return Err(StoreError::SchemaTooNew {
            found: current,
            known: known(),
        });
    }
    let versions: Vec<usize> = (current + 1..=known()).collect();
    if current == 0 {
        apply(client, &versions, true).await?;
        return Ok(versions);
    }
    for &version in &versions {
        match version {
            KEYS_STORED_ENTRIES => {
                apply(client, &[version], false).await?;
                super::privacy::fill_email_keys(client).await?;
                client.execute(RECORD, &[&stored(version)]).await?;
                said(&[version]);
            }
            DROPS_STALE_SEVERITIES => {
                drop_stale_severities(client).await?;
                apply(client, &[version], true).await?;
            }
            REKEYS_INTERNATIONAL_DOMAINS => {
                super::privacy::rekey_international_domains(client).await?;
                apply(client, &[version], true).await?;
            }
            _ => match REBUILDS_INDEXES.iter().find(|(v, _)| *v == version) {
                Some((_, names)) => rebuild_concurrently(client, version, names).await?,
                None => apply(client, &[version], true).await?,
            },
        }
    }
    Ok(versions)
}

/// Version 13's change to stored entries: found in one pass without
/// locks, then changed a page per statement (each its own transaction).
/// Each page is locked in id order, as every transaction that changes
/// several entries does, so an older collector's bulk action cannot
/// deadlock with it and fail the upgrade.
async fn drop_stale_severities(client: &mut Client) -> Result<(), StoreError> {
    // Streamed: only the ids are kept (8 MB at a million), not the rows.
    let found = client
        .query_raw(
            "SELECT id FROM entries
             WHERE kind IN ('idea', 'praise') AND severity IS NOT NULL ORDER BY id",
            std::iter::empty::<&(dyn ToSql + Sync)>(),
        )
        .await?;
    let mut found = std::pin::pin!(found);
    let mut stale = Vec::new();
    while let Some(row) = found.try_next().await? {
        stale.push(row.try_get::<_, i64>(0)?);
    }
    // A page is a range of ids: an index range is read faster than a
    // list of ten thousand ids is looked up.
    for page in stale.chunks(PAGE) {
        let (Some(first), Some(last)) = (page.first(), page.last()) else {
            continue;
        };
        client
            .execute(
                "UPDATE entries SET severity = NULL WHERE id IN (
                     SELECT id FROM entries
                     WHERE id BETWEEN $1 AND $2
                       AND kind IN ('idea', 'praise') AND severity IS NOT NULL
                     ORDER BY id FOR UPDATE
                 )",
                &[first, last],
            )
            .await?;
    }
    Ok(())
}

const RECORD: &str = "INSERT INTO schema_migrations (version) VALUES ($1)";

fn stored(version: usize) -> i64 {
    i64::try_from(version).unwrap_or(i64::MAX)
}

/// Applies `versions` in one transaction, with their records unless
/// `recorded` is false, and says so once committed.
async fn apply(client: &mut Client, versions: &[usize], recorded: bool) -> Result<(), StoreError> {
    let tx = client.transaction().await?;
    quiet(&tx).await?;
    let mut redacted = Redacted::default();
    for &version in versions {
        let Some(sql) = MIGRATIONS.get(version.wrapping_sub(1)) else {
            return Err(StoreError::Corrupt("schema version".into()));
        };
        tx.batch_execute(sql).await?;
        if version == 12 {
            redacted = super::redact::backfill(&tx).await?;
        }
        if recorded {
            tx.execute(RECORD, &[&stored(version)]).await?;
        }
    }
    tx.commit().await?;
    // Said once committed: a failed commit applied nothing.
    redacted.log();
    if recorded {
        said(versions);
    }
    Ok(())
}

fn said(applied: &[usize]) {
    match applied {
        [] => {}
        // A new database: one line, not one per version it never had.
        [1, .., last] => tracing::info!(version = last, "created the PostgreSQL schema"),
        upgraded => {
            for &version in upgraded {
                tracing::info!(version, "applied PostgreSQL migration");
            }
        }
    }
}

/// Keeps the server's notices about what already exists ("relation
/// schema_migrations already exists, skipping", at every start and every
/// command) out of the log for the rest of `tx`; warnings still come.
async fn quiet(tx: &deadpool_postgres::Transaction<'_>) -> Result<(), StoreError> {
    tx.batch_execute("SET LOCAL client_min_messages = warning")
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The statements of `sql`, comments left out and spaces folded.
    fn statements(sql: &str) -> Vec<String> {
        let code: Vec<&str> = sql
            .lines()
            .map(|line| line.split("--").next().unwrap_or(""))
            .collect();
        code.join(" ")
            .split(';')
            .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|s| !s.is_empty())
            .collect()
    }

    /// The index `statement` builds, if it builds one.
    fn built(statement: &str) -> Option<&str> {
        let rest = statement
            .strip_prefix("CREATE INDEX ")
            .or_else(|| statement.strip_prefix("CREATE UNIQUE INDEX "))?;
        let rest = rest.strip_prefix("IF NOT EXISTS ").unwrap_or(rest);
        rest.split_whitespace().next()
    }

    /// The index `statement` drops, if it drops one.
    fn dropped(statement: &str) -> Option<&str> {
        let rest = statement.strip_prefix("DROP INDEX ")?;
        let rest = rest.strip_prefix("IF EXISTS ").unwrap_or(rest);
        rest.split_whitespace().next()
    }

    /// An upgrade does not run a listed version's statements, only builds
    /// the indexes listed: a version listed that did more would lose the
    /// rest, and one left out would make older collectors wait.
    #[test]
    fn every_version_that_only_builds_indexes_is_built_concurrently_and_no_other() {
        let mut index_only = Vec::new();
        for (i, sql) in MIGRATIONS.iter().enumerate() {
            let version = i + 1;
            let statements = statements(sql);
            let builds: Vec<&str> = statements.iter().filter_map(|s| built(s)).collect();
            let only = !builds.is_empty()
                && statements.iter().all(|s| {
                    built(s).is_some() || dropped(s).is_some_and(|name| builds.contains(&name))
                });
            let listed = REBUILDS_INDEXES
                .iter()
                .find(|(v, _)| *v == version)
                .map(|(_, names)| names.to_vec());
            if only {
                assert_eq!(listed, Some(builds), "version {version}");
                index_only.push(version);
            } else {
                assert_eq!(
                    listed, None,
                    "version {version} does more than build indexes"
                );
            }
        }
        assert_eq!(index_only, [4, 5, 17, 19, 23]);
    }
}
