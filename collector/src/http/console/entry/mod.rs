//! One entry: the customer's words (expected beside actual), context,
//! timeline, and the forms of the actions staff take on it (handled in
//! `actions`).

pub mod actions;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use self::actions::{NoteForm, ReplyForm};
use super::{ConsoleError, NoticeQuery, PageQuery, Staff, views};
use crate::colleagues::Colleagues;
use crate::http::AppState;
use crate::http::local_time::{self, moment};
use crate::review::input::{self, PROMISE_MAX, TEXT_MAX};
use crate::review::mention;
use crate::review::workflow::{Settled, Status, Urgency, human_ago, human_duration};
use crate::store::{AttachmentMeta, EntryDetail, Event, EventKind, PromiseRow, Receipt, User};

fn words(heading: &str, text: &str) -> Markup {
    html! { section.words { h2 { (heading) } p dir="auto" { (text) } } }
}

fn context_row(label: &str, value: Option<&str>) -> Markup {
    html! {
        @if let Some(value) = value.filter(|v| !v.is_empty()) {
            dt { (label) } dd dir="auto" { (value) }
        }
    }
}

/// What came with the entry besides the customer's words, as rows of a
/// `dl`; empty when nothing did (a submission through the API may carry
/// none of it).
fn context(entry: &EntryDetail) -> Markup {
    html! {
        @if let Some(url) = &entry.page_url { dt { "Page" } dd { (views::customer_link(url)) } }
        (context_row("Page title", entry.page_title.as_deref()))
        @if let Some(url) = &entry.page_referrer { dt { "Came from" } dd { (views::customer_link(url)) } }
        (context_row("Severity", entry.severity.as_deref().map(views::severity_label)))
        (context_row("Browser", entry.user_agent.as_deref()))
        (context_row("Language", entry.language.as_deref()))
        (context_row("Time zone", entry.timezone.as_deref()))
        (context_row("Viewport", entry.viewport.as_deref()))
        @for (key, value) in &entry.host_context { dt.host { (key) } dd { (value) } }
        (context_row("Marked as spam because", entry.spam_reason.as_deref()))
    }
}

/// `colleagues`: to tell apart two of the same name, and to say whom a
/// note names (and so emailed, where they hear of what is addressed to
/// them).
fn event_line(event: &Event, promises: &[PromiseRow], colleagues: &Colleagues) -> Markup {
    // Staff actions carry their colleague; the customer's (a follow-up, a
    // reopening) have none. Only staff assign, note, reply and settle, so one
    // without a colleague (seeded before any account existed) is still
    // not the customer's.
    let who = match &event.actor {
        Some(name) => colleagues.name(event.actor_id, name),
        None => match event.kind {
            EventKind::Status | EventKind::FollowUp => "The customer",
            EventKind::Assign
            | EventKind::Note
            | EventKind::Reply
            | EventKind::PromiseKept
            | EventKind::PromiseBroken => "A colleague",
        }
        .to_owned(),
    };
    let status_label = |raw: &Option<String>| {
        raw.as_deref()
            .and_then(Status::parse)
            .map_or("?", Status::label)
    };
    html! {
        @match event.kind {
            EventKind::Status => {
                strong { (who) } " changed the status from " (status_label(&event.old_value)) " to " (status_label(&event.new_value))
                (told_customer(event.customer_mail))
            }
            EventKind::Assign => {
                strong { (who) }
                @match &event.new_value {
                    Some(_) if event.new_user.is_some() && event.new_user == event.actor_id => { " took this on" }
                    Some(to) => { " assigned this to " strong { (colleagues.name(event.new_user, to)) } }
                    None => { " removed the assignment" }
                }
            }
            EventKind::Note => {
                strong { (who) } " added an internal note"
                (naming(event.body.as_deref().unwrap_or_default(), colleagues))
                blockquote.note dir="auto" { (event.body.as_deref().unwrap_or_default()) }
            }
            EventKind::Reply => {
                strong { (who) } " replied to the customer"
                @match event.new_value.as_deref() {
                    Some("emailed") => { " (also emailed)" }
                    Some("email_failed") => { " " span.late { "(the email could not be sent; the reply is on the status page)" } }
                    _ => {}
                }
                blockquote.reply dir="auto" { (event.body.as_deref().unwrap_or_default()) }
                // What the reply promised, as the customer read it then;
                // how it turned out is its own event.
                @for promise in promises.iter().filter(|p| p.event_id == event.id) {
                    p.promise {
                        "and promised " q dir="auto" { (promise.text) } " by " (local_time::day(promise.due_at))
                        // Its keeping, as the customer heard of it.
                        @if event.customer_mail.is_some_and(|m| m != Receipt::Skipped) {
                            "; kept" (told_customer(event.customer_mail))
                        }
                    }
                }
            }
            EventKind::PromiseKept => {
                strong { (who) } " recorded a promise as kept: " q dir="auto" { (event.body.as_deref().unwrap_or_default()) }
            }
            EventKind::PromiseBroken => {
                strong { (who) } " recorded a promise as broken: " q dir="auto" { (event.body.as_deref().unwrap_or_default()) }
            }
            EventKind::FollowUp => {
                strong { (who) } " wrote again from their status page"
                blockquote.follow-up dir="auto" { (event.body.as_deref().unwrap_or_default()) }
            }
        }
    }
}

