//! Sites: who may send feedback, from where.

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

use super::accounts::audit;
use super::{Sqlite, StoreError};
use crate::ids;
use crate::name::name_key;
use crate::origin::OriginPattern;
use crate::review::workflow::Status;

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
        let origins = parse_origins(id, &origins)?;
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

/// The cursor holding the largest id a removed site had. SQLite gives a
/// new row the largest id plus one, so without it the next site would
/// take the id of the newest removed one, and whatever still names that id
/// (a tool's `site=` filter, a bookmarked console page) would quietly show
/// another site.
pub(in crate::store) const REMOVED_SITES_CURSOR: &str = "removed_sites";

fn insert(conn: &Connection, site: &NewSite, at: i64) -> Result<Site, StoreError> {
    let key = ids::site_key();
    let origins = origins_text(&site.origins);
    conn.execute(
        "INSERT INTO sites (id, key, name, name_key, origins, created_at)
         VALUES (max(coalesce((SELECT max(id) FROM sites), 0),
                     coalesce((SELECT upto FROM cursors WHERE name = ?5), 0)) + 1,
                 ?1, ?2, ?6, ?3, ?4)",
        params![
            key,
            site.name,
            origins,
            at,
            REMOVED_SITES_CURSOR,
            name_key(&site.name)
        ],
    )?;
    Ok(Site {
        id: conn.last_insert_rowid(),
        key,
        name: site.name.clone(),
        origins: site.origins.clone(),
        response_promise: None,
    })
}

/// A site as the Sites pages show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteRow {
    pub id: i64,
    pub key: String,
    pub name: String,
    /// One pattern per line, as stored.
    pub origins: String,
    pub first_response_minutes: i64,
    pub response_promise: Option<String>,
    /// Customers who leave an address are emailed a receipt.
    pub receipt_email: bool,
    /// When its newest entry arrived.
    pub last_entry_at: Option<i64>,
}

impl SiteRow {
    /// Its origins, as patterns.
    pub fn origin_patterns(&self) -> Result<Vec<OriginPattern>, StoreError> {
        parse_origins(self.id, &self.origins)
    }
}

/// One page of sites and how many match in all.
#[derive(Debug, Clone, Default)]
pub struct SitePage {
    pub rows: Vec<SiteRow>,
    pub total: i64,
}

/// How many sites the whole list has, when a page of it tells: one that
/// is not full and not past the end is the last. A search usually fits
/// on its first page, so it is read once, not counted in a second pass.
pub(super) fn total_shown(shown: usize, offset: usize, limit: usize) -> Option<i64> {
    (shown < limit && (shown > 0 || offset == 0))
        .then(|| i64::try_from(offset.saturating_add(shown)).unwrap_or(i64::MAX))
}

/// What an admin changes about a site; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct SiteChange {
    pub name: Option<String>,
    pub origins: Option<Vec<OriginPattern>>,
    pub first_response_minutes: Option<i64>,
    /// `Some(None)` clears it.
    pub response_promise: Option<Option<String>>,
    pub receipt_email: Option<bool>,
}

/// The newest entry of site `s`, one index seek per status on
/// `entries_site_status` (site, status, id) rather than a scan of its
/// entries: fast however many a site has.
fn last_entry_sql() -> String {
    let seeks: Vec<String> = Status::ALL
        .iter()
        .map(|st| {
            format!(
                "SELECT (SELECT max(id) FROM entries WHERE site_id = s.id AND status = '{}') AS m",
                st.as_str()
            )
        })
        .collect();
    format!(
        "(SELECT created_at FROM entries WHERE id = (SELECT max(m) FROM ({})))",
        seeks.join(" UNION ALL ")
    )
}

fn site_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SiteRow> {
    Ok(SiteRow {
        id: r.get(0)?,
        key: r.get(1)?,
        name: r.get(2)?,
        origins: r.get(3)?,
        first_response_minutes: r.get(4)?,
        response_promise: r.get(5)?,
        receipt_email: r.get(6)?,
        last_entry_at: r.get(7)?,
    })
}

