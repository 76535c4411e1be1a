//! Telling people what happened, without ever holding up a customer or a
//! colleague: nothing here runs on a request's path.
//!
//! - The dispatcher (`dispatch`) follows new entries and the notices staff
//!   actions leave, and fans each out into the email outbox and webhook
//!   deliveries, committed together with its place in the stream.
//! - The senders (`mail_out`, `hooks_out`) deliver what is due, retry with
//!   backoff and record every attempt.
//! - The schedule (`dispatch`) adds what time brings: promises turning
//!   due or overdue, and the daily digest.
//!
//! Everything is durable: a restart resumes where the database says.

mod about;
mod dispatch;
mod hooks_out;
mod mail_out;
mod prefs;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use prefs::{DEFAULT_DIGEST_HOUR, Prefs, PrefsError, Sites, sites_without};

use crate::clock::Clock;
use crate::mail::Mailer;
use crate::store::Store;
use crate::supervise;

/// The longest a sender sleeps before looking again (retries come due by
/// the clock, and other processes may queue work).
const POLL: Duration = Duration::from_secs(1);

/// What the background work shares.
#[derive(Clone)]
pub struct Context {
    pub store: Store,
    pub clock: Clock,
    /// Base URL for links in messages, without a trailing slash.
    pub public_url: Arc<str>,
    /// Staff emails and customer replies go out only when SMTP is set.
    pub mailer: Option<Arc<Mailer>>,
    pub http: reqwest::Client,
    /// Webhooks may reach private and loopback addresses.
    pub allow_private: bool,
    /// Counts failed attempts.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Bumped when the dispatcher has queued something; each sender
    /// watches its own receiver, so no wake-up is lost.
    queued: Arc<watch::Sender<u64>>,
}

impl Context {
    pub fn new(
        store: Store,
        clock: Clock,
        public_url: &str,
        mailer: Option<Arc<Mailer>>,
        allow_private: bool,
        metrics: Arc<crate::metrics::Metrics>,
    ) -> reqwest::Result<Context> {
        Ok(Context {
            store,
            clock,
            public_url: public_url.into(),
            mailer,
            http: crate::webhooks::deliver::client(allow_private)?,
            allow_private,
            metrics,
            queued: Arc::new(watch::Sender::new(0)),
        })
    }
}

/// Says in the log whether the relay takes the collector's connection and
/// sign-in, once, at start.
async fn check_relay(mailer: Arc<Mailer>) {
    match mailer.check().await {
        Ok(()) => tracing::info!("the SMTP relay took a connection and the sign-in"),
        Err(crate::mail::MailError::Send(failure)) => tracing::warn!(
            error = %failure,
            advice = failure.advice(),
            "the SMTP relay did not take the collector's connection at start: emails wait, and are tried again, until it does"
        ),
        Err(e) => tracing::warn!(error = %e, "the SMTP relay could not be tried"),
    }
}

/// The running background work; stopped by dropping or [`stop`](Self::stop).
pub struct Notifier {
    tasks: Vec<JoinHandle<()>>,
}

impl Notifier {
    pub fn start(ctx: Context) -> Notifier {
        // Each start of a sender gets its own copy of the context.
        let (dispatching, hooking, mailing) = (ctx.clone(), ctx.clone(), ctx.clone());
        let mut tasks = vec![
            supervise::spawn("notify: dispatch", move || {
                dispatch::run(dispatching.clone())
            }),
            supervise::spawn("notify: webhooks", move || hooks_out::run(hooking.clone())),
        ];
        if let Some(mailer) = ctx.mailer.clone() {
            tasks.push(tokio::spawn(check_relay(mailer)));
            tasks.push(supervise::spawn("notify: mail", move || {
                mail_out::run(mailing.clone())
            }));
        }
        Notifier { tasks }
    }

    /// Stops at once. Whatever was in flight is sent again after a restart
    /// (it was never recorded as sent).
    pub fn stop(self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Drop for Notifier {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Context {
    /// Tells the senders there is something new to send.
    fn wake_senders(&self) {
        self.queued.send_modify(|n| *n = n.wrapping_add(1));
    }
}

/// Waits for news on `queued` or `timeout`, whichever comes first.
async fn wait(queued: &mut watch::Receiver<u64>, timeout: Duration) {
    let _ = tokio::time::timeout(timeout, queued.changed()).await;
}

/// How long until `due` (clock milliseconds), bounded by [`POLL`].
fn until(due: Option<i64>, now: i64) -> Duration {
    match due {
        Some(due) if due > now => {
            Duration::from_millis(u64::try_from(due - now).unwrap_or(0)).min(POLL)
        }
        Some(_) => Duration::ZERO,
        None => POLL,
    }
}
