//! Identifiers handed to customers. All random, from the OS generator: a
//! sequential id would leak volume and make status links guessable.

use rand::Rng;

/// Crockford base32: no I, L, O or U, so references read aloud cleanly.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

fn base32(bytes: &[u8], len: usize) -> String {
    let mut out = String::with_capacity(len);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 && out.len() < len {
            bits -= 5;
            out.push(char::from(ALPHABET[((acc >> bits) & 31) as usize]));
        }
    }
    out
}

fn random(len_chars: usize) -> String {
    let mut bytes = vec![0u8; (len_chars * 5).div_ceil(8)];
    rand::rng().fill_bytes(&mut bytes);
    base32(&bytes, len_chars)
}

/// `ES-7K3F-9QX2`: short enough to quote on the phone. The first five
/// characters are the creation time in tenths of a second (wrapping every 38
/// days), the last three are random (15 bits). Nothing depends on guessing
/// a reference being hard (the status link has its own secret), but a
/// purely random one costs every insert a random page of the unique index,
/// about half of what a group commit writes under load. Collisions (two
/// references in the same tenth of a second drawing the same bits) are
/// caught by that index and redrawn.
pub fn reference(unix_millis: i64) -> String {
    let tenths = u64::try_from(unix_millis / 100).unwrap_or(0) & ((1 << 25) - 1);
    let time: Vec<u8> = (0..5)
        .rev()
        .map(|i| ALPHABET[((tenths >> (5 * i)) & 31) as usize])
        .collect();
    let r = random(3);
    let time = String::from_utf8_lossy(&time);
    format!("ES-{}-{}{}", &time[..4], &time[4..], r)
}

/// A reference as a person may type or read it out (`es-7k3f-9qx2`,
/// `ES 7K3F 9QX2`, `ES7K3F9QX2`, an O for a zero, an I or L for a one),
/// written as [`reference()`] writes them; `None` when it is not one.
pub fn parse_reference(raw: &str) -> Option<String> {
    let mut chars = raw
        .trim()
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| c.to_ascii_uppercase());
    if (chars.next(), chars.next()) != (Some('E'), Some('S')) {
        return None;
    }
    let code: String = chars
        .map(|c| match c {
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        })
        .collect();
    let valid = code.len() == 8 && code.bytes().all(|b| ALPHABET.contains(&b));
    valid.then(|| format!("ES-{}-{}", &code[..4], &code[4..]))
}

/// Secret for the customer's status page: 160 random bits.
pub fn status_token() -> String {
    random(32).to_ascii_lowercase()
}

/// A secret of `chars` random base32 characters (5 bits each), lowercase.
pub fn secret(chars: usize) -> String {
    random(chars).to_ascii_lowercase()
}

/// A secret kept as bytes (in the database), written as [`secret`] writes
/// one: lowercase base32, every whole 5 bits of it.
pub fn secret_text(bytes: &[u8]) -> String {
    base32(bytes, bytes.len() * 8 / 5).to_ascii_lowercase()
}

/// Public entry id: creation time (ms) then 60 random bits. Time-ordered, so
/// its index grows at the end instead of touching a random page per insert.
pub fn public_id(unix_millis: i64) -> String {
    let millis = u64::try_from(unix_millis).unwrap_or(0);
    // Ten characters hold 50 bits: milliseconds until the year 37648.
    let time: String = (0..10)
        .rev()
        .map(|i| char::from(ALPHABET[((millis >> (5 * i)) & 31) as usize]))
        .collect();
    format!("e_{}{}", time, random(12)).to_ascii_lowercase()
}

/// Public site key, as embedded in host pages.
pub fn site_key() -> String {
    format!("site_{}", random(16).to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn a_kept_secret_reads_the_same_every_time_and_keeps_its_bits() {
        let bytes = [0xA5u8; 32];
        let text = secret_text(&bytes);
        assert_eq!(text, secret_text(&bytes));
        assert_eq!(text.len(), 51, "256 bits in whole 5-bit characters");
        assert!(text.starts_with("mpjt"), "{text}");
        assert_ne!(text, secret_text(&[0x5Au8; 32]));
        assert!(
            text.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        );
    }

    #[test]
    fn reference_has_the_documented_shape() {
        let r = reference(1_700_000_000_000);
        assert_eq!(r.len(), 12);
        assert!(r.starts_with("ES-"));
        assert_eq!(&r[7..8], "-");
        assert!(
            r.chars()
                .filter(|c| *c != '-')
                .skip(2)
                .all(|c| ALPHABET.contains(&(c as u8)))
        );
    }

    #[test]
    fn a_reference_is_read_however_a_person_types_it() {
        let r = reference(1_700_000_000_000);
        assert_eq!(parse_reference(&r).as_deref(), Some(r.as_str()));
        for typed in [
            "es-7k3f-9qx2",
            " ES 7K3F 9QX2 ",
            "ES7K3F9QX2",
            "ES-7K3F-9QX2",
        ] {
            assert_eq!(
                parse_reference(typed).as_deref(),
                Some("ES-7K3F-9QX2"),
                "{typed}"
            );
        }
        assert_eq!(
            parse_reference("ES-O1IL-0000").as_deref(),
            Some("ES-0111-0000")
        );
        for not_one in [
            "",
            "ES",
            "ES-7K3F-9QX",
            "ES-7K3F-9QX22",
            "EX-7K3F-9QX2",
            "ES-7K3F-9QU2",
            "refund",
        ] {
            assert_eq!(parse_reference(not_one), None, "{not_one}");
        }
    }

    #[test]
    fn references_start_with_the_time_and_end_random() {
        let a = reference(1_700_000_000_000);
        let b = reference(1_700_000_000_099);
        let c = reference(1_700_000_000_100);
        assert_eq!(a[..9], b[..9], "same tenth of a second: {a} {b}");
        assert!(a[..9] < c[..9], "{a} {c}");
        let distinct: HashSet<_> = (0..200).map(|_| reference(1_700_000_000_000)).collect();
        assert!(distinct.len() > 190, "{}", distinct.len());
    }

    #[test]
    fn tokens_are_long_and_distinct() {
        let tokens: HashSet<_> = (0..1000).map(|_| status_token()).collect();
        assert_eq!(tokens.len(), 1000);
        assert!(tokens.iter().all(|t| t.len() == 32));
    }

    #[test]
    fn public_ids_sort_by_creation_time() {
        let earlier = public_id(1_700_000_000_000);
        let later = public_id(1_700_000_000_001);
        assert!(earlier < later, "{earlier} {later}");
        assert_eq!(earlier.len(), 2 + 10 + 12);
    }

    #[test]
    fn base32_encodes_known_bits() {
        assert_eq!(base32(&[0xff, 0xff], 3), "ZZZ");
        assert_eq!(base32(&[0, 0], 3), "000");
        assert_eq!(base32(&[0b0000_1000], 1), "1");
        assert_eq!(base32(&[0b0000_1000, 0], 2), "10");
    }
}
