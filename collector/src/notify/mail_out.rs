//! Sends due emails one by one, retrying with backoff. New-entry and
//! assignment emails to one colleague go out at most once a minute each:
//! whatever arrived meanwhile is folded into the next one ("and N more"),
//! so a burst of feedback, or a bulk assignment, is two emails, not a
//! hundred.

use std::collections::HashMap;
use std::time::Instant;

use super::{Context, about};
use crate::mail::digest::Digest;
use crate::mail::staff::{Assigned, LIST_MAX, NewEntries};
use crate::mail::{ClosedMail, KeptMail, Outgoing, ReceiptMail, ReplyMail, ToCustomer};
use crate::outage::Outage;
use crate::review::workflow::{DAY, HOUR, MINUTE};
use crate::store::{CustomerParts, FOLD_WINDOW_MS, MailJob, MailKind, MailResult, StoreError};

/// Emails taken per round.
const BATCH: i64 = 32;
/// Waits before each retry of an email that could not be sent.
const RETRY_MS: [i64; 5] = [MINUTE, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 6 * HOUR];
/// Receipts, closing emails and kept promises' emails, one address is
/// sent a day at most (of each). Anyone can type anyone's address into a
/// widget: past this, a stranger's feedback cannot fill an inbox, nor can
/// their junk closed in bulk (a customer writing more often still has each
/// reference on screen and each status page, and every reply is emailed).
const PER_ADDRESS_A_DAY: i64 = 3;

pub async fn run(ctx: Context) {
    let mut queued = ctx.queued.subscribe();
    let mut outage = Outage::default();
    // Emails that went but whose outcome could not be written (a full
    // disk): their rows still say pending, and sending them again would
    // repeat them, to a customer too. Only their record is tried again.
    let mut unrecorded: HashMap<i64, MailResult> = HashMap::new();
    loop {
        let now = ctx.clock.now_millis();
        let jobs = match ctx.store.due_mail(now, BATCH).await {
            Ok(jobs) => {
                outage.recover(Instant::now(), "reading the email outbox");
                jobs
            }
            Err(StoreError::Closed) => return,
            Err(e) => {
                outage.warn(Instant::now(), "reading the email outbox", &e);
                tokio::time::sleep(super::POLL).await;
                continue;
            }
        };
        if jobs.is_empty() {
            let next = ctx.store.next_mail_due().await.ok().flatten();
            super::wait(&mut queued, super::until(next, now)).await;
            continue;
        }
        // One folding email of each kind per colleague per round: it takes
        // all of theirs of that kind that are pending.
        let mut folded_for = Vec::new();
        let mut failed = false;
        for job in jobs {
            if job.kind.folds() {
                let user = (job.kind, job.user.as_ref().map(|u| u.id));
                if folded_for.contains(&user) {
                    continue;
                }
                folded_for.push(user);
            }
            match send(&ctx, &job, &mut unrecorded).await {
                Ok(()) => {}
                Err(StoreError::Closed) => return,
                Err(e) => {
                    failed = true;
                    tracing::warn!(error = %e, kind = job.kind.as_str(), "an email could not be handled");
                }
            }
        }
        // What failed is still due: looking again at once would only spin.
        if failed {
            tokio::time::sleep(super::POLL).await;
        }
    }
}

