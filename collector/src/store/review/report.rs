//! The promises report: the open promises a page at a time, and those
//! settled lately.

use crate::review::filter::Cursor;
use crate::store::among::{among_sites, with_sites};
use crate::store::{Sqlite, StoreError};

use super::PromiseRow;
use super::entry::{PROMISE_SELECT, promise_from_row};

/// The numbers behind "never ignore a customer" and "do what you say".
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub open: OpenPromises,
    /// The most recently settled promises made in the window, newest first
    /// (at most [`SETTLED_SHOWN`]).
    pub settled_promises: Vec<PromiseRow>,
    /// All promises made in the window and settled, by outcome.
    pub settled: SettledCounts,
}

/// Open promises shown on one page of the Promises page.
pub const OPEN_SHOWN: usize = 200;

/// Settled promises shown on the Promises page.
pub const SETTLED_SHOWN: usize = 200;

/// The open promises: one page of them, due soonest (most overdue) first,
/// and counts over all of them, so the page stays small however many
/// promises a team leaves open.
#[derive(Debug, Clone, Default)]
pub struct OpenPromises {
    /// At most [`OPEN_SHOWN`], from the place asked for on.
    pub rows: Vec<PromiseRow>,
    /// Whether more follow the last of `rows`.
    pub more: bool,
    /// How many come before the first of `rows`.
    pub skipped: i64,
    pub total: i64,
    /// Past their due time now.
    pub overdue: i64,
    /// Made in the window and overdue: they can no longer be kept on time.
    pub overdue_in_window: i64,
}

impl OpenPromises {
    /// The place in due order that `promise` stands at, for a link to the
    /// page after it.
    pub fn place(promise: &PromiseRow) -> Cursor {
        Cursor::new(promise.due_at, promise.id)
    }
}

/// Which promises the Promises page shows.
#[derive(Debug, Clone, Default)]
pub struct PromiseScope {
    /// Settled promises made since then are listed and counted.
    pub since: i64,
    /// When "overdue" is judged.
    pub now: i64,
    /// Promises on these sites' entries; none is every site.
    pub sites: Vec<i64>,
    /// Open promises after this place in due order; `None` from the first.
    pub after: Option<Cursor>,
}

/// Promises settled, by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SettledCounts {
    pub kept_on_time: i64,
    pub kept_late: i64,
    pub broken: i64,
}

/// Where a page of open promises starts: after `after`, or at the first.
pub(in crate::store) fn open_from(after: Option<Cursor>) -> (i64, i64) {
    after.map_or((i64::MIN, i64::MIN), |c| (c.at(), c.id()))
}

/// The rows read up to [`open_limit`] cut to a page, and whether more
/// follow.
pub(in crate::store) fn page_of_open(mut rows: Vec<PromiseRow>) -> (Vec<PromiseRow>, bool) {
    let more = rows.len() > OPEN_SHOWN;
    rows.truncate(OPEN_SHOWN);
    (rows, more)
}

/// One row more than a page shows, to know whether more follow.
pub(in crate::store) fn open_limit() -> i64 {
    i64::try_from(OPEN_SHOWN + 1).unwrap_or(i64::MAX)
}

impl Sqlite {
    /// A page of the open promises in `scope` with counts over all of
    /// them, and the latest of those settled.
    pub async fn report(&self, scope: PromiseScope) -> Result<Report, StoreError> {
        self.read(move |conn| {
            let (due, id) = open_from(scope.after);
            let sites = &scope.sites;
            // `due_at >=` beside the row comparison lets the open promises'
            // index on due_at start at the place. Open promises are few:
            // `+` keeps SQLite on that index rather than reading every
            // promise of a large site by its site index.
            let mut stmt = conn.prepare_cached(&format!(
                "{PROMISE_SELECT} WHERE p.state = 'open' AND p.due_at >= ?1
                   AND (p.due_at, p.id) > (?1, ?2){}
                 ORDER BY p.due_at, p.id LIMIT ?3",
                among_sites("+p.site_id", sites, 4)
            ))?;
            let rows = stmt
                .query_map(
                    with_sites(vec![due.into(), id.into(), open_limit().into()], sites),
                    promise_from_row,
                )?
                .collect::<Result<_, _>>()?;
            let (rows, more) = page_of_open(rows);
            let open = conn
                .prepare_cached(&format!(
                    "SELECT count(*), coalesce(sum(due_at < ?1), 0),
                            coalesce(sum(due_at < ?1 AND created_at >= ?2), 0),
                            coalesce(sum((due_at, id) <= (?3, ?4)), 0)
                     FROM promises WHERE state = 'open'{}",
                    among_sites("+site_id", sites, 5)
                ))?
                .query_row(
                    with_sites(
                        vec![scope.now.into(), scope.since.into(), due.into(), id.into()],
                        sites,
                    ),
                    |r| {
                        Ok(OpenPromises {
                            rows,
                            more,
                            total: r.get(0)?,
                            overdue: r.get(1)?,
                            overdue_in_window: r.get(2)?,
                            skipped: r.get(3)?,
                        })
                    },
                )?;
            // The promises chosen from the index alone, then read whole:
            // joined first, a large site's thousands of settled promises
            // each looked up its entry before all but 200 were dropped.
            let mut stmt = conn.prepare_cached(&format!(
                "{PROMISE_SELECT} WHERE p.id IN (
                     SELECT id FROM promises WHERE state <> 'open' AND created_at >= ?1{}
                     ORDER BY settled_at DESC, id DESC LIMIT ?2)
                 ORDER BY p.settled_at DESC, p.id DESC",
                among_sites("site_id", sites, 3)
            ))?;
            let shown = i64::try_from(SETTLED_SHOWN).unwrap_or(i64::MAX);
            let settled_promises = stmt
                .query_map(
                    with_sites(vec![scope.since.into(), shown.into()], sites),
                    promise_from_row,
                )?
                .collect::<Result<_, _>>()?;
            let settled = conn
                .prepare_cached(&format!(
                    "SELECT coalesce(sum(state = 'kept' AND settled_at <= due_at), 0),
                            coalesce(sum(state = 'kept' AND settled_at > due_at), 0),
                            coalesce(sum(state = 'broken'), 0)
                     FROM promises WHERE created_at >= ?1 AND state <> 'open'{}",
                    among_sites("site_id", sites, 2)
                ))?
                .query_row(with_sites(vec![scope.since.into()], sites), |r| {
                    Ok(SettledCounts {
                        kept_on_time: r.get(0)?,
                        kept_late: r.get(1)?,
                        broken: r.get(2)?,
                    })
                })?;
            Ok(Report {
                open,
                settled_promises,
                settled,
            })
        })
        .await
    }
}
