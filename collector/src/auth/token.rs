//! API tokens: `esk_` and 52 base32 characters (256 random bits). The
//! holder keeps the token; the database keeps its SHA-256, so a copy of
//! the database signs nobody in.

use sha2::{Digest, Sha256};

const PREFIX: &str = "esk_";
const SECRET_CHARS: usize = 52;
// 52 base32 characters: 260 random bits, at least the 256 promised.
const _: () = assert!(SECRET_CHARS * 5 >= 256);
/// How much of a token lists show, so their owner can tell them apart.
const HINT_CHARS: usize = PREFIX.len() + 6;

/// Longest token label.
pub const LABEL_MAX: usize = 100;

/// A token's label: trimmed, 1 to 100 characters, no control characters.
pub fn label(raw: &str) -> Option<String> {
    let name = raw.trim();
    (!name.is_empty() && name.chars().count() <= LABEL_MAX && !name.chars().any(char::is_control))
        .then(|| name.to_owned())
}

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Read entries, sites and exports.
    Read,
    /// Also change status, assign, note, reply and settle promises.
    Write,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
        }
    }

    pub fn parse(raw: &str) -> Option<Scope> {
        match raw {
            "read" => Some(Scope::Read),
            "write" => Some(Scope::Write),
            _ => None,
        }
    }

    pub fn allows(self, needed: Scope) -> bool {
        self == Scope::Write || needed == Scope::Read
    }
}

/// A token as its holder sends it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken(String);

impl std::fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiToken(…)")
    }
}

impl ApiToken {
    pub fn generate() -> ApiToken {
        ApiToken(format!("{PREFIX}{}", crate::ids::secret(SECRET_CHARS)))
    }

    /// Accepts only values shaped like ours, so junk never reaches the
    /// database.
    pub fn parse(raw: &str) -> Option<ApiToken> {
        let secret = raw.strip_prefix(PREFIX)?;
        (secret.len() == SECRET_CHARS
            && secret
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
        .then(|| ApiToken(raw.to_owned()))
    }

    /// Shown once, when the token is made.
    pub fn reveal(&self) -> &str {
        &self.0
    }

    pub fn digest(&self) -> Vec<u8> {
        Sha256::digest(self.0.as_bytes()).to_vec()
    }

    /// The first characters, for lists.
    pub fn hint(&self) -> String {
        self.0.chars().take(HINT_CHARS).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_parse_and_carry_256_bits() {
        let token = ApiToken::generate();
        assert!(token.reveal().starts_with("esk_"));
        assert_eq!(ApiToken::parse(token.reveal()), Some(token.clone()));
        assert_ne!(ApiToken::generate(), token);
        assert!(!format!("{token:?}").contains(&token.reveal()[4..]));
    }

    #[test]
    fn other_shapes_are_refused_before_any_lookup() {
        let token = ApiToken::generate();
        let secret = &token.reveal()[4..];
        assert_eq!(ApiToken::parse(secret), None);
        assert_eq!(ApiToken::parse(&format!("esk_{secret}x")), None);
        assert_eq!(
            ApiToken::parse(&format!("esk_{}", secret.to_uppercase())),
            None
        );
        assert_eq!(ApiToken::parse("esk_"), None);
    }

    #[test]
    fn write_includes_read_but_not_the_other_way() {
        assert!(Scope::Write.allows(Scope::Read));
        assert!(Scope::Write.allows(Scope::Write));
        assert!(Scope::Read.allows(Scope::Read));
        assert!(!Scope::Read.allows(Scope::Write));
    }
}
