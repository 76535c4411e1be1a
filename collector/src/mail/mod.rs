//! Email, when SMTP is configured: staff replies reach the customer's inbox
//! as well as their status page, and staff hear about new feedback (see
//! `notify`). Every message goes through the durable outbox; this module
//! only writes and sends one.

mod reply;
pub mod staff;

pub use reply::ReplyMail;

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, Message, MultiPart};
use lettre::transport::smtp::AsyncSmtpTransport;
use lettre::{AsyncTransport, Tokio1Executor};

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("invalid SMTP URL (expected smtp://user:password@host:587?tls=required or smtps://…)")]
    Url,
    #[error("invalid sender address {0:?}")]
    From(String),
    #[error("invalid recipient address")]
    To,
    #[error("the message could not be built")]
    Build,
    /// Only the SMTP status, never the server's text: that text can quote
    /// the customer's address, which must stay out of the logs.
    #[error("the SMTP relay did not take the message ({0})")]
    Send(String),
}

/// Sends mail through one SMTP relay. Cheap to clone.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
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

impl Mailer {
    /// `url` as lettre understands it: `smtp://host:25` (no TLS, for a
    /// local relay), `smtp://user:pass@host:587?tls=required` (STARTTLS) or
    /// `smtps://user:pass@host:465`.
    pub fn new(url: &str, from: &str) -> Result<Mailer, MailError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|_| MailError::Url)?
            .build();
        let from = from.parse().map_err(|_| MailError::From(from.to_owned()))?;
        Ok(Mailer { transport, from })
    }

    pub async fn send(&self, mail: &Outgoing) -> Result<(), MailError> {
        self.transport
            .send(self.message(mail)?)
            .await
            .map(drop)
            .map_err(|e| {
                MailError::Send(match e.status() {
                    Some(code) => format!("SMTP status {code}"),
                    None if e.is_timeout() => "timed out".to_owned(),
                    None => "connection or protocol error".to_owned(),
                })
            })
    }

    /// `mail` as sent. Its Message-ID is in the sender's domain rather than
    /// the machine's host name, which spam filters hold against a message
    /// when it is missing or names a host that is not the sender's.
    fn message(&self, mail: &Outgoing) -> Result<Message, MailError> {
        let domain = self.from.email.domain();
        let mut builder = Message::builder()
            .message_id(Some(format!("<{}@{domain}>", crate::ids::secret(26))))
            .from(self.from.clone())
            .to(mail.to.parse().map_err(|_| MailError::To)?)
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
