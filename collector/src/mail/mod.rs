//! Email, when SMTP is configured: staff replies reach the customer's inbox
//! as well as their status page, and staff hear about new feedback (see
//! `notify`). Every message goes through the durable outbox; this module
//! only writes and sends one.

pub mod account;
mod closed;
mod customer;
pub mod digest;
mod failure;
mod kept;
pub mod mention;
pub mod promise;
mod receipt;
mod refusal;
mod reply;
pub mod staff;

pub use closed::ClosedMail;
pub use customer::ToCustomer;
pub use failure::{CertificateProblem, SendFailure};
pub use kept::KeptMail;
pub use receipt::ReceiptMail;
pub use refusal::AddressRefusal;
pub use reply::ReplyMail;

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, Message, MultiPart};
use lettre::transport::smtp::AsyncSmtpTransport;
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use lettre::{AsyncTransport, Tokio1Executor};

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("invalid SMTP URL (expected smtp://user:password@host:587?tls=required or smtps://…)")]
    Url,
    #[error("invalid sender address {0:?}")]
    From(String),
    #[error("invalid recipient address")]
    To,
    /// Letters beyond ASCII before the `@` (`änna@…`) have no other form,
    /// and a relay must offer SMTPUTF8 to take them.
    #[error(
        "the relay takes no address with letters beyond ASCII before the @ (it does not offer SMTPUTF8)"
    )]
    Utf8Address,
    /// The relay refused the recipient's address for good (unknown,
    /// disabled or full), as its enhanced status code says.
    #[error("the relay refused the address for good ({0})")]
    AddressRefused(AddressRefusal),
    #[error("the message could not be built")]
    Build,
    #[error("TLS to the SMTP relay could not be set up")]
    TlsSetup,
    /// Office 365 or Gmail on port 587 without `?tls=required`: the
    /// password would cross the network in the clear (where the relay
    /// offers to take it so), and a relay that first wants STARTTLS fails
    /// every message with advice about the password.
    #[error(
        "--smtp-url could send its password to {0} unencrypted: use ?tls=required for STARTTLS (port 587), or smtps:// (port 465); only a relay on this machine may take a password without TLS"
    )]
    PlainPassword(String),
    /// Only the SMTP status, never the server's text: that text can quote
    /// the customer's address, which must stay out of the logs.
    #[error("the SMTP relay did not take the message ({0})")]
    Send(SendFailure),
}

impl MailError {
    /// Whether the message's address, not the relay or the settings, is
    /// what failed: sent again, it fails again, and other addresses still
    /// get through.
    pub fn is_the_address(&self) -> bool {
        matches!(
            self,
            MailError::To | MailError::Utf8Address | MailError::AddressRefused(_)
        )
    }
}

/// How long [`Mailer::check`] waits for the relay.
const CHECK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Sends mail through one SMTP relay. Cheap to clone.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// Whether `--smtp-url` names a user to sign in as.
    signs_in: bool,
}

impl std::fmt::Debug for Mailer {
    // The transport holds the SMTP password: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

/// One message, ready to send: plain text, and HTML when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    /// The entry (its reference) the message is about: every message about
    /// one entry names the same thread, so mail programs keep them together.
    pub about: Option<String>,
    /// Sent by the collector on its own (a notification, a digest, an
    /// account link) rather than written by a colleague: marked so that
    /// out-of-office responders do not answer it (RFC 3834).
    pub automatic: bool,
}

/// The thread of messages about the entry `reference`, as a message id
/// that no message carries (the way issue trackers thread their
/// notifications).
fn thread_id(reference: &str, domain: &str) -> String {
    format!("<entry.{reference}@{domain}>")
}

/// The sender's address when `from` (as `--smtp-from` takes it) is on a
/// domain that is no one's on the internet (`localhost`, a `.local` name, a
/// name without a dot, the default `earshot@localhost`): relays refuse it
/// and receivers file it as spam, so the start says so.
pub fn made_up_sender(from: &str) -> Option<String> {
    nobodys_sender(&from.parse().ok()?)
}

