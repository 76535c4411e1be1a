//! One delivery attempt over HTTP, and when to try again.
//!
//! Only a 2xx answer counts. Redirects are not followed (a redirect could
//! lead anywhere the guard refuses). `Retry-After` on 429 or 503 moves the
//! next attempt later, never earlier. `410 Gone` means the receiver wants
//! no more: the endpoint is disabled.

use std::time::{Duration, Instant};

use rand::RngExt;
use reqwest::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER, USER_AGENT};

use super::guard;
use super::sign::{self, SigningSecret};

/// How long one attempt may take.
pub const TIMEOUT: Duration = Duration::from_secs(15);
/// Waits before each retry after a failed attempt: about 5 s, 5 min,
/// 30 min, 2 h, 5 h, 10 h and 10 h, so eight attempts over about a day.
pub const RETRY_DELAYS: [Duration; 7] = [
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(10 * 3600),
];
/// The longest `Retry-After` honoured.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// Builds the one HTTP client all deliveries share.
pub fn client(allow_private: bool) -> reqwest::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .connect_timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        // A proxy would resolve names itself, past the guard.
        .no_proxy()
        .user_agent(concat!("Earshot-Webhooks/", env!("CARGO_PKG_VERSION")))
        .pool_max_idle_per_host(4);
    if let Some(resolver) = guard::resolver(allow_private) {
        builder = builder.dns_resolver(resolver);
    }
    builder.build()
}

/// One message to one endpoint.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub url: &'a str,
    pub msg_id: &'a str,
    /// Unix seconds of this attempt.
    pub timestamp: i64,
    pub body: &'a str,
    pub secrets: Vec<&'a SigningSecret>,
}

/// What happened to one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The HTTP status, when there was an answer.
    pub status: Option<u16>,
    pub latency: Duration,
    /// Why it did not count, in a few words (never the receiver's text).
    pub error: Option<String>,
    /// What the receiver asked for with `Retry-After`.
    pub retry_after: Option<Duration>,
}

impl Outcome {
    pub fn delivered(&self) -> bool {
        self.error.is_none() && self.status.is_some_and(|s| (200..300).contains(&s))
    }

    /// `410 Gone`: stop sending to this endpoint.
    pub fn gone(&self) -> bool {
        self.status == Some(410)
    }
}

/// An attempt's error when the address is loopback, private or link-local
/// and the collector does not allow those.
pub const BLOCKED: &str = "blocked address";

/// Sends one attempt. Never fails: every way it can go wrong is an
/// [`Outcome`] to record.
pub async fn attempt(
    client: &reqwest::Client,
    request: Request<'_>,
    allow_private: bool,
) -> Outcome {
    let started = Instant::now();
    let failed = |error: &str| Outcome {
        status: None,
        latency: started.elapsed(),
        error: Some(error.to_owned()),
        retry_after: None,
    };
    // A literal address never reaches the resolver: check it here.
    if !allow_private && guard::private_host(request.url) {
        return failed(BLOCKED);
    }
    let signature = sign::header(
        &request.secrets,
        request.msg_id,
        request.timestamp,
        request.body,
    );
    let sent = client
        .post(request.url)
        .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
        .header(
            USER_AGENT,
            concat!("Earshot-Webhooks/", env!("CARGO_PKG_VERSION")),
        )
        .header("webhook-id", request.msg_id)
        .header("webhook-timestamp", request.timestamp.to_string())
        .header("webhook-signature", signature)
        .body(request.body.to_owned())
        .send()
        .await;
    let response = match sent {
        Ok(response) => response,
        Err(e) => return failed(&describe(&e)),
    };
    let status = response.status();
    let retry_after = matches!(status.as_u16(), 429 | 503)
        .then(|| response.headers().get(RETRY_AFTER))
        .flatten()
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|secs| Duration::from_secs(secs).min(MAX_RETRY_AFTER));
    // Read (a bounded amount of) the body so the connection can be reused.
    let _ = tokio::time::timeout(Duration::from_secs(1), response.bytes()).await;
    let error = if status.is_success() {
        None
    } else if status.is_redirection() {
        Some("redirect not followed".to_owned())
    } else {
        Some(format!("HTTP {}", status.as_u16()))
    };
    Outcome {
        status: Some(status.as_u16()),
        latency: started.elapsed(),
        error,
        retry_after,
    }
}

/// A short reason for a failure, without addresses or the receiver's text.
fn describe(e: &reqwest::Error) -> String {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if s.is::<guard::Blocked>() {
            return BLOCKED.to_owned();
        }
        source = s.source();
    }
    // Most often a certificate from an authority this machine does not
    // trust (a company's own: add it to the system's trust store).
    if let Some(refused) = crate::tls::refusal(e) {
        format!("TLS refused: {refused}")
    } else if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "could not connect".to_owned()
    } else if e.is_body() || e.is_request() {
        "connection lost".to_owned()
    } else {
        "request failed".to_owned()
    }
}

/// When to try again after `attempts` failed attempts, or `None` when
/// there are no retries left. Each wait varies by up to a tenth, so many
/// messages that failed together do not all return at once; a
/// `Retry-After` is honoured as a minimum.
pub fn next_attempt_after(attempts: u32, retry_after: Option<Duration>) -> Option<Duration> {
    let index = usize::try_from(attempts).ok()?.checked_sub(1)?;
    let base = *RETRY_DELAYS.get(index)?;
    let jitter = rand::rng().random_range(0.9..1.1);
    Some(base.mul_f64(jitter).max(retry_after.unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_follow_the_schedule_with_jitter_and_end_after_eight_attempts() {
        for (attempts, base) in (1..).zip(RETRY_DELAYS) {
            let wait = next_attempt_after(attempts, None).unwrap();
            assert!(
                wait >= base.mul_f64(0.9) && wait <= base.mul_f64(1.1),
                "{attempts}: {wait:?}"
            );
        }
        assert_eq!(next_attempt_after(8, None), None);
        assert_eq!(next_attempt_after(0, None), None);
        // Retry-After moves the next attempt later, never earlier.
        let asked = Duration::from_secs(600);
        assert!(next_attempt_after(1, Some(asked)).unwrap() >= asked);
        assert!(
            next_attempt_after(3, Some(Duration::from_secs(1))).unwrap()
                > Duration::from_secs(1000)
        );
    }

    #[tokio::test]
    async fn literal_internal_addresses_are_refused_without_a_connection() {
        let client = client(false).unwrap();
        let secret = SigningSecret::generate();
        let outcome = attempt(
            &client,
            Request {
                url: "http://169.254.169.254/latest/meta-data/",
                msg_id: "msg_x",
                timestamp: 1,
                body: "{}",
                secrets: vec![&secret],
            },
            false,
        )
        .await;
        assert_eq!(outcome.error.as_deref(), Some("blocked address"));
        assert!(!outcome.delivered());
    }
}
