//! Operational metrics in the Prometheus text format (OpenMetrics 1.0),
//! served by [`router`] on their own listener (`--metrics-addr`), never on
//! the public port.
//!
//! prometheus-client rather than the `metrics` facade: its registry is a
//! value the server owns and hands around, where the facade installs a
//! process-wide recorder. Label values come from closed sets (outcomes,
//! error codes, route templates, status classes), so no client can grow the
//! number of series.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Metric, Registry};
use sha2::{Digest, Sha256};

use crate::auth::constant_time_eq;
use crate::config::Secret;
use crate::store::Store;

/// What became of one submission to `POST /api/v1/feedback`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Stored,
    /// Stored, and marked as spam (honeypot or filled too fast).
    Spam,
    /// A retry answered from the entry its idempotency key already made.
    Duplicate,
    /// Refused, with the error code the client was given.
    Rejected(&'static str),
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SubmissionLabels {
    outcome: &'static str,
    /// The error code of a rejection (`rate_limited`, `origin_not_allowed`,
    /// …); empty otherwise.
    code: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    /// The route template (`/s/{token}`), never the concrete path.
    route: String,
    /// `2xx`, `3xx`, `4xx` or `5xx`.
    status: &'static str,
}

/// How a sign-in attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignIn {
    SignedIn,
    WrongPassword,
    /// Refused by the throttle before the password was checked.
    Throttled,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SignInLabels {
    result: &'static str,
}

/// The outbound channels of notifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Email,
    Webhook,
}

