//! In-memory view of the `sites` table for the hot ingest path.
//!
//! Sites change rarely (`earshot site add` may run in another process), so
//! the list is reloaded at most every `REFRESH`: a new site works within
//! seconds without a restart, and ingest costs no database read.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use crate::clock::Clock;
use crate::store::refusals::{RefusalTally, Refused};
use crate::store::{Site, Store, StoreError};

const REFRESH: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct SiteDirectory {
    store: Store,
    cache: Arc<RwLock<Snapshot>>,
    refresh: Arc<tokio::sync::Mutex<()>>,
    /// Refusals counted since they were last written, by site.
    rejected: Arc<Mutex<HashMap<i64, RefusalTally>>>,
    /// Feedback refused because no site has the key it names, labelled
    /// "key from origin". In memory only: such a key belongs to no site's
    /// row, and one bounded tally stays bounded whatever clients send.
    unknown: Arc<Mutex<RefusalTally>>,
    /// Sites being removed here: refused from the start of their removal,
    /// so no customer is told "stored" about feedback deleted a moment
    /// later.
    withdrawn: Arc<Mutex<HashSet<i64>>>,
}

/// How often refusals counted in memory are written.
pub const REFUSALS_EVERY: Duration = Duration::from_secs(10);

/// What the Sites page shows of a site's refused origins.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RejectedOrigins {
    /// Refusals in the last 24 hours, by every collector.
    pub last_day: u64,
    /// The latest distinct origins refused, newest first.
    pub origins: Vec<String>,
}

impl From<Refused> for RejectedOrigins {
    fn from(refused: Refused) -> Self {
        RejectedOrigins {
            last_day: refused.count,
            origins: refused.origin_names(),
        }
    }
}

