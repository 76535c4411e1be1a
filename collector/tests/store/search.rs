//! Search: every word found, the last as a start, in any script; what
//! either engine would read as query syntax is only words.

use earshot_collector::review::filter::{Assignee, Filter, Search, View};
use earshot_collector::review::workflow::Status;
use earshot_collector::store::{Role, Store};

use crate::inbox::{MINUTE, add_staff, lists_exactly, references, refs_of};
use crate::ingest::{T0, entry, first_site};
use crate::story;

async fn search_finds_every_word_and_the_last_as_a_start(db: &Store) {
    let shop = first_site(db).await;
    let texts = [
        serde_json::json!({"message": "The café refund was late"}),
        serde_json::json!({"message": "Write to bob@example.com about the refunded order"}),
        serde_json::json!({"kind": "expectation", "expected": "Free shipping", "actual": "Charged 5 EUR"}),
        serde_json::json!({"message": "Nothing relevant here"}),
    ];
    let mut inserted = Vec::new();
    for (i, request) in texts.into_iter().enumerate() {
        let at = T0 + i64::try_from(i).unwrap() * MINUTE;
        inserted.push(db.insert_entry(entry(&shop, at, request)).await.unwrap());
    }
    let now = T0 + 60 * MINUTE;
    let cases: [(&str, &[usize]); 9] = [
        ("refund", &[1, 0]),
        ("REFUND late", &[0]),
        ("cafe", &[0]),
        ("café", &[0]),
        ("example", &[1]),
        ("shipping charged", &[2]),
        ("eu", &[2]),
        ("refund nothing", &[]),
        ("zzz", &[]),
    ];
    for (words, expected) in cases {
        let filter = Filter {
            view: View::All,
            search: Search::parse(words),
            ..Filter::default()
        };
        let (page, count) = db.inbox_counted(filter, 50, 1_000, now).await.unwrap();
        let want: Vec<String> = expected
            .iter()
            .map(|&i| inserted[i].reference.clone())
            .collect();
        assert_eq!(references(&page), want, "search {words:?}");
        assert_eq!(
            count,
            i64::try_from(want.len()).unwrap(),
            "count for {words:?}"
        );
    }
    // Searching the waiting view keeps its order: oldest first.
    let waiting = Filter {
        search: Search::parse("refund"),
        ..Filter::default()
    };
    let page = db.inbox(waiting, 1, now).await.unwrap();
    assert_eq!(references(&page), refs_of(&inserted[0..1]));
    let rest = Filter {
        cursor: page.next,
        search: Search::parse("refund"),
        ..Filter::default()
    };
    let rest = db.inbox(rest, 1, now).await.unwrap();
    assert_eq!(references(&rest), refs_of(&inserted[1..2]));
    assert_eq!(rest.next, None);
}
story!(search_finds_every_word_and_the_last_as_a_start);

async fn a_search_in_any_script_or_symbol_is_answered(db: &Store) {
    let shop = first_site(db).await;
    let texts = [
        "Refund please",
        "Straße ½ x\u{301} \u{a7b5} 𞤢𞤣 ٣٤ 東京 İstanbul",
    ];
    let mut inserted = Vec::new();
    for (i, message) in texts.into_iter().enumerate() {
        let at = T0 + i64::try_from(i).unwrap() * MINUTE;
        let request = serde_json::json!({ "message": message });
        inserted.push(db.insert_entry(entry(&shop, at, request)).await.unwrap());
    }
    let both = [1, 0];
    let cases: [(&str, Option<&[usize]>); 13] = [
        // Nothing searchable: a lone combining mark, private use, a flag.
        ("\u{301}", Some(&both)),
        ("\u{e000}", Some(&both)),
        ("\u{1f1e6}", Some(&both)),
        // Query syntax of either engine is only words to search.
        (
            "\"refund\" NEAR(a b) OR * ^ -x & | ! <-> :* \\ '",
            Some(&[]),
        ),
        ("refund or", Some(&[])),
        // Scripts and letters newer than FTS5's tokenizer (Unicode 6.1).
        ("𞤢𞤣", Some(&[1])),
        ("refund \u{a7b5}", Some(&[])),
        ("東京", Some(&[1])),
        ("٣", Some(&[1])),
        ("straße", Some(&[1])),
        ("istanbul", Some(&[1])),
        ("½ ² ⅷ 〇 ª ﬀ Ⓐ", Some(&[])),
        // A word of marks alone: PostgreSQL leaves it out of the query,
        // SQLite finds nothing; either way an answer.
        ("\u{345}\u{345} refund", None),
    ];
    for (typed, expected) in cases {
        let filter = Filter {
            view: View::All,
            search: Search::parse(typed),
            ..Filter::default()
        };
        let got = db.inbox_counted(filter, 50, 1_000, T0 + 60 * MINUTE).await;
        let (page, count) = match got {
            Ok(got) => got,
            Err(e) => panic!("search {typed:?}: {e:?}"),
        };
        if let Some(expected) = expected {
            let want: Vec<String> = expected
                .iter()
                .map(|&i| inserted[i].reference.clone())
                .collect();
            assert_eq!(references(&page), want, "search {typed:?}");
            assert_eq!(count, i64::try_from(want.len()).unwrap(), "{typed:?}");
        }
    }
}
story!(a_search_in_any_script_or_symbol_is_answered);

