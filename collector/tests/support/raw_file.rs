//! What a SQLite database holds on disk, byte for byte: the proof that
//! something removed is gone from the file and its write-ahead log, not
//! only from what queries answer.

use std::path::Path;

/// Every byte of the database file and its write-ahead log.
pub fn raw_bytes(db: &Path) -> Vec<u8> {
    let mut bytes = std::fs::read(db).unwrap();
    if let Ok(wal) = std::fs::read(format!("{}-wal", db.display())) {
        bytes.extend(wal);
    }
    bytes
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
