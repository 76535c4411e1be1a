//! The dispatcher: new entries and notices become queued emails and
//! webhook messages. One batch is one transaction that also moves the
//! dispatcher's place forward, so nothing is announced twice or skipped.

use std::time::{Duration, Instant};

use earshot_protocol::{Kind, Severity};
use tracing::instrument;

use super::{Context, Prefs};
use crate::outage::Outage;
use crate::review::mention;
use crate::review::workflow::{Settled, Status};
use crate::store::{
    Dispatched, EndpointRow, MailKind, NewDelivery, NewMail, NoticeFact, NoticeKind, Pending,
    StoreError, User,
};
use crate::webhooks::payload::{self, Detail, Message};
use crate::webhooks::{EventFilter, EventType, Format};

/// Entries and notices taken per batch.
const BATCH: i64 = 500;
/// Submissions a second above which ingest counts as busy.
const BUSY_PER_SECOND: u64 = 500;
/// Entries announced a second while ingest is busy: acknowledging
/// customers comes first, and the backlog is sent once the flood passes.
const TRICKLE: i64 = 200;
/// How often (in clock time) promises and digests are looked at.
const SCHEDULE_EVERY_MS: i64 = 30_000;

pub async fn run(ctx: Context) {
    let mut changes = ctx.store.subscribe();
    let mut scheduled_at: Option<i64> = None;
    let mut pace = Pace::new(ctx.store.submissions_started());
    let (mut scheduling, mut dispatching) = (Outage::default(), Outage::default());
    loop {
        let now = ctx.clock.now_millis();
        if scheduled_at.is_none_or(|at| now - at >= SCHEDULE_EVERY_MS || now < at) {
            match schedule(&ctx, now).await {
                Ok(()) => {
                    scheduled_at = Some(now);
                    scheduling.recover(Instant::now(), "scheduling notices");
                }
                Err(StoreError::Closed) => return,
                Err(e) => scheduling.warn(Instant::now(), "scheduling notices", &e),
            }
        }
        let busy = pace.busy(ctx.store.submissions_started());
        let result = if busy {
            dispatch_batch(&ctx, TRICKLE).await.map(drop)
        } else {
            drain(&ctx).await
        };
        match result {
            Ok(()) => dispatching.recover(Instant::now(), "dispatching notifications"),
            Err(StoreError::Closed) => return,
            Err(e) => dispatching.warn(Instant::now(), "dispatching notifications", &e),
        }
        if busy {
            tokio::time::sleep(Duration::from_secs(1)).await;
        } else {
            let _ = tokio::time::timeout(super::POLL, changes.changed()).await;
        }
    }
}

/// How fast submissions arrive, over the last whole second.
struct Pace {
    since: Instant,
    at_start: u64,
    last_rate: u64,
}

impl Pace {
    fn new(submissions: u64) -> Pace {
        Pace {
            since: Instant::now(),
            at_start: submissions,
            last_rate: 0,
        }
    }

    fn busy(&mut self, submissions: u64) -> bool {
        let elapsed = self.since.elapsed();
        if elapsed >= Duration::from_secs(1) {
            let arrived = submissions.saturating_sub(self.at_start);
            self.last_rate =
                arrived * 1000 / u64::try_from(elapsed.as_millis()).unwrap_or(1).max(1);
            self.since = Instant::now();
            self.at_start = submissions;
        }
        self.last_rate > BUSY_PER_SECOND
    }
}

/// What time brings: promises turning due or overdue, and digests.
async fn schedule(ctx: &Context, now: i64) -> Result<(), StoreError> {
    ctx.store.notice_promises(now).await?;
    if ctx.mailer.is_some() {
        ctx.store.queue_digests(now).await?;
    }
    Ok(())
}

/// Dispatches batches until nothing is waiting.
async fn drain(ctx: &Context) -> Result<(), StoreError> {
    while dispatch_batch(ctx, BATCH).await? {}
    Ok(())
}

/// Dispatches up to `limit` entries and notices; `true` if more may wait.
async fn dispatch_batch(ctx: &Context, limit: i64) -> Result<bool, StoreError> {
    let pending = ctx.store.pending_dispatch(limit).await?;
    if pending.is_empty() {
        return Ok(false);
    }
    let staff = if ctx.mailer.is_some() {
        ctx.store.staff_prefs().await?
    } else {
        Vec::new()
    };
    let full = pending.taken.count() >= limit
        || i64::try_from(pending.notices.len()).unwrap_or(i64::MAX) >= limit;
    let done = plan(ctx, &pending, &staff, ctx.clock.now_millis());
    let queued = !done.deliveries.is_empty() || !done.mails.is_empty();
    ctx.store.complete_dispatch(done).await?;
    if queued {
        ctx.wake_senders();
    }
    Ok(full)
}