/// `from` (as `--smtp-from` takes it) with its domain in Punycode, which
/// every relay takes ([`crate::address`]).
fn sender(from: &str) -> Option<Mailbox> {
    let mailbox: Mailbox = from.parse().ok()?;
    let email = crate::address::ascii_domain(mailbox.email.as_ref())
        .parse()
        .ok()?;
    Some(Mailbox::new(mailbox.name, email))
}

fn nobodys_sender(from: &Mailbox) -> Option<String> {
    let domain = from.email.domain().to_ascii_lowercase();
    let domain = domain.trim_end_matches('.');
    let nobodys = !domain.contains('.')
        || [".localhost", ".local", ".internal", ".lan"]
            .iter()
            .any(|tld| domain.ends_with(tld));
    nobodys.then(|| from.email.to_string())
}

impl Mailer {
    /// `url` as lettre understands it: `smtp://host:25` (no TLS, for a
    /// local relay), `smtp://user:pass@host:587?tls=required` (STARTTLS) or
    /// `smtps://user:pass@host:465`.
    ///
    /// A relay reached over TLS is checked against the web's roots and the
    /// system's trust store ([`crate::tls`]), not the web's alone, so an
    /// internal relay with a certificate from the organisation's own
    /// authority works once that authority is installed the usual way.
    pub fn new(url: &str, from: &str) -> Result<Mailer, MailError> {
        let mut builder =
            AsyncSmtpTransport::<Tokio1Executor>::from_url(url).map_err(|_| MailError::Url)?;
        if let Some(tls) = tls_of(url)? {
            builder = builder.tls(tls);
        }
        let transport = builder.build();
        let from = sender(from).ok_or_else(|| MailError::From(from.to_owned()))?;
        let signs_in = url::Url::parse(url).is_ok_and(|url| !url.username().is_empty());
        Ok(Mailer {
            transport,
            from,
            signs_in,
        })
    }

    /// Its sender's address, if that is [`made_up_sender`].
    pub fn made_up_sender(&self) -> Option<String> {
        nobodys_sender(&self.from)
    }

    pub async fn send(&self, mail: &Outgoing) -> Result<(), MailError> {
        self.transport
            .send(self.message(mail)?)
            .await
            .map(drop)
            .map_err(|e| self.failure(&e))
    }

    /// Connects to the relay as every email will (TLS, sign-in) and says
    /// goodbye, sending nothing. What the settings get wrong is then read
    /// in the start's log, not after the first complaint reached nobody;
    /// a sender or an address the relay refuses shows only by sending.
    pub async fn check(&self) -> Result<(), MailError> {
        match tokio::time::timeout(CHECK_TIMEOUT, self.transport.test_connection()).await {
            Ok(Ok(true)) => Ok(()),
            Ok(Ok(false)) => Err(MailError::Send(SendFailure::Connection)),
            Ok(Err(e)) => Err(self.failure(&e)),
            Err(_) => Err(MailError::Send(SendFailure::TimedOut)),
        }
    }

    /// Why the relay did not take a message, as the settings explain it.
    fn failure(&self, error: &lettre::transport::smtp::Error) -> MailError {
        if failure::needs_smtputf8(error) {
            // The sender's domain is in Punycode: letters beyond ASCII
            // left in it are the settings', and fail every email.
            let sender: &str = self.from.email.as_ref();
            return if sender.is_ascii() {
                MailError::Utf8Address
            } else {
                MailError::Send(SendFailure::Utf8Sender)
            };
        }
        if let Some(refusal) = AddressRefusal::of(error) {
            return MailError::AddressRefused(refusal);
        }
        match SendFailure::of(error) {
            // Without a user, a sign-in is missing, not wrong.
            SendFailure::Status(530) if !self.signs_in => MailError::Send(SendFailure::NoAccount),
            failure => MailError::Send(failure),
        }
    }

