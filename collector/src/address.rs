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

/// Whether `address`'s domain can be written the other way
/// ([`other_form`]): only then may a lookup by the form as typed miss.
pub fn has_other_form(address: &str) -> bool {
    other_form(address) != address
}

/// `address` with its domain written the other way: in Punycode when it
/// is written in Unicode, in Unicode when in Punycode (lower case both,
/// as UTS #46 maps them); `address` as it is when its domain has no other
/// form. Staff accounts are stored as they were typed, so an account is
/// found by the address typed and by this.
pub fn other_form(address: &str) -> Cow<'_, str> {
    let Some((local, domain)) = address.rsplit_once('@') else {
        return Cow::Borrowed(address);
    };
    if !domain.is_ascii() {
        return ascii_domain(address);
    }
    let punycode = domain.split('.').any(|label| {
        label
            .get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case("xn--"))
    });
    if !punycode {
        return Cow::Borrowed(address);
    }
    match idna::domain_to_unicode(domain) {
        (unicode, Ok(())) => Cow::Owned(format!("{local}@{unicode}")),
        (_, Err(_)) => Cow::Borrowed(address),
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
    fn the_other_form_of_a_domain_is_its_punycode_or_its_unicode() {
        assert_eq!(other_form("Jan@Müller.de"), "Jan@xn--mller-kva.de");
        assert_eq!(other_form("Jan@XN--MLLER-KVA.de"), "Jan@müller.de");
        assert_eq!(other_form("kim@xn--r8jz45g.xn--zckzah"), "kim@例え.テスト");
        for alone in [
            "ana@example.com",
            "ana@xn--zz.de",
            "ana",
            "ana@b\u{FFFD}cher.de",
        ] {
            assert_eq!(other_form(alone), alone);
            assert!(!has_other_form(alone), "{alone}");
        }
        assert!(has_other_form("Jan@Müller.de") && has_other_form("Jan@XN--MLLER-KVA.de"));
    }

    #[test]
    fn a_domain_that_is_no_domain_name_is_left_as_it_is() {
        let odd = "ana@b\u{FFFD}cher.de";
        assert_eq!(ascii_domain(odd), odd);
    }
}
