//! The review console's domain: workflow rules and inbox filters. The HTTP
//! side lives in `http::console`.

pub mod filter;
pub mod workflow;
