//! The review console's domain: workflow rules, inbox filters and what
//! staff may type. The HTTP
//! side lives in `http::console`.

pub mod filter;
pub mod input;
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
