//! What the fuzz targets check, as plain functions. The targets in
//! `fuzz_targets/` hand them the fuzzer's bytes; the collector's API tests
//! replay `corpus/` through the same functions on every `cargo test`
//! (`collector/tests/api/main.rs` includes this file; `ingest.rs` and
//! `attachments.rs` replay), so the checks compile and hold on stable
//! Rust without cargo-fuzz.

use std::collections::BTreeMap;
use std::path::Path;

use earshot_collector::http::ingest::parse_body;
use earshot_protocol::image::ImageType;
use earshot_protocol::submission::HttpUrl;
use earshot_protocol::{Field, Submission};

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
/// text must respect the limits it was checked against. What the collector
/// then stores is still within them: masking card numbers keeps every
/// character in its place, and page URLs without their secrets are URLs
/// it accepts.
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
    let masked = submission.body.clone().without_card_numbers();
    assert_eq!(
        masked.message().map(|m| m.chars().count()),
        submission.body.message().map(|m| m.chars().count())
    );
    let page = submission.page.without_secrets();
    for (url, field) in [
        (page.url, Field::PageUrl),
        (page.referrer, Field::PageReferrer),
    ] {
        if let Some(url) = url {
            assert_eq!(
                HttpUrl::parse(Some(url.as_str()), field),
                Ok(Some(url.clone()))
            );
        }
    }
    Outcome::Accepted
}

/// What became of one input to [`image_header`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Seen {
    /// No accepted format's signature.
    NotAnImage,
    /// A signature, but no size could be read from the header.
    Unreadable,
    /// A size a browser may be asked to decode.
    Displayable,
    /// A size refused as too large (or empty).
    Refused,
}

/// Reads arbitrary bytes as an upload is read: the format by signature,
/// then the size its header declares. Neither may panic or hang whatever
/// arrives. Every format's reader also gets every input, not only the one
/// the signature names, so none relies on sniffing to be safe. A size,
/// once read, is the header's: bytes after it cannot change it.
pub fn image_header(data: &[u8]) -> Seen {
    for kind in ImageType::ALL {
        let _ = kind.dimensions(data);
    }
    let Some(kind) = ImageType::sniff(data) else {
        return Seen::NotAnImage;
    };
    let Some(size) = kind.dimensions(data) else {
        return Seen::Unreadable;
    };
    let longer = [data, b"\0\xFF\xD9;"].concat();
    assert_eq!(kind.dimensions(&longer), Some(size));
    if size.is_displayable() {
        Seen::Displayable
    } else {
        Seen::Refused
    }
}

/// Runs `check` over every input in the corpus folder `corpus` and counts
/// what became of them: how the tests replay a corpus on stable Rust.
pub fn replay<T: Ord>(corpus: &Path, check: fn(&[u8]) -> T) -> std::io::Result<BTreeMap<T, usize>> {
    let mut seen = BTreeMap::new();
    for file in std::fs::read_dir(corpus)? {
        let data = std::fs::read(file?.path())?;
        *seen.entry(check(&data)).or_default() += 1;
    }
    Ok(seen)
}
