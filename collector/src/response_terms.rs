//! What a site tells its customers about answering: the first-response
//! target the inbox and reports measure staff against, and the promise the
//! widget's receipt shows. Set in the console or with `earshot site edit`,
//! under one rule wherever they are typed.

/// Longest first-response target: a month.
pub const TARGET_HOURS_MAX: i64 = 24 * 30;

/// Longest response promise, in characters (it sits on the receipt).
pub const PROMISE_MAX: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TermsError {
    #[error(
        "the first-response target is a whole number of hours from 1 to {}",
        TARGET_HOURS_MAX
    )]
    Target,
    #[error("keep the response promise to {} characters", PROMISE_MAX)]
    PromiseTooLong,
    #[error("a response promise is one line, without control characters")]
    PromiseControl,
}

/// How soon staff should first answer, in whole hours from 1 to
/// [`TARGET_HOURS_MAX`]; kept in minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FirstResponseTarget(i64);

impl FirstResponseTarget {
    pub fn parse_hours(raw: &str) -> Result<Self, TermsError> {
        raw.trim()
            .parse::<i64>()
            .ok()
            .filter(|h| (1..=TARGET_HOURS_MAX).contains(h))
            .map(|h| FirstResponseTarget(h * 60))
            .ok_or(TermsError::Target)
    }

    pub fn minutes(self) -> i64 {
        self.0
    }
}

/// The promise shown to a customer once their feedback is in ("We answer
/// within one business day"); empty means none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponsePromise(Option<String>);

impl ResponsePromise {
    pub fn parse(raw: &str) -> Result<Self, TermsError> {
        let promise = raw.trim();
        if promise.chars().count() > PROMISE_MAX {
            return Err(TermsError::PromiseTooLong);
        }
        if promise.chars().any(char::is_control) {
            return Err(TermsError::PromiseControl);
        }
        Ok(ResponsePromise(
            (!promise.is_empty()).then(|| promise.to_owned()),
        ))
    }

    pub fn into_inner(self) -> Option<String> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_is_whole_hours_from_one_to_a_month() {
        assert_eq!(
            FirstResponseTarget::parse_hours(" 24 ").unwrap().minutes(),
            1_440
        );
        assert_eq!(
            FirstResponseTarget::parse_hours("720").unwrap().minutes(),
            43_200
        );
        for refused in ["0", "721", "-1", "1.5", "", "a day"] {
            assert_eq!(
                FirstResponseTarget::parse_hours(refused),
                Err(TermsError::Target),
                "{refused:?}"
            );
        }
        assert_eq!(
            TermsError::Target.to_string(),
            "the first-response target is a whole number of hours from 1 to 720"
        );
    }

    #[test]
    fn a_promise_is_one_trimmed_line_and_empty_is_none() {
        assert_eq!(
            ResponsePromise::parse("  We answer within a day ")
                .unwrap()
                .into_inner()
                .as_deref(),
            Some("We answer within a day")
        );
        assert_eq!(ResponsePromise::parse("   ").unwrap().into_inner(), None);
        assert!(ResponsePromise::parse(&"é".repeat(PROMISE_MAX)).is_ok());
        assert_eq!(
            ResponsePromise::parse(&"é".repeat(PROMISE_MAX + 1)),
            Err(TermsError::PromiseTooLong)
        );
        assert_eq!(
            ResponsePromise::parse("We answer\nBcc: all@example.com"),
            Err(TermsError::PromiseControl)
        );
    }
}
