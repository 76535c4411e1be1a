//! Sign-in throttling that slows password guessing without letting anyone
//! lock a colleague out (OWASP: lockout without denial of service, with
//! device cookies).
//!
//! An attempt from a browser that has never signed in to the account is
//! counted three ways, and refused if any is exhausted:
//! - per client network (a stuffing run over many accounts from one place);
//! - per account and client network (guessing one account from one place);
//! - per account, over all such browsers together: a much larger budget,
//!   the last line against guessing from a botnet.
//!
//! A browser holding a device cookie from an earlier sign-in to this very
//! account is counted only against that device, so an attacker exhausting
//! the other budgets from elsewhere cannot keep the owner out.
//!
//! Keys are keyed hashes of fixed size: an attacker's megabyte of "email"
//! costs the same 16 bytes as a real one, nothing typed is kept, and the
//! keys can be stored. Every attempt let through is recorded in the
//! database and replayed at start, so a restart resets nobody's budget;
//! one whose password proved right is refunded and its record deleted.

use std::collections::{HashSet, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use rand::Rng;
use sha2::Sha256;

use super::session::constant_time_eq;
use crate::abuse::{ClientNet, RateLimiter};

/// A keyed hash standing for one throttled thing.
pub type Tag = [u8; 16];

/// Attempts per client network, then one per interval.
const NET_BURST: u32 = 20;
const NET_REFILL: Duration = Duration::from_secs(30);
/// Attempts on one account from one client network.
const PAIR_BURST: u32 = 5;
const PAIR_REFILL: Duration = Duration::from_secs(3 * 60);
/// Attempts on one account from all browsers without its device cookie.
const ACCOUNT_BURST: u32 = 50;
const ACCOUNT_REFILL: Duration = Duration::from_secs(60);
/// Attempts from one trusted device.
const DEVICE_BURST: u32 = 10;
const DEVICE_REFILL: Duration = Duration::from_secs(3 * 60);

/// Requests for a reset link per client network. How many links one
/// account is sent is the store's to count (`ASKED_LINKS_PER_HOUR`), so
/// that it holds across collectors and restarts.
const RESET_NET_BURST: u32 = 10;
const RESET_NET_REFILL: Duration = Duration::from_secs(6 * 60);

/// How long a device cookie lasts.
pub const DEVICE_COOKIE_MAX_AGE: Duration = Duration::from_secs(365 * 24 * 3600);

/// Why an attempt was refused before the password was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    pub retry_after: Duration,
}

/// The keys one attempt counts against: `device` alone for a trusted
/// device, the other three otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Attempt {
    pub net: Option<Tag>,
    pub pair: Option<Tag>,
    pub account: Option<Tag>,
    pub device: Option<Tag>,
}

impl Attempt {
    pub fn is_trusted(&self) -> bool {
        self.device.is_some()
    }

    /// The keys in the order the record of attempts stores them: net,
    /// pair, account, device.
    pub fn columns(&self) -> [Option<&[u8]>; 4] {
        [&self.net, &self.pair, &self.account, &self.device]
            .map(|t| t.as_ref().map(|t| t.as_slice()))
    }
}

pub struct LoginThrottle {
    /// HMAC-SHA256 keyed with the server's throttle secret.
    keyed: Hmac<Sha256>,
    per_net: RateLimiter<Tag>,
    per_pair: RateLimiter<Tag>,
    per_account: RateLimiter<Tag>,
    per_device: RateLimiter<Tag>,
    /// "Forgot your password?" requests, apart from sign-ins so that
    /// someone who mistyped their password five times can still ask. In
    /// memory only: it guards the collector's work, not a password.
    reset_per_net: RateLimiter<Tag>,
    /// Which recorded attempts the budgets hold already.
    record: Mutex<Counted>,
}

/// Recorded attempts (every collector on a database records those it lets
/// through) already counted here: ours as we make them, others' as we
/// read them.
#[derive(Default)]
struct Counted {
    /// Read up to here (Unix ms); `None` before the first read.
    read_upto: Option<i64>,
    /// Attempts of the last [`OVERLAP_MS`] before `read_upto` and since:
    /// a commit may land a little after its time, so each read looks
    /// back that far and skips what is here.
    recent: HashSet<(i64, Attempt)>,
    order: VecDeque<(i64, Attempt)>,
}

