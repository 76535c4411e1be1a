//! An email address's domain as DNS and SMTP write it. One mailbox reaches
//! Earshot as `ana@bücher.de` (typed in Firefox or Safari, or sent by a
//! script) and as `ana@xn--bcher-kva.de` (Chromium's email fields turn the
//! domain into Punycode): a person must be found by either, and mail to
//! either must pass relays that take no UTF-8 (without SMTPUTF8, lettre
//! refuses to send a Unicode domain at all).

use std::borrow::Cow;

/// `address` with an internationalised domain in its ASCII form: mapped
/// as UTS #46 maps it (lower case, full-width letters to their plain
/// form), then Punycode. The part before the `@` is left alone (it has no
/// ASCII form, and only the receiving server may read it), and so is an
/// ASCII domain or one that is no domain name at all.
pub fn ascii_domain(address: &str) -> Cow<'_, str> {
    let Some((local, domain)) = address.rsplit_once('@') else {
        return Cow::Borrowed(address);
    };
    if domain.is_ascii() {
        return Cow::Borrowed(address);
    }
    match idna::domain_to_ascii_cow(domain.as_bytes(), idna::AsciiDenyList::EMPTY) {
        Ok(ascii) => Cow::Owned(format!("{local}@{ascii}")),
        Err(_) => Cow::Borrowed(address),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_international_domain_is_written_in_punycode() {
        for typed in ["Ana@bücher.de", "Ana@BÜCHER.DE", "Ana@\u{FF42}ücher.de"] {
            assert_eq!(ascii_domain(typed), "Ana@xn--bcher-kva.de", "{typed}");
        }
        assert_eq!(
            ascii_domain("kim@例え.テスト"),
            "kim@xn--r8jz45g.xn--zckzah"
        );
    }

    #[test]
    fn an_ascii_domain_and_the_part_before_the_at_are_left_as_they_are() {
        for kept in [
            "Ana@Example.COM",
            "ana@xn--bcher-kva.de",
            "Änna@example.com",
            "no at sign",
        ] {
            assert!(matches!(ascii_domain(kept), Cow::Borrowed(k) if k == kept));
        }
    }

    #[test]
    fn a_domain_that_is_no_domain_name_is_left_as_it_is() {
        let odd = "ana@b\u{FFFD}cher.de";
        assert_eq!(ascii_domain(odd), odd);
    }
}
