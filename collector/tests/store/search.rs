//! Search: every word found, the last as a start, in any script; what
//! either engine would read as query syntax is only words.

use earshot_collector::review::filter::{Filter, Search, View};
use earshot_collector::store::Store;

use crate::inbox::{MINUTE, references, refs_of};
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
                site: Some(shop.id),
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
