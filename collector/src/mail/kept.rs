//! What a customer receives when a promise made to them is kept, on sites
//! that send receipts: the promise in the words it was made in (staff's
//! own), in the customer's language around it. Only sent when no reply
//! told them and the entry is not closed (the closing email says that).

use super::{Outgoing, ToCustomer};
use crate::language::Language;

/// The email for one kept promise.
#[derive(Debug, Clone)]
pub struct KeptMail {
    pub customer: ToCustomer,
    /// The promise, as it was made.
    pub promise: String,
}

/// The email's words in one language; `{site}` is the site's name.
struct Words {
    subject: &'static str,
    kept: &'static str,
    more_there: &'static str,
}

fn words(language: Language) -> &'static Words {
    match language {
        Language::En => &Words {
            subject: "{site} did what it promised",
            kept: "We did what we promised you:",
            more_there: "Anything still wrong? Say so on that page: replies to this email are not read.",
        },
        Language::De => &Words {
            subject: "{site} hat die Zusage eingehalten",
            kept: "Wir haben getan, was wir Ihnen zugesagt haben:",
            more_there: "Stimmt noch etwas nicht? Schreiben Sie es auf dieser Seite: Antworten auf diese E-Mail werden nicht gelesen.",
        },
        Language::Fr => &Words {
            subject: "{site} a tenu son engagement",
            kept: "Nous avons fait ce que nous vous avions promis :",
            more_there: "Quelque chose ne va toujours pas ? Dites-le sur cette page : les réponses à cet e-mail ne sont pas lues.",
        },
        Language::Es => &Words {
            subject: "{site} ha cumplido su compromiso",
            kept: "Hemos hecho lo que te prometimos:",
            more_there: "¿Algo sigue mal? Dilo en esa página: las respuestas a este correo no se leen.",
        },
        Language::Pt => &Words {
            subject: "{site} cumpriu o prometido",
            kept: "Fizemos o que lhe prometemos:",
            more_there: "Ainda há algo errado? Diga-o nessa página: as respostas a este e-mail não são lidas.",
        },
    }
}

impl KeptMail {
    pub fn outgoing(&self) -> Outgoing {
        // Sent on its own once the promise was marked kept.
        self.customer.message(self.subject(), self.text(), true)
    }

    fn subject(&self) -> String {
        let c = &self.customer;
        c.subject(&c.site(words(c.language).subject))
    }

    fn text(&self) -> String {
        let c = &self.customer;
        let w = words(c.language);
        format!(
            "{}\n{}\n\n{}\n{}\n\n-- \n{}\n",
            w.kept,
            self.promise,
            c.follow_link(),
            w.more_there,
            c.not_you()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(language: Language) -> KeptMail {
        KeptMail {
            customer: crate::mail::customer::ana(language),
            promise: "Refund sent by Friday".into(),
        }
    }

    #[test]
    fn a_kept_promise_is_told_in_the_words_it_was_made_in() {
        let mail = kept(Language::En);
        assert_eq!(
            mail.subject(),
            "Fern & Fig did what it promised (ES-AAAA-BBBB)"
        );
        let text = mail.text();
        assert!(
            text.starts_with(
                "We did what we promised you:\nRefund sent by Friday\n\n\
                 Follow your feedback ES-AAAA-BBBB here:\nhttps://feedback.example/s/e_x.y\n\n\
                 Anything still wrong? Say so on that page"
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
    fn a_kept_promise_is_told_in_the_customers_language() {
        let mut seen = std::collections::HashSet::new();
        for language in [Language::De, Language::Fr, Language::Es, Language::Pt] {
            let mail = kept(language);
            let (subject, text) = (mail.subject(), mail.text());
            assert!(seen.insert(subject.clone()), "{subject}: words of its own");
            assert!(
                !text.contains("We did") && !text.contains("{site}"),
                "{text}"
            );
            assert!(
                text.contains("Refund sent by Friday")
                    && text.contains("https://feedback.example/s/e_x.y")
            );
            assert!(subject.starts_with("Fern & Fig ") && subject.ends_with("(ES-AAAA-BBBB)"));
        }
    }
}