    /// `mail` as sent. Its Message-ID is in the sender's domain rather than
    /// the machine's host name, which spam filters hold against a message
    /// when it is missing or names a host that is not the sender's. The
    /// recipient's domain goes in Punycode ([`crate::address`]), which
    /// every relay takes.
    fn message(&self, mail: &Outgoing) -> Result<Message, MailError> {
        let domain = self.from.email.domain();
        let mut builder = Message::builder()
            .message_id(Some(format!("<{}@{domain}>", crate::ids::secret(26))))
            .from(self.from.clone())
            .to(crate::address::ascii_domain(&mail.to)
                .parse()
                .map_err(|_| MailError::To)?)
            .subject(&mail.subject);
        if let Some(entry) = &mail.about {
            let thread = thread_id(entry, domain);
            builder = builder.in_reply_to(thread.clone()).references(thread);
        }
        if mail.automatic {
            builder = builder
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("Auto-Submitted"),
                    "auto-generated".to_owned(),
                ))
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("X-Auto-Response-Suppress"),
                    "All".to_owned(),
                ));
        }
        let message = match &mail.html {
            None => builder
                .header(ContentType::TEXT_PLAIN)
                .body(mail.text.clone()),
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(
                mail.text.clone(),
                html.clone(),
            )),
        }
        .map_err(|_| MailError::Build)?;
        Ok(message)
    }
}

/// The TLS `url` asks for (as lettre reads it: `smtps://`, or `smtp://`
/// with `tls=required` or `tls=opportunistic`), trusting [`crate::tls`]'s
/// roots; `None` for plain SMTP.
fn tls_of(url: &str) -> Result<Option<Tls>, MailError> {
    let url = url::Url::parse(url).map_err(|_| MailError::Url)?;
    let host = url.host_str().ok_or(MailError::Url)?;
    let asked = url
        .query_pairs()
        .find(|(key, _)| key == "tls")
        .map(|(_, value)| value.into_owned());
    let wrap: Option<fn(TlsParameters) -> Tls> = match (url.scheme(), asked.as_deref()) {
        ("smtps", _) => Some(Tls::Wrapper),
        ("smtp", Some("required")) => Some(Tls::Required),
        ("smtp", Some("opportunistic")) => Some(Tls::Opportunistic),
        _ => None,
    };
    // Opportunistic TLS sends the password in the clear to a relay (or a
    // man in the middle) that does not offer STARTTLS.
    let may_be_plain = !matches!(asked.as_deref(), Some("required")) && url.scheme() == "smtp";
    if may_be_plain && url.password().is_some() && !is_this_machine(&url) {
        return Err(MailError::PlainPassword(host.to_owned()));
    }
    let Some(wrap) = wrap else {
        return Ok(None);
    };
    let mut parameters =
        TlsParameters::builder(host.to_owned()).certificate_store(CertificateStore::WebpkiRoots);
    for root in crate::tls::system_roots() {
        let root = Certificate::from_der(root.to_vec()).map_err(|_| MailError::TlsSetup)?;
        parameters = parameters.add_root_certificate(root);
    }
    let parameters = parameters.build_rustls().map_err(|_| MailError::TlsSetup)?;
    Ok(Some(wrap(parameters)))
}

