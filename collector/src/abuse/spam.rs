//! Bot detection that never loses a real customer's words: suspicious
//! entries are stored with status `spam` (reviewable, never notified),
//! and the sender gets the same answer as everyone else.

use std::time::Duration;

use earshot_protocol::BotSignals;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpamReason {
    /// The hidden honeypot field was filled in.
    Honeypot,
    /// The form was sent faster than a person can write.
    TooFast,
}

impl SpamReason {
    pub fn as_str(self) -> &'static str {
        match self {
            SpamReason::Honeypot => "honeypot",
            SpamReason::TooFast => "too_fast",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct SpamPolicy {
    /// Fill times below this are too fast; zero disables the check.
    pub min_fill: Duration,
}

impl SpamPolicy {
    pub fn judge(&self, signals: &BotSignals) -> Option<SpamReason> {
        if signals.honeypot_filled {
            return Some(SpamReason::Honeypot);
        }
        let too_fast = signals
            .fill_ms
            .is_some_and(|ms| Duration::from_millis(ms) < self.min_fill);
        too_fast.then_some(SpamReason::TooFast)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(ms: u64) -> SpamPolicy {
        SpamPolicy {
            min_fill: Duration::from_millis(ms),
        }
    }

    #[test]
    fn honeypot_wins_over_timing() {
        let s = BotSignals {
            honeypot_filled: true,
            fill_ms: Some(60_000),
        };
        assert_eq!(policy(1500).judge(&s), Some(SpamReason::Honeypot));
    }

    #[test]
    fn fill_time_is_judged_only_when_measured() {
        let fast = BotSignals {
            honeypot_filled: false,
            fill_ms: Some(200),
        };
        assert_eq!(policy(1500).judge(&fast), Some(SpamReason::TooFast));
        assert_eq!(policy(0).judge(&fast), None);
        assert_eq!(policy(1500).judge(&BotSignals::default()), None);
        let human = BotSignals {
            honeypot_filled: false,
            fill_ms: Some(1500),
        };
        assert_eq!(policy(1500).judge(&human), None);
    }
}
