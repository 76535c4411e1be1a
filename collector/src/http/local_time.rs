//! Moments on pages: written in UTC, as the server knows no reader's time
//! zone, inside a `<time datetime>` that `static/local-time.js` (on the
//! console and on customers' status pages) shows in the reader's own zone,
//! keeping UTC on hover.

use maud::{Markup, html};

use crate::clock::{date, rfc3339, timestamp};
use crate::review::workflow::human_ago;

pub fn moment(millis: i64) -> Markup {
    html! { time datetime=(rfc3339(millis)) { (timestamp(millis)) } }
}

/// A day (a promise's due date): the same everywhere, so left as it is by
/// the script, but one unbreakable piece where a line wraps.
pub fn day(millis: i64) -> Markup {
    let day = date(millis);
    html! { time datetime=(day) { (day) } }
}

/// A moment as its age ("3 h ago") at `now`, the moment itself on hover.
pub fn when(millis: i64, now: i64) -> Markup {
    html! { time datetime=(rfc3339(millis)) title=(timestamp(millis)) { (human_ago(now - millis)) } }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_moment_carries_its_machine_readable_time_for_the_readers_own_zone() {
        assert_eq!(
            moment(1_795_348_800_000).into_string(),
            r#"<time datetime="2026-11-22T12:00:00Z">2026-11-22 12:00 UTC</time>"#
        );
    }

    #[test]
    fn a_day_carries_its_date() {
        assert_eq!(
            day(1_795_348_800_000).into_string(),
            r#"<time datetime="2026-11-22">2026-11-22</time>"#
        );
    }

    #[test]
    fn an_age_carries_its_moment_for_the_readers_own_zone() {
        let at = 1_795_348_800_000;
        assert_eq!(
            when(at, at + 3_600_000).into_string(),
            r#"<time datetime="2026-11-22T12:00:00Z" title="2026-11-22 12:00 UTC">1 h ago</time>"#
        );
    }
}
