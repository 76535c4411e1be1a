//! Idempotency keys, made in the browser.

/// Text form of a version 4 (random) UUID, RFC 9562, from 16 random bytes:
/// what `crypto.randomUUID()` returns, which only secure contexts have.
pub fn uuid_v4(mut bytes: [u8; 16]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    bytes[6] = (bytes[6] & 0x0F) | 0x40;
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
        assert_eq!(uuid_v4([0; 16]), "00000000-0000-4000-8000-000000000000");
        assert_eq!(uuid_v4([0xFF; 16]), "ffffffff-ffff-4fff-bfff-ffffffffffff");
    }

    #[test]
    fn every_byte_lands_in_its_place() {
        let bytes: [u8; 16] = core::array::from_fn(|i| (i as u8) * 0x11);
        assert_eq!(uuid_v4(bytes), "00112233-4455-4677-8899-aabbccddeeff");
    }

    #[test]
    fn the_collector_accepts_it() {
        assert!(IdempotencyKey::parse(&uuid_v4([0xA5; 16])).is_ok());
    }
}
