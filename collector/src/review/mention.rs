//! Colleagues named in an internal note. `@bo` (the part of a colleague's
//! email before the `@`) or `@bo@example.com` (the whole address) names
//! them, and they are emailed the note: a question asked in a note is not
//! left for the colleague to stumble on. An address written in the text
//! ("write to bo@example.com") names nobody: a mention starts a word.

/// A character an address's part before the `@` is made of.
fn in_handle(c: char) -> bool {
    c.is_alphanumeric() || "._%+-@".contains(c)
}

/// Whether `c` is of a script in which what follows a name may be written
/// directly after it: the next word in scripts written without spaces
/// (Thai, Lao, Myanmar, Khmer, Chinese, Japanese), a particle or honorific
/// in Korean (`@민수님`, `@minsu에게`) and Japanese (`@田中さん`).
fn runs_on(c: char) -> bool {
    matches!(u32::from(c),
        0x0E00..=0x0EFF | 0x1000..=0x109F | 0x1100..=0x11FF | 0x1780..=0x17FF
        | 0x2E80..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF | 0xFF00..=0xFFEF
        | 0x20000..=0x3FFFF)
}

/// A handle's end: a sentence's full stop or a trailing hyphen is not part
/// of it.
fn trimmed(handle: &str) -> &str {
    handle.trim_end_matches(['.', '-', '@'])
}

/// The handles a note names (letters of any script), lowercased, in
/// order, each once.
fn handles(note: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut previous: Option<char> = None;
    let mut chars = note.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        let starts_word = previous.is_none_or(|p| !in_handle(p));
        previous = Some(c);
        if c != '@' || !starts_word {
            continue;
        }
        let rest = &note[at + 1..];
        let len = rest.find(|ch: char| !in_handle(ch)).unwrap_or(rest.len());
        let whole = trimmed(&rest[..len]).to_lowercase();
        if !whole.is_empty() && !found.contains(&whole) {
            found.push(whole);
        }
        while chars.peek().is_some_and(|&(i, _)| i <= at + len) {
            if let Some((_, skipped)) = chars.next() {
                previous = Some(skipped);
            }
        }
    }
    found
}

/// Whether `note` names anyone at all, before anyone is looked up: a note
/// without a mention leaves nothing for the dispatcher.
pub fn names_anyone(note: &str) -> bool {
    !handles(note).is_empty()
}

/// The colleagues among `staff` (id and email) that `note` names: by their
/// whole address, or by its part before the `@` (every colleague whose
/// address starts so, should two share it).
pub fn mentioned<'a>(note: &str, staff: impl IntoIterator<Item = (i64, &'a str)>) -> Vec<i64> {
    let handles = handles(note);
    if handles.is_empty() {
        return Vec::new();
    }
    let staff: Vec<(i64, String, String)> = staff
        .into_iter()
        .map(|(id, email)| (id, email.to_lowercase(), local_part(email)))
        .collect();
    let naming = |handle: &str| -> Vec<i64> {
        staff
            .iter()
            .filter(|(_, email, local)| handle == email || handle == local)
            .map(|(id, _, _)| *id)
            .collect()
    };
    // Where the whole names nobody: the longest first part of an address
    // it starts with that a character of a script running on follows
    // (`@ada確認してください` asks Ada, `@田中さん` 田中). A longer name
    // in the same script is not a shorter one: `@adam` is not Ada.
    let starting = |handle: &str| -> Vec<i64> {
        let runs_on_after = |local: &str| {
            handle
                .strip_prefix(local)
                .and_then(|after| after.chars().next())
                .is_some_and(runs_on)
        };
        let longest = staff
            .iter()
            .map(|(_, _, local)| local.as_str())
            .filter(|local| !local.is_empty() && runs_on_after(local))
            .max_by_key(|local| local.len());
        longest.map_or_else(Vec::new, naming)
    };
    let mut named: Vec<i64> = Vec::new();
    for handle in &handles {
        let mut ids = naming(handle);
        if ids.is_empty() {
            ids = starting(handle);
        }
        named.extend(ids);
    }
    // In the colleagues' order: who is told does not depend on where in
    // the note they were named.
    staff
        .iter()
        .map(|(id, _, _)| *id)
        .filter(|id| named.contains(id))
        .collect()
}

