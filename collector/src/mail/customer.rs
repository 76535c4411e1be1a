//! What every email to a customer about their feedback shares: where it
//! goes, the site and reference it names, the way to their status page,
//! and the thread it joins, in the customer's language.

use super::Outgoing;
use crate::language::Language;

/// An email to a customer about one entry, before its own words.
#[derive(Debug, Clone)]
pub struct ToCustomer {
    pub to: String,
    pub site_name: String,
    pub reference: String,
    pub status_url: String,
    pub language: Language,
}

impl ToCustomer {
    /// `template` with the site's name for `{site}`.
    pub(super) fn site(&self, template: &str) -> String {
        template.replace("{site}", &self.site_name)
    }

    /// `subject` with the reference after it, as every customer email's
    /// subject ends.
    pub(super) fn subject(&self, subject: &str) -> String {
        format!("{subject} ({})", self.reference)
    }

    /// The line that leads the customer to their status page ("Follow
    /// your feedback ES-… here:" and the link below): the same in every
    /// email they receive.
    pub(super) fn follow_link(&self) -> String {
        let (follow, here) = match self.language {
            Language::En => ("Follow your feedback", "here:"),
            Language::De => ("Verfolgen Sie Ihr Feedback", "hier:"),
            Language::Fr => ("Suivez votre message", "ici :"),
            Language::Es => ("Sigue tu mensaje", "aquí:"),
            Language::Pt => ("Acompanhe a sua mensagem", "aqui:"),
        };
        format!("{follow} {} {here}\n{}\n", self.reference, self.status_url)
    }

    /// Why the customer received an email the collector sent on its own:
    /// anyone can type anyone's address into a widget.
    pub(super) fn not_you(&self) -> String {
        self.site(match self.language {
            Language::En => "You receive this because this address was given with feedback to {site}. If that was not you, you can ignore it.",
            Language::De => "Sie erhalten diese E-Mail, weil diese Adresse bei einem Feedback an {site} angegeben wurde. Wenn das nicht Sie waren, können Sie sie ignorieren.",
            Language::Fr => "Vous recevez cet e-mail car cette adresse a été donnée avec un message à {site}. Si ce n'était pas vous, vous pouvez l'ignorer.",
            Language::Es => "Recibes este correo porque esta dirección se indicó en un mensaje a {site}. Si no fuiste tú, puedes ignorarlo.",
            Language::Pt => "Recebe este e-mail porque este endereço foi indicado numa mensagem para {site}. Se não foi você, pode ignorá-lo.",
        })
    }

    /// The message, threaded with every other about the entry. `automatic`
    /// when the collector sent it on its own (a receipt, word of a close or
    /// of a promise kept) rather than a colleague writing it: out-of-office
    /// responders then leave it be.
    pub(super) fn message(&self, subject: String, text: String, automatic: bool) -> Outgoing {
        Outgoing {
            to: self.to.clone(),
            subject,
            text,
            html: None,
            about: Some(self.reference.clone()),
            automatic,
        }
    }
}

#[cfg(test)]
pub(super) fn ana(language: Language) -> ToCustomer {
    ToCustomer {
        to: "ana@example.com".into(),
        site_name: "Fern & Fig".into(),
        reference: "ES-AAAA-BBBB".into(),
        status_url: "https://feedback.example/s/e_x.y".into(),
        language,
    }
}
