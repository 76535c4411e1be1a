//! Card numbers and URL secrets stored before ingest redacted them, on
//! PostgreSQL (see `store::redact`).

use deadpool_postgres::Transaction;
use futures_util::TryStreamExt;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::rollup;
use crate::store::StoreError;
use crate::store::redact::{Redacted, StoredWords, masked};

/// Redacts what is stored, inside the migration's transaction: entries
/// and customers' follow-ups, then the words search reads and the
/// report's pages and words.
pub(super) async fn backfill(tx: &Transaction<'_>) -> Result<Redacted, StoreError> {
    let mut done = Redacted::default();
    // Four digits in a row (every way a card is written has them), or an
    // address with a query, fragment, `@` or percent-encoded `@`. Read
    // without locks: most such entries have nothing to redact, and a lock
    // writes to every row it takes.
    let candidates = tx
        .query_raw(
            &format!(
                "{WORDS} WHERE message ~ '[0-9]{{4}}' OR expected ~ '[0-9]{{4}}'
                    OR actual ~ '[0-9]{{4}}' OR page_url ~ '[?#@%]' OR page_referrer ~ '[?#@%]'"
            ),
            std::iter::empty::<&(dyn ToSql + Sync)>(),
        )
        .await?;
    // Streamed: a query in many pages' addresses is common, and holding
    // every such row at once would cost memory in proportion to them.
    let mut candidates = std::pin::pin!(candidates);
    let mut ids = Vec::new();
    while let Some(row) = candidates.try_next().await? {
        if words_of(&row)?.redacted().is_some() {
            ids.push(row.try_get::<_, i64>(0)?);
        }
    }
    // Those to change, locked in id order as every transaction that
    // changes several entries' sums locks them (an older collector may
    // still be running during a rolling upgrade), and read again as they
    // are now: one may have been erased meanwhile.
    let rows = tx
        .query(
            &format!("{WORDS} WHERE id = ANY($1) ORDER BY id FOR UPDATE"),
            &[&ids],
        )
        .await?;
    let mut changed = Changed::default();
    let mut recount = Vec::new();
    let mut reindex = Vec::new();
    for row in rows {
        let id: i64 = row.try_get(0)?;
        let kind: String = row.try_get(1)?;
        let stored = words_of(&row)?;
        let Some(words) = stored.redacted() else {
            continue;
        };
        if kind == "expectation" && stored.counted_differ(&words) {
            recount.push(id);
        }
        if stored.searched_differ(&words) {
            reindex.push(id);
        }
        changed.push(id, words);
    }
    done.entries = changed.ids.len();
    let recount = rollup::before_text_change(tx, recount).await?;
    // One statement for them all: at a million entries, one round trip
    // each would hold every collector's start for tens of seconds.
    tx.execute(
        "UPDATE entries e SET message = r.message, expected = r.expected, actual = r.actual,
             page_url = r.page_url, page_referrer = r.page_referrer
         FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
              AS r(id, message, expected, actual, page_url, page_referrer)
         WHERE e.id = r.id",
        &[
            &changed.ids,
            &changed.message,
            &changed.expected,
            &changed.actual,
            &changed.page_url,
            &changed.page_referrer,
        ],
    )
    .await?;
    rollup::after_text_change(tx, recount).await?;
    let rows = tx
        .query(
            "SELECT id, entry_id, body FROM events
             WHERE kind = 'follow_up' AND body ~ '[0-9]{4}' ORDER BY id",
            &[],
        )
        .await?;
    for row in rows {
        let (id, entry): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
        let body: String = row.try_get(2)?;
        let masked = masked(&body);
        if masked == body {
            continue;
        }
        tx.execute("UPDATE events SET body = $2 WHERE id = $1", &[&id, &masked])
            .await?;
        reindex.push(entry);
        done.follow_ups += 1;
    }
    reindex.sort_unstable();
    reindex.dedup();
    // The words search reads, made again as a copy from SQLite makes them:
    // appending would keep the old ones.
    tx.execute(
        "UPDATE entries e SET search = earshot_words(e.message, e.expected, e.actual,
             (SELECT string_agg(n.body, ' ') FROM events n
              WHERE n.entry_id = e.id AND n.kind IN ('note', 'follow_up')))
         WHERE e.id = ANY($1)",
        &[&reindex],
    )
    .await?;
    Ok(done)
}

/// What [`backfill`] reads of an entry: id, kind, then [`StoredWords`].
const WORDS: &str =
    "SELECT id, kind, message, expected, actual, page_url, page_referrer FROM entries";

fn words_of(row: &Row) -> Result<StoredWords, StoreError> {
    Ok(StoredWords {
        message: row.try_get(2)?,
        expected: row.try_get(3)?,
        actual: row.try_get(4)?,
        page_url: row.try_get(5)?,
        page_referrer: row.try_get(6)?,
    })
}

/// Redacted entries, a column each, as `unnest` takes them.
#[derive(Default)]
struct Changed {
    ids: Vec<i64>,
    message: Vec<Option<String>>,
    expected: Vec<Option<String>>,
    actual: Vec<Option<String>>,
    page_url: Vec<Option<String>>,
    page_referrer: Vec<Option<String>>,
}

impl Changed {
    fn push(&mut self, id: i64, words: StoredWords) {
        self.ids.push(id);
        self.message.push(words.message);
        self.expected.push(words.expected);
        self.actual.push(words.actual);
        self.page_url.push(words.page_url);
        self.page_referrer.push(words.page_referrer);
    }
}
