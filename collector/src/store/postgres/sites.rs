//! Sites on PostgreSQL: what ingest needs to know who may send.

use tokio_postgres::Row;

use super::{Postgres, audit, read_opt};
use crate::auth::constant_time_eq;
use crate::ids;
use crate::name::name_key;
use crate::store::retention::Retention;
use crate::store::sites::{
    HOLDINGS_SQL, REMOVAL_PAGE, SITE_ROLLUPS, origins_text, parse_origins, refusal,
};
use crate::store::{
    NewSite, Site, SiteChange, SiteHoldings, SitePage, SiteRemoval, SiteRow, StoreError,
};

/// Serialises what depends on how many sites there are across
/// collectors: only one first start creates the first site, and two
/// removals cannot leave none.
const FIRST_SITE_LOCK: i64 = 0x0065_6172_7368_0001;

fn site(row: &Row) -> Result<Site, StoreError> {
    let id: i64 = row.try_get(0)?;
    let origins = parse_origins(id, row.try_get(3)?)?;
    Ok(Site {
        id,
        key: row.try_get(1)?,
        name: row.try_get(2)?,
        origins,
        response_promise: row.try_get(4)?,
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
            "INSERT INTO sites (key, name, name_key, origins, created_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
            &[
                &key,
                &new.name,
                &name_key(&new.name),
                &origins_text(&new.origins),
                &at,
            ],
        )
        .await?;
    Ok(Site {
        id: row.try_get(0)?,
        key,
        name: new.name.clone(),
        origins: new.origins.clone(),
        response_promise: None,
    })
}

async fn holdings(
    client: &impl deadpool_postgres::GenericClient,
    id: i64,
) -> Result<Option<SiteHoldings>, StoreError> {
    let row = client.query_opt(HOLDINGS_SQL, &[&id]).await?;
    row.map(|r| {
        Ok(SiteHoldings {
            entries: r.try_get(0)?,
            webhooks: r.try_get(1)?,
            only: r.try_get(2)?,
        })
    })
    .transpose()
}

async fn entries_after(
    client: &impl deadpool_postgres::GenericClient,
    id: i64,
    after: i64,
) -> Result<Vec<(i64, String)>, StoreError> {
    let rows = client
        .query(
            "SELECT id, public_id FROM entries WHERE site_id = $1 AND id > $2 ORDER BY id LIMIT $3",
            &[&id, &after, &REMOVAL_PAGE],
        )
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

impl Postgres {
    /// What removing site `id` would take with it.
    pub async fn site_holdings(&self, id: i64) -> Result<Option<SiteHoldings>, StoreError> {
        let client = self.client().await?;
        holdings(&client, id).await
    }

    /// Removes site `id` and everything of it, as on SQLite: its entries a
    /// few per transaction, then in one transaction those that arrived
    /// meanwhile (the site's row locked, so no more can), its webhooks,
    /// report sums, refusal counts and the site, audited.
    pub async fn remove_site(
        &self,
        id: i64,
        actor: Option<i64>,
        at: i64,
    ) -> Result<SiteRemoval, StoreError> {
        if let Some(refused) = refusal(self.site_holdings(id).await?) {
            return Ok(refused);
        }
        let (mut deleted, mut after) = (0, 0);
        loop {
            let page = {
                let client = self.client().await?;
                entries_after(&client, id, after).await?
            };
            let Some(last) = page.last() else {
                break;
            };
            after = last.0;
            deleted += super::privacy::delete_all(self, &page, None).await?.entries;
        }
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&FIRST_SITE_LOCK])
            .await?;
        let Some(row) = tx
            .query_opt("SELECT key FROM sites WHERE id = $1 FOR UPDATE", &[&id])
            .await?
        else {
            return Ok(SiteRemoval::NoSuchSite);
        };
        let key: String = row.try_get(0)?;
        let held = holdings(&tx, id).await?;
        if let Some(refused) = refusal(held) {
            return Ok(refused);
        }
        let webhooks = held.map_or(0, |h| h.webhooks);
        // Entries that arrived while the others were deleted.
        let late = tx
            .query("SELECT id FROM entries WHERE site_id = $1", &[&id])
            .await?;
        for r in &late {
            let entry: i64 = r.try_get(0)?;
            super::rollup::forget_text(&tx, entry).await?;
        }
        let gone = tx
            .execute("DELETE FROM entries WHERE site_id = $1", &[&id])
            .await?;
        deleted += i64::try_from(gone).unwrap_or(0);
        for table in SITE_ROLLUPS {
            tx.execute(&format!("DELETE FROM {table} WHERE site_id = $1"), &[&id])
                .await?;
        }
        // As on SQLite (where the next site may get the id): no colleague's
        // choice of sites names one that is gone.
        for row in tx
            .query("SELECT user_id, sites FROM notify_prefs", &[])
            .await?
        {
            let (user, sites): (i64, String) = (row.try_get(0)?, row.try_get(1)?);
            if let Some(kept) = crate::notify::sites_without(&sites, id) {
                tx.execute(
                    "UPDATE notify_prefs SET sites = $1 WHERE user_id = $2",
                    &[&kept, &user],
                )
                .await?;
            }
        }
        tx.execute("DELETE FROM origin_refusals WHERE site_id = $1", &[&id])
            .await?;
        tx.execute("DELETE FROM refused_origins WHERE site_id = $1", &[&id])
            .await?;
        tx.execute("DELETE FROM webhooks WHERE site_id = $1", &[&id])
            .await?;
        tx.execute("DELETE FROM sites WHERE id = $1", &[&id])
            .await?;
        let detail = format!("entries={deleted},webhooks={webhooks}");
        audit(&tx, actor, "site.removed", &key, Some(&detail), at).await?;
        tx.commit().await?;
        Ok(SiteRemoval::Removed {
            key,
            took: SiteHoldings {
                entries: deleted,
                webhooks,
                only: false,
            },
        })
    }

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

fn site_row(r: &Row) -> Result<SiteRow, StoreError> {
    Ok(SiteRow {
        id: r.try_get(0)?,
        key: r.try_get(1)?,
        name: r.try_get(2)?,
        origins: r.try_get(3)?,
        first_response_minutes: r.try_get(4)?,
        response_promise: r.try_get(5)?,
        receipt_email: r.try_get(6)?,
        last_entry_at: r.try_get(7)?,
    })
}

const SITE_ROW_SELECT: &str =
    "SELECT s.id, s.key, s.name, s.origins, s.first_response_minutes, s.response_promise,
            s.receipt_email, (SELECT max(created_at) FROM entries WHERE site_id = s.id)
     FROM sites s";

impl Postgres {
    /// A page of sites, ordered by name, optionally only those whose name
    /// or key contains `search` (in any case, with or without accents).
    pub async fn site_page(
        &self,
        search: Option<String>,
        offset: usize,
        limit: usize,
    ) -> Result<SitePage, StoreError> {
        let client = self.client().await?;
        // As on SQLite: plain text, in any case, with or without accents.
        let words = search.as_deref().map(name_key);
        let filter =
            "WHERE $1::text IS NULL OR strpos(s.name_key, $1) > 0 OR strpos(lower(s.key), $1) > 0";
        let page_limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let page_offset = i64::try_from(offset).unwrap_or(i64::MAX);
        // The page's sites are chosen first and only they look up their
        // last entry: with the lookup beside OFFSET, every site skipped
        // paid for it (page 150 of 10,000 sites over a million entries
        // took 22-30 ms, then 2.8). They are chosen by their name's key and
        // id alone, which the index holds: reading whole rows, the planner
        // sorted the table rather than walk the index (page 150 5.6 ms,
        // now 1.0).
        let stmt = client
            .prepare_cached(&format!(
                "SELECT s.id, s.key, s.name, s.origins, s.first_response_minutes,
                        s.response_promise, s.receipt_email,
                        (SELECT max(created_at) FROM entries WHERE site_id = s.id)
                 FROM (SELECT s.id, s.name_key FROM sites s {filter}
                       ORDER BY s.name_key, s.id LIMIT $2 OFFSET $3) page
                 JOIN sites s ON s.id = page.id
                 ORDER BY page.name_key, page.id"
            ))
            .await?;
        let rows: Vec<SiteRow> = client
            .query(&stmt, &[&words, &page_limit, &page_offset])
            .await?
            .iter()
            .map(site_row)
            .collect::<Result<_, _>>()?;
        let total = match crate::store::sites::total_shown(rows.len(), offset, limit) {
            Some(total) => total,
            None => client
                .query_one(&format!("SELECT count(*) FROM sites s {filter}"), &[&words])
                .await?
                .try_get(0)?,
        };
        Ok(SitePage { rows, total })
    }

    pub async fn site_detail(&self, id: i64) -> Result<Option<SiteRow>, StoreError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!("{SITE_ROW_SELECT} WHERE s.id = $1"))
            .await?;
        client
            .query_opt(&stmt, &[&id])
            .await?
            .as_ref()
            .map(site_row)
            .transpose()
    }

    /// Applies an admin's change (`None`: from the command line) and
    /// records it; `false` when there is no such site.
    pub async fn update_site(
        &self,
        id: i64,
        change: SiteChange,
        actor: Option<i64>,
        at: i64,
    ) -> Result<bool, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let Some(row) = tx
            .query_opt("SELECT key FROM sites WHERE id = $1 FOR UPDATE", &[&id])
            .await?
        else {
            return Ok(false);
        };
        let key: String = row.try_get(0)?;
        let mut changed = Vec::new();
        if let Some(name) = &change.name {
            tx.execute(
                "UPDATE sites SET name = $2, name_key = $3 WHERE id = $1",
                &[&id, name, &name_key(name)],
            )
            .await?;
            changed.push("name");
        }
        if let Some(origins) = &change.origins {
            tx.execute(
                "UPDATE sites SET origins = $2 WHERE id = $1",
                &[&id, &origins_text(origins)],
            )
            .await?;
            changed.push("origins");
        }
        if let Some(minutes) = change.first_response_minutes {
            tx.execute(
                "UPDATE sites SET first_response_minutes = $2 WHERE id = $1",
                &[&id, &minutes],
            )
            .await?;
            changed.push("first_response_target");
        }
        if let Some(promise) = &change.response_promise {
            tx.execute(
                "UPDATE sites SET response_promise = $2 WHERE id = $1",
                &[&id, promise],
            )
            .await?;
            changed.push("response_promise");
        }
        if let Some(on) = change.receipt_email {
            tx.execute(
                "UPDATE sites SET receipt_email = $2 WHERE id = $1",
                &[&id, &on],
            )
            .await?;
            changed.push("receipt_email");
        }
        audit(
            &tx,
            actor,
            "site.changed",
            &key,
            Some(&changed.join(",")),
            at,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Adds a site on an admin's behalf (`None`: the command line),
    /// recorded in the audit log.
    pub async fn add_site_by(
        &self,
        site: NewSite,
        actor: Option<i64>,
        at: i64,
    ) -> Result<Site, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let added = insert(&tx, &site, at).await?;
        audit(&tx, actor, "site.added", &added.key, None, at).await?;
        tx.commit().await?;
        Ok(added)
    }

    /// The site of the entry behind a status link, if `secret` matches.
    pub async fn entry_site(
        &self,
        public_id: String,
        secret: String,
    ) -> Result<Option<i64>, StoreError> {
        let client = self.client().await?;
        let found = client
            .query_opt(
                "SELECT site_id, status_token FROM entries WHERE public_id = $1",
                &[&public_id],
            )
            .await?;
        let Some(row) = found else {
            return Ok(None);
        };
        let token: &str = row.try_get(1)?;
        if !constant_time_eq(token.as_bytes(), secret.as_bytes()) {
            return Ok(None);
        }
        Ok(Some(row.try_get(0)?))
    }

    /// Sets a site's retention; `false` when there is no such site.
    pub async fn set_retention(
        &self,
        site_id: i64,
        retention: Retention,
        actor: Option<i64>,
        at: i64,
    ) -> Result<bool, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let scope = if retention.all { "all" } else { "closed" };
        let Some(row) = tx
            .query_opt(
                "UPDATE sites SET retention_days = $2, retention_scope = $3, spam_days = $4
                 WHERE id = $1 RETURNING key",
                &[&site_id, &retention.days, &scope, &retention.spam_days],
            )
            .await?
        else {
            return Ok(false);
        };
        let key: String = row.try_get(0)?;
        let detail = format!(
            "days={},scope={scope},spam_days={}",
            retention.days.map_or("off".to_owned(), |d| d.to_string()),
            retention.spam_days
        );
        audit(&tx, actor, "site.retention", &key, Some(&detail), at).await?;
        tx.commit().await?;
        Ok(true)
    }

    pub async fn retention(&self, site_id: i64) -> Result<Option<Retention>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT retention_days, retention_scope, spam_days FROM sites WHERE id = $1",
                &[&site_id],
            )
            .await?;
        read_opt(row, |r| {
            Ok(Retention {
                days: r.try_get(0)?,
                all: r.try_get::<_, &str>(1)? == "all",
                spam_days: r.try_get(2)?,
            })
        })
    }
}
