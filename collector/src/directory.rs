//! In-memory view of the `sites` table for the hot ingest path.
//!
//! Sites change rarely (`earshot site add` may run in another process), so
//! the list is reloaded at most every [`REFRESH`]: a new site works within
//! seconds without a restart, and ingest costs no database read.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::store::{Site, Store, StoreError};

const REFRESH: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct SiteDirectory {
    store: Store,
    cache: Arc<RwLock<Snapshot>>,
    refresh: Arc<tokio::sync::Mutex<()>>,
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
