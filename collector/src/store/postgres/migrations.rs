//! Versioned schema changes for PostgreSQL, applied on start under an
//! advisory lock: collectors starting together wait for one another, and
//! each version is applied exactly once, in one transaction with its
//! record in `schema_migrations`.

use deadpool_postgres::Client;

use crate::store::StoreError;

/// Every version, in order; never edit one that has shipped.
const MIGRATIONS: &[&str] = &[
    include_str!("schema/0001.sql"),
    include_str!("schema/0002.sql"),
    include_str!("schema/0003.sql"),
    include_str!("schema/0004.sql"),
];

/// The advisory lock's key: "earshot" in ASCII, so it stays clear of
/// other applications' locks on a shared server.
const LOCK: i64 = 0x0065_6172_7368_6f74;

pub fn known() -> usize {
    MIGRATIONS.len()
}

pub async fn run(client: &mut Client) -> Result<(), StoreError> {
    let tx = client.transaction().await?;
    // Held until commit: a second collector blocks here, then finds the
    // work done.
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK])
        .await?;
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
    let current =
        usize::try_from(current).map_err(|_| StoreError::Corrupt("schema version".into()))?;
    if current > known() {
        return Err(StoreError::SchemaTooNew {
            found: current,
            known: known(),
        });
    }
    let mut applied = Vec::new();
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let version = index + 1;
        tx.batch_execute(sql).await?;
        tx.execute(
            "INSERT INTO schema_migrations (version) VALUES ($1)",
            &[&i64::try_from(version).unwrap_or(i64::MAX)],
        )
        .await?;
        applied.push(version);
    }
    tx.commit().await?;
    // Said once committed: a failed commit applied nothing.
    for version in applied {
        tracing::info!(version, "applied PostgreSQL migration");
    }
    Ok(())
}
