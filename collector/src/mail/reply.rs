//! What a customer receives when staff reply, in the customer's language
//! (the staff's own words stay as they wrote them).

use super::{Outgoing, ToCustomer};
use crate::language::Language;

/// What a customer receives when staff reply.
#[derive(Debug, Clone)]
pub struct ReplyMail {
    pub customer: ToCustomer,
    pub body: String,
    /// What was promised, and by when (a date).
    pub promise: Option<(String, String)>,
}

/// The words around the reply, in one language.
struct Words {
    re_feedback_to: &'static str,
    we_promise: &'static str,
    by: &'static str,
    answer_there: &'static str,
}

fn words(language: Language) -> &'static Words {
    match language {
        Language::En => &Words {
            re_feedback_to: "Re: your feedback to",
            we_promise: "We promise:",
            by: "by",
            answer_there: "To answer or add a detail, write on that page: replies to this email are not read.",
        },
        Language::De => &Words {
            re_feedback_to: "Re: Ihr Feedback an",
            we_promise: "Unsere Zusage:",
            by: "bis",
            answer_there: "Um zu antworten oder etwas zu ergänzen, schreiben Sie auf dieser Seite: Antworten auf diese E-Mail werden nicht gelesen.",
        },
        Language::Fr => &Words {
            re_feedback_to: "Re : votre message à",
            we_promise: "Nous nous engageons :",
            by: "pour le",
            answer_there: "Pour répondre ou ajouter une précision, écrivez sur cette page : les réponses à cet e-mail ne sont pas lues.",
        },
        Language::Es => &Words {
            re_feedback_to: "Re: tu mensaje a",
            we_promise: "Nuestro compromiso:",
            by: "para el",
            answer_there: "Para responder o añadir un detalle, escribe en esa página: las respuestas a este correo no se leen.",
        },
        Language::Pt => &Words {
            re_feedback_to: "Re: a sua mensagem para",
            we_promise: "O nosso compromisso:",
            by: "até",
            answer_there: "Para responder ou acrescentar um detalhe, escreva nessa página: as respostas a este e-mail não são lidas.",
        },
    }
}

impl ReplyMail {
    pub fn outgoing(&self) -> Outgoing {
        self.customer.message(self.subject(), self.text(), false)
    }

    fn subject(&self) -> String {
        let c = &self.customer;
        c.subject(&format!(
            "{} {}",
            words(c.language).re_feedback_to,
            c.site_name
        ))
    }

    fn text(&self) -> String {
        let c = &self.customer;
        let w = words(c.language);
        let mut text = format!("{}\n", self.body);
        if let Some((promise, due)) = &self.promise {
            text.push_str(&format!("\n{} {promise} ({} {due}).\n", w.we_promise, w.by));
        }
        text.push_str(&format!("\n{}\n{}\n", c.follow_link(), w.answer_there));
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reply_mail_carries_the_reply_promise_and_status_link() {
        let mail = ReplyMail {
            customer: crate::mail::customer::ana(Language::En),
            body: "Sorry about that.".into(),
            promise: Some(("Refund sent".into(), "2026-11-27".into())),
        };
        assert_eq!(
            mail.subject(),
            "Re: your feedback to Fern & Fig (ES-AAAA-BBBB)"
        );
        let text = mail.text();
        assert!(text.starts_with("Sorry about that.\n"));
        assert!(text.contains("We promise: Refund sent (by 2026-11-27)."));
        assert!(text.contains("https://feedback.example/s/e_x.y"));
        assert!(text.contains("write on that page"));
        assert!(mail.outgoing().about.is_some() && !mail.outgoing().automatic);
    }

    #[test]
    fn the_reply_mail_speaks_the_customers_language_around_staffs_own_words() {
        let mail = ReplyMail {
            customer: crate::mail::customer::ana(Language::De),
            body: "Das tut uns leid.".into(),
            promise: Some(("Erstattung".into(), "2026-11-27".into())),
        };
        assert_eq!(
            mail.subject(),
            "Re: Ihr Feedback an Fern & Fig (ES-AAAA-BBBB)"
        );
        let text = mail.text();
        assert!(text.starts_with("Das tut uns leid.\n"));
        assert!(text.contains("Unsere Zusage: Erstattung (bis 2026-11-27)."));
        assert!(text.contains(
            "Verfolgen Sie Ihr Feedback ES-AAAA-BBBB hier:\nhttps://feedback.example/s/e_x.y"
        ));
        for language in [Language::Fr, Language::Es, Language::Pt] {
            let text = ReplyMail {
                customer: crate::mail::customer::ana(language),
                ..mail.clone()
            }
            .text();
            assert!(
                !text.contains("Zusage") && !text.contains("promise"),
                "{text}"
            );
            assert!(text.contains("https://feedback.example/s/e_x.y"));
        }
    }
}