fn site_page(
    conn: &Connection,
    search: Option<&str>,
    offset: usize,
    limit: usize,
) -> Result<SitePage, StoreError> {
    let (filter, args): (&str, Vec<Value>) = match search {
        // Words as plain text, wildcards and all, found in a name in any
        // case and with or without its accents ("arzte" finds "Ärzte").
        // Keys are made of ASCII (`ids::site_key`), which the name's key
        // leaves as it is but for case.
        Some(q) => (
            "WHERE instr(s.name_key, ?1) > 0 OR instr(lower(s.key), ?1) > 0",
            vec![name_key(q).into()],
        ),
        None => ("", Vec::new()),
    };
    let sql = format!(
        "SELECT s.id, s.key, s.name, s.origins, s.first_response_minutes, s.response_promise,
                s.receipt_email, {}
         FROM sites s {filter} ORDER BY s.name_key, s.id LIMIT {limit} OFFSET {offset}",
        last_entry_sql()
    );
    let rows: Vec<SiteRow> = conn
        .prepare_cached(&sql)?
        .query_map(params_from_iter(args.iter()), site_row)?
        .collect::<Result<_, _>>()?;
    let total = match total_shown(rows.len(), offset, limit) {
        Some(total) => total,
        None => conn
            .prepare_cached(&format!("SELECT count(*) FROM sites s {filter}"))?
            .query_row(params_from_iter(args.iter()), |r| r.get(0))?,
    };
    Ok(SitePage { rows, total })
}

fn site_detail(conn: &Connection, id: i64) -> Result<Option<SiteRow>, StoreError> {
    let sql = format!(
        "SELECT s.id, s.key, s.name, s.origins, s.first_response_minutes, s.response_promise,
                s.receipt_email, {}
         FROM sites s WHERE s.id = ?1",
        last_entry_sql()
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([id], site_row)
        .optional()?)
}

/// Site `id`'s origin patterns, stored one per line.
pub(super) fn parse_origins(id: i64, text: &str) -> Result<Vec<OriginPattern>, StoreError> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            OriginPattern::parse(l)
                .map_err(|e| StoreError::Corrupt(format!("site {id} origin: {e}")))
        })
        .collect()
}

pub(super) fn origins_text(origins: &[OriginPattern]) -> String {
    origins
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

fn update_site(
    conn: &Connection,
    id: i64,
    change: &SiteChange,
    actor: Option<i64>,
    at: i64,
) -> Result<bool, StoreError> {
    let key: Option<String> = conn
        .prepare_cached("SELECT key FROM sites WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?;
    let Some(key) = key else {
        return Ok(false);
    };
    let mut changed = Vec::new();
    if let Some(name) = &change.name {
        conn.execute(
            "UPDATE sites SET name = ?2, name_key = ?3 WHERE id = ?1",
            params![id, name, name_key(name)],
        )?;
        changed.push("name");
    }
    if let Some(origins) = &change.origins {
        conn.execute(
            "UPDATE sites SET origins = ?2 WHERE id = ?1",
            params![id, origins_text(origins)],
        )?;
        changed.push("origins");
    }
    if let Some(minutes) = change.first_response_minutes {
        conn.execute(
            "UPDATE sites SET first_response_minutes = ?2 WHERE id = ?1",
            params![id, minutes],
        )?;
        changed.push("first_response_target");
    }
    if let Some(promise) = &change.response_promise {
        conn.execute(
            "UPDATE sites SET response_promise = ?2 WHERE id = ?1",
            params![id, promise],
        )?;
        changed.push("response_promise");
    }
    if let Some(on) = change.receipt_email {
        conn.execute(
            "UPDATE sites SET receipt_email = ?2 WHERE id = ?1",
            params![id, on],
        )?;
        changed.push("receipt_email");
    }
    audit(
        conn,
        actor,
        "site.changed",
        &key,
        Some(&changed.join(",")),
        at,
    )?;
    Ok(true)
}

/// What removing a site would take with it, shown before it goes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SiteHoldings {
    pub entries: i64,
    pub webhooks: i64,
    /// It is the only site: removing it is refused.
    pub only: bool,
}

impl SiteHoldings {
    /// "3 entries and 1 webhook", for the console and the command line.
    pub fn summary(&self) -> String {
        use super::privacy::counted;
        format!(
            "{} and {}",
            counted(self.entries, "entry", "entries"),
            counted(self.webhooks, "webhook", "webhooks")
        )
    }
}

/// What removing a site did, or why it did not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SiteRemoval {
    Removed {
        key: String,
        took: SiteHoldings,
    },
    NoSuchSite,
    /// Every widget would have nowhere to send, and the next start would
    /// make a new default site: add the site that replaces it first.
    OnlySite,
}