async fn a_quoted_reference_selects_its_entry_within_the_other_filters(db: &Store) {
    let shop = first_site(db).await;
    let mut inserted = Vec::new();
    for i in 0..3 {
        let request = serde_json::json!({ "message": format!("Parcel {i} is late") });
        let at = T0 + i * MINUTE;
        inserted.push(db.insert_entry(entry(&shop, at, request)).await.unwrap());
    }
    let now = T0 + 60 * MINUTE;
    let quoted = inserted[1].reference.clone();
    let cases: [(Filter, &[usize]); 5] = [
        (Filter::default(), &[1]),
        (
            Filter {
                view: View::All,
                ..Filter::default()
            },
            &[1],
        ),
        (
            Filter {
                view: View::Spam,
                ..Filter::default()
            },
            &[],
        ),
        (
            Filter {
                kinds: vec!["praise".to_owned()],
                ..Filter::default()
            },
            &[],
        ),
        (
            Filter {
                sites: vec![shop.id],
                ..Filter::default()
            },
            &[1],
        ),
    ];
    for (filter, expected) in cases {
        let filter = Filter {
            reference: Some(quoted.clone()),
            ..filter
        };
        let (page, count) = db
            .inbox_counted(filter.clone(), 50, 1_000, now)
            .await
            .unwrap();
        let want: Vec<String> = expected
            .iter()
            .map(|&i| inserted[i].reference.clone())
            .collect();
        assert_eq!(references(&page), want, "{filter:?}");
        assert_eq!(count, i64::try_from(expected.len()).unwrap(), "{filter:?}");
    }
    // A reference no entry has is an empty list, not an error.
    let unknown = Filter {
        reference: Some("ES-0000-0000".to_owned()),
        ..Filter::default()
    };
    let page = db.inbox(unknown, 50, now).await.unwrap();
    assert!(page.rows.is_empty());
}
story!(a_quoted_reference_selects_its_entry_within_the_other_filters);

