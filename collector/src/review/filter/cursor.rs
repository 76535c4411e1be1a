use super::Filter;

/// A place in a view's order: where one entry stood. It holds the entry's
/// sort key, not just its id, so paging goes on from the same place when
/// that entry is erased meanwhile, or moves (a follow-up sends it to the
/// back of the waiting queue).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// When the entry arrived or, where the order is by waiting time
    /// ([`Filter::by_wait`]), since when it has waited.
    at: i64,
    id: i64,
}

impl Cursor {
    /// Where an entry that arrived at `created_at` and was last followed up
    /// at `followup_at` stands in `filter`'s order.
    pub fn of(filter: &Filter, id: i64, created_at: i64, followup_at: Option<i64>) -> Cursor {
        let at = match followup_at {
            Some(followup_at) if filter.by_wait() => followup_at,
            _ => created_at,
        };
        Cursor { at, id }
    }

    /// The place of something else kept in time order (an open promise
    /// by its due time): `at`, then `id` where times are equal.
    pub fn new(at: i64, id: i64) -> Cursor {
        Cursor { at, id }
    }

    pub fn at(self) -> i64 {
        self.at
    }

    pub fn id(self) -> i64 {
        self.id
    }

    /// The form links carry: `<at>.<id>`.
    pub fn parse(raw: &str) -> Option<Cursor> {
        let (at, id) = raw.split_once('.')?;
        Some(Cursor {
            at: at.parse().ok()?,
            id: id.parse().ok()?,
        })
    }
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.at, self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::review::filter::{RawFilter, View};

    #[test]
    fn a_cursor_is_a_place_that_round_trips_through_its_link_form() {
        let waiting = Filter::default();
        let place = Cursor::of(&waiting, 42, 1_000, Some(5_000));
        assert_eq!((place.at(), place.id()), (5_000, 42));
        assert_eq!(Cursor::parse(&place.to_string()), Some(place));
        // Newest first, the place is the arrival, whatever came later.
        let all = Filter {
            view: View::All,
            ..Filter::default()
        };
        assert_eq!(Cursor::of(&all, 42, 1_000, Some(5_000)).at(), 1_000);
        // An old link held the bare entry id, which cannot say where it was.
        for junk in ["42", "1.x", ".42", "1.2.3", "a.b"] {
            assert_eq!(Cursor::parse(junk), None, "{junk}");
        }
        let raw = RawFilter {
            after: "42".into(),
            ..Default::default()
        };
        assert_eq!(raw.parse(1).unwrap_err().field, "after");
    }
}
