//! Keeping the full-text index current. Entries reach `entries_fts` in
//! batches rather than through a trigger: indexing costs about 30 µs of CPU
//! per entry, and inside every group commit it halved ingest throughput.
//!
//! A background task catches up every two seconds. While submissions pour
//! in it only trickles (acknowledging customers comes first); once traffic
//! calms down it indexes everything pending. A staff search catches up
//! fully before it runs, so staff never search a stale index, and notes on
//! entries not yet indexed are picked up from the timeline when they are.

use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension};

use super::{Sqlite, StoreError};
use crate::outage::Outage;
use crate::review::filter::Search;

/// Entries indexed per write job, bounding how long one job holds the
/// writer (about 150 ms at 30 µs each).
const BATCH: i64 = 5_000;
/// Entries indexed per tick while the collector is busy.
pub const TRICKLE: i64 = 500;
/// Writes per tick above which the collector counts as busy (500/s).
const BUSY_WRITES: u64 = 1_000;
/// How often the background task catches up.
pub const INTERVAL: Duration = Duration::from_secs(2);

/// The newest entry id already in the index.
pub(super) fn indexed_upto(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn
        .prepare_cached("SELECT rowid FROM entries_fts ORDER BY rowid DESC LIMIT 1")?
        .query_row([], |r| r.get(0))
        .optional()?
        .unwrap_or(0))
}

/// Indexes up to `limit` entries newer than the newest indexed one, with
/// the internal notes and customer follow-ups they already have; returns
/// how many.
fn index_pending(conn: &Connection, limit: i64) -> Result<usize, StoreError> {
    let upto = indexed_upto(conn)?;
    Ok(conn
        .prepare_cached(&format!(
            "{INDEX_ENTRIES} WHERE e.id > ?1 ORDER BY e.id LIMIT ?2"
        ))?
        .execute([upto, limit])?)
}

/// What the index holds of an entry (`e`): its words and those of its
/// notes and follow-ups.
const INDEX_ENTRIES: &str = "INSERT INTO entries_fts (rowid, message, expected, actual, notes)
     SELECT e.id, e.message, e.expected, e.actual,
            coalesce((SELECT group_concat(n.body, char(10)) FROM events n
                      WHERE n.entry_id = e.id AND n.kind IN ('note', 'follow_up')), '')
     FROM entries e";

/// Indexes entry `entry_id` again after its words changed, if it was
/// indexed (one not yet indexed will be as it is then). Under
/// `secure-delete` the words it had leave the index's pages too.
pub(super) fn reindex(conn: &Connection, entry_id: i64) -> Result<(), StoreError> {
    let removed = conn
        .prepare_cached("DELETE FROM entries_fts WHERE rowid = ?1")?
        .execute([entry_id])?;
    if removed > 0 {
        conn.prepare_cached(&format!("{INDEX_ENTRIES} WHERE e.id = ?1"))?
            .execute([entry_id])?;
    }
    Ok(())
}

/// Longer words a last word may be spelled out into; beyond, FTS5 finds
/// them itself.
const PREFIX_TERMS: usize = 32;

/// The FTS5 query for `search`: every word must occur, the last one also
/// as the start of a longer word ("refund" finds "refunded").
///
/// FTS5 answers a prefix (`"refund"*`) by first merging the entry lists of
/// every word with that start into one, whole: at a million entries that
/// took 12 ms for a word in one entry of six, even when only the newest
/// fifty were wanted. So the longer words are looked up in the index's own
/// vocabulary (`search_instances`) and the last word becomes an `OR` of exact
/// words, which FTS5 reads lazily, newest first. Looking up costs as much
/// as the longer words are frequent, nothing when there are none. Only
/// ASCII words are spelled out: for those the index's folding is plain
/// lowercasing, so the vocabulary range is exact; others keep `*`.
pub(super) fn match_query(conn: &Connection, search: &Search) -> Result<String, StoreError> {
    let last = search.last();
    let mut parts: Vec<String> = search.leading().iter().map(|w| phrase(w)).collect();
    parts.push(match longer_words(conn, last)? {
        Some(longer) if longer.is_empty() => phrase(last),
        Some(longer) => {
            let mut any = vec![phrase(last)];
            any.extend(longer.iter().map(|w| phrase(w)));
            format!("({})", any.join(" OR "))
        }
        None => format!("{}*", phrase(last)),
    });
    // Spelled out: FTS5 takes an implicit AND between phrases only, not
    // before a parenthesised OR.
    Ok(parts.join(" AND "))
}