/// How far back each read of the record looks again: further than a
/// sign-in takes to commit, plus the clock difference between
/// collectors one can expect under NTP.
const OVERLAP_MS: i64 = 2_000;
/// Recent attempts remembered at most; past it the oldest are forgotten,
/// and at worst counted twice (stricter, never laxer).
const RECENT_MAX: usize = 10_000;

impl std::fmt::Debug for LoginThrottle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LoginThrottle { secret: <redacted>, .. }")
    }
}

impl Counted {
    fn remember(&mut self, at: i64, attempt: Attempt) {
        if self.recent.insert((at, attempt.clone())) {
            self.order.push_back((at, attempt));
        }
        while self.order.len() > RECENT_MAX {
            if let Some(oldest) = self.order.pop_front() {
                self.recent.remove(&oldest);
            }
        }
    }

    fn forget_before(&mut self, at: i64) {
        while self.order.front().is_some_and(|(t, _)| *t < at) {
            if let Some(oldest) = self.order.pop_front() {
                self.recent.remove(&oldest);
            }
        }
    }
}

/// The address as an account key sees it: trimmed, case-folded, its
/// domain in Punycode (the account is found by either way of writing it,
/// so guesses in both ways count against one budget).
fn normalise(email: &str) -> String {
    crate::address::ascii_domain(email.trim()).to_lowercase()
}

impl LoginThrottle {
    pub fn new(secret: [u8; 32]) -> LoginThrottle {
        // HMAC pads a key shorter than its 64-byte block with zeros; doing
        // it here gives the fixed-size key its infallible constructor takes.
        let mut key = [0u8; 64];
        key[..32].copy_from_slice(&secret);
        LoginThrottle {
            keyed: <Hmac<Sha256> as KeyInit>::new(&key.into()),
            per_net: RateLimiter::steady(NET_BURST, NET_REFILL),
            per_pair: RateLimiter::steady(PAIR_BURST, PAIR_REFILL),
            per_account: RateLimiter::steady(ACCOUNT_BURST, ACCOUNT_REFILL),
            per_device: RateLimiter::steady(DEVICE_BURST, DEVICE_REFILL),
            reset_per_net: RateLimiter::steady(RESET_NET_BURST, RESET_NET_REFILL),
            record: Mutex::new(Counted::default()),
        }
    }

    /// From when to read the record of attempts at `now_ms`: everything
    /// the budgets remember at first, then since the last read (with
    /// `OVERLAP_MS` to spare).
    pub fn read_from(&self, now_ms: i64) -> i64 {
        let memory = i64::try_from(self.memory().as_millis()).unwrap_or(i64::MAX);
        match self.record.lock().ok().and_then(|c| c.read_upto) {
            Some(upto) => upto - OVERLAP_MS,
            None => now_ms.saturating_sub(memory),
        }
    }

    /// Counts the recorded attempts (read from [`read_from`](Self::read_from)
    /// at `now_ms`, which is `now`) that the budgets do not hold yet: after
    /// a restart, all of them; with several collectors, the others'.
    pub fn catch_up(&self, records: Vec<(i64, Attempt)>, now_ms: i64, now: Instant) {
        let Ok(mut counted) = self.record.lock() else {
            return;
        };
        for (at, attempt) in records {
            if counted.recent.contains(&(at, attempt.clone())) {
                continue;
            }
            let ago = Duration::from_millis(u64::try_from(now_ms - at).unwrap_or(0));
            self.replay(&attempt, now.checked_sub(ago).unwrap_or(now));
            counted.remember(at, attempt);
        }
        counted.read_upto = Some(counted.read_upto.map_or(now_ms, |u| u.max(now_ms)));
        counted.forget_before(now_ms - 2 * OVERLAP_MS);
    }

    /// Notes an attempt this collector lets through and is about to record
    /// at `at`, so reading it back does not count it again.
    pub fn counted(&self, at: i64, attempt: &Attempt) {
        if let Ok(mut counted) = self.record.lock() {
            counted.remember(at, attempt.clone());
        }
    }

