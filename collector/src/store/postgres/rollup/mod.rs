//! Roll-ups for reports on PostgreSQL: the same tables and sums as on
//! SQLite (`store::rollup`), fed from a queue instead of a cursor.
//!
//! New entries wait in `entries_to_roll_up`. A roll-up takes a batch off
//! the queue and locks those entries while it counts them; a staff action
//! that changes a counted fact (first reply, resolution, spam) holds its
//! entry's lock too and adjusts the sums only if the entry has left the
//! queue. Whichever goes first, the other sees its result, so no change
//! is counted twice or lost.
//!
//! The sums themselves are changed under one advisory lock ([`SUMS_LOCK`]),
//! taken after the entries' row locks and held to the commit; a
//! transaction that changes several entries (a roll-up, a bulk action, an
//! erasure) locks them all first, in id order. A roll-up and a staff
//! action share rows of the sums (a page's count, a week's first-response
//! time) and reached them in different orders: each held what the other
//! waited for until PostgreSQL broke the deadlock a second later and
//! failed one of them, the roll-up or the staff member's click. Ordering
//! the rows would not do: a bulk action changes several entries' sums one
//! entry after another. Each change is a few rows and milliseconds, so
//! taking them one at a time costs little.

use std::collections::HashMap;

use deadpool_postgres::{GenericClient, Transaction};
use tokio_postgres::Row;

use super::{Postgres, read_opt, read_rows};
use crate::report::bucket;
use crate::store::StoreError;
use crate::store::rollup::{BATCH, Facts, spam_delta};

mod read;

/// The advisory lock every change to the sums holds (see the top).
const SUMS_LOCK: i64 = 0x0065_6172_7368_0004;

/// Waits for the sums to be this transaction's to change.
async fn lock_sums(tx: &Transaction<'_>) -> Result<(), StoreError> {
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SUMS_LOCK])
        .await?;
    Ok(())
}

/// The facts of an entry already counted, `None` while it waits in the
/// queue (it will be counted as it is then) or is gone.
async fn counted(tx: &Transaction<'_>, entry_id: i64) -> Result<Option<Facts>, StoreError> {
    let row = tx
        .query_opt(
            "SELECT site_id, created_at, kind, coalesce(severity, ''), page_url, expected, actual
             FROM entries e WHERE id = $1
               AND NOT EXISTS (SELECT 1 FROM entries_to_roll_up q WHERE q.entry_id = e.id)",
            &[&entry_id],
        )
        .await?;
    read_opt(row, facts)
}

/// The facts a report counts, from the first seven columns of `r`: site,
/// created, kind, severity (empty for none), page URL, expected, actual.
fn facts(r: &Row) -> Result<Facts, StoreError> {
    Ok(Facts {
        site_id: r.try_get(0)?,
        created_at: r.try_get(1)?,
        kind: r.try_get(2)?,
        severity: r.try_get(3)?,
        page_url: r.try_get(4)?,
        expected: r.try_get(5)?,
        actual: r.try_get(6)?,
    })
}

