//! Several sites in a SQLite query: `AND <column> IN (?n, …)`, and the
//! parameters that fill it after the query's own.

use rusqlite::types::Value;
use rusqlite::{Params, params_from_iter};

/// ` AND {column} IN (…)` over parameters numbered from `first`, or
/// nothing for every site (an empty list).
pub(in crate::store) fn among_sites(column: &str, sites: &[i64], first: usize) -> String {
    if sites.is_empty() {
        return String::new();
    }
    let places: Vec<String> = (first..first + sites.len())
        .map(|n| format!("?{n}"))
        .collect();
    format!(" AND {column} IN ({})", places.join(", "))
}

/// A query's own parameters, then the sites' (numbered by [`among_sites`]).
pub(in crate::store) fn with_sites(lead: Vec<Value>, sites: &[i64]) -> impl Params {
    params_from_iter(
        lead.into_iter()
            .chain(sites.iter().map(|&s| Value::from(s))),
    )
}