/// Whether the customer was emailed what an event did (a close, a promise
/// kept), written after the event.
fn told_customer(mail: Option<Receipt>) -> Markup {
    html! {
        @match mail {
            Some(Receipt::Sent) => { " (the customer was emailed)" }
            Some(Receipt::Waiting) => { " (the customer will be emailed in a few minutes, unless a reply tells them first)" }
            Some(Receipt::Failed | Receipt::Refused) => { " " span.late { "(the email to the customer could not be sent)" } }
            Some(Receipt::Skipped) | None => {}
        }
    }
}

/// How to name each colleague in a note, so nobody has to guess.
fn mention_hint(users: &[User], staff: &Staff) -> Markup {
    let emails = || users.iter().map(|u| u.email.as_str());
    let others: Vec<(String, &str)> = users
        .iter()
        .filter(|u| u.id != staff.user.id)
        .map(|u| (mention::handle(&u.email, emails()), u.name.as_str()))
        .collect();
    html! {
        @if !others.is_empty() {
            details.mentions {
                summary { "Name a colleague to email them the note" }
                ul {
                    @for (handle, name) in &others {
                        li { code { (handle) } " " (name) }
                    }
                }
            }
        }
    }
}

/// " naming Bo and Chen Li": the colleagues a note mentions.
fn naming(note: &str, colleagues: &Colleagues) -> Markup {
    let users = colleagues.active();
    let named = mention::mentioned(note, users.iter().map(|u| (u.id, u.email.as_str())));
    let names: Vec<String> = users
        .iter()
        .filter(|u| named.contains(&u.id))
        .map(|u| colleagues.name(Some(u.id), &u.name))
        .collect();
    html! {
        @if let Some((last, rest)) = names.split_last() {
            " naming "
            @for (i, name) in rest.iter().enumerate() {
                @if i > 0 { ", " }
                strong { (name) }
            }
            @if !rest.is_empty() { " and " }
            strong { (last) }
        }
    }
}

/// The status the form offers first: the next step forward, or for spam
/// the open status the entry had before it was marked.
fn suggested_status(entry: &EntryDetail) -> Status {
    if entry.status != Status::Spam {
        return entry.status.forward();
    }
    let before = entry
        .events
        .iter()
        .rev()
        .find(|e| e.kind == EventKind::Status && e.new_value.as_deref() == Some("spam"))
        .and_then(|e| e.old_value.as_deref())
        .and_then(Status::parse);
    Status::rescued(before)
}

/// Where a reply goes, said before it is written: a colleague should not
/// count on an email that will not be sent.
fn reply_reach(has_email: bool, mail_set_up: bool) -> &'static str {
    match (has_email, mail_set_up) {
        (true, true) => "Shown on the customer's status page and emailed to them.",
        (true, false) => {
            "Shown on the customer's status page. Email is not set up on this collector (--smtp-url), so it is not emailed."
        }
        (false, _) => {
            "Shown on the customer's status page. They left no email, so they see it when they open that page again."
        }
    }
}