/// The fan-out of one batch: which endpoint hears what, who is emailed.
#[instrument(skip_all, fields(entries = pending.entries.len(), notices = pending.notices.len()))]
fn plan(ctx: &Context, pending: &Pending, staff: &[(User, Prefs)], now: i64) -> Dispatched {
    let mut done = Dispatched {
        taken: pending.taken.clone(),
        notice_ids: pending.notice_ids(),
        at: now,
        ..Dispatched::default()
    };
    for fact in &pending.entries {
        let message = Message {
            event: EventType::EntryCreated,
            at: fact.entry.created_at,
            entry: fact.entry.clone(),
            detail: Detail::Created,
        };
        queue_message(
            ctx,
            &mut done,
            &pending.endpoints,
            fact.site_id,
            fact.id,
            &message,
        );
        let kind = Kind::parse(&fact.entry.kind);
        let severity = fact.entry.severity.as_deref().and_then(Severity::parse);
        for (user, prefs) in staff {
            if kind.is_some_and(|k| prefs.wants_now(fact.site_id, k, severity)) {
                done.mails.push(NewMail {
                    kind: MailKind::NewEntry,
                    user_id: Some(user.id),
                    entry_id: Some(fact.id),
                    event_id: None,
                    actor_id: None,
                });
            }
        }
        if ctx.mailer.is_some()
            && fact.entry.email.is_some()
            && pending.receipt_sites.contains(&fact.site_id)
        {
            done.mails.push(NewMail {
                kind: MailKind::Receipt,
                user_id: None,
                entry_id: Some(fact.id),
                event_id: None,
                actor_id: None,
            });
        }
    }
    for notice in &pending.notices {
        if let Some(message) = message_for(notice) {
            queue_message(
                ctx,
                &mut done,
                &pending.endpoints,
                notice.site_id,
                notice.entry_id,
                &message,
            );
        }
        if ctx.mailer.is_none() {
            continue;
        }
        match notice.kind {
            // Assigning an entry to yourself needs no email.
            NoticeKind::Assign if notice.subject.is_some() && notice.subject != notice.actor_id => {
                let wants = staff
                    .iter()
                    .any(|(u, prefs)| Some(u.id) == notice.subject && prefs.on_assign);
                if wants {
                    done.mails.push(NewMail {
                        kind: MailKind::Assigned,
                        user_id: notice.subject,
                        entry_id: Some(notice.entry_id),
                        event_id: None,
                        actor_id: notice.actor_id,
                    });
                }
            }
            NoticeKind::FollowUp => {
                let holder = staff.iter().find(|(u, _)| Some(u.id) == notice.assignee_id);
                let told: Vec<i64> = match holder {
                    // The colleague on the case hears that the customer
                    // wrote again.
                    Some((user, prefs)) => prefs.on_assign.then_some(user.id).into_iter().collect(),
                    // Nobody active holds it (never assigned, or left with
                    // a colleague since disabled): whoever hears of such
                    // feedback at once does, so the customer is not left
                    // waiting unseen.
                    None => {
                        let kind = Kind::parse(&notice.entry.kind);
                        let severity = notice.entry.severity.as_deref().and_then(Severity::parse);
                        staff
                            .iter()
                            .filter(|(_, prefs)| {
                                kind.is_some_and(|k| prefs.wants_now(notice.site_id, k, severity))
                            })
                            .map(|(user, _)| user.id)
                            .collect()
                    }
                };
                for user_id in told {
                    done.mails.push(NewMail {
                        kind: MailKind::FollowUp,
                        user_id: Some(user_id),
                        entry_id: Some(notice.entry_id),
                        event_id: notice.subject,
                        actor_id: None,
                    });
                }
            }
            NoticeKind::Note => {
                let words = notice.reply.as_deref().unwrap_or_default();
                let named =
                    mention::mentioned(words, staff.iter().map(|(u, _)| (u.id, u.email.as_str())));
                for (user, _) in staff.iter().filter(|(u, prefs)| {
                    // Naming yourself needs no email.
                    named.contains(&u.id) && Some(u.id) != notice.actor_id && prefs.on_assign
                }) {
                    done.mails.push(NewMail {
                        kind: MailKind::Mention,
                        user_id: Some(user.id),
                        entry_id: Some(notice.entry_id),
                        event_id: notice.subject,
                        actor_id: notice.actor_id,
                    });
                }
            }
            NoticeKind::PromiseDue | NoticeKind::PromiseOverdue => {
                let Some(promise) = notice.promise.as_ref().filter(|p| p.outcome.is_none()) else {
                    continue;
                };
                // Whoever holds the entry keeps its promises; held by no
                // active colleague, the one who made it hears.
                let active = |id: Option<i64>| staff.iter().find(|(u, _)| Some(u.id) == id);
                let Some((user, prefs)) =
                    active(notice.assignee_id).or_else(|| active(promise.made_by))
                else {
                    continue;
                };
                if prefs.on_assign {
                    done.mails.push(NewMail {
                        kind: MailKind::Promise,
                        user_id: Some(user.id),
                        entry_id: Some(notice.entry_id),
                        event_id: Some(promise.event_id),
                        actor_id: promise.made_by,
                    });
                }
            }
            // Closed for a customer who left an address, on a site that
            // tells customers what becomes of their feedback: queued to
            // wait out its grace, then written only if the close stands
            // and no reply told them (see `Store::closed_parts`).
            NoticeKind::Status
                if notice.entry.email.is_some()
                    && pending.receipt_sites.contains(&notice.site_id)
                    && matches!(
                        notice.new_value.as_deref().and_then(Status::parse),
                        Some(Status::Resolved | Status::WontFix)
                    ) =>
            {
                done.mails.push(NewMail {
                    kind: MailKind::Closed,
                    user_id: None,
                    entry_id: Some(notice.entry_id),
                    event_id: notice.subject,
                    actor_id: notice.actor_id,
                });
            }
            // A promise kept, likewise: the email is written only if no
            // reply told them and the entry was not closed meanwhile (see
            // `Store::kept_parts`).
            NoticeKind::PromiseSettled
                if notice.entry.email.is_some()
                    && pending.receipt_sites.contains(&notice.site_id)
                    && notice.new_value.as_deref() == Some(Settled::Kept.as_str()) =>
            {
                if let Some(promise) = &notice.promise {
                    done.mails.push(NewMail {
                        kind: MailKind::Kept,
                        user_id: None,
                        entry_id: Some(notice.entry_id),
                        event_id: Some(promise.event_id),
                        actor_id: notice.actor_id,
                    });
                }
            }
            NoticeKind::Reply if notice.entry.email.is_some() => {
                done.mails.push(NewMail {
                    kind: MailKind::Reply,
                    user_id: None,
                    entry_id: Some(notice.entry_id),
                    event_id: notice.subject,
                    actor_id: notice.actor_id,
                });
            }
            _ => {}
        }
    }
    done
}