impl Channel {
    fn label(self) -> ChannelLabels {
        ChannelLabels {
            channel: match self {
                Channel::Email => "email",
                Channel::Webhook => "webhook",
            },
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ChannelLabels {
    channel: &'static str,
}

/// Every metric the collector exports, and the registry that names them.
pub struct Metrics {
    registry: Registry,
    store: Store,
    submissions: Family<SubmissionLabels, Counter>,
    requests: Family<RequestLabels, Histogram>,
    sign_ins: Family<SignInLabels, Counter>,
    delivery_failures: Family<ChannelLabels, Counter>,
    outbox_pending: Family<ChannelLabels, Gauge>,
    outbox_failed: Family<ChannelLabels, Gauge>,
    database_bytes: Gauge,
    free_bytes: Gauge,
    wal_bytes: Gauge,
    wal_checkpoints_left: Gauge,
    search_lag: Gauge,
    rss_bytes: Gauge,
    backups: Family<BackupLabels, Counter>,
    backup_last_success: Gauge,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BackupLabels {
    result: &'static str,
}

/// Registers `metric` under `name` and hands it back to record into (the
/// registry keeps a clone sharing the same values).
fn registered<M: Metric + Clone>(registry: &mut Registry, name: &str, help: &str, metric: M) -> M {
    registry.register(name, help, metric.clone());
    metric
}

fn request_histogram() -> Histogram {
    // 0.5 ms … about 16 s.
    Histogram::new(exponential_buckets(0.000_5, 2.0, 16))
}

impl Metrics {
    pub fn new(store: Store) -> Metrics {
        let mut registry = Registry::with_prefix("earshot");
        let r = &mut registry;
        let submissions = registered(
            r,
            "submissions",
            "Feedback submissions by outcome (stored, spam, duplicate, rejected with its error code)",
            Family::default(),
        );
        let requests = registered(
            r,
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by method, route template and status class",
            Family::new_with_constructor(request_histogram as fn() -> Histogram),
        );
        let stats = store.write_stats().clone();
        registered(
            r,
            "writer_batch_jobs",
            "Write jobs committed together in one transaction (group commit)",
            stats.batch_jobs,
        );
        registered(
            r,
            "writer_commit_seconds",
            "Time from BEGIN to COMMIT of one write batch",
            stats.commit_seconds,
        );
        registered(
            r,
            "writer_fsync_seconds",
            "Time of one fsync of the write-ahead log before answers go out",
            stats.fsync_seconds,
        );
        registered(
            r,
            "writer_rewind_seconds",
            "Time of the writer's own checkpoint between batches, which lets the write-ahead log start over",
            stats.rewind_seconds,
        );
        let sign_ins = registered(
            r,
            "sign_ins",
            "Console sign-in attempts by result (throttled ones were refused before any check)",
            Family::default(),
        );
        let delivery_failures = registered(
            r,
            "delivery_failures",
            "Failed attempts to send an email or deliver a webhook (each retry counts, and so does a test email the relay refused)",
            Family::default(),
        );
        let outbox_pending = registered(
            r,
            "outbox_pending",
            "Emails and webhook deliveries waiting to be sent",
            Family::default(),
        );
        let outbox_failed = registered(
            r,
            "outbox_failed",
            "Emails and webhook deliveries given up on after every retry",
            Family::default(),
        );
        let database_bytes = registered(
            r,
            "database_bytes",
            "Size of the SQLite database file",
            Gauge::default(),
        );
        let free_bytes = registered(
            r,
            "database_free_bytes",
            "Free space inside the database file, reused by new feedback",
            Gauge::default(),
        );
        let wal_bytes = registered(
            r,
            "wal_bytes",
            "Size of the SQLite write-ahead log",
            Gauge::default(),
        );
        let wal_checkpoints_left = registered(
            r,
            "wal_checkpoints_left_to_others",
            "1 while WAL checkpoints are left to another process (Litestream replicating the file)",
            Gauge::default(),
        );
        let search_lag = registered(
            r,
            "search_index_lag_entries",
            "Entries stored but not yet in the full-text index",
            Gauge::default(),
        );
        let rss_bytes = registered(
            r,
            "resident_memory_bytes",
            "Resident memory of the collector process",
            Gauge::default(),
        );
        let backups = registered(
            r,
            "backups",
            "Scheduled backups (--backup-dir) by result: written (and checked) or failed",
            Family::default(),
        );
        let backup_last_success = registered(
            r,
            "backup_last_success_timestamp_seconds",
            "When the newest scheduled backup was written (Unix time; 0 before the first): alert when it is older than --backup-every allows",
            Gauge::default(),
        );
        let build: Family<Vec<(&'static str, &'static str)>, Gauge> = registered(
            r,
            "build_info",
            "The running version (always 1)",
            Family::default(),
        );
        build
            .get_or_create(&vec![("version", env!("CARGO_PKG_VERSION"))])
            .set(1);
        Metrics {
            registry,
            store,
            submissions,
            requests,
            sign_ins,
            delivery_failures,
            outbox_pending,
            outbox_failed,
            database_bytes,
            free_bytes,
            wal_bytes,
            wal_checkpoints_left,
            search_lag,
            rss_bytes,
            backups,
            backup_last_success,
        }
    }

    /// A scheduled backup written and checked just now.
    pub fn backup_written(&self, at: std::time::SystemTime) {
        self.newest_backup(at);
        self.backups
            .get_or_create(&BackupLabels { result: "written" })
            .inc();
    }

    /// The newest scheduled backup is from `at` (found in the folder at
    /// start, so a restart does not look like a backup never taken).
    pub fn newest_backup(&self, at: std::time::SystemTime) {
        let secs = at
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        self.backup_last_success
            .set(self.backup_last_success.get().max(secs));
    }

    pub fn backup_failed(&self) {
        self.backups
            .get_or_create(&BackupLabels { result: "failed" })
            .inc();
    }

    pub fn submission(&self, outcome: Outcome) {
        let (outcome, code) = match outcome {
            Outcome::Stored => ("stored", ""),
            Outcome::Spam => ("spam", ""),
            Outcome::Duplicate => ("duplicate", ""),
            Outcome::Rejected(code) => ("rejected", code),
        };
        self.submissions
            .get_or_create(&SubmissionLabels { outcome, code })
            .inc();
    }

    pub fn request(&self, method: &axum::http::Method, route: &str, status: u16, took: Duration) {
        let labels = RequestLabels {
            method: method_label(method),
            route: route.to_owned(),
            status: status_class(status),
        };
        self.requests
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
    }

    pub fn sign_in(&self, result: SignIn) {
        let result = match result {
            SignIn::SignedIn => "signed_in",
            SignIn::WrongPassword => "wrong_password",
            SignIn::Throttled => "throttled",
        };
        self.sign_ins.get_or_create(&SignInLabels { result }).inc();
    }

    pub fn delivery_failed(&self, channel: Channel) {
        self.delivery_failures.get_or_create(&channel.label()).inc();
    }

    /// Reads what is measured at scrape time, then writes the text format.
    pub async fn render(&self) -> Result<String, crate::store::StoreError> {
        let g = self.store.gauges().await?;
        let set = |gauge: &Gauge, value: u64| gauge.set(i64::try_from(value).unwrap_or(i64::MAX));
        set(&self.database_bytes, g.database_bytes);
        set(&self.wal_bytes, g.wal_bytes);
        set(
            &self.wal_checkpoints_left,
            u64::from(g.wal_checkpoints_left),
        );
        self.free_bytes.set(g.free_bytes);
        self.search_lag.set(g.search_lag);
        for (channel, pending, failed) in [
            (Channel::Email, g.mail_pending, g.mail_failed),
            (Channel::Webhook, g.webhooks_pending, g.webhooks_failed),
        ] {
            let labels = channel.label();
            self.outbox_pending.get_or_create(&labels).set(pending);
            self.outbox_failed.get_or_create(&labels).set(failed);
        }
        if let Some(rss) = resident_bytes() {
            set(&self.rss_bytes, rss);
        }
        let mut text = String::with_capacity(16 * 1024);
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .map_err(|_| crate::store::StoreError::Corrupt("metrics encoding failed".into()))?;
        Ok(text)
    }
}

fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// The process's resident set, from `/proc` (Linux only).
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line
        .trim_start_matches("VmRSS:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

#[derive(Clone)]
struct Scrape {
    metrics: Arc<Metrics>,
    /// SHA-256 of the bearer token scrapers must send, when one is set.
    token: Option<[u8; 32]>,
}

/// `GET /metrics`, for the metrics listener only.
pub fn router(metrics: Arc<Metrics>, token: Option<&Secret>) -> Router {
    let token = token.map(|t| Sha256::digest(t.expose().as_bytes()).into());
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(Scrape { metrics, token })
}

/// Compares digests, so the comparison takes the same time however much of
/// a guess is right.
fn authorised(expected: Option<&[u8; 32]>, headers: &HeaderMap) -> bool {
    let Some(expected) = expected else {
        return true;
    };
    let Some(given) = crate::http::bearer(headers) else {
        return false;
    };
    constant_time_eq(&Sha256::digest(given.as_bytes()), expected)
}

async fn scrape(State(scrape): State<Scrape>, headers: HeaderMap) -> Response {
    if !authorised(scrape.token.as_ref(), &headers) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "send Authorization: Bearer <the --metrics-token>\n",
        )
            .into_response();
    }
    match scrape.metrics.render().await {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "reading metrics failed");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_classes_and_unknown_methods_stay_in_small_sets() {
        assert_eq!(status_class(204), "2xx");
        assert_eq!(status_class(429), "4xx");
        assert_eq!(status_class(503), "5xx");
        let odd = axum::http::Method::from_bytes(b"BREW").unwrap();
        assert_eq!(method_label(&odd), "other");
        assert_eq!(method_label(&axum::http::Method::POST), "POST");
    }

    #[test]
    fn a_set_token_must_be_sent_exactly() {
        let expected: [u8; 32] = Sha256::digest(b"s3cret").into();
        let with = |value: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION, value.parse().unwrap());
            h
        };
        assert!(authorised(Some(&expected), &with("Bearer s3cret")));
        assert!(
            authorised(Some(&expected), &with("bearer s3cret")),
            "the scheme in any case"
        );
        assert!(!authorised(Some(&expected), &with("Bearer s3cre")));
        assert!(!authorised(Some(&expected), &with("Basic s3cret")));
        assert!(!authorised(Some(&expected), &HeaderMap::new()));
        assert!(authorised(None, &HeaderMap::new()));
    }

    #[test]
    fn resident_memory_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(resident_bytes().is_some_and(|b| b > 1024 * 1024));
        }
    }
}