fn actions(
    entry: &EntryDetail,
    staff: &Staff,
    colleagues: &Colleagues,
    now: i64,
    draft: &Draft,
    mail_set_up: bool,
) -> Markup {
    let base = format!("/console/entries/{}", entry.public_id);
    let suggested = suggested_status(entry);
    let (reply, reply_problem) = match draft {
        Draft::Reply(form, problem) => (Some(form), Some(problem.as_str())),
        _ => (None, None),
    };
    let (note, note_problem) = match draft {
        Draft::Note(form, problem) => (Some(form.body.as_str()), Some(problem.as_str())),
        _ => (None, None),
    };
    html! {
        section.panel #reply-panel {
            h2 { "Reply to the customer" }
            p.muted { (reply_reach(entry.email.is_some(), mail_set_up)) }
            form.stack method="post" action={ (base) "/reply" } {
                (views::csrf(staff))
                (views::refusal(reply_problem, "reply-problem"))
                label for="reply" { "Reply" }
                textarea #reply name="body" rows="5" maxlength=(TEXT_MAX) required dir="auto"
                    aria-describedby=[reply_problem.map(|_| "reply-problem")]
                    autofocus[reply.is_some()] {
                    (reply.map_or("", |r| r.body.as_str()))
                }
                fieldset {
                    legend { "Make a promise (optional)" }
                    label for="promise-text" { "What you promise" }
                    input #promise-text name="promise_text" dir="auto" maxlength=(PROMISE_MAX) placeholder="Fixed in the next release"
                        value=(reply.map_or("", |r| r.promise_text.as_str()));
                    label for="promise-due" { "Due by the end of (UTC)" }
                    input #promise-due type="date" name="promise_due" min=(views::date(now))
                        max=(views::date(input::latest_promise_day(now)))
                        value=(reply.map_or("", |r| r.promise_due.as_str()));
                }
                button.primary type="submit" { "Send reply" }
            }
        }
        section.panel {
            h2 { "Status" }
            form.inline method="post" action={ (base) "/status" } {
                (views::csrf(staff))
                input type="hidden" name="seen" value=(entry.status.as_str());
                label for="status" { "Move to" }
                select #status name="status" required {
                    @for next in entry.status.next() {
                        option value=(next.as_str()) selected[*next == suggested] { (next.label()) }
                    }
                }
                button type="submit" { "Change" }
            }
            // Said before it happens: closing writes to the customer.
            @if mail_set_up && entry.closing_emailed && entry.status.is_open() {
                p.muted { "Resolved or Won't fix emails the customer 5 minutes later, unless a reply tells them." }
            }
            h2 { "Assignee" }
            form.inline method="post" action={ (base) "/assign" } {
                (views::csrf(staff))
                input type="hidden" name="seen"
                    value=(entry.assignee_id.map_or_else(|| "none".to_owned(), |id| id.to_string()));
                label for="assignee" { "Assign to" }
                select #assignee name="assignee" {
                    option value="" selected[entry.assignee_id.is_none()] { "Nobody" }
                    @for u in colleagues.active() {
                        option value=(u.id) selected[entry.assignee_id == Some(u.id)] { (colleagues.name(Some(u.id), &u.name)) }
                    }
                    // Left with a colleague since disabled: shown as theirs
                    // (not as "Nobody"), to be handed on.
                    @if let Some(id) = entry.assignee_id.filter(|id| !colleagues.active().iter().any(|u| u.id == *id)) {
                        option value=(id) selected { (colleagues.name(Some(id), entry.assignee.as_deref().unwrap_or("?"))) " (disabled)" }
                    }
                }
                button type="submit" { "Assign" }
            }
        }
        section.panel {
            h2 { "Internal note" }
            p.muted { "Only colleagues see notes." }
            (mention_hint(colleagues.active(), staff))
            form.stack method="post" action={ (base) "/note" } {
                (views::csrf(staff))
                (views::refusal(note_problem, "note-problem"))
                label for="note" { "Note" }
                textarea #note name="body" rows="3" maxlength=(TEXT_MAX) required dir="auto"
                    aria-describedby=[note_problem.map(|_| "note-problem")]
                    autofocus[note.is_some()] {
                    (note.unwrap_or_default())
                }
                button type="submit" { "Add note" }
            }
        }
    }
}

