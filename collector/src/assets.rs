//! The widget, built and content-hashed by `build.rs`, embedded in the binary.

include!(concat!(env!("OUT_DIR"), "/widget_assets.rs"));
