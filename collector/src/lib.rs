//! The Earshot collector: ingest API, storage, customer status pages and
//! the `earshot` command line.

pub mod abuse;
pub mod address;
pub mod assets;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod colleagues;
pub mod config;
pub mod directory;
pub mod export;
pub mod http;
pub mod ids;
pub mod language;
pub mod mail;
pub mod metrics;
pub mod name;
pub mod notify;
pub mod open_files;
pub mod origin;
mod outage;
pub mod ownership;
pub mod person;
pub mod private_files;
pub mod report;
pub mod response_terms;
pub mod review;
pub mod server;
pub mod store;
pub mod supervise;
pub mod tls;
pub mod webhooks;