    /// Recorded attempts older than this no longer affect any budget.
    pub fn memory(&self) -> Duration {
        [
            &self.per_net,
            &self.per_pair,
            &self.per_account,
            &self.per_device,
        ]
        .iter()
        .map(|l| l.memory())
        .max()
        .unwrap_or_default()
    }

    fn tag(&self, scope: &[u8], parts: &[&[u8]]) -> Tag {
        let mut mac = self.keyed.clone();
        mac.update(scope);
        for part in parts {
            // Length-prefixed, so no two different lists hash alike.
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        let mut tag = [0u8; 16];
        tag.copy_from_slice(&mac.finalize().into_bytes()[..16]);
        tag
    }

    fn account_tag(&self, email: &str) -> Tag {
        self.tag(b"account", &[normalise(email).as_bytes()])
    }

    /// The keys an attempt on `email` from `ip` counts against, given the
    /// browser's device cookie (if any).
    pub fn attempt(&self, email: &str, ip: IpAddr, device_cookie: Option<&str>) -> Attempt {
        let account = self.account_tag(email);
        if let Some(device) = device_cookie.and_then(|c| self.trusted_device(c, &account)) {
            return Attempt {
                net: None,
                pair: None,
                account: None,
                device: Some(device),
            };
        }
        let net = ClientNet::of(ip).octets();
        Attempt {
            net: Some(self.tag(b"net", &[&net])),
            pair: Some(self.tag(b"pair", &[&account, &net])),
            account: Some(account),
            device: None,
        }
    }

    fn budgets<'a>(&'a self, attempt: &'a Attempt) -> [(&'a RateLimiter<Tag>, Option<&'a Tag>); 4] {
        [
            (&self.per_net, attempt.net.as_ref()),
            (&self.per_pair, attempt.pair.as_ref()),
            (&self.per_account, attempt.account.as_ref()),
            (&self.per_device, attempt.device.as_ref()),
        ]
    }

    /// Lets the attempt through, taking from every budget it counts
    /// against, or refuses it taking nothing. Nothing is stored for a
    /// refused attempt, so a flood that is being refused costs no memory.
    pub fn admit(&self, attempt: &Attempt, now: Instant) -> Result<(), Throttled> {
        let wait = self
            .budgets(attempt)
            .iter()
            .filter_map(|(limiter, key)| key.and_then(|k| limiter.peek_at(k, now).retry_after()))
            .max();
        if let Some(retry_after) = wait {
            return Err(Throttled { retry_after });
        }
        self.replay(attempt, now);
        Ok(())
    }

    /// Gives back what an admitted attempt took, once its password proved
    /// right: a sign-in is not a guess, so an office signing in for the
    /// first time from behind one address is not held up, and its owner's
    /// typo earlier costs no more than the typo. Guessing gains nothing: a
    /// guess still costs, and only a right password refunds its own
    /// attempt.
    pub fn refund(&self, attempt: &Attempt, now: Instant) {
        for (limiter, key) in self.budgets(attempt) {
            if let Some(key) = key {
                limiter.refund_at(key, now);
            }
        }
    }

    /// Counts an attempt that was let through (at start, from the record).
    pub fn replay(&self, attempt: &Attempt, at: Instant) {
        for (limiter, key) in self.budgets(attempt) {
            if let Some(key) = key {
                limiter.check_at(key, at);
            }
        }
    }

    /// Whether a request for a reset link from `ip` may be answered at
    /// all: `Err` when its network asked too often.
    pub fn reset_request(&self, ip: IpAddr, now: Instant) -> Result<(), Throttled> {
        let net = self.tag(b"reset-net", &[&ClientNet::of(ip).octets()]);
        match self.reset_per_net.check_at(&net, now).retry_after() {
            Some(retry_after) => Err(Throttled { retry_after }),
            None => Ok(()),
        }
    }

    fn device_mac(&self, account: &Tag, device: &Tag) -> Tag {
        self.tag(b"device", &[account, device])
    }