async fn add_volume(
    client: &impl GenericClient,
    week: i64,
    site_id: i64,
    kind: &str,
    severity: &str,
    delta: i64,
) -> Result<(), StoreError> {
    client
        .execute(
            "INSERT INTO rollup_volume (week, site_id, kind, severity, entries) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (week, site_id, kind, severity) DO UPDATE SET entries = rollup_volume.entries + excluded.entries",
            &[&week, &site_id, &kind, &severity, &delta],
        )
        .await?;
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Measure {
    FirstResponse,
    Resolution,
}

async fn add_time(
    client: &impl GenericClient,
    measure: Measure,
    f: &Facts,
    duration_ms: i64,
    delta: i64,
) -> Result<(), StoreError> {
    let week = f.week();
    let bucket = bucket(duration_ms);
    match measure {
        Measure::FirstResponse => {
            client
                .execute(
                    "INSERT INTO rollup_first_response (week, site_id, bucket, n) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (week, site_id, bucket) DO UPDATE SET n = rollup_first_response.n + excluded.n",
                    &[&week, &f.site_id, &bucket, &delta],
                )
                .await?
        }
        Measure::Resolution => {
            client
                .execute(
                    "INSERT INTO rollup_resolution (week, site_id, kind, bucket, n) VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (week, site_id, kind, bucket) DO UPDATE SET n = rollup_resolution.n + excluded.n",
                    &[&week, &f.site_id, &f.kind, &bucket, &delta],
                )
                .await?
        }
    };
    Ok(())
}

async fn add_page(client: &impl GenericClient, f: &Facts, delta: i64) -> Result<(), StoreError> {
    if !f.is_mismatch() {
        return Ok(());
    }
    client
        .execute(
            "INSERT INTO rollup_pages (week, site_id, page, n) VALUES ($1, $2, $3, $4)
             ON CONFLICT (week, site_id, page) DO UPDATE SET n = rollup_pages.n + excluded.n",
            &[&f.week(), &f.site_id, &f.page(), &delta],
        )
        .await?;
    Ok(())
}

async fn add_words(client: &impl GenericClient, f: &Facts, delta: i64) -> Result<(), StoreError> {
    if !f.is_mismatch() {
        return Ok(());
    }
    let (page, week) = (f.page(), f.week());
    let stmt = client
        .prepare_cached(
            "INSERT INTO rollup_words (page, week, site_id, word, n) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (page, week, site_id, word) DO UPDATE SET n = rollup_words.n + excluded.n",
        )
        .await?;
    for word in f.mismatch_words() {
        client
            .execute(&stmt, &[&page, &week, &f.site_id, &word, &delta])
            .await?;
    }
    Ok(())
}

/// A first reply to an entry: timed, if the roll-ups counted it already.
pub(super) async fn first_response(
    tx: &Transaction<'_>,
    entry_id: i64,
    at: i64,
) -> Result<(), StoreError> {
    if let Some(f) = counted(tx, entry_id).await? {
        lock_sums(tx).await?;
        add_time(tx, Measure::FirstResponse, &f, at - f.created_at, 1).await?;
    }
    Ok(())
}

/// A status change of a counted entry: a resolution is timed; spam leaves
/// the counts and a rescued entry comes back.
pub(super) async fn status_changed(
    tx: &Transaction<'_>,
    entry_id: i64,
    from: &str,
    to: &str,
    at: i64,
) -> Result<(), StoreError> {
    let Some(f) = counted(tx, entry_id).await? else {
        return Ok(());
    };
    let resolved = matches!(to, "resolved" | "wont_fix");
    let delta = spam_delta(from, to);
    if resolved || delta.is_some() {
        lock_sums(tx).await?;
    }
    if resolved {
        add_time(tx, Measure::Resolution, &f, at - f.created_at, 1).await?;
    }
    let Some(delta) = delta else {
        return Ok(());
    };
    add_volume(tx, f.week(), f.site_id, &f.kind, &f.severity, delta).await?;
    add_page(tx, &f, delta).await?;
    let answered: Option<i64> = tx
        .query_one(
            "SELECT first_response_at FROM entries WHERE id = $1",
            &[&entry_id],
        )
        .await?
        .try_get(0)?;
    if let Some(answered) = answered {
        add_time(
            tx,
            Measure::FirstResponse,
            &f,
            answered - f.created_at,
            delta,
        )
        .await?;
    }
    Ok(())
}

/// Takes a counted entry's words and page out of the roll-ups before it is
/// erased (counts stay: they hold nothing of the customer's).
pub(super) async fn forget_text(tx: &Transaction<'_>, entry_id: i64) -> Result<(), StoreError> {
    let Some(f) = counted(tx, entry_id).await? else {
        return Ok(());
    };
    let spam: bool = tx
        .query_one(
            "SELECT status = 'spam' FROM entries WHERE id = $1",
            &[&entry_id],
        )
        .await?
        .try_get(0)?;
    if spam || !f.is_mismatch() {
        return Ok(());
    }
    lock_sums(tx).await?;
    add_words(tx, &f, -1).await?;
    add_page(tx, &f, -1).await?;
    // What is left at nothing goes, so no row remembers the entry.
    let (page, week) = (f.page(), f.week());
    tx.execute(
        "DELETE FROM rollup_words WHERE page = $1 AND week = $2 AND site_id = $3 AND n <= 0",
        &[&page, &week, &f.site_id],
    )
    .await?;
    tx.execute(
        "DELETE FROM rollup_pages WHERE week = $1 AND site_id = $2 AND page = $3 AND n <= 0",
        &[&week, &f.site_id, &page],
    )
    .await?;
    Ok(())
}

/// Counted entries whose words or page are about to change, as they were.
pub(super) struct TextChange {
    ids: Vec<i64>,
    before: Vec<Facts>,
}

/// The facts of those of `ids` whose pages and words are counted: rolled
/// up (not waiting in the queue), mismatches, not spam.
async fn counted_texts(tx: &Transaction<'_>, ids: &[i64]) -> Result<Vec<Facts>, StoreError> {
    let rows = tx
        .query(
            "SELECT site_id, created_at, kind, coalesce(severity, ''), page_url, expected, actual
             FROM entries e WHERE id = ANY($1) AND kind = 'expectation' AND status <> 'spam'
               AND NOT EXISTS (SELECT 1 FROM entries_to_roll_up q WHERE q.entry_id = e.id)
             ORDER BY id",
            &[&ids],
        )
        .await?;
    read_rows(&rows, facts)
}

/// What [`after_text_change`] needs, read before the words or pages of
/// entries `ids` (locked by the caller) change: [`forget_text`] and
/// [`recount_text`](crate::store::rollup::recount_text) for many entries at once, a statement per roll-up
/// table instead of several round trips per entry.
pub(super) async fn before_text_change(
    tx: &Transaction<'_>,
    ids: Vec<i64>,
) -> Result<TextChange, StoreError> {
    let before = counted_texts(tx, &ids).await?;
    Ok(TextChange { ids, before })
}

/// Moves the counts of the entries of `change` from their pages and words
/// as they were to them as they are now; what is left at nothing goes.
pub(super) async fn after_text_change(
    tx: &Transaction<'_>,
    change: TextChange,
) -> Result<(), StoreError> {
    let after = counted_texts(tx, &change.ids).await?;
    let mut sums = Sums::default();
    for f in &change.before {
        sums.shift_text(f, -1);
    }
    for f in &after {
        sums.shift_text(f, 1);
    }
    sums.write(tx).await?;
    let (weeks, sites, pages): (Vec<i64>, Vec<i64>, Vec<String>) = change
        .before
        .iter()
        .map(|f| (f.week(), f.site_id, f.page()))
        .collect();
    tx.execute(
        "DELETE FROM rollup_words w USING unnest($1::bigint[], $2::bigint[], $3::text[])
             AS k(week, site_id, page)
         WHERE w.page = k.page AND w.week = k.week AND w.site_id = k.site_id AND w.n <= 0",
        &[&weeks, &sites, &pages],
    )
    .await?;
    tx.execute(
        "DELETE FROM rollup_pages p USING unnest($1::bigint[], $2::bigint[], $3::text[])
             AS k(week, site_id, page)
         WHERE p.week = k.week AND p.site_id = k.site_id AND p.page = k.page AND p.n <= 0",
        &[&weeks, &sites, &pages],
    )
    .await?;
    Ok(())
}

/// A roll-up table's key columns and counts, one array each, as `unnest`
/// takes them.
type Columns4<A, B, C> = (Vec<A>, Vec<B>, Vec<C>, Vec<i64>);
type Columns5<A, B, C, D> = (Vec<A>, Vec<B>, Vec<C>, Vec<D>, Vec<i64>);

/// A batch's counts, summed before they are written: one statement per
/// roll-up table (its rows passed as arrays) instead of one per entry and
/// word, each a round trip to the server.
#[derive(Default)]
struct Sums {
    volume: HashMap<(i64, i64, String, String), i64>,
    first_response: HashMap<(i64, i64, i64), i64>,
    resolution: HashMap<(i64, i64, String, i64), i64>,
    pages: HashMap<(i64, i64, String), i64>,
    words: HashMap<(String, i64, i64, String), i64>,
}

impl Sums {
    /// Counts one entry, answered at `first` and closed at `closed`.
    fn add(&mut self, f: &Facts, first: Option<i64>, closed: Option<i64>) {
        let week = f.week();
        *self
            .volume
            .entry((week, f.site_id, f.kind.clone(), f.severity.clone()))
            .or_default() += 1;
        if let Some(at) = first {
            *self
                .first_response
                .entry((week, f.site_id, bucket(at - f.created_at)))
                .or_default() += 1;
        }
        if let Some(at) = closed {
            *self
                .resolution
                .entry((week, f.site_id, f.kind.clone(), bucket(at - f.created_at)))
                .or_default() += 1;
        }
        self.shift_text(f, 1);
    }

    /// Adds `delta` to a mismatch's page and its words.
    fn shift_text(&mut self, f: &Facts, delta: i64) {
        if !f.is_mismatch() {
            return;
        }
        let (page, week) = (f.page(), f.week());
        *self
            .pages
            .entry((week, f.site_id, page.clone()))
            .or_default() += delta;
        for word in f.mismatch_words() {
            *self
                .words
                .entry((page.clone(), week, f.site_id, word))
                .or_default() += delta;
        }
    }

    async fn write(self, tx: &Transaction<'_>) -> Result<(), StoreError> {
        lock_sums(tx).await?;
        let (a, b, c, d, n): Columns5<_, _, _, _> = self
            .volume
            .into_iter()
            .map(|((week, site, kind, severity), n)| (week, site, kind, severity, n))
            .collect();
        tx.execute(
            "INSERT INTO rollup_volume (week, site_id, kind, severity, entries)
             SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::bigint[])
             ON CONFLICT (week, site_id, kind, severity)
             DO UPDATE SET entries = rollup_volume.entries + excluded.entries",
            &[&a, &b, &c, &d, &n],
        )
        .await?;
        let (a, b, c, n): Columns4<_, _, _> = self
            .first_response
            .into_iter()
            .map(|((week, site, bucket), n)| (week, site, bucket, n))
            .collect();
        tx.execute(
            "INSERT INTO rollup_first_response (week, site_id, bucket, n)
             SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[])
             ON CONFLICT (week, site_id, bucket) DO UPDATE SET n = rollup_first_response.n + excluded.n",
            &[&a, &b, &c, &n],
        )
        .await?;
        let (a, b, c, d, n): Columns5<_, _, _, _> = self
            .resolution
            .into_iter()
            .map(|((week, site, kind, bucket), n)| (week, site, kind, bucket, n))
            .collect();
        tx.execute(
            "INSERT INTO rollup_resolution (week, site_id, kind, bucket, n)
             SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::bigint[])
             ON CONFLICT (week, site_id, kind, bucket) DO UPDATE SET n = rollup_resolution.n + excluded.n",
            &[&a, &b, &c, &d, &n],
        )
        .await?;
        let (a, b, c, n): Columns4<_, _, _> = self
            .pages
            .into_iter()
            .map(|((week, site, page), n)| (week, site, page, n))
            .collect();
        tx.execute(
            "INSERT INTO rollup_pages (week, site_id, page, n)
             SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::bigint[])
             ON CONFLICT (week, site_id, page) DO UPDATE SET n = rollup_pages.n + excluded.n",
            &[&a, &b, &c, &n],
        )
        .await?;
        let (a, b, c, d, n): Columns5<_, _, _, _> = self
            .words
            .into_iter()
            .map(|((page, week, site, word), n)| (page, week, site, word, n))
            .collect();
        tx.execute(
            "INSERT INTO rollup_words (page, week, site_id, word, n)
             SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::bigint[])
             ON CONFLICT (page, week, site_id, word) DO UPDATE SET n = rollup_words.n + excluded.n",
            &[&a, &b, &c, &d, &n],
        )
        .await?;
        Ok(())
    }
}

