//! Server-wide secrets kept in the database, so they survive restarts and
//! move with a backup, and the public URL the server runs with.

use rand::Rng;
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

    /// The secret of the setup link that makes the first account: one for
    /// the whole installation, so every collector prints and accepts the
    /// same link whichever one a load balancer sends its visitor to.
    pub async fn setup_link_secret(&self) -> Result<[u8; 32], StoreError> {
        self.secret("setup_link_secret").await
    }

    /// Keeps the public URL the server runs with, for the command line's
    /// embed snippets.
    pub async fn remember_public_url(&self, url: String) -> Result<(), StoreError> {
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT INTO settings (name, value) VALUES ('public_url', ?1)
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            )?
            .execute([url.as_bytes()])?;
            Ok(())
        })
        .await
    }

    /// The public URL the server last started with.
    pub async fn public_url(&self) -> Result<Option<String>, StoreError> {
        let bytes: Option<Vec<u8>> = self
            .read(|conn| {
                Ok(conn
                    .prepare_cached("SELECT value FROM settings WHERE name = 'public_url'")?
                    .query_row([], |r| r.get(0))
                    .optional()?)
            })
            .await?;
        Ok(bytes.and_then(|b| String::from_utf8(b).ok()))
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
