//! Token-bucket rate limiting, in memory.
//!
//! Each key (a client network, a site, a sign-in tag) has a bucket holding
//! up to `burst` tokens that refills continuously. A burst of exactly
//! `burst` requests passes, then one more per refill interval.
//!
//! Memory is bounded whatever the keys: keys are fixed-size values (callers
//! hash anything a client chooses), and each shard holds at most
//! [`SHARD_CAP`] buckets. Full buckets behave exactly like missing ones and
//! are dropped first; if a flood of distinct keys still fills a shard, the
//! least throttled half goes, so the keys an attacker is actually being
//! slowed down on are the ones kept.

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const SHARDS: usize = 16;
/// Buckets per shard before idle ones are looked for.
const PRUNE_AT: usize = 1_024;
/// Buckets per shard, at most.
const SHARD_CAP: usize = 4_096;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decision {
    Allowed,
    Limited { retry_after: Duration },
}

impl Decision {
    pub fn retry_after(self) -> Option<Duration> {
        match self {
            Decision::Allowed => None,
            Decision::Limited { retry_after } => Some(retry_after),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

#[derive(Debug)]
struct Shard<K> {
    buckets: HashMap<K, Bucket>,
    /// Size at which the next prune runs. Grows past the live set so a
    /// flood of active keys costs amortised O(1) per request, not a scan.
    prune_at: usize,
}

#[derive(Debug)]
pub struct RateLimiter<K> {
    capacity: f64,
    per_second: f64,
    shards: Vec<Mutex<Shard<K>>>,
}

impl<K: Hash + Eq + Copy> RateLimiter<K> {
    /// `None` when `per_minute` is 0, which disables the limit.
    pub fn per_minute(per_minute: u32) -> Option<Self> {
        Self::with_rate(per_minute, f64::from(per_minute) / 60.0)
    }

    /// A limit that is always on: `burst` (at least 1) tokens regaining one
    /// every `refill`.
    pub fn steady(burst: u32, refill: Duration) -> Self {
        RateLimiter {
            capacity: f64::from(burst.max(1)),
            per_second: 1.0 / refill.as_secs_f64().max(0.001),
            shards: Self::empty_shards(),
        }
    }

    fn empty_shards() -> Vec<Mutex<Shard<K>>> {
        (0..SHARDS)
            .map(|_| {
                Mutex::new(Shard {
                    buckets: HashMap::new(),
                    prune_at: PRUNE_AT,
                })
            })
            .collect()
    }

    fn with_rate(burst: u32, per_second: f64) -> Option<Self> {
        (burst > 0).then(|| RateLimiter {
            capacity: f64::from(burst),
            per_second,
            shards: Self::empty_shards(),
        })
    }

    /// The most buckets this limiter ever holds.
    pub const fn max_keys() -> usize {
        SHARDS * SHARD_CAP
    }

    /// How long a bucket takes to refill from empty: state older than this
    /// no longer matters.
    pub fn memory(&self) -> Duration {
        Duration::from_secs_f64(self.capacity / self.per_second)
    }

    fn shard(&self, key: &K) -> std::sync::MutexGuard<'_, Shard<K>> {
        let mut hasher = DefaultHasher::new();
        key.hash(&mut hasher);
        let shard = &self.shards[(hasher.finish() as usize) % SHARDS];
        // A poisoned lock only means another request panicked mid-update;
        // the map itself is still usable.
        shard.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn tokens_at(&self, bucket: &Bucket, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        (bucket.tokens + elapsed * self.per_second).min(self.capacity)
    }

    fn decide(&self, tokens: f64) -> Decision {
        if tokens >= 1.0 {
            Decision::Allowed
        } else {
            Decision::Limited {
                retry_after: Duration::from_secs_f64((1.0 - tokens) / self.per_second),
            }
        }
    }

    pub fn check(&self, key: &K) -> Decision {
        self.check_at(key, Instant::now())
    }

    /// Takes a token for `key` if one is there.
    pub fn check_at(&self, key: &K, now: Instant) -> Decision {
        let mut shard = self.shard(key);
        if shard.buckets.len() >= shard.prune_at {
            self.prune(&mut shard, now);
        }
        let bucket = shard.buckets.entry(*key).or_insert(Bucket {
            tokens: self.capacity,
            updated: now,
        });
        let tokens = self.tokens_at(bucket, now);
        let decision = self.decide(tokens);
        bucket.tokens = if decision == Decision::Allowed {
            tokens - 1.0
        } else {
            tokens
        };
        bucket.updated = now;
        decision
    }

    /// Gives back a token [`check_at`](Self::check_at) took for `key`, up
    /// to the burst. A key whose bucket is gone (full, or pruned) already
    /// behaves as full, so nothing is stored for it.
    pub fn refund_at(&self, key: &K, now: Instant) {
        let mut shard = self.shard(key);
        if let Some(bucket) = shard.buckets.get_mut(key) {
            bucket.tokens = (self.tokens_at(bucket, now) + 1.0).min(self.capacity);
            bucket.updated = now;
        }
    }

    /// What [`check_at`](Self::check_at) would answer, without taking a
    /// token or storing anything (an unknown key is simply allowed).
    pub fn peek_at(&self, key: &K, now: Instant) -> Decision {
        let shard = self.shard(key);
        match shard.buckets.get(key) {
            Some(bucket) => self.decide(self.tokens_at(bucket, now)),
            None => Decision::Allowed,
        }
    }

    /// Drops buckets that have refilled completely (they behave exactly
    /// like a missing one). If the shard is still at its cap, keeps only the
    /// more throttled half: under a flood of distinct keys, memory matters
    /// more than the precise state of keys that barely started.
    fn prune(&self, shard: &mut Shard<K>, now: Instant) {
        shard
            .buckets
            .retain(|_, b| self.tokens_at(b, now) < self.capacity);
        if shard.buckets.len() >= SHARD_CAP {
            let mut levels: Vec<f64> = shard
                .buckets
                .values()
                .map(|b| self.tokens_at(b, now))
                .collect();
            let middle = levels.len() / 2;
            let (_, median, _) = levels.select_nth_unstable_by(middle, f64::total_cmp);
            let median = *median;
            // At most half the levels lie strictly below the median.
            shard.buckets.retain(|_, b| self.tokens_at(b, now) < median);
        }
        shard.prune_at = (shard.buckets.len() * 2).clamp(PRUNE_AT, SHARD_CAP);
    }

    /// Buckets held now, over all shards.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).buckets.len())
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
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
    fn peeking_takes_no_token_and_stores_nothing() {
        let limiter = RateLimiter::steady(1, Duration::from_secs(60));
        let t0 = Instant::now();
        assert_eq!(limiter.peek_at(&7u32, t0), Decision::Allowed);
        assert!(limiter.is_empty());
        assert_eq!(limiter.check_at(&7u32, t0), Decision::Allowed);
        assert!(limiter.peek_at(&7u32, t0).retry_after().is_some());
    }

    #[test]
    fn a_refund_gives_back_one_token_never_more_than_the_burst() {
        let limiter = RateLimiter::steady(2, Duration::from_secs(60));
        let t0 = Instant::now();
        limiter.refund_at(&7u32, t0);
        assert!(limiter.is_empty(), "a full bucket stays unstored");
        for _ in 0..2 {
            assert_eq!(limiter.check_at(&7u32, t0), Decision::Allowed);
        }
        assert!(limiter.peek_at(&7u32, t0).retry_after().is_some());
        limiter.refund_at(&7u32, t0);
        assert_eq!(limiter.check_at(&7u32, t0), Decision::Allowed);
        assert!(limiter.peek_at(&7u32, t0).retry_after().is_some());
        // Refunds past the burst are lost, as unused tokens are.
        for _ in 0..5 {
            limiter.refund_at(&7u32, t0);
        }
        for _ in 0..2 {
            assert_eq!(limiter.check_at(&7u32, t0), Decision::Allowed);
        }
        assert!(limiter.check_at(&7u32, t0).retry_after().is_some());
    }

    #[test]
    fn idle_buckets_are_pruned_under_a_flood_of_keys() {
        let limiter = RateLimiter::per_minute(60).unwrap();
        let t0 = Instant::now();
        for i in 0..(PRUNE_AT * SHARDS * 2) {
            limiter.check_at(&i, t0);
        }
        let later = t0 + Duration::from_secs(120);
        for i in 0..(PRUNE_AT * SHARDS) {
            limiter.check_at(&(i + 1_000_000), later);
        }
        // Idle keys from the first flood are gone.
        let stale = (0..100).filter(|i| limiter.peek_at(i, later) != Decision::Allowed);
        assert_eq!(stale.count(), 0);
        assert!(limiter.len() <= 2 * PRUNE_AT * SHARDS, "{}", limiter.len());
    }

    #[test]
    fn a_flood_of_distinct_keys_stays_bounded_and_keeps_the_throttled_ones() {
        let limiter = RateLimiter::steady(5, Duration::from_secs(180));
        let t0 = Instant::now();
        // The keys an attacker is being slowed down on.
        for key in 0..50u64 {
            for _ in 0..5 {
                limiter.check_at(&key, t0);
            }
        }
        // A flood of one-shot keys, far past the cap, meant to flush them.
        for i in 0..(RateLimiter::<u64>::max_keys() as u64 * 4) {
            limiter.check_at(&(1_000_000 + i), t0);
        }
        assert!(limiter.len() <= RateLimiter::<u64>::max_keys());
        for key in 0..50u64 {
            assert!(
                limiter.check_at(&key, t0).retry_after().is_some(),
                "key {key} was forgotten"
            );
        }
    }
}
