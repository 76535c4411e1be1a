//! The storage contract: the same stories told to every backend, so
//! SQLite and PostgreSQL cannot drift apart unnoticed. Each story is one
//! function of a `Store`; `story!` runs it on a fresh SQLite file and on
//! a fresh database in a throwaway PostgreSQL server.

// A panic is how a test fails: `Row::get` may panic here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

mod accounts;
mod bulk;
mod conversation;
mod customer_mail;
mod deadlocks;
mod fixture;
mod inbox;
mod ingest;
mod links;
mod mail_outbox;
mod notify;
mod notify_settings;
mod open_view;
mod order;
mod postgres;
mod postgres_schema;
#[path = "../support/postgres.rs"]
mod postgres_server;
mod promise_reports;
#[path = "../support/raw_file.rs"]
mod raw_file;
mod redact;
mod reports;
mod same_customer;
mod search;
mod severity;
mod sites;
mod staff;
mod tokens;
mod workflow;
