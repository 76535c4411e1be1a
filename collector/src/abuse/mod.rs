//! Keeping the public ingest endpoint calm under abuse: who the client is,
//! how often it may submit, and what looks like a bot.

mod client_ip;
mod connections;
mod ip_hash;
mod limits;
mod rate_limit;
mod spam;

pub use client_ip::{CidrError, ClientNet, IpNet, TrustedProxies};
pub use connections::{Admission, Connections, Slot};
pub use ip_hash::IpHasher;
pub use limits::Limits;
pub use rate_limit::{Decision, RateLimiter};
pub use spam::{SpamPolicy, SpamReason};

/// Everything the ingest path consults before storing a submission.
#[derive(Debug)]
pub struct Shield {
    pub per_ip: Option<RateLimiter<ClientNet>>,
    /// Keyed by site id.
    pub per_site: Option<RateLimiter<i64>>,
    pub proxies: TrustedProxies,
    pub ip_hasher: IpHasher,
    pub spam: SpamPolicy,
    /// Follow-ups from status pages, per client network (per entry, they
    /// are counted from the entry's timeline: `status_page::follow_up`).
    pub follow_ups_per_net: RateLimiter<ClientNet>,
}

/// Follow-ups one client network may send at once, then one per interval.
const FOLLOW_UP_NET_BURST: u32 = 10;
const FOLLOW_UP_NET_REFILL: std::time::Duration = std::time::Duration::from_secs(60);

impl Shield {
    pub fn new(limits: &Limits, proxies: TrustedProxies, ip_hasher: IpHasher) -> Self {
        Shield {
            per_ip: RateLimiter::per_minute(limits.per_ip_per_minute),
            per_site: RateLimiter::per_minute(limits.per_site_per_minute),
            proxies,
            ip_hasher,
            spam: SpamPolicy {
                min_fill: limits.min_fill,
            },
            follow_ups_per_net: RateLimiter::steady(FOLLOW_UP_NET_BURST, FOLLOW_UP_NET_REFILL),
        }
    }
}
