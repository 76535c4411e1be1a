//! Staff authentication: passwords, sessions, login throttling and the
//! one-time setup link of a fresh installation.

pub mod password;
pub mod session;
pub mod throttle;
pub mod token;

use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::abuse::{ClientNet, RateLimiter};

pub use password::{Password, PasswordError};
pub use session::{SessionId, constant_time_eq, csrf_token};
pub use throttle::{Attempt, LoginThrottle, Throttled};
pub use token::{ApiToken, Scope};

/// Failed API-token attempts per client network, then one per interval.
const TOKEN_FAILURE_BURST: u32 = 10;
const TOKEN_FAILURE_REFILL: Duration = Duration::from_secs(60);

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

    /// The cookie that marks a browser as one that signed in before (see
    /// [`throttle`]); it grants nothing but its own sign-in budget.
    pub fn device_cookie(&self, value: &str) -> String {
        format!(
            "{}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
            self.device_cookie_name(),
            throttle::DEVICE_COOKIE_MAX_AGE.as_secs(),
            if self.secure_cookie { "; Secure" } else { "" }
        )
    }

    pub fn device_cookie_name(&self) -> &'static str {
        if self.secure_cookie {
            "__Host-earshot_device"
        } else {
            "earshot_device"
        }
    }
}

#[derive(Debug)]
pub struct Auth {
    pub policy: SessionPolicy,
    /// Verified against when the account does not exist, so an unknown
    /// email costs the same time as a wrong password.
    dummy_hash: String,
    hashing: Semaphore,
    pub throttle: LoginThrottle,
    /// The installation's setup link secret, until this process sees that
    /// a staff account exists.
    setup_token: Mutex<Option<String>>,
    /// Failed API-token attempts per client network: guessing is hopeless
    /// (256 bits), but a scanner still should not get unlimited tries.
    pub token_failures: RateLimiter<ClientNet>,
}

impl Auth {
    /// Computes the dummy hash (one argon2 run), so call it at startup.
    pub fn new(
        policy: SessionPolicy,
        setup_token: Option<String>,
        throttle: LoginThrottle,
    ) -> Result<Auth, PasswordError> {
        let dummy_hash = password::hash(&Password::generate())?;
        Ok(Auth {
            policy,
            dummy_hash,
            hashing: Semaphore::new(CONCURRENT_HASHES),
            throttle,
            setup_token: Mutex::new(setup_token),
            token_failures: RateLimiter::steady(TOKEN_FAILURE_BURST, TOKEN_FAILURE_REFILL),
        })
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
