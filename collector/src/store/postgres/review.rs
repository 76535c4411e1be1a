//! What staff read and do on PostgreSQL: one entry with its timeline and
//! promises, and the workflow actions, each recording its event and
//! notice in the same transaction as the change (as on SQLite). The rules
//! themselves (which status moves are allowed) are `review::workflow`'s.
//!
//! Every action locks its entry (`FOR UPDATE`): two colleagues acting on
//! one entry through two collectors are applied one after the other, each
//! seeing the other's result, as SQLite's single writer guarantees.

use deadpool_postgres::{Client, GenericClient, Transaction};
use tokio_postgres::Row;

use super::{Postgres, audit, read_opt, read_rows};
use crate::review::workflow::{Settled, Status};
use crate::store::notify::{Notice, NoticeKind};
use crate::store::review::{
    DETAIL_SELECT, EVENTS_SELECT, NewEvent, Outcome, PROMISE_SELECT, flatten,
};
use crate::store::{
    AttachmentMeta, BULK_MAX, BulkAction, BulkOutcome, EntryDetail, Event, EventKind, NewReply,
    PromiseRow, Refusal, ReviewError, StoreError,
};

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
    read_opt(row, |r| {
        let status: String = r.try_get(1)?;
        Ok((r.try_get(0)?, Status::parse(&status).unwrap_or(Status::New)))
    })
}

