//! Inbox filters from the query string: parsed into [`Filter`] with a
//! specific, readable error for anything malformed, never a 500.

use earshot_protocol::{Kind, Severity};
use serde::{Deserialize, Serialize};
use time::macros::format_description;

use super::input::{InputError, bad, one_of};
use super::workflow::{DAY, Status};

mod cursor;
mod search;

pub use cursor::Cursor;
pub use search::Search;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum View {
    /// Entries nobody has answered yet, oldest first.
    #[default]
    Waiting,
    /// Entries not yet closed (new, acknowledged or in progress), answered
    /// or not, oldest first: the backlog, where a need that was answered
    /// once and then forgotten still shows.
    Open,
    /// Everything but spam, newest first.
    All,
    /// Only spam, newest first.
    Spam,
}

impl View {
    /// How the query string names each view, in the order forms list them.
    pub const NAMES: [&str; 4] = ["waiting", "open", "all", "spam"];
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assignee {
    User(i64),
    Nobody,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromiseFilter {
    Open,
    Overdue,
}

/// Which entries the inbox shows. Built from the query string by
/// [`RawFilter::parse`], which rejects anything malformed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    pub view: View,
    /// Entries of any of these sites (their ids); of every site when
    /// empty. The same for kinds, statuses and severities: a query string
    /// names several with commas (`kind=complaint,expectation`), each once.
    pub sites: Vec<i64>,
    pub kinds: Vec<String>,
    pub statuses: Vec<Status>,
    pub severities: Vec<String>,
    /// Entries assigned to any of these (`me,none`: mine or nobody's);
    /// to anyone or nobody when empty.
    pub assignees: Vec<Assignee>,
    pub promise: Option<PromiseFilter>,
    /// Created at or after (Unix ms).
    pub from: Option<i64>,
    /// Created before (Unix ms).
    pub to: Option<i64>,
    /// Words to find (how they match is the store's: `store::search`).
    pub search: Option<Search>,
    /// The entry a customer's quoted reference names (a `q` that is one,
    /// as [`crate::ids::parse_reference`] reads it): that entry alone, if
    /// the other filters keep it. Words of a reference are not searched:
    /// no entry's text holds it.
    pub reference: Option<String>,
    /// The customer who sent the entry with this reference: every entry
    /// that gave the same email (trimmed, any case), that one included.
    /// Named by an entry so the address stays out of the page's address
    /// (and so out of proxies' logs, which an erasure cannot reach).
    pub customer: Option<String>,
    /// Continue after this place (keyset pagination).
    pub cursor: Option<Cursor>,
    /// The page that ends just before this place (going back).
    pub before: Option<Cursor>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    OldestFirst,
    NewestFirst,
}

impl Filter {
    /// The same filter from its first page: what a count counts.
    pub fn unpaged(&self) -> Filter {
        Filter {
            cursor: None,
            before: None,
            ..self.clone()
        }
    }

    /// The waiting view, unless searched (then the search's order rules)
    /// or narrowed to one reference or one customer (read by their own
    /// indexes), is in order of how long each entry has waited, then id.
    pub fn by_wait(&self) -> bool {
        self.view == View::Waiting
            && self.search.is_none()
            && self.reference.is_none()
            && self.customer.is_none()
    }

    /// The colleagues the assignee filter names, and whether it also takes
    /// entries nobody has.
    pub fn assigned_to(&self) -> (Vec<i64>, bool) {
        let users = self.assignees.iter().filter_map(|a| match a {
            Assignee::User(user) => Some(*user),
            Assignee::Nobody => None,
        });
        (users.collect(), self.assignees.contains(&Assignee::Nobody))
    }

    /// Whether a filter was given several values (`kind=idea,praise`).
    pub fn has_several(&self) -> bool {
        self.kinds.len() > 1
            || self.statuses.len() > 1
            || self.severities.len() > 1
            || self.assignees.len() > 1
    }

    pub fn order(&self) -> Order {
        match self.view {
            View::Waiting | View::Open => Order::OldestFirst,
            View::All | View::Spam => Order::NewestFirst,
        }
    }
}

/// The query string as typed; every field optional and echoed back into the
/// filter form and pagination links.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RawFilter {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub view: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub site: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub status: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub severity: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub assignee: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub promise: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub from: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub to: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub q: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub customer: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub after: String,
}