/// How to name the colleague with address `email` among `emails` (every
/// active colleague's): the part before the `@` where it is theirs alone,
/// otherwise the whole address.
pub fn handle<'a>(email: &'a str, emails: impl IntoIterator<Item = &'a str>) -> String {
    let own = local_part(email);
    let shared = emails
        .into_iter()
        .filter(|other| local_part(other) == own)
        .count()
        > 1;
    if shared {
        format!("@{}", email.to_lowercase())
    } else {
        format!("@{own}")
    }
}

/// An address's part before the `@`, lowercased.
fn local_part(address: &str) -> String {
    address.split('@').next().unwrap_or_default().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAFF: [(i64, &str); 4] = [
        (1, "ada@example.com"),
        (2, "Bo@Example.com"),
        (3, "bo@elsewhere.example"),
        (4, "chen.li@example.com"),
    ];

    fn named(note: &str) -> Vec<i64> {
        mentioned(note, STAFF)
    }

    #[test]
    fn a_colleague_is_named_by_their_address_or_its_first_part() {
        assert_eq!(named("@ada can you check the invoice?"), [1]);
        assert_eq!(named("Asked @chen.li."), [4]);
        assert_eq!(named("(@ADA) and @chen.li, please"), [1, 4]);
        assert_eq!(named("cc @bo@example.com"), [2]);
        // Two colleagues share the first part: both hear of it.
        assert_eq!(named("@bo"), [2, 3]);
    }

    #[test]
    fn addresses_and_unknown_names_name_nobody() {
        assert_eq!(
            named("Customer wrote to ada@example.com twice"),
            [] as [i64; 0]
        );
        assert_eq!(named("@nobody @ @. email@"), [] as [i64; 0]);
        assert_eq!(named("no mention here"), [] as [i64; 0]);
        assert!(!names_anyone("write to ada@example.com"));
        assert!(names_anyone("over to @ada"));
    }

    #[test]
    fn a_handle_is_the_first_part_of_the_address_unless_two_share_it() {
        let emails = STAFF.map(|(_, email)| email);
        assert_eq!(handle("ada@example.com", emails), "@ada");
        assert_eq!(handle("Bo@Example.com", emails), "@bo@example.com");
        assert_eq!(handle("chen.li@example.com", emails), "@chen.li");
        // Each handle names exactly its colleague.
        for (id, email) in STAFF {
            assert_eq!(named(&handle(email, emails)), [id], "{email}");
        }
    }

    #[test]
    fn a_name_is_looked_at_once_however_often_it_is_written() {
        assert_eq!(handles("@ada @Ada, @ada."), ["ada"]);
        assert_eq!(handles("@ada@example.com."), ["ada@example.com"]);
        assert_eq!(handles("über@ada ∴@bo"), ["bo"]);
    }

    #[test]
    fn a_name_in_any_script_is_named_and_the_next_word_may_follow_it_directly() {
        let staff = [
            (1, "ada@example.com"),
            (2, "Józef@example.pl"),
            (3, "j@example.com"),
            (4, "ÅSA@example.se"),
            (5, "田中@example.jp"),
            (6, "민수@example.kr"),
            (7, "minsu@example.kr"),
        ];
        let named = |note: &str| mentioned(note, staff);
        assert_eq!(named("@józef, can you call back?"), [2]);
        assert_eq!(named("@JÓZEF@EXAMPLE.PL"), [2]);
        assert_eq!(named("@åsa."), [4]);
        assert_eq!(named("@田中"), [5]);
        // In a language written without spaces the next word follows.
        assert_eq!(named("@ada確認してください"), [1]);
        assert_eq!(named("@ada、@józefに聞いて"), [1, 2]);
        // A particle or honorific follows a name directly, in its script
        // or after a Latin one.
        assert_eq!(named("@田中さん、お願いします"), [5]);
        assert_eq!(named("@민수님 확인 부탁해요"), [6]);
        assert_eq!(named("@minsu에게 물어보세요"), [7]);
        assert_eq!(named("@ada님"), [1]);
        assert_eq!(named("@田中太郎"), [5], "the longest name it starts with");
        // A longer name is not a shorter one.
        assert_eq!(named("@jürgen @adam"), [] as [i64; 0]);
        // The handle the page offers names its colleague.
        let emails = staff.map(|(_, email)| email);
        for (id, email) in staff {
            assert_eq!(named(&handle(email, emails)), [id], "{email}");
        }
    }
}
