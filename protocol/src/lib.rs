//! The Earshot wire format and its rules.
//!
//! `wire` is the JSON shape exchanged between the widget and the collector;
//! `submission` turns that shape into validated domain values. Both sides use
//! the same rules so the widget can show an error before a round trip and the
//! collector can trust nothing it did not parse itself.
//!
//! This crate depends on serde only so it builds for `wasm32-unknown-unknown`.

pub mod image;
pub mod limits;
pub mod submission;
pub mod wire;

pub use image::{Dimensions, ImageType};
pub use submission::{BotSignals, Field, HostContext, Problem, Submission, ValidationError};
pub use wire::{
    ClientInfo, ContextMap, ErrorBody, ErrorResponse, FeedbackAccepted, FeedbackRequest, Kind,
    PageInfo, Severity,
};
