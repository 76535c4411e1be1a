//! Idempotency keys, made in the browser.

/// Text form of a version 7 UUID, RFC 9562: the Unix time in milliseconds
/// (48 bits, big-endian) then 74 random bits. Time first because the
/// collector keeps every key in a unique index: random keys (v4) land on a
/// random page of it each, so under load every insert dirties a page of its
/// own and the checkpoint that copies them to the database file is what
/// requests wait on; keys made in time order all land at its end.
///
/// From `crypto.getRandomValues` bytes, not `crypto.randomUUID`: the latter
/// exists only in secure contexts.
pub fn uuid_v7(unix_millis: u64, mut bytes: [u8; 16]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    bytes[..6].copy_from_slice(&unix_millis.to_be_bytes()[2..]);
    bytes[6] = (bytes[6] & 0x0F) | 0x70;
    bytes[8] = (bytes[8] & 0x3F) | 0x80;
    let mut out = String::with_capacity(36);
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0F)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use earshot_protocol::submission::IdempotencyKey;

    #[test]
    fn version_and_variant_bits_are_set_whatever_the_random_bytes() {
        assert_eq!(uuid_v7(0, [0; 16]), "00000000-0000-7000-8000-000000000000");
        assert_eq!(
            uuid_v7(0, [0xFF; 16]),
            "00000000-0000-7fff-bfff-ffffffffffff"
        );
    }

    #[test]
    fn the_time_comes_first_and_random_bytes_after_it() {
        let bytes: [u8; 16] = core::array::from_fn(|i| (i as u8) * 0x11);
        // 2026-12-01T00:00:00Z
        assert_eq!(
            uuid_v7(1_796_083_200_000, bytes),
            "01a22ee6-b000-7677-8899-aabbccddeeff"
        );
    }

    #[test]
    fn later_keys_sort_after_earlier_ones_whatever_their_random_bits() {
        let earlier = uuid_v7(1_796_083_200_000, [0xFF; 16]);
        let later = uuid_v7(1_796_083_200_001, [0; 16]);
        assert!(earlier < later, "{earlier} !< {later}");
    }

    #[test]
    fn the_collector_accepts_it() {
        assert!(IdempotencyKey::parse(&uuid_v7(1_796_083_200_000, [0xA5; 16])).is_ok());
    }
}
