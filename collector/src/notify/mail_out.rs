//! Sends due emails one by one, retrying with backoff. New-entry emails to
//! one colleague go out at most once a minute: whatever arrived meanwhile
//! is folded into the next one ("and N more"), so a burst of feedback is
//! two emails, not a hundred.

use std::time::Instant;

use super::Context;
use crate::mail::staff::{Assigned, Digest, FollowedUp, LIST_MAX, NewEntries};
use crate::mail::{Outgoing, ReplyMail};
use crate::outage::Outage;
use crate::review::workflow::{HOUR, MINUTE};
use crate::store::{FOLD_WINDOW_MS, MailJob, MailKind, MailResult, StoreError};

/// Emails taken per round.
const BATCH: i64 = 32;
/// Waits before each retry of an email that could not be sent.
const RETRY_MS: [i64; 5] = [MINUTE, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 6 * HOUR];

pub async fn run(ctx: Context) {
    let mut queued = ctx.queued.subscribe();
    let mut outage = Outage::default();
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
        // One new-entry email per colleague per round: it takes all of
        // theirs that are pending.
        let mut folded_for = Vec::new();
        for job in jobs {
            if job.kind == MailKind::NewEntry {
                let user = job.user.as_ref().map(|u| u.id);
                if folded_for.contains(&user) {
                    continue;
                }
                folded_for.push(user);
            }
            match send(&ctx, &job).await {
                Ok(()) => {}
                Err(StoreError::Closed) => return,
                Err(e) => {
                    tracing::warn!(error = %e, kind = job.kind.as_str(), "an email could not be handled")
                }
            }
        }
    }
}

