//! Sites on PostgreSQL: what ingest needs to know who may send.

use tokio_postgres::Row;

use super::Postgres;
use crate::ids;
use crate::origin::OriginPattern;
use crate::store::{NewSite, Site, StoreError, sites::origins_text};

/// Serialises first starts across collectors: only one creates the first
/// site.
const FIRST_SITE_LOCK: i64 = 0x0065_6172_7368_0001;

fn site(row: &Row) -> Result<Site, StoreError> {
    let id: i64 = row.get(0);
    let origins: String = row.get(3);
    let origins = origins
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            OriginPattern::parse(l)
                .map_err(|e| StoreError::Corrupt(format!("site {id} origin: {e}")))
        })
        .collect::<Result<_, _>>()?;
    Ok(Site {
        id,
        key: row.get(1),
        name: row.get(2),
        origins,
        response_promise: row.get(4),
    })
}

const SELECT_SITES: &str = "SELECT id, key, name, origins, response_promise FROM sites ORDER BY id";

async fn insert(
    client: &impl deadpool_postgres::GenericClient,
    new: &NewSite,
    at: i64,
) -> Result<Site, StoreError> {
    let key = ids::site_key();
    let row = client
        .query_one(
            "INSERT INTO sites (key, name, origins, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
            &[&key, &new.name, &origins_text(&new.origins), &at],
        )
        .await?;
    Ok(Site {
        id: row.get(0),
        key,
        name: new.name.clone(),
        origins: new.origins.clone(),
        response_promise: None,
    })
}

impl Postgres {
    pub async fn sites(&self) -> Result<Vec<Site>, StoreError> {
        let client = self.client().await?;
        let stmt = client.prepare_cached(SELECT_SITES).await?;
        client.query(&stmt, &[]).await?.iter().map(site).collect()
    }

    pub async fn add_site(&self, site: NewSite, at: i64) -> Result<Site, StoreError> {
        let client = self.client().await?;
        insert(&client, &site, at).await
    }

    /// Creates `site` only if the database has no site yet; returns the
    /// first site either way, even when several collectors start at once.
    pub async fn ensure_first_site(
        &self,
        new: NewSite,
        at: i64,
    ) -> Result<(Site, bool), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&FIRST_SITE_LOCK])
            .await?;
        let first = tx
            .query_opt(&format!("{SELECT_SITES} LIMIT 1"), &[])
            .await?;
        let answer = match first {
            Some(row) => (site(&row)?, false),
            None => (insert(&tx, &new, at).await?, true),
        };
        tx.commit().await?;
        Ok(answer)
    }
}
