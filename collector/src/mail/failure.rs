//! Why a relay did not take a message, in words an operator can act on,
//! and as a short code that survives a redirect to the test email's page.

/// Why the relay did not take a message, as far as can be said without
/// its own words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendFailure {
    /// It answered with this SMTP status.
    Status(u16),
    TimedOut,
    /// The TLS handshake failed (often the wrong scheme for the port).
    Tls,
    /// The relay's certificate was refused.
    Certificate(CertificateProblem),
    /// `?tls=required`, and the relay offers no STARTTLS.
    NoStartTls,
    /// A user name and password, and the relay offers no way to sign in
    /// that lettre speaks (PLAIN or LOGIN).
    NoSignIn,
    /// The relay wants a sign-in (530), and `--smtp-url` names no user.
    NoAccount,
    /// `--smtp-from` has letters beyond ASCII before the `@`, and the relay
    /// does not offer SMTPUTF8.
    Utf8Sender,
    /// No connection, or one that broke off.
    Connection,
}

impl std::fmt::Display for SendFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendFailure::Status(code) => write!(f, "SMTP status {code}"),
            SendFailure::TimedOut => f.write_str("timed out"),
            SendFailure::Tls => f.write_str("TLS handshake failed"),
            SendFailure::Certificate(problem) => f.write_str(match problem {
                CertificateProblem::UnknownIssuer => {
                    "the relay's certificate is from an authority this machine does not trust"
                }
                CertificateProblem::WrongName => {
                    "the relay's certificate is not for the host in --smtp-url"
                }
                CertificateProblem::Expired => "the relay's certificate has expired",
                CertificateProblem::Other => "the relay's certificate was refused",
            }),
            SendFailure::NoStartTls => f.write_str("the relay does not offer STARTTLS"),
            SendFailure::NoSignIn => {
                f.write_str("the relay offers no way to sign in that Earshot speaks")
            }
            SendFailure::NoAccount => f.write_str("SMTP status 530, sign-in required"),
            SendFailure::Utf8Sender => f.write_str(
                "the sender has letters beyond ASCII before the @, and the relay does not offer SMTPUTF8",
            ),
            SendFailure::Connection => f.write_str("connection or protocol error"),
        }
    }
}

impl SendFailure {
    /// Why `error` kept the relay from taking a message.
    pub(super) fn of(error: &lettre::transport::smtp::Error) -> SendFailure {
        if let Some(code) = error.status() {
            return code
                .to_string()
                .parse()
                .map_or(SendFailure::Connection, SendFailure::Status);
        }
        match crate::tls::refusal(error) {
            Some(rustls::Error::InvalidCertificate(problem)) => {
                SendFailure::Certificate(CertificateProblem::of(problem))
            }
            Some(_) => SendFailure::Tls,
            None if error.is_timeout() => SendFailure::TimedOut,
            None if error.is_tls() => SendFailure::Tls,
            None => match client_refusal(error) {
                Some(said) if said.contains("STARTTLS") => SendFailure::NoStartTls,
                Some(said) if said.contains("authentication mechanism") => SendFailure::NoSignIn,
                _ => SendFailure::Connection,
            },
        }
    }

    /// A short word for it, to carry in a link (`535`, `timeout`, …).
    pub fn code(self) -> String {
        match self {
            SendFailure::Status(code) => code.to_string(),
            SendFailure::TimedOut => "timeout".to_owned(),
            SendFailure::Tls => "tls".to_owned(),
            SendFailure::Certificate(problem) => match problem {
                CertificateProblem::UnknownIssuer => "certificate-issuer",
                CertificateProblem::WrongName => "certificate-name",
                CertificateProblem::Expired => "certificate-expired",
                CertificateProblem::Other => "certificate",
            }
            .to_owned(),
            SendFailure::NoStartTls => "starttls".to_owned(),
            SendFailure::NoSignIn => "sign-in".to_owned(),
            SendFailure::NoAccount => "no-account".to_owned(),
            SendFailure::Utf8Sender => "utf8-sender".to_owned(),
            SendFailure::Connection => "connection".to_owned(),
        }
    }

    /// The failure [`code`](Self::code) names.
    pub fn from_code(code: &str) -> Option<SendFailure> {
        match code {
            "timeout" => Some(SendFailure::TimedOut),
            "tls" => Some(SendFailure::Tls),
            "certificate-issuer" => {
                Some(SendFailure::Certificate(CertificateProblem::UnknownIssuer))
            }
            "certificate-name" => Some(SendFailure::Certificate(CertificateProblem::WrongName)),
            "certificate-expired" => Some(SendFailure::Certificate(CertificateProblem::Expired)),
            "certificate" => Some(SendFailure::Certificate(CertificateProblem::Other)),
            "starttls" => Some(SendFailure::NoStartTls),
            "sign-in" => Some(SendFailure::NoSignIn),
            "no-account" => Some(SendFailure::NoAccount),
            "utf8-sender" => Some(SendFailure::Utf8Sender),
            "connection" => Some(SendFailure::Connection),
            status => status
                .parse::<u16>()
                .ok()
                .filter(|s| (400..600).contains(s))
                .map(SendFailure::Status),
        }
    }

