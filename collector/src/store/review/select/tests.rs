//! Searches in sites read the same page and count whether the sites'
//! entries are checked as a list or joined hit by hit.

use super::*;
use crate::review::filter::Search;
use crate::store::Sqlite;

/// Three sites: the first with 40 entries, the second with 6 among
/// them (every ninth, so their ids span the table), the third empty;
/// every other entry says "refund", every fourth is resolved.
async fn store() -> (tempfile::TempDir, Sqlite) {
    let dir = tempfile::tempdir().unwrap();
    let store = Sqlite::open(&dir.path().join("t.db")).unwrap();
    store
        .write(|c| {
            for site in 1..=3 {
                c.execute(
                    "INSERT INTO sites (key, name, origins, created_at)
                     VALUES ('k' || ?1, 'n' || ?1, '', 0)",
                    [site],
                )?;
            }
            for i in 0..46_i64 {
                let site = if i % 9 == 0 { 2 } else { 1 };
                let message = if i % 2 == 0 {
                    "a refund please"
                } else {
                    "hello"
                };
                let status = if i % 4 == 0 { "resolved" } else { "new" };
                c.execute(
                    "INSERT INTO entries (public_id, reference, status_token, site_id, kind,
                        status, message, created_at)
                     VALUES ('e' || ?1, 'r' || ?1, 't', ?2, 'idea', ?3, ?4, ?1)",
                    rusqlite::params![i, site, status, message],
                )?;
            }
            Ok(())
        })
        .await
        .unwrap();
    store.index_for_search().await.unwrap();
    (dir, store)
}

#[tokio::test]
async fn a_search_reads_the_same_entries_with_or_without_its_sites_as_a_list() {
    let (_dir, store) = store().await;
    let found = store
        .read(|conn| {
            let mut found = Vec::new();
            for sites in [vec![2], vec![3], vec![2, 3], vec![1, 2]] {
                for view in [View::All, View::Waiting, View::Open] {
                    let filter = Filter {
                        view,
                        sites: sites.clone(),
                        search: Search::parse("refund"),
                        ..Filter::default()
                    };
                    let matching = matching(conn, &filter)?;
                    let joined = Resolved::with_site_list_max(conn, &filter, matching.clone(), -1)?;
                    let listed = Resolved::with_site_list_max(conn, &filter, matching, i64::MAX)?;
                    assert!(!joined.site_list && listed.site_list);
                    let ids = |resolved: &Resolved| {
                        read_page(conn, &filter, resolved, "e.id", 2, 0, |r| {
                            r.get::<_, i64>(0)
                        })
                    };
                    let page = ids(&listed)?;
                    assert_eq!(page, ids(&joined)?, "{sites:?} {view:?}");
                    let counted = count(conn, &filter, &listed, 100, 0)?;
                    assert_eq!(counted, count(conn, &filter, &joined, 100, 0)?);
                    found.push((sites.clone(), view, page, counted));
                }
            }
            Ok(found)
        })
        .await
        .unwrap();
    // Site 2's entries that say "refund" (ids 1, 19, 37), newest first,
    // two to a page and one more; of them, the one still open and
    // waiting (1 and 37 are resolved).
    let of = |sites: &[i64], view: View| {
        found
            .iter()
            .find(|(s, v, ..)| s == sites && *v == view)
            .map(|(_, _, page, counted)| (page.clone(), *counted))
            .unwrap()
    };
    assert_eq!(of(&[2], View::All), (vec![37, 19, 1], 3));
    assert_eq!(of(&[3], View::All), (vec![], 0));
    assert_eq!(of(&[2, 3], View::All), of(&[2], View::All));
    assert_eq!(of(&[2], View::Open), (vec![19], 1));
    assert_eq!(of(&[2], View::Waiting), (vec![19], 1));
    assert_eq!(of(&[1, 2], View::All).1, 23);
}

#[tokio::test]
async fn sites_count_as_few_up_to_the_limit_and_no_further() {
    let (_dir, store) = store().await;
    let few = store
        .read(|conn| {
            Ok([
                entries_at_most(conn, &[2], 6)?,
                entries_at_most(conn, &[2], 5)?,
                entries_at_most(conn, &[3], 0)?,
                entries_at_most(conn, &[1, 2], 45)?,
                entries_at_most(conn, &[1, 2], 46)?,
            ])
        })
        .await
        .unwrap();
    assert_eq!(few, [true, false, true, false, true]);
}
