//! A colleague's name, as the others see it on the timeline, in the
//! assignee lists and in the emails they get.

/// Longest name a colleague can have, in characters.
pub const MAX_CHARS: usize = 100;

/// A name fit to show: trimmed, 1 to [`MAX_CHARS`] characters, no control
/// characters (a line break would let it forge lines of an email).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffName(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("enter a name")]
    Empty,
    #[error("a name is at most 100 characters")]
    TooLong,
    #[error("a name cannot hold line breaks or other control characters")]
    Control,
}

impl StaffName {
    pub fn parse(raw: &str) -> Result<StaffName, NameError> {
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
        Ok(StaffName(name.to_owned()))
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
}
