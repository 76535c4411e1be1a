//! One action applied to many entries from the inbox, and what each
//! backend needs to decide, entry by entry, whether it applies.
//!
//! The inbox page says what it showed of each selected entry; an entry a
//! colleague has moved or reassigned since is left alone, as the entry
//! page's own forms refuse such a change, rather than undone unseen.

use super::actions::{assign_one, is_active_user, locate, move_status};
use super::{BULK_MAX, Refusal, ReviewError, flatten, reassigned};
use crate::review::workflow::{Status, WorkflowError};
use crate::store::Sqlite;

#[derive(Debug, Clone, PartialEq)]
pub enum BulkAction {
    Assign(Option<i64>),
    Status(Status),
}

impl BulkAction {
    /// What the audit log keeps of a bulk change: the action, its subject
    /// and detail. `assignee` is the email of the colleague assigned.
    pub(in crate::store) fn audit(
        &self,
        outcome: BulkOutcome,
        assignee: Option<String>,
    ) -> (&'static str, String, String) {
        let (what, to) = match self {
            BulkAction::Status(to) => ("entries.bulk_status", to.as_str().to_owned()),
            BulkAction::Assign(None) => ("entries.bulk_assign", "nobody".to_owned()),
            BulkAction::Assign(Some(_)) => ("entries.bulk_assign", assignee.unwrap_or_default()),
        };
        let subject = crate::store::counted(outcome.changed, "entry", "entries");
        let detail = format!(
            "to={to},skipped={},stale={}",
            outcome.skipped, outcome.stale
        );
        (what, subject, detail)
    }

    /// Whether the action applies to an entry that is now `status` and
    /// assigned to `assignee`, for a colleague who saw it as `seen`.
    pub(in crate::store) fn verdict(
        &self,
        seen: Option<Seen>,
        status: Status,
        assignee: Option<i64>,
    ) -> Verdict {
        match *self {
            BulkAction::Status(to) => match status.transition_from(seen.map(|s| s.status), to) {
                Ok(_) => Verdict::Apply,
                Err(WorkflowError::Changed { .. }) => Verdict::Stale,
                Err(_) => Verdict::Skip,
            },
            BulkAction::Assign(to) => {
                if reassigned(seen.map(|s| s.assignee), assignee, to) {
                    Verdict::Stale
                } else if assignee == to {
                    Verdict::Skip
                } else {
                    Verdict::Apply
                }
            }
        }
    }
}

/// What the page showed of an entry: its status and assignee.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    pub status: Status,
    pub assignee: Option<i64>,
}

/// An entry a bulk action names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkTarget {
    pub public_id: String,
    /// What the page showed of it; `None`: not said, judged as it is.
    pub seen: Option<Seen>,
}

impl BulkTarget {
    /// An entry named without saying what was seen of it.
    pub fn unseen(public_id: impl Into<String>) -> BulkTarget {
        BulkTarget {
            public_id: public_id.into(),
            seen: None,
        }
    }
}

/// What a bulk action does to one entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::store) enum Verdict {
    Apply,
    /// Nothing to do, or a move the workflow forbids.
    Skip,
    /// A colleague changed it since the page was shown.
    Stale,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BulkOutcome {
    pub changed: usize,
    /// Entries the action did not apply to (unknown, already so, or a
    /// status move the workflow forbids).
    pub skipped: usize,
    /// Entries a colleague changed after the page was shown: left alone.
    pub stale: usize,
}

impl BulkOutcome {
    /// Counts what was done (or not) to one entry.
    pub(in crate::store) fn count(&mut self, verdict: Verdict) {
        match verdict {
            Verdict::Apply => self.changed += 1,
            Verdict::Skip => self.skipped += 1,
            Verdict::Stale => self.stale += 1,
        }
    }
}

impl Sqlite {
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
        flatten(
            self.write(move |conn| {
                if let BulkAction::Assign(Some(user)) = action
                    && !is_active_user(conn, user)?
                {
                    return Ok(Err(Refusal::NoUser));
                }
                let mut outcome = BulkOutcome::default();
                for target in targets.iter().take(BULK_MAX) {
                    let Some((id, status, assignee)) = locate(conn, &target.public_id)? else {
                        outcome.count(Verdict::Skip);
                        continue;
                    };
                    let verdict = match (action.verdict(target.seen, status, assignee), &action) {
                        (Verdict::Apply, BulkAction::Assign(user)) => {
                            if assign_one(conn, id, *user, actor, at)? {
                                Verdict::Apply
                            } else {
                                Verdict::Skip
                            }
                        }
                        (Verdict::Apply, BulkAction::Status(to)) => {
                            match move_status(conn, id, status, *to, Some(actor), at)? {
                                Ok(()) => Verdict::Apply,
                                Err(_) => Verdict::Skip,
                            }
                        }
                        (judged, _) => judged,
                    };
                    outcome.count(verdict);
                }
                // Each entry's timeline has the change too; the audit log
                // keeps that one person changed many at once.
                if outcome.changed > 0 {
                    let assignee = match &action {
                        BulkAction::Assign(Some(user)) => Some(
                            conn.prepare_cached("SELECT email FROM users WHERE id = ?1")?
                                .query_row([user], |r| r.get(0))?,
                        ),
                        _ => None,
                    };
                    let (what, subject, detail) = action.audit(outcome, assignee);
                    crate::store::accounts::audit(
                        conn,
                        Some(actor),
                        what,
                        &subject,
                        Some(&detail),
                        at,
                    )?;
                }
                Ok(Ok(outcome))
            })
            .await,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::{BulkAction, Seen, Verdict};
    use crate::review::workflow::Status::{self, *};

    fn seen(status: Status, assignee: Option<i64>) -> Option<Seen> {
        Some(Seen { status, assignee })
    }

    #[test]
    fn a_bulk_status_move_leaves_an_entry_a_colleague_moved_since() {
        let resolve = BulkAction::Status(Resolved);
        assert_eq!(resolve.verdict(seen(New, None), New, None), Verdict::Apply);
        assert_eq!(resolve.verdict(None, Acknowledged, None), Verdict::Apply);
        assert_eq!(
            resolve.verdict(seen(New, None), Acknowledged, None),
            Verdict::Stale
        );
        // Already resolved by someone: nothing to undo, nothing to do.
        assert_eq!(
            resolve.verdict(seen(New, None), Resolved, None),
            Verdict::Skip
        );
        // Only the status counts for a status move.
        assert_eq!(
            resolve.verdict(seen(New, None), New, Some(3)),
            Verdict::Apply
        );
        // A move the workflow forbids, as seen.
        assert_eq!(
            BulkAction::Status(Acknowledged).verdict(seen(Resolved, None), Resolved, None),
            Verdict::Skip
        );
    }

    #[test]
    fn a_bulk_assignment_leaves_an_entry_a_colleague_reassigned_since() {
        let to_me = BulkAction::Assign(Some(1));
        assert_eq!(to_me.verdict(seen(New, None), New, None), Verdict::Apply);
        assert_eq!(to_me.verdict(seen(New, None), New, Some(2)), Verdict::Stale);
        assert_eq!(to_me.verdict(None, New, Some(2)), Verdict::Apply);
        assert_eq!(to_me.verdict(seen(New, None), New, Some(1)), Verdict::Skip);
        // Only the assignee counts for an assignment.
        assert_eq!(
            to_me.verdict(seen(New, None), Resolved, None),
            Verdict::Apply
        );
        assert_eq!(
            BulkAction::Assign(None).verdict(seen(New, Some(2)), New, None),
            Verdict::Skip
        );
    }
}
