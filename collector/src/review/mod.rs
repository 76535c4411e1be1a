//! The review domain: the workflow's rules, the inbox's filters (which
//! entries staff asked for, in their words) and what staff may type. The
//! store runs the filters (`store::review`, `store::search`); "console"
//! means only the HTTP pages (`http::console`).

pub mod filter;
pub mod input;
pub mod mention;
pub mod workflow;

/// How staff call a kind of feedback.
pub fn kind_label(kind: &str) -> &'static str {
    match kind {
        "complaint" => "Complaint",
        "expectation" => "Expectation",
        "idea" => "Idea",
        "praise" => "Praise",
        "question" => "Question",
        _ => "Feedback",
    }
}

/// How staff call the severity a customer chose, capitalised as kinds
/// are; a value this version does not know shows as stored.
pub fn severity_label(severity: &str) -> &str {
    match severity {
        "minor" => "Minor",
        "annoying" => "Annoying",
        "blocking" => "Blocking",
        other => other,
    }
}
