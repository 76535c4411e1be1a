//! A person as a request about their data names them: by the email address
//! they gave with their feedback. The console's *A person's data* page and
//! `earshot erase` / `export-person` read it by one rule.

use earshot_protocol::limits::EMAIL_MAX;

/// The address typed to find a person's entries, trimmed. Not checked as
/// an address beyond that: what earlier versions stored must stay
/// reachable, and the store matches it in any case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonEmail(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PersonEmailError {
    #[error("give the email address the customer gave; this one is blank")]
    Blank,
    #[error("an email address has at most {EMAIL_MAX} characters")]
    TooLong,
}

impl PersonEmail {
    pub fn parse(raw: &str) -> Result<PersonEmail, PersonEmailError> {
        let email = raw.trim();
        if email.is_empty() {
            Err(PersonEmailError::Blank)
        } else if email.chars().count() > EMAIL_MAX {
            Err(PersonEmailError::TooLong)
        } else {
            Ok(PersonEmail(email.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How an address is matched to the entries that gave it: trimmed, every
/// letter in lower case by Unicode's rules, not only A to Z (SQLite's
/// `lower()` leaves `Ä` as it is, so matching in SQL missed `ÄNNA@…` when
/// asked for `Änna@…`), and an internationalised domain in Punycode
/// ([`crate::address::ascii_domain`]), so `ana@bücher.de` finds what
/// Chromium sent as `ana@xn--bcher-kva.de`. Stored beside each entry's
/// email as `email_key`.
pub fn email_key(address: &str) -> String {
    crate::address::ascii_domain(address.trim()).to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_matches_in_any_case_of_any_letter() {
        assert_eq!(email_key(" ÄNNA@Example.COM "), "änna@example.com");
        assert_eq!(email_key("Änna@example.com"), email_key("änna@EXAMPLE.com"));
        assert_eq!(email_key("ÖZGÜR@ÇARŞI.TR"), email_key("özgür@çarşi.tr"));
        assert!(email_key("ÖZGÜR@ÇARŞI.TR").starts_with("özgür@"));
    }

    #[test]
    fn an_address_matches_however_its_domain_is_written() {
        let key = email_key("ana@xn--bcher-kva.de");
        for typed in [" Ana@Bücher.de ", "ANA@BÜCHER.DE", "ana@XN--BCHER-KVA.DE"] {
            assert_eq!(email_key(typed), key, "{typed}");
        }
        assert_ne!(email_key("ana@bucher.de"), key);
    }

    #[test]
    fn an_address_is_trimmed_and_kept_as_typed() {
        assert_eq!(
            PersonEmail::parse("  Ana@Example.COM \n").map(|e| e.as_str().to_owned()),
            Ok("Ana@Example.COM".to_owned())
        );
    }

    #[test]
    fn a_blank_or_overlong_address_names_nobody() {
        assert_eq!(PersonEmail::parse(" \t"), Err(PersonEmailError::Blank));
        let long = format!("{}@example.com", "a".repeat(EMAIL_MAX));
        assert_eq!(PersonEmail::parse(&long), Err(PersonEmailError::TooLong));
    }
}