/// Writes what `sites` counted every [`REFUSALS_EVERY`], until aborted.
pub async fn keep_refusals_written(sites: SiteDirectory, clock: Clock) {
    let mut every = tokio::time::interval(REFUSALS_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if let Err(e) = sites.write_refusals(clock.now_millis()).await {
            // Kept in memory for the next attempt.
            tracing::warn!(error = %e, "could not write the refused origins' counts");
        }
    }
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
            unknown: Arc::new(Mutex::new(RefusalTally::default())),
            withdrawn: Arc::new(Mutex::new(HashSet::new())),
        }
    }

    /// Refuses site `id` from now on, as if it did not exist, until
    /// [`Self::restore`]: for the time its removal takes.
    pub fn withdraw(&self, id: i64) {
        if let Ok(mut withdrawn) = self.withdrawn.lock() {
            withdrawn.insert(id);
        }
    }

    /// Ends [`Self::withdraw`]: the site is gone from the database (and its
    /// id may be given to a new site), or its removal failed and it stays.
    pub fn restore(&self, id: i64) {
        if let Ok(mut withdrawn) = self.withdrawn.lock() {
            withdrawn.remove(&id);
        }
        self.invalidate();
    }

    fn is_withdrawn(&self, id: i64) -> bool {
        self.withdrawn.lock().is_ok_and(|w| w.contains(&id))
    }

    /// Counts feedback refused for `site_id` because it came from `origin`.
    /// In memory until the next [`Self::write_refusals`]; keyed by sites
    /// that exist, each tally bounded, so its memory is bounded by their
    /// number whatever clients send.
    pub fn note_rejected(&self, site_id: i64, origin: &str, now_ms: i64) {
        let Ok(mut all) = self.rejected.lock() else {
            return;
        };
        all.entry(site_id)
            .or_insert_with(|| RefusalTally::new(site_id))
            .add(origin, now_ms);
    }

    /// Counts feedback refused because no site has `key` (syntactically a
    /// key, so short and plain), sent from `origin` if the browser said.
    pub fn note_unknown(&self, key: &str, origin: Option<&str>, now_ms: i64) {
        let label = match origin {
            Some(origin) => format!("{key} from {origin}"),
            None => format!("{key} (no Origin header)"),
        };
        if let Ok(mut tally) = self.unknown.lock() {
            tally.add(&label, now_ms);
        }
    }

    /// Feedback this collector refused in the 24 hours before `now_ms`
    /// because no site has the key it named, with the latest keys and
    /// origins: a snippet with a mistyped key, or one left on a page after
    /// its site was removed, loses every customer's words unseen otherwise.
    pub fn unknown_keys(&self, now_ms: i64) -> RejectedOrigins {
        self.unknown
            .lock()
            .map(|tally| tally.within_day(now_ms))
            .unwrap_or_default()
            .into()
    }

    /// Writes the refusals counted since the last call. A failed write
    /// keeps them for the next.
    pub async fn write_refusals(&self, now_ms: i64) -> Result<(), StoreError> {
        let tallies: Vec<RefusalTally> = match self.rejected.lock() {
            Ok(mut all) => all.drain().map(|(_, tally)| tally).collect(),
            Err(_) => return Ok(()),
        };
        if tallies.is_empty() {
            return Ok(());
        }
        let result = self.store.record_refusals(tallies.clone(), now_ms).await;
        if result.is_err()
            && let Ok(mut all) = self.rejected.lock()
        {
            for tally in tallies {
                all.entry(tally.site_id)
                    .or_insert_with(|| RefusalTally::new(tally.site_id))
                    .merge(tally);
            }
        }
        result
    }

    /// Refusals for each of `site_ids` in the 24 hours before `now_ms`: what
    /// is stored, by every collector, and what this one has not written yet.
    pub async fn rejected_origins(
        &self,
        site_ids: &[i64],
        now_ms: i64,
    ) -> Result<HashMap<i64, RejectedOrigins>, StoreError> {
        let mut all = self.store.refusals(site_ids.to_vec(), now_ms).await?;
        if let Ok(pending) = self.rejected.lock() {
            for id in site_ids {
                if let Some(tally) = pending.get(id) {
                    all.entry(*id).or_default().merge(tally.within_day(now_ms));
                }
            }
        }
        Ok(all
            .into_iter()
            .map(|(id, refused)| (id, refused.into()))
            .collect())
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
        Ok(self
            .sites()
            .await?
            .iter()
            .find(|s| s.key == key && !self.is_withdrawn(s.id))
            .cloned())
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
    async fn refusals_count_before_and_after_they_are_written_and_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let store = Store::open(&path).unwrap();
        let site = store
            .add_site(
                crate::store::NewSite {
                    name: "Shop".into(),
                    origins: Vec::new(),
                },
                0,
            )
            .await
            .unwrap();
        let sites = SiteDirectory::new(store.clone());
        let t = 1_800_000_000_000;
        for i in 0..3 {
            sites.note_rejected(site.id, "https://typo.example", t + i);
        }
        let seen = |sites: SiteDirectory, now| async move {
            sites
                .rejected_origins(&[site.id, 999], now)
                .await
                .unwrap()
                .remove(&site.id)
                .unwrap_or_default()
        };
        // Not written yet: counted from memory.
        assert_eq!(seen(sites.clone(), t + 10).await.last_day, 3);
        sites.write_refusals(t + 10).await.unwrap();
        sites.note_rejected(site.id, "https://other.example", t + 20);
        let both = seen(sites.clone(), t + 30).await;
        assert_eq!(both.last_day, 4);
        assert_eq!(
            both.origins,
            vec!["https://other.example", "https://typo.example"]
        );
        sites.write_refusals(t + 30).await.unwrap();

        // Withdrawn while it is removed: unknown to ingest, then known
        // again once restored (its removal failed, or its id was reused).
        assert!(sites.by_key(&site.key).await.unwrap().is_some());
        sites.withdraw(site.id);
        assert!(sites.by_key(&site.key).await.unwrap().is_none());
        assert!(
            sites.by_id(site.id).await.unwrap().is_some(),
            "the console still shows it"
        );
        sites.restore(site.id);
        assert!(sites.by_key(&site.key).await.unwrap().is_some());
        store.shutdown().await;

        let reopened = Store::open(&path).unwrap();
        let fresh = SiteDirectory::new(reopened.clone());
        assert_eq!(seen(fresh.clone(), t + 40).await, both);
        // A day on, none of it counts.
        let later = t + 25 * crate::store::refusals::HOUR_MS;
        assert_eq!(seen(fresh, later).await, RejectedOrigins::default());
        reopened.shutdown().await;
    }

    #[tokio::test]
    async fn unknown_keys_are_counted_with_the_latest_few_for_a_day() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).unwrap();
        let sites = SiteDirectory::new(store.clone());
        let t = 1_800_000_000_000;
        assert_eq!(sites.unknown_keys(t), RejectedOrigins::default());
        // A flood of made-up keys keeps a count and the latest few labels.
        for i in 0..1_000 {
            sites.note_unknown(&format!("site_{i:016}"), Some("https://a.example"), t + i);
        }
        sites.note_unknown("site_typo", None, t + 2_000);
        let seen = sites.unknown_keys(t + 3_000);
        assert_eq!(seen.last_day, 1_001);
        assert_eq!(seen.origins.len(), crate::store::refusals::ORIGINS_KEPT);
        assert_eq!(seen.origins[0], "site_typo (no Origin header)");
        assert_eq!(
            seen.origins[1],
            "site_0000000000000999 from https://a.example"
        );
        let later = t + 25 * crate::store::refusals::HOUR_MS;
        assert_eq!(sites.unknown_keys(later), RejectedOrigins::default());
        store.shutdown().await;
    }
}
