//! Page frame and small pieces shared by the console's pages. maud escapes
//! everything interpolated, so customer text can only ever be text.

use axum::response::Html;
use maud::{DOCTYPE, Markup, html};

use super::Staff;
use super::address::Reached;
pub use crate::clock::date;
use crate::review::workflow::Status;

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="robots" content="noindex, nofollow";
            title { (title) " · Earshot" }
            link rel="stylesheet" href="/console/static/console.css";
            script src="/console/static/console.js" defer {}
        }
    }
}

/// A page without navigation (login, setup, errors).
pub fn bare(title: &str, body: Markup) -> Html<String> {
    Html(
        html! {
            (DOCTYPE)
            html lang="en" {
                (head(title))
                body.bare { main { (body) } }
            }
        }
        .into_string(),
    )
}

/// A signed-in page: navigation, sign-out, then `body`.
pub fn page(title: &str, staff: &Staff, current: &str, body: Markup) -> Html<String> {
    let link = |href: &str, label: &str| {
        html! {
            @if href == current {
                a href=(href) aria-current="page" { (label) }
            } @else {
                a href=(href) { (label) }
            }
        }
    };
    Html(
        html! {
            (DOCTYPE)
            html lang="en" {
                (head(title))
                body {
                    header.top {
                        strong.brand { "Earshot" }
                        nav aria-label="Console" {
                            (link("/console", "Needs a response"))
                            (link("/console?view=open", "Still open"))
                            (link("/console?view=all", "All feedback"))
                            // What is still to do, the longest open first:
                            // what was closed long ago would bury it.
                            (link("/console?assignee=me&view=open", "Assigned to me"))
                            (link("/console/promises", "Promises"))
                            (link("/console/reports", "Reports"))
                            (link("/console?view=spam", "Spam"))
                            (link("/console/notifications", "Notifications"))
                            (link("/console/tokens", "API tokens"))
                            @if staff.user.role == crate::store::Role::Admin {
                                (link("/console/sites", "Sites"))
                                (link("/console/staff", "Staff"))
                                (link("/console/people", "A person's data"))
                                (link("/console/audit", "Audit log"))
                            }
                        }
                        form.signout method="post" action="/console/logout" {
                            (csrf(staff))
                            @if current == "/console/account" {
                                a.who href="/console/account" aria-current="page" { (staff.user.name) }
                            } @else {
                                a.who href="/console/account" title="Your account" { (staff.user.name) }
                            }
                            button type="submit" { "Sign out" }
                        }
                    }
                    main {
                        @if let Some(reached) = &staff.reached_elsewhere {
                            (public_url_unset(reached))
                        }
                        (body)
                    }
                }
            }
        }
        .into_string(),
    )
}

/// What an administrator reads while the collector guesses its address
/// wrong: every customer's status link is built on it.
fn public_url_unset(reached: &Reached) -> Markup {
    html! {
        p.notice.failing role="alert" {
            strong { "This collector does not know its public address." }
            " You reached it at " code { (reached.shown()) } ", but without --public-url it builds customers' status links, reply emails and the embed snippets on the address it listens on. Start it with "
            code { "--public-url " (reached.public_url()) } " (or EARSHOT_PUBLIC_URL), with the scheme browsers use."
        }
    }
}

/// The hidden CSRF field every state-changing form carries.
pub fn csrf(staff: &Staff) -> Markup {
    html! { input type="hidden" name="_csrf" value=(staff.csrf_token); }
}

/// A table that scrolls sideways in a box of its own when the screen is
/// narrower than its columns, instead of widening the whole page. The box
/// is a named, focusable region so keyboard users can scroll it too, even
/// when it holds no link.
pub fn scrolls(label: &str, table: Markup) -> Markup {
    html! { div.scrolls role="region" aria-label=(label) tabindex="0" { (table) } }
}

pub fn status_badge(status: &str) -> Markup {
    let label: &str = match Status::parse(status) {
        Some(s) => s.label(),
        None => status,
    };
    html! { span class={ "badge status-" (status) } { (label) } }
}

pub use crate::review::{kind_label, severity_label};

/// A customer-supplied URL as a link only when it is http(s); anything else
/// (`javascript:`, `data:`) is shown as text.
pub fn customer_link(url: &str) -> Markup {
    let lower = url.trim_start().to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") {
        html! { a href=(url) rel="noopener noreferrer nofollow" target="_blank" { (url) } }
    } else {
        html! { span.url { (url) } }
    }
}

/// Why a form was not taken, above the form shown again as it was typed;
/// `id` lets its fields point at it (`aria-describedby`).
/// A table's column headings, then (when `actions`) a column of buttons
/// named for screen readers only.
pub fn headings<'a>(names: impl IntoIterator<Item = &'a str>, actions: bool) -> Markup {
    html! {
        thead { tr {
            @for name in names { th scope="col" { (name) } }
            @if actions { th scope="col" { span.visually-hidden { "Actions" } } }
        } }
    }
}

pub fn refusal(reason: Option<&str>, id: &str) -> Markup {
    html! {
        @if let Some(reason) = reason {
            p.error #(id) role="alert" { (reason) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_urls_become_links() {
        let link = customer_link("https://shop.example/?q=<b>").into_string();
        assert!(
            link.starts_with("<a href=\"https://shop.example/?q=&lt;b&gt;\""),
            "{link}"
        );
        for hostile in [
            "javascript:alert(1)",
            " JavaScript:alert(1)",
            "data:text/html,<script>",
        ] {
            let text = customer_link(hostile).into_string();
            assert!(!text.contains("href"), "{text}");
            assert!(!text.contains("<script>"), "{text}");
        }
    }

    #[test]
    fn timestamps_are_utc() {
        use crate::clock::timestamp;

        assert_eq!(timestamp(0), "1970-01-01 00:00 UTC");
        assert_eq!(date(1_767_225_600_000), "2026-01-01");
    }
}
