//! What a customer receives when their feedback arrives, on sites that send
//! receipts: the reference and the status link, in the customer's language.
//! Never their own words: anyone can type any address into a widget, so a
//! receipt must carry nothing a stranger could make it say.

use super::{Outgoing, ToCustomer};
use crate::language::Language;

/// The receipt for one entry.
#[derive(Debug, Clone)]
pub struct ReceiptMail {
    pub customer: ToCustomer,
    /// What the site tells customers to expect, in its own words.
    pub response_promise: Option<String>,
}

/// The receipt's words in one language; `{site}` is the site's name.
struct Words {
    subject: &'static str,
    thanks: &'static str,
    answer_there: &'static str,
}

fn words(language: Language) -> &'static Words {
    match language {
        Language::En => &Words {
            subject: "We received your feedback to {site}",
            thanks: "Thank you for writing to {site}: your feedback has arrived.",
            answer_there: "Our answer will be on that page, and emailed to you. To add a detail, write on that page: replies to this email are not read.",
        },
        Language::De => &Words {
            subject: "Wir haben Ihr Feedback an {site} erhalten",
            thanks: "Danke, dass Sie {site} geschrieben haben: Ihr Feedback ist angekommen.",
            answer_there: "Unsere Antwort erscheint auf dieser Seite und kommt auch per E-Mail. Um etwas zu ergänzen, schreiben Sie auf dieser Seite: Antworten auf diese E-Mail werden nicht gelesen.",
        },
        Language::Fr => &Words {
            subject: "Nous avons bien reçu votre message à {site}",
            thanks: "Merci d'avoir écrit à {site} : votre message est bien arrivé.",
            answer_there: "Notre réponse paraîtra sur cette page et vous sera aussi envoyée par e-mail. Pour ajouter une précision, écrivez sur cette page : les réponses à cet e-mail ne sont pas lues.",
        },
        Language::Es => &Words {
            subject: "Hemos recibido tu mensaje a {site}",
            thanks: "Gracias por escribir a {site}: tu mensaje ha llegado.",
            answer_there: "Nuestra respuesta aparecerá en esa página y también te llegará por correo. Para añadir un detalle, escribe en esa página: las respuestas a este correo no se leen.",
        },
        Language::Pt => &Words {
            subject: "Recebemos a sua mensagem para {site}",
            thanks: "Obrigado por escrever a {site}: a sua mensagem chegou.",
            answer_there: "A nossa resposta aparecerá nessa página e ser-lhe-á também enviada por e-mail. Para acrescentar um detalhe, escreva nessa página: as respostas a este e-mail não são lidas.",
        },
    }
}

impl ReceiptMail {
    pub fn outgoing(&self) -> Outgoing {
        self.customer.message(self.subject(), self.text(), true)
    }

    fn subject(&self) -> String {
        let c = &self.customer;
        c.subject(&c.site(words(c.language).subject))
    }

    fn text(&self) -> String {
        let c = &self.customer;
        let w = words(c.language);
        let mut text = format!("{}\n", c.site(w.thanks));
        if let Some(promise) = &self.response_promise {
            text.push_str(&format!("{promise}\n"));
        }
        text.push_str(&format!(
            "\n{}\n{}\n\n-- \n{}\n",
            c.follow_link(),
            w.answer_there,
            c.not_you()
        ));
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receipt(language: Language) -> ReceiptMail {
        ReceiptMail {
            customer: crate::mail::customer::ana(language),
            response_promise: Some("We answer within 1 business day.".into()),
        }
    }

    #[test]
    fn the_receipt_carries_the_reference_the_status_link_and_the_sites_promise() {
        let mail = receipt(Language::En);
        assert_eq!(
            mail.subject(),
            "We received your feedback to Fern & Fig (ES-AAAA-BBBB)"
        );
        let text = mail.text();
        assert!(
            text.starts_with(
                "Thank you for writing to Fern & Fig: your feedback has arrived.\n\
                 We answer within 1 business day.\n"
            ),
            "{text}"
        );
        assert!(text.contains(
            "Follow your feedback ES-AAAA-BBBB here:\nhttps://feedback.example/s/e_x.y\n"
        ));
        assert!(text.contains("replies to this email are not read"));
        assert!(text.contains("If that was not you, you can ignore it."));
        let out = mail.outgoing();
        assert_eq!(out.about.as_deref(), Some("ES-AAAA-BBBB"));
        assert!(out.automatic && out.html.is_none());
    }

    #[test]
    fn the_receipt_speaks_the_customers_language() {
        let without_promise = ReceiptMail {
            response_promise: None,
            ..receipt(Language::De)
        };
        assert_eq!(
            without_promise.subject(),
            "Wir haben Ihr Feedback an Fern & Fig erhalten (ES-AAAA-BBBB)"
        );
        assert!(without_promise.text().starts_with(
            "Danke, dass Sie Fern & Fig geschrieben haben: Ihr Feedback ist angekommen.\n\n"
        ));
        let mut seen = std::collections::HashSet::new();
        for language in [Language::Fr, Language::Es, Language::Pt] {
            let mail = receipt(language);
            let text = mail.text();
            assert!(
                seen.insert(text.clone()),
                "{language:?} has words of its own"
            );
            assert!(
                !text.contains("Thank you") && !text.contains("{site}"),
                "{text}"
            );
            assert!(
                text.contains("Fern & Fig") && text.contains("https://feedback.example/s/e_x.y")
            );
            assert!(mail.subject().ends_with("(ES-AAAA-BBBB)"));
        }
    }
}
