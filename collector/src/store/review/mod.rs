//! What the review console reads and changes: the inbox, an entry with its
//! timeline, the workflow actions, promises and the response report.
//!
//! Every action records an event in the same transaction as the change it
//! describes, so the timeline cannot disagree with the entry.
//!
//! By use: `inbox` (the list, its pages and counts), `select` (a filter
//! as SQL) and `spans` (where a searched view reads), `entry` (one entry
//! with its timeline and promises), `actions` (what staff do to an entry),
//! `bulk` (one action on many) and `report` (promises and the waiting
//! summary over all entries).

mod actions;
mod bulk;
mod entry;
mod inbox;
mod report;
mod select;
mod spans;

use super::StoreError;
use crate::review::filter::{Filter, View};
use crate::review::workflow::{Author, LastMessage, PromiseState, Settled, WorkflowError, repeats};

pub use actions::NewReply;
pub(super) use actions::{NewEvent, move_status, record};
pub(in crate::store) use bulk::Verdict;
pub use bulk::{BulkAction, BulkOutcome, BulkTarget, Seen};
pub(in crate::store) use entry::{DETAIL_SELECT, EVENTS_SELECT, PROMISE_SELECT};
pub use entry::{EntryDetail, Receipt};
pub(super) use inbox::{
    INBOX_COLUMNS, SAME_CUSTOMER_CONDITIONS, customer_sql, inbox_page, keyset_page, page_sql,
    promise_sql,
};
pub use inbox::{InboxPage, InboxRow, SameCustomer, SiteSettings, WaitingSummary};
pub use report::{OPEN_SHOWN, OpenPromises, PromiseScope, Report, SETTLED_SHOWN, SettledCounts};
pub(in crate::store) use report::{open_from, open_limit, page_of_open};
pub(super) use select::{Resolved, matching, read_page};

/// Rows per inbox page.
pub const PAGE_SIZE: usize = 50;
/// Entries one bulk action may touch.
pub const BULK_MAX: usize = 200;

/// Entries not yet closed, written once for both conditions below (a
/// `const` cannot be spliced into another at compile time; `concat!` takes
/// a macro's literal).
macro_rules! open_sql {
    () => {
        "e.status IN ('new', 'acknowledged', 'in_progress')"
    };
}

/// Entries not yet closed: the open view. Written exactly as
/// `entries_open`'s condition, so the planner can use that index.
pub(in crate::store) const OPEN_SQL: &str = open_sql!();

/// Entries waiting for staff: open, and never answered or answered before
/// the customer's latest follow-up. Written exactly as `entries_waiting`'s
/// condition, so the planner can use that index.
pub(in crate::store) const WAITING_SQL: &str = concat!(
    open_sql!(),
    "
     AND (e.first_response_at IS NULL OR e.followup_at IS NOT NULL)"
);

/// Since when a waiting entry has waited: its latest unanswered follow-up,
/// or its arrival. Written exactly as `entries_waiting` is ordered, so the
/// waiting view reads that index in order.
pub(in crate::store) const WAITING_SINCE_SQL: &str = "coalesce(e.followup_at, e.created_at)";

/// The condition on `e` that `filter`'s view sets, the same in either
/// backend's SQL. All feedback leaves spam out unless statuses are
/// chosen, which then say which entries show.
pub(in crate::store) fn view_sql(filter: &Filter) -> Option<&'static str> {
    match filter.view {
        View::Waiting => Some(WAITING_SQL),
        View::Open => Some(OPEN_SQL),
        View::All if filter.statuses.is_empty() => Some("e.status <> 'spam'"),
        View::All => None,
        View::Spam => Some("e.status = 'spam'"),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Status,
    Assign,
    Note,
    Reply,
    PromiseKept,
    PromiseBroken,
    /// The customer wrote again, from their status page.
    FollowUp,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Status => "status",
            EventKind::Assign => "assign",
            EventKind::Note => "note",
            EventKind::Reply => "reply",
            EventKind::PromiseKept => "promise_kept",
            EventKind::PromiseBroken => "promise_broken",
            EventKind::FollowUp => "follow_up",
        }
    }

    pub(in crate::store) fn parse(raw: &str) -> Option<EventKind> {
        [
            EventKind::Status,
            EventKind::Assign,
            EventKind::Note,
            EventKind::Reply,
            EventKind::PromiseKept,
            EventKind::PromiseBroken,
            EventKind::FollowUp,
        ]
        .into_iter()
        .find(|k| k.as_str() == raw)
    }
}

