//! Client IPs are never stored. Entries keep a keyed hash that changes
//! every UTC day: enough to see that one address sent a burst today, not
//! enough to follow it over time or to reverse it without the secret.

use std::net::IpAddr;

use sha2::{Digest, Sha256};

#[derive(Clone)]
pub struct IpHasher {
    secret: [u8; 32],
}

impl std::fmt::Debug for IpHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IpHasher { secret: <redacted> }")
    }
}

impl IpHasher {
    pub fn new(secret: [u8; 32]) -> Self {
        IpHasher { secret }
    }

    /// Hash of `ip` for the UTC day containing `unix_millis`.
    pub fn hash(&self, ip: IpAddr, unix_millis: i64) -> String {
        let day = unix_millis.div_euclid(86_400_000);
        let mut h = Sha256::new();
        h.update(b"earshot-ip-v1");
        h.update(self.secret);
        h.update(day.to_be_bytes());
        match ip {
            IpAddr::V4(v4) => h.update(v4.octets()),
            IpAddr::V6(v6) => h.update(v6.octets()),
        }
        h.finalize()
            .iter()
            .take(16)
            .map(|b| format!("{b:02x}"))
            .collect()
    }
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
    fn debug_output_hides_the_secret() {
        assert!(!format!("{:?}", IpHasher::new([7; 32])).contains('7'));
    }
}