pub(super) async fn record(tx: &Transaction<'_>, event: NewEvent<'_>) -> Result<i64, StoreError> {
    let stmt = tx
        .prepare_cached(
            "INSERT INTO events (entry_id, actor_id, kind, body, old_value, new_value, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
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
    record(
        tx,
        NewEvent {
            entry_id,
            actor,
            kind: EventKind::Status,
            body: None,
            old_value: old,
            new_value: new,
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
            subject: None,
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

pub(super) fn promise(r: &Row) -> Result<PromiseRow, StoreError> {
    let settled: String = r.try_get(5)?;
    Ok(PromiseRow {
        id: r.try_get(0)?,
        entry_public_id: r.try_get(1)?,
        entry_reference: r.try_get(2)?,
        text: r.try_get(3)?,
        due_at: r.try_get(4)?,
        settled: Settled::parse(&settled).unwrap_or(Settled::Open),
        settled_at: r.try_get(6)?,
        made_by: r.try_get(7)?,
        created_at: r.try_get(8)?,
    })
}

fn detail(r: &Row) -> Result<EntryDetail, StoreError> {
    let status: String = r.try_get(5)?;
    Ok(EntryDetail {
        id: r.try_get(0)?,
        public_id: r.try_get(1)?,
        reference: r.try_get(2)?,
        status_token: r.try_get(3)?,
        kind: r.try_get(4)?,
        status: Status::parse(&status).unwrap_or(Status::New),
        severity: r.try_get(6)?,
        message: r.try_get(7)?,
        expected: r.try_get(8)?,
        actual: r.try_get(9)?,
        email: r.try_get(10)?,
        name: r.try_get(11)?,
        page_url: r.try_get(12)?,
        page_title: r.try_get(13)?,
        page_referrer: r.try_get(14)?,
        user_agent: r.try_get(15)?,
        language: r.try_get(16)?,
        timezone: r.try_get(17)?,
        viewport: r.try_get(18)?,
        spam_reason: r.try_get(19)?,
        created_at: r.try_get(20)?,
        first_response_at: r.try_get(21)?,
        site_name: r.try_get(22)?,
        first_response_target_ms: r.try_get::<_, i64>(23)?.saturating_mul(60_000),
        assignee_id: r.try_get(24)?,
        host_context: r
            .try_get::<_, Option<String>>(25)?
            .and_then(|json| {
                serde_json::from_str::<std::collections::BTreeMap<String, String>>(&json).ok()
            })
            .map(|map| map.into_iter().collect())
            .unwrap_or_default(),
        followup_at: r.try_get(26)?,
        attachments: Vec::new(),
        events: Vec::new(),
        promises: Vec::new(),
    })
}

pub(super) async fn attachments(
    client: &Client,
    entry_id: i64,
) -> Result<Vec<AttachmentMeta>, StoreError> {
    let stmt = client
        .prepare_cached(
            "SELECT public_id, content_type, size, created_at, width, height FROM attachments
             WHERE entry_id = $1 ORDER BY id",
        )
        .await?;
    let rows = client.query(&stmt, &[&entry_id]).await?;
    read_rows(&rows, |r| {
        let (width, height): (Option<i64>, Option<i64>) = (r.try_get(4)?, r.try_get(5)?);
        let side = |v: Option<i64>| v.and_then(|v| u32::try_from(v).ok());
        Ok(AttachmentMeta {
            public_id: r.try_get(0)?,
            content_type: r.try_get(1)?,
            size: r.try_get(2)?,
            created_at: r.try_get(3)?,
            dimensions: side(width)
                .zip(side(height))
                .map(|(width, height)| earshot_protocol::Dimensions { width, height }),
        })
    })
}

impl Postgres {
    /// The public id of the entry with this reference.
    pub async fn entry_by_reference(
        &self,
        reference: String,
    ) -> Result<Option<String>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT public_id FROM entries WHERE reference = $1",
                &[&reference],
            )
            .await?;
        read_opt(row, |r| Ok(r.try_get(0)?))
    }

    pub async fn entry_detail(&self, public_id: String) -> Result<Option<EntryDetail>, StoreError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!("{DETAIL_SELECT} WHERE e.public_id = $1"))
            .await?;
        let Some(row) = client.query_opt(&stmt, &[&public_id]).await? else {
            return Ok(None);
        };
        let mut entry = detail(&row)?;
        entry.attachments = attachments(&client, entry.id).await?;
        let stmt = client
            .prepare_cached(&format!(
                "{EVENTS_SELECT} WHERE ev.entry_id = $1 ORDER BY ev.id"
            ))
            .await?;
        let rows = client.query(&stmt, &[&entry.id]).await?;
        entry.events = read_rows(&rows, |r| {
            let kind: String = r.try_get(1)?;
            // The CHECK constraint admits only known kinds; skip others.
            let Some(kind) = EventKind::parse(&kind) else {
                return Ok(None);
            };
            Ok(Some(Event {
                id: r.try_get(0)?,
                kind,
                actor: r.try_get(2)?,
                body: r.try_get(3)?,
                old_value: r.try_get(4)?,
                new_value: r.try_get(5)?,
                created_at: r.try_get(6)?,
            }))
        })?
        .into_iter()
        .flatten()
        .collect();
        let stmt = client
            .prepare_cached(&format!(
                "{PROMISE_SELECT} WHERE p.entry_id = $1 ORDER BY p.id"
            ))
            .await?;
        entry.promises = client
            .query(&stmt, &[&entry.id])
            .await?
            .iter()
            .map(promise)
            .collect::<Result<_, _>>()?;
        Ok(Some(entry))
    }

    pub async fn set_status(
        &self,
        public_id: String,
        to: Status,
        actor: i64,
        at: i64,
    ) -> Result<(), ReviewError> {
        let mut client = self.client().await?;
        let (tx, id, from) = on_entry(&mut client, &public_id).await?;
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
        let mut client = self.client().await?;
        let (tx, id, _) = on_entry(&mut client, &public_id).await?;
        if let Some(user) = assignee
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
        record(
            &tx,
            NewEvent {
                entry_id: id,
                actor: Some(actor),
                kind: EventKind::Note,
                body: Some(&body),
                old_value: None,
                new_value: None,
                at,
            },
        )
        .await?;
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
        let event_id = record(
            &tx,
            NewEvent {
                entry_id,
                actor: Some(actor),
                kind: EventKind::Reply,
                body: Some(&new.body),
                old_value: None,
                new_value: None,
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

    /// Applies one action to many entries; entries it cannot apply to are
    /// counted as skipped, not failed.
    pub async fn bulk(
        &self,
        public_ids: Vec<String>,
        action: BulkAction,
        actor: i64,
        at: i64,
    ) -> Result<BulkOutcome, ReviewError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(StoreError::from)?;
        if let BulkAction::Assign(Some(user)) = action
            && !is_active_user(&tx, user).await?
        {
            return Err(Refusal::NoUser.into());
        }
        let mut outcome = BulkOutcome::default();
        for public_id in public_ids.iter().take(BULK_MAX) {
            let Some((id, from)) = locate(&tx, public_id).await? else {
                outcome.skipped += 1;
                continue;
            };
            let changed = match &action {
                BulkAction::Assign(user) => assign_one(&tx, id, *user, actor, at).await?,
                BulkAction::Status(to) => move_status(&tx, id, from, *to, Some(actor), at)
                    .await?
                    .is_ok(),
            };
            if changed {
                outcome.changed += 1;
            } else {
                outcome.skipped += 1;
            }
        }
        // Each entry's timeline has the change; the audit log keeps that
        // one person changed many at once.
        if outcome.changed > 0 {
            let assignee = match &action {
                BulkAction::Assign(Some(user)) => Some(
                    tx.query_one("SELECT email FROM users WHERE id = $1", &[user])
                        .await
                        .map_err(StoreError::from)?
                        .try_get(0)
                        .map_err(StoreError::from)?,
                ),
                _ => None,
            };
            let (what, subject, detail) = action.audit(outcome, assignee);
            audit(&tx, Some(actor), what, &subject, Some(&detail), at).await?;
        }
        tx.commit().await.map_err(StoreError::from)?;
        self.changed();
        Ok(outcome)
    }
}
