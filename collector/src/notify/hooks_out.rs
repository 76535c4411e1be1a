//! Delivers due webhook messages, several at a time, and records every
//! attempt with what it means for the message and its endpoint. One slow
//! or failing endpoint cannot hold up the others: it gets at most a few of
//! the slots.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use tokio::task::JoinSet;

use super::Context;
use crate::metrics::Channel;
use crate::outage::Outage;
use crate::store::{AttemptRecord, DeliveryJob, DeliveryResult, StoreError};
use crate::webhooks::EventType;
use crate::webhooks::deliver::{self, Request};
use crate::webhooks::sign::SigningSecret;

/// Attempts in flight at once, over all endpoints.
const CONCURRENCY: usize = 16;
/// Attempts in flight at once to one endpoint.
const PER_ENDPOINT: usize = 4;

pub async fn run(ctx: Context) {
    let mut queued = ctx.queued.subscribe();
    let mut running: JoinSet<Finished> = JoinSet::new();
    let mut in_flight: HashSet<i64> = HashSet::new();
    let mut per_endpoint: HashMap<i64, usize> = HashMap::new();
    // Attempts made whose outcome could not be written (a full disk):
    // their rows still say pending, and making them again would hit the
    // endpoint again for nothing. Only their record is tried again.
    let mut unrecorded: HashMap<i64, AttemptRecord> = HashMap::new();
    let mut outage = Outage::default();
    loop {
        while let Some(Ok(done)) = running.try_join_next() {
            finished(&mut in_flight, &mut per_endpoint, &mut unrecorded, done);
        }
        let now = ctx.clock.now_millis();
        // Refill when a quarter of the slots are free, not after every
        // single answer: each look at the queue reads rows.
        let free = CONCURRENCY - running.len();
        if running.is_empty() || free >= CONCURRENCY / 4 {
            // Rows in flight are still pending and come back first.
            let limit = i64::try_from(in_flight.len() + 2 * free).unwrap_or(64);
            let jobs = match ctx.store.due_deliveries(now, limit).await {
                Ok(jobs) => {
                    outage.recover(Instant::now(), "reading webhook deliveries");
                    jobs
                }
                Err(StoreError::Closed) => return,
                Err(e) => {
                    outage.warn(Instant::now(), "reading webhook deliveries", &e);
                    tokio::time::sleep(super::POLL).await;
                    continue;
                }
            };
            let mut failed = false;
            for job in jobs {
                if let Some(record) = unrecorded.remove(&job.id) {
                    if let Err(e) = ctx.store.record_attempts(vec![record.clone()]).await {
                        tracing::warn!(error = %e, "recording a webhook attempt failed again");
                        unrecorded.insert(job.id, record);
                        failed = true;
                    }
                    continue;
                }
                let busy = per_endpoint.get(&job.webhook_id).copied().unwrap_or(0);
                if running.len() >= CONCURRENCY
                    || busy >= PER_ENDPOINT
                    || in_flight.contains(&job.id)
                {
                    continue;
                }
                in_flight.insert(job.id);
                *per_endpoint.entry(job.webhook_id).or_default() += 1;
                let ctx = ctx.clone();
                running.spawn(async move {
                    let (delivery, webhook) = (job.id, job.webhook_id);
                    let (msg_id, event) = (job.msg_id.clone(), job.event.clone());
                    let record = attempt(&ctx, job).await;
                    if matches!(
                        record.result,
                        DeliveryResult::Retry(_) | DeliveryResult::Failed | DeliveryResult::Gone
                    ) {
                        ctx.metrics.delivery_failed(Channel::Webhook);
                        // As a failed email is: whoever reads the log hears
                        // of it. The message id is the one the webhook's
                        // page lists; the URL (Slack's holds its secret)
                        // and the receiver's answer stay out.
                        tracing::warn!(
                            %msg_id,
                            %event,
                            status = record.status,
                            error = record.error.as_deref().unwrap_or(""),
                            retry = matches!(record.result, DeliveryResult::Retry(_)),
                            "a webhook delivery failed"
                        );
                    }
                    let unrecorded = match ctx.store.record_attempts(vec![record.clone()]).await {
                        Ok(()) => None,
                        Err(e) => {
                            tracing::warn!(error = %e, "recording a webhook attempt failed");
                            Some(record)
                        }
                    };
                    Finished {
                        delivery,
                        webhook,
                        unrecorded,
                    }
                });
            }
            // What failed is still due: looking again at once would only
            // spin.
            if failed {
                tokio::time::sleep(super::POLL).await;
                continue;
            }
        }
        if running.is_empty() {
            let next = ctx.store.next_delivery_due().await.ok().flatten();
            super::wait(&mut queued, super::until(next, now)).await;
        } else {
            // Something finishing frees a slot; new work or the poll
            // interval may bring more to do meanwhile.
            tokio::select! {
                done = running.join_next() => {
                    if let Some(Ok(done)) = done {
                        finished(&mut in_flight, &mut per_endpoint, &mut unrecorded, done);
                    }
                }
                () = super::wait(&mut queued, super::POLL) => {}
            }
        }
    }
}

