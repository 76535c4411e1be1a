//! Client IPs are never stored. Entries keep a keyed hash that changes
//! every UTC day: enough to see that one address sent a burst today, not
//! enough to follow it over time or to reverse it without the secret.

use std::net::IpAddr;

use sha2::{Digest, Sha256};

#[derive(Clone)]
pub struct IpHasher {
    /// SHA-256 state after the domain tag and the secret: every request
    /// hashes the same 45-byte prefix, so it is absorbed once.
    keyed: Sha256,
}

impl std::fmt::Debug for IpHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IpHasher { secret: <redacted> }")
    }
}

impl IpHasher {
    pub fn new(secret: [u8; 32]) -> Self {
        let mut keyed = Sha256::new();
        keyed.update(b"earshot-ip-v1");
        keyed.update(secret);
        IpHasher { keyed }
    }

    /// Hash of `ip` for the UTC day containing `unix_millis`.
    pub fn hash(&self, ip: IpAddr, unix_millis: i64) -> String {
        let day = unix_millis.div_euclid(86_400_000);
        let mut h = self.keyed.clone();
        h.update(day.to_be_bytes());
        match ip {
            IpAddr::V4(v4) => h.update(v4.octets()),
            IpAddr::V6(v6) => h.update(v6.octets()),
        }
        hex(&h.finalize()[..16])
    }
}

/// Lowercase hex; runs on every submission, so no formatter per byte.
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;

    #[test]
    fn same_ip_same_day_matches_but_rotates_daily_and_per_secret() {
        let a = IpHasher::new([1; 32]);
        let ip: IpAddr = "203.0.113.5".parse().unwrap();
        let t = 20_000 * DAY + 5;
        assert_eq!(a.hash(ip, t), a.hash(ip, t + 3_600_000));
        assert_ne!(a.hash(ip, t), a.hash(ip, t + DAY));
        assert_ne!(a.hash(ip, t), IpHasher::new([2; 32]).hash(ip, t));
        assert_ne!(a.hash(ip, t), a.hash("203.0.113.6".parse().unwrap(), t));
        assert!(!a.hash(ip, t).contains("203"));
        assert_eq!(a.hash(ip, t).len(), 32);
    }

    #[test]
    fn hashes_stay_what_earlier_versions_stored() {
        // Same-day hashes must keep matching across an upgrade (burst
        // analysis compares them); these were produced by the first version.
        let a = IpHasher::new([1; 32]);
        assert_eq!(
            a.hash("203.0.113.5".parse().unwrap(), 20_000 * DAY + 5),
            "a64c81464fad5fb7fd853d5e74a78541"
        );
        assert_eq!(
            a.hash("2001:db8::1".parse().unwrap(), 5),
            "fa01869bc3f43eecfe7c3b101c0099c6"
        );
    }

    #[test]
    fn debug_output_hides_the_secret() {
        assert!(!format!("{:?}", IpHasher::new([7; 32])).contains('7'));
    }
}
