//! Whether email gets through. A relay that refuses the collector's
//! sign-in, or cannot be reached, would otherwise fail in silence: staff
//! are not told of new feedback and customers get no reply by email, and
//! the only channel that could say so is email itself. So the console says
//! it (on Notifications for everyone, above the inbox for administrators),
//! and anyone can send themselves a test email and read what the relay
//! answered.

use std::time::Duration;

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};

use super::login::Empty;
use super::{ConsoleError, Staff, StaffForm};
use crate::http::AppState;
use crate::mail::{AddressRefusal, MailError, Outgoing, SendFailure};
use crate::review::workflow::human_ago;
use crate::store::{MailHealth, Role, StoreError};

/// How long the page waits for the relay: well inside the request's own
/// deadline (`--request-timeout-secs`, 15 s by default).
const TEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Email's health for a page, when there is email to speak of.
pub async fn health(state: &AppState) -> Result<Option<MailHealth>, StoreError> {
    match state.mailer {
        Some(_) => Ok(Some(state.store.mail_health().await?)),
        None => Ok(None),
    }
}

/// Email's health for an administrator's inbox: only when it is failing.
pub async fn failing_for_admin(
    state: &AppState,
    staff: &Staff,
) -> Result<Option<MailHealth>, StoreError> {
    if staff.user.role != Role::Admin {
        return Ok(None);
    }
    Ok(health(state).await?.filter(MailHealth::is_failing))
}

/// The inbox's warning: nobody reads the email that would say so.
pub fn banner(health: &MailHealth, now: i64) -> Markup {
    html! {
        p.notice.failing role="alert" {
            strong { "Email is not getting through" } ": " (failures(health, now))
            " Colleagues are not told of new feedback and customers get no reply by email. "
            a href="/console/notifications#email" { "Check it and send a test email" }
        }
    }
}

/// The Notifications page's account of email: how it is going, the test
/// button, what the last test found (`tested`, from its redirect), and a
/// sender (`--smtp-from`) on a domain nobody receives mail for.
pub fn section(
    staff: &Staff,
    health: &MailHealth,
    tested: Option<&str>,
    made_up_sender: Option<&str>,
    now: i64,
) -> Markup {
    let admin = staff.user.role == Role::Admin;
    html! {
        section #email aria-labelledby="email-heading" {
            h2 #email-heading { "Email" }
            @match tested.map(Tested::parse) {
                Some(Tested::Sent { retried }) => p.notice role="status" {
                    "The relay took a test email for " strong { (staff.user.email) } ". If it does not arrive, look in the spam folder, and check that the sender (--smtp-from) is an address of a domain the relay may send for."
                    @if retried > 0 { " " (retried) @if retried == 1 { " email that had failed is" } @else { " emails that had failed are" } " being sent again now." }
                },
                Some(Tested::Failed(failure)) => p.notice.failing role="alert" {
                    strong { "The test email did not go out: " (failure) "." } " " (failure.advice())
                    @if !admin { " An administrator can change the collector's email settings." }
                },
                Some(Tested::Invalid) => p.notice.failing role="alert" {
                    "The test email could not be written for your address; the relay was not asked."
                },
                Some(Tested::AddressRefused(refusal)) => p.notice.failing role="alert" {
                    strong { "The relay refused your address for good (" (refusal) "): " } "check it for a typing mistake (it is " strong { (staff.user.email) } "). If it is right, the relay's administrator can say why it refuses it. Email to other addresses is not affected."
                },
                Some(Tested::Utf8Address) => p.notice.failing role="alert" {
                    strong { "The relay does not take your address: " } "it has letters beyond ASCII before the @, and the relay does not offer SMTPUTF8 (most large providers do). Customers with such addresses get no email through it either; their status pages still show every reply."
                },
                Some(Tested::Unknown) | None => {},
            }
            @if health.is_failing() {
                p.notice.failing {
                    strong { "Email is not getting through" } ": " (failures(health, now))
                    " Each email is tried again on its own, less often each time."
                }
            } @else if let Some(at) = health.last_sent_at {
                p.muted { "Email is getting through: the last went out " (human_ago(now - at)) "." }
            } @else {
                p.muted { "No email has gone out yet." }
            }
            @if let Some(sender) = made_up_sender {
                p.notice.failing {
                    strong { "Email goes out from " code { (sender) } } ", a domain nobody receives mail for: relays refuse such a sender and inboxes file it as spam. "
                    @if admin { "Start the collector with " code { "--smtp-from" } " (or " code { "EARSHOT_SMTP_FROM" } ") set to an address of your own domain, like " code { "Shop feedback <feedback@shop.example>" } "." }
                    @else { "An administrator can change the collector's sender." }
                }
            }
            form method="post" action="/console/notifications/test" {
                (super::views::csrf(staff))
                button type="submit" { "Send me a test email" }
            }
        }
    }
}