/// Writes, sends and records one job.
async fn send(
    ctx: &Context,
    job: &MailJob,
    unrecorded: &mut HashMap<i64, MailResult>,
) -> Result<(), StoreError> {
    let now = ctx.clock.now_millis();
    let Some(mailer) = &ctx.mailer else {
        return Ok(());
    };
    let mail = match job.kind {
        MailKind::NewEntry | MailKind::Assigned => {
            return send_folded(ctx, mailer, job, unrecorded).await;
        }
        MailKind::FollowUp => about::follow_up(ctx, job).await?,
        MailKind::Mention => about::mention(ctx, job, now).await?,
        MailKind::Promise => about::promise(ctx, job, now).await?,
        MailKind::Digest => {
            let Some(user) = &job.user else {
                return cancel(ctx, job, now).await;
            };
            let admin = user.role == crate::store::Role::Admin;
            let facts = ctx.store.digest_facts(now, admin).await?;
            let mail = Digest {
                to: user.email.clone(),
                now,
                public_url: ctx.public_url.to_string(),
                waiting_late: facts.waiting_late,
                due_today: facts.due_today,
                overdue: facts.overdue,
                counts: facts.counts,
                failing: facts.failing,
            }
            .outgoing();
            Some(mail)
        }
        MailKind::Receipt => {
            let parts = match job.entry_id {
                Some(entry) => ctx.store.receipt_parts(entry, now - DAY).await?,
                None => None,
            };
            let Some(p) = parts.filter(|p| within_daily_share(job, p.sent_lately)) else {
                return cancel(ctx, job, now).await;
            };
            let mail = ReceiptMail {
                customer: to_customer(ctx, p.customer),
                response_promise: p.response_promise,
            }
            .outgoing();
            Some(mail)
        }
        MailKind::Closed => {
            let parts = match job.event_id {
                Some(event) => ctx.store.closed_parts(event, now - DAY).await?,
                None => None,
            };
            // Reopened meanwhile, answered by a reply, the site stopped
            // writing to customers, or the address had its share today.
            let Some(p) = parts.filter(|p| within_daily_share(job, p.sent_lately)) else {
                return cancel(ctx, job, now).await;
            };
            let mail = ClosedMail {
                customer: to_customer(ctx, p.customer),
                resolved: p.resolved,
            }
            .outgoing();
            Some(mail)
        }
        MailKind::Kept => {
            let parts = match job.event_id {
                Some(event) => ctx.store.kept_parts(event, now - DAY).await?,
                None => None,
            };
            // Answered by a reply, closed (its email says so), the site
            // stopped writing to customers, or the address had its share.
            let Some(p) = parts.filter(|p| within_daily_share(job, p.sent_lately)) else {
                return cancel(ctx, job, now).await;
            };
            let mail = KeptMail {
                customer: to_customer(ctx, p.customer),
                promise: p.promise,
            }
            .outgoing();
            Some(mail)
        }
        MailKind::Reply => {
            let parts = match job.event_id {
                Some(event) => ctx.store.reply_parts(event).await?,
                None => None,
            };
            let Some(p) = parts else {
                return cancel(ctx, job, now).await;
            };
            let mail = ReplyMail {
                customer: to_customer(ctx, p.customer),
                body: p.body,
                promise: p.promise.map(|(text, due)| (text, crate::clock::date(due))),
            }
            .outgoing();
            Some(mail)
        }
    };
    let mail = Mail {
        id: job.id,
        outgoing: mail,
        folded_upto: None,
        attempts: job.attempts,
    };
    let result = deliver(ctx, mailer, mail, unrecorded).await?;
    // The timeline says whether a reply reached the customer's inbox too.
    if let (MailKind::Reply, Some(event)) = (job.kind, job.event_id) {
        match result {
            MailResult::Sent { .. } => ctx.store.mark_reply_mailed(event, true).await?,
            MailResult::Failed { retry_at: None, .. } | MailResult::Refused { .. } => {
                ctx.store.mark_reply_mailed(event, false).await?
            }
            _ => {}
        }
    }
    Ok(())
}

/// Where an email to a customer goes, linking to their status page, in
/// their language.
fn to_customer(ctx: &Context, p: CustomerParts) -> ToCustomer {
    ToCustomer {
        status_url: format!("{}/s/{}.{}", ctx.public_url, p.public_id, p.status_token),
        to: p.to,
        site_name: p.site_name,
        reference: p.reference,
        language: crate::language::Language::of_entry(p.language.as_deref()),
    }
}

/// Whether an address sent `sent_lately` emails of `job`'s kind in the
/// last day may have one more (see [`PER_ADDRESS_A_DAY`]).
fn within_daily_share(job: &MailJob, sent_lately: i64) -> bool {
    let within = sent_lately < PER_ADDRESS_A_DAY;
    if !within {
        tracing::info!(
            entry_id = job.entry_id,
            kind = job.kind.as_str(),
            "an email to a customer was not sent: its address had {PER_ADDRESS_A_DAY} of its kind today"
        );
    }
    within
}

/// Records that `job` is no longer worth sending.
async fn cancel(ctx: &Context, job: &MailJob, now: i64) -> Result<(), StoreError> {
    ctx.store
        .record_mail(job.id, MailResult::Cancelled, now)
        .await
}

