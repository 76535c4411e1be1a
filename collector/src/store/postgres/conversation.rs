//! The customer's side of the conversation, on PostgreSQL: follow-ups from
//! the status page and what the page shows.

use super::review::{move_status, notice, record};
use super::{Postgres, read_rows};
use crate::review::workflow::{Author, Settled, Status};
use crate::store::conversation::{LAST_MESSAGE_SQL, repeat_of};
use crate::store::notify::{Notice, NoticeKind};
use crate::store::review::NewEvent;
use crate::store::{EventKind, FollowedUp, PublicMessage, StoreError};

/// [`repeat_of`] the exchange's last message. Callers hold the entry's
/// row lock, so a second copy waits for the first and then finds it.
pub(super) async fn repeated(
    tx: &deadpool_postgres::Transaction<'_>,
    entry_id: i64,
    author: Author,
    body: &str,
    at: i64,
) -> Result<Option<i64>, StoreError> {
    let last = match tx.query_opt(LAST_MESSAGE_SQL, &[&entry_id]).await? {
        Some(row) => Some((
            row.try_get(0)?,
            row.try_get(1)?,
            row.try_get(2)?,
            row.try_get(3)?,
            row.try_get(4)?,
        )),
        None => None,
    };
    Ok(repeat_of(last, author, body, at))
}

impl Postgres {
    /// The customer wrote again: on the timeline and in search; waiting
    /// again from now if staff had answered; a closed entry reopens.
    /// `None` when the entry is gone.
    pub async fn follow_up(
        &self,
        entry_id: i64,
        body: String,
        at: i64,
    ) -> Result<Option<FollowedUp>, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let status: Option<Status> = tx
            .query_opt(
                "SELECT status FROM entries WHERE id = $1 FOR UPDATE",
                &[&entry_id],
            )
            .await?
            .map(|r| r.try_get(0))
            .transpose()?;
        let Some(status) = status else {
            return Ok(None);
        };
        // The entry's row lock above makes a second copy wait here, then
        // find the first.
        if let Some(event_id) = repeated(&tx, entry_id, Author::Customer, &body, at).await? {
            tx.commit().await?;
            return Ok(Some(FollowedUp {
                event_id,
                reopened: false,
            }));
        }
        let event_id = record(
            &tx,
            NewEvent {
                entry_id,
                actor: None,
                kind: EventKind::FollowUp,
                body: Some(&body),
                old_value: None,
                new_value: None,
                old_user: None,
                new_user: None,
                at,
            },
        )
        .await?;
        if status == Status::Spam {
            tx.commit().await?;
            return Ok(Some(FollowedUp {
                event_id,
                reopened: false,
            }));
        }
        let reopened = matches!(status, Status::Resolved | Status::WontFix)
            && move_status(&tx, entry_id, status, Status::InProgress, None, at)
                .await?
                .is_ok();
        tx.execute(
            "UPDATE entries SET search = search || earshot_words($3),
                    followup_at = CASE WHEN first_response_at IS NOT NULL
                                       THEN coalesce(followup_at, $2) ELSE followup_at END
             WHERE id = $1",
            &[&entry_id, &at, &body],
        )
        .await?;
        notice(
            &tx,
            Notice {
                kind: NoticeKind::FollowUp,
                entry_id,
                actor: None,
                subject: Some(event_id),
                old_value: None,
                new_value: None,
                at,
            },
        )
        .await?;
        tx.commit().await?;
        self.changed();
        Ok(Some(FollowedUp { event_id, reopened }))
    }

    /// Replies and follow-ups in order, with the promises replies made.
    pub async fn public_conversation(
        &self,
        entry_id: i64,
    ) -> Result<Vec<PublicMessage>, StoreError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT ev.body, ev.created_at, ev.kind, p.text, p.due_at, p.state
                 FROM events ev LEFT JOIN promises p ON p.event_id = ev.id
                 WHERE ev.entry_id = $1 AND ev.kind IN ('reply', 'follow_up') ORDER BY ev.id",
            )
            .await?;
        let rows = client.query(&stmt, &[&entry_id]).await?;
        read_rows(&rows, |r| {
            let promise = match (
                r.try_get::<_, Option<String>>(3)?,
                r.try_get::<_, Option<i64>>(4)?,
            ) {
                (Some(text), Some(due)) => Some((text, due, r.try_get::<_, Settled>(5)?)),
                _ => None,
            };
            Ok(PublicMessage {
                body: r.try_get::<_, Option<String>>(0)?.unwrap_or_default(),
                created_at: r.try_get(1)?,
                by_customer: r.try_get::<_, &str>(2)? == EventKind::FollowUp.as_str(),
                promise,
            })
        })
    }
}