/// A word as an FTS5 string: a phrase, so nothing in it is syntax.
fn phrase(word: &str) -> String {
    format!("\"{}\"", word.replace('"', "\"\""))
}

/// Words in the index that start with `word` and are longer, or `None`
/// when FTS5 should find them itself (not ASCII, or too many).
fn longer_words(conn: &Connection, word: &str) -> Result<Option<Vec<String>>, StoreError> {
    if !word.is_ascii() {
        return Ok(None);
    }
    let word = word.to_ascii_lowercase();
    // Every longer word sorts between `word` + U+0001 and `word` + the last
    // code point (which the tokenizer never keeps in a word); the bounds
    // are handed to the vocabulary view, which then skips `word` itself.
    // The view lists a word once per occurrence, so each step asks for the
    // first occurrence of the next word, past the one before: a seek per
    // word, never a walk through a common word's occurrences.
    let mut stmt = conn.prepare_cached(
        "WITH RECURSIVE longer(term) AS (
             SELECT (SELECT term FROM search_instances
                     WHERE term >= ?1 || char(1) AND term <= ?1 || char(1114111) LIMIT 1)
             UNION ALL
             SELECT (SELECT term FROM search_instances
                     WHERE term >= longer.term || char(1) AND term <= ?1 || char(1114111)
                     LIMIT 1)
             FROM longer WHERE longer.term IS NOT NULL
             LIMIT ?2
         )
         SELECT term FROM longer WHERE term IS NOT NULL",
    )?;
    let longer: Vec<String> = stmt
        .query_map(
            rusqlite::params![word, i64::try_from(PREFIX_TERMS + 1).unwrap_or(i64::MAX)],
            |r| r.get(0),
        )?
        .collect::<Result<_, _>>()?;
    Ok((longer.len() <= PREFIX_TERMS).then_some(longer))
}

impl Sqlite {
    /// Before a query with full-text search: search what has been
    /// committed, not only what the background indexer reached.
    pub(super) async fn ready_to_search(
        &self,
        filter: &crate::review::filter::Filter,
    ) -> Result<(), StoreError> {
        if filter.search.is_some() {
            self.index_for_search().await?;
        }
        Ok(())
    }

    /// Brings the search index up to date with every committed entry.
    /// Looks first, so a search when nothing is pending writes nothing.
    pub async fn index_for_search(&self) -> Result<usize, StoreError> {
        let pending = self
            .read(|conn| Ok(super::entries::newest_id(conn)? > indexed_upto(conn)?))
            .await?;
        if !pending {
            return Ok(0);
        }
        let mut total = 0;
        loop {
            let done = self.write(|conn| index_pending(conn, BATCH)).await?;
            total += done;
            if i64::try_from(done).unwrap_or(0) < BATCH {
                return Ok(total);
            }
        }
    }
}

impl Sqlite {
    /// Indexes new entries for search and counts them in the roll-ups: a
    /// trickle of each when `busy` (ingest comes first), all otherwise.
    pub async fn catch_up(&self, busy: bool) -> Result<(), StoreError> {
        if busy {
            self.write(|conn| index_pending(conn, TRICKLE)).await?;
            self.roll_some(TRICKLE).await.map(drop)
        } else {
            self.index_for_search().await?;
            self.roll_up().await.map(drop)
        }
    }
}

