//! Standard Webhooks v1 signatures: `v1,<base64 HMAC-SHA256 of
//! "{id}.{timestamp}.{body}">` keyed with the secret's bytes (the part of
//! `whsec_…` after the prefix, base64-decoded). After a rotation both the
//! new and the old secret sign, space-separated, so receivers can switch
//! over without dropping a message.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use rand::Rng;
use sha2::Sha256;

const PREFIX: &str = "whsec_";
/// Random bytes in a new secret (the specification asks for at least 24).
const SECRET_BYTES: usize = 32;

/// A signing secret, `whsec_` and base64. Never printed by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningSecret(String);

impl std::fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningSecret(…)")
    }
}

impl SigningSecret {
    pub fn generate() -> SigningSecret {
        let mut key = [0u8; SECRET_BYTES];
        rand::rng().fill_bytes(&mut key);
        SigningSecret(format!("{PREFIX}{}", STANDARD.encode(key)))
    }

    /// A stored secret; `None` if it is not `whsec_` and base64.
    pub fn from_stored(raw: &str) -> Option<SigningSecret> {
        let key = STANDARD.decode(raw.strip_prefix(PREFIX)?).ok()?;
        (!key.is_empty()).then(|| SigningSecret(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    fn key(&self) -> Vec<u8> {
        self.0
            .strip_prefix(PREFIX)
            .and_then(|b64| STANDARD.decode(b64).ok())
            .unwrap_or_default()
    }

    /// The base64 signature of one message.
    fn signature(&self, msg_id: &str, timestamp: i64, body: &str) -> String {
        // HMAC takes keys of any length; a stored secret always decodes.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.key()) else {
            return String::new();
        };
        mac.update(msg_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body.as_bytes());
        STANDARD.encode(mac.finalize().into_bytes())
    }
}

/// The `webhook-signature` header: one `v1,<signature>` per secret.
pub fn header(secrets: &[&SigningSecret], msg_id: &str, timestamp: i64, body: &str) -> String {
    secrets
        .iter()
        .map(|s| format!("v1,{}", s.signature(msg_id, timestamp, body)))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_specifications_test_vector_verifies() {
        // From the Standard Webhooks reference implementations.
        let secret = SigningSecret::from_stored("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            header(
                &[&secret],
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1_614_265_330,
                body
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn new_secrets_are_prefixed_base64_of_32_bytes_and_two_secrets_sign_twice() {
        let a = SigningSecret::generate();
        let b = SigningSecret::generate();
        assert!(a.expose().starts_with("whsec_"));
        assert_eq!(STANDARD.decode(&a.expose()[6..]).unwrap().len(), 32);
        assert_ne!(a, b);
        let both = header(&[&a, &b], "msg_1", 1, "{}");
        let parts: Vec<&str> = both.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert!(parts.iter().all(|p| p.starts_with("v1,")));
        assert!(!format!("{a:?}").contains(&a.expose()[6..]));
        assert_eq!(SigningSecret::from_stored("plain"), None);
    }
}
