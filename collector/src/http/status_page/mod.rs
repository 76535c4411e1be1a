//! `/s/{token}`: the customer's private status page. No login: the token is
//! the secret, so the page is `noindex`, sends no referrer and is never cached.
//! It speaks the customer's language and shows only what was meant for
//! them: their words, the status, staff replies and promised dates; never
//! internal notes or staff names. The customer can answer back with a
//! follow-up (see [`follow_up`]). Everything works without script; the
//! page's one script shows its times in the customer's own time zone.

mod follow_up;
mod words;

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Extension, Router};
use maud::{DOCTYPE, Markup, html};

use super::{ApiError, AppState};
use crate::abuse::{ClientNet, Decision};
use crate::http::local_time::{day, moment};
use crate::review::workflow::{Author, LastMessage, Settled, repeats};
use crate::store::{Entry, PublicMessage};
use follow_up::{FOLLOW_UP_MAX, FollowUpForm, FollowUpProblem, FollowUpText};
use words::{Words, words_accepted, words_for};

pub fn router() -> Router<AppState> {
    Router::new().route("/s/{token}", get(status_page)).route(
        "/s/{token}/follow-up",
        get(back_to_page).post(add_follow_up),
    )
}

const PAGE_HEADERS: [(HeaderName, &str); 6] = [
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
    (header::REFERRER_POLICY, "no-referrer"),
    (header::CACHE_CONTROL, "no-store"),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (HeaderName::from_static("x-robots-tag"), "noindex, nofollow"),
    (header::X_FRAME_OPTIONS, "DENY"),
];

fn page(status: StatusCode, words: &Words, title: &str, body: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang=(words.language.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex, nofollow";
                title { (title) }
                link rel="stylesheet" href="/static/page.css";
                script src="/static/local-time.js" defer {}
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
    html! { section { h2 { (heading) } p.words dir="auto" { (text) } } }
}

fn message(m: &PublicMessage, w: &Words) -> Markup {
    html! {
        @if m.by_customer {
            section.follow-up {
                p.meta { strong { (w.you_wrote) } " · " (moment(m.created_at)) }
                p.words dir="auto" { (m.body) }
            }
        } @else {
            section.reply {
                p.meta { strong { (w.we_replied) } " · " (moment(m.created_at)) }
                p.words dir="auto" { (m.body) }
                @if let Some((text, due, settled)) = &m.promise {
                    p.promise {
                        strong { (w.promised) ": " } bdi { (text) } " — " (w.by) " " (day(*due))
                        @match settled {
                            Settled::Kept => { " ✓ " (w.kept) }
                            Settled::Broken => { " · " (w.missed) }
                            Settled::Open => {}
                        }
                    }
                }
            }
        }
    }
}

/// The follow-up form as it stands: what was typed (kept after a refusal)
/// and why it was refused.
#[derive(Debug, Default)]
struct Draft {
    text: String,
    problem: Option<FollowUpProblem>,
    added: bool,
}

fn problem_text(w: &Words, problem: FollowUpProblem) -> &'static str {
    match problem {
        FollowUpProblem::Empty => w.err_empty,
        FollowUpProblem::TooLong => w.err_long,
        FollowUpProblem::Busy => w.err_busy,
        FollowUpProblem::SendAgain => w.err_again,
        FollowUpProblem::Unsaved => w.err_unsaved,
    }
}

fn follow_up_form(link: &str, form_token: &str, closed: bool, draft: &Draft, w: &Words) -> Markup {
    html! {
        section.add #add {
            h2 { (w.add_heading) }
            @if draft.added {
                p.added role="status" { (w.added) }
            }
            p.meta #add-hint { (if closed { w.reopen_hint } else { w.add_hint }) }
            form method="post" action={ "/s/" (link) "/follow-up" } {
                input type="hidden" name="form" value=(form_token);
                // People never see it; a bot filling every field does.
                div.trap aria-hidden="true" {
                    label for="website" { "Website" }
                    input #website name="website" tabindex="-1" autocomplete="off";
                }
                label for="message" { (w.message) }
                @if let Some(problem) = draft.problem {
                    p.error #message-error role="alert" { (problem_text(w, problem)) }
                }
                textarea #message name="message" rows="5" maxlength=(FOLLOW_UP_MAX) required dir="auto"
                    aria-describedby=(if draft.problem.is_some() { "add-hint message-error" } else { "add-hint" })
                    aria-invalid=[draft.problem.map(|_| "true")]
                    autofocus[draft.problem.is_some()] { (draft.text) }
                button type="submit" { (if closed { w.reopen_send } else { w.send }) }
            }
        }
    }
}

