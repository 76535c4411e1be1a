//! Case folding SQLite cannot do itself. Its `NOCASE`, `LIKE` and `lower()`
//! fold only A to Z, so on SQLite a search for "ärzte" missed the site
//! "Ärzte-Praxis" and "änne@…" could not sign in as "Änne@…", while
//! PostgreSQL's `lower()` and `ILIKE` (in a UTF-8 database) found both.
//! Every connection the store opens gets `earshot_fold(text)`, Rust's
//! Unicode lower-casing (NULL stays NULL), so both backends compare text
//! in any case the same way. It is used in queries only, never in the
//! schema, so the file stays readable by any SQLite tool.

use rusqlite::Connection;
use rusqlite::functions::FunctionFlags;
use rusqlite::types::ValueRef;

/// What `earshot_fold` computes, for the values a query compares with it.
pub(super) fn fold(text: &str) -> String {
    text.to_lowercase()
}

pub(super) fn register(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_scalar_function(
        "earshot_fold",
        1,
        FunctionFlags::SQLITE_UTF8
            | FunctionFlags::SQLITE_DETERMINISTIC
            | FunctionFlags::SQLITE_INNOCUOUS,
        // Never an error, which would fail the whole query: a value
        // written by hand as a number or blob (or text that is not UTF-8)
        // is folded as the text it reads as.
        |ctx| {
            Ok(match ctx.get_raw(0) {
                ValueRef::Null => None,
                ValueRef::Text(bytes) | ValueRef::Blob(bytes) => {
                    Some(fold(&String::from_utf8_lossy(bytes)))
                }
                ValueRef::Integer(n) => Some(n.to_string()),
                ValueRef::Real(x) => Some(x.to_string()),
            })
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_function_folds_every_letter_and_keeps_null() {
        let conn = Connection::open_in_memory().unwrap();
        register(&conn).unwrap();
        let (folded, null): (String, Option<String>) = conn
            .query_row(
                "SELECT earshot_fold('ÄRZTE-Praxis Éditions'), earshot_fold(NULL)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((folded.as_str(), null), ("ärzte-praxis éditions", None));
    }

    #[test]
    fn a_value_that_is_not_text_is_folded_as_it_reads_not_refused() {
        let conn = Connection::open_in_memory().unwrap();
        register(&conn).unwrap();
        let folded: (String, String, String) = conn
            .query_row(
                "SELECT earshot_fold(42), earshot_fold(x'C384'), earshot_fold(CAST(x'41FF' AS TEXT))",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(
            folded,
            ("42".to_owned(), "ä".to_owned(), "a\u{fffd}".to_owned())
        );
    }

    #[test]
    fn sqlites_own_lower_leaves_letters_beyond_ascii_alone() {
        // Why the function exists; if SQLite ever folds them itself, this
        // says so.
        let conn = Connection::open_in_memory().unwrap();
        let lower: String = conn
            .query_row("SELECT lower('ÄRZTE')", [], |r| r.get(0))
            .unwrap();
        assert_eq!(lower, "Ärzte");
    }
}
