//! What staff do on PostgreSQL (what they read of one entry is `entry`'s):
//! the workflow actions, each recording its event and notice in the same
//! transaction as the change (as on SQLite). The rules
//! themselves (which status moves are allowed) are `review::workflow`'s.
//!
//! Every action locks its entry (`FOR UPDATE`): two colleagues acting on
//! one entry through two collectors are applied one after the other, each
//! seeing the other's result, as SQLite's single writer guarantees.

mod bulk;
mod entry;

pub(super) use entry::promise;

use deadpool_postgres::{Client, GenericClient, Transaction};
use tokio_postgres::Row;

use super::{Postgres, read_opt};
use crate::review::workflow::{Settled, Status};
use crate::store::notify::{Notice, NoticeKind};
use crate::store::review::{NewEvent, Outcome, flatten};
use crate::store::{EventKind, NewReply, Refusal, ReviewError, StoreError};

/// A transaction holding the entry `public_id` locked, with its id and
/// status; refused with [`Refusal::NoEntry`] when there is none.
async fn on_entry<'c>(
    client: &'c mut Client,
    public_id: &str,
) -> Result<(Transaction<'c>, i64, Status), ReviewError> {
    let tx = client.transaction().await.map_err(StoreError::from)?;
    match locate(&tx, public_id).await? {
        Some((id, status)) => Ok((tx, id, status)),
        None => Err(Refusal::NoEntry.into()),
    }
}

async fn locate(
    tx: &Transaction<'_>,
    public_id: &str,
) -> Result<Option<(i64, Status)>, StoreError> {
    let stmt = tx
        .prepare_cached("SELECT id, status FROM entries WHERE public_id = $1 FOR UPDATE")
        .await?;
    let row = tx.query_opt(&stmt, &[&public_id]).await?;
    read_opt(row, |r| id_and_status(r, 0))
}

/// An entry's id and status from columns `at` and `at + 1` of `r`.
fn id_and_status(r: &Row, at: usize) -> Result<(i64, Status), StoreError> {
    Ok((r.try_get(at)?, r.try_get(at + 1)?))
}

