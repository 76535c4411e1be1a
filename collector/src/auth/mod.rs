//! Staff authentication: passwords, sessions, login throttling and the
//! one-time setup link of a fresh installation.

pub mod password;
pub mod session;

use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::abuse::{Decision, RateLimiter};
pub use password::{Password, PasswordError};
pub use session::{SessionId, constant_time_eq, csrf_token};

/// Logins per account before throttling, refilled one per this interval.
const ACCOUNT_BURST: u32 = 5;
const ACCOUNT_REFILL: Duration = Duration::from_secs(3 * 60);
/// Logins per client IP before throttling, refilled one per this interval.
const IP_BURST: u32 = 20;
const IP_REFILL: Duration = Duration::from_secs(30);
/// Argon2 hashes computed at once; each holds 19 MiB.
const CONCURRENT_HASHES: usize = 4;

/// Session lifetimes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// A session unused this long ends.
    pub idle: Duration,
    /// A session ends this long after login, however busy.
    pub absolute: Duration,
    /// Send the cookie only over https (true when the public URL is https).
    pub secure_cookie: bool,
}

impl SessionPolicy {
    pub const DEFAULT: SessionPolicy = SessionPolicy {
        idle: Duration::from_secs(8 * 3600),
        absolute: Duration::from_secs(7 * 24 * 3600),
        secure_cookie: false,
    };

    pub fn idle_ms(&self) -> i64 {
        i64::try_from(self.idle.as_millis()).unwrap_or(i64::MAX)
    }

    pub fn absolute_ms(&self) -> i64 {
        i64::try_from(self.absolute.as_millis()).unwrap_or(i64::MAX)
    }

    /// `Set-Cookie` value carrying `value`; an empty value with `max_age` 0
    /// clears it.
    pub fn cookie(&self, value: &str, max_age_secs: u64) -> String {
        format!(
            "{}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{}",
            self.cookie_name(),
            if self.secure_cookie { "; Secure" } else { "" }
        )
    }

    /// `__Host-` binds the cookie to this exact origin over https; browsers
    /// refuse the prefix on plain http, so local trials use a plain name.
    pub fn cookie_name(&self) -> &'static str {
        if self.secure_cookie {
            "__Host-earshot_session"
        } else {
            "earshot_session"
        }
    }
}

/// Why a login attempt was refused before checking the password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    pub retry_after: Duration,
}

#[derive(Debug)]
pub struct Auth {
    pub policy: SessionPolicy,
    /// Verified against when the account does not exist, so an unknown
    /// email costs the same time as a wrong password.
    dummy_hash: String,
    hashing: Semaphore,
    per_account: Option<RateLimiter<String>>,
    per_ip: Option<RateLimiter<IpAddr>>,
    /// Secret of the one-time setup link, while no staff account exists.
    setup_token: Mutex<Option<String>>,
}

impl Auth {
    /// Computes the dummy hash (one argon2 run), so call it at startup.
    pub fn new(policy: SessionPolicy, needs_setup: bool) -> Result<Auth, PasswordError> {
        let dummy_hash = password::hash(&Password::generate())?;
        Ok(Auth {
            policy,
            dummy_hash,
            hashing: Semaphore::new(CONCURRENT_HASHES),
            per_account: RateLimiter::with_refill(ACCOUNT_BURST, ACCOUNT_REFILL),
            per_ip: RateLimiter::with_refill(IP_BURST, IP_REFILL),
            setup_token: Mutex::new(needs_setup.then(|| crate::ids::secret(32))),
        })
    }

    /// Counts one login attempt against the account and the client IP.
    pub fn throttle(&self, email: &str, ip: IpAddr) -> Result<(), Throttled> {
        let limited = |d: Decision| match d {
            Decision::Allowed => None,
            Decision::Limited { retry_after } => Some(retry_after),
        };
        let by_ip = self.per_ip.as_ref().and_then(|l| limited(l.check(&ip)));
        let by_account = self
            .per_account
            .as_ref()
            .and_then(|l| limited(l.check(&email.trim().to_lowercase())));
        match by_ip.max(by_account) {
            Some(retry_after) => Err(Throttled { retry_after }),
            None => Ok(()),
        }
    }

    /// Verifies `candidate` against `stored` (or the dummy hash when the
    /// account does not exist) off the async runtime.
    pub async fn verify(&self, candidate: String, stored: Option<String>) -> bool {
        let Ok(_permit) = self.hashing.acquire().await else {
            return false;
        };
        let exists = stored.is_some();
        let phc = stored.unwrap_or_else(|| self.dummy_hash.clone());
        let matched = tokio::task::spawn_blocking(move || password::verify(&candidate, &phc))
            .await
            .unwrap_or(false);
        matched && exists
    }

    /// Hashes a new password off the async runtime.
    pub async fn hash(&self, password: Password) -> Result<String, PasswordError> {
        let _permit = self
            .hashing
            .acquire()
            .await
            .map_err(|_| PasswordError::Hashing)?;
        tokio::task::spawn_blocking(move || password::hash(&password))
            .await
            .map_err(|_| PasswordError::Hashing)?
    }

    /// The setup link's secret, while setup is still possible.
    pub fn setup_token(&self) -> Option<String> {
        self.setup_token.lock().ok()?.clone()
    }

    pub fn setup_token_matches(&self, candidate: &str) -> bool {
        self.setup_token()
            .is_some_and(|t| constant_time_eq(t.as_bytes(), candidate.as_bytes()))
    }

    /// Ends the setup phase: the link stops working.
    pub fn finish_setup(&self) {
        if let Ok(mut token) = self.setup_token.lock() {
            token.take();
        }
    }
}
