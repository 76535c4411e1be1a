//! Saying that background work keeps failing without saying it twice a
//! second: a full disk fails every write and every checkpoint until someone
//! frees space, and a line in the log for each would only fill the log,
//! which may live on that disk.

use std::time::{Duration, Instant};

/// How often a failure that goes on is said again.
const REPEAT_EVERY: Duration = Duration::from_secs(60);

/// Whether one piece of background work is failing, since when, and when
/// that was last said.
#[derive(Debug, Default)]
pub(crate) struct Outage {
    failing: Option<Failing>,
}

#[derive(Debug)]
struct Failing {
    since: Instant,
    said: Instant,
}

/// What a failure calls for.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The first after success: log it.
    First,
    /// Going on for this long, and not said for a while: log it again.
    Ongoing(Duration),
    /// Said lately.
    Quiet,
}

impl Outage {
    pub(crate) fn failed(&mut self, now: Instant) -> Failure {
        match &mut self.failing {
            None => {
                self.failing = Some(Failing {
                    since: now,
                    said: now,
                });
                Failure::First
            }
            Some(failing) if now.duration_since(failing.said) >= REPEAT_EVERY => {
                failing.said = now;
                Failure::Ongoing(now.duration_since(failing.since))
            }
            Some(_) => Failure::Quiet,
        }
    }

    /// How long it had been failing, if it was.
    pub(crate) fn succeeded(&mut self, now: Instant) -> Option<Duration> {
        self.failing
            .take()
            .map(|failing| now.duration_since(failing.since))
    }

    /// Warns that `work` failed, as [`Outage::failed`] calls for.
    pub(crate) fn warn(&mut self, now: Instant, work: &str, error: &dyn std::fmt::Display) {
        match self.failed(now) {
            Failure::First => tracing::warn!(%error, "{work} failed; retrying"),
            Failure::Ongoing(lasted) => tracing::warn!(
                %error,
                failing_for_s = lasted.as_secs(),
                "{work} still fails; retrying"
            ),
            Failure::Quiet => {}
        }
    }

    /// Says that `work` works again, if it was failing.
    pub(crate) fn recover(&mut self, now: Instant, work: &str) {
        if let Some(lasted) = self.succeeded(now) {
            tracing::info!(failed_for_s = lasted.as_secs(), "{work} works again");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_is_said_first_then_once_a_minute_and_its_end_with_its_length() {
        let t0 = Instant::now();
        let at = |secs: u64| t0 + Duration::from_secs(secs);
        let mut outage = Outage::default();
        assert_eq!(outage.succeeded(at(0)), None);
        assert_eq!(outage.failed(at(1)), Failure::First);
        assert_eq!(outage.failed(at(2)), Failure::Quiet);
        assert_eq!(outage.failed(at(60)), Failure::Quiet);
        assert_eq!(
            outage.failed(at(61)),
            Failure::Ongoing(Duration::from_secs(60))
        );
        assert_eq!(outage.failed(at(62)), Failure::Quiet);
        assert_eq!(outage.succeeded(at(90)), Some(Duration::from_secs(89)));
        assert_eq!(outage.succeeded(at(91)), None);
        assert_eq!(outage.failed(at(92)), Failure::First);
    }
}