/// The values of a filter that takes any of several (`raw`, comma-separated,
/// as [`ANY_OF_SEPARATOR`] joins them), each read by `parse` and kept once,
/// in the order given; none when `raw` is empty. An unknown or empty value
/// refuses the whole with `refusal`, which says what one value may be.
fn any_of<T: PartialEq>(
    raw: &str,
    mut refusal: InputError,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Vec<T>, InputError> {
    let mut values: Vec<T> = Vec::new();
    for name in listed(refusal.field, raw)? {
        let Some(value) = parse(name) else {
            refusal
                .message
                .push_str(", or several of these separated by commas");
            return Err(refusal);
        };
        if !values.contains(&value) {
            values.push(value);
        }
    }
    Ok(values)
}

/// What separates the values of a filter that takes several.
pub const ANY_OF_SEPARATOR: char = ',';

/// Most values one filter takes: more than any list of kinds or statuses
/// holds, and a bound on the colleagues a tool's query makes the API look
/// up one by one.
pub const ANY_OF_MAX: usize = 50;

/// The values given to a filter that takes several, as typed: none when
/// `raw` is empty, at most [`ANY_OF_MAX`].
pub fn listed<'a>(field: &'static str, raw: &'a str) -> Result<Vec<&'a str>, InputError> {
    if raw.is_empty() {
        return Ok(Vec::new());
    }
    let values: Vec<&str> = raw.split(ANY_OF_SEPARATOR).take(ANY_OF_MAX + 1).collect();
    if values.len() > ANY_OF_MAX {
        return Err(bad(
            field,
            format!("{field} takes at most {ANY_OF_MAX} values"),
        ));
    }
    Ok(values)
}

/// Several values of one filter as a link carries them, the form
/// [`listed`] reads.
pub fn joined<T: std::fmt::Display>(values: impl IntoIterator<Item = T>) -> String {
    let values: Vec<String> = values.into_iter().map(|v| v.to_string()).collect();
    values.join(&ANY_OF_SEPARATOR.to_string())
}

/// Midnight UTC of a `YYYY-MM-DD` date, in Unix milliseconds.
pub fn parse_date(raw: &str) -> Option<i64> {
    let date = time::Date::parse(raw, format_description!("[year]-[month]-[day]")).ok()?;
    Some(date.midnight().assume_utc().unix_timestamp() * 1000)
}

impl RawFilter {
    /// The filter's parameters as tools send them (the console's `after`
    /// aside: tools page with a cursor).
    pub const PARAMETERS: &[&str] = &[
        "view", "site", "kind", "status", "severity", "assignee", "promise", "from", "to", "q",
        "customer",
    ];

    /// `me` in the assignee filter means `user_id`.
    pub fn parse(&self, user_id: i64) -> Result<Filter, InputError> {
        let view = match self.view.as_str() {
            "" | "waiting" => View::Waiting,
            "open" => View::Open,
            "all" => View::All,
            "spam" => View::Spam,
            _ => return Err(one_of("view", View::NAMES)),
        };
        let cursor = |field: &'static str, raw: &str| -> Result<Option<Cursor>, InputError> {
            if raw.is_empty() {
                return Ok(None);
            }
            Cursor::parse(raw).map(Some).ok_or_else(|| {
                bad(
                    field,
                    "this page link is out of date or damaged; start from the first page",
                )
            })
        };
        let sites = any_of(&self.site, bad("site", "site is a site's id"), |raw| {
            raw.parse::<i64>().ok()
        })?;
        let kinds = any_of(
            &self.kind,
            one_of("kind", Kind::ALL.map(Kind::as_str)),
            |raw| Kind::parse(raw).map(|k| k.as_str().to_owned()),
        )?;
        let statuses = any_of(
            &self.status,
            one_of("status", Status::ALL.map(Status::as_str)),
            Status::parse,
        )?;
        let severities = any_of(
            &self.severity,
            one_of("severity", Severity::ALL.map(Severity::as_str)),
            |raw| Severity::parse(raw).map(|s| s.as_str().to_owned()),
        )?;
        let assignees = any_of(
            &self.assignee,
            bad(
                "assignee",
                "assignee is me, none, or a colleague's id or email",
            ),
            |raw| match raw {
                "me" => Some(Assignee::User(user_id)),
                "none" => Some(Assignee::Nobody),
                raw => raw.parse::<i64>().ok().map(Assignee::User),
            },
        )?;
        let promise = match self.promise.as_str() {
            "" => None,
            "open" => Some(PromiseFilter::Open),
            "overdue" => Some(PromiseFilter::Overdue),
            _ => return Err(one_of("promise", ["open", "overdue"])),
        };
        let date = |field: &'static str, raw: &str| -> Result<Option<i64>, InputError> {
            if raw.is_empty() {
                return Ok(None);
            }
            parse_date(raw)
                .map(Some)
                .ok_or_else(|| bad(field, "dates are written YYYY-MM-DD"))
        };
        let from = date("from", &self.from)?;
        // "to" is inclusive: up to the end of that day.
        let to = date("to", &self.to)?.map(|t| t + DAY);
        if let (Some(from), Some(to)) = (from, to)
            && from >= to
        {
            return Err(bad("to", "the end date is before the start date"));
        }
        let reference = crate::ids::parse_reference(&self.q);
        let search = if self.q.trim().is_empty() || reference.is_some() {
            None
        } else {
            Some(Search::parse(&self.q).ok_or_else(|| bad("q", "search for words or numbers"))?)
        };
        Ok(Filter {
            view,
            sites,
            kinds,
            statuses,
            severities,
            assignees,
            promise,
            from,
            to,
            search,
            reference,
            customer: match self.customer.trim() {
                "" => None,
                raw => Some(crate::ids::parse_reference(raw).ok_or_else(|| {
                    bad(
                        "customer",
                        "customer is the reference of one of their entries, like ES-7K3F-9QX2",
                    )
                })?),
            },
            cursor: cursor("after", &self.after)?,
            before: None,
        })
    }

    /// The query string for these filters, for links.
    pub fn to_query(&self) -> String {
        serde_html_form::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_the_waiting_view_and_me_means_the_user() {
        let filter = RawFilter {
            assignee: "me".into(),
            ..RawFilter::default()
        }
        .parse(7)
        .unwrap();
        assert_eq!(filter.view, View::Waiting);
        assert_eq!(filter.assignees, [Assignee::User(7)]);
    }

    #[test]
    fn the_open_view_is_read_oldest_first_by_arrival() {
        let view = |raw: &str| {
            RawFilter {
                view: raw.into(),
                ..RawFilter::default()
            }
            .parse(1)
        };
        let open = view("open").unwrap();
        assert_eq!(open.view, View::Open);
        assert_eq!(open.order(), Order::OldestFirst);
        // By arrival, not by how long anyone has waited: an answered
        // entry waits for nobody.
        assert!(!open.by_wait());
        let refused = view("closed").unwrap_err();
        assert_eq!(refused.field, "view");
        assert_eq!(refused.message, "view is waiting, open, all or spam");
    }

    #[test]
    fn a_quoted_reference_names_its_entry_rather_than_words() {
        let q = |q: &str| {
            RawFilter {
                q: q.into(),
                ..RawFilter::default()
            }
            .parse(1)
            .unwrap()
        };
        let quoted = q(" es 7k3f-9qxo ");
        assert_eq!(quoted.reference.as_deref(), Some("ES-7K3F-9QX0"));
        assert_eq!(quoted.search, None);
        // Its waiting view is a list of one, not a queue.
        assert!(!quoted.by_wait());
        let words = q("ES 7K3F refund");
        assert_eq!(words.reference, None);
        assert!(words.search.is_some());
    }

    #[test]
    fn a_customer_is_named_by_the_reference_of_an_entry_of_theirs() {
        let filter = RawFilter {
            customer: "es 7k3f-9qxo".into(),
            ..RawFilter::default()
        }
        .parse(1)
        .unwrap();
        assert_eq!(filter.customer.as_deref(), Some("ES-7K3F-9QX0"));
        assert!(!filter.by_wait(), "read by the customer's own index");
        let wrong = RawFilter {
            customer: "ana@example.com".into(),
            ..RawFilter::default()
        }
        .parse(1)
        .unwrap_err();
        assert_eq!(wrong.field, "customer");
    }

    #[test]
    fn malformed_filters_are_specific_errors() {
        let err = |raw: RawFilter| raw.parse(1).unwrap_err().field;
        assert_eq!(
            err(RawFilter {
                status: "deleted".into(),
                ..Default::default()
            }),
            "status"
        );
        assert_eq!(
            err(RawFilter {
                from: "yesterday".into(),
                ..Default::default()
            }),
            "from"
        );
        assert_eq!(
            err(RawFilter {
                from: "2026-02-01".into(),
                to: "2026-01-01".into(),
                ..Default::default()
            }),
            "to"
        );
        assert_eq!(
            err(RawFilter {
                after: "x".into(),
                ..Default::default()
            }),
            "after"
        );
        assert_eq!(
            err(RawFilter {
                view: "trash".into(),
                ..Default::default()
            }),
            "view"
        );
        let wrong = RawFilter {
            kind: "Complaint".into(),
            ..Default::default()
        }
        .parse(1)
        .unwrap_err();
        assert_eq!(
            (wrong.field, wrong.message.as_str()),
            (
                "kind",
                "kind is complaint, expectation, idea, praise or question, or several of these separated by commas"
            )
        );
        let wrong = RawFilter {
            promise: "kept".into(),
            ..Default::default()
        }
        .parse(1)
        .unwrap_err();
        assert_eq!(wrong.message, "promise is open or overdue");
        // Not "must be a number": it says what the filter takes.
        let wrong = RawFilter {
            assignee: "nobody".into(),
            ..Default::default()
        }
        .parse(1)
        .unwrap_err();
        assert_eq!(wrong.field, "assignee");
        assert_eq!(
            wrong.message,
            "assignee is me, none, or a colleague's id or email, or several of these separated by commas"
        );
    }

    #[test]
    fn kinds_statuses_and_severities_take_several_separated_by_commas() {
        let filter = RawFilter {
            kind: "complaint,expectation,complaint".into(),
            status: "in_progress,new".into(),
            severity: "blocking".into(),
            ..Default::default()
        }
        .parse(1)
        .unwrap();
        assert_eq!(filter.kinds, ["complaint", "expectation"], "each once");
        assert_eq!(filter.statuses, [Status::InProgress, Status::New]);
        assert_eq!(filter.severities, ["blocking"]);
        let too_many = RawFilter {
            kind: vec!["idea"; ANY_OF_MAX + 1].join(","),
            ..Default::default()
        }
        .parse(1)
        .unwrap_err();
        assert_eq!(too_many.message, "kind takes at most 50 values");
        let enough = RawFilter {
            kind: vec!["idea"; ANY_OF_MAX].join(","),
            ..Default::default()
        };
        assert_eq!(enough.parse(1).unwrap().kinds, ["idea"]);
        let mine_or_nobodys = RawFilter {
            assignee: "me,none,7".into(),
            ..Default::default()
        }
        .parse(7)
        .unwrap();
        assert_eq!(
            mine_or_nobodys.assignees,
            [Assignee::User(7), Assignee::Nobody],
            "me is 7: once"
        );
        assert_eq!(RawFilter::default().parse(1).unwrap().kinds, [""; 0]);
        // One value not taken refuses the whole: a typo must not widen
        // or narrow the list quietly.
        for raw in [
            "complaint,",
            ",idea",
            "complaint,,idea",
            "complaint, idea",
            "idea;praise",
        ] {
            let wrong = RawFilter {
                kind: raw.into(),
                ..Default::default()
            }
            .parse(1)
            .unwrap_err();
            assert_eq!(wrong.field, "kind", "{raw}");
        }
        let wrong = RawFilter {
            status: "new,closed".into(),
            ..Default::default()
        }
        .parse(1)
        .unwrap_err();
        assert_eq!(
            (wrong.field, wrong.message.as_str()),
            (
                "status",
                "status is new, acknowledged, in_progress, resolved, wont_fix or spam, or several of these separated by commas"
            )
        );
    }

    #[test]
    fn dates_are_inclusive_days_in_utc() {
        let filter = RawFilter {
            from: "2026-01-01".into(),
            to: "2026-01-01".into(),
            ..Default::default()
        }
        .parse(1)
        .unwrap();
        assert_eq!(filter.from, Some(1_767_225_600_000));
        assert_eq!(filter.to, Some(1_767_225_600_000 + DAY));
    }

    #[test]
    fn the_query_string_round_trips_without_empty_fields() {
        let raw = RawFilter {
            view: "all".into(),
            q: "a&b".into(),
            ..Default::default()
        };
        assert_eq!(raw.to_query(), "view=all&q=a%26b");
        let back: RawFilter = serde_html_form::from_str(&raw.to_query()).unwrap();
        assert_eq!(back, raw);
    }
}
