//! Maximum lengths, counted in Unicode scalar values (what a customer sees as
//! characters), not bytes. The widget shows counters against these.

pub const MESSAGE_MAX: usize = 5_000;
pub const EXPECTED_MAX: usize = 2_000;
pub const ACTUAL_MAX: usize = 2_000;
pub const EMAIL_MAX: usize = 254;
pub const NAME_MAX: usize = 200;
pub const SITE_KEY_MAX: usize = 64;
pub const URL_MAX: usize = 2_048;
pub const TITLE_MAX: usize = 300;
pub const USER_AGENT_MAX: usize = 512;
pub const LANGUAGE_MAX: usize = 35;
pub const TIMEZONE_MAX: usize = 64;
pub const VIEWPORT_MAX: usize = 32;
pub const IDEMPOTENCY_KEY_MIN: usize = 16;
pub const IDEMPOTENCY_KEY_MAX: usize = 64;
/// Host-page context from `Earshot.setContext`: entries, key and value sizes.
pub const CONTEXT_ENTRIES_MAX: usize = 20;
pub const CONTEXT_KEY_MAX: usize = 40;
pub const CONTEXT_VALUE_MAX: usize = 500;
/// Largest image a customer can attach, and how many per entry.
pub const ATTACHMENT_MAX_BYTES: usize = 2 * 1024 * 1024;
pub const ATTACHMENTS_PER_ENTRY: usize = 3;
/// Largest JSON body the collector accepts for one submission.
pub const BODY_MAX_BYTES: usize = 64 * 1024;
