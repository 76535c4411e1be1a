//! Retention: each site may delete feedback left untouched for a number of
//! days (only resolved and won't-fix, or all of it), and spam goes after 30
//! days unless a site says otherwise. Days count from the last thing that
//! happened to an entry (a status change, reply, note, assignment or the
//! customer's follow-up), not from its arrival: an old complaint closed
//! today stays readable on its status page, and one still being talked
//! about is not taken from the conversation. A background task sweeps as many entries
//! per write transaction as fit in a few milliseconds, so ingest never
//! waits long; what it deleted is counted in the audit log.

use std::time::{Duration, Instant};

use rusqlite::{Connection, params};

use super::accounts::audit;
use super::mail_health::FORGET_TEST_MAILS;
use super::privacy::{DELETE_CHUNK, delete_some};
use super::{Sqlite, StoreError};
use crate::clock::Clock;
use crate::outage::Outage;
use crate::review::workflow::{DAY, Status};

/// How often the background task sweeps.
pub const EVERY: Duration = Duration::from_secs(600);

/// Longest retention an admin may set (ten years).
pub const MAX_DAYS: i64 = 3_650;

/// How long spam is kept unless a site says otherwise.
pub const DEFAULT_SPAM_DAYS: i64 = 30;

/// How long emails and webhook messages are kept once sent (or given up),
/// with their attempts: the pages that list them show the recent ones, and
/// a webhook message repeats the customer's words, which need not outlive
/// its purpose. Without this both outboxes grew with every entry forever.
pub const OUTBOX_KEPT_DAYS: i64 = 30;

/// Outbox rows deleted per write transaction (about 10 ms for 1,000).
pub(in crate::store) const PRUNE_CHUNK: i64 = 1_000;

/// The newest email and webhook message made before `before` (ids follow
/// creation time): read once per pruning, outside the write transactions,
/// as finding it reads back through the recent rows.
fn prune_bounds(conn: &Connection, before: i64) -> Result<(i64, i64), StoreError> {
    let newest = |table: &str| -> Result<i64, StoreError> {
        Ok(conn
            .prepare_cached(&format!(
                "SELECT coalesce((SELECT id FROM {table} WHERE created_at < ?1
                                  ORDER BY id DESC LIMIT 1), 0)"
            ))?
            .query_row([before], |r| r.get(0))?)
    };
    Ok((newest("mail_outbox")?, newest("webhook_deliveries")?))
}

/// Deletes up to `limit` emails with ids up to `mails_upto` and up to
/// `limit` webhook messages with ids up to `deliveries_upto` that are no
/// longer waiting to go, oldest first; returns how many of each. The email
/// of the last successful attempt stays, so the console can still say when
/// email last went out.
fn prune(
    conn: &Connection,
    (mails_upto, deliveries_upto): (i64, i64),
    limit: i64,
) -> Result<(usize, usize), StoreError> {
    let mails = conn
        .prepare_cached(
            "DELETE FROM mail_outbox WHERE id IN (
                 SELECT id FROM mail_outbox
                 WHERE id <= ?1 AND state <> 'pending'
                   AND id IS NOT (SELECT outbox_id FROM mail_attempts WHERE ok = 1
                                  ORDER BY id DESC LIMIT 1)
                 ORDER BY id LIMIT ?2)",
        )?
        .execute(params![mails_upto, limit])?;
    let deliveries = conn
        .prepare_cached(
            "DELETE FROM webhook_deliveries WHERE id IN (
                 SELECT id FROM webhook_deliveries
                 WHERE id <= ?1 AND state <> 'pending'
                 ORDER BY id LIMIT ?2)",
        )?
        .execute(params![deliveries_upto, limit])?;
    Ok((mails, deliveries))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a whole number of days from 1 to {}", MAX_DAYS)]
pub struct DaysError;

/// Days as an admin types them; empty (or `off`) is none.
pub fn parse_days(raw: &str) -> Result<Option<i64>, DaysError> {
    match raw.trim() {
        "" | "off" => Ok(None),
        raw => raw
            .parse::<i64>()
            .ok()
            .filter(|d| (1..=MAX_DAYS).contains(d))
            .map(Some)
            .ok_or(DaysError),
    }
}

/// A site's retention settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retention {
    /// Delete feedback untouched for this many days; `None` keeps it.
    pub days: Option<i64>,
    /// All feedback, not only resolved and won't-fix.
    pub all: bool,
    pub spam_days: i64,
}

