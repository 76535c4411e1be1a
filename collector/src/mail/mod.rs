//! Email, when SMTP is configured: staff replies reach the customer's inbox
//! as well as their status page, and staff hear about new feedback (see
//! `notify`). Every message goes through the durable outbox; this module
//! only writes and sends one.

mod reply;
pub mod staff;

pub use reply::ReplyMail;

use lettre::message::header::ContentType;
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
        let builder = Message::builder()
            .from(self.from.clone())
            .to(mail.to.parse().map_err(|_| MailError::To)?)
            .subject(&mail.subject);
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
        self.transport.send(message).await.map(drop).map_err(|e| {
            MailError::Send(match e.status() {
                Some(code) => format!("SMTP status {code}"),
                None if e.is_timeout() => "timed out".to_owned(),
                None => "connection or protocol error".to_owned(),
            })
        })
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
}
