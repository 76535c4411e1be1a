//! Everything the status page says, in the five languages the widget
//! speaks.

use crate::language::Language;

/// Everything the page says, in one language.
pub(super) struct Words {
    /// The language they are written in.
    pub language: Language,
    pub feedback_to: &'static str,
    pub reference: &'static str,
    pub sent: &'static str,
    pub status: &'static str,
    pub statuses: [&'static str; 5],
    pub expected: &'static str,
    pub happened: &'static str,
    pub message: &'static str,
    pub no_reply: &'static str,
    pub promised: &'static str,
    pub by: &'static str,
    pub kept: &'static str,
    pub missed: &'static str,
    pub private: &'static str,
    pub not_found: &'static str,
    pub check_link: &'static str,
    pub conversation: &'static str,
    pub we_replied: &'static str,
    pub you_wrote: &'static str,
    pub add_heading: &'static str,
    pub add_hint: &'static str,
    pub reopen_hint: &'static str,
    pub send: &'static str,
    pub reopen_send: &'static str,
    pub added: &'static str,
    pub err_empty: &'static str,
    pub err_long: &'static str,
    pub err_busy: &'static str,
    pub err_again: &'static str,
    pub err_unsaved: &'static str,
    pub erased: &'static str,
    pub erased_detail: &'static str,
    pub trouble: &'static str,
    pub trouble_detail: &'static str,
}

pub(super) const EN: Words = Words {
    language: Language::En,
    feedback_to: "Your feedback to",
    reference: "Reference",
    sent: "sent",
    status: "Status",
    statuses: [
        "Received",
        "Acknowledged",
        "In progress",
        "Resolved",
        "Closed",
    ],
    expected: "What you expected",
    happened: "What happened instead",
    message: "Your message",
    no_reply: "No reply yet. Replies will appear on this page.",
    promised: "Promised",
    by: "by",
    kept: "done",
    missed: "we missed this date",
    private: "Keep this page's address private: anyone with it can read what you wrote.",
    not_found: "We could not find this page",
    check_link: "Check that the link is complete.",
    conversation: "Conversation",
    we_replied: "We replied",
    you_wrote: "You wrote",
    add_heading: "Add to your message",
    add_hint: "Answer a question we asked, or add a detail. It goes straight to the team.",
    reopen_hint: "Not solved? Tell us what is still wrong: sending reopens your request.",
    send: "Send",
    reopen_send: "Reopen and send",
    added: "Thank you: your message was added. We will answer on this page.",
    err_empty: "Write a message before sending.",
    err_long: "This message is too long; please shorten it.",
    err_busy: "Too many messages for now. Please try again in a few minutes; your text is still here.",
    err_again: "Please check your message and send it again; your text is still here.",
    err_unsaved: "Your message could not be saved just now. Please send it again in a few minutes; your text is still here.",
    erased: "This feedback was removed",
    erased_detail: "It was erased at the customer's request, with everything about it.",
    trouble: "This page cannot be shown right now",
    trouble_detail: "Your feedback is safe with us. Please try again in a few minutes.",
};

pub(super) const DE: Words = Words {
    language: Language::De,
    feedback_to: "Ihr Feedback an",
    reference: "Referenz",
    sent: "gesendet",
    status: "Status",
    statuses: [
        "Eingegangen",
        "Bestätigt",
        "In Bearbeitung",
        "Erledigt",
        "Geschlossen",
    ],
    expected: "Was Sie erwartet haben",
    happened: "Was stattdessen passiert ist",
    message: "Ihre Nachricht",
    no_reply: "Noch keine Antwort. Antworten erscheinen auf dieser Seite.",
    promised: "Zugesagt",
    by: "bis",
    kept: "erledigt",
    missed: "diesen Termin haben wir verpasst",
    private: "Halten Sie die Adresse dieser Seite privat: Wer sie kennt, kann lesen, was Sie geschrieben haben.",
    not_found: "Diese Seite wurde nicht gefunden",
    check_link: "Bitte prüfen Sie, ob der Link vollständig ist.",
    conversation: "Verlauf",
    we_replied: "Unsere Antwort",
    you_wrote: "Sie schrieben",
    add_heading: "Ihre Nachricht ergänzen",
    add_hint: "Beantworten Sie eine Rückfrage oder ergänzen Sie ein Detail. Es geht direkt an das Team.",
    reopen_hint: "Nicht gelöst? Schreiben Sie uns, was noch nicht stimmt: Mit dem Senden wird Ihr Anliegen wieder geöffnet.",
    send: "Senden",
    reopen_send: "Wieder öffnen und senden",
    added: "Danke: Ihre Nachricht wurde hinzugefügt. Wir antworten auf dieser Seite.",
    err_empty: "Bitte schreiben Sie vor dem Senden eine Nachricht.",
    err_long: "Diese Nachricht ist zu lang; bitte kürzen Sie sie.",
    err_busy: "Im Moment zu viele Nachrichten. Bitte versuchen Sie es in einigen Minuten erneut; Ihr Text bleibt erhalten.",
    err_again: "Bitte prüfen Sie Ihre Nachricht und senden Sie sie erneut; Ihr Text bleibt erhalten.",
    err_unsaved: "Ihre Nachricht konnte gerade nicht gespeichert werden. Bitte senden Sie sie in einigen Minuten erneut; Ihr Text bleibt erhalten.",
    erased: "Dieses Feedback wurde entfernt",
    erased_detail: "Es wurde auf Wunsch der Kundin oder des Kunden gelöscht, mit allem, was dazugehörte.",
    trouble: "Diese Seite kann gerade nicht angezeigt werden",
    trouble_detail: "Ihr Feedback ist bei uns sicher. Bitte versuchen Sie es in einigen Minuten erneut.",
};

pub(super) const FR: Words = Words {
    language: Language::Fr,
    feedback_to: "Votre message à",
    reference: "Référence",
    sent: "envoyé le",
    status: "Statut",
    statuses: ["Reçu", "Pris en compte", "En cours", "Résolu", "Clos"],
    expected: "Ce que vous attendiez",
    happened: "Ce qui s'est passé",
    message: "Votre message",
    no_reply: "Pas encore de réponse. Les réponses apparaîtront sur cette page.",
    promised: "Promis",
    by: "pour le",
    kept: "fait",
    missed: "nous avons manqué cette date",
    private: "Gardez l'adresse de cette page privée : toute personne qui la connaît peut lire ce que vous avez écrit.",
    not_found: "Nous n'avons pas trouvé cette page",
    check_link: "Vérifiez que le lien est complet.",
    conversation: "Échanges",
    we_replied: "Notre réponse",
    you_wrote: "Vous avez écrit",
    add_heading: "Compléter votre message",
    add_hint: "Répondez à une question posée ou ajoutez une précision. Elle arrive directement à l'équipe.",
    reopen_hint: "Pas résolu ? Dites-nous ce qui ne va toujours pas : l'envoi rouvre votre demande.",
    send: "Envoyer",
    reopen_send: "Rouvrir et envoyer",
    added: "Merci : votre message a été ajouté. Nous répondrons sur cette page.",
    err_empty: "Écrivez un message avant d'envoyer.",
    err_long: "Ce message est trop long ; merci de le raccourcir.",
    err_busy: "Trop de messages pour le moment. Réessayez dans quelques minutes ; votre texte est conservé.",
    err_again: "Vérifiez votre message et envoyez-le à nouveau ; votre texte est conservé.",
    err_unsaved: "Votre message n’a pas pu être enregistré pour le moment. Renvoyez-le dans quelques minutes ; votre texte est conservé.",
    erased: "Ce message a été supprimé",
    erased_detail: "Il a été effacé à la demande du client, avec tout ce qui s'y rapportait.",
    trouble: "Cette page ne peut pas être affichée pour le moment",
    trouble_detail: "Votre message est bien chez nous. Réessayez dans quelques minutes.",
};

pub(super) const ES: Words = Words {
    language: Language::Es,
    feedback_to: "Tu mensaje a",
    reference: "Referencia",
    sent: "enviado el",
    status: "Estado",
    statuses: ["Recibido", "Confirmado", "En curso", "Resuelto", "Cerrado"],
    expected: "Lo que esperabas",
    happened: "Lo que pasó en cambio",
    message: "Tu mensaje",
    no_reply: "Todavía no hay respuesta. Las respuestas aparecerán en esta página.",
    promised: "Prometido",
    by: "para el",
    kept: "hecho",
    missed: "no cumplimos esta fecha",
    private: "Mantén privada la dirección de esta página: quien la tenga puede leer lo que escribiste.",
    not_found: "No encontramos esta página",
    check_link: "Comprueba que el enlace esté completo.",
    conversation: "Conversación",
    we_replied: "Nuestra respuesta",
    you_wrote: "Escribiste",
    add_heading: "Añadir a tu mensaje",
    add_hint: "Responde a una pregunta que te hicimos o añade un detalle. Llega directamente al equipo.",
    reopen_hint: "¿No está resuelto? Cuéntanos qué sigue mal: al enviar, tu solicitud se reabre.",
    send: "Enviar",
    reopen_send: "Reabrir y enviar",
    added: "Gracias: tu mensaje se ha añadido. Responderemos en esta página.",
    err_empty: "Escribe un mensaje antes de enviar.",
    err_long: "Este mensaje es demasiado largo; acórtalo, por favor.",
    err_busy: "Demasiados mensajes por ahora. Inténtalo de nuevo en unos minutos; tu texto sigue aquí.",
    err_again: "Revisa tu mensaje y envíalo de nuevo; tu texto sigue aquí.",
    err_unsaved: "No hemos podido guardar tu mensaje en este momento. Envíalo de nuevo dentro de unos minutos; tu texto sigue aquí.",
    erased: "Este mensaje se eliminó",
    erased_detail: "Se borró a petición del cliente, con todo lo relacionado.",
    trouble: "No podemos mostrar esta página en este momento",
    trouble_detail: "Tus comentarios están a salvo con nosotros. Inténtalo de nuevo dentro de unos minutos.",
};

pub(super) const PT: Words = Words {
    language: Language::Pt,
    feedback_to: "A sua mensagem para",
    reference: "Referência",
    sent: "enviado em",
    status: "Estado",
    statuses: [
        "Recebido",
        "Confirmado",
        "Em andamento",
        "Resolvido",
        "Encerrado",
    ],
    expected: "O que esperava",
    happened: "O que aconteceu",
    message: "A sua mensagem",
    no_reply: "Ainda sem resposta. As respostas aparecerão nesta página.",
    promised: "Prometido",
    by: "até",
    kept: "feito",
    missed: "não cumprimos esta data",
    private: "Mantenha o endereço desta página privado: quem o tiver pode ler o que escreveu.",
    not_found: "Não encontrámos esta página",
    check_link: "Verifique se o link está completo.",
    conversation: "Conversa",
    we_replied: "A nossa resposta",
    you_wrote: "Escreveu",
    add_heading: "Acrescentar à sua mensagem",
    add_hint: "Responda a uma pergunta que fizemos ou acrescente um detalhe. Chega diretamente à equipa.",
    reopen_hint: "Não ficou resolvido? Diga-nos o que ainda está mal: ao enviar, o seu pedido é reaberto.",
    send: "Enviar",
    reopen_send: "Reabrir e enviar",
    added: "Obrigado: a sua mensagem foi acrescentada. Responderemos nesta página.",
    err_empty: "Escreva uma mensagem antes de enviar.",
    err_long: "Esta mensagem é demasiado longa; encurte-a, por favor.",
    err_busy: "Demasiadas mensagens por agora. Tente novamente daqui a alguns minutos; o seu texto continua aqui.",
    err_again: "Verifique a sua mensagem e envie-a novamente; o seu texto continua aqui.",
    err_unsaved: "Não foi possível guardar a sua mensagem neste momento. Envie-a novamente daqui a alguns minutos; o seu texto continua aqui.",
    erased: "Esta mensagem foi removida",
    erased_detail: "Foi apagada a pedido do cliente, com tudo o que lhe dizia respeito.",
    trouble: "Não é possível mostrar esta página neste momento",
    trouble_detail: "O seu feedback está seguro connosco. Tente novamente daqui a alguns minutos.",
};

/// The page's words in `language`.
pub(super) fn words_in(language: Language) -> &'static Words {
    match language {
        Language::En => &EN,
        Language::De => &DE,
        Language::Fr => &FR,
        Language::Es => &ES,
        Language::Pt => &PT,
    }
}

/// The customer's language from their browser's tag (`pt-BR` → Portuguese),
/// English when we do not speak it.
pub(super) fn words_for(language: Option<&str>) -> &'static Words {
    words_in(Language::of_entry(language))
}

/// For pages with no entry to take the language from (a link not found, or
/// erased): the browser's most preferred language we speak, from its
/// `Accept-Language`, English when none.
pub(super) fn words_accepted(accept_language: Option<&str>) -> &'static Words {
    words_in(Language::accepted(accept_language))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_language_has_its_own_words() {
        for language in [
            Language::En,
            Language::De,
            Language::Fr,
            Language::Es,
            Language::Pt,
        ] {
            assert_eq!(words_in(language).language, language);
        }
        assert_eq!(words_accepted(Some("de-CH, en;q=0.5")).erased, DE.erased);
    }
}
