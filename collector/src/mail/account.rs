//! The one-time links of staff accounts, emailed: an invitation to join,
//! or a link to choose a new password.

use maud::html;

use super::Outgoing;
use super::staff::page;

/// A one-time link to join, or to choose a new password.
#[derive(Debug, Clone)]
pub struct AccountLinkMail {
    pub to: String,
    /// The administrator who made it; `None` when the account's owner
    /// asked for it from the sign-in page.
    pub by: Option<String>,
    pub url: String,
    pub invite: bool,
    pub valid_hours: i64,
}

impl AccountLinkMail {
    pub fn outgoing(&self) -> Outgoing {
        let by = self.by.as_deref().unwrap_or("An administrator");
        let (subject, lead) = if self.invite {
            (
                format!("[Earshot] {by} invited you to the feedback console"),
                format!(
                    "{by} invited you to Earshot, where your team answers customer feedback. Open this link to choose your name and password:"
                ),
            )
        } else if self.by.is_some() {
            (
                "[Earshot] Choose a new password".to_owned(),
                format!("{by} made you a link to choose a new Earshot password:"),
            )
        } else {
            (
                "[Earshot] Choose a new password".to_owned(),
                "Someone, most likely you, asked for a link to choose a new Earshot password. If it was not you, ignore this email: your password stays as it is."
                    .to_owned(),
            )
        };
        let lasts = match self.valid_hours {
            1 => "an hour".to_owned(),
            n => format!("{n} hours"),
        };
        let text = format!(
            "{lead}\n\n{}\n\nThe link works once, for {lasts}.\n",
            self.url
        );
        let body = html! {
            p { (lead) }
            p { a href=(self.url) { (self.url) } }
            p { "The link works once, for " (lasts) "." }
        };
        Outgoing {
            to: self.to.clone(),
            // Not a notification: nothing to change about receiving it.
            html: Some(page(&subject, body, None)),
            subject,
            text,
            about: None,
            automatic: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_link_is_not_a_notification_and_has_no_footer_about_them() {
        let mail = AccountLinkMail {
            to: "new@example.com".into(),
            by: Some("Ada".into()),
            url: "https://fb.example/console/link/secret".into(),
            invite: true,
            valid_hours: 72,
        }
        .outgoing();
        assert!(mail.text.contains("https://fb.example/console/link/secret"));
        assert!(!mail.text.contains("notifications"), "{}", mail.text);
        assert!(!mail.html.unwrap().contains("notifications"));
    }
}
