//! In-memory view of the `sites` table for the hot ingest path.
//!
//! Sites change rarely (`earshot site add` may run in another process), so
//! the list is reloaded at most every [`REFRESH`]: a new site works within
//! seconds without a restart, and ingest costs no database read.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use crate::store::{Site, Store, StoreError};

const REFRESH: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct SiteDirectory {
    store: Store,
    cache: Arc<RwLock<Snapshot>>,
    refresh: Arc<tokio::sync::Mutex<()>>,
    rejected: Arc<Mutex<HashMap<i64, Rejected>>>,
}

/// Hours of refusals remembered per site.
const HOURS: usize = 24;
const HOUR_MS: i64 = 3_600_000;
/// Distinct refused origins kept per site, and their longest length: enough
/// to spot a misconfiguration, bounded whatever a client sends.
const ORIGINS_KEPT: usize = 5;
const ORIGIN_MAX: usize = 120;

/// Feedback a site refused because of the page's origin, per hour.
#[derive(Debug, Clone, Default)]
struct Rejected {
    /// (hour number since 1970, refusals in it), a ring by hour.
    hours: [(i64, u32); HOURS],
    /// The latest distinct origins refused, newest first.
    origins: Vec<String>,
}

/// What the Sites page shows of a site's refused origins.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RejectedOrigins {
    /// Refusals in the last 24 hours (since this collector started, if
    /// later).
    pub last_day: u64,
    pub origins: Vec<String>,
}

#[derive(Clone)]
struct Snapshot {
    sites: Arc<Vec<Arc<Site>>>,
    loaded: Option<Instant>,
}

impl SiteDirectory {
    pub fn new(store: Store) -> Self {
        SiteDirectory {
            store,
            cache: Arc::new(RwLock::new(Snapshot {
                sites: Arc::new(Vec::new()),
                loaded: None,
            })),
            refresh: Arc::new(tokio::sync::Mutex::new(())),
            rejected: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Counts feedback refused for `site_id` because it came from `origin`.
    /// Keyed by sites that exist, so its memory is bounded by their number.
    pub fn note_rejected(&self, site_id: i64, origin: &str, now_ms: i64) {
        let Ok(mut all) = self.rejected.lock() else {
            return;
        };
        let entry = all.entry(site_id).or_default();
        let hour = now_ms.div_euclid(HOUR_MS);
        let slot = &mut entry.hours[usize::try_from(hour.rem_euclid(HOURS as i64)).unwrap_or(0)];
        if slot.0 == hour {
            slot.1 = slot.1.saturating_add(1);
        } else {
            *slot = (hour, 1);
        }
        let origin: String = origin.chars().take(ORIGIN_MAX).collect();
        entry.origins.retain(|o| *o != origin);
        entry.origins.insert(0, origin);
        entry.origins.truncate(ORIGINS_KEPT);
    }

    /// Refusals for `site_id` in the 24 hours before `now_ms`.
    pub fn rejected_origins(&self, site_id: i64, now_ms: i64) -> RejectedOrigins {
        let Ok(all) = self.rejected.lock() else {
            return RejectedOrigins::default();
        };
        let Some(entry) = all.get(&site_id) else {
            return RejectedOrigins::default();
        };
        let hour = now_ms.div_euclid(HOUR_MS);
        RejectedOrigins {
            last_day: entry
                .hours
                .iter()
                .filter(|(h, _)| hour - h < HOURS as i64 && *h <= hour)
                .map(|(_, n)| u64::from(*n))
                .sum(),
            origins: entry.origins.clone(),
        }
    }

    fn fresh(&self) -> Option<Arc<Vec<Arc<Site>>>> {
        let snap = self.cache.read().ok()?;
        let loaded = snap.loaded?;
        (loaded.elapsed() < REFRESH).then(|| snap.sites.clone())
    }

    async fn sites(&self) -> Result<Arc<Vec<Arc<Site>>>, StoreError> {
        if let Some(sites) = self.fresh() {
            return Ok(sites);
        }
        // One reload at a time; others wait and then use its result.
        let _guard = self.refresh.lock().await;
        if let Some(sites) = self.fresh() {
            return Ok(sites);
        }
        let sites: Arc<Vec<Arc<Site>>> = Arc::new(
            self.store
                .sites()
                .await?
                .into_iter()
                .map(Arc::new)
                .collect(),
        );
        if let Ok(mut snap) = self.cache.write() {
            *snap = Snapshot {
                sites: sites.clone(),
                loaded: Some(Instant::now()),
            };
        }
        Ok(sites)
    }

    /// Forgets the cached list so the next lookup reads the database.
    pub fn invalidate(&self) {
        if let Ok(mut snap) = self.cache.write() {
            snap.loaded = None;
        }
    }

    pub async fn by_id(&self, id: i64) -> Result<Option<Arc<Site>>, StoreError> {
        Ok(self.sites().await?.iter().find(|s| s.id == id).cloned())
    }

    pub async fn by_key(&self, key: &str) -> Result<Option<Arc<Site>>, StoreError> {
        Ok(self.sites().await?.iter().find(|s| s.key == key).cloned())
    }

    /// Whether any site allows `origin` (CORS preflights carry no site key).
    pub async fn any_allows(&self, origin: &str) -> Result<bool, StoreError> {
        Ok(self.sites().await?.iter().any(|s| s.allows(origin)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn refused_origins_are_counted_for_a_day_and_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).unwrap();
        let sites = SiteDirectory::new(store);
        let t = 1_800_000_000_000;
        for i in 0..10 {
            sites.note_rejected(7, &format!("https://shop{i}.example"), t + i * HOUR_MS);
        }
        sites.note_rejected(7, &"x".repeat(10_000), t + 10 * HOUR_MS);
        let seen = sites.rejected_origins(7, t + 10 * HOUR_MS);
        assert_eq!(seen.last_day, 11);
        assert_eq!(seen.origins.len(), ORIGINS_KEPT);
        assert_eq!(seen.origins[0].len(), ORIGIN_MAX);
        assert_eq!(seen.origins[1], "https://shop9.example");
        // A day later the early hours have fallen out.
        let later = sites.rejected_origins(7, t + 30 * HOUR_MS);
        assert_eq!(later.last_day, 4);
        assert_eq!(sites.rejected_origins(8, t).last_day, 0);
    }
}
