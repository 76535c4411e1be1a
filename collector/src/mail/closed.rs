//! What a customer receives when their feedback is resolved, or closed
//! without a change, on sites that send receipts: the customer's status
//! page calls these "Resolved" and "Closed", and so does this email, in the
//! customer's language. Only sent when no reply told them (a reply is the
//! better message); never their own words, like the receipt.

use super::{Outgoing, ToCustomer};
use crate::language::Language;

/// The closing email for one entry.
#[derive(Debug, Clone)]
pub struct ClosedMail {
    pub customer: ToCustomer,
    /// Resolved, rather than closed without a change (won't fix).
    pub resolved: bool,
}

/// The closing email's words in one language; `{site}` is the site's name.
struct Words {
    subject_resolved: &'static str,
    subject_closed: &'static str,
    resolved: &'static str,
    closed: &'static str,
    not_solved: &'static str,
}

fn words(language: Language) -> &'static Words {
    match language {
        Language::En => &Words {
            subject_resolved: "Your feedback to {site} is resolved",
            subject_closed: "Your feedback to {site} is closed",
            resolved: "We have marked your feedback to {site} as resolved. Thank you for telling us.",
            closed: "We have closed your feedback to {site} without a change for now. Thank you for telling us: it was read.",
            not_solved: "Not solved for you? Say so on that page and it is opened again: replies to this email are not read.",
        },
        Language::De => &Words {
            subject_resolved: "Ihr Feedback an {site} ist erledigt",
            subject_closed: "Ihr Feedback an {site} ist geschlossen",
            resolved: "Wir haben Ihr Feedback an {site} als erledigt markiert. Danke, dass Sie es uns gesagt haben.",
            closed: "Wir haben Ihr Feedback an {site} vorerst ohne Änderung geschlossen. Danke, dass Sie es uns gesagt haben: Es wurde gelesen.",
            not_solved: "Nicht gelöst? Schreiben Sie es auf dieser Seite, dann wird Ihr Anliegen wieder geöffnet: Antworten auf diese E-Mail werden nicht gelesen.",
        },
        Language::Fr => &Words {
            subject_resolved: "Votre message à {site} est résolu",
            subject_closed: "Votre message à {site} est clos",
            resolved: "Nous avons marqué votre message à {site} comme résolu. Merci de nous l'avoir signalé.",
            closed: "Nous avons clos votre message à {site} sans changement pour l'instant. Merci de nous l'avoir signalé : il a été lu.",
            not_solved: "Pas résolu pour vous ? Dites-le sur cette page et votre demande sera rouverte : les réponses à cet e-mail ne sont pas lues.",
        },
        Language::Es => &Words {
            subject_resolved: "Tu mensaje a {site} está resuelto",
            subject_closed: "Tu mensaje a {site} está cerrado",
            resolved: "Hemos marcado tu mensaje a {site} como resuelto. Gracias por contárnoslo.",
            closed: "Hemos cerrado tu mensaje a {site} sin cambios por ahora. Gracias por contárnoslo: lo hemos leído.",
            not_solved: "¿No está resuelto para ti? Dilo en esa página y tu solicitud se reabrirá: las respuestas a este correo no se leen.",
        },
        Language::Pt => &Words {
            subject_resolved: "A sua mensagem para {site} está resolvida",
            subject_closed: "A sua mensagem para {site} está encerrada",
            resolved: "Marcámos a sua mensagem para {site} como resolvida. Obrigado por nos dizer.",
            closed: "Encerrámos a sua mensagem para {site} sem alterações por agora. Obrigado por nos dizer: foi lida.",
            not_solved: "Não ficou resolvido para si? Diga-o nessa página e o seu pedido será reaberto: as respostas a este e-mail não são lidas.",
        },
    }
}

impl ClosedMail {
    pub fn outgoing(&self) -> Outgoing {
        // Sent on its own once a status stood, not written by anyone.
        self.customer.message(self.subject(), self.text(), true)
    }

    fn subject(&self) -> String {
        let c = &self.customer;
        let w = words(c.language);
        let subject = if self.resolved {
            w.subject_resolved
        } else {
            w.subject_closed
        };
        c.subject(&c.site(subject))
    }

    fn text(&self) -> String {
        let c = &self.customer;
        let w = words(c.language);
        let said = if self.resolved { w.resolved } else { w.closed };
        format!(
            "{}\n\n{}\n{}\n\n-- \n{}\n",
            c.site(said),
            c.follow_link(),
            w.not_solved,
            c.not_you()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn closed(language: Language, resolved: bool) -> ClosedMail {
        ClosedMail {
            customer: crate::mail::customer::ana(language),
            resolved,
        }
    }

    #[test]
    fn a_resolved_entry_is_called_resolved_with_its_link_and_the_way_to_reopen_it() {
        let mail = closed(Language::En, true);
        assert_eq!(
            mail.subject(),
            "Your feedback to Fern & Fig is resolved (ES-AAAA-BBBB)"
        );
        let text = mail.text();
        assert!(
            text.starts_with(
                "We have marked your feedback to Fern & Fig as resolved. Thank you for telling us.\n\n\
                 Follow your feedback ES-AAAA-BBBB here:\nhttps://feedback.example/s/e_x.y\n\n\
                 Not solved for you? Say so on that page and it is opened again"
            ),
            "{text}"
        );
        assert!(
            text.ends_with("If that was not you, you can ignore it.\n"),
            "{text}"
        );
        let out = mail.outgoing();
        assert_eq!(out.about.as_deref(), Some("ES-AAAA-BBBB"));
        assert!(out.automatic && out.html.is_none());
    }

    #[test]
    fn wont_fix_is_closed_as_the_status_page_says_in_every_language() {
        let mail = closed(Language::En, false);
        assert_eq!(
            mail.subject(),
            "Your feedback to Fern & Fig is closed (ES-AAAA-BBBB)"
        );
        assert!(
            mail.text().starts_with(
                "We have closed your feedback to Fern & Fig without a change for now."
            )
        );
        assert_eq!(
            closed(Language::De, true).subject(),
            "Ihr Feedback an Fern & Fig ist erledigt (ES-AAAA-BBBB)"
        );
        let mut seen = std::collections::HashSet::new();
        for language in [Language::De, Language::Fr, Language::Es, Language::Pt] {
            for resolved in [true, false] {
                let mail = closed(language, resolved);
                let (subject, text) = (mail.subject(), mail.text());
                assert!(seen.insert(subject.clone()), "{subject}: words of its own");
                assert!(seen.insert(text.clone()), "{text}: words of its own");
                assert!(
                    !text.contains("Thank you") && !text.contains("{site}"),
                    "{text}"
                );
                assert!(
                    text.contains("Fern & Fig")
                        && text.contains("https://feedback.example/s/e_x.y")
                );
                assert!(subject.contains("Fern & Fig") && subject.ends_with("(ES-AAAA-BBBB)"));
            }
        }
    }
}
