//! The time, injectable: the console's waiting times and overdue promises
//! are computed against a [`Clock`] so tests can move time forward. And how
//! times are written: for people in UTC with minute precision, for
//! machines in RFC 3339.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// Unix milliseconds, from the system or from a hand-set value.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    manual: Option<Arc<AtomicI64>>,
}

impl Clock {
    pub fn system() -> Clock {
        Clock { manual: None }
    }

    /// A clock that stands still at `start` until [`Clock::advance`]d.
    pub fn manual(start: i64) -> Clock {
        Clock {
            manual: Some(Arc::new(AtomicI64::new(start))),
        }
    }

    pub fn now_millis(&self) -> i64 {
        match &self.manual {
            Some(at) => at.load(Ordering::Relaxed),
            None => crate::clock::system_millis(),
        }
    }

    /// Moves a manual clock forward; a system clock ignores it.
    pub fn advance(&self, millis: i64) {
        if let Some(at) = &self.manual {
            at.fetch_add(millis, Ordering::Relaxed);
        }
    }
}

/// The system's time as Unix milliseconds: the one place the wall clock is
/// read. Code that can take a [`Clock`] (or a time from its caller) should.
pub fn system_millis() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
}

/// `2026-11-22 14:03 UTC`.
pub fn timestamp(millis: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    time::OffsetDateTime::from_unix_timestamp(millis.div_euclid(1000))
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

/// `2026-11-27`.
pub fn date(millis: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::OffsetDateTime::from_unix_timestamp(millis.div_euclid(1000))
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

/// `2026-11-22T14:03:05Z`: UTC, whole seconds.
pub fn rfc3339(millis: i64) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    time::OffsetDateTime::from_unix_timestamp(millis.div_euclid(1000))
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_advanced_and_clones_share_it() {
        let clock = Clock::manual(1_000);
        let other = clock.clone();
        assert_eq!(clock.now_millis(), 1_000);
        other.advance(500);
        assert_eq!(clock.now_millis(), 1_500);
        assert!(Clock::system().now_millis() > 1_600_000_000_000);
    }

    #[test]
    fn times_are_written_in_utc() {
        let noon = 1_795_348_800_000 + 5_000;
        assert_eq!(timestamp(noon), "2026-11-22 12:00 UTC");
        assert_eq!(date(noon), "2026-11-22");
        assert_eq!(rfc3339(noon), "2026-11-22T12:00:05Z");
    }
}
