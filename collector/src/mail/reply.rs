//! What a customer receives when staff reply.

use super::Outgoing;

/// What a customer receives when staff reply.
#[derive(Debug, Clone)]
pub struct ReplyMail {
    pub to: String,
    pub site_name: String,
    pub reference: String,
    pub body: String,
    pub promise: Option<(String, String)>,
    pub status_url: String,
}

impl ReplyMail {
    pub fn outgoing(&self) -> Outgoing {
        Outgoing {
            to: self.to.clone(),
            subject: self.subject(),
            text: self.text(),
            html: None,
        }
    }

    fn subject(&self) -> String {
        format!(
            "Re: your feedback to {} ({})",
            self.site_name, self.reference
        )
    }

    fn text(&self) -> String {
        let mut text = format!("{}\n", self.body);
        if let Some((promise, due)) = &self.promise {
            text.push_str(&format!("\nWe promise: {promise} (by {due}).\n"));
        }
        text.push_str(&format!(
            "\nFollow your feedback {} here:\n{}\n\nPlease do not reply to this email; answers are not read.\n",
            self.reference, self.status_url
        ));
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reply_mail_carries_the_reply_promise_and_status_link() {
        let mail = ReplyMail {
            to: "ana@example.com".into(),
            site_name: "Fern & Fig".into(),
            reference: "ES-AAAA-BBBB".into(),
            body: "Sorry about that.".into(),
            promise: Some(("Refund sent".into(), "2026-11-27".into())),
            status_url: "https://feedback.example/s/e_x.y".into(),
        };
        assert_eq!(
            mail.subject(),
            "Re: your feedback to Fern & Fig (ES-AAAA-BBBB)"
        );
        let text = mail.text();
        assert!(text.starts_with("Sorry about that.\n"));
        assert!(text.contains("We promise: Refund sent (by 2026-11-27)."));
        assert!(text.contains("https://feedback.example/s/e_x.y"));
    }
}
