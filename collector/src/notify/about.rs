//! The emails to one colleague about one entry's event, written as things
//! stand when they go: a follow-up, a mention in a note, a promise turning
//! due. `None` when there is nothing left to say (the colleague disabled,
//! the entry erased, the promise settled meanwhile, or one promised for
//! today or tomorrow and not late yet): the email is then recorded as cancelled.

use super::Context;
use crate::colleagues::Colleagues;
use crate::mail::Outgoing;
use crate::mail::mention::Mentioned;
use crate::mail::promise::PromiseReminder;
use crate::mail::staff::{EntryLine, FollowedUp};
use crate::review::workflow::{DAY, Settled};
use crate::store::{MailJob, StoreError, User};

/// Every account, to name colleagues as the console does: names are not
/// unique, and "Ada assigned this to you" must say which Ada.
pub(super) async fn colleagues(ctx: &Context) -> Result<Colleagues, StoreError> {
    Ok(Colleagues::new(ctx.store.accounts().await?))
}

/// The colleague, the entry and the words of the event (a follow-up, a
/// note) a job is about.
async fn about_event<'a>(
    ctx: &Context,
    job: &'a MailJob,
) -> Result<Option<(&'a User, EntryLine, String)>, StoreError> {
    let (Some(user), Some(entry_id), Some(event_id)) = (&job.user, job.entry_id, job.event_id)
    else {
        return Ok(None);
    };
    let entry = ctx.store.entry_line(entry_id).await?;
    let words = ctx.store.event_body(event_id).await?;
    Ok(entry.zip(words).map(|(entry, words)| (user, entry, words)))
}

pub(super) async fn follow_up(
    ctx: &Context,
    job: &MailJob,
) -> Result<Option<Outgoing>, StoreError> {
    let Some((user, entry, words)) = about_event(ctx, job).await? else {
        return Ok(None);
    };
    // Who holds it now, not when the customer wrote.
    let yours = ctx
        .store
        .entry_detail(entry.public_id.clone())
        .await?
        .is_some_and(|d| d.assignee_id == Some(user.id));
    let mail = FollowedUp {
        to: user.email.clone(),
        entry,
        words,
        yours,
        public_url: ctx.public_url.to_string(),
    };
    Ok(Some(mail.outgoing()))
}

pub(super) async fn mention(
    ctx: &Context,
    job: &MailJob,
    now: i64,
) -> Result<Option<Outgoing>, StoreError> {
    let Some((user, entry, note)) = about_event(ctx, job).await? else {
        return Ok(None);
    };
    let by = match job.actor_id {
        Some(actor) => colleagues(ctx).await?.name_of(actor),
        None => None,
    };
    let mail = Mentioned {
        to: user.email.clone(),
        by: by.unwrap_or_else(|| "A colleague".to_owned()),
        entry,
        note,
        now,
        public_url: ctx.public_url.to_string(),
    };
    Ok(Some(mail.outgoing()))
}

/// The job's event is the reply that made the promise.
pub(super) async fn promise(
    ctx: &Context,
    job: &MailJob,
    now: i64,
) -> Result<Option<Outgoing>, StoreError> {
    let (Some(user), Some(entry_id), Some(event_id)) = (&job.user, job.entry_id, job.event_id)
    else {
        return Ok(None);
    };
    let Some(entry) = ctx.store.entry_line(entry_id).await? else {
        return Ok(None);
    };
    let promise = ctx
        .store
        .entry_detail(entry.public_id.clone())
        .await?
        .and_then(|d| d.promises.into_iter().find(|p| p.event_id == event_id))
        .filter(|p| p.settled == Settled::Open);
    let Some(promise) = promise else {
        return Ok(None);
    };
    // Promised for today or tomorrow (it is due by the end of that UTC
    // day): its maker knows it is due.
    let fresh = promise.due_at - promise.created_at < 2 * DAY;
    if now <= promise.due_at && fresh {
        return Ok(None);
    }
    let made_by = if job.actor_id == Some(user.id) {
        None
    } else {
        let name = match &promise.made_by {
            Some(name) => Some(colleagues(ctx).await?.name(promise.made_by_id, name)),
            None => None,
        };
        Some(name.unwrap_or_else(|| "A colleague".to_owned()))
    };
    let mail = PromiseReminder {
        to: user.email.clone(),
        made_by,
        entry,
        text: promise.text,
        due_at: promise.due_at,
        now,
        public_url: ctx.public_url.to_string(),
    };
    Ok(Some(mail.outgoing()))
}
