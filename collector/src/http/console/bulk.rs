//! Bulk actions from the inbox: the controls above its table, each row's
//! checkbox (its id and what the page showed of it) and the form they
//! send, applied by the store to every selected entry at once.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::extract::{FORM_OVERHEAD, FormLimit};
use super::{ConsoleError, Staff, StaffForm, views};
use crate::colleagues::Colleagues;
use crate::http::AppState;
use crate::review::filter::RawFilter;
use crate::review::workflow::Status;
use crate::store::{BulkAction, BulkTarget, InboxRow, Seen};

/// The action select and its button, above the inbox's table; `back` is
/// the inbox's filters, to return to. Work is offered to active
/// colleagues only. Where a site
/// writes to customers on its own (`writes_to_customers`), closing in bulk
/// says that it emails them.
pub fn controls(
    staff: &Staff,
    colleagues: &Colleagues,
    back: &str,
    writes_to_customers: bool,
) -> Markup {
    html! {
        div.bulk {
            (views::csrf(staff))
            input type="hidden" name="back" value=(back);
            label {
                span { "With selected" }
                select name="action" required {
                    option value="" { "Choose an action…" }
                    optgroup label="Assign" {
                        option value="assign:me" { "Assign to me" }
                        @for u in colleagues.active() { option value={ "assign:" (u.id) } { "Assign to " (colleagues.name(Some(u.id), &u.name)) } }
                        option value="assign:none" { "Unassign" }
                    }
                    optgroup label="Status" {
                        @for s in Status::ALL {
                            @if s != Status::Spam { option value={ "status:" (s.as_str()) } { "Mark " (s.label().to_lowercase()) } }
                        }
                    }
                    option value="status:spam" { "Mark as spam" }
                }
            }
            button type="submit" { "Apply to selected" }
            @if writes_to_customers {
                p.muted { "Resolved or Won't fix emails each customer who left an address, on sites that send receipts, 5 minutes later unless a reply tells them." }
            }
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct BulkForm {
    #[serde(default)]
    ids: Vec<String>,
    #[serde(default)]
    action: String,
    #[serde(default)]
    back: String,
}

impl FormLimit for BulkForm {
    /// Each selected entry (`ids=e_…%3Ain_progress%3A…`, well under 96
    /// bytes) and the filters to return to.
    const MAX_BYTES: usize = crate::store::BULK_MAX * 96 + 8 * FORM_OVERHEAD;
}

/// A row's checkbox value: its id and what the page shows of it (status
/// and assignee), so that a colleague's change since is not undone unseen.
pub fn checkbox_value(row: &InboxRow) -> String {
    match Status::parse(&row.status) {
        Some(status) => format!(
            "{}:{}:{}",
            row.public_id,
            status.as_str(),
            row.assignee_id
                .map_or_else(|| "none".to_owned(), |id| id.to_string())
        ),
        None => row.public_id.clone(),
    }
}

/// A checkbox value ([`checkbox_value`]); a bare id (a page from before the
/// values said what was seen) is judged on the entry as it is.
fn bulk_target(raw: &str) -> Result<BulkTarget, ConsoleError> {
    let unreadable = || {
        ConsoleError::Invalid(
            "The selection could not be read: reload the page and select again.".to_owned(),
        )
    };
    let (public_id, seen) = match raw.split_once(':') {
        None => (raw, None),
        Some((public_id, shown)) => {
            let (status, assignee) = shown.split_once(':').ok_or_else(unreadable)?;
            let status = Status::parse(status).ok_or_else(unreadable)?;
            let assignee = match assignee {
                "none" => None,
                id => Some(id.parse().map_err(|_| unreadable())?),
            };
            (public_id, Some(Seen { status, assignee }))
        }
    };
    if public_id.is_empty() {
        return Err(unreadable());
    }
    Ok(BulkTarget {
        public_id: public_id.to_owned(),
        seen,
    })
}

fn bulk_action(raw: &str, me: i64) -> Result<BulkAction, ConsoleError> {
    let invalid = || ConsoleError::Invalid("Choose an action for the selected entries.".to_owned());
    match raw.split_once(':') {
        Some(("assign", "me")) => Ok(BulkAction::Assign(Some(me))),
        Some(("assign", "none")) => Ok(BulkAction::Assign(None)),
        Some(("assign", id)) => id
            .parse()
            .map(|id| BulkAction::Assign(Some(id)))
            .map_err(|_| invalid()),
        Some(("status", s)) => Status::parse(s).map(BulkAction::Status).ok_or_else(invalid),
        _ => Err(invalid()),
    }
}

pub async fn bulk(
    State(state): State<AppState>,
    StaffForm { staff, form }: StaffForm<BulkForm>,
) -> Result<Response, ConsoleError> {
    let action = bulk_action(&form.action, staff.user.id)?;
    if form.ids.is_empty() {
        return Err(ConsoleError::Invalid(
            "Select at least one entry.".to_owned(),
        ));
    }
    if form.ids.len() > crate::store::BULK_MAX {
        return Err(ConsoleError::Invalid(format!(
            "Select at most {} entries at once.",
            crate::store::BULK_MAX
        )));
    }
    let targets = form
        .ids
        .iter()
        .map(|raw| bulk_target(raw))
        .collect::<Result<_, _>>()?;
    let outcome = state
        .store
        .bulk(targets, action, staff.user.id, state.clock.now_millis())
        .await?;
    // Back to the same filters, rebuilt so only known parameters survive.
    let back: RawFilter = serde_html_form::from_str(&form.back).unwrap_or_default();
    let mut target = format!("/console?{}", back.to_query());
    if !target.ends_with('?') {
        target.push('&');
    }
    target.push_str(&format!(
        "changed={}&skipped={}&stale={}",
        outcome.changed, outcome.skipped, outcome.stale
    ));
    Ok(Redirect::to(&target).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bulk_actions_parse_from_the_select() {
        assert_eq!(
            bulk_action("assign:me", 4).unwrap(),
            BulkAction::Assign(Some(4))
        );
        assert_eq!(
            bulk_action("assign:9", 4).unwrap(),
            BulkAction::Assign(Some(9))
        );
        assert_eq!(
            bulk_action("assign:none", 4).unwrap(),
            BulkAction::Assign(None)
        );
        assert_eq!(
            bulk_action("status:spam", 4).unwrap(),
            BulkAction::Status(Status::Spam)
        );
        for bad in ["", "assign:x", "status:deleted", "drop"] {
            assert!(bulk_action(bad, 4).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_selected_row_says_what_the_page_showed_of_it() {
        let target = |raw: &str| bulk_target(raw).unwrap();
        assert_eq!(
            target("e_1:in_progress:7"),
            BulkTarget {
                public_id: "e_1".to_owned(),
                seen: Some(Seen {
                    status: Status::InProgress,
                    assignee: Some(7)
                })
            }
        );
        assert_eq!(
            target("e_1:new:none").seen,
            Some(Seen {
                status: Status::New,
                assignee: None
            })
        );
        assert_eq!(target("e_1"), BulkTarget::unseen("e_1"));
        for bad in [
            "",
            ":new:none",
            "e_1:new",
            "e_1:gone:none",
            "e_1:new:x",
            "e_1:new:none:x",
        ] {
            assert!(bulk_target(bad).is_err(), "{bad}");
        }
    }
}