fn render(
    entry: &Entry,
    conversation: &[PublicMessage],
    link: &str,
    form_token: &str,
    draft: &Draft,
    w: &Words,
) -> Markup {
    let closed = matches!(entry.status.as_str(), "resolved" | "wont_fix");
    html! {
        h1 { (w.feedback_to) " " (entry.site_name) }
        p.meta {
            (w.reference) " " strong { (entry.reference) } " · " (w.sent) " " (moment(entry.created_at))
        }
        p { (w.status) ": " span.status { (status_label(w, &entry.status)) } }
        // This page is their only way to our answer: said before they
        // close it and lose its address.
        @if !entry.has_email {
            p.come-back { (w.come_back) }
        }
        @if let (Some(expected), Some(actual)) = (&entry.expected, &entry.actual) {
            div.sides {
                (section(w.expected, expected))
                (section(w.happened, actual))
            }
        }
        @if let Some(message) = &entry.message {
            (section(w.message, message))
        }
        h2.replies { (w.conversation) }
        @if !conversation.iter().any(|m| !m.by_customer) {
            p.meta { (w.no_reply) }
        }
        @for m in conversation { (message(m, w)) }
        (follow_up_form(link, form_token, closed, draft, w))
        p.meta { (w.private) }
    }
}

/// 410 for a link whose entry was erased at the customer's request, else
/// 404. The public id alone decides: it is random, and a guesser learns
/// nothing they could not by trying it.
async fn gone_or_not_found(
    state: &AppState,
    link: &str,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    if let Some((public_id, _)) = parse_link(link)
        && state.store.was_erased(public_id.to_owned()).await?
    {
        let w = accepted(headers);
        return Ok(page(
            StatusCode::GONE,
            w,
            w.erased,
            html! { h1 { (w.erased) } p { (w.erased_detail) } },
        ));
    }
    Ok(not_found(headers))
}

/// With no entry, the words are in the browser's language.
fn accepted(headers: &HeaderMap) -> &'static Words {
    words_accepted(
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    )
}

pub(super) fn not_found(headers: &HeaderMap) -> Response {
    let w = accepted(headers);
    page(
        StatusCode::NOT_FOUND,
        w,
        w.not_found,
        html! { h1 { (w.not_found) } p { (w.check_link) } },
    )
}

/// The entry behind a status link, if the link is well formed and right.
async fn find(state: &AppState, link: &str) -> Result<Option<(Entry, String, String)>, ApiError> {
    let Some((public_id, secret)) = parse_link(link) else {
        return Ok(None);
    };
    let found = state
        .store
        .entry_by_status_link(public_id.to_owned(), secret.to_owned())
        .await?;
    Ok(found.map(|entry| (entry, public_id.to_owned(), secret.to_owned())))
}

/// Renders the page for a found entry, with a fresh form token.
async fn show(
    state: &AppState,
    status: StatusCode,
    link: &str,
    (entry, public_id, secret): (Entry, String, String),
    draft: &Draft,
) -> Result<Response, ApiError> {
    let conversation = state.store.public_conversation(entry.id).await?;
    let words = words_for(entry.language.as_deref());
    let form_token = follow_up::issue(&secret, &public_id, state.clock.now_millis());
    Ok(page(
        status,
        words,
        &format!("{} {}", words.reference, entry.reference),
        render(&entry, &conversation, link, &form_token, draft, words),
    ))
}

