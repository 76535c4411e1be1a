//! Payment card numbers out of what customers write. "You charged my card
//! 4111 1111 1111 1111 twice" is a fair complaint, but a full card number
//! stored in the feedback database would bring the database, its backups,
//! exports and every tool a webhook feeds into PCI DSS scope. The
//! collector stores [`Body::without_card_numbers`]: every digit of a card
//! number but the last four becomes `•`, so staff can still tell which card
//! the customer means and the customer sees on their status page what was
//! kept.

use std::borrow::Cow;

use super::{Body, Text};

/// What a masked digit reads as.
pub const MASK: char = '•';

impl Body {
    /// The customer's words with card numbers masked.
    pub fn without_card_numbers(self) -> Body {
        match self {
            Body::Message(message) => Body::Message(message.without_card_numbers()),
            Body::Expectation {
                expected,
                actual,
                message,
            } => Body::Expectation {
                expected: expected.without_card_numbers(),
                actual: actual.without_card_numbers(),
                message: message.map(Text::without_card_numbers),
            },
        }
    }
}

impl Text {
    /// Masking keeps every character in its place, so the text stays within
    /// the limit it was checked against and as visible as it was.
    pub fn without_card_numbers(self) -> Text {
        match mask_card_numbers(self.as_str()) {
            Cow::Borrowed(_) => self,
            Cow::Owned(masked) => Text(masked),
        }
    }
}

/// `text` with each card number's digits but the last four replaced by
/// [`MASK`]. A card number is 13 to 19 digits starting with 2 to 6 (the
/// card networks' ranges; order numbers often start otherwise) whose Luhn
/// check digit is right, written as cards print them: together, in fours
/// (the last group shorter), or in American Express's 4-6-5 and Diners'
/// 4-6-4. Groups are split by single spaces or hyphens. Numbers after a
/// `+` are telephone numbers. Anything else is left as written.
pub fn mask_card_numbers(text: &str) -> Cow<'_, str> {
    let mut chars: Vec<char> = text.chars().collect();
    let mut changed = false;
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() || (i > 0 && chars[i - 1].is_ascii_digit()) {
            i += 1;
            continue;
        }
        let groups = groups_from(&chars, i);
        let run_end = groups.last().map_or(i + 1, |&(_, end)| end);
        if i > 0 && chars[i - 1] == '+' {
            i = run_end;
            continue;
        }
        // A card number may start at any group of the run: "order 12
        // 4111 1111 1111 1111".
        let found = (0..groups.len()).find_map(|first| card_within(&chars, &groups[first..]));
        match found {
            Some((start, end)) => {
                let digits: Vec<usize> = (start..end)
                    .filter(|&k| chars[k].is_ascii_digit())
                    .collect();
                for &k in &digits[..digits.len() - 4] {
                    chars[k] = MASK;
                }
                changed = true;
                i = end;
            }
            None => i = run_end,
        }
    }
    if changed {
        Cow::Owned(chars.into_iter().collect())
    } else {
        Cow::Borrowed(text)
    }
}

/// The runs of digits from `start` on, as (start, end) positions, while
/// each is followed by one space or hyphen and more digits.
fn groups_from(chars: &[char], start: usize) -> Vec<(usize, usize)> {
    let mut groups = Vec::new();
    let mut at = start;
    loop {
        let end = at
            + chars[at..]
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .count();
        groups.push((at, end));
        let separated = matches!(chars.get(end), Some(' ' | '-'))
            && chars.get(end + 1).is_some_and(char::is_ascii_digit);
        if !separated {
            return groups;
        }
        at = end + 1;
    }
}

/// The leading groups that make a card number, as the (start, end) of the
/// characters they span: a card number followed by more digits in the same
/// run (`4111 1111 1111 1111 123`, its security code) is found too.
fn card_within(chars: &[char], groups: &[(usize, usize)]) -> Option<(usize, usize)> {
    let start = groups.first()?.0;
    let mut digits = String::new();
    let mut lengths = Vec::new();
    for &(from, to) in groups {
        digits.extend(&chars[from..to]);
        lengths.push(to - from);
        if digits.len() > 19 {
            return None;
        }
        if printed_as_cards_are(&lengths) && is_card_number(&digits) {
            return Some((start, to));
        }
    }
    None
}

fn printed_as_cards_are(lengths: &[usize]) -> bool {
    match lengths {
        [_] | [4, 6, 5] | [4, 6, 4] => true,
        [fours @ .., last] => fours.iter().all(|&n| n == 4) && (1..=4).contains(last),
        [] => false,
    }
}

fn is_card_number(digits: &str) -> bool {
    (13..=19).contains(&digits.len())
        && matches!(digits.as_bytes().first(), Some(b'2'..=b'6'))
        && luhn(digits)
}

fn luhn(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked(text: &str) -> String {
        mask_card_numbers(text).into_owned()
    }

    #[test]
    fn card_numbers_keep_only_their_last_four_digits() {
        assert_eq!(
            masked("You charged 4111 1111 1111 1111 twice"),
            "You charged •••• •••• •••• 1111 twice"
        );
        assert_eq!(
            masked("card 5555-5555-5555-4444."),
            "card ••••-••••-••••-4444."
        );
        assert_eq!(masked("amex 378282246310005"), "amex •••••••••••0005");
        assert_eq!(masked("4111111111111111"), "••••••••••••1111");
        // A security code after it in the same run stays, the card goes.
        assert_eq!(
            masked("4111 1111 1111 1111 123 exp 05/27"),
            "•••• •••• •••• 1111 123 exp 05/27"
        );
        assert_eq!(
            masked("first 4012888888881881, then 6011111111111117"),
            "first ••••••••••••1881, then ••••••••••••1117"
        );
    }

    #[test]
    fn other_numbers_are_left_as_written() {
        for text in [
            "Order 4411 arrived late",
            // Luhn fails.
            "4111 1111 1111 1112",
            // Passes Luhn, but no card starts with 1, 7, 8, 9 or 0.
            "Tracking 1Z999AA10123456784 and 7992739871300",
            "call +49 4111 1111 1111 1111",
            // Grouped as no card is printed.
            "41 1111 1111 1111 11",
            // Too long to be one card number, and not one from its start.
            "IBAN DE89 3704 0044 0532 0130 00",
            "41111111111111111111111",
            "",
        ] {
            assert_eq!(masked(text), text, "{text}");
            assert!(matches!(mask_card_numbers(text), Cow::Borrowed(_)));
        }
    }

    #[test]
    fn a_card_number_is_found_at_any_group_of_a_run_but_not_inside_one() {
        assert_eq!(
            masked("order 12 4111 1111 1111 1111"),
            "order 12 •••• •••• •••• 1111"
        );
        // Its digits must start a group: `94111…` is not split.
        assert_eq!(masked("94111111111111111"), "94111111111111111");
        assert_eq!(masked("ref 4111111111111111x"), "ref ••••••••••••1111x");
    }

    proptest::proptest! {
        #[test]
        fn masking_keeps_every_character_in_its_place(text in "[0-9 a-]{0,60}") {
            let masked = mask_card_numbers(&text);
            proptest::prop_assert_eq!(masked.chars().count(), text.chars().count());
            for (was, is) in text.chars().zip(masked.chars()) {
                proptest::prop_assert!(was == is || (was.is_ascii_digit() && is == MASK));
            }
            proptest::prop_assert_eq!(mask_card_numbers(&masked), masked.clone());
        }
    }
}
