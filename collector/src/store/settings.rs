//! Server-wide secrets kept in the database, so they survive restarts and
//! move with a backup.

use rand::RngCore;
use rusqlite::{OptionalExtension, params};

use super::{Sqlite, StoreError};

impl Sqlite {
    /// The key for hashing client IPs; generated on first use.
    pub async fn ip_hash_secret(&self) -> Result<[u8; 32], StoreError> {
        self.secret("ip_hash_secret").await
    }

    /// The key for the sign-in throttle's tags and device cookies.
    pub async fn login_throttle_secret(&self) -> Result<[u8; 32], StoreError> {
        self.secret("login_throttle_secret").await
    }

    /// The 32-byte secret called `name`, generated on first use.
    async fn secret(&self, name: &'static str) -> Result<[u8; 32], StoreError> {
        self.write(move |conn| {
            let existing: Option<Vec<u8>> = conn
                .query_row("SELECT value FROM settings WHERE name = ?1", [name], |r| {
                    r.get(0)
                })
                .optional()?;
            if let Some(bytes) = existing {
                return <[u8; 32]>::try_from(bytes.as_slice())
                    .map_err(|_| StoreError::Corrupt(format!("{name} has the wrong length")));
            }
            let mut secret = [0u8; 32];
            rand::rng().fill_bytes(&mut secret);
            conn.execute(
                "INSERT INTO settings (name, value) VALUES (?1, ?2)",
                params![name, secret.as_slice()],
            )?;
            Ok(secret)
        })
        .await
    }
}
