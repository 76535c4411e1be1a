//! Images customers attach, on PostgreSQL (in the database, as on SQLite,
//! so every collector serves every image and a backup holds them all).

use earshot_protocol::{Dimensions, ImageType, limits};

use super::{Postgres, read_opt};
use crate::auth::constant_time_eq;
use crate::ids;
use crate::store::{Attached, StoreError};

impl Postgres {
    /// Stores an image for the entry behind a status link. The entry is
    /// locked while its images are counted, so two uploads at once cannot
    /// both take the last place.
    pub async fn attach(
        &self,
        entry_public_id: String,
        secret: String,
        image: ImageType,
        dimensions: Dimensions,
        bytes: Vec<u8>,
        now: i64,
    ) -> Result<Attached, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let found = tx
            .query_opt(
                "SELECT id, status_token FROM entries WHERE public_id = $1 FOR UPDATE",
                &[&entry_public_id],
            )
            .await?;
        let entry_id: i64 = match found {
            Some(row)
                if constant_time_eq(row.try_get::<_, &str>(1)?.as_bytes(), secret.as_bytes()) =>
            {
                row.try_get(0)?
            }
            _ => return Ok(Attached::UnknownEntry),
        };
        let count: i64 = tx
            .query_one(
                "SELECT count(*) FROM attachments WHERE entry_id = $1",
                &[&entry_id],
            )
            .await?
            .try_get(0)?;
        if usize::try_from(count).unwrap_or(usize::MAX) >= limits::ATTACHMENTS_PER_ENTRY {
            return Ok(Attached::TooMany);
        }
        let public_id = format!("att_{}", ids::secret(24));
        tx.execute(
            "INSERT INTO attachments
                 (public_id, entry_id, content_type, bytes, size, created_at, width, height)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &public_id,
                &entry_id,
                &image.mime(),
                &bytes,
                &i64::try_from(bytes.len()).unwrap_or(i64::MAX),
                &now,
                &i64::from(dimensions.width),
                &i64::from(dimensions.height),
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(Attached::Stored { public_id })
    }

    /// An attachment's type and bytes, for staff.
    pub async fn attachment(
        &self,
        public_id: String,
    ) -> Result<Option<(String, Vec<u8>)>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT content_type, bytes FROM attachments WHERE public_id = $1",
                &[&public_id],
            )
            .await?;
        read_opt(row, |r| Ok((r.try_get(0)?, r.try_get(1)?)))
    }
}
