//! Run: `cargo +nightly fuzz run image_header` from the repository root.
//! The check itself is `earshot_fuzz::image_header` (`fuzz/src/lib.rs`).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    earshot_fuzz::image_header(data);
});
