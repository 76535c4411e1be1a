//! Workflow states as both backends read them back. One the binary does
//! not know (a hand edit, a newer version's value) is an error, not a
//! default: read as "new" or "open", the next move would overwrite it.

use crate::review::workflow::{Settled, Status};

/// Why a stored state could not be read: which column held what.
#[derive(Debug, thiserror::Error)]
#[error("unknown {what} {found:?} in the database")]
pub struct UnknownState {
    what: &'static str,
    found: String,
}

fn known<T>(
    raw: &str,
    parse: impl FnOnce(&str) -> Option<T>,
    what: &'static str,
) -> Result<T, UnknownState> {
    parse(raw).ok_or_else(|| UnknownState {
        what,
        // Bounded: the column is the store's own, but a damaged one could
        // hold anything.
        found: raw.chars().take(40).collect(),
    })
}

fn sqlite_text<T>(
    value: rusqlite::types::ValueRef<'_>,
    parse: impl FnOnce(&str) -> Option<T>,
    what: &'static str,
) -> rusqlite::types::FromSqlResult<T> {
    let raw = value.as_str()?;
    known(raw, parse, what).map_err(|e| rusqlite::types::FromSqlError::Other(Box::new(e)))
}

impl rusqlite::types::FromSql for Status {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        sqlite_text(value, Status::parse, "entry status")
    }
}

impl rusqlite::types::FromSql for Settled {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        sqlite_text(value, Settled::parse, "promise state")
    }
}

type PgResult<T> = Result<T, Box<dyn std::error::Error + Sync + Send>>;

fn postgres_text<'a, T>(
    ty: &tokio_postgres::types::Type,
    raw: &'a [u8],
    parse: impl FnOnce(&str) -> Option<T>,
    what: &'static str,
) -> PgResult<T> {
    let text = <&str as tokio_postgres::types::FromSql<'a>>::from_sql(ty, raw)?;
    Ok(known(text, parse, what)?)
}

impl<'a> tokio_postgres::types::FromSql<'a> for Status {
    fn from_sql(ty: &tokio_postgres::types::Type, raw: &'a [u8]) -> PgResult<Self> {
        postgres_text(ty, raw, Status::parse, "entry status")
    }

    fn accepts(ty: &tokio_postgres::types::Type) -> bool {
        <&str as tokio_postgres::types::FromSql>::accepts(ty)
    }
}

impl<'a> tokio_postgres::types::FromSql<'a> for Settled {
    fn from_sql(ty: &tokio_postgres::types::Type, raw: &'a [u8]) -> PgResult<Self> {
        postgres_text(ty, raw, Settled::parse, "promise state")
    }

    fn accepts(ty: &tokio_postgres::types::Type) -> bool {
        <&str as tokio_postgres::types::FromSql>::accepts(ty)
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::*;

    fn read<T: rusqlite::types::FromSql>(value: &str) -> rusqlite::Result<T> {
        let conn = Connection::open_in_memory().unwrap();
        conn.query_row("SELECT ?1", [value], |r| r.get(0))
    }

    #[test]
    fn known_states_read_back_as_written() {
        assert_eq!(read::<Status>("in_progress").unwrap(), Status::InProgress);
        assert_eq!(read::<Settled>("kept").unwrap(), Settled::Kept);
    }

    #[test]
    fn an_unknown_state_is_an_error_naming_it_not_a_default() {
        let error = read::<Status>("archived").unwrap_err().to_string();
        assert!(
            error.contains("unknown entry status \"archived\""),
            "{error}"
        );
        let error = read::<Settled>("").unwrap_err().to_string();
        assert!(error.contains("unknown promise state \"\""), "{error}");
    }
}
