//! Announcing what happens, on PostgreSQL: the dispatcher's batches (who
//! wants what: `notify_prefs`).
//!
//! New entries wait in `entries_to_announce` (queued as each is stored) and
//! notices in `notices`. A batch is read, rendered, then completed by
//! deleting exactly what it took: if another collector completed any of
//! it first, nothing is queued twice (the deletion finds less than it
//! took, and this batch rolls back).

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::{Postgres, read_rows};
use crate::review::workflow::DAY;
use crate::store::notify::{NoticeKind, RECEIPT_SITES_SQL, SNAPSHOT_SELECT, Taken};
use crate::store::{
    CLOSED_GRACE_MS, Dispatched, EndpointRow, EntriesTaken, FOLD_WINDOW_MS, NewEntryFact,
    NoticeFact, Pending, StoreError,
};
use crate::webhooks::payload::{EntrySnapshot, PromiseDetail};

fn snapshot(r: &Row) -> Result<(i64, i64, EntrySnapshot), StoreError> {
    Ok((
        r.try_get(0)?,
        r.try_get(1)?,
        EntrySnapshot {
            public_id: r.try_get(2)?,
            reference: r.try_get(3)?,
            kind: r.try_get(4)?,
            status: r.try_get(5)?,
            severity: r.try_get(6)?,
            message: r.try_get(7)?,
            expected: r.try_get(8)?,
            actual: r.try_get(9)?,
            name: r.try_get(10)?,
            email: r.try_get(11)?,
            page_url: r.try_get(12)?,
            page_title: r.try_get(13)?,
            site_key: r.try_get(14)?,
            site_name: r.try_get(15)?,
            assignee: r.try_get(16)?,
            created_at: r.try_get(17)?,
        },
    ))
}

