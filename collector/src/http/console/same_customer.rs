//! The customer's other feedback beside an entry: whoever answers sees at
//! a glance that this is their third complaint, or that an earlier one is
//! still open, before writing as if to a stranger.

use maud::{Markup, html};

use super::views;
use crate::http::local_time;
use crate::store::SameCustomer;

/// How many of the customer's other entries the page lists.
pub const SHOWN: usize = 5;

/// The panel, or nothing when the customer left no email or wrote only
/// this once. `reference` is this entry's: the inbox lists all of the
/// customer's feedback by it, keeping their address out of the link.
pub fn panel(same: &SameCustomer, email: Option<&str>, reference: &str, now: i64) -> Markup {
    let Some(email) = email.filter(|_| same.total > 0) else {
        return Markup::default();
    };
    let more = same.total - i64::try_from(same.recent.len()).unwrap_or(same.total);
    html! {
        section.panel #same-customer {
            h2 { "Also from this customer" }
            p.muted {
                (same.total) @if same.total == 1 { " other entry" } @else { " other entries" }
                " from " (email) ", newest first"
            }
            ul.same-customer {
                @for row in &same.recent {
                    li {
                        a href={ "/console/entries/" (row.public_id) } {
                            (views::kind_label(&row.kind)) " " span.ref { (row.reference) }
                        }
                        " " (views::status_badge(&row.status))
                        " · " (row.site_name) " · " (local_time::when(row.created_at, now))
                        br;
                        span.meta dir="auto" { (row.summary) }
                    }
                }
            }
            p {
                @if more > 0 { span.muted { "and " (more) " older · " } }
                a href={ "/console?view=all&customer=" (reference) } {
                    "All " (same.total + 1) " from this customer in the inbox"
                }
            }
        }
    }
}