/// Sends a colleague's pending emails of `job`'s folding kind: after a
/// quiet spell the first alone, at once; what came with it or after waits
/// for one folded email a minute later.
async fn send_folded(
    ctx: &Context,
    mailer: &crate::mail::Mailer,
    job: &MailJob,
    unrecorded: &mut HashMap<i64, MailResult>,
) -> Result<(), StoreError> {
    let now = ctx.clock.now_millis();
    let kind = job.kind;
    let Some(user) = &job.user else {
        return cancel(ctx, job, now).await;
    };
    let last = ctx.store.last_folding_mail(kind, user.id).await?;
    if let Some(last) = last
        && now - last < FOLD_WINDOW_MS
    {
        return ctx
            .store
            .hold_folding_mail(kind, user.id, last + FOLD_WINDOW_MS)
            .await;
    }
    let listed = i64::try_from(LIST_MAX + 1).unwrap_or(64);
    let pending = ctx.store.pending_folding(kind, user.id, listed).await?;
    let Some(first) = pending.first.first() else {
        return Ok(());
    };
    let primary = first.outbox_id;
    // Entries that waited through a minute are that folded email.
    let fresh = last.is_none_or(|last| first.queued_at > last + FOLD_WINDOW_MS);
    let (lines, total, folded_upto) = if fresh && pending.total > 1 {
        ctx.store
            .hold_folding_mail(kind, user.id, now + FOLD_WINDOW_MS)
            .await?;
        (&pending.first[..1], 1, None)
    } else {
        (&pending.first[..], pending.total, Some(pending.newest))
    };
    let outgoing = match kind {
        MailKind::Assigned => Assigned {
            to: user.email.clone(),
            entries: {
                let colleagues = super::about::colleagues(ctx).await?;
                lines
                    .iter()
                    .map(|p| {
                        let by = match &p.actor {
                            Some(name) => colleagues.name(p.actor_id, name),
                            None => "A colleague".to_owned(),
                        };
                        (p.line.clone(), by)
                    })
                    .collect()
            },
            total,
            now,
            public_url: ctx.public_url.to_string(),
        }
        .outgoing(),
        _ => NewEntries {
            to: user.email.clone(),
            entries: lines.iter().map(|p| p.line.clone()).collect(),
            total,
            now,
            public_url: ctx.public_url.to_string(),
        }
        .outgoing(),
    };
    let mail = Mail {
        id: primary,
        outgoing,
        folded_upto,
        attempts: job.attempts,
    };
    deliver(ctx, mailer, mail, unrecorded).await.map(drop)
}

/// One email for outbox row `id` (and the rows folded into it, up to
/// `folded_upto`); `None` when there is nothing left to send.
struct Mail {
    id: i64,
    outgoing: Option<Outgoing>,
    folded_upto: Option<i64>,
    attempts: i64,
}

/// Sends `mail` and records the outcome; one sent before whose record
/// failed is not sent again, only recorded.
async fn deliver(
    ctx: &Context,
    mailer: &crate::mail::Mailer,
    mail: Mail,
    unrecorded: &mut HashMap<i64, MailResult>,
) -> Result<MailResult, StoreError> {
    let now = ctx.clock.now_millis();
    let result = match (unrecorded.remove(&mail.id), mail.outgoing) {
        (Some(result), _) => result,
        (None, None) => MailResult::Cancelled,
        (None, Some(outgoing)) => match mailer.send(&outgoing).await {
            Ok(()) => MailResult::Sent {
                folded_upto: mail.folded_upto,
            },
            Err(e) if e.is_the_address() => {
                ctx.metrics.delivery_failed(crate::metrics::Channel::Email);
                tracing::info!(error = %e, "an email was not sent: its address cannot be written to");
                MailResult::Refused {
                    error: e.to_string(),
                }
            }
            Err(e) => {
                ctx.metrics.delivery_failed(crate::metrics::Channel::Email);
                let retry = usize::try_from(mail.attempts)
                    .ok()
                    .and_then(|n| RETRY_MS.get(n))
                    .map(|wait| now + wait);
                tracing::warn!(error = %e, retry = retry.is_some(), "an email could not be sent");
                MailResult::Failed {
                    error: e.to_string(),
                    retry_at: retry,
                }
            }
        },
    };
    if let Err(e) = ctx.store.record_mail(mail.id, result.clone(), now).await {
        unrecorded.insert(mail.id, result);
        return Err(e);
    }
    Ok(result)
}