/// Writes, sends and records one job.
async fn send(ctx: &Context, job: &MailJob) -> Result<(), StoreError> {
    let now = ctx.clock.now_millis();
    let Some(mailer) = &ctx.mailer else {
        return Ok(());
    };
    let mail = match job.kind {
        MailKind::NewEntry => {
            let Some(user) = &job.user else {
                return ctx
                    .store
                    .record_mail(job.id, MailResult::Cancelled, now)
                    .await;
            };
            let last = ctx.store.last_new_entry_mail(user.id).await?;
            if let Some(last) = last
                && now - last < FOLD_WINDOW_MS
            {
                return ctx
                    .store
                    .hold_new_entry_mail(user.id, last + FOLD_WINDOW_MS)
                    .await;
            }
            let listed = i64::try_from(LIST_MAX + 1).unwrap_or(64);
            let pending = ctx.store.pending_new_entries(user.id, listed).await?;
            let Some(first) = pending.first.first() else {
                return Ok(());
            };
            let primary = first.outbox_id;
            // After a quiet spell the first entry goes out alone, at once;
            // what came with it or after waits for the one folded email a
            // minute later. Entries that waited through a minute are that
            // folded email.
            let fresh = last.is_none_or(|last| first.queued_at > last + FOLD_WINDOW_MS);
            let (lines, total, folded_upto) = if fresh && pending.total > 1 {
                ctx.store
                    .hold_new_entry_mail(user.id, now + FOLD_WINDOW_MS)
                    .await?;
                (vec![first.line.clone()], 1, None)
            } else {
                let lines = pending.first.iter().map(|p| p.line.clone()).collect();
                (lines, pending.total, Some(pending.newest))
            };
            let mail = NewEntries {
                to: user.email.clone(),
                entries: lines,
                total,
                now,
                public_url: ctx.public_url.to_string(),
            }
            .outgoing();
            return deliver(ctx, mailer, primary, mail, folded_upto, job.attempts)
                .await
                .map(drop);
        }
        MailKind::Assigned => {
            let (Some(user), Some(entry_id)) = (&job.user, job.entry_id) else {
                return ctx
                    .store
                    .record_mail(job.id, MailResult::Cancelled, now)
                    .await;
            };
            let Some(entry) = ctx.store.entry_line(entry_id).await? else {
                return ctx
                    .store
                    .record_mail(job.id, MailResult::Cancelled, now)
                    .await;
            };
            let by = match job.actor_id {
                Some(actor) => ctx.store.user_name(actor).await?,
                None => None,
            };
            let mail = Assigned {
                to: user.email.clone(),
                entry,
                by: by.unwrap_or_else(|| "A colleague".to_owned()),
                now,
                public_url: ctx.public_url.to_string(),
            }
            .outgoing();
            Some(mail)
        }
        MailKind::FollowUp => {
            let (Some(user), Some(entry_id), Some(event_id)) =
                (&job.user, job.entry_id, job.event_id)
            else {
                return ctx
                    .store
                    .record_mail(job.id, MailResult::Cancelled, now)
                    .await;
            };
            let (Some(entry), Some(words)) = (
                ctx.store.entry_line(entry_id).await?,
                ctx.store.event_body(event_id).await?,
            ) else {
                return ctx
                    .store
                    .record_mail(job.id, MailResult::Cancelled, now)
                    .await;
            };
            let mail = FollowedUp {
                to: user.email.clone(),
                entry,
                words,
                public_url: ctx.public_url.to_string(),
            }
            .outgoing();
            Some(mail)
        }
        MailKind::Digest => {
            let Some(user) = &job.user else {
                return ctx
                    .store
                    .record_mail(job.id, MailResult::Cancelled, now)
                    .await;
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
        MailKind::Reply => {
            let parts = match job.event_id {
                Some(event) => ctx.store.reply_parts(event).await?,
                None => None,
            };
            let Some(p) = parts else {
                return ctx
                    .store
                    .record_mail(job.id, MailResult::Cancelled, now)
                    .await;
            };
            let mail = ReplyMail {
                to: p.to,
                site_name: p.site_name,
                reference: p.reference,
                body: p.body,
                promise: p.promise.map(|(text, due)| (text, crate::clock::date(due))),
                status_url: format!("{}/s/{}.{}", ctx.public_url, p.public_id, p.status_token),
            }
            .outgoing();
            Some(mail)
        }
    };
    let result = deliver(ctx, mailer, job.id, mail, None, job.attempts).await?;
    // The timeline says whether a reply reached the customer's inbox too.
    if let (MailKind::Reply, Some(event)) = (job.kind, job.event_id) {
        match result {
            MailResult::Sent { .. } => ctx.store.mark_reply_mailed(event, true).await?,
            MailResult::Failed { retry_at: None, .. } => {
                ctx.store.mark_reply_mailed(event, false).await?
            }
            _ => {}
        }
    }
    Ok(())
}

/// Sends `mail` for outbox row `id` (and the rows folded into it) and
/// records the outcome.
async fn deliver(
    ctx: &Context,
    mailer: &crate::mail::Mailer,
    id: i64,
    mail: Option<Outgoing>,
    folded_upto: Option<i64>,
    attempts: i64,
) -> Result<MailResult, StoreError> {
    let now = ctx.clock.now_millis();
    let Some(mail) = mail else {
        ctx.store
            .record_mail(id, MailResult::Cancelled, now)
            .await?;
        return Ok(MailResult::Cancelled);
    };
    let sent = mailer.send(&mail).await;
    let result = match &sent {
        Ok(()) => MailResult::Sent { folded_upto },
        Err(e) => {
            ctx.metrics.delivery_failed(crate::metrics::Channel::Email);
            let retry = usize::try_from(attempts)
                .ok()
                .and_then(|n| RETRY_MS.get(n))
                .map(|wait| now + wait);
            tracing::warn!(error = %e, retry = retry.is_some(), "an email could not be sent");
            MailResult::Failed {
                error: e.to_string(),
                retry_at: retry,
            }
        }
    };
    ctx.store.record_mail(id, result.clone(), now).await?;
    Ok(result)
}
