//! Where a searched waiting or open view reads the search's hits.
//!
//! Those views are a few entries, nearly all recent, among hits of every
//! age. FTS5 reads hits in id order, so the walk from the view's oldest
//! entry to its newest crosses every hit in between: one entry left open
//! for eleven months cost a walk through eleven months of a common word
//! (48 ms at a million entries). Read instead one stretch ("span") of ids
//! at a time, split where the view's entries lie far apart, and each
//! query's hits are bounded to where the view has entries.

use rusqlite::Connection;

use super::{OPEN_SQL, WAITING_SQL};
use crate::review::filter::{Filter, Order, View};
use crate::store::StoreError;

/// Ids apart beyond which two of a view's entries are read as two spans:
/// a walk through fewer hits costs less than another query.
const MIN_GAP: i64 = 10_000;
/// Spans one read makes at most: each is a query, and a search's setup
/// (looking up each of its words) is paid once per query.
const MAX_SPANS: usize = 8;

/// A stretch of entry ids, both ends included, that holds `entries` of a
/// view's entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::store) struct Span {
    pub lo: i64,
    pub hi: i64,
    entries: i64,
}

impl Span {
    /// Whether the view's entries are a minority of the span's ids: each
    /// hit is then checked against a list of them read once (a lookup in
    /// memory), rather than joined to its entry one by one (a seek in an
    /// index, several times the cost, paid mostly for hits the view lacks).
    pub fn sparse(&self) -> bool {
        self.entries.saturating_mul(2) < self.hi.saturating_sub(self.lo).saturating_add(1)
    }
}

/// The view's partial index (which holds just its entries) and its
/// condition, for a view that has one.
pub(in crate::store) fn view_index(view: View) -> Option<(&'static str, &'static str)> {
    match view {
        View::Waiting => Some(("entries_waiting", WAITING_SQL)),
        View::Open => Some(("entries_open", OPEN_SQL)),
        View::All | View::Spam => None,
    }
}

/// The ids of a searched view's entries, ascending, read from the view's
/// partial index once for all the queries of one read: where [`plan`]
/// places its spans. `None` for a filter not searched (`matching`, its
/// search resolved) or whose view has no such index.
pub(in crate::store) fn view_ids(
    conn: &Connection,
    filter: &Filter,
    matching: Option<&str>,
) -> Result<Option<Vec<i64>>, StoreError> {
    let (Some(_), Some((index, condition))) = (matching, view_index(filter.view)) else {
        return Ok(None);
    };
    let mut ids: Vec<i64> = conn
        .prepare_cached(&format!(
            "SELECT e.id FROM entries e INDEXED BY {index} WHERE {condition}"
        ))?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    ids.sort_unstable();
    Ok(Some(ids))
}

/// How `filter` is read: one query over everything (`[None]`, without
/// view ids), or one per span of `ids` in the order the filter reads (none
/// at all when the view has no entries where the page starts). `matching`
/// is its search, resolved.
pub(in crate::store) fn plan(
    filter: &Filter,
    matching: Option<&str>,
    ids: Option<&[i64]>,
) -> Vec<Option<Span>> {
    let (Some(matching), Some(ids)) = (matching, ids) else {
        return vec![None];
    };
    // Where the page starts or ends, so a span never reaches back over
    // pages already read.
    let ascending = filter.order() == Order::OldestFirst;
    let (mut lo, mut hi) = (i64::MIN, i64::MAX);
    for (place, after) in [(filter.cursor, ascending), (filter.before, !ascending)] {
        match place.map(|p| p.id()) {
            Some(id) if after => lo = lo.max(id.saturating_add(1)),
            Some(id) => hi = hi.min(id.saturating_sub(1)),
            None => {}
        }
    }
    let from = ids.partition_point(|&id| id < lo);
    let to = ids.partition_point(|&id| id <= hi).max(from);
    // A prefix FTS5 looks up itself (`*`: a word with many longer ones)
    // is merged whole by every query: as dear as any walk it would save.
    let most = if matching.contains('*') { 1 } else { MAX_SPANS };
    let mut spans = split(ids.get(from..to).unwrap_or_default(), most);
    // Going back reads the view's order backwards.
    if ascending == filter.before.is_some() {
        spans.reverse();
    }
    spans.into_iter().map(Some).collect()
}

/// `ids` (ascending) as at most `most` spans, split at their widest gaps
/// past [`MIN_GAP`].
fn split(ids: &[i64], most: usize) -> Vec<Span> {
    let mut gaps: Vec<(i64, usize)> = ids
        .windows(2)
        .enumerate()
        .map(|(at, pair)| (pair[1] - pair[0], at + 1))
        .filter(|&(gap, _)| gap > MIN_GAP)
        .collect();
    gaps.sort_unstable_by(|a, b| b.cmp(a));
    let mut cuts: Vec<usize> = gaps
        .into_iter()
        .take(most.saturating_sub(1))
        .map(|(_, at)| at)
        .collect();
    cuts.sort_unstable();
    cuts.push(ids.len());
    let mut start = 0;
    cuts.into_iter()
        .filter_map(|end| {
            let part = ids.get(start..end)?;
            start = end;
            Some(Span {
                lo: *part.first()?,
                hi: *part.last()?,
                entries: i64::try_from(part.len()).unwrap_or(i64::MAX),
            })
        })
        .collect()
}

