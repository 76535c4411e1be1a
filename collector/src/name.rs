//! Names people give, shown to others: a colleague's (on the timeline, in
//! the assignee lists, in emails) and a site's (in filters, reports and
//! email subjects). Both follow one rule, wherever they are typed, and
//! are sorted and found by one key.

use unicode_normalization::UnicodeNormalization;

/// Longest name, in characters.
pub const MAX_CHARS: usize = 100;

/// A colleague's name fit to show: trimmed, 1 to [`MAX_CHARS`] characters,
/// no control characters (a line break would let it forge lines of an
/// email).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffName(String);

/// A site's name, under the same rule as [`StaffName`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteName(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("enter a name")]
    Empty,
    #[error("a name is at most 100 characters")]
    TooLong,
    #[error("a name cannot hold line breaks or other control characters")]
    Control,
}

fn one_line(raw: &str) -> Result<String, NameError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.chars().count() > MAX_CHARS {
        return Err(NameError::TooLong);
    }
    if name.chars().any(char::is_control) {
        return Err(NameError::Control);
    }
    Ok(name.to_owned())
}

impl SiteName {
    pub fn parse(raw: &str) -> Result<SiteName, NameError> {
        one_line(raw).map(SiteName)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

impl StaffName {
    pub fn parse(raw: &str) -> Result<StaffName, NameError> {
        one_line(raw).map(StaffName)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// What a name is sorted and searched by (`sites.name_key`,
/// `users.name_key`): the name without accents, in lower case, with the
/// letters that carry no separable accent spelled as a reader
/// alphabetises them. Compared byte by byte, keys put "Ärzte" beside
/// "Apotheke" and "Édith" beside "Eve", and "arzte" is part of the key of
/// "Ärzte-Praxis".
pub fn name_key(name: &str) -> String {
    let mut key = String::with_capacity(name.len());
    for c in name.nfkd().filter(|c| !is_diacritic(*c)) {
        match c {
            'ß' | 'ẞ' => key.push_str("ss"),
            'æ' | 'Æ' => key.push_str("ae"),
            'œ' | 'Œ' => key.push_str("oe"),
            'þ' | 'Þ' => key.push_str("th"),
            'ø' | 'Ø' => key.push('o'),
            'ł' | 'Ł' => key.push('l'),
            'đ' | 'Đ' | 'ð' | 'Ð' => key.push('d'),
            'ı' => key.push('i'),
            c => key.extend(c.to_lowercase()),
        }
    }
    key
}

/// The blocks of combining diacritical marks: accents that sit on a letter
/// of any script. Not every combining mark: the vowel signs of Devanagari
/// and its kin are marks too, and make another syllable, not an accented
/// one.
fn is_diacritic(c: char) -> bool {
    matches!(
        c,
        '\u{300}'..='\u{36f}'
            | '\u{1ab0}'..='\u{1aff}'
            | '\u{1dc0}'..='\u{1dff}'
            | '\u{20d0}'..='\u{20ff}'
            | '\u{fe20}'..='\u{fe2f}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_trimmed_and_bounded_and_a_single_line() {
        assert_eq!(
            StaffName::parse("  Bo Jensen ").unwrap().as_str(),
            "Bo Jensen"
        );
        assert_eq!(StaffName::parse("Zoë 🌱").unwrap().as_str(), "Zoë 🌱");
        assert_eq!(StaffName::parse(" \t "), Err(NameError::Empty));
        assert!(StaffName::parse(&"é".repeat(MAX_CHARS)).is_ok());
        assert_eq!(
            StaffName::parse(&"é".repeat(MAX_CHARS + 1)),
            Err(NameError::TooLong)
        );
        assert_eq!(
            StaffName::parse("Bo\r\nBcc: all@x.example"),
            Err(NameError::Control)
        );
    }

    #[test]
    fn a_site_name_follows_the_same_rule() {
        assert_eq!(
            SiteName::parse("  Fern & Fig ").unwrap().as_str(),
            "Fern & Fig"
        );
        assert_eq!(SiteName::parse(""), Err(NameError::Empty));
        assert_eq!(
            SiteName::parse(&"x".repeat(MAX_CHARS + 1)),
            Err(NameError::TooLong)
        );
        assert_eq!(SiteName::parse("two\nlines"), Err(NameError::Control));
    }

    #[test]
    fn accents_and_case_do_not_move_a_name() {
        assert_eq!(name_key("Édith"), "edith");
        assert_eq!(name_key("ÄRZTE-Praxis"), "arzte-praxis");
        assert_eq!(name_key("Zoë Ångström"), "zoe angstrom");
        assert_eq!(name_key("ﬁne"), "fine");
    }

    #[test]
    fn letters_without_a_separable_accent_are_spelled_out() {
        assert_eq!(name_key("Straße"), "strasse");
        assert_eq!(name_key("Ørsted Æble Œuvre"), "orsted aeble oeuvre");
        assert_eq!(name_key("Łódź Đorđe Þór"), "lodz dorde thor");
    }

    #[test]
    fn names_sort_as_a_reader_alphabetises_them() {
        let mut names = [
            "zoo",
            "Ärzte",
            "Apotheke",
            "Eve",
            "édith",
            "Bäckerei",
            "ada",
        ];
        names.sort_by_key(|n| name_key(n));
        assert_eq!(
            names,
            [
                "ada",
                "Apotheke",
                "Ärzte",
                "Bäckerei",
                "édith",
                "Eve",
                "zoo"
            ]
        );
    }

    #[test]
    fn letters_of_other_scripts_are_kept() {
        assert_eq!(name_key("Пекарня"), "пекарня");
        assert_eq!(name_key("東京店"), "東京店");
        assert_ne!(name_key("कि"), name_key("का"));
    }
}
