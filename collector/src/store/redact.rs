//! What collectors before card masking and URL redaction stored as the
//! customer sent it. Ingest now keeps only a card number's last four
//! digits and page URLs without their secrets; an upgrade applies the same
//! to the entries and follow-ups already held, once, in the migration that
//! brings this rule (SQLite version 27, PostgreSQL version 12), so the
//! database, its backups from then on, exports and reports hold no full
//! card number or reset token whenever the entry arrived.

use earshot_protocol::submission::{Field, HttpUrl, mask_card_numbers};
use rusqlite::{Connection, params};

use super::{StoreError, rollup, search};

/// The customer's words and the addresses of an entry, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::store) struct StoredWords {
    pub message: Option<String>,
    pub expected: Option<String>,
    pub actual: Option<String>,
    pub page_url: Option<String>,
    pub page_referrer: Option<String>,
}

impl StoredWords {
    /// These words as ingest stores them now; `None` when that is what
    /// they are already.
    pub fn redacted(&self) -> Option<StoredWords> {
        let redacted = StoredWords {
            message: self.message.as_deref().map(masked),
            expected: self.expected.as_deref().map(masked),
            actual: self.actual.as_deref().map(masked),
            page_url: self.page_url.as_deref().map(without_secrets),
            page_referrer: self.page_referrer.as_deref().map(without_secrets),
        };
        (redacted != *self).then_some(redacted)
    }

    /// Whether search reads something that differs between these and
    /// `other` (it indexes the words, not the addresses).
    pub fn searched_differ(&self, other: &StoredWords) -> bool {
        (&self.message, &self.expected, &self.actual)
            != (&other.message, &other.expected, &other.actual)
    }

    /// Whether the reports count something that differs between these and
    /// `other` (a mismatch's page and its words).
    pub fn counted_differ(&self, other: &StoredWords) -> bool {
        (&self.page_url, &self.expected, &self.actual)
            != (&other.page_url, &other.expected, &other.actual)
    }
}

/// `text` with each card number's digits but the last four masked.
pub(in crate::store) fn masked(text: &str) -> String {
    mask_card_numbers(text).into_owned()
}

/// A stored page URL without its secrets. One that no longer parses (a
/// limit changed since) is kept as it is: redaction reads a URL's parts,
/// and guessing at them could cut an address in the wrong place.
fn without_secrets(url: &str) -> String {
    match HttpUrl::parse(Some(url), Field::PageUrl) {
        Ok(Some(parsed)) => parsed.without_secrets().as_str().to_owned(),
        _ => url.to_owned(),
    }
}

/// How many stored entries and follow-ups an upgrade changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(in crate::store) struct Redacted {
    pub entries: usize,
    pub follow_ups: usize,
}

impl Redacted {
    /// Said once, with counts only: what was removed must not reach the
    /// logs on its way out of the database.
    pub fn log(self) {
        if self != Redacted::default() {
            tracing::info!(
                entries = self.entries,
                follow_ups = self.follow_ups,
                "masked card numbers and URL secrets stored by an earlier version"
            );
        }
    }
}

/// Entries whose words could hold a card number (four digits in a row:
/// every way a card is written has them) or whose addresses a secret (a
/// query, fragment, `@` or percent-encoded `@`): a scan SQLite answers
/// itself, so only these few are read into Rust.
const CANDIDATES: &str = "SELECT id, kind, message, expected, actual, page_url, page_referrer
     FROM entries
     WHERE message GLOB '*[0-9][0-9][0-9][0-9]*' OR expected GLOB '*[0-9][0-9][0-9][0-9]*'
        OR actual GLOB '*[0-9][0-9][0-9][0-9]*'
        OR page_url GLOB '*[?#@%]*' OR page_referrer GLOB '*[?#@%]*'
     ORDER BY id";

