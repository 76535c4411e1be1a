//! The promises report: every open promise and those settled lately.

use rusqlite::params;

use crate::store::{Sqlite, StoreError};

use super::PromiseRow;
use super::entry::{PROMISE_SELECT, promise_from_row};

/// The numbers behind "never ignore a customer" and "do what you say".
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub open_promises: Vec<PromiseRow>,
    /// The most recently settled promises made in the window, newest first
    /// (at most [`SETTLED_SHOWN`]).
    pub settled_promises: Vec<PromiseRow>,
    /// All promises made in the window and settled, by outcome.
    pub settled: SettledCounts,
}

/// Settled promises shown on the Promises page.
pub const SETTLED_SHOWN: usize = 200;

/// Promises settled, by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SettledCounts {
    pub kept_on_time: i64,
    pub kept_late: i64,
    pub broken: i64,
}

impl Sqlite {
    /// Open promises, and those made since `since` that were settled.
    pub async fn report(&self, since: i64) -> Result<Report, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "{PROMISE_SELECT} WHERE p.state = 'open' ORDER BY p.due_at, p.id"
            ))?;
            let open_promises = stmt
                .query_map([], promise_from_row)?
                .collect::<Result<_, _>>()?;
            let mut stmt = conn.prepare_cached(&format!(
                "{PROMISE_SELECT} WHERE p.state <> 'open' AND p.created_at >= ?1
                 ORDER BY p.settled_at DESC, p.id DESC LIMIT ?2"
            ))?;
            let settled_promises = stmt
                .query_map(
                    params![since, i64::try_from(SETTLED_SHOWN).unwrap_or(i64::MAX)],
                    promise_from_row,
                )?
                .collect::<Result<_, _>>()?;
            let settled = conn
                .prepare_cached(
                    "SELECT coalesce(sum(state = 'kept' AND settled_at <= due_at), 0),
                            coalesce(sum(state = 'kept' AND settled_at > due_at), 0),
                            coalesce(sum(state = 'broken'), 0)
                     FROM promises WHERE created_at >= ?1 AND state <> 'open'",
                )?
                .query_row([since], |r| {
                    Ok(SettledCounts {
                        kept_on_time: r.get(0)?,
                        kept_late: r.get(1)?,
                        broken: r.get(2)?,
                    })
                })?;
            Ok(Report {
                open_promises,
                settled_promises,
                settled,
            })
        })
        .await
    }
}