#[derive(Debug, Clone)]
pub struct Event {
    pub id: i64,
    pub kind: EventKind,
    pub actor: Option<String>,
    pub body: Option<String>,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub created_at: i64,
    /// What became of the email telling the customer of this status
    /// change (a close), or that this reply's promise was kept, if one was
    /// queued.
    pub customer_mail: Option<Receipt>,
    /// The colleague's account (`actor` is their name), if a colleague did
    /// it.
    pub actor_id: Option<i64>,
    /// For an assignment recorded since these were kept, the accounts it
    /// moved the entry from and to (`old_value` and `new_value` name them).
    pub old_user: Option<i64>,
    pub new_user: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct PromiseRow {
    pub id: i64,
    pub entry_public_id: String,
    pub entry_reference: String,
    pub text: String,
    pub due_at: i64,
    pub settled: Settled,
    pub settled_at: Option<i64>,
    /// Who made it: their name, and their account (names are not unique).
    pub made_by: Option<String>,
    pub created_at: i64,
    /// The reply that made it.
    pub event_id: i64,
    pub made_by_id: Option<i64>,
    /// The site of its entry (the column is nullable, added after the
    /// table; every promise has one since).
    pub site_id: Option<i64>,
}

impl PromiseRow {
    pub fn state(&self, now: i64) -> PromiseState {
        PromiseState::of(self.settled, self.due_at, self.settled_at, now)
    }
}

/// Why an action was refused (as opposed to failing).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("no such entry")]
    NoEntry,
    /// Unknown, or disabled: a disabled account takes no new work.
    #[error("no active colleague is called that (a disabled account takes no new work)")]
    NoUser,
    #[error("no such promise")]
    NoPromise,
    #[error("this promise is already settled")]
    AlreadySettled,
    /// A colleague assigned the entry (or unassigned it) after the page
    /// asking for the change was shown.
    #[error(
        "a colleague changed who the entry is assigned to since it was shown to you: look at it again before assigning it"
    )]
    Reassigned,
    #[error(transparent)]
    Workflow(#[from] WorkflowError),
}

#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Whether assigning to `to` is refused for a colleague who saw the
/// entry assigned to `seen` (`None`: they did not say), now that it is
/// assigned to `now`: a change since is not undone unseen, unless it
/// already is what they ask for.
pub(in crate::store) fn reassigned(
    seen: Option<Option<i64>>,
    now: Option<i64>,
    to: Option<i64>,
) -> bool {
    seen.is_some_and(|seen| seen != now && now != to)
}

/// The entry's last note, as both backends read it: who wrote it, what,
/// when.
pub(in crate::store) const LAST_NOTE_SQL: &str = "SELECT actor_id, body, created_at FROM events
     WHERE entry_id = $1 AND kind = 'note' ORDER BY id DESC LIMIT 1";

/// Whether colleague `actor` noting `body` at `at` repeats the entry's
/// `last` note ([`LAST_NOTE_SQL`]): the same note sent twice, kept once.
pub(in crate::store) fn repeats_note(
    last: Option<(Option<i64>, Option<String>, i64)>,
    actor: i64,
    body: &str,
    at: i64,
) -> bool {
    last.is_some_and(|(by, said, when)| {
        let last = by.map(|by| LastMessage {
            author: Author::Staff(by),
            body: said.as_deref().unwrap_or_default(),
            at: when,
        });
        repeats(last, Author::Staff(actor), body, at)
    })
}

pub(in crate::store) type Outcome<T> = Result<Result<T, Refusal>, StoreError>;

pub(in crate::store) fn flatten<T>(outcome: Outcome<T>) -> Result<T, ReviewError> {
    Ok(outcome??)
}

#[cfg(test)]
mod tests {
    use super::reassigned;

    #[test]
    fn an_assignment_is_refused_only_when_it_would_undo_an_unseen_change() {
        // Not said what was seen: judged on the entry as it is.
        assert!(!reassigned(None, Some(2), Some(1)));
        // Seen as it is.
        assert!(!reassigned(Some(Some(2)), Some(2), Some(1)));
        assert!(!reassigned(Some(None), None, Some(1)));
        // Changed since: taken by a colleague, or let go.
        assert!(reassigned(Some(None), Some(2), Some(1)));
        assert!(reassigned(Some(Some(2)), None, Some(1)));
        assert!(reassigned(Some(Some(2)), Some(3), None));
        // Changed, but to what is asked: nothing to undo.
        assert!(!reassigned(Some(None), Some(1), Some(1)));
    }
}