pub(in crate::store) struct Rule {
    pub site_id: i64,
    pub key: String,
    pub retention: Retention,
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

/// Statuses whose entries `rule` deletes, each with the time before which
/// they go.
pub(in crate::store) fn cutoffs(rule: &Rule, now: i64) -> Vec<(Status, i64)> {
    let spam = now - rule.retention.spam_days.saturating_mul(DAY);
    let days = rule.retention.days.map(|d| now - d.saturating_mul(DAY));
    Status::ALL
        .into_iter()
        .filter_map(|status| {
            let by_days = days.filter(|_| {
                rule.retention.all || matches!(status, Status::Resolved | Status::WontFix)
            });
            match status {
                Status::Spam => Some((status, by_days.map_or(spam, |d| d.max(spam)))),
                _ => by_days.map(|d| (status, d)),
            }
        })
        .collect()
}

/// Up to `limit` entries due for deletion, oldest first. Each status is
/// read along the `(site_id, status, id)` index, bounded by the newest entry
/// created before its cutoff (ids follow creation time), so a batch reads
/// only rows it deletes and the few touched since (their events, found by
/// entry, say so): no sort.
fn due(
    conn: &Connection,
    rule: &Rule,
    now: i64,
    limit: usize,
) -> Result<Vec<(i64, String)>, StoreError> {
    let mut found = Vec::new();
    for (status, cutoff) in cutoffs(rule, now) {
        let wanted = limit.saturating_sub(found.len());
        if wanted == 0 {
            break;
        }
        let mut stmt = conn.prepare_cached(
            "SELECT e.id, e.public_id FROM entries e INDEXED BY entries_site_status
             WHERE e.site_id = ?1 AND e.status = ?2
               AND e.id <= coalesce((SELECT id FROM entries WHERE created_at < ?3
                                     ORDER BY created_at DESC, id DESC LIMIT 1), 0)
               AND e.created_at < ?3
               AND NOT EXISTS (SELECT 1 FROM events v
                               WHERE v.entry_id = e.id AND v.created_at >= ?3)
             ORDER BY e.id LIMIT ?4",
        )?;
        let rows = stmt.query_map(
            params![
                rule.site_id,
                status.as_str(),
                cutoff,
                i64::try_from(wanted).unwrap_or(i64::MAX)
            ],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        for row in rows {
            found.push(row?);
        }
    }
    Ok(found)
}

impl Sqlite {
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
                // (deleted, whether more may be due)
                let (n, more) = self
                    .write(move |conn| {
                        let ids = due(conn, &r, now, DELETE_CHUNK)?;
                        let (done, taken) = delete_some(conn, &ids, None)?;
                        Ok((done.entries, taken < ids.len() || ids.len() == DELETE_CHUNK))
                    })
                    .await?;
                deleted += n;
                if !more {
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

    /// Sets a site's retention (`actor` `None`: from the command line);
    /// `false` when there is no such site.
    pub async fn set_retention(
        &self,
        site_id: i64,
        retention: Retention,
        actor: Option<i64>,
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
            audit(conn, actor, "site.retention", &key, Some(&detail), at)?;
            Ok(true)
        })
        .await
    }

    /// Deletes the emails and webhook messages finished more than
    /// [`OUTBOX_KEPT_DAYS`] before `now` (by when they were made), a chunk
    /// per write transaction; returns how many of each.
    pub async fn prune_outboxes(&self, now: i64) -> Result<(usize, usize), StoreError> {
        let before = now - OUTBOX_KEPT_DAYS * DAY;
        let bounds = self.read(move |conn| prune_bounds(conn, before)).await?;
        self.write(move |conn| Ok(conn.prepare_cached(FORGET_TEST_MAILS)?.execute([before])?))
            .await?;
        let (mut mails, mut deliveries) = (0, 0);
        loop {
            let (m, d) = self
                .write(move |conn| prune(conn, bounds, PRUNE_CHUNK))
                .await?;
            mails += m;
            deliveries += d;
            let full = i64::try_from(m.max(d)).unwrap_or(i64::MAX) >= PRUNE_CHUNK;
            if !full {
                if mails + deliveries > 0 {
                    tracing::info!(
                        mails,
                        deliveries,
                        "deleted finished emails and webhook messages"
                    );
                    self.reclaim_logged().await;
                }
                return Ok((mails, deliveries));
            }
        }
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
pub async fn keep(store: super::Store, clock: Clock) {
    let mut outage = Outage::default();
    loop {
        tokio::time::sleep(EVERY).await;
        let now = clock.now_millis();
        let swept = match store.sweep_retention(now).await {
            Ok(_) => store.prune_outboxes(now).await.map(drop),
            Err(e) => Err(e),
        };
        match swept {
            Ok(()) => outage.recover(Instant::now(), "the retention sweep"),
            Err(StoreError::Closed) => return,
            Err(e) => outage.warn(Instant::now(), "the retention sweep", &e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_days_are_whole_days_up_to_ten_years_or_none() {
        assert_eq!(parse_days(" 90 "), Ok(Some(90)));
        assert_eq!(parse_days("3650"), Ok(Some(3_650)));
        assert_eq!(parse_days(""), Ok(None));
        assert_eq!(parse_days("off"), Ok(None));
        for refused in ["0", "3651", "-5", "1.5", "forever"] {
            assert_eq!(parse_days(refused), Err(DaysError), "{refused:?}");
        }
    }

    fn rule(days: Option<i64>, all: bool, spam_days: i64) -> Rule {
        Rule {
            site_id: 1,
            key: "k".into(),
            retention: Retention {
                days,
                all,
                spam_days,
            },
        }
    }

    #[test]
    fn each_status_goes_after_its_own_cutoff() {
        let now = 1_000 * DAY;
        assert_eq!(
            cutoffs(&rule(None, false, 30), now),
            [(Status::Spam, now - 30 * DAY)],
            "without days only spam goes"
        );
        assert_eq!(
            cutoffs(&rule(Some(90), false, 30), now),
            [
                (Status::Resolved, now - 90 * DAY),
                (Status::WontFix, now - 90 * DAY),
                (Status::Spam, now - 30 * DAY),
            ]
        );
        let all = cutoffs(&rule(Some(7), true, 30), now);
        assert_eq!(all.len(), Status::ALL.len());
        assert!(
            all.contains(&(Status::Spam, now - 7 * DAY)),
            "spam goes at the sooner of its two cutoffs"
        );
        assert!(all.contains(&(Status::New, now - 7 * DAY)));
    }
}
