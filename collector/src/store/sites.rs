//! Sites: who may send feedback, from where.

use rusqlite::{Connection, params};

use super::{Store, StoreError, now_millis};
use crate::ids;
use crate::origin::OriginPattern;

#[derive(Debug, Clone)]
pub struct Site {
    pub id: i64,
    pub key: String,
    pub name: String,
    pub origins: Vec<OriginPattern>,
    /// What customers are told to expect after sending, e.g. "We answer
    /// within 1 business day" (set by an admin in the console).
    pub response_promise: Option<String>,
}

impl Site {
    pub fn allows(&self, origin: &str) -> bool {
        self.origins.iter().any(|p| p.matches(origin))
    }
}

#[derive(Debug, Clone)]
pub struct NewSite {
    pub name: String,
    pub origins: Vec<OriginPattern>,
}

fn load_all(conn: &Connection) -> Result<Vec<Site>, StoreError> {
    let mut stmt = conn
        .prepare_cached("SELECT id, key, name, origins, response_promise FROM sites ORDER BY id")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, Option<String>>(4)?,
        ))
    })?;
    let mut sites = Vec::new();
    for row in rows {
        let (id, key, name, origins, response_promise) = row?;
        let origins = origins
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                OriginPattern::parse(l)
                    .map_err(|e| StoreError::Corrupt(format!("site {id} origin: {e}")))
            })
            .collect::<Result<_, _>>()?;
        sites.push(Site {
            id,
            key,
            name,
            origins,
            response_promise,
        });
    }
    Ok(sites)
}

fn insert(conn: &Connection, site: &NewSite) -> Result<Site, StoreError> {
    let key = ids::site_key();
    let origins = site
        .origins
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    conn.execute(
        "INSERT INTO sites (key, name, origins, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![key, site.name, origins, now_millis()],
    )?;
    Ok(Site {
        id: conn.last_insert_rowid(),
        key,
        name: site.name.clone(),
        origins: site.origins.clone(),
        response_promise: None,
    })
}

impl Store {
    pub async fn sites(&self) -> Result<Vec<Site>, StoreError> {
        self.read(load_all).await
    }

    pub async fn add_site(&self, site: NewSite) -> Result<Site, StoreError> {
        self.write(move |conn| insert(conn, &site)).await
    }

    /// Creates `site` only if the database has no site yet; returns the
    /// first site either way. Atomic in the writer, so two starts cannot both
    /// create one.
    pub async fn ensure_first_site(&self, site: NewSite) -> Result<(Site, bool), StoreError> {
        self.write(move |conn| {
            if let Some(first) = load_all(conn)?.into_iter().next() {
                return Ok((first, false));
            }
            Ok((insert(conn, &site)?, true))
        })
        .await
    }
}