impl Postgres {
    /// Up to `limit` new entries and notices waiting to be announced.
    pub async fn pending_dispatch(&self, limit: i64) -> Result<Pending, StoreError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                "{SNAPSHOT_SELECT} JOIN entries_to_announce q ON q.entry_id = e.id
                 ORDER BY e.id LIMIT $1"
            ))
            .await?;
        let mut taken = Vec::new();
        let mut entries = Vec::new();
        for row in client.query(&stmt, &[&limit]).await? {
            let (id, site_id, entry) = snapshot(&row)?;
            taken.push(id);
            // Marked spam before it was announced: nobody hears of it.
            if entry.status != "spam" {
                entries.push(NewEntryFact { id, site_id, entry });
            }
        }
        let raw = client
            .query(
                "SELECT n.id, n.kind, n.entry_id, n.actor_id, u.name, n.subject_id, n.old_value,
                        n.new_value, n.at
                 FROM notices n LEFT JOIN users u ON u.id = n.actor_id ORDER BY n.id LIMIT $1",
                &[&limit],
            )
            .await?;
        let one_entry = client
            .prepare_cached(&format!("{SNAPSHOT_SELECT} WHERE e.id = $1"))
            .await?;
        let mut notices = Vec::new();
        for r in raw {
            let kind: String = r.try_get(1)?;
            let Some(kind) = NoticeKind::parse(&kind) else {
                continue;
            };
            let entry_id: i64 = r.try_get(2)?;
            let subject: Option<i64> = r.try_get(5)?;
            let Some(row) = client.query_opt(&one_entry, &[&entry_id]).await? else {
                continue;
            };
            let (_, site_id, entry) = snapshot(&row)?;
            let reply = match (kind, subject) {
                (NoticeKind::Reply | NoticeKind::FollowUp | NoticeKind::Note, Some(event)) => {
                    client
                        .query_opt("SELECT body FROM events WHERE id = $1", &[&event])
                        .await?
                        .map(|r| r.try_get::<_, Option<String>>(0))
                        .transpose()?
                        .flatten()
                }
                _ => None,
            };
            let assignee_id = match kind {
                NoticeKind::FollowUp | NoticeKind::PromiseDue | NoticeKind::PromiseOverdue => {
                    client
                        .query_opt(
                            "SELECT assignee_id FROM entries WHERE id = $1",
                            &[&entry_id],
                        )
                        .await?
                        .map(|r| r.try_get::<_, Option<i64>>(0))
                        .transpose()?
                        .flatten()
                }
                _ => None,
            };
            let promise = match (kind, subject) {
                (
                    NoticeKind::PromiseMade
                    | NoticeKind::PromiseSettled
                    | NoticeKind::PromiseDue
                    | NoticeKind::PromiseOverdue,
                    Some(promise_id),
                ) => client
                    .query_opt(
                        "SELECT id, text, due_at, state, event_id, made_by FROM promises WHERE id = $1",
                        &[&promise_id],
                    )
                    .await?
                    .map(|r| {
                        let state: String = r.try_get(3)?;
                        Ok::<_, StoreError>(PromiseDetail {
                            id: r.try_get(0)?,
                            text: r.try_get(1)?,
                            due_at: r.try_get(2)?,
                            outcome: (state != "open").then_some(state),
                            event_id: r.try_get(4)?,
                            made_by: r.try_get(5)?,
                        })
                    })
                    .transpose()?,
                _ => None,
            };
            notices.push(NoticeFact {
                id: r.try_get(0)?,
                kind,
                entry_id,
                site_id,
                entry,
                actor_id: r.try_get(3)?,
                actor: r.try_get(4)?,
                subject,
                old_value: r.try_get(6)?,
                new_value: r.try_get(7)?,
                at: r.try_get(8)?,
                reply,
                assignee_id,
                promise,
            });
        }
        let rows = client
            .query(
                "SELECT id, site_id, events, format, include_email FROM webhooks
                 WHERE state <> 'disabled'",
                &[],
            )
            .await?;
        let endpoints = read_rows(&rows, |r| {
            Ok(EndpointRow {
                id: r.try_get(0)?,
                site_id: r.try_get(1)?,
                events: r.try_get(2)?,
                format: r.try_get(3)?,
                include_email: r.try_get(4)?,
            })
        })?;
        let rows = client.query(RECEIPT_SITES_SQL, &[]).await?;
        let receipt_sites = read_rows(&rows, |r| Ok(r.try_get(0)?))?;
        Ok(Pending {
            entries,
            taken: EntriesTaken::new(Taken::Queue(taken)),
            notices,
            unreadable_notices: Vec::new(),
            endpoints,
            receipt_sites,
        })
    }

    /// Queues a batch's messages and takes what it announced off the
    /// queues, in one transaction. `false` when another collector had
    /// taken any of it already (then nothing is queued).
    pub async fn complete_dispatch(&self, done: Dispatched) -> Result<bool, StoreError> {
        let Taken::Queue(entry_ids) = done.taken.taken() else {
            return Err(StoreError::Corrupt("a batch taken elsewhere".into()));
        };
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let removed = tx
            .execute(
                "DELETE FROM entries_to_announce WHERE entry_id = ANY($1)",
                &[entry_ids],
            )
            .await?;
        let notices = tx
            .execute(
                "DELETE FROM notices WHERE id = ANY($1)",
                &[&done.notice_ids],
            )
            .await?;
        let wanted = |ids: &[i64]| u64::try_from(ids.len()).unwrap_or(u64::MAX);
        if removed != wanted(entry_ids) || notices != wanted(&done.notice_ids) {
            // Dropping the transaction rolls it back.
            return Ok(false);
        }
        let delivery = tx
            .prepare_cached(
                "INSERT INTO webhook_deliveries (webhook_id, msg_id, event, entry_id, body, created_at, due_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $6)",
            )
            .await?;
        for d in &done.deliveries {
            tx.execute(
                &delivery,
                &[
                    &d.webhook_id,
                    &d.msg_id,
                    &d.event,
                    &d.entry_id,
                    &d.body,
                    &done.at,
                ],
            )
            .await?;
        }
        // An email that folds, to someone sent one of its kind within the
        // fold window, is born waiting for the window to end; a closing
        // email waits out its grace from the close, a kept promise's from
        // when it was kept.
        let mail = tx
            .prepare_cached(
                "INSERT INTO mail_outbox (kind, user_id, entry_id, event_id, actor_id, created_at, due_at)
                 VALUES ($1, $2, $3, $4, $5, $6, CASE $1
                     WHEN 'new_entry' THEN greatest($6, coalesce((SELECT max(sent_at) FROM mail_outbox
                         WHERE user_id = $2 AND kind = 'new_entry' AND state = 'sent') + $7, $6))
                     WHEN 'assigned' THEN greatest($6, coalesce((SELECT max(sent_at) FROM mail_outbox
                         WHERE user_id = $2 AND kind = 'assigned' AND state = 'sent') + $7, $6))
                     WHEN 'closed' THEN coalesce((SELECT created_at FROM events WHERE id = $4), $6) + $8
                     WHEN 'kept' THEN coalesce((SELECT settled_at FROM promises WHERE event_id = $4), $6) + $8
                     ELSE $6 END)",
            )
            .await?;
        for m in &done.mails {
            tx.execute(
                &mail,
                &[
                    &m.kind.as_str(),
                    &m.user_id,
                    &m.entry_id,
                    &m.event_id,
                    &m.actor_id,
                    &done.at,
                    &FOLD_WINDOW_MS,
                    &CLOSED_GRACE_MS,
                ],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Writes notices for open promises that turned due soon (a day ahead)
    /// or overdue, once each even with several collectors (each promise is
    /// marked and its notice written by one statement); returns how many.
    pub async fn notice_promises(&self, now: i64) -> Result<usize, StoreError> {
        let client = self.client().await?;
        let mut count = 0;
        // $1 is now, $2 how far ahead a promise counts as due soon.
        for (kind, column, condition, ahead) in [
            (
                NoticeKind::PromiseDue,
                "due_noticed_at",
                "due_at - $2::bigint <= $1::bigint AND due_at >= $1::bigint",
                DAY,
            ),
            (
                NoticeKind::PromiseOverdue,
                "overdue_noticed_at",
                "due_at < $1::bigint + $2::bigint",
                0,
            ),
        ] {
            let written = client
                .execute(
                    &format!(
                        "WITH marked AS (
                             UPDATE promises SET {column} = $1::bigint
                             WHERE state = 'open' AND {column} IS NULL AND {condition}
                             RETURNING id, entry_id
                         )
                         INSERT INTO notices (kind, entry_id, subject_id, at)
                         SELECT $3::text, entry_id, id, $1::bigint FROM marked"
                    ),
                    &[&now, &ahead, &kind.as_str()],
                )
                .await?;
            count += usize::try_from(written).unwrap_or(usize::MAX);
        }
        if count > 0 {
            self.changed();
        }
        Ok(count)
    }

    /// Queues the digest of everyone whose digest is due
    /// ([`Prefs::digest_day`](crate::notify::Prefs::digest_day)), whose account is older than its hour
    /// ([`Prefs::digest_scheduled`](crate::notify::Prefs::digest_scheduled)) and who has not had it yet (once per person
    /// and day, whichever collector gets there first); returns how many.
    pub async fn queue_digests(&self, now: i64) -> Result<usize, StoreError> {
        let client = self.client().await?;
        let mut queued = 0;
        for (user, prefs) in super::notify_prefs::staff_prefs(&client).await? {
            let Some((day, scheduled)) = prefs
                .digest_day(now)
                .and_then(|day| Some((day, prefs.digest_scheduled(day)?)))
            else {
                continue;
            };
            let added = client
                .execute(
                    "INSERT INTO mail_outbox (kind, user_id, day, created_at, due_at)
                     SELECT 'digest', id, $2, $3, $3 FROM users
                     WHERE id = $1 AND created_at <= $4
                     ON CONFLICT DO NOTHING",
                    &[&user.id, &day, &now, &scheduled],
                )
                .await?;
            queued += usize::try_from(added).unwrap_or(usize::MAX);
        }
        Ok(queued)
    }
}
