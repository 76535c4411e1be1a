//! Run: `cargo +nightly fuzz run ingest_body` from the repository root.
//! The check itself is `earshot_fuzz::ingest_body` (`fuzz/src/lib.rs`).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    earshot_fuzz::ingest_body(data);
});
