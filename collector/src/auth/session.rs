//! Session and CSRF tokens. The browser holds the session id; the database
//! holds only its SHA-256, so reading the database file yields no session.

use sha2::{Digest, Sha256};

/// 256 random bits, as 52 base32 characters.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionId(String);

impl std::fmt::Debug for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionId(…)")
    }
}

const SESSION_CHARS: usize = 52;

impl SessionId {
    pub fn generate() -> SessionId {
        SessionId(crate::ids::secret(SESSION_CHARS))
    }

    /// Accepts only values shaped like ours, so junk cookies never reach the
    /// database.
    pub fn parse(raw: &str) -> Option<SessionId> {
        (raw.len() == SESSION_CHARS && raw.bytes().all(|b| b.is_ascii_alphanumeric()))
            .then(|| SessionId(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn digest(&self) -> Vec<u8> {
        Sha256::digest(self.0.as_bytes()).to_vec()
    }
}

/// Per-session token every state-changing form carries.
pub fn csrf_token() -> String {
    crate::ids::secret(32)
}

/// Compares secrets without leaking, through timing, how much matched.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_are_long_random_and_parse_back() {
        let a = SessionId::generate();
        let b = SessionId::generate();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len() * 5, 260, "at least 256 bits");
        assert_eq!(SessionId::parse(a.as_str()), Some(a.clone()));
        assert_eq!(SessionId::parse("short"), None);
        assert_eq!(SessionId::parse(&"a".repeat(51).add_char('!')), None);
        assert_eq!(a.digest().len(), 32);
        assert_eq!(format!("{a:?}"), "SessionId(…)");
    }

    trait AddChar {
        fn add_char(self, c: char) -> String;
    }
    impl AddChar for String {
        fn add_char(mut self, c: char) -> String {
            self.push(c);
            self
        }
    }

    #[test]
    fn constant_time_eq_compares_whole_values() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(constant_time_eq(b"", b""));
    }
}