/// Reads span by span until `enough` (rows or a count) is reached: `read`
/// reads one span (or everything, for `None`) and says how much it read.
pub(in crate::store) fn read_until(
    spans: &[Option<Span>],
    enough: usize,
    mut read: impl FnMut(Option<Span>) -> Result<usize, StoreError>,
) -> Result<usize, StoreError> {
    let mut total = 0;
    for &span in spans {
        total += read(span)?;
        if total >= enough {
            break;
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::review::filter::Cursor;

    fn span(lo: i64, hi: i64, entries: i64) -> Span {
        Span { lo, hi, entries }
    }

    #[test]
    fn entries_close_together_are_one_span() {
        assert_eq!(split(&[5, 9, 10_009, 20_000], 8), vec![span(5, 20_000, 4)]);
        assert_eq!(split(&[7], 8), vec![span(7, 7, 1)]);
        assert_eq!(split(&[], 8), vec![]);
    }

    #[test]
    fn an_entry_far_from_the_others_is_a_span_of_its_own() {
        let ids = [70_779, 961_646, 961_647, 970_000];
        assert_eq!(
            split(&ids, 8),
            vec![span(70_779, 70_779, 1), span(961_646, 970_000, 3)]
        );
    }

    #[test]
    fn only_the_widest_gaps_split_when_spans_are_limited() {
        // Gaps of 20,000, 90,000 and 50,000 ids: two spans cut at the
        // widest, three at the two widest.
        let ids = [0, 20_000, 110_000, 160_000];
        assert_eq!(
            split(&ids, 2),
            vec![span(0, 20_000, 2), span(110_000, 160_000, 2)]
        );
        assert_eq!(
            split(&ids, 3),
            vec![
                span(0, 20_000, 2),
                span(110_000, 110_000, 1),
                span(160_000, 160_000, 1)
            ]
        );
        assert_eq!(split(&ids, 1), vec![span(0, 160_000, 4)]);
    }

    #[test]
    fn a_span_is_sparse_when_the_view_holds_fewer_than_half_its_ids() {
        assert!(!span(1, 10, 5).sparse());
        assert!(span(1, 10, 4).sparse());
        assert!(!span(7, 7, 1).sparse());
        assert!(span(i64::MIN, i64::MAX, 1).sparse());
    }

    fn searched(view: View, cursor: Option<i64>, before: Option<i64>) -> Filter {
        let place = |id| Cursor::of(&Filter::default(), id, 0, None);
        Filter {
            view,
            cursor: cursor.map(place),
            before: before.map(place),
            ..Filter::default()
        }
    }

    #[test]
    fn a_page_reads_only_the_spans_past_its_cursor_in_the_views_order() {
        let ids = [7, 50_000, 50_002, 90_000];
        let plan = |filter: &Filter| plan(filter, Some("\"word\""), Some(&ids));
        assert_eq!(
            plan(&searched(View::Open, None, None)),
            vec![
                Some(span(7, 7, 1)),
                Some(span(50_000, 50_002, 2)),
                Some(span(90_000, 90_000, 1))
            ]
        );
        // After 50,000: the rest of its span, then the next.
        assert_eq!(
            plan(&searched(View::Waiting, Some(50_000), None)),
            vec![Some(span(50_002, 50_002, 1)), Some(span(90_000, 90_000, 1))]
        );
        // Back from 90,000: the spans before it, the nearest first.
        assert_eq!(
            plan(&searched(View::Open, None, Some(90_000))),
            vec![Some(span(50_000, 50_002, 2)), Some(span(7, 7, 1))]
        );
        // Past the last entry: nothing to read.
        assert_eq!(plan(&searched(View::Open, Some(90_000), None)), vec![]);
        // FTS5's own prefix: one span, however far apart.
        assert_eq!(
            super::plan(
                &searched(View::Open, None, None),
                Some("\"wor\"*"),
                Some(&ids)
            ),
            vec![Some(span(7, 90_000, 4))]
        );
    }

    #[test]
    fn a_filter_without_a_search_or_a_view_index_is_read_in_one_query() {
        let ids = [7, 90_000];
        assert_eq!(
            plan(&searched(View::Open, None, None), None, Some(&ids)),
            vec![None]
        );
        assert_eq!(
            plan(&searched(View::All, None, None), Some("\"word\""), None),
            vec![None]
        );
    }

    #[test]
    fn reading_stops_at_the_span_that_reaches_enough() {
        let spans = [
            Some(span(1, 1, 1)),
            Some(span(5, 5, 1)),
            Some(span(9, 9, 1)),
        ];
        let mut read = Vec::new();
        let total = read_until(&spans, 4, |s| {
            read.push(s);
            Ok(3)
        })
        .unwrap();
        assert_eq!(total, 6);
        assert_eq!(read, spans[..2].to_vec());
    }
}
