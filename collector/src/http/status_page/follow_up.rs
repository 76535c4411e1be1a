//! `POST /s/{token}/follow-up`: the customer answers back from their status
//! page. A plain form that works without script, guarded like ingest:
//! length limits, a rate limit per client network and per entry, a
//! honeypot, and a form token bound to the status link's secret (the page
//! has no session to hang a CSRF token on).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use earshot_protocol::Field;
use earshot_protocol::submission::{Text, mask_card_numbers};
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use sha2::Sha256;

use crate::auth::constant_time_eq;

/// Longest follow-up, in characters: as long as a first message.
pub const FOLLOW_UP_MAX: usize = earshot_protocol::limits::MESSAGE_MAX;
/// Largest form body: every character percent-encoded UTF-8, plus the
/// token and the other fields.
pub const BODY_MAX_BYTES: usize = FOLLOW_UP_MAX * 12 + 1024;
/// A form token is good for this long after the page was shown.
const TOKEN_LIFETIME_MS: i64 = 24 * 3_600_000;
/// Faster than any person reads a page and types: a script.
const TOKEN_MIN_AGE_MS: i64 = 2_000;

/// What the form sends.
#[derive(Debug, Default, Deserialize)]
pub struct FollowUpForm {
    #[serde(default)]
    pub message: String,
    /// The form token from the page.
    #[serde(default)]
    pub form: String,
    /// The honeypot: hidden from people, filled by bots.
    #[serde(default)]
    pub website: String,
}

/// Why a follow-up was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowUpProblem {
    Empty,
    TooLong,
    /// An expired, forged, missing or too-fresh form token: show the form
    /// again with the text kept.
    SendAgain,
    Busy,
    /// Taken, but the store could not keep it (a full disk, the database
    /// out of reach): show the form again with the text kept.
    Unsaved,
}

/// A follow-up's text, cleaned and bounded as a first message is, its card
/// numbers masked as the first message's are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUpText(String);

impl FollowUpText {
    /// Read as a first message is (`Text`): control characters and bidi
    /// overrides go, and nothing visible is nothing.
    pub fn parse(raw: &str) -> Result<FollowUpText, FollowUpProblem> {
        // A browser sends a textarea's line breaks as CR LF and counts
        // each as one character against its maxlength.
        let raw = raw.replace("\r\n", "\n");
        match Text::parse(Some(&raw), Field::Message, FOLLOW_UP_MAX, true) {
            Ok(Some(text)) => Ok(FollowUpText(mask_card_numbers(text.as_str()).into_owned())),
            Ok(None) => Err(FollowUpProblem::Empty),
            // Its only refusal: the length is the one rule it checks.
            Err(_) => Err(FollowUpProblem::TooLong),
        }
    }

