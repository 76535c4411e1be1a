//! What the fuzz targets check, as plain functions. The targets in
//! `fuzz_targets/` hand them the fuzzer's bytes; the collector's API tests
//! replay `corpus/` through the same functions on every `cargo test`
//! (`collector/tests/api/ingest.rs` includes this file), so the checks
//! compile and hold on stable Rust without cargo-fuzz.

use earshot_collector::http::ingest::parse_body;
use earshot_protocol::Submission;

/// What became of one input to [`ingest_body`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// The request parser refused it.
    Unparsed,
    /// It parsed as a request; the domain rules refused it.
    Refused,
    /// It became a submission.
    Accepted,
}

/// Feeds arbitrary bytes to the ingest request parser and, when they parse,
/// to the domain rules. Neither may panic, whatever arrives, and accepted
/// text must respect the limits it was checked against.
pub fn ingest_body(data: &[u8]) -> Outcome {
    let Ok(request) = parse_body(data) else {
        return Outcome::Unparsed;
    };
    let Ok(submission) = Submission::parse(&request) else {
        return Outcome::Refused;
    };
    if let Some(message) = submission.body.message() {
        assert!(message.chars().count() <= earshot_protocol::limits::MESSAGE_MAX);
    }
    Outcome::Accepted
}
