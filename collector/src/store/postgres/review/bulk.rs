//! One action applied to many entries on PostgreSQL; which entries it
//! applies to is `BulkAction::verdict`'s, as on SQLite.

use std::collections::HashMap;

use deadpool_postgres::Transaction;

use super::super::{Postgres, audit};
use super::{assign_one, id_and_status, is_active_user, move_status};
use crate::review::workflow::Status;
use crate::store::review::Verdict;
use crate::store::{
    BULK_MAX, BulkAction, BulkOutcome, BulkTarget, Refusal, ReviewError, StoreError,
};

/// Locks the entries `public_ids` names, in id order, before any is
/// changed; their ids, statuses and assignees by public id. A change may
/// take the reports' sums (see `rollup`), and a transaction holding them
/// must not then wait for an entry that another holds while it waits for
/// the sums; in id order, as a roll-up locks its entries, two such
/// transactions never wait for each other's entries either.
async fn lock_all(
    tx: &Transaction<'_>,
    public_ids: &[&str],
) -> Result<HashMap<String, (i64, Status, Option<i64>)>, StoreError> {
    let rows = tx
        .query(
            "SELECT public_id, id, status, assignee_id FROM entries WHERE public_id = ANY($1)
             ORDER BY id FOR UPDATE",
            &[&public_ids],
        )
        .await?;
    rows.iter()
        .map(|r| {
            let (id, status) = id_and_status(r, 1)?;
            Ok((r.try_get(0)?, (id, status, r.try_get(3)?)))
        })
        .collect()
}

impl Postgres {
    /// Applies one action to many entries; entries it cannot apply to are
    /// counted as skipped, and those changed since the page was shown as
    /// stale, not failed.
    pub async fn bulk(
        &self,
        targets: Vec<BulkTarget>,
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
        let targets = &targets[..targets.len().min(BULK_MAX)];
        let wanted: Vec<&str> = targets.iter().map(|t| t.public_id.as_str()).collect();
        let mut found = lock_all(&tx, &wanted).await?;
        let mut outcome = BulkOutcome::default();
        for target in targets {
            // Named twice: the second finds it changed already.
            let Some((id, status, assignee)) = found.remove(&target.public_id) else {
                outcome.count(Verdict::Skip);
                continue;
            };
            let verdict = match (action.verdict(target.seen, status, assignee), &action) {
                (Verdict::Apply, BulkAction::Assign(user)) => {
                    if assign_one(&tx, id, *user, actor, at).await? {
                        Verdict::Apply
                    } else {
                        Verdict::Skip
                    }
                }
                (Verdict::Apply, BulkAction::Status(to)) => {
                    match move_status(&tx, id, status, *to, Some(actor), at).await? {
                        Ok(()) => Verdict::Apply,
                        Err(_) => Verdict::Skip,
                    }
                }
                (judged, _) => judged,
            };
            outcome.count(verdict);
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
