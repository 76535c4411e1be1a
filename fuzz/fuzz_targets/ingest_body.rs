//! Feeds arbitrary bytes to the ingest request parser and, when they parse,
//! to the domain rules. Neither may panic, whatever arrives.
//!
//! Run: `cargo +nightly fuzz run ingest_body` from the repository root.

#![no_main]

use earshot_collector::http::ingest::parse_body;
use earshot_protocol::Submission;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = parse_body(data)
        && let Ok(submission) = Submission::parse(&request)
    {
        // Accepted text must respect the limits it was checked against.
        if let Some(message) = submission.body.message() {
            assert!(message.chars().count() <= earshot_protocol::limits::MESSAGE_MAX);
        }
    }
});