/// An attempt done: its delivery, its endpoint, and the attempt when it
/// could not be recorded.
struct Finished {
    delivery: i64,
    webhook: i64,
    unrecorded: Option<AttemptRecord>,
}

fn finished(
    in_flight: &mut HashSet<i64>,
    per_endpoint: &mut HashMap<i64, usize>,
    unrecorded: &mut HashMap<i64, AttemptRecord>,
    done: Finished,
) {
    let Finished {
        delivery,
        webhook,
        unrecorded: record,
    } = done;
    in_flight.remove(&delivery);
    if let Some(record) = record {
        unrecorded.insert(delivery, record);
    }
    if let Some(n) = per_endpoint.get_mut(&webhook) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            per_endpoint.remove(&webhook);
        }
    }
}

/// One attempt at one message; never fails, every outcome is recorded.
async fn attempt(ctx: &Context, job: DeliveryJob) -> AttemptRecord {
    let at = ctx.clock.now_millis();
    let record = |result, status, latency_ms, error| AttemptRecord {
        delivery_id: job.id,
        webhook_id: job.webhook_id,
        at,
        status,
        latency_ms,
        error,
        result,
    };
    // Spam never fires entry.created, even when marked after queueing.
    if job.entry_is_spam && job.event == EventType::EntryCreated.as_str() {
        return record(DeliveryResult::Cancelled, None, 0, None);
    }
    let Some(secret) = SigningSecret::from_stored(&job.secret) else {
        return record(
            DeliveryResult::Failed,
            None,
            0,
            Some("the signing secret is unreadable".to_owned()),
        );
    };
    let previous = job
        .previous_secret
        .as_deref()
        .and_then(SigningSecret::from_stored);
    let mut secrets = vec![&secret];
    secrets.extend(previous.as_ref());
    let outcome = deliver::attempt(
        &ctx.http,
        Request {
            url: &job.url,
            msg_id: &job.msg_id,
            timestamp: at.div_euclid(1000),
            body: &job.body,
            secrets,
        },
        ctx.allow_private,
    )
    .await;
    let attempts = u32::try_from(job.attempts + 1).unwrap_or(u32::MAX);
    let result = if outcome.delivered() {
        DeliveryResult::Delivered
    } else if outcome.gone() {
        DeliveryResult::Gone
    } else {
        match deliver::next_attempt_after(attempts, outcome.retry_after) {
            Some(wait) => {
                DeliveryResult::Retry(at + i64::try_from(wait.as_millis()).unwrap_or(i64::MAX / 2))
            }
            None => DeliveryResult::Failed,
        }
    };
    record(
        result,
        outcome.status,
        i64::try_from(outcome.latency.as_millis()).unwrap_or(i64::MAX),
        outcome.error,
    )
}