/// Runs until the store closes: catches up every [`INTERVAL`], only a
/// trickle while the collector is busy ingesting.
pub async fn keep_indexed(store: super::Store) {
    let mut seen = store.writes_started();
    let mut outage = Outage::default();
    loop {
        tokio::time::sleep(INTERVAL).await;
        let writes = store.writes_started();
        let busy = writes.saturating_sub(seen) > BUSY_WRITES;
        seen = writes;
        match store.catch_up(busy).await {
            Ok(()) => outage.recover(Instant::now(), "search indexing and roll-up"),
            Err(StoreError::Closed) => return,
            Err(e) => outage.warn(Instant::now(), "search indexing or roll-up", &e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pending_entries_are_indexed_once_in_batches() {
        let dir = tempfile::tempdir().unwrap();
        let store = Sqlite::open(&dir.path().join("t.db")).unwrap();
        store
            .write(|c| {
                c.execute(
                    "INSERT INTO sites (key, name, origins, created_at) VALUES ('k', 'n', '', 0)",
                    [],
                )?;
                for i in 0..3 {
                    c.execute(
                        "INSERT INTO entries (public_id, reference, status_token, site_id, kind,
                            message, created_at) VALUES (?1, ?1, 't', 1, 'idea', 'search me', 0)",
                        [format!("e{i}")],
                    )?;
                }
                Ok(())
            })
            .await
            .unwrap();
        assert_eq!(store.index_for_search().await.unwrap(), 3);
        assert_eq!(store.index_for_search().await.unwrap(), 0);
        let hits: i64 = store
            .read(|c| {
                Ok(c.query_row(
                    "SELECT count(*) FROM entries_fts WHERE entries_fts MATCH 'search'",
                    [],
                    |r| r.get(0),
                )?)
            })
            .await
            .unwrap();
        assert_eq!(hits, 3);
        store.shutdown().await;
    }

    #[tokio::test]
    async fn notes_written_before_indexing_are_found() {
        let dir = tempfile::tempdir().unwrap();
        let store = Sqlite::open(&dir.path().join("t.db")).unwrap();
        store
            .write(|c| {
                c.execute(
                    "INSERT INTO sites (key, name, origins, created_at) VALUES ('k', 'n', '', 0)",
                    [],
                )?;
                c.execute(
                    "INSERT INTO entries (public_id, reference, status_token, site_id, kind,
                        message, created_at) VALUES ('e1', 'r1', 't', 1, 'idea', 'plain', 0)",
                    [],
                )?;
                c.execute(
                    "INSERT INTO events (entry_id, kind, body, created_at)
                     VALUES (1, 'note', 'refund approved by finance', 0)",
                    [],
                )?;
                Ok(())
            })
            .await
            .unwrap();
        assert_eq!(store.index_for_search().await.unwrap(), 1);
        let hits: i64 = store
            .read(|c| {
                Ok(c.query_row(
                    "SELECT count(*) FROM entries_fts WHERE entries_fts MATCH 'finance'",
                    [],
                    |r| r.get(0),
                )?)
            })
            .await
            .unwrap();
        assert_eq!(hits, 1);
        store.shutdown().await;
    }

    /// Entries with these messages, indexed.
    async fn store_with(messages: Vec<String>) -> (tempfile::TempDir, Sqlite) {
        let dir = tempfile::tempdir().unwrap();
        let store = Sqlite::open(&dir.path().join("t.db")).unwrap();
        store
            .write(move |c| {
                c.execute(
                    "INSERT INTO sites (key, name, origins, created_at) VALUES ('k', 'n', '', 0)",
                    [],
                )?;
                for (i, message) in messages.iter().enumerate() {
                    c.execute(
                        "INSERT INTO entries (public_id, reference, status_token, site_id, kind,
                            message, created_at) VALUES (?1, ?1, 't', 1, 'idea', ?2, 0)",
                        rusqlite::params![format!("e{i}"), message],
                    )?;
                }
                Ok(())
            })
            .await
            .unwrap();
        store.index_for_search().await.unwrap();
        (dir, store)
    }

    fn hits(conn: &Connection, query: &str) -> Vec<i64> {
        conn.prepare("SELECT rowid FROM entries_fts WHERE entries_fts MATCH ?1 ORDER BY rowid")
            .unwrap()
            .query_map([query], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[tokio::test]
    async fn a_spelled_out_last_word_finds_exactly_what_fts5s_own_prefix_finds() {
        let mut messages: Vec<String> = [
            "Refund please",
            "refunded twice",
            "REFUNDS are slow",
            "a refundable deposit",
            "no money back",
            "Café au lait",
            "cafeteria closed",
            "order 4711 lost",
            "order 47 lost",
        ]
        .map(str::to_owned)
        .to_vec();
        // More longer words than are spelled out: FTS5 does it.
        messages.extend((0..40).map(|i| format!("pre{i} release")));
        let (_dir, store) = store_with(messages).await;
        store
            .read(|conn| {
                let query =
                    |typed: &str| match_query(conn, &Search::parse(typed).unwrap()).unwrap();
                assert_eq!(
                    query("money Refund"),
                    r#""money" AND ("Refund" OR "refundable" OR "refunded" OR "refunds")"#
                );
                assert_eq!(query("deposit"), r#""deposit""#, "no longer words");
                assert_eq!(query("pre"), r#""pre"*"#, "too many longer words");
                assert_eq!(query("caf"), r#"("caf" OR "cafe" OR "cafeteria")"#);
                assert_eq!(query("café"), r#""café"*"#, "not ASCII: FTS5 folds it");
                for typed in [
                    "refund", "REFUN", "ref", "r", "caf", "café", "cafe", "pre", "pre3", "47",
                    "4711", "order 47", "zebra", "no money",
                ] {
                    let search = Search::parse(typed).unwrap();
                    let mut own = search
                        .leading()
                        .iter()
                        .map(|w| phrase(w))
                        .collect::<Vec<_>>();
                    own.push(format!("{}*", phrase(search.last())));
                    assert_eq!(
                        hits(conn, &query(typed)),
                        hits(conn, &own.join(" AND ")),
                        "{typed}"
                    );
                }
                assert_eq!(hits(conn, &query("refund")).len(), 4);
                assert_eq!(hits(conn, &query("pre")).len(), 40);
                Ok(())
            })
            .await
            .unwrap();
        store.shutdown().await;
    }

    /// Whatever staff type, the search is a query FTS5 accepts: words
    /// Rust counts as letters that FTS5's tokenizer (Unicode 6.1) does not,
    /// lone combining marks, private use, symbols, control characters.
    #[tokio::test]
    async fn any_typed_search_is_a_query_fts5_accepts() {
        let (_dir, store) = store_with(vec![
            "Refund please".into(),
            "Café ½ x\u{301} \u{a7b5}".into(),
        ])
        .await;
        store
            .read(|conn| {
                let run = |typed: &str| -> Result<(), String> {
                    let Some(search) = Search::parse(typed) else {
                        return Ok(());
                    };
                    let query = match_query(conn, &search).map_err(|e| e.to_string())?;
                    conn.prepare("SELECT rowid FROM entries_fts WHERE entries_fts MATCH ?1")
                        .and_then(|mut s| {
                            s.query_map([&query], |r| r.get::<_, i64>(0))?
                                .collect::<Result<Vec<_>, _>>()
                        })
                        .map(drop)
                        .map_err(|e| format!("{typed:?} as {query}: {e}"))
                };
                for typed in [
                    "\u{301}",
                    "\u{345}\u{345} refund",
                    "refund \u{a7b5}",
                    "\u{1e922}\u{1e923}",
                    "\u{e000}",
                    "\u{1f1e6}",
                    "½ ² ⅷ 〇 ª ﬀ Ⓐ",
                    "\"refund\" NEAR(a b) OR * ^ -x",
                ] {
                    run(typed).unwrap();
                }
                let mut runner = proptest::test_runner::TestRunner::default();
                runner
                    .run(&proptest::prelude::any::<String>(), |typed| {
                        run(&typed).map_err(proptest::test_runner::TestCaseError::fail)
                    })
                    .unwrap();
                Ok(())
            })
            .await
            .unwrap();
        store.shutdown().await;
    }

    /// The vocabulary lists a word once per occurrence: each longer word is
    /// named once however often it occurs, and the limit counts words.
    #[tokio::test]
    async fn longer_words_are_each_named_once_up_to_the_limit() {
        let words = |n: usize| (0..n).map(|i| format!("tip{i:02}")).collect::<Vec<_>>();
        let often = |words: &[String]| {
            let twice = words
                .iter()
                .map(|w| format!("{w} and {w}"))
                .collect::<Vec<_>>();
            [twice.clone(), twice.clone(), twice].concat()
        };
        let (_dir, store) = store_with(often(&words(PREFIX_TERMS))).await;
        let named = store.read(|conn| longer_words(conn, "tip")).await.unwrap();
        assert_eq!(named, Some(words(PREFIX_TERMS)));
        store.shutdown().await;

        let (_dir, store) = store_with(often(&words(PREFIX_TERMS + 1))).await;
        let named = store.read(|conn| longer_words(conn, "tip")).await.unwrap();
        assert_eq!(named, None, "one word too many: FTS5 expands the prefix");
        store.shutdown().await;
    }
}