    /// What the form shows again after a refusal: cleaned as a kept
    /// follow-up is, so no escape sequence or bidi override is sent back
    /// into the page, but not bounded, so text refused as too long comes
    /// back whole for the customer to shorten.
    pub fn draft(raw: &str) -> String {
        let raw = raw.replace("\r\n", "\n");
        match Text::parse(Some(&raw), Field::Message, usize::MAX, true) {
            Ok(Some(text)) => text.as_str().to_owned(),
            // Nothing visible; and a length check against usize::MAX
            // cannot refuse.
            Ok(None) | Err(_) => String::new(),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

fn mac(secret: &str, public_id: &str, issued_ms: i64) -> Option<Vec<u8>> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).ok()?;
    mac.update(b"earshot follow-up form\0");
    mac.update(public_id.as_bytes());
    mac.update(b"\0");
    mac.update(issued_ms.to_string().as_bytes());
    Some(mac.finalize().into_bytes().to_vec())
}

/// Follow-ups one entry takes at once, then one per [`ENTRY_REFILL_MS`]: a
/// customer adds a detail or two, never a hundred.
const ENTRY_BURST: i64 = 5;
const ENTRY_REFILL_MS: i64 = 600_000;
/// How far back an entry's follow-ups count: after a burst's worth of
/// refills the allowance is whole again.
pub const ENTRY_WINDOW_MS: i64 = ENTRY_BURST * ENTRY_REFILL_MS;

/// Whether an entry takes another follow-up at `now`, given when it took
/// those of the last [`ENTRY_WINDOW_MS`]. A token bucket replayed over the
/// entry's own timeline rather than kept in memory, so every collector
/// sharing the database, and one just restarted, judges alike.
pub fn entry_allows(mut taken: Vec<i64>, now: i64) -> bool {
    // Collectors' clocks may differ a little: their order, not their ids.
    taken.sort_unstable();
    let full = ENTRY_BURST * ENTRY_REFILL_MS;
    // Credit in milliseconds of refill; one follow-up spends a refill's worth.
    let mut credit = full;
    let mut last = now - ENTRY_WINDOW_MS;
    for at in taken {
        credit = (credit + (at - last).max(0)).min(full) - ENTRY_REFILL_MS;
        last = at.max(last);
    }
    (credit + (now - last).max(0)).min(full) >= ENTRY_REFILL_MS
}

/// The form token for a page shown at `now`: when it was issued and a MAC
/// of that under the status secret, so only someone who holds the link can
/// make one, and only recently.
pub fn issue(secret: &str, public_id: &str, now: i64) -> String {
    let tag = mac(secret, public_id, now).unwrap_or_default();
    format!("{now}.{}", URL_SAFE_NO_PAD.encode(tag))
}

/// Checks a form token from the page of entry `public_id`.
pub fn verify(token: &str, secret: &str, public_id: &str, now: i64) -> Result<(), FollowUpProblem> {
    let (issued, tag) = token.split_once('.').ok_or(FollowUpProblem::SendAgain)?;
    let issued: i64 = issued.parse().map_err(|_| FollowUpProblem::SendAgain)?;
    let tag = URL_SAFE_NO_PAD
        .decode(tag)
        .map_err(|_| FollowUpProblem::SendAgain)?;
    let expected = mac(secret, public_id, issued).ok_or(FollowUpProblem::SendAgain)?;
    if !constant_time_eq(&tag, &expected) {
        return Err(FollowUpProblem::SendAgain);
    }
    if (TOKEN_MIN_AGE_MS..=TOKEN_LIFETIME_MS).contains(&(now - issued)) {
        Ok(())
    } else {
        Err(FollowUpProblem::SendAgain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "abcdefghijklmnopqrstuvwxyz012345";
    const ID: &str = "e_0123456789abcdefghijkl";
    const T: i64 = 1_800_000_000_000;

    #[test]
    fn a_token_is_accepted_between_two_seconds_and_a_day_after_the_page() {
        let token = issue(SECRET, ID, T);
        assert_eq!(verify(&token, SECRET, ID, T + 2_000), Ok(()));
        assert_eq!(verify(&token, SECRET, ID, T + TOKEN_LIFETIME_MS), Ok(()));
        assert_eq!(
            verify(&token, SECRET, ID, T + 500),
            Err(FollowUpProblem::SendAgain)
        );
        assert_eq!(
            verify(&token, SECRET, ID, T + TOKEN_LIFETIME_MS + 1),
            Err(FollowUpProblem::SendAgain)
        );
    }

    #[test]
    fn a_token_is_bound_to_its_entry_and_secret_and_cannot_be_edited() {
        let token = issue(SECRET, ID, T);
        let later = T + 10_000;
        assert_eq!(
            verify(&token, "zzzzefghijklmnopqrstuvwxyz012345", ID, later),
            Err(FollowUpProblem::SendAgain)
        );
        assert_eq!(
            verify(&token, SECRET, "e_aaaaaaaaaaaaaaaaaaaaaa", later),
            Err(FollowUpProblem::SendAgain)
        );
        // Moving the issue time to dodge expiry breaks the MAC.
        let (_, tag) = token.split_once('.').unwrap();
        let forged = format!("{}.{tag}", later - 5_000);
        assert_eq!(
            verify(&forged, SECRET, ID, later),
            Err(FollowUpProblem::SendAgain)
        );
        for junk in ["", ".", "x.y", "123", "123.!!!"] {
            assert_eq!(
                verify(junk, SECRET, ID, later),
                Err(FollowUpProblem::SendAgain)
            );
        }
    }

    #[test]
    fn an_entry_takes_five_follow_ups_at_once_then_one_every_ten_minutes() {
        let minute = 60_000;
        let mut taken = Vec::new();
        let mut now = T;
        for _ in 0..5 {
            assert!(entry_allows(taken.clone(), now));
            taken.push(now);
            now += 5_000;
        }
        assert!(!entry_allows(taken.clone(), now), "the sixth at once");
        assert!(!entry_allows(taken.clone(), T + 9 * minute));
        assert!(entry_allows(taken.clone(), T + 10 * minute + 20_000));
        taken.push(T + 10 * minute + 20_000);
        assert!(
            !entry_allows(taken.clone(), T + 11 * minute),
            "one more, not a new burst"
        );
        // Quiet for the whole window: a full burst again.
        let later = T + 10 * minute + 20_000 + ENTRY_WINDOW_MS;
        let recent: Vec<i64> = taken
            .into_iter()
            .filter(|at| *at > later - ENTRY_WINDOW_MS)
            .collect();
        assert!(recent.is_empty());
        assert!(entry_allows(recent, later));
        // The order collectors' rows arrive in does not matter.
        let shuffled = vec![T + 20_000, T, T + 5_000, T + 15_000, T + 10_000];
        assert!(!entry_allows(shuffled, T + 25_000));
    }

    #[test]
    fn follow_up_text_is_trimmed_and_bounded() {
        assert_eq!(FollowUpText::parse("  \n "), Err(FollowUpProblem::Empty));
        assert_eq!(
            FollowUpText::parse(&"é".repeat(FOLLOW_UP_MAX + 1)),
            Err(FollowUpProblem::TooLong)
        );
        assert_eq!(
            FollowUpText::parse(" order 4411 \n").map(FollowUpText::into_inner),
            Ok("order 4411".to_owned())
        );
        assert!(FollowUpText::parse(&"é".repeat(FOLLOW_UP_MAX)).is_ok());
    }

    #[test]
    fn a_follow_up_loses_what_could_disguise_it_as_a_first_message_does() {
        // A right-to-left override would show staff "exe.jpg" for
        // "gpj.exe"; escape sequences would drive a terminal reading a
        // log or a webhook's body.
        assert_eq!(
            FollowUpText::parse("file \u{202E}gpj.exe\u{1B}[2J\u{7}, tab\there")
                .map(FollowUpText::into_inner),
            Ok("file gpj.exe[2J, tab\there".to_owned())
        );
        // Nothing visible is nothing at all.
        assert_eq!(
            FollowUpText::parse("\u{200B}\u{2060} \u{FEFF}"),
            Err(FollowUpProblem::Empty)
        );
    }

    #[test]
    fn a_refused_follow_up_comes_back_cleaned_but_whole() {
        let long = "é".repeat(FOLLOW_UP_MAX + 10);
        assert_eq!(FollowUpText::draft(&long), long, "too long: shown whole");
        assert_eq!(
            FollowUpText::draft(" line one\r\nline \u{202E}two\u{1B}[2J\u{0}\tend \r\n"),
            "line one\nline two[2J\tend"
        );
        assert_eq!(FollowUpText::draft("\u{200B}\u{7} \r\n"), "");
    }

    #[test]
    fn a_follow_up_as_long_as_the_form_allows_fits_with_its_line_breaks() {
        // A browser counts a line break in a textarea as one character and
        // sends it as two (CR LF).
        let lines = vec!["é".repeat(99); FOLLOW_UP_MAX / 100].join("\r\n");
        assert_eq!(
            lines.replace("\r\n", "\n").chars().count(),
            FOLLOW_UP_MAX - 1
        );
        assert_eq!(
            FollowUpText::parse(&lines).map(FollowUpText::into_inner),
            Ok(lines.replace("\r\n", "\n"))
        );
    }

    #[test]
    fn a_card_number_in_a_follow_up_keeps_only_its_last_four_digits() {
        assert_eq!(
            FollowUpText::parse("it was my card 5555 5555 5555 4444, order 4411")
                .map(FollowUpText::into_inner),
            Ok("it was my card •••• •••• •••• 4444, order 4411".to_owned())
        );
    }
}