/// Tables keyed by site without a foreign key (the reports' sums), emptied
/// of a removed site's rows; entries, webhooks and the refusal counts are
/// deleted by name, so a table added later with a foreign key to `sites`
/// makes removal fail loudly rather than leave rows behind.
pub(in crate::store) const SITE_ROLLUPS: [&str; 5] = [
    "rollup_volume",
    "rollup_first_response",
    "rollup_resolution",
    "rollup_pages",
    "rollup_words",
];

/// Entries of a site taken per read while removing it.
pub(in crate::store) const REMOVAL_PAGE: i64 = 1_000;

/// What a site holds (entries, webhooks, whether it is the only one);
/// the same SQL on both backends.
pub(in crate::store) const HOLDINGS_SQL: &str =
    "SELECT (SELECT count(*) FROM entries WHERE site_id = $1),
            (SELECT count(*) FROM webhooks WHERE site_id = $1),
            (SELECT count(*) FROM sites) = 1
     FROM sites WHERE id = $1";

/// Why a site holding `held` (`None`: no such site) is not removed, if it
/// is not.
pub(in crate::store) fn refusal(held: Option<SiteHoldings>) -> Option<SiteRemoval> {
    match held {
        None => Some(SiteRemoval::NoSuchSite),
        Some(held) if held.only => Some(SiteRemoval::OnlySite),
        Some(_) => None,
    }
}

fn holdings(conn: &Connection, id: i64) -> Result<Option<SiteHoldings>, StoreError> {
    Ok(conn
        .prepare_cached(HOLDINGS_SQL)?
        .query_row([id], |r| {
            Ok(SiteHoldings {
                entries: r.get(0)?,
                webhooks: r.get(1)?,
                only: r.get(2)?,
            })
        })
        .optional()?)
}

/// The next `REMOVAL_PAGE` entries of site `id` after entry `after`.
fn entries_after(conn: &Connection, id: i64, after: i64) -> Result<Vec<(i64, String)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, public_id FROM entries WHERE site_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![id, after, REMOVAL_PAGE], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The last step of removing a site, in one transaction: entries that
/// arrived while the rest were deleted, then the site and all that is
/// keyed by it.
fn finish_removal(
    conn: &Connection,
    id: i64,
    deleted: i64,
    actor: Option<i64>,
    at: i64,
) -> Result<SiteRemoval, StoreError> {
    let held = holdings(conn, id)?;
    if let Some(refused) = refusal(held) {
        return Ok(refused);
    }
    let webhooks = held.map_or(0, |h| h.webhooks);
    let key: String = conn.query_row("SELECT key FROM sites WHERE id = ?1", [id], |r| r.get(0))?;
    let mut entries = deleted;
    loop {
        let late = entries_after(conn, id, 0)?;
        if late.is_empty() {
            break;
        }
        let mut rest = &late[..];
        while !rest.is_empty() {
            let (part, taken) = super::privacy::delete_some(conn, rest, None)?;
            rest = &rest[taken..];
            entries += part.entries;
        }
    }
    for table in SITE_ROLLUPS {
        conn.execute(&format!("DELETE FROM {table} WHERE site_id = ?1"), [id])?;
    }
    forget_in_notify_prefs(conn, id)?;
    conn.execute("DELETE FROM origin_refusals WHERE site_id = ?1", [id])?;
    conn.execute("DELETE FROM refused_origins WHERE site_id = ?1", [id])?;
    // Their queued deliveries go with them.
    conn.execute("DELETE FROM webhooks WHERE site_id = ?1", [id])?;
    conn.execute("DELETE FROM sites WHERE id = ?1", [id])?;
    conn.execute(
        "INSERT INTO cursors (name, upto) VALUES (?1, ?2)
         ON CONFLICT (name) DO UPDATE SET upto = max(upto, excluded.upto)",
        params![REMOVED_SITES_CURSOR, id],
    )?;
    audit(
        conn,
        actor,
        "site.removed",
        &key,
        Some(&format!("entries={entries},webhooks={webhooks}")),
        at,
    )?;
    Ok(SiteRemoval::Removed {
        key,
        took: SiteHoldings {
            entries,
            webhooks,
            only: false,
        },
    })
}