fn promises(entry: &EntryDetail, staff: &Staff, now: i64) -> Markup {
    html! {
        @if !entry.promises.is_empty() {
            section.panel #promises {
                h2 { "Promises" }
                ul.promises {
                    @for p in &entry.promises {
                        @let state = p.state(now);
                        li {
                            q { (p.text) } " — due " (local_time::day(p.due_at)) " "
                            span class={ "badge " (state.css()) } { (state.label()) }
                            @if p.settled == Settled::Open {
                                form.inline method="post" action={ "/console/entries/" (entry.public_id) "/promises/" (p.id) } {
                                    (views::csrf(staff))
                                    button type="submit" name="outcome" value="kept" { "Kept" }
                                    button type="submit" name="outcome" value="broken" { "Broken" }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A thumbnail, sized by the image's own header so the page does not jump,
/// and a download link. An image whose size could not be read, or that is
/// too large to decode safely, is offered only as a download.
fn attachment_item(a: &AttachmentMeta) -> Markup {
    let href = format!("/console/attachments/{}", a.public_id);
    let shown = a.dimensions.filter(|d| d.is_displayable());
    html! {
        li {
            @if let Some(d) = shown {
                a href=(href) target="_blank" rel="noopener" {
                    img src=(href) width=(d.width) height=(d.height)
                        alt="Image attached by the customer" loading="lazy" decoding="async";
                }
            } @else {
                p.notice { "Not shown: the image's size could not be read or is too large to display safely." }
            }
            span.meta {
                (a.content_type) ", " (a.size / 1024) " KB"
                @if let Some(d) = a.dimensions { ", " (d.width) "×" (d.height) " px" }
                " · " a href={ (href) "?download" } download=(a.file_name()) { "Download" }
            }
        }
    }
}

/// The entry's page; `same` is the customer's other feedback
/// ([`super::same_customer::panel`]).
fn render(
    entry: &EntryDetail,
    staff: &Staff,
    colleagues: &Colleagues,
    now: i64,
    draft: &Draft,
    same: Markup,
    mail_set_up: bool,
) -> Markup {
    let waited = entry.first_response_at.unwrap_or(now) - entry.created_at;
    html! {
        p { a href="/console" { "← Inbox" } }
        h1 { (views::kind_label(&entry.kind)) " " span.ref { (entry.reference) } " " (views::status_badge(entry.status.as_str())) }
        p.meta {
            // A name in another script must not reorder the line around it.
            "From " @if let Some(name) = &entry.name { bdi { (name) } } @else { "a customer" }
            @if let Some(email) = &entry.email { " · " a href={ "mailto:" (email) } { (email) } }
            @match entry.receipt {
                Some(Receipt::Sent) => { " (receipt emailed)" }
                Some(Receipt::Waiting) => { " (receipt waiting to be sent)" }
                Some(Receipt::Failed) => { " " span.late { "(the receipt could not be emailed: the address may not take mail)" } }
                Some(Receipt::Refused) => { " " span.late { "(the receipt could not be emailed: the collector's relay cannot take this address, so replies reach only the status page)" } }
                Some(Receipt::Skipped) | None => {}
            }
            " · " (entry.site_name) " · received " (local_time::when(entry.created_at, now))
        }
        p.meta {
            @match entry.first_response_at {
                Some(_) => { "First response after " strong { (human_duration(waited)) } }
                None if entry.status.is_open() => {
                    @let urgency = Urgency::of(waited, entry.first_response_target_ms);
                    span class={ "wait " (urgency.css()) } { "Waiting " (human_duration(waited)) " (" (urgency.label()) ", target " (human_duration(entry.first_response_target_ms)) ")" }
                }
                None => { "Closed without a reply" }
            }
            @if let Some(since) = entry.followup_at.filter(|_| entry.status.is_open()) {
                @let waiting = now - since;
                @let urgency = Urgency::of(waiting, entry.first_response_target_ms);
                " · " span class={ "wait " (urgency.css()) } { "The customer wrote again " (human_ago(waiting)) " and is waiting (" (urgency.label()) ")" }
            }
            " · " a href={ "/s/" (entry.public_id) "." (entry.status_token) } rel="noreferrer" target="_blank" { "Customer's status page" }
        }
        div.entry {
            div.main {
                @if let (Some(expected), Some(actual)) = (&entry.expected, &entry.actual) {
                    div.sides {
                        (words("What they expected", expected))
                        (words("What happened instead", actual))
                    }
                }
                @if let Some(message) = &entry.message { (words("Message", message)) }
                section.panel {
                    h2 { "Context" }
                    @let rows = context(entry);
                    @if rows.0.is_empty() {
                        p.muted { "Nothing was sent with it: no page, browser or site details." }
                    } @else {
                        dl.context { (rows) }
                    }
                }
                (same)
                @if !entry.attachments.is_empty() {
                    section.panel #attachments {
                        h2 { "Attachments" }
                        ul.attachments {
                            @for a in &entry.attachments { (attachment_item(a)) }
                        }
                    }
                }
                (promises(entry, staff, now))
                section.panel #timeline {
                    h2 { "Timeline" }
                    ol.timeline {
                        li { (moment(entry.created_at)) " " strong { "The customer" } " sent this" }
                        @for event in &entry.events {
                            li id={ "event-" (event.id) } { (moment(event.created_at)) " " (event_line(event, &entry.promises, colleagues)) }
                        }
                    }
                }
            }
            aside.side { (actions(entry, staff, colleagues, now, draft, mail_set_up)) }
        }
    }
}

fn entry_id(path: Result<Path<String>, PathRejection>) -> Result<String, ConsoleError> {
    path.map(|Path(id)| id).map_err(|_| ConsoleError::NotFound)
}

/// What staff typed into a form that was not taken, and why: the page
/// shows it again rather than lose a reply someone spent minutes on.
#[derive(Debug, Default)]
enum Draft {
    #[default]
    None,
    Reply(ReplyForm, String),
    Note(NoteForm, String),
}

pub async fn page(
    staff: Staff,
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    NoticeQuery(query): NoticeQuery<DoneQuery>,
) -> Result<Response, ConsoleError> {
    let id = entry_id(path)?;
    // A reference read out on the phone or copied from an email, typed
    // into the address bar, finds the entry too; links keep the id.
    // One that names no entry goes to the inbox's search, which says why
    // it may be gone.
    if let Some(reference) = crate::ids::parse_reference(&id) {
        let to = match state.store.entry_by_reference(reference.clone()).await? {
            Some(public_id) => format!("/console/entries/{public_id}"),
            None => format!("/console?q={reference}"),
        };
        return Ok(Redirect::to(&to).into_response());
    }
    let done = done_text(&query.done).map(|text| html! { p.notice role="status" { (text) } });
    Ok(
        entry_page(&state, &staff, id, done.unwrap_or_default(), &Draft::None)
            .await?
            .into_response(),
    )
}

async fn entry_page(
    state: &AppState,
    staff: &Staff,
    id: String,
    top: Markup,
    draft: &Draft,
) -> Result<Html<String>, ConsoleError> {
    let (entry, accounts, same) = tokio::try_join!(
        state.store.entry_detail(id.clone()),
        state.store.accounts(),
        state.store.same_customer(id, super::same_customer::SHOWN),
    )?;
    let entry = entry.ok_or(ConsoleError::NotFound)?;
    let now = state.clock.now_millis();
    let title = format!("{} {}", views::kind_label(&entry.kind), entry.reference);
    let same = super::same_customer::panel(&same, entry.email.as_deref(), &entry.reference, now);
    Ok(views::page(
        &title,
        staff,
        "",
        html! { (top) (render(&entry, staff, &Colleagues::new(accounts), now, draft, same, state.mailer.is_some())) },
    ))
}

/// The entry again with the refused form as `draft` fills it in (see
/// [`ConsoleError::form_again`]).
async fn again(
    state: AppState,
    staff: Staff,
    id: String,
    error: ConsoleError,
    draft: impl FnOnce(String) -> Draft,
) -> Result<Response, ConsoleError> {
    error
        .form_again(|why| async move {
            entry_page(&state, &staff, id, Markup::default(), &draft(why)).await
        })
        .await
}

/// Back to the entry after an action, with a short confirmation (`done`
/// is one of the fixed keys of [`done_text`]).
fn back_to(id: &str, done: &str, anchor: &str) -> Response {
    Redirect::to(&format!("/console/entries/{id}?done={done}#{anchor}")).into_response()
}

/// Confirmations by a fixed key: nothing from the URL is echoed.
fn done_text(key: &str) -> Option<&'static str> {
    Some(match key {
        "status" => "Status changed.",
        "assign" => "Assignment saved.",
        "note" => "Note added to the timeline.",
        "reply" => "Reply sent: it is on the customer's status page.",
        "promise" => "Promise settled.",
        _ => return None,
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DoneQuery {
    done: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct AttachmentQuery {
    pub download: Option<String>,
}

/// An attached image, for signed-in staff only. It was checked to be a
/// PNG, JPEG, WebP or GIF of a sane size when stored.
pub async fn attachment(
    _staff: Staff,
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    PageQuery(query): PageQuery<AttachmentQuery>,
) -> Result<Response, ConsoleError> {
    let id = entry_id(path)?;
    let (content_type, bytes) = state
        .store
        .attachment(id.clone())
        .await?
        .ok_or(ConsoleError::NotFound)?;
    Ok(crate::http::attachments::serve(
        &id,
        content_type,
        bytes,
        query.download.is_some(),
    ))
}