pub(super) async fn record(tx: &Transaction<'_>, event: NewEvent<'_>) -> Result<i64, StoreError> {
    let stmt = tx
        .prepare_cached(
            "INSERT INTO events (entry_id, actor_id, kind, body, old_value, new_value,
                                 old_user_id, new_user_id, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .await?;
    Ok(tx
        .query_one(
            &stmt,
            &[
                &event.entry_id,
                &event.actor,
                &event.kind.as_str(),
                &event.body,
                &event.old_value,
                &event.new_value,
                &event.old_user,
                &event.new_user,
                &event.at,
            ],
        )
        .await?
        .try_get(0)?)
}

pub(super) async fn notice(tx: &Transaction<'_>, n: Notice<'_>) -> Result<(), StoreError> {
    let stmt = tx
        .prepare_cached(
            "INSERT INTO notices (kind, entry_id, actor_id, subject_id, old_value, new_value, at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .await?;
    tx.execute(
        &stmt,
        &[
            &n.kind.as_str(),
            &n.entry_id,
            &n.actor,
            &n.subject,
            &n.old_value,
            &n.new_value,
            &n.at,
        ],
    )
    .await?;
    Ok(())
}

pub(super) async fn move_status(
    tx: &Transaction<'_>,
    entry_id: i64,
    from: Status,
    to: Status,
    actor: Option<i64>,
    at: i64,
) -> Outcome<()> {
    if let Err(e) = from.transition(to) {
        return Ok(Err(e.into()));
    }
    tx.execute(
        "UPDATE entries SET status = $2 WHERE id = $1",
        &[&entry_id, &to.as_str()],
    )
    .await?;
    super::rollup::status_changed(tx, entry_id, from.as_str(), to.as_str(), at).await?;
    let (old, new) = (Some(from.as_str()), Some(to.as_str()));
    let event = record(
        tx,
        NewEvent {
            entry_id,
            actor,
            kind: EventKind::Status,
            body: None,
            old_value: old,
            new_value: new,
            old_user: None,
            new_user: None,
            at,
        },
    )
    .await?;
    notice(
        tx,
        Notice {
            kind: NoticeKind::Status,
            entry_id,
            actor,
            subject: Some(event),
            old_value: old,
            new_value: new,
            at,
        },
    )
    .await?;
    Ok(Ok(()))
}

async fn is_active_user(tx: &Transaction<'_>, user_id: i64) -> Result<bool, StoreError> {
    Ok(tx
        .query_opt(
            "SELECT 1 FROM users WHERE id = $1 AND disabled_at IS NULL",
            &[&user_id],
        )
        .await?
        .is_some())
}

async fn user_name(
    tx: &Transaction<'_>,
    user_id: Option<i64>,
) -> Result<Option<String>, StoreError> {
    let Some(id) = user_id else {
        return Ok(None);
    };
    let row = tx
        .query_opt("SELECT name FROM users WHERE id = $1", &[&id])
        .await?;
    read_opt(row, |r| Ok(r.try_get(0)?))
}

/// Assigns (or unassigns) one entry; `false` when nothing changed.
async fn assign_one(
    tx: &Transaction<'_>,
    entry_id: i64,
    assignee: Option<i64>,
    actor: i64,
    at: i64,
) -> Result<bool, StoreError> {
    let current: Option<i64> = tx
        .query_one(
            "SELECT assignee_id FROM entries WHERE id = $1",
            &[&entry_id],
        )
        .await?
        .try_get(0)?;
    if current == assignee {
        return Ok(false);
    }
    tx.execute(
        "UPDATE entries SET assignee_id = $2 WHERE id = $1",
        &[&entry_id, &assignee],
    )
    .await?;
    let old = user_name(tx, current).await?;
    let new = user_name(tx, assignee).await?;
    record(
        tx,
        NewEvent {
            entry_id,
            actor: Some(actor),
            kind: EventKind::Assign,
            body: None,
            old_value: old.as_deref(),
            new_value: new.as_deref(),
            old_user: current,
            new_user: assignee,
            at,
        },
    )
    .await?;
    notice(
        tx,
        Notice {
            kind: NoticeKind::Assign,
            entry_id,
            actor: Some(actor),
            subject: assignee,
            old_value: old.as_deref(),
            new_value: new.as_deref(),
            at,
        },
    )
    .await?;
    Ok(true)
}

impl Postgres {
    pub async fn set_status(
        &self,
        public_id: String,
        to: Status,
        actor: i64,
        at: i64,
    ) -> Result<(), ReviewError> {
        self.set_status_seen(public_id, None, to, actor, at).await
    }

    /// Moves the entry to `to` for a colleague who saw it as `seen`:
    /// refused if someone has moved it since ([`Status::transition_from`]).
    pub async fn set_status_seen(
        &self,
        public_id: String,
        seen: Option<Status>,
        to: Status,
        actor: i64,
        at: i64,
    ) -> Result<(), ReviewError> {
        let mut client = self.client().await?;
        let (tx, id, from) = on_entry(&mut client, &public_id).await?;
        from.transition_from(seen, to).map_err(Refusal::from)?;
        flatten(move_status(&tx, id, from, to, Some(actor), at).await)?;
        tx.commit().await.map_err(StoreError::from)?;
        self.changed();
        Ok(())
    }

    pub async fn assign(
        &self,
        public_id: String,
        assignee: Option<i64>,
        actor: i64,
        at: i64,
    ) -> Result<(), ReviewError> {
        self.assign_seen(public_id, None, assignee, actor, at).await
    }

    /// Assigns the entry for a colleague who saw it assigned to `seen`
    /// (`Some(None)`: to nobody): refused if someone has changed that since.
    pub async fn assign_seen(
        &self,
        public_id: String,
        seen: Option<Option<i64>>,
        assignee: Option<i64>,
        actor: i64,
        at: i64,
    ) -> Result<(), ReviewError> {
        let mut client = self.client().await?;
        let (tx, id, _) = on_entry(&mut client, &public_id).await?;
        let now: Option<i64> = tx
            .query_one("SELECT assignee_id FROM entries WHERE id = $1", &[&id])
            .await
            .map_err(StoreError::from)?
            .try_get(0)
            .map_err(StoreError::from)?;
        if crate::store::review::reassigned(seen, now, assignee) {
            return Err(Refusal::Reassigned.into());
        }
        // Kept with whoever has it (a colleague since disabled too): no
        // change. Only new work needs an active colleague.
        if let Some(user) = assignee.filter(|_| assignee != now)
            && !is_active_user(&tx, user).await?
        {
            return Err(Refusal::NoUser.into());
        }
        assign_one(&tx, id, assignee, actor, at).await?;
        tx.commit().await.map_err(StoreError::from)?;
        self.changed();
        Ok(())
    }

    /// An internal note: on the timeline and in search, never shown to the
    /// customer.
    pub async fn add_note(
        &self,
        public_id: String,
        body: String,
        actor: i64,
        at: i64,
    ) -> Result<(), ReviewError> {
        let mut client = self.client().await?;
        let (tx, id, _) = on_entry(&mut client, &public_id).await?;
        // Sent twice (a double click): colleagues read it once. The entry's
        // row lock makes a second copy wait for the first, then find it.
        let last = match tx
            .query_opt(crate::store::review::LAST_NOTE_SQL, &[&id])
            .await
            .map_err(StoreError::from)?
        {
            Some(row) => Some((
                row.try_get(0).map_err(StoreError::from)?,
                row.try_get(1).map_err(StoreError::from)?,
                row.try_get(2).map_err(StoreError::from)?,
            )),
            None => None,
        };
        if crate::store::review::repeats_note(last, actor, &body, at) {
            return Ok(());
        }
        let event = record(
            &tx,
            NewEvent {
                entry_id: id,
                actor: Some(actor),
                kind: EventKind::Note,
                body: Some(&body),
                old_value: None,
                new_value: None,
                old_user: None,
                new_user: None,
                at,
            },
        )
        .await?;
        if let Some(mention) = Notice::of_note(&body, id, actor, event, at) {
            notice(&tx, mention).await?;
        }
        tx.execute(
            "UPDATE entries SET search = search || earshot_words($2) WHERE id = $1",
            &[&id, &body],
        )
        .await
        .map_err(StoreError::from)?;
        tx.commit().await.map_err(StoreError::from)?;
        self.changed();
        Ok(())
    }

    /// A reply to the customer, shown on their status page; may carry a
    /// promise. Returns the reply's event id.
    pub async fn reply(
        &self,
        public_id: String,
        new: NewReply,
        actor: i64,
        at: i64,
    ) -> Result<i64, ReviewError> {
        let mut client = self.client().await?;
        let (tx, entry_id, status) = on_entry(&mut client, &public_id).await?;
        // Sent twice (a double click): the customer hears it once.
        let author = crate::review::workflow::Author::Staff(actor);
        let again = super::conversation::repeated(&tx, entry_id, author, &new.body, at).await?;
        if let Some(event_id) = again {
            tx.commit().await.map_err(StoreError::from)?;
            return Ok(event_id);
        }
        let event_id = record(
            &tx,
            NewEvent {
                entry_id,
                actor: Some(actor),
                kind: EventKind::Reply,
                body: Some(&new.body),
                old_value: None,
                new_value: None,
                old_user: None,
                new_user: None,
                at,
            },
        )
        .await?;
        // A reply answers the customer's follow-ups too.
        tx.execute(
            "UPDATE entries SET followup_at = NULL WHERE id = $1 AND followup_at IS NOT NULL",
            &[&entry_id],
        )
        .await
        .map_err(StoreError::from)?;
        // The first reply stops the first-response clock.
        let first = tx
            .execute(
                "UPDATE entries SET first_response_at = $2 WHERE id = $1 AND first_response_at IS NULL",
                &[&entry_id, &at],
            )
            .await
            .map_err(StoreError::from)?;
        if first == 1 && status != Status::Spam {
            super::rollup::first_response(&tx, entry_id, at).await?;
        }
        // Answering a new entry acknowledges it.
        if status == Status::New {
            move_status(&tx, entry_id, status, Status::Acknowledged, Some(actor), at)
                .await?
                .ok();
        }
        let mut said = Notice {
            kind: NoticeKind::Reply,
            entry_id,
            actor: Some(actor),
            subject: Some(event_id),
            old_value: None,
            new_value: None,
            at,
        };
        notice(&tx, said.clone()).await?;
        if let Some((text, due_at)) = &new.promise {
            let promise_id: i64 = tx
                .query_one(
                    "INSERT INTO promises (entry_id, event_id, made_by, text, due_at, created_at, site_id)
                     VALUES ($1, $2, $3, $4, $5, $6, (SELECT site_id FROM entries WHERE id = $1))
                     RETURNING id",
                    &[&entry_id, &event_id, &actor, text, due_at, &at],
                )
                .await
                .map_err(StoreError::from)?
                .try_get(0)
                .map_err(StoreError::from)?;
            said.kind = NoticeKind::PromiseMade;
            said.subject = Some(promise_id);
            notice(&tx, said).await?;
        }
        tx.commit().await.map_err(StoreError::from)?;
        self.changed();
        Ok(event_id)
    }

    /// Notes on a reply whether its email went out, for the timeline.
    pub async fn mark_reply_mailed(&self, event_id: i64, sent: bool) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE events SET new_value = $2 WHERE id = $1 AND kind = 'reply'",
                &[&event_id, &if sent { "emailed" } else { "email_failed" }],
            )
            .await?;
        Ok(())
    }

    /// Records that a promise was kept or broken.
    pub async fn settle_promise(
        &self,
        public_id: String,
        promise_id: i64,
        kept: bool,
        actor: i64,
        at: i64,
    ) -> Result<(), ReviewError> {
        let mut client = self.client().await?;
        let (tx, entry_id, _) = on_entry(&mut client, &public_id).await?;
        let found = tx
            .query_opt(
                "SELECT state, text FROM promises WHERE id = $1 AND entry_id = $2",
                &[&promise_id, &entry_id],
            )
            .await
            .map_err(StoreError::from)?;
        let Some(found) = found else {
            return Err(Refusal::NoPromise.into());
        };
        let read = |i| found.try_get(i).map_err(StoreError::from);
        let (state, text): (String, String) = (read(0)?, read(1)?);
        if state != Settled::Open.as_str() {
            return Err(Refusal::AlreadySettled.into());
        }
        let (settled, kind) = if kept {
            (Settled::Kept, EventKind::PromiseKept)
        } else {
            (Settled::Broken, EventKind::PromiseBroken)
        };
        tx.execute(
            "UPDATE promises SET state = $2, settled_at = $3 WHERE id = $1",
            &[&promise_id, &settled.as_str(), &at],
        )
        .await
        .map_err(StoreError::from)?;
        record(
            &tx,
            NewEvent {
                entry_id,
                actor: Some(actor),
                kind,
                body: Some(&text),
                old_value: None,
                new_value: None,
                old_user: None,
                new_user: None,
                at,
            },
        )
        .await?;
        notice(
            &tx,
            Notice {
                kind: NoticeKind::PromiseSettled,
                entry_id,
                actor: Some(actor),
                subject: Some(promise_id),
                old_value: None,
                new_value: Some(settled.as_str()),
                at,
            },
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        self.changed();
        Ok(())
    }
}