/// Takes site `id` out of every colleague's choice of sites to hear about.
fn forget_in_notify_prefs(conn: &Connection, id: i64) -> Result<(), StoreError> {
    let lists: Vec<(i64, String)> = conn
        .prepare("SELECT user_id, sites FROM notify_prefs")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    for (user, sites) in lists {
        if let Some(kept) = crate::notify::sites_without(&sites, id) {
            conn.execute(
                "UPDATE notify_prefs SET sites = ?1 WHERE user_id = ?2",
                params![kept, user],
            )?;
        }
    }
    Ok(())
}

impl Sqlite {
    /// What removing site `id` would take with it; `None` if there is no
    /// such site.
    pub async fn site_holdings(&self, id: i64) -> Result<Option<SiteHoldings>, StoreError> {
        self.read(move |conn| holdings(conn, id)).await
    }

    /// Removes site `id` and everything of it: its entries as an erasure
    /// removes them (attachments, timeline, search index, queued emails
    /// and deliveries), a few per transaction so ingest keeps flowing, then
    /// its webhooks, report sums and refusal counts and the site itself,
    /// recorded in the audit log. Interrupted, it has removed whole entries
    /// only; running it again finishes the job. The only site is refused.
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
            let page = self
                .read(move |conn| entries_after(conn, id, after))
                .await?;
            let Some(last) = page.last() else {
                break;
            };
            after = last.0;
            deleted += self.delete_paced(&page, None).await?.entries;
        }
        let removed = self
            .write(move |conn| finish_removal(conn, id, deleted, actor, at))
            .await?;
        if deleted > 0 {
            self.reclaim_logged().await;
        }
        Ok(removed)
    }

    /// A page of sites, ordered by name, optionally only those whose name or
    /// key contains `search` (in any case, with or without accents).
    pub async fn site_page(
        &self,
        search: Option<String>,
        offset: usize,
        limit: usize,
    ) -> Result<SitePage, StoreError> {
        self.read(move |conn| site_page(conn, search.as_deref(), offset, limit))
            .await
    }

    pub async fn site_detail(&self, id: i64) -> Result<Option<SiteRow>, StoreError> {
        self.read(move |conn| site_detail(conn, id)).await
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
        self.write(move |conn| update_site(conn, id, &change, actor, at))
            .await
    }

    /// Adds a site on an admin's behalf (`None`: the command line),
    /// recorded in the audit log.
    pub async fn add_site_by(
        &self,
        site: NewSite,
        actor: Option<i64>,
        at: i64,
    ) -> Result<Site, StoreError> {
        self.write(move |conn| {
            let added = insert(conn, &site, at)?;
            audit(conn, actor, "site.added", &added.key, None, at)?;
            Ok(added)
        })
        .await
    }

    pub async fn sites(&self) -> Result<Vec<Site>, StoreError> {
        self.read(load_all).await
    }

    pub async fn add_site(&self, site: NewSite, at: i64) -> Result<Site, StoreError> {
        self.write(move |conn| insert(conn, &site, at)).await
    }

    /// Creates `site` only if the database has no site yet; returns the
    /// first site either way. Atomic in the writer, so two starts cannot both
    /// create one.
    pub async fn ensure_first_site(
        &self,
        site: NewSite,
        at: i64,
    ) -> Result<(Site, bool), StoreError> {
        self.write(move |conn| {
            if let Some(first) = load_all(conn)?.into_iter().next() {
                return Ok((first, false));
            }
            Ok((insert(conn, &site, at)?, true))
        })
        .await
    }
}
