//! Retention: each site may delete feedback older than a number of days
//! (only resolved and won't-fix, or all of it), and spam goes after 30 days
//! unless a site says otherwise. A background task sweeps a few entries per
//! write transaction, so ingest never waits long; what it deleted is
//! counted in the audit log.

use std::time::Duration;

use rusqlite::{Connection, params};

use super::accounts::audit;
use super::privacy::delete_entries;
use super::{Store, StoreError};
use crate::clock::Clock;
use crate::console::workflow::DAY;

/// Entries deleted per write transaction.
const BATCH: usize = 20;
/// How often the background task sweeps.
pub const EVERY: Duration = Duration::from_secs(600);

/// A site's retention settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retention {
    /// Delete feedback older than this many days; `None` keeps it.
    pub days: Option<i64>,
    /// All feedback, not only resolved and won't-fix.
    pub all: bool,
    pub spam_days: i64,
}

struct Rule {
    site_id: i64,
    key: String,
    retention: Retention,
}

fn rules(conn: &Connection) -> Result<Vec<Rule>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, key, retention_days, retention_scope, spam_days FROM sites ORDER BY id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(Rule {
            site_id: r.get(0)?,
            key: r.get(1)?,
            retention: Retention {
                days: r.get(2)?,
                all: r.get::<_, String>(3)? == "all",
                spam_days: r.get(4)?,
            },
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The newest entry created before `cutoff` (ids follow creation time), so
/// a sweep reads only old entries, oldest first.
fn due(
    conn: &Connection,
    rule: &Rule,
    now: i64,
    limit: usize,
) -> Result<Vec<(i64, String)>, StoreError> {
    let spam_cutoff = now - rule.retention.spam_days.saturating_mul(DAY);
    let cutoff = rule.retention.days.map(|d| now - d.saturating_mul(DAY));
    let oldest_kept = cutoff.map_or(spam_cutoff, |c| c.max(spam_cutoff));
    let mut stmt = conn.prepare_cached(
        "SELECT e.id, e.public_id FROM entries e
         WHERE e.site_id = ?1
           AND e.id <= coalesce((SELECT id FROM entries WHERE created_at < ?2
                                 ORDER BY created_at DESC, id DESC LIMIT 1), 0)
           AND ((e.status = 'spam' AND e.created_at < ?3)
             OR (?4 IS NOT NULL AND e.created_at < ?4
                 AND (?5 OR e.status IN ('resolved', 'wont_fix'))))
         ORDER BY e.id LIMIT ?6",
    )?;
    let rows = stmt.query_map(
        params![
            rule.site_id,
            oldest_kept,
            spam_cutoff,
            cutoff,
            rule.retention.all,
            i64::try_from(limit).unwrap_or(i64::MAX)
        ],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

impl Store {
    /// Deletes what every site's retention says is due at `now`; returns
    /// (site key, entries deleted) for the sites where it deleted any.
    pub async fn sweep_retention(&self, now: i64) -> Result<Vec<(String, i64)>, StoreError> {
        let rules = self.read(rules).await?;
        let mut swept = Vec::new();
        for rule in rules {
            let rule = std::sync::Arc::new(rule);
            let mut deleted = 0;
            loop {
                let r = rule.clone();
                let n = self
                    .write(move |conn| {
                        let ids = due(conn, &r, now, BATCH)?;
                        Ok(delete_entries(conn, &ids, None)?.entries)
                    })
                    .await?;
                deleted += n;
                if n < i64::try_from(BATCH).unwrap_or(i64::MAX) {
                    break;
                }
            }
            if deleted > 0 {
                let key = rule.key.clone();
                self.write(move |conn| {
                    audit(
                        conn,
                        None,
                        "retention.deleted",
                        &key,
                        Some(&format!("entries={deleted}")),
                        now,
                    )
                })
                .await?;
                tracing::info!(site = %rule.key, deleted, "retention deleted old feedback");
                swept.push((rule.key.clone(), deleted));
            }
        }
        if !swept.is_empty() {
            self.reclaim_logged().await;
        }
        Ok(swept)
    }

    /// Sets a site's retention; `false` when there is no such site.
    pub async fn set_retention(
        &self,
        site_id: i64,
        retention: Retention,
        actor: i64,
        at: i64,
    ) -> Result<bool, StoreError> {
        self.write(move |conn| {
            let changed = conn.execute(
                "UPDATE sites SET retention_days = ?2, retention_scope = ?3, spam_days = ?4 WHERE id = ?1",
                params![
                    site_id,
                    retention.days,
                    if retention.all { "all" } else { "closed" },
                    retention.spam_days
                ],
            )?;
            if changed == 0 {
                return Ok(false);
            }
            let key: String =
                conn.query_row("SELECT key FROM sites WHERE id = ?1", [site_id], |r| r.get(0))?;
            let detail = format!(
                "days={},scope={},spam_days={}",
                retention.days.map_or("off".to_owned(), |d| d.to_string()),
                if retention.all { "all" } else { "closed" },
                retention.spam_days
            );
            audit(conn, Some(actor), "site.retention", &key, Some(&detail), at)?;
            Ok(true)
        })
        .await
    }

    pub async fn retention(&self, site_id: i64) -> Result<Option<Retention>, StoreError> {
        self.read(move |conn| {
            Ok(rules(conn)?
                .into_iter()
                .find(|r| r.site_id == site_id)
                .map(|r| r.retention))
        })
        .await
    }
}

/// Sweeps every [`EVERY`] on `clock`'s time until the store closes.
pub async fn keep(store: Store, clock: Clock) {
    loop {
        tokio::time::sleep(EVERY).await;
        match store.sweep_retention(clock.now_millis()).await {
            Ok(_) => {}
            Err(StoreError::Closed) => return,
            Err(e) => tracing::warn!(error = %e, "retention sweep failed; retrying later"),
        }
    }
}