/// The webhook message a notice makes, if any.
fn message_for(notice: &NoticeFact) -> Option<Message> {
    let (event, detail) = match notice.kind {
        // Internal notes stay in house.
        NoticeKind::Note => return None,
        NoticeKind::Status => (
            EventType::EntryStatusChanged,
            Detail::StatusChanged {
                from: notice.old_value.clone().unwrap_or_default(),
                to: notice.new_value.clone().unwrap_or_default(),
                actor: notice.actor.clone(),
            },
        ),
        NoticeKind::Assign => (
            EventType::EntryAssigned,
            Detail::Assigned {
                assignee: notice.new_value.clone(),
                assignee_id: notice.subject,
                actor: notice.actor.clone(),
                actor_id: notice.actor_id,
            },
        ),
        NoticeKind::Reply => (
            EventType::EntryReplied,
            Detail::Replied {
                body: notice.reply.clone().unwrap_or_default(),
                actor: notice.actor.clone(),
            },
        ),
        NoticeKind::FollowUp => (
            EventType::EntryFollowedUp,
            Detail::FollowedUp {
                body: notice.reply.clone().unwrap_or_default(),
            },
        ),
        NoticeKind::PromiseMade => (
            EventType::PromiseMade,
            Detail::Promise(notice.promise.clone()?),
        ),
        NoticeKind::PromiseDue => (
            EventType::PromiseDue,
            Detail::Promise(notice.promise.clone()?),
        ),
        NoticeKind::PromiseOverdue => (
            EventType::PromiseOverdue,
            Detail::Promise(notice.promise.clone()?),
        ),
        NoticeKind::PromiseSettled => (
            EventType::PromiseSettled,
            Detail::Promise(notice.promise.clone()?),
        ),
    };
    Some(Message {
        event,
        at: notice.at,
        entry: notice.entry.clone(),
        detail,
    })
}

/// Queues `message` for every endpoint of the site that wants its event,
/// under one message id.
fn queue_message(
    ctx: &Context,
    done: &mut Dispatched,
    endpoints: &[EndpointRow],
    site_id: i64,
    entry_id: i64,
    message: &Message,
) {
    let mut msg_id: Option<String> = None;
    for endpoint in endpoints.iter().filter(|e| e.site_id == site_id) {
        let wanted = EventFilter::parse(&endpoint.events).is_ok_and(|f| f.includes(message.event));
        let Ok(format) = Format::parse(&endpoint.format) else {
            continue;
        };
        if !wanted {
            continue;
        }
        let id = msg_id
            .get_or_insert_with(|| format!("msg_{}", crate::ids::secret(26)))
            .clone();
        done.deliveries.push(NewDelivery {
            webhook_id: endpoint.id,
            msg_id: id,
            event: message.event.as_str(),
            entry_id,
            body: payload::body(message, format, endpoint.include_email, &ctx.public_url),
        });
    }
}
