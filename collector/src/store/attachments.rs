//! Images customers attach to their entries, kept in the database beside
//! the entry (backups stay one file) and erased with it.

use earshot_protocol::{Dimensions, ImageType, limits};
use rusqlite::{Connection, OptionalExtension, params};

use super::{Sqlite, StoreError};
use crate::auth::constant_time_eq;
use crate::ids;

/// An attachment as the console lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentMeta {
    pub public_id: String,
    pub content_type: String,
    pub size: i64,
    pub created_at: i64,
    /// As the header declares; `None` when it could not be read.
    pub dimensions: Option<Dimensions>,
}

impl AttachmentMeta {
    /// What the file should be called when saved.
    pub fn file_name(&self) -> String {
        let extension =
            ImageType::from_mime(&self.content_type).map_or("bin", ImageType::extension);
        format!("{}.{extension}", self.public_id)
    }
}

/// What became of an upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attached {
    Stored {
        public_id: String,
    },
    /// No entry with this id, or the secret does not match: the same
    /// answer, so ids cannot be probed.
    UnknownEntry,
    TooMany,
}

/// The entry (id, site) behind a status link, if `secret` matches.
fn entry_by_secret(
    conn: &Connection,
    public_id: &str,
    secret: &str,
) -> Result<Option<(i64, i64)>, StoreError> {
    let found: Option<(i64, i64, String)> = conn
        .prepare_cached("SELECT id, site_id, status_token FROM entries WHERE public_id = ?1")?
        .query_row([public_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    Ok(found.and_then(|(id, site, token)| {
        constant_time_eq(token.as_bytes(), secret.as_bytes()).then_some((id, site))
    }))
}

fn attach(
    conn: &Connection,
    entry_public_id: &str,
    secret: &str,
    image: ImageType,
    dimensions: Dimensions,
    bytes: &[u8],
    now: i64,
) -> Result<Attached, StoreError> {
    let Some((entry_id, _)) = entry_by_secret(conn, entry_public_id, secret)? else {
        return Ok(Attached::UnknownEntry);
    };
    let count: i64 = conn
        .prepare_cached("SELECT count(*) FROM attachments WHERE entry_id = ?1")?
        .query_row([entry_id], |r| r.get(0))?;
    if usize::try_from(count).unwrap_or(usize::MAX) >= limits::ATTACHMENTS_PER_ENTRY {
        return Ok(Attached::TooMany);
    }
    let public_id = format!("att_{}", ids::secret(24));
    conn.prepare_cached(
        "INSERT INTO attachments
             (public_id, entry_id, content_type, bytes, size, created_at, width, height)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        public_id,
        entry_id,
        image.mime(),
        bytes,
        i64::try_from(bytes.len()).unwrap_or(i64::MAX),
        now,
        dimensions.width,
        dimensions.height,
    ])?;
    Ok(Attached::Stored { public_id })
}

pub(super) fn for_entry(
    conn: &Connection,
    entry_id: i64,
) -> Result<Vec<AttachmentMeta>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT public_id, content_type, size, created_at, width, height FROM attachments
         WHERE entry_id = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map([entry_id], |r| {
        let (width, height): (Option<u32>, Option<u32>) = (r.get(4)?, r.get(5)?);
        Ok(AttachmentMeta {
            public_id: r.get(0)?,
            content_type: r.get(1)?,
            size: r.get(2)?,
            created_at: r.get(3)?,
            dimensions: width
                .zip(height)
                .map(|(width, height)| Dimensions { width, height }),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Reads the dimensions of images stored before they were recorded. One
/// that cannot be read keeps none, and is then offered only as a download.
pub(super) fn backfill_dimensions(conn: &Connection) -> Result<(), StoreError> {
    let mut read = conn.prepare("SELECT id, content_type, bytes FROM attachments")?;
    let mut write = conn.prepare("UPDATE attachments SET width = ?2, height = ?3 WHERE id = ?1")?;
    let mut rows = read.query([])?;
    while let Some(row) = rows.next()? {
        let (id, content_type, bytes): (i64, String, Vec<u8>) =
            (row.get(0)?, row.get(1)?, row.get(2)?);
        if let Some(d) = ImageType::from_mime(&content_type).and_then(|t| t.dimensions(&bytes)) {
            write.execute(params![id, d.width, d.height])?;
        }
    }
    Ok(())
}

impl Sqlite {
    /// The site of the entry behind a status secret (to check the origin
    /// before an upload is stored).
    pub async fn entry_site(
        &self,
        public_id: String,
        secret: String,
    ) -> Result<Option<i64>, StoreError> {
        self.read(move |conn| Ok(entry_by_secret(conn, &public_id, &secret)?.map(|(_, site)| site)))
            .await
    }

    /// Stores an image for the entry whose status secret is `secret`.
    pub async fn attach(
        &self,
        entry_public_id: String,
        secret: String,
        image: ImageType,
        dimensions: Dimensions,
        bytes: Vec<u8>,
        now: i64,
    ) -> Result<Attached, StoreError> {
        self.write(move |conn| {
            attach(
                conn,
                &entry_public_id,
                &secret,
                image,
                dimensions,
                &bytes,
                now,
            )
        })
        .await
    }

    /// An attachment's type and bytes, for staff.
    pub async fn attachment(
        &self,
        public_id: String,
    ) -> Result<Option<(String, Vec<u8>)>, StoreError> {
        self.read(move |conn| {
            Ok(conn
                .prepare_cached("SELECT content_type, bytes FROM attachments WHERE public_id = ?1")?
                .query_row([public_id], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?)
        })
        .await
    }
}