async fn a_search_with_filters_pages_through_exactly_what_they_allow(db: &Store) {
    let shop = first_site(db).await;
    let ada = add_staff(db, "ada@example.com", "Ada", Role::Admin).await;
    let bo = add_staff(db, "bo@example.com", "Bo", Role::Agent).await;
    let resolved = [2, 3, 5, 11, 13];
    let mut inserted = Vec::new();
    for i in 0..16_i64 {
        let kind = if i % 3 == 0 { "idea" } else { "complaint" };
        let request =
            serde_json::json!({"kind": kind, "message": format!("Parcel {i} went astray")});
        let entry_at = T0 + i * MINUTE;
        let stored = db
            .insert_entry(entry(&shop, entry_at, request))
            .await
            .unwrap();
        // Entries without the word between them, which no search returns.
        let other = serde_json::json!({"kind": kind, "message": "Something else"});
        db.insert_entry(entry(&shop, entry_at, other))
            .await
            .unwrap();
        if resolved.contains(&i) {
            db.set_status(
                stored.public_id.clone(),
                Status::Resolved,
                ada.id,
                entry_at + 1,
            )
            .await
            .unwrap();
        }
        if i % 4 == 1 {
            db.assign(stored.public_id.clone(), Some(bo.id), ada.id, entry_at + 1)
                .await
                .unwrap();
        }
        inserted.push(stored);
    }
    let now = T0 + 60 * MINUTE;
    let parcel = Filter {
        view: View::All,
        search: Search::parse("parcel"),
        ..Filter::default()
    };
    let newest_first = |keep: &dyn Fn(i64) -> bool| -> Vec<usize> {
        (0..16)
            .rev()
            .filter(|&i| keep(i))
            .map(|i| i as usize)
            .collect()
    };
    let cases = [
        (
            Filter {
                statuses: vec![Status::Resolved],
                ..parcel.clone()
            },
            newest_first(&|i| resolved.contains(&i)),
        ),
        (
            Filter {
                kinds: vec!["idea".into()],
                ..parcel.clone()
            },
            newest_first(&|i| i % 3 == 0),
        ),
        (
            Filter {
                assignees: vec![Assignee::User(bo.id)],
                ..parcel.clone()
            },
            newest_first(&|i| i % 4 == 1),
        ),
        (
            Filter {
                statuses: vec![Status::Resolved],
                from: Some(T0 + 3 * MINUTE),
                to: Some(T0 + 12 * MINUTE),
                ..parcel.clone()
            },
            vec![11, 5, 3],
        ),
        // The waiting view searched: oldest first, the resolved left out.
        (
            Filter {
                kinds: vec!["idea".into()],
                search: Search::parse("parcel"),
                ..Filter::default()
            },
            vec![0, 6, 9, 12, 15],
        ),
        // The same, within one status: oldest first again.
        (
            Filter {
                statuses: vec![Status::New],
                search: Search::parse("parcel"),
                ..Filter::default()
            },
            vec![0, 1, 4, 6, 7, 8, 9, 10, 12, 14, 15],
        ),
        // Several statuses or kinds: any of them, read without the one
        // value's range (SQLite) or walk along it (PostgreSQL).
        (
            Filter {
                statuses: vec![Status::Resolved, Status::Spam],
                ..parcel.clone()
            },
            newest_first(&|i| resolved.contains(&i)),
        ),
        (
            Filter {
                kinds: vec!["idea".into(), "complaint".into()],
                statuses: vec![Status::New, Status::Resolved],
                ..parcel.clone()
            },
            newest_first(&|_| true),
        ),
        (
            Filter {
                kinds: vec!["idea".into()],
                statuses: vec![Status::New, Status::Acknowledged],
                search: Search::parse("parcel"),
                ..Filter::default()
            },
            vec![0, 6, 9, 12, 15],
        ),
        // Several assignees: anyone's of them, or nobody's too.
        (
            Filter {
                assignees: vec![Assignee::User(ada.id), Assignee::User(bo.id)],
                ..parcel.clone()
            },
            newest_first(&|i| i % 4 == 1),
        ),
        (
            Filter {
                assignees: vec![Assignee::User(bo.id), Assignee::Nobody],
                ..parcel.clone()
            },
            newest_first(&|_| true),
        ),
        (
            Filter {
                assignees: vec![Assignee::Nobody, Assignee::User(ada.id)],
                search: Search::parse("parcel"),
                ..Filter::default()
            },
            vec![0, 4, 6, 7, 8, 10, 12, 14, 15],
        ),
        // Unsearched (the others' entries hold no "parcel", but have no
        // assignee either).
        (
            Filter {
                view: View::All,
                assignees: vec![Assignee::User(bo.id), Assignee::User(ada.id)],
                ..Filter::default()
            },
            newest_first(&|i| i % 4 == 1),
        ),
        (
            Filter {
                assignees: vec![Assignee::User(ada.id), Assignee::User(bo.id)],
                ..Filter::default()
            },
            vec![1, 9],
        ),
    ];
    for (filter, expected) in cases {
        let want: Vec<String> = expected
            .iter()
            .map(|&i| inserted[i].reference.clone())
            .collect();
        lists_exactly(db, &filter, &want, now).await;
    }
    let bos = Filter {
        assignees: vec![Assignee::User(bo.id)],
        ..parcel.clone()
    };
    let page = db.inbox(bos, 50, now).await.unwrap();
    assert!(!page.rows.is_empty());
    for row in &page.rows {
        assert_eq!(
            (row.assignee.as_deref(), row.assignee_id),
            (Some("Bo"), Some(bo.id))
        );
    }
}
story!(a_search_with_filters_pages_through_exactly_what_they_allow);
