//! Colleagues named in an internal note. `@bo` (the part of a colleague's
//! email before the `@`) or `@bo@example.com` (the whole address) names
//! them, and they are emailed the note: a question asked in a note is not
//! left for the colleague to stumble on. An address written in the text
//! ("write to bo@example.com") names nobody: a mention starts a word.

/// The handles a note names, lowercased, in order, each once.
fn handles(note: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut previous: Option<char> = None;
    let mut chars = note.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        let starts_word = previous.is_none_or(|p| !(p.is_alphanumeric() || "._%+-@".contains(p)));
        previous = Some(c);
        if c != '@' || !starts_word {
            continue;
        }
        let rest = &note[at + 1..];
        let len = rest
            .find(|ch: char| !(ch.is_ascii_alphanumeric() || "._%+-@".contains(ch)))
            .unwrap_or(rest.len());
        // A sentence's full stop or a trailing hyphen is not part of it.
        let handle = rest[..len].trim_end_matches(['.', '-', '@']);
        if handle.is_empty() {
            continue;
        }
        let handle = handle.to_ascii_lowercase();
        if !found.contains(&handle) {
            found.push(handle);
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
    staff
        .into_iter()
        .filter(|(_, email)| {
            let (email, local) = (email.to_ascii_lowercase(), local_part(email));
            handles.iter().any(|h| *h == email || *h == local)
        })
        .map(|(id, _)| id)
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
        format!("@{}", email.to_ascii_lowercase())
    } else {
        format!("@{own}")
    }
}

/// An address's part before the `@`, lowercased.
fn local_part(address: &str) -> String {
    address
        .split('@')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
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
}