/// Whether `url` names a relay on this machine (loopback), which may take
/// a password without TLS: it never crosses a network.
fn is_this_machine(url: &url::Url) -> bool {
    // `smtp://` is no scheme the URL standard knows, so its host is kept
    // as written (`127.0.0.1` is a name, `[::1]` keeps its brackets).
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    match host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<std::net::IpAddr>()
    {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host == "localhost" || host.ends_with(".localhost"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_settings_are_refused_and_debug_hides_the_password() {
        assert!(matches!(
            Mailer::new("http://x", "a@b.example"),
            Err(MailError::Url)
        ));
        assert!(matches!(
            Mailer::new("smtp://127.0.0.1:2525", "not an address"),
            Err(MailError::From(_))
        ));
        let mailer =
            Mailer::new("smtp://user:s3cret@127.0.0.1:2525", "Earshot <a@b.example>").unwrap();
        assert!(!format!("{mailer:?}").contains("s3cret"));
    }

    #[test]
    fn a_password_never_crosses_a_network_unencrypted() {
        let from = "Earshot <a@b.example>";
        let refused = Mailer::new("smtp://me:s3cret@smtp.office365.com:587", from).unwrap_err();
        assert!(matches!(&refused, MailError::PlainPassword(host) if host == "smtp.office365.com"));
        let said = refused.to_string();
        assert!(
            said.contains("?tls=required") && !said.contains("s3cret"),
            "{said}"
        );
        for url in [
            "smtp://me:s3cret@smtp.office365.com:587?tls=required",
            "smtps://me:s3cret@smtp.gmail.com",
            "smtp://me:s3cret@localhost:25",
            "smtp://me:s3cret@[::1]:25",
            "smtp://relay.internal:25",
            "smtp://relay.internal:25?tls=opportunistic",
        ] {
            assert!(Mailer::new(url, from).is_ok(), "{url}");
        }
    }

    #[test]
    fn a_sender_on_a_domain_nobody_receives_for_is_noticed() {
        let sender = made_up_sender;
        for from in [
            "Earshot <earshot@localhost>",
            "earshot@mail.localhost",
            "ops@intranet",
            "ops@printer.local",
            "ops@box.LAN",
        ] {
            assert!(sender(from).is_some(), "{from}");
        }
        assert_eq!(
            sender("Earshot <EARSHOT@Localhost>").as_deref(),
            Some("EARSHOT@Localhost")
        );
        for from in ["Shop <feedback@shop.example>", "ops@mail.example.co.uk"] {
            assert_eq!(sender(from), None, "{from}");
        }
    }

    fn headers_of(mail: &Outgoing) -> String {
        let mailer = Mailer::new("smtp://127.0.0.1:2525", "Earshot <earshot@fb.example>").unwrap();
        let raw = mailer.message(mail).unwrap().formatted();
        let raw = String::from_utf8(raw).unwrap();
        raw.split("\r\n\r\n").next().unwrap().to_owned()
    }

    fn mail(about: Option<&str>, automatic: bool) -> Outgoing {
        Outgoing {
            to: "ada@shop.example".into(),
            subject: "[Earshot] New complaint".into(),
            text: "Hello".into(),
            html: None,
            about: about.map(str::to_owned),
            automatic,
        }
    }

    #[test]
    fn messages_about_one_entry_share_a_thread_and_automatic_ones_say_so() {
        let first = headers_of(&mail(Some("ES-AAAA-BBBB"), true));
        let second = headers_of(&mail(Some("ES-AAAA-BBBB"), true));
        let id = |headers: &str| {
            headers
                .lines()
                .find_map(|l| l.strip_prefix("Message-ID: "))
                .map(str::to_owned)
        };
        let (a, b) = (id(&first).unwrap(), id(&second).unwrap());
        assert!(a.ends_with("@fb.example>"), "{a}");
        assert_ne!(a, b, "each message has an id of its own");
        for headers in [&first, &second] {
            assert!(headers.contains("In-Reply-To: <entry.ES-AAAA-BBBB@fb.example>"));
            assert!(headers.contains("References: <entry.ES-AAAA-BBBB@fb.example>"));
            assert!(headers.contains("Auto-Submitted: auto-generated"));
            assert!(headers.contains("X-Auto-Response-Suppress: All"));
        }
        // A colleague's reply to a customer, about no entry here: no
        // thread, and not automatic (an out-of-office answer is welcome).
        let written = headers_of(&mail(None, false));
        assert!(id(&written).is_some());
        assert!(!written.contains("In-Reply-To") && !written.contains("References"));
        assert!(!written.contains("Auto-Submitted"));
    }
}
