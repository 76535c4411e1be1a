//! Token-bucket rate limiting, in memory.
//!
//! Each key (a client IP, a site) has a bucket holding up to `per_minute`
//! tokens that refills continuously at `per_minute` per minute. A burst of
//! exactly `per_minute` requests passes, then one more per refill interval.
//! The map is sharded so concurrent requests rarely contend, and pruned so a
//! flood of distinct (spoofed) keys cannot grow it without bound.

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const SHARDS: usize = 16;
/// Entries per shard before full (idle) buckets are dropped.
const PRUNE_AT: usize = 8_192;
/// Entries per shard past which the shard is reset outright.
const HARD_CAP: usize = 65_536;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decision {
    Allowed,
    Limited { retry_after: Duration },
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

#[derive(Debug)]
struct Shard<K> {
    buckets: HashMap<K, Bucket>,
    /// Size at which the next prune runs. Doubles past the live set so a
    /// flood of active keys costs amortised O(1) per request, not a scan.
    prune_at: usize,
}

#[derive(Debug)]
pub struct RateLimiter<K> {
    capacity: f64,
    per_second: f64,
    shards: Vec<Mutex<Shard<K>>>,
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    /// `None` when `per_minute` is 0, which disables the limit.
    pub fn per_minute(per_minute: u32) -> Option<Self> {
        Self::with_rate(per_minute, f64::from(per_minute) / 60.0)
    }

    /// A bucket of `burst` tokens regaining one every `refill`; `None` when
    /// `burst` is 0.
    pub fn with_refill(burst: u32, refill: Duration) -> Option<Self> {
        Self::with_rate(burst, 1.0 / refill.as_secs_f64().max(0.001))
    }

    fn with_rate(burst: u32, per_second: f64) -> Option<Self> {
        (burst > 0).then(|| RateLimiter {
            capacity: f64::from(burst),
            per_second,
            shards: (0..SHARDS)
                .map(|_| {
                    Mutex::new(Shard {
                        buckets: HashMap::new(),
                        prune_at: PRUNE_AT,
                    })
                })
                .collect(),
        })
    }

    pub fn check(&self, key: &K) -> Decision {
        self.check_at(key, Instant::now())
    }

    /// [`check`](Self::check) at an explicit time, for tests.
    pub fn check_at(&self, key: &K, now: Instant) -> Decision {
        let mut hasher = DefaultHasher::new();
        key.hash(&mut hasher);
        let shard = &self.shards[(hasher.finish() as usize) % SHARDS];
        // A poisoned lock only means another request panicked mid-update;
        // the map itself is still usable.
        let mut shard = shard.lock().unwrap_or_else(|p| p.into_inner());
        if shard.buckets.len() >= shard.prune_at {
            self.prune(&mut shard, now);
        }
        let bucket = shard.buckets.entry(key.clone()).or_insert(Bucket {
            tokens: self.capacity,
            updated: now,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.capacity);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Decision::Allowed
        } else {
            let wait = (1.0 - bucket.tokens) / self.per_second;
            Decision::Limited {
                retry_after: Duration::from_secs_f64(wait),
            }
        }
    }

    /// Drops buckets that have refilled completely (they behave exactly
    /// like a missing one). Past the hard cap the shard is reset: under a
    /// flood of distinct keys, memory matters more than precise limits.
    fn prune(&self, shard: &mut Shard<K>, now: Instant) {
        let full_after = self.capacity / self.per_second;
        shard
            .buckets
            .retain(|_, b| now.saturating_duration_since(b.updated).as_secs_f64() < full_after);
        if shard.buckets.len() >= HARD_CAP {
            shard.buckets.clear();
        }
        shard.prune_at = (shard.buckets.len() * 2).max(PRUNE_AT);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_disables_the_limit() {
        assert!(RateLimiter::<u32>::per_minute(0).is_none());
    }

    #[test]
    fn a_burst_of_exactly_the_limit_passes_then_refills_steadily() {
        let limiter = RateLimiter::per_minute(6).unwrap();
        let t0 = Instant::now();
        for _ in 0..6 {
            assert_eq!(limiter.check_at(&"ip", t0), Decision::Allowed);
        }
        match limiter.check_at(&"ip", t0) {
            Decision::Limited { retry_after } => {
                assert!(
                    (retry_after.as_secs_f64() - 10.0).abs() < 0.01,
                    "{retry_after:?}"
                )
            }
            Decision::Allowed => panic!("the seventh request in a burst must be limited"),
        }
        // 6 per minute = one every 10 s.
        assert!(matches!(
            limiter.check_at(&"ip", t0 + Duration::from_secs(9)),
            Decision::Limited { .. }
        ));
        assert_eq!(
            limiter.check_at(&"ip", t0 + Duration::from_secs(10)),
            Decision::Allowed
        );
        // Other keys are independent.
        assert_eq!(limiter.check_at(&"other", t0), Decision::Allowed);
    }

    #[test]
    fn idle_buckets_are_pruned_under_a_flood_of_keys() {
        let limiter = RateLimiter::per_minute(60).unwrap();
        let t0 = Instant::now();
        for i in 0..(PRUNE_AT * SHARDS * 2) {
            limiter.check_at(&i, t0);
        }
        let later = t0 + Duration::from_secs(120);
        for i in 0..(3 * PRUNE_AT * SHARDS) {
            limiter.check_at(&(i + 1_000_000), later);
        }
        let total: usize = limiter
            .shards
            .iter()
            .map(|s| s.lock().unwrap().buckets.len())
            .sum();
        // Idle keys from the first flood are gone; only the second remains.
        assert!(total <= 3 * PRUNE_AT * SHARDS, "{total}");
        let stale = (0..100).filter(|i| {
            limiter
                .shards
                .iter()
                .any(|s| s.lock().unwrap().buckets.contains_key(i))
        });
        assert_eq!(stale.count(), 0);
    }
}
