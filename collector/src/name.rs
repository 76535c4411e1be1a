//! Names people give, shown to others: a colleague's (on the timeline, in
//! the assignee lists, in emails) and a site's (in filters, reports and
//! email subjects). Both follow one rule, wherever they are typed.

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
}
