//! Every customer-facing string in one place, ready for translation.

use earshot_protocol::Kind;

pub const TITLE: &str = "Tell us what happened";
pub const KIND_LEGEND: &str = "What is it about?";
pub const MESSAGE: &str = "Your message";
pub const EXPECTED: &str = "What did you expect?";
pub const ACTUAL: &str = "What happened instead?";
pub const EXTRA: &str = "Anything else? (optional)";
pub const EMAIL: &str = "Want a reply? Your email (optional)";
pub const SEND: &str = "Send";
pub const SENDING: &str = "Sending…";
pub const CLOSE: &str = "Close";
pub const THANKS: &str = "Thank you — we have it.";
pub const REFERENCE: &str = "Your reference";
pub const STATUS_LINK: &str = "Follow what happens";
pub const ANOTHER: &str = "Send something else";
pub const UNREACHABLE: &str =
    "We could not reach our server. Your text is still here — please try again in a moment.";
pub const QUEUED_TITLE: &str = "Saved — not sent yet";
pub const QUEUED_OFFLINE: &str = "We could not reach our server. Your message is saved on this device and we will send it when you're back online, even if you close this page.";
pub const QUEUED_RATE_LIMITED: &str = "Too many messages are arriving just now. Your message is saved on this device and we will send it automatically";
pub const TRY_NOW: &str = "Try now";

/// "… in about 2 minutes." for a retry `secs` from now.
pub fn retry_in(secs: f64) -> String {
    let secs = secs.max(1.0).ceil() as u64;
    if secs < 90 {
        format!(" in about {secs} seconds.")
    } else {
        format!(" in about {} minutes.", secs.div_ceil(60))
    }
}

pub fn kind_label(kind: Kind) -> &'static str {
    match kind {
        Kind::Complaint => "Something went wrong",
        Kind::Expectation => "Not what I expected",
        Kind::Idea => "An idea",
        Kind::Praise => "Praise",
        Kind::Question => "A question",
    }
}

/// Customer-facing explanation of a broken rule.
pub fn field_error(field: earshot_protocol::Field, problem: earshot_protocol::Problem) -> String {
    use earshot_protocol::{Field, Problem};
    match (field, problem) {
        (Field::Message, Problem::Required) => "Please write a few words.".to_owned(),
        (Field::Expected, Problem::Required) => "Please tell us what you expected.".to_owned(),
        (Field::Actual, Problem::Required) => "Please tell us what happened instead.".to_owned(),
        (_, Problem::TooLong { max }) => format!("Please keep this under {max} characters."),
        (Field::Email, _) => "That email address does not look right.".to_owned(),
        _ => "Something about this field is not right.".to_owned(),
    }
}