    /// What an operator can check, in a sentence.
    pub fn advice(self) -> &'static str {
        match self {
            SendFailure::Status(530 | 534 | 535 | 538) => {
                "The relay refused the sign-in: check the user name and password in --smtp-url (and that the account may send mail)."
            }
            SendFailure::Status(550..=555) => {
                "The relay refused the sender or the recipient: --smtp-from must be an address the relay lets this account send as."
            }
            SendFailure::Status(400..=499) => {
                "The relay asked to try again later. Earshot retries on its own; if it keeps saying so, its logs say why."
            }
            SendFailure::Status(_) => "The relay refused the message; its logs say why.",
            SendFailure::TimedOut => {
                "The relay did not answer in time: check the host and port in --smtp-url, and that no firewall stands between."
            }
            SendFailure::Tls => {
                "The encrypted connection failed: use smtps://…:465, or smtp://…:587?tls=required for STARTTLS, and check the relay's certificate."
            }
            SendFailure::Certificate(CertificateProblem::UnknownIssuer) => {
                "If your organisation's own authority issued it, add that authority to this machine's trust store (update-ca-certificates on Debian, or name its PEM file in SSL_CERT_FILE) and restart the collector."
            }
            SendFailure::Certificate(CertificateProblem::WrongName) => {
                "Name the relay in --smtp-url by a host name its certificate is for (not its IP address or an internal alias)."
            }
            SendFailure::Certificate(CertificateProblem::Expired) => {
                "The relay's administrator must renew its certificate (or this machine's clock is wrong)."
            }
            SendFailure::Certificate(CertificateProblem::Other) => {
                "The relay's certificate cannot be used; its administrator must replace it."
            }
            SendFailure::NoStartTls => {
                "The relay does not offer encryption on this port: send to its submission port (smtp://…:587?tls=required) or use smtps://…:465. Only a relay on this machine may be reached without TLS (smtp://localhost:25)."
            }
            SendFailure::NoSignIn => {
                "Earshot signs in with PLAIN or LOGIN. Many relays offer them only once the connection is encrypted (smtp://…:587?tls=required, or smtps://…:465); a relay that needs no sign-in takes no user name or password in --smtp-url."
            }
            SendFailure::NoAccount => {
                "The relay takes mail only from an account signed in: put its user name and password in --smtp-url, over TLS (smtp://user:password@host:587?tls=required, or smtps://…:465)."
            }
            SendFailure::Utf8Sender => {
                "Set --smtp-from to an address with plain letters before the @ (feedback@…), or send through a relay that offers SMTPUTF8."
            }
            SendFailure::Connection => {
                "Could not talk to the relay: check the host and port in --smtp-url (smtps://…:465, or smtp://…:587?tls=required for STARTTLS)."
            }
        }
    }
}

/// What lettre said when it, not the relay, stopped the conversation
/// (its own words, which never quote an address).
fn client_refusal(error: &lettre::transport::smtp::Error) -> Option<String> {
    use std::error::Error;
    error
        .is_client()
        .then(|| error.source().map(ToString::to_string))
        .flatten()
}

/// Whether lettre would not send because an address (the sender's or the
/// recipient's) has letters beyond ASCII and the relay does not offer
/// SMTPUTF8.
pub(super) fn needs_smtputf8(error: &lettre::transport::smtp::Error) -> bool {
    client_refusal(error).is_some_and(|said| said.contains("SMTPUTF8"))
}

/// What was wrong with a relay's certificate, as far as it tells an
/// operator what to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateProblem {
    /// Issued by an authority this machine does not trust (an
    /// organisation's own, or self-signed).
    UnknownIssuer,
    /// Not for the host named in the SMTP URL.
    WrongName,
    /// Expired, or not valid yet.
    Expired,
    /// Revoked, badly formed or unusable for a server.
    Other,
}

impl CertificateProblem {
    fn of(error: &rustls::CertificateError) -> CertificateProblem {
        use rustls::CertificateError as E;
        match error {
            E::UnknownIssuer => CertificateProblem::UnknownIssuer,
            E::NotValidForName | E::NotValidForNameContext { .. } => CertificateProblem::WrongName,
            E::Expired
            | E::ExpiredContext { .. }
            | E::NotValidYet
            | E::NotValidYetContext { .. } => CertificateProblem::Expired,
            _ => CertificateProblem::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_failure_survives_its_code_and_says_what_to_check() {
        let problems = [
            CertificateProblem::UnknownIssuer,
            CertificateProblem::WrongName,
            CertificateProblem::Expired,
            CertificateProblem::Other,
        ];
        let failures = [
            SendFailure::Status(535),
            SendFailure::TimedOut,
            SendFailure::Tls,
            SendFailure::NoStartTls,
            SendFailure::NoSignIn,
            SendFailure::NoAccount,
            SendFailure::Utf8Sender,
            SendFailure::Connection,
        ]
        .into_iter()
        .chain(problems.map(SendFailure::Certificate));
        let mut advice = std::collections::HashSet::new();
        for failure in failures {
            assert_eq!(SendFailure::from_code(&failure.code()), Some(failure));
            assert!(advice.insert(failure.advice()), "{failure:?}");
        }
        assert_eq!(SendFailure::from_code("certificate-unheard-of"), None);
    }
}
