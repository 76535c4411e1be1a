//! The rules staff work by: which status may follow which, how urgent a
//! waiting customer is, and whether a promise was kept. Plain functions of
//! their inputs (the time included), so every rule is unit-tested here.

use std::fmt;

pub const MINUTE: i64 = 60_000;
pub const HOUR: i64 = 60 * MINUTE;
pub const DAY: i64 = 24 * HOUR;

/// A message (a customer's follow-up, a colleague's reply) that repeats,
/// word for word, the exchange's last message by the same person within
/// this long is the same one sent twice: a double click, or the sent form
/// reloaded. It is kept, and sent on, once. An internal note that repeats
/// the entry's last note by the same colleague is kept once too.
pub const REPEAT_WINDOW: i64 = 10 * MINUTE;

/// Who wrote a message of the exchange with the customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Author {
    Customer,
    Staff(i64),
}

/// The exchange's last message: who wrote it, what, when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastMessage<'a> {
    pub author: Author,
    pub body: &'a str,
    pub at: i64,
}

/// Whether `author` saying `body` at `at` repeats the exchange's `last`
/// message.
pub fn repeats(last: Option<LastMessage<'_>>, author: Author, body: &str, at: i64) -> bool {
    last.is_some_and(|last| {
        last.author == author && last.body == body && at - last.at < REPEAT_WINDOW
    })
}

/// Where an entry is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    New,
    Acknowledged,
    InProgress,
    Resolved,
    WontFix,
    Spam,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WorkflowError {
    #[error("the entry is already {}", .0.label().to_lowercase())]
    Unchanged(Status),
    #[error("an entry that is {} cannot move to {}", .from.label().to_lowercase(), .to.label().to_lowercase())]
    NotAllowed { from: Status, to: Status },
    #[error(
        "a colleague moved the entry to {} since it was shown to you as {}: look at it again before changing it",
        .now.label().to_lowercase(),
        .seen.label().to_lowercase()
    )]
    Changed { seen: Status, now: Status },
}

impl Status {
    pub const ALL: [Status; 6] = [
        Status::New,
        Status::Acknowledged,
        Status::InProgress,
        Status::Resolved,
        Status::WontFix,
        Status::Spam,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Acknowledged => "acknowledged",
            Status::InProgress => "in_progress",
            Status::Resolved => "resolved",
            Status::WontFix => "wont_fix",
            Status::Spam => "spam",
        }
    }

    pub fn parse(raw: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::New => "New",
            Status::Acknowledged => "Acknowledged",
            Status::InProgress => "In progress",
            Status::Resolved => "Resolved",
            Status::WontFix => "Won't fix",
            Status::Spam => "Spam",
        }
    }

    /// Still someone's job: counts towards "who is waiting".
    pub fn is_open(self) -> bool {
        matches!(
            self,
            Status::New | Status::Acknowledged | Status::InProgress
        )
    }

    /// The statuses staff may move an entry to from this one: forward along
    /// new → acknowledged → in progress → resolved / won't fix, spam from
    /// anywhere open, and back again to reopen or to rescue a false
    /// positive, to any open status (an entry answered before it was taken
    /// for spam goes back to acknowledged, not new).
    pub fn next(self) -> &'static [Status] {
        use Status::*;
        match self {
            New => &[Acknowledged, InProgress, Resolved, WontFix, Spam],
            Acknowledged => &[InProgress, Resolved, WontFix, Spam],
            InProgress => &[Acknowledged, Resolved, WontFix, Spam],
            Resolved | WontFix => &[InProgress],
            Spam => &[New, Acknowledged, InProgress],
        }
    }

    /// Where a rescued spam entry goes back to: the open status it had
    /// before it was marked (`before`, from its timeline), else new.
    pub fn rescued(before: Option<Status>) -> Status {
        before.filter(|s| s.is_open()).unwrap_or(Status::New)
    }

    /// The step staff most likely take next: forward along the workflow,
    /// or back to work for a closed entry. The status form preselects it.
    pub fn forward(self) -> Status {
        match self {
            Status::New => Status::Acknowledged,
            Status::Acknowledged => Status::InProgress,
            Status::InProgress => Status::Resolved,
            Status::Resolved | Status::WontFix => Status::InProgress,
            Status::Spam => Status::New,
        }
    }

    /// A move asked for by someone who saw the entry as `seen`: refused
    /// when a colleague has moved it since (unless it is already where they
    /// want it), so that nobody undoes a colleague's change unseen.
    pub fn transition_from(
        self,
        seen: Option<Status>,
        to: Status,
    ) -> Result<Status, WorkflowError> {
        match seen {
            Some(seen) if seen != self && self != to => {
                Err(WorkflowError::Changed { seen, now: self })
            }
            _ => self.transition(to),
        }
    }

    pub fn transition(self, to: Status) -> Result<Status, WorkflowError> {
        if self == to {
            Err(WorkflowError::Unchanged(to))
        } else if self.next().contains(&to) {
            Ok(to)
        } else {
            Err(WorkflowError::NotAllowed { from: self, to })
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// How a waiting customer stands against the site's first-response target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Urgency {
    /// Less than three quarters of the target used.
    OnTrack,
    /// Three quarters or more used: answer soon.
    Nearing,
    /// Past the target.
    Late,
}

impl Urgency {
    pub fn of(waited_ms: i64, target_ms: i64) -> Urgency {
        let target = target_ms.max(1);
        if waited_ms > target {
            Urgency::Late
        } else if waited_ms.saturating_mul(4) >= target.saturating_mul(3) {
            Urgency::Nearing
        } else {
            Urgency::OnTrack
        }
    }

    pub fn css(self) -> &'static str {
        match self {
            Urgency::OnTrack => "on-track",
            Urgency::Nearing => "nearing",
            Urgency::Late => "late",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Urgency::OnTrack => "on track",
            Urgency::Nearing => "nearing target",
            Urgency::Late => "past target",
        }
    }
}

