//! `/s/{token}`: the customer's private status page. No login: the token is
//! the secret, so the page is `noindex`, sends no referrer and is never cached.
//! It speaks the customer's language and shows only what was meant for
//! them: their words, the status, staff replies and promised dates; never
//! internal notes or staff names.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use maud::{DOCTYPE, Markup, html};

use super::{ApiError, AppState};
use crate::clock::{date, timestamp};
use crate::console::workflow::Settled;
use crate::store::{Entry, PublicReply};

pub fn router() -> Router<AppState> {
    Router::new().route("/s/{token}", get(status_page))
}

const PAGE_HEADERS: [(HeaderName, &str); 6] = [
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    ),
    (header::REFERRER_POLICY, "no-referrer"),
    (header::CACHE_CONTROL, "no-store"),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (HeaderName::from_static("x-robots-tag"), "noindex, nofollow"),
    (header::X_FRAME_OPTIONS, "DENY"),
];

/// Everything the page says, in one language.
struct Words {
    lang: &'static str,
    feedback_to: &'static str,
    reference: &'static str,
    sent: &'static str,
    status: &'static str,
    statuses: [&'static str; 5],
    expected: &'static str,
    happened: &'static str,
    message: &'static str,
    replies: &'static str,
    no_reply: &'static str,
    promised: &'static str,
    by: &'static str,
    kept: &'static str,
    missed: &'static str,
    private: &'static str,
    not_found: &'static str,
    check_link: &'static str,
}

const EN: Words = Words {
    lang: "en",
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
    replies: "Replies",
    no_reply: "No reply yet. Replies will appear on this page.",
    promised: "Promised",
    by: "by",
    kept: "done",
    missed: "we missed this date",
    private: "Keep this page's address private: anyone with it can read what you wrote.",
    not_found: "We could not find this page",
    check_link: "Check that the link is complete.",
};

const DE: Words = Words {
    lang: "de",
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
    replies: "Antworten",
    no_reply: "Noch keine Antwort. Antworten erscheinen auf dieser Seite.",
    promised: "Zugesagt",
    by: "bis",
    kept: "erledigt",
    missed: "diesen Termin haben wir verpasst",
    private: "Halten Sie die Adresse dieser Seite privat: Wer sie kennt, kann lesen, was Sie geschrieben haben.",
    not_found: "Diese Seite wurde nicht gefunden",
    check_link: "Bitte prüfen Sie, ob der Link vollständig ist.",
};

const FR: Words = Words {
    lang: "fr",
    feedback_to: "Votre message à",
    reference: "Référence",
    sent: "envoyé le",
    status: "Statut",
    statuses: ["Reçu", "Pris en compte", "En cours", "Résolu", "Clos"],
    expected: "Ce que vous attendiez",
    happened: "Ce qui s'est passé",
    message: "Votre message",
    replies: "Réponses",
    no_reply: "Pas encore de réponse. Les réponses apparaîtront sur cette page.",
    promised: "Promis",
    by: "pour le",
    kept: "fait",
    missed: "nous avons manqué cette date",
    private: "Gardez l'adresse de cette page privée : toute personne qui la connaît peut lire ce que vous avez écrit.",
    not_found: "Nous n'avons pas trouvé cette page",
    check_link: "Vérifiez que le lien est complet.",
};

const ES: Words = Words {
    lang: "es",
    feedback_to: "Tu mensaje a",
    reference: "Referencia",
    sent: "enviado el",
    status: "Estado",
    statuses: ["Recibido", "Confirmado", "En curso", "Resuelto", "Cerrado"],
    expected: "Lo que esperabas",
    happened: "Lo que pasó en cambio",
    message: "Tu mensaje",
    replies: "Respuestas",
    no_reply: "Todavía no hay respuesta. Las respuestas aparecerán en esta página.",
    promised: "Prometido",
    by: "para el",
    kept: "hecho",
    missed: "no cumplimos esta fecha",
    private: "Mantén privada la dirección de esta página: quien la tenga puede leer lo que escribiste.",
    not_found: "No encontramos esta página",
    check_link: "Comprueba que el enlace esté completo.",
};

const PT: Words = Words {
    lang: "pt",
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
    replies: "Respostas",
    no_reply: "Ainda sem resposta. As respostas aparecerão nesta página.",
    promised: "Prometido",
    by: "até",
    kept: "feito",
    missed: "não cumprimos esta data",
    private: "Mantenha o endereço desta página privado: quem o tiver pode ler o que escreveu.",
    not_found: "Não encontrámos esta página",
    check_link: "Verifique se o link está completo.",
};

/// The customer's language from their browser's tag (`pt-BR` → Portuguese),
/// English when we do not speak it.
fn words_for(language: Option<&str>) -> &'static Words {
    let primary = language
        .and_then(|l| l.split(['-', '_']).next())
        .map(str::to_ascii_lowercase);
    match primary.as_deref() {
        Some("de") => &DE,
        Some("fr") => &FR,
        Some("es") => &ES,
        Some("pt") => &PT,
        _ => &EN,
    }
}