/// Redacts what is stored on SQLite, inside the migration's transaction:
/// entries and customers' follow-ups, then what is kept of them elsewhere
/// (the search index, the report's pages and words).
pub(super) fn backfill(conn: &Connection) -> Result<Redacted, StoreError> {
    let mut done = Redacted::default();
    let changed: Vec<(i64, bool, StoredWords, StoredWords)> = conn
        .prepare(CANDIDATES)?
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get::<_, String>(1)? == "expectation",
                StoredWords {
                    message: r.get(2)?,
                    expected: r.get(3)?,
                    actual: r.get(4)?,
                    page_url: r.get(5)?,
                    page_referrer: r.get(6)?,
                },
            ))
        })?
        .filter_map(|row| match row {
            Ok((id, mismatch, stored)) => stored
                .redacted()
                .map(|words| Ok((id, mismatch, stored, words))),
            Err(e) => Some(Err(e)),
        })
        .collect::<Result<_, _>>()?;
    let mut reindex = Vec::with_capacity(changed.len());
    for (id, mismatch, stored, words) in changed {
        // Only a mismatch's page and words are counted.
        let counted = mismatch && stored.counted_differ(&words);
        if counted {
            rollup::forget_text(conn, id)?;
        }
        conn.execute(
            "UPDATE entries SET message = ?2, expected = ?3, actual = ?4, page_url = ?5,
                 page_referrer = ?6
             WHERE id = ?1",
            params![
                id,
                words.message,
                words.expected,
                words.actual,
                words.page_url,
                words.page_referrer
            ],
        )?;
        if counted {
            rollup::recount_text(conn, id)?;
        }
        if stored.searched_differ(&words) {
            reindex.push(id);
        }
        done.entries += 1;
    }
    let follow_ups: Vec<(i64, i64, String)> = conn
        .prepare(
            "SELECT id, entry_id, body FROM events
             WHERE kind = 'follow_up' AND body GLOB '*[0-9][0-9][0-9][0-9]*' ORDER BY id",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .filter_map(|row| match row {
            Ok((id, entry, body)) => {
                let body: String = body;
                let masked = masked(&body);
                (masked != body).then_some(Ok((id, entry, masked)))
            }
            Err(e) => Some(Err(e)),
        })
        .collect::<Result<_, _>>()?;
    for (id, entry, body) in follow_ups {
        conn.execute(
            "UPDATE events SET body = ?2 WHERE id = ?1",
            params![id, body],
        )?;
        reindex.push(entry);
        done.follow_ups += 1;
    }
    reindex.sort_unstable();
    reindex.dedup();
    for entry in reindex {
        search::reindex(conn, entry)?;
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(message: &str, url: &str) -> StoredWords {
        StoredWords {
            message: Some(message.to_owned()),
            expected: None,
            actual: None,
            page_url: Some(url.to_owned()),
            page_referrer: None,
        }
    }

    #[test]
    fn words_without_card_numbers_or_secrets_are_left_alone() {
        let plain = words(
            "Order 20261130 never came",
            "https://shop.example/cart?step=2#delivery",
        );
        assert_eq!(plain.redacted(), None);
    }

    #[test]
    fn card_numbers_and_url_secrets_stored_earlier_are_redacted() {
        let stored = StoredWords {
            expected: Some("a refund to 4111 1111 1111 1111".to_owned()),
            page_referrer: Some("https://mail.example/?to=ana%40example.com".to_owned()),
            ..words(
                "Charged 4111111111111111 twice",
                "https://shop.example/reset?token=s3cret&lang=de",
            )
        };
        let redacted = stored.redacted().unwrap();
        assert_eq!(
            redacted.message.as_deref(),
            Some("Charged ••••••••••••1111 twice")
        );
        assert_eq!(
            redacted.expected.as_deref(),
            Some("a refund to •••• •••• •••• 1111")
        );
        assert_eq!(redacted.actual, None);
        assert_eq!(
            redacted.page_url.as_deref(),
            Some("https://shop.example/reset?token=[redacted]&lang=de")
        );
        assert_eq!(
            redacted.page_referrer.as_deref(),
            Some("https://mail.example/?to=[redacted]")
        );
        assert_eq!(redacted.redacted(), None, "redacting twice changes nothing");
    }

    #[test]
    fn a_stored_url_that_no_longer_parses_is_kept() {
        let odd = words("hello", "ftp://files.example/?token=x");
        assert_eq!(odd.redacted(), None);
    }
}