/// Stored state of a promise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    Open,
    Kept,
    Broken,
}

impl Settled {
    pub fn as_str(self) -> &'static str {
        match self {
            Settled::Open => "open",
            Settled::Kept => "kept",
            Settled::Broken => "broken",
        }
    }

    pub fn parse(raw: &str) -> Option<Settled> {
        [Settled::Open, Settled::Kept, Settled::Broken]
            .into_iter()
            .find(|s| s.as_str() == raw)
    }
}

/// A promise as staff see it, at a given moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromiseState {
    Open,
    /// Open and due within a day.
    DueSoon,
    /// Open and past its due time.
    Overdue,
    KeptOnTime,
    KeptLate,
    Broken,
}

impl PromiseState {
    pub fn of(settled: Settled, due_at: i64, settled_at: Option<i64>, now: i64) -> PromiseState {
        match settled {
            Settled::Open if now > due_at => PromiseState::Overdue,
            Settled::Open if due_at - now <= DAY => PromiseState::DueSoon,
            Settled::Open => PromiseState::Open,
            Settled::Kept if settled_at.is_some_and(|at| at <= due_at) => PromiseState::KeptOnTime,
            Settled::Kept => PromiseState::KeptLate,
            Settled::Broken => PromiseState::Broken,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            PromiseState::Open => "open",
            PromiseState::DueSoon => "due soon",
            PromiseState::Overdue => "overdue",
            PromiseState::KeptOnTime => "kept on time",
            PromiseState::KeptLate => "kept late",
            PromiseState::Broken => "broken",
        }
    }

    pub fn css(self) -> &'static str {
        match self {
            PromiseState::Open | PromiseState::KeptOnTime => "on-track",
            PromiseState::DueSoon | PromiseState::KeptLate => "nearing",
            PromiseState::Overdue | PromiseState::Broken => "late",
        }
    }
}

/// Share of promises kept on time among those whose outcome is known:
/// settled ones, plus open ones already overdue (they can no longer be kept
/// on time). `None` until there is something to judge.
pub fn kept_on_time_rate(kept_on_time: i64, not_kept_on_time: i64) -> Option<f64> {
    let judged = kept_on_time.max(0) + not_kept_on_time.max(0);
    (judged > 0).then(|| kept_on_time.max(0) as f64 / judged as f64)
}