    /// A new device cookie value for a browser that just signed in to
    /// `email`: the account's tag, a random device id and their MAC.
    pub fn new_device_cookie(&self, email: &str) -> String {
        let account = self.account_tag(email);
        let mut device = [0u8; 16];
        rand::rng().fill_bytes(&mut device);
        let mut raw = Vec::with_capacity(48);
        raw.extend_from_slice(&account);
        raw.extend_from_slice(&device);
        raw.extend_from_slice(&self.device_mac(&account, &device));
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// The device id in `cookie`, if the cookie is ours and was issued for
    /// `account`.
    fn trusted_device(&self, cookie: &str, account: &Tag) -> Option<Tag> {
        if cookie.len() != 64 {
            return None;
        }
        let raw = URL_SAFE_NO_PAD.decode(cookie).ok()?;
        let (for_account, rest) = raw.split_at_checked(16)?;
        let (device, mac) = rest.split_at_checked(16)?;
        let device: Tag = device.try_into().ok()?;
        let genuine = constant_time_eq(for_account, account)
            && constant_time_eq(mac, &self.device_mac(account, &device));
        genuine.then_some(device)
    }

    /// Whether `cookie` is a valid device cookie for `email`.
    pub fn is_device_of(&self, cookie: &str, email: &str) -> bool {
        self.trusted_device(cookie, &self.account_tag(email))
            .is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn throttle() -> LoginThrottle {
        LoginThrottle::new([7; 32])
    }

    #[test]
    fn guessing_one_account_from_one_network_stops_after_five() {
        let t = throttle();
        let now = Instant::now();
        let attempt = t.attempt("Bo@Example.com ", ip("203.0.113.5"), None);
        for _ in 0..PAIR_BURST {
            assert!(t.admit(&attempt, now).is_ok());
        }
        let refused = t.admit(&attempt, now).unwrap_err();
        assert!(refused.retry_after > Duration::from_secs(170));
        // The same account from another network is still allowed.
        let elsewhere = t.attempt("bo@example.com", ip("198.51.100.9"), None);
        assert!(t.admit(&elsewhere, now).is_ok());
    }

    #[test]
    fn guesses_at_an_international_domain_written_either_way_count_once() {
        let t = throttle();
        let now = Instant::now();
        let forms = ["jan@müller.example", "Jan@XN--MLLER-KVA.example"];
        for n in 0..PAIR_BURST {
            let attempt = t.attempt(forms[n as usize % 2], ip("203.0.113.5"), None);
            assert!(t.admit(&attempt, now).is_ok());
        }
        for form in forms {
            let attempt = t.attempt(form, ip("203.0.113.5"), None);
            assert!(t.admit(&attempt, now).is_err(), "{form}");
        }
    }

    #[test]
    fn the_owners_device_gets_in_while_the_account_is_hammered_from_everywhere() {
        let t = throttle();
        let now = Instant::now();
        let owner_cookie = t.new_device_cookie("bo@example.com");
        // Guesses from 60 networks exhaust the untrusted budget.
        for n in 0..60u8 {
            let attempt = t.attempt("bo@example.com", ip(&format!("192.0.2.{n}")), None);
            let _ = t.admit(&attempt, now);
        }
        let fresh = t.attempt("bo@example.com", ip("198.51.100.1"), None);
        assert!(t.admit(&fresh, now).is_err(), "the account budget held");
        let owner = t.attempt("bo@example.com", ip("192.0.2.1"), Some(&owner_cookie));
        assert!(owner.is_trusted());
        assert!(t.admit(&owner, now).is_ok());
    }

    #[test]
    fn a_device_cookie_counts_only_for_its_own_account_and_cannot_be_forged() {
        let t = throttle();
        let cookie = t.new_device_cookie("bo@example.com");
        assert!(t.is_device_of(&cookie, " BO@example.com"));
        assert!(!t.is_device_of(&cookie, "cy@example.com"));
        // Another server's cookie, and a tampered one.
        assert!(!LoginThrottle::new([8; 32]).is_device_of(&cookie, "bo@example.com"));
        let mut tampered = cookie.clone().into_bytes();
        tampered[40] = if tampered[40] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert!(!t.is_device_of(&tampered, "bo@example.com"));
        assert!(!t.is_device_of("", "bo@example.com"));
        assert!(!t.is_device_of(&"x".repeat(10_000), "bo@example.com"));
    }

    #[test]
    fn refused_attempts_store_nothing_and_the_key_size_is_fixed() {
        let t = throttle();
        let now = Instant::now();
        let huge = format!("{}@example.com", "a".repeat(2_000_000));
        let net = ip("203.0.113.7");
        for _ in 0..NET_BURST {
            let attempt = t.attempt(&format!("{}@example.com", rand_word()), net, None);
            assert!(t.admit(&attempt, now).is_ok());
        }
        let before = t.per_account.len() + t.per_pair.len();
        for _ in 0..100 {
            assert!(t.admit(&t.attempt(&huge, net, None), now).is_err());
        }
        assert_eq!(t.per_account.len() + t.per_pair.len(), before);
    }

    fn rand_word() -> String {
        crate::ids::secret(12)
    }

    #[test]
    fn attempts_read_back_count_once_and_our_own_not_again() {
        let here = throttle();
        let now = Instant::now();
        let attempt = here.attempt("bo@example.com", ip("203.0.113.5"), None);
        let at = 1_000_000;
        // Nothing recorded yet: the first read covers the throttle's memory.
        assert!(here.read_from(at) <= at - 50 * 60 * 1000);
        here.catch_up(Vec::new(), at, now);
        // Two attempts here (recorded, then read back), three by another
        // collector, read twice over the overlap.
        for i in 0..2 {
            here.admit(&attempt, now).unwrap();
            here.counted(at + i, &attempt);
        }
        let theirs: Vec<(i64, Attempt)> = (2..5).map(|i| (at + i, attempt.clone())).collect();
        let mut record: Vec<(i64, Attempt)> = (0..2).map(|i| (at + i, attempt.clone())).collect();
        record.extend(theirs.clone());
        here.catch_up(record.clone(), at + 10, now);
        assert!(here.read_from(at + 10) <= at + 10 - OVERLAP_MS);
        here.catch_up(record, at + 20, now);
        // Five in all: the pair's budget is spent, not overspent by replays.
        assert_eq!(PAIR_BURST, 5);
        assert!(here.admit(&attempt, now).is_err());
        let fresh = throttle();
        fresh.catch_up(theirs, at + 10, now);
        for _ in 0..2 {
            fresh.admit(&attempt, now).unwrap();
        }
        assert!(fresh.admit(&attempt, now).is_err());
    }

    #[test]
    fn sign_ins_that_succeed_leave_every_budget_as_it_was() {
        let t = throttle();
        let now = Instant::now();
        let office = ip("203.0.113.5");
        // Far more first sign-ins from one network than it may guess.
        for n in 0..(2 * NET_BURST) {
            let attempt = t.attempt(&format!("staff{n}@example.com"), office, None);
            assert!(t.admit(&attempt, now).is_ok(), "sign-in {n}");
            t.refund(&attempt, now);
        }
        // The guesses are still counted in full.
        let guess = t.attempt("bo@example.com", office, None);
        for _ in 0..PAIR_BURST {
            assert!(t.admit(&guess, now).is_ok());
        }
        assert!(t.admit(&guess, now).is_err());
    }

    #[test]
    fn reset_requests_are_limited_per_network_apart_from_sign_ins() {
        let t = throttle();
        let now = Instant::now();
        let office = ip("203.0.113.5");
        // Five wrong passwords do not stop the owner asking for a link.
        let guess = t.attempt("bo@example.com", office, None);
        for _ in 0..PAIR_BURST {
            t.admit(&guess, now).unwrap();
        }
        assert_eq!(t.reset_request(office, now), Ok(()));
        // One network asking about many addresses is stopped; another is not.
        let mut answered = 0;
        for _ in 0..(2 * RESET_NET_BURST) {
            if t.reset_request(ip("192.0.2.77"), now).is_ok() {
                answered += 1;
            }
        }
        assert_eq!(answered, RESET_NET_BURST);
        assert_eq!(t.reset_request(ip("198.51.100.1"), now), Ok(()));
    }

    #[test]
    fn replaying_the_record_restores_the_budgets() {
        let t = throttle();
        let now = Instant::now();
        let attempt = t.attempt("bo@example.com", ip("203.0.113.5"), None);
        let restarted = LoginThrottle::new([7; 32]);
        for _ in 0..PAIR_BURST {
            t.admit(&attempt, now).unwrap();
            restarted.replay(&attempt, now);
        }
        assert!(restarted.admit(&attempt, now).is_err());
        assert!(restarted.memory() >= Duration::from_secs(50 * 60));
    }
}