impl Postgres {
    /// Counts up to `limit` queued entries; returns how many it took.
    pub async fn roll_some(&self, limit: i64) -> Result<usize, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let rows = tx
            .query(
                "DELETE FROM entries_to_roll_up WHERE entry_id IN (
                     SELECT entry_id FROM entries_to_roll_up ORDER BY entry_id
                     LIMIT $1 FOR UPDATE SKIP LOCKED)
                 RETURNING entry_id",
                &[&limit],
            )
            .await?;
        let taken: Vec<i64> = read_rows(&rows, |r| Ok(r.try_get(0)?))?;
        if taken.is_empty() {
            return Ok(0);
        }
        let rows = tx
            .query(
                "SELECT e.site_id, e.created_at, e.kind, coalesce(e.severity, ''), e.page_url,
                        e.expected, e.actual, e.status, e.first_response_at,
                        CASE WHEN e.status IN ('resolved', 'wont_fix') THEN
                            (SELECT max(ev.created_at) FROM events ev WHERE ev.entry_id = e.id
                               AND ev.kind = 'status' AND ev.new_value IN ('resolved', 'wont_fix'))
                        END
                 FROM entries e WHERE e.id = ANY($1) ORDER BY e.id FOR UPDATE",
                &[&taken],
            )
            .await?;
        let mut sums = Sums::default();
        for r in &rows {
            if r.try_get::<_, &str>(7)? == "spam" {
                continue;
            }
            sums.add(&facts(r)?, r.try_get(8)?, r.try_get(9)?);
        }
        sums.write(&tx).await?;
        tx.commit().await?;
        Ok(taken.len())
    }

    /// Brings the roll-ups up to date with every committed entry.
    pub async fn roll_up(&self) -> Result<usize, StoreError> {
        let mut total = 0;
        loop {
            let done = self.roll_some(BATCH).await?;
            total += done;
            if i64::try_from(done).unwrap_or(0) < BATCH {
                return Ok(total);
            }
        }
    }

    /// How many entries the roll-ups have yet to count.
    pub async fn rollup_backlog(&self) -> Result<i64, StoreError> {
        let client = self.client().await?;
        Ok(client
            .query_one("SELECT count(*) FROM entries_to_roll_up", &[])
            .await?
            .try_get(0)?)
    }
}
