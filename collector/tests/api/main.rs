//! API tests against a real collector on 127.0.0.1:0 with a fresh SQLite
//! file per test (and, in `postgres`, collectors sharing a throwaway
//! PostgreSQL).

// A panic is how a test fails: `Row::get` may panic here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

mod abuse;
mod account;
mod admin;
mod assets;
mod attachments;
mod backup;
#[path = "../support/certs.rs"]
mod certs;
mod cli;
mod cli_integrations;
mod cli_serve;
#[cfg(unix)]
mod cli_terminal;
mod cli_users;
mod colleagues;
mod console;
mod console_replies;
mod conversation;
mod crash;
mod edge;
mod entry_images;
mod export;
mod forgot;
// The fuzz targets' checks, replayed over their corpus in `ingest`.
#[path = "../../../fuzz/src/lib.rs"]
mod fuzz;
mod helpers;
mod idempotency;
mod inbox;
mod ingest;
mod limits;
mod mail_delivery;
mod mail_tls;
mod mentions;
mod metrics;
mod notify;
mod notify_settings;
mod nul;
mod openapi;
mod ownership;
mod postgres;
#[path = "../support/postgres.rs"]
mod postgres_server;
mod privacy;
#[path = "../support/raw_file.rs"]
mod raw_file;
mod receipts;
mod receiver;
mod reminders;
mod reports;
mod rest;
mod rest_filters;
mod rest_reads;
mod rest_writes;
mod reverse_proxy;
mod setup;
mod sign_in;
mod site_console;
mod site_edit;
mod site_origins;
mod site_removal;
mod size;
mod staff;
mod status_page;
mod tokens;
mod webhooks;
mod webhooks_console;
