//! Staff passwords: argon2id at OWASP's recommended cost.

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

/// 19 MiB, two passes, one lane (OWASP's first recommended setting).
const MEMORY_KIB: u32 = 19 * 1024;
const PASSES: u32 = 2;
const LANES: u32 = 1;

pub const MIN_CHARS: usize = 10;
/// Long enough for any passphrase, short enough that hashing stays cheap.
pub const MAX_CHARS: usize = 512;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("the password must have at least {MIN_CHARS} characters")]
    TooShort,
    #[error("the password must have at most {MAX_CHARS} characters")]
    TooLong,
    #[error("the password could not be hashed")]
    Hashing,
}

/// A password that meets the policy. Deliberately not `Display`, and its
/// `Debug` hides the value, so it cannot end up in a log line.
#[derive(Clone)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(…)")
    }
}

impl Password {
    pub fn parse(raw: &str) -> Result<Password, PasswordError> {
        let chars = raw.chars().count();
        if chars < MIN_CHARS {
            Err(PasswordError::TooShort)
        } else if chars > MAX_CHARS {
            Err(PasswordError::TooLong)
        } else {
            Ok(Password(raw.to_owned()))
        }
    }

    /// A random password for `earshot user add --generate-password`.
    pub fn generate() -> Password {
        Password(crate::ids::secret(20))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

fn hasher() -> Result<Argon2<'static>, PasswordError> {
    let params =
        Params::new(MEMORY_KIB, PASSES, LANES, None).map_err(|_| PasswordError::Hashing)?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`) with a fresh 16-byte
/// salt from the operating system.
pub fn hash(password: &Password) -> Result<String, PasswordError> {
    hasher()?
        .hash_password(password.0.as_bytes())
        .map(|h| h.to_string())
        .map_err(|_| PasswordError::Hashing)
}

/// True when `candidate` matches `phc`. A malformed stored hash never
/// matches. The parameters come from `phc`, so old hashes keep working if
/// the cost is raised later.
pub fn verify(candidate: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    Argon2::default()
        .verify_password(candidate.as_bytes(), &parsed)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_at_the_documented_cost_and_verify() {
        let password = Password::parse("correct horse battery").unwrap();
        let phc = hash(&password).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify("correct horse battery", &phc));
        assert!(!verify("correct horse battery!", &phc));
        assert!(!verify("correct horse battery", "not a hash"));
        assert_ne!(phc, hash(&password).unwrap(), "salted");
    }

    #[test]
    fn a_hash_stored_by_earlier_releases_still_verifies() {
        // Made by argon2 0.5.3 (Earshot before December 2026) with this
        // module's parameters: upgrading the crate must not lock staff out.
        let stored = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$\
                      iPOQ5f2O21FsjnBvo1AiFcDuSXciCnKUrXFO+yfgNoM";
        assert!(verify("correct horse battery", stored));
        assert!(!verify("correct horse batterY", stored));
        // At another cost: each hash is checked at its own.
        let cheaper = "$argon2id$v=19$m=8192,t=3,p=1$b3RoZXJzYWx0b3RoZXJzYQ$\
                       f8Mew3+dOFfsMSo36OrGF9Rw8rj5h19P6uE5dEPtkFQ";
        assert!(verify("correct horse battery", cheaper));
        assert!(!verify("correct horse batterY", cheaper));
    }

    #[test]
    fn the_policy_bounds_length_and_debug_hides_the_value() {
        assert_eq!(
            Password::parse("short").unwrap_err(),
            PasswordError::TooShort
        );
        assert_eq!(
            Password::parse(&"x".repeat(MAX_CHARS + 1)).unwrap_err(),
            PasswordError::TooLong
        );
        let p = Password::parse("ten chars!").unwrap();
        assert_eq!(format!("{p:?}"), "Password(…)");
        assert!(Password::generate().expose().len() >= MIN_CHARS);
    }
}