/// "3 d 4 h", "2 h 5 min", "1 d", "12 min", "under 1 min": how long, at a
/// glance (a target of "1 d 0 h" reads as less round than it is). It
/// follows "waiting", "after" and "within"; for a moment in the past use
/// [`human_ago`].
pub fn human_duration(ms: i64) -> String {
    let ms = ms.max(0);
    let (days, hours, minutes) = (ms / DAY, (ms % DAY) / HOUR, (ms % HOUR) / MINUTE);
    if days > 0 && hours > 0 {
        format!("{days} d {hours} h")
    } else if days > 0 {
        format!("{days} d")
    } else if hours > 0 && minutes > 0 {
        format!("{hours} h {minutes} min")
    } else if hours > 0 {
        format!("{hours} h")
    } else if minutes > 0 {
        format!("{minutes} min")
    } else {
        "under 1 min".to_owned()
    }
}

/// "just now", "12 min ago", "3 d 4 h ago": when something happened.
pub fn human_ago(ms: i64) -> String {
    if ms < MINUTE {
        "just now".to_owned()
    } else {
        format!("{} ago", human_duration(ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_repeats_only_its_authors_own_last_words_just_sent() {
        let now = 100 * MINUTE;
        let said = |author, at| {
            Some(LastMessage {
                author,
                body: "Any news?",
                at,
            })
        };
        let theirs = said(Author::Customer, now - MINUTE);
        assert!(repeats(theirs, Author::Customer, "Any news?", now));
        assert!(
            !repeats(theirs, Author::Customer, "Any news?!", now),
            "other words"
        );
        assert!(
            !repeats(theirs, Author::Staff(7), "Any news?", now),
            "another author"
        );
        assert!(repeats(
            said(Author::Staff(7), now - MINUTE),
            Author::Staff(7),
            "Any news?",
            now
        ));
        assert!(
            !repeats(
                said(Author::Staff(8), now - MINUTE),
                Author::Staff(7),
                "Any news?",
                now
            ),
            "a colleague's words"
        );
        assert!(
            !repeats(
                said(Author::Customer, now - REPEAT_WINDOW),
                Author::Customer,
                "Any news?",
                now
            ),
            "asked again later"
        );
        assert!(!repeats(None, Author::Customer, "Any news?", now));
    }

    #[test]
    fn the_suggested_step_is_forward_and_always_allowed() {
        use Status::*;
        assert_eq!(InProgress.forward(), Resolved);
        assert_eq!(Acknowledged.forward(), InProgress);
        assert_eq!(Resolved.forward(), InProgress);
        for s in Status::ALL {
            assert!(s.transition(s.forward()).is_ok(), "{s:?}");
        }
    }

    #[test]
    fn status_moves_forward_and_can_be_reopened_but_not_skipped_backwards() {
        use Status::*;
        assert_eq!(New.transition(Acknowledged), Ok(Acknowledged));
        assert_eq!(Acknowledged.transition(InProgress), Ok(InProgress));
        assert_eq!(InProgress.transition(Resolved), Ok(Resolved));
        assert_eq!(Resolved.transition(InProgress), Ok(InProgress));
        assert_eq!(Spam.transition(New), Ok(New));
        assert_eq!(Spam.transition(Acknowledged), Ok(Acknowledged));
        assert_eq!(Spam.transition(InProgress), Ok(InProgress));
        assert!(Spam.transition(Resolved).is_err());
        // A rescue goes back where it was, if that was open.
        assert_eq!(Status::rescued(Some(Acknowledged)), Acknowledged);
        assert_eq!(Status::rescued(Some(InProgress)), InProgress);
        assert_eq!(Status::rescued(Some(Resolved)), New);
        assert_eq!(Status::rescued(None), New);
        assert_eq!(
            Resolved.transition(New),
            Err(WorkflowError::NotAllowed {
                from: Resolved,
                to: New
            })
        );
        assert_eq!(
            Acknowledged.transition(New),
            Err(WorkflowError::NotAllowed {
                from: Acknowledged,
                to: New
            })
        );
        assert_eq!(New.transition(New), Err(WorkflowError::Unchanged(New)));
        for status in Status::ALL {
            assert_eq!(Status::parse(status.as_str()), Some(status));
            assert!(!status.next().contains(&status));
        }
        assert_eq!(Status::parse("deleted"), None);
    }

    #[test]
    fn urgency_turns_amber_at_three_quarters_and_red_past_the_target() {
        let target = 24 * HOUR;
        assert_eq!(Urgency::of(0, target), Urgency::OnTrack);
        assert_eq!(Urgency::of(18 * HOUR - 1, target), Urgency::OnTrack);
        assert_eq!(Urgency::of(18 * HOUR, target), Urgency::Nearing);
        assert_eq!(Urgency::of(24 * HOUR, target), Urgency::Nearing);
        assert_eq!(Urgency::of(24 * HOUR + 1, target), Urgency::Late);
        assert_eq!(Urgency::of(5, 0), Urgency::Late);
    }

    #[test]
    fn promise_state_depends_on_the_clock_until_settled() {
        let due = 10 * DAY;
        let open = |now| PromiseState::of(Settled::Open, due, None, now);
        assert_eq!(open(due - 2 * DAY), PromiseState::Open);
        assert_eq!(open(due - DAY), PromiseState::DueSoon);
        assert_eq!(open(due), PromiseState::DueSoon);
        assert_eq!(open(due + 1), PromiseState::Overdue);
        let kept = |at| PromiseState::of(Settled::Kept, due, Some(at), due + 30 * DAY);
        assert_eq!(kept(due), PromiseState::KeptOnTime);
        assert_eq!(kept(due + 1), PromiseState::KeptLate);
        assert_eq!(
            PromiseState::of(Settled::Broken, due, Some(due - DAY), 0),
            PromiseState::Broken
        );
    }

    #[test]
    fn kept_on_time_rate_is_none_until_something_can_be_judged() {
        assert_eq!(kept_on_time_rate(0, 0), None);
        assert_eq!(kept_on_time_rate(2, 1), Some(2.0 / 3.0));
        assert_eq!(kept_on_time_rate(0, 2), Some(0.0));
    }

    #[test]
    fn durations_read_at_a_glance() {
        assert_eq!(human_duration(-5), "under 1 min");
        assert_eq!(human_duration(59_999), "under 1 min");
        assert_eq!(human_duration(12 * MINUTE), "12 min");
        assert_eq!(human_duration(2 * HOUR + 5 * MINUTE), "2 h 5 min");
        assert_eq!(human_duration(3 * DAY + 4 * HOUR + 9 * MINUTE), "3 d 4 h");
        assert_eq!(human_duration(DAY + 30 * MINUTE), "1 d");
        assert_eq!(human_duration(2 * HOUR + 59_999), "2 h");
        assert_eq!(human_ago(59_999), "just now");
        assert_eq!(human_ago(12 * MINUTE), "12 min ago");
    }

    #[test]
    fn a_move_made_on_a_stale_view_is_refused_naming_what_changed() {
        use Status::*;
        assert_eq!(New.transition_from(Some(New), Resolved), Ok(Resolved));
        assert_eq!(New.transition_from(None, Resolved), Ok(Resolved));
        assert_eq!(
            WontFix.transition_from(Some(New), Resolved),
            Err(WorkflowError::Changed {
                seen: New,
                now: WontFix
            })
        );
        // Already where they want it: said as such, not as a conflict.
        assert_eq!(
            Resolved.transition_from(Some(New), Resolved),
            Err(WorkflowError::Unchanged(Resolved))
        );
        let said = WorkflowError::Changed {
            seen: New,
            now: WontFix,
        }
        .to_string();
        assert_eq!(
            said,
            "a colleague moved the entry to won't fix since it was shown to you as new: \
             look at it again before changing it"
        );
    }
}