fn page(status: StatusCode, words: &Words, title: &str, body: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang=(words.lang) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex, nofollow";
                title { (title) }
                link rel="stylesheet" href="/static/page.css";
            }
            body { main { (body) } }
        }
    };
    let mut response = (status, Html(markup.into_string())).into_response();
    for (name, value) in PAGE_HEADERS {
        response
            .headers_mut()
            .insert(name, HeaderValue::from_static(value));
    }
    response
}

/// Splits `<public id>.<secret>`, refusing anything not shaped like one, so
/// junk never reaches the database.
fn parse_link(link: &str) -> Option<(&str, &str)> {
    let (id, secret) = link.split_once('.')?;
    let lower_alnum = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
    };
    let id_ok = id.len() == 24 && id.starts_with("e_") && lower_alnum(&id[2..]);
    let secret_ok = secret.len() == 32 && lower_alnum(secret);
    (id_ok && secret_ok).then_some((id, secret))
}

fn status_label(words: &Words, status: &str) -> &'static str {
    let index = match status {
        "acknowledged" => 1,
        "in_progress" => 2,
        "resolved" => 3,
        "wont_fix" => 4,
        // New, and spam: a customer is never told their words were binned.
        _ => 0,
    };
    words.statuses[index]
}

fn section(heading: &str, text: &str) -> Markup {
    html! { section { h2 { (heading) } p.words { (text) } } }
}

fn render(entry: &Entry, replies: &[PublicReply], w: &Words) -> Markup {
    html! {
        h1 { (w.feedback_to) " " (entry.site_name) }
        p.meta {
            (w.reference) " " strong { (entry.reference) } " · " (w.sent) " " (timestamp(entry.created_at))
        }
        p { (w.status) ": " span.status { (status_label(w, &entry.status)) } }
        @if let (Some(expected), Some(actual)) = (&entry.expected, &entry.actual) {
            div.sides {
                (section(w.expected, expected))
                (section(w.happened, actual))
            }
        }
        @if let Some(message) = &entry.message {
            (section(w.message, message))
        }
        h2.replies { (w.replies) }
        @if replies.is_empty() {
            p.meta { (w.no_reply) }
        }
        @for reply in replies {
            section.reply {
                p.meta { (timestamp(reply.created_at)) }
                p.words { (reply.body) }
                @if let Some((text, due, settled)) = &reply.promise {
                    p.promise {
                        strong { (w.promised) ": " } (text) " — " (w.by) " " (date(*due))
                        @match settled {
                            Settled::Kept => { " ✓ " (w.kept) }
                            Settled::Broken => { " · " (w.missed) }
                            Settled::Open => {}
                        }
                    }
                }
            }
        }
        p.meta { (w.private) }
    }
}

async fn status_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    let not_found = || {
        page(
            StatusCode::NOT_FOUND,
            &EN,
            EN.not_found,
            html! { h1 { (EN.not_found) } p { (EN.check_link) } },
        )
    };
    let Some((public_id, secret)) = parse_link(&token) else {
        return Ok(not_found());
    };
    let Some(entry) = state
        .store
        .entry_by_status_link(public_id.to_owned(), secret.to_owned())
        .await?
    else {
        return Ok(not_found());
    };
    let replies = state.store.public_replies(public_id.to_owned()).await?;
    let words = words_for(entry.language.as_deref());
    Ok(page(
        StatusCode::OK,
        words,
        &format!("{} {}", words.reference, entry.reference),
        render(&entry, &replies, words),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_customers_language_is_chosen_from_the_browser_tag() {
        assert_eq!(words_for(Some("pt-BR")).lang, "pt");
        assert_eq!(words_for(Some("DE_at")).lang, "de");
        assert_eq!(words_for(Some("fr")).lang, "fr");
        assert_eq!(words_for(Some("es-419")).lang, "es");
        assert_eq!(words_for(Some("ja-JP")).lang, "en");
        assert_eq!(words_for(None).lang, "en");
    }

    #[test]
    fn spam_is_never_shown_to_the_customer_as_such() {
        assert_eq!(status_label(&EN, "spam"), "Received");
        assert_eq!(status_label(&DE, "resolved"), "Erledigt");
    }
}
