//! A relay's lasting refusal of one recipient's address, read from the
//! enhanced status code (RFC 3463) that opens its answer ("550 5.1.1
//! <…>: user unknown"). The address, not the relay or the settings, is
//! what fails: sent again it fails again, while other addresses still get
//! through, so the email is given up at once rather than tried for hours,
//! and it says nothing about email's health.

/// The SMTP status and the enhanced code of a lasting refusal of the
/// recipient's address (only these: the relay's words can quote the
/// address, which stays out of records and logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressRefusal {
    status: u16,
    subject: u16,
    detail: u16,
}

impl std::fmt::Display for AddressRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SMTP status {} 5.{}.{}",
            self.status, self.subject, self.detail
        )
    }
}

impl AddressRefusal {
    /// The refusal `error` carries, when the relay refused the recipient's
    /// address for good.
    pub(super) fn of(error: &lettre::transport::smtp::Error) -> Option<AddressRefusal> {
        if !error.is_permanent() {
            return None;
        }
        let status = error.status()?.to_string().parse().ok()?;
        let said = std::error::Error::source(error)?.to_string();
        AddressRefusal::read(status, &said)
    }

    /// From `said`, the text after the status `status`, which opens with
    /// the enhanced code when the relay sends one (most do).
    fn read(status: u16, said: &str) -> Option<AddressRefusal> {
        if !(500..600).contains(&status) {
            return None;
        }
        let (subject, detail) = enhanced(said.split_whitespace().next()?)?;
        // Only the codes RFC 3463 (and 7505) give the destination alone:
        // a refusal of the sender's address (X.1.7, X.1.8, X.1.11) or one
        // that could be either (X.1.0, X.2.0) fails every email, which the
        // settings must mend, and must not be given up quietly.
        let the_recipients = match subject {
            // Bad mailbox, bad system, bad syntax, ambiguous, moved, null MX.
            1 => matches!(detail, 1 | 2 | 3 | 4 | 6 | 10),
            // The mailbox is disabled, or full.
            2 => matches!(detail, 1 | 2),
            _ => false,
        };
        the_recipients.then_some(AddressRefusal {
            status,
            subject,
            detail,
        })
    }

    /// A short word for it, to carry in a link (`550-5.1.1`).
    pub fn code(self) -> String {
        format!("{}-5.{}.{}", self.status, self.subject, self.detail)
    }

    /// The refusal [`code`](Self::code) names.
    pub fn from_code(code: &str) -> Option<AddressRefusal> {
        let (status, enhanced) = code.split_once('-')?;
        AddressRefusal::read(status.parse().ok()?, enhanced)
    }
}

/// The subject and detail of a permanent enhanced code, `5.1.1`.
fn enhanced(code: &str) -> Option<(u16, u16)> {
    let mut parts = code.split('.');
    let (class, subject, detail) = (parts.next()?, parts.next()?, parts.next()?);
    if class != "5" || parts.next().is_some() {
        return None;
    }
    Some((number(subject)?, number(detail)?))
}

/// One to three digits, as RFC 3463 writes a subject or a detail.
fn number(digits: &str) -> Option<u16> {
    if digits.is_empty() || digits.len() > 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lasting_refusal_of_the_recipient_is_read_from_its_enhanced_code() {
        for (status, said) in [
            (
                550,
                "5.1.1 <ana@shop.example>: Recipient address rejected: User unknown",
            ),
            (
                550,
                "5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found",
            ),
            (
                553,
                "5.1.3 The recipient address is not a valid RFC-5321 address",
            ),
            (
                552,
                "5.2.2 The email account that you tried to reach is over quota",
            ),
            (
                550,
                "5.2.1 The email account that you tried to reach is disabled",
            ),
        ] {
            let refusal = AddressRefusal::read(status, said);
            assert!(refusal.is_some(), "{status} {said}");
            let refusal = refusal.unwrap();
            assert!(!refusal.to_string().contains('@'), "{refusal}");
            assert_eq!(AddressRefusal::from_code(&refusal.code()), Some(refusal));
        }
        assert_eq!(
            AddressRefusal::read(550, "5.1.1 <a@b>: unknown")
                .unwrap()
                .to_string(),
            "SMTP status 550 5.1.1"
        );
    }

    #[test]
    fn the_senders_address_a_policy_or_a_passing_trouble_is_no_refusal_of_the_recipient() {
        for (status, said) in [
            // The sender's address: the settings are wrong, for every email.
            (553, "5.1.8 Sender address rejected: Domain not found"),
            (550, "5.1.7 Bad sender's mailbox address syntax"),
            (550, "5.1.11 Sender address has null MX"),
            // Either address, or the message: what failed cannot be told.
            (550, "5.1.0 Address rejected"),
            (550, "5.2.0 Mailbox unavailable"),
            (552, "5.2.3 Message too large"),
            // Policy (relaying denied, sign-in needed): the settings again.
            (550, "5.7.1 Relaying denied"),
            (554, "5.7.0 Authentication required"),
            // Passing trouble, however it is worded.
            (450, "4.2.2 Mailbox full, try again later"),
            (451, "4.1.1 Try again later"),
            // No enhanced code: what failed cannot be told.
            (550, "Requested action not taken: mailbox unavailable"),
            (550, "5.1 <a@b> unknown"),
            (550, "5.1.1.1 unknown"),
            (550, "5.1.1000 unknown"),
            (550, "5.x.1 unknown"),
            (550, "4.1.1 unknown"),
            (550, ""),
        ] {
            assert_eq!(AddressRefusal::read(status, said), None, "{status} {said}");
        }
        for code in ["", "550", "550-", "abc-5.1.1", "550-5.7.1", "450-5.1.1"] {
            assert_eq!(AddressRefusal::from_code(code), None, "{code}");
        }
    }
}
