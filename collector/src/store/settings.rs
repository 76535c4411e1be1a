//! Server-wide secrets kept in the database, so they survive restarts and
//! move with a backup.

use rand::RngCore;
use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError};

const IP_HASH_SECRET: &str = "ip_hash_secret";

impl Store {
    /// The key for hashing client IPs; generated on first use.
    pub async fn ip_hash_secret(&self) -> Result<[u8; 32], StoreError> {
        self.write(|conn| {
            let existing: Option<Vec<u8>> = conn
                .query_row(
                    "SELECT value FROM settings WHERE name = ?1",
                    [IP_HASH_SECRET],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(bytes) = existing {
                return <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
                    StoreError::Corrupt("ip hash secret has the wrong length".into())
                });
            }
            let mut secret = [0u8; 32];
            rand::rng().fill_bytes(&mut secret);
            conn.execute(
                "INSERT INTO settings (name, value) VALUES (?1, ?2)",
                params![IP_HASH_SECRET, secret.as_slice()],
            )?;
            Ok(secret)
        })
        .await
    }
}