/// "3 attempts failed, the first 40 min ago; the last said “…”."
fn failures(health: &MailHealth, now: i64) -> String {
    let first = health
        .failing_since
        .map_or_else(String::new, |at| human_ago(now - at));
    let count = match health.failed {
        1 => format!("1 attempt failed {first}"),
        n => format!("{n} attempts failed, the first {first}"),
    };
    let reason = health.last_error.as_deref().unwrap_or("no reason recorded");
    format!("{count}; the last said \u{201c}{reason}\u{201d}.")
}

/// The test's outcome when the relay does not take the colleague's
/// address (see [`MailError::Utf8Address`]).
const UTF8_ADDRESS: &str = "utf8-address";

/// The prefix of the test's outcome when the relay refuses the
/// colleague's address for good (see [`AddressRefusal::code`]).
const ADDRESS_REFUSED: &str = "address-";

/// What a test found, as its redirect carries it.
enum Tested {
    Sent {
        retried: usize,
    },
    Failed(SendFailure),
    /// Not sent: the message could not be made (the address, say).
    Invalid,
    /// Not sent: the address has letters beyond ASCII before the `@` and
    /// the relay does not offer SMTPUTF8.
    Utf8Address,
    /// Not sent: the relay refused the address for good.
    AddressRefused(AddressRefusal),
    Unknown,
}

impl Tested {
    fn parse(raw: &str) -> Tested {
        if let Some(retried) = raw.strip_prefix("sent") {
            return Tested::Sent {
                retried: retried
                    .strip_prefix('-')
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0),
            };
        }
        match raw {
            "invalid" => return Tested::Invalid,
            UTF8_ADDRESS => return Tested::Utf8Address,
            _ => {}
        }
        if let Some(code) = raw.strip_prefix(ADDRESS_REFUSED) {
            return AddressRefusal::from_code(code).map_or(Tested::Unknown, Tested::AddressRefused);
        }
        SendFailure::from_code(raw).map_or(Tested::Unknown, Tested::Failed)
    }
}

/// Sends the signed-in colleague a test email now and shows what the relay
/// answered. When it went out, emails that failed before are sent again
/// at once rather than at their next retry, hours away.
pub async fn test(
    State(state): State<AppState>,
    StaffForm { staff, .. }: StaffForm<Empty>,
) -> Result<Response, ConsoleError> {
    let Some(mailer) = state.mailer.clone() else {
        return Ok(Redirect::to("/console/notifications").into_response());
    };
    let mail = Outgoing {
        to: staff.user.email.clone(),
        subject: "Earshot test email".to_owned(),
        text: format!(
            "This is a test email from Earshot at {}, sent because you asked for one on the Notifications page.\n\n\
             It arrived, so email works: notifications, digests and replies to customers reach their inboxes.\n",
            state.public_url
        ),
        html: None,
        about: None,
        automatic: true,
    };
    let failure = match tokio::time::timeout(TEST_TIMEOUT, mailer.send(&mail)).await {
        Ok(Ok(())) => None,
        Ok(Err(MailError::Send(failure))) => Some(failure),
        // The colleague's own address, or the message, would not do: no
        // relay is to blame, and email's health is not the test's to tell.
        Ok(Err(e)) => {
            let outcome = match e {
                MailError::Utf8Address => UTF8_ADDRESS.to_owned(),
                MailError::AddressRefused(refusal) => {
                    format!("{ADDRESS_REFUSED}{}", refusal.code())
                }
                _ => "invalid".to_owned(),
            };
            tracing::info!(user_id = staff.user.id, outcome, "test email");
            return Ok(
                Redirect::to(&format!("/console/notifications?tested={outcome}#email"))
                    .into_response(),
            );
        }
        Err(_) => Some(SendFailure::TimedOut),
    };
    // Recorded and counted as the outbox's attempts are (the same words),
    // so email's health and the failure metric count it: a relay mended
    // and tested reads as working.
    let now = state.clock.now_millis();
    if failure.is_some() {
        state
            .metrics
            .delivery_failed(crate::metrics::Channel::Email);
    }
    let reason = failure.map(|f| MailError::Send(f).to_string());
    let retried = state.store.mail_tested(now, reason).await?;
    let outcome = failure.map_or_else(|| format!("sent-{retried}"), |f| f.code());
    tracing::info!(user_id = staff.user.id, outcome, "test email");
    Ok(Redirect::to(&format!("/console/notifications?tested={outcome}#email")).into_response())
}