/// A failure the customer meets as a page in their language: a browser
/// would show the API's JSON error in place of the page.
pub(super) fn trouble(headers: &HeaderMap, error: &ApiError) -> Response {
    let status = error.status();
    if status.is_server_error() {
        // The detail stays in the log.
        tracing::error!(%error, "the status page failed");
    }
    let w = accepted(headers);
    let mut response = page(
        status,
        w,
        w.trouble,
        html! { h1 { (w.trouble) } p { (w.trouble_detail) } },
    );
    if let Some(secs) = error.retry_after_secs() {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

async fn status_page(
    State(state): State<AppState>,
    Path(link): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    match view(&state, &link, query, &headers).await {
        Ok(response) => response,
        Err(error) => trouble(&headers, &error),
    }
}

async fn view(
    state: &AppState,
    link: &str,
    query: Option<String>,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let Some(found) = find(state, link).await? else {
        return gone_or_not_found(state, link, headers).await;
    };
    let draft = Draft {
        added: query.is_some_and(|q| q.split('&').any(|pair| pair == "added=1")),
        ..Draft::default()
    };
    show(state, StatusCode::OK, link, found, &draft).await
}

/// The form's address opened again (a reload after a refused follow-up, a
/// bookmark): the page itself, at its form.
async fn back_to_page(Path(link): Path<String>, headers: HeaderMap) -> Response {
    match parse_link(&link) {
        Some(_) => Redirect::to(&format!("/s/{link}#add")).into_response(),
        None => not_found(&headers),
    }
}

fn limited(decision: Decision) -> Result<(), FollowUpProblem> {
    match decision {
        Decision::Allowed => Ok(()),
        _ => Err(FollowUpProblem::Busy),
    }
}

async fn add_follow_up(
    State(state): State<AppState>,
    Path(link): Path<String>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match take_follow_up(&state, &link, peer, &headers, body).await {
        Ok(response) => response,
        Err(error) => trouble(&headers, &error),
    }
}

async fn take_follow_up(
    state: &AppState,
    link: &str,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    // A form posted from another site is refused before anything is read.
    let cross_site = headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes() == b"cross-site");
    if cross_site {
        return Ok(not_found(headers));
    }
    let client = ClientNet::of(super::client_ip(state, peer, headers));
    let over_ip = limited(state.shield.follow_ups_per_net.check(&client));
    let bytes = super::ingest::read_body(
        headers,
        body,
        follow_up::BODY_MAX_BYTES,
        ApiError::PayloadTooLarge,
    )
    .await;
    let Some(found) = find(state, link).await? else {
        return Ok(not_found(headers));
    };
    let bytes = match bytes {
        Ok(bytes) => bytes,
        // Far past the longest message: the form again, saying so (what
        // was sent is not kept: it was never read).
        Err(ApiError::PayloadTooLarge) => {
            let draft = Draft {
                problem: Some(FollowUpProblem::TooLong),
                ..Draft::default()
            };
            return show(state, StatusCode::PAYLOAD_TOO_LARGE, link, found, &draft).await;
        }
        Err(e) => return Err(e),
    };
    let form: FollowUpForm = serde_html_form::from_bytes(&bytes).unwrap_or_default();
    let now = state.clock.now_millis();
    let (entry, public_id, secret) = &found;
    let conversation = state.store.public_conversation(entry.id).await?;
    // Staff's replies carry no author here, and never match the customer.
    let last = conversation
        .last()
        .filter(|m| m.by_customer)
        .map(|m| LastMessage {
            author: Author::Customer,
            body: &m.body,
            at: m.created_at,
        });
    let taken: Vec<i64> = conversation
        .iter()
        .filter(|m| m.by_customer && m.created_at > now - follow_up::ENTRY_WINDOW_MS)
        .map(|m| m.created_at)
        .collect();
    let checked = over_ip
        .and_then(|()| follow_up::verify(&form.form, secret, public_id, now))
        .and_then(|()| FollowUpText::parse(&form.message))
        .and_then(|text| {
            // A repeat is stored once (by the store), so it spends nothing.
            let again = repeats(last, Author::Customer, text.as_str(), now);
            if again || follow_up::entry_allows(taken, now) {
                Ok(text)
            } else {
                Err(FollowUpProblem::Busy)
            }
        });
    let text = match checked {
        Ok(text) => text,
        Err(problem) => {
            let status = match problem {
                FollowUpProblem::Busy => StatusCode::TOO_MANY_REQUESTS,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            let draft = Draft {
                text: FollowUpText::draft(&form.message),
                problem: Some(problem),
                added: false,
            };
            return show(state, status, link, found, &draft).await;
        }
    };
    // A filled honeypot looks like success to the bot and stores nothing.
    if form.website.is_empty() {
        match state
            .store
            .follow_up(entry.id, text.into_inner(), now)
            .await
        {
            Ok(Some(_)) => tracing::info!(entry = %public_id, "the customer added a follow-up"),
            Ok(None) => return Ok(not_found(headers)),
            Err(e) => {
                // The page again with the text kept, not an error in JSON
                // that a browser shows in place of what they wrote.
                let error = ApiError::from(e);
                tracing::error!(entry = %public_id, %error, "storing a follow-up failed");
                let draft = Draft {
                    text: FollowUpText::draft(&form.message),
                    problem: Some(FollowUpProblem::Unsaved),
                    added: false,
                };
                return show(state, error.status(), link, found, &draft).await;
            }
        }
    }
    Ok(Redirect::to(&format!("/s/{link}?added=1#add")).into_response())
}

#[cfg(test)]
mod tests {
    use super::words::{DE, EN};
    use super::*;

    #[test]
    fn the_customers_language_is_chosen_from_the_browser_tag() {
        assert_eq!(words_for(Some("pt-BR")).language.code(), "pt");
        assert_eq!(words_for(Some("DE_at")).language.code(), "de");
        assert_eq!(words_for(Some("fr")).language.code(), "fr");
        assert_eq!(words_for(Some("es-419")).language.code(), "es");
        assert_eq!(words_for(Some("ja-JP")).language.code(), "en");
        assert_eq!(words_for(None).language.code(), "en");
    }

    #[test]
    fn spam_is_never_shown_to_the_customer_as_such() {
        assert_eq!(status_label(&EN, "spam"), "Received");
        assert_eq!(status_label(&DE, "resolved"), "Erledigt");
    }
}
