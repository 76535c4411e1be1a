//! The inbox: views, filters, keyset pages and counts.

use earshot_collector::review::filter::{Filter, Search, View};
use earshot_collector::store::{InboxPage, Inserted, NewReply, NewUser, Role, User};

use crate::ingest::{T0, entry, first_site, new_site};
use crate::story;
use earshot_collector::store::Store;

pub(crate) const MINUTE: i64 = 60_000;

pub(crate) fn references(page: &InboxPage) -> Vec<String> {
    page.rows.iter().map(|r| r.reference.clone()).collect()
}

/// A colleague, signed up at `T0`.
pub(crate) async fn add_staff(db: &Store, email: &str, name: &str, role: Role) -> User {
    db.add_user(
        NewUser {
            email: email.into(),
            name: name.into(),
            role,
            password_hash: "x".into(),
        },
        T0,
    )
    .await
    .unwrap()
}

pub(crate) fn refs_of(inserted: &[Inserted]) -> Vec<String> {
    inserted.iter().map(|i| i.reference.clone()).collect()
}

async fn the_waiting_view_pages_oldest_first_both_ways(db: &Store) {
    let shop = first_site(db).await;
    let mut inserted = Vec::new();
    for i in 0..7 {
        let request = serde_json::json!({"message": format!("Problem number {i}")});
        inserted.push(
            db.insert_entry(entry(&shop, T0 + i * MINUTE, request))
                .await
                .unwrap(),
        );
    }
    let now = T0 + 60 * MINUTE;
    let waiting = Filter::default();
    let first = db.inbox(waiting.clone(), 3, now).await.unwrap();
    assert_eq!(references(&first), refs_of(&inserted[0..3]));
    assert_eq!(first.prev, None);
    let second = Filter {
        cursor: first.next,
        ..waiting.clone()
    };
    let second = db.inbox(second, 3, now).await.unwrap();
    assert_eq!(references(&second), refs_of(&inserted[3..6]));
    let third = Filter {
        cursor: second.next,
        ..waiting.clone()
    };
    let third = db.inbox(third, 3, now).await.unwrap();
    assert_eq!(references(&third), refs_of(&inserted[6..7]));
    assert_eq!(third.next, None);
    let back = Filter {
        before: third.prev,
        ..waiting.clone()
    };
    let back = db.inbox(back, 3, now).await.unwrap();
    assert_eq!(references(&back), refs_of(&inserted[3..6]));
    assert_eq!(back.next, second.next);
    // Everything, newest first.
    let all = Filter {
        view: View::All,
        ..Filter::default()
    };
    let all = db.inbox(all, 50, now).await.unwrap();
    let mut newest_first = refs_of(&inserted);
    newest_first.reverse();
    assert_eq!(references(&all), newest_first);
    let row = &all.rows[0];
    assert_eq!(row.summary, "Problem number 6");
    assert_eq!(
        (row.site_name.as_str(), row.site_key.as_str()),
        ("Shop", shop.key.as_str())
    );
    let detail = db
        .entry_detail(row.public_id.clone())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (detail.site_name.as_str(), detail.site_key.as_str()),
        ("Shop", shop.key.as_str())
    );
    assert_eq!(row.first_response_target_ms, 1440 * MINUTE);
    assert_eq!(row.status, "new");
    assert_eq!(
        (row.assignee.as_deref(), row.next_promise_due),
        (None, None)
    );
}
story!(the_waiting_view_pages_oldest_first_both_ways);

async fn filters_narrow_by_site_kind_severity_and_date(db: &Store) {
    let shop = first_site(db).await;
    let blog = db.add_site(new_site("Blog"), T0).await.unwrap();
    let help = db.add_site(new_site("Help"), T0).await.unwrap();
    let day = 24 * 60 * MINUTE;
    let rows = [
        (
            &shop,
            0,
            serde_json::json!({"kind": "complaint", "message": "a", "severity": "blocking"}),
        ),
        (
            &shop,
            day,
            serde_json::json!({"kind": "idea", "message": "b"}),
        ),
        (
            &blog,
            2 * day,
            serde_json::json!({"kind": "complaint", "message": "c", "severity": "minor"}),
        ),
        (
            &blog,
            3 * day,
            serde_json::json!({"kind": "expectation", "expected": "x", "actual": "y"}),
        ),
        (
            &help,
            3 * day + day / 2,
            serde_json::json!({"kind": "praise", "message": "e"}),
        ),
    ];
    let mut inserted = Vec::new();
    for (site, at, request) in rows {
        inserted.push(
            db.insert_entry(entry(site, T0 + at, request))
                .await
                .unwrap(),
        );
    }
    let now = T0 + 4 * day;
    let all = Filter {
        view: View::All,
        ..Filter::default()
    };
    let cases = [
        (
            Filter {
                sites: vec![blog.id],
                ..all.clone()
            },
            vec![3, 2],
        ),
        (
            Filter {
                kinds: vec!["complaint".into()],
                ..all.clone()
            },
            vec![2, 0],
        ),
        (
            Filter {
                severities: vec!["blocking".into()],
                ..all.clone()
            },
            vec![0],
        ),
        (
            Filter {
                from: Some(T0 + day),
                to: Some(T0 + 3 * day),
                ..all.clone()
            },
            vec![2, 1],
        ),
        (
            Filter {
                sites: vec![shop.id],
                kinds: vec!["expectation".into()],
                ..all.clone()
            },
            vec![],
        ),
        // Several values of one filter: any of them.
        (
            Filter {
                kinds: vec!["complaint".into(), "expectation".into()],
                ..all.clone()
            },
            vec![3, 2, 0],
        ),
        (
            Filter {
                severities: vec!["minor".into(), "blocking".into()],
                ..all.clone()
            },
            vec![2, 0],
        ),
        (
            Filter {
                sites: vec![blog.id],
                kinds: vec!["idea".into(), "expectation".into()],
                ..all.clone()
            },
            vec![3],
        ),
        (
            Filter {
                sites: vec![shop.id, blog.id],
                ..all.clone()
            },
            vec![3, 2, 1, 0],
        ),
        (
            Filter {
                sites: vec![help.id, shop.id],
                kinds: vec!["praise".into(), "idea".into()],
                ..all.clone()
            },
            vec![4, 1],
        ),
    ];
    for (filter, expected) in cases {
        let page = db.inbox(filter.clone(), 50, now).await.unwrap();
        let want: Vec<String> = expected
            .iter()
            .map(|&i| inserted[i].reference.clone())
            .collect();
        assert_eq!(references(&page), want, "{filter:?}");
        // Counted as listed, though the count takes its own path (on
        // PostgreSQL a date range is counted along the time index).
        let (_, count) = db
            .inbox_counted(filter.clone(), 50, 100, now)
            .await
            .unwrap();
        assert_eq!(count, i64::try_from(want.len()).unwrap(), "{filter:?}");
    }
    let expectation = db
        .inbox(
            Filter {
                sites: vec![blog.id],
                ..all
            },
            1,
            now,
        )
        .await
        .unwrap();
    assert_eq!(expectation.rows[0].summary, "x → y");
}
story!(filters_narrow_by_site_kind_severity_and_date);

/// Every page of `filter`, `limit` at a time, forwards; then back again
/// from the last page, which must give the same entries.
async fn every_page(db: &Store, filter: &Filter, limit: usize, now: i64) -> Vec<String> {
    let mut pages = vec![db.inbox(filter.clone(), limit, now).await.unwrap()];
    while let Some(next) = pages.last().and_then(|p| p.next) {
        let filter = Filter {
            cursor: Some(next),
            ..filter.clone()
        };
        pages.push(db.inbox(filter, limit, now).await.unwrap());
    }
    let forwards: Vec<String> = pages.iter().flat_map(references).collect();
    let mut backwards = Vec::new();
    let mut before = pages.last().and_then(|p| p.prev);
    while let Some(place) = before {
        let filter = Filter {
            before: Some(place),
            cursor: None,
            ..filter.clone()
        };
        let page = db.inbox(filter, limit, now).await.unwrap();
        backwards.splice(0..0, references(&page));
        before = page.prev;
    }
    if pages.len() > 1 {
        assert_eq!(
            backwards,
            forwards[..forwards.len() - references(&pages[pages.len() - 1]).len()],
            "back from the last page of {filter:?}"
        );
    }
    forwards
}

/// `filter` lists `want`, in order, however it is paged, and counts as
/// many.
pub(crate) async fn lists_exactly(db: &Store, filter: &Filter, want: &[String], now: i64) {
    for limit in [1, 2, 50] {
        assert_eq!(
            every_page(db, filter, limit, now).await,
            want,
            "{filter:?}, {limit} a page"
        );
    }
    let (_, count) = db
        .inbox_counted(filter.clone(), 2, 1_000, now)
        .await
        .unwrap();
    assert_eq!(count, i64::try_from(want.len()).unwrap(), "{filter:?}");
}

async fn counts_stop_at_the_cap_and_the_summary_counts_who_is_late(db: &Store) {
    let shop = first_site(db).await;
    for i in 0..5 {
        let request = serde_json::json!({"message": "Slow"});
        db.insert_entry(entry(&shop, T0 + i * MINUTE, request))
            .await
            .unwrap();
    }
    let now = T0 + 24 * 60 * MINUTE + 2 * MINUTE + 1;
    let (page, count) = db
        .inbox_counted(Filter::default(), 2, 3, now)
        .await
        .unwrap();
    assert_eq!((page.rows.len(), count), (2, 3));
    let (_, count) = db
        .inbox_counted(Filter::default(), 2, 100, now)
        .await
        .unwrap();
    assert_eq!(count, 5);
    // A day's target: the first three have waited longer than that.
    let summary = db.waiting_summary(now).await.unwrap();
    assert_eq!((summary.waiting, summary.waiting_late), (5, 3));
    assert_eq!(summary.overdue_promises, 0);
}
story!(counts_stop_at_the_cap_and_the_summary_counts_who_is_late);

async fn several_sites_page_both_ways_in_every_view_as_one_inbox(db: &Store) {
    use earshot_collector::review::workflow::Status;
    let shop = first_site(db).await;
    let blog = db.add_site(new_site("Blog"), T0).await.unwrap();
    let help = db.add_site(new_site("Help"), T0).await.unwrap();
    let ada = add_staff(db, "ada@shop.example", "Ada", Role::Admin).await;
    // Interleaved: the shop busy, the blog now and then, help once; every
    // fourth entry an idea, every fifth marked spam.
    let mut inserted = Vec::new();
    for i in 0..30 {
        let site = match i % 7 {
            0 | 3 => &blog,
            5 if i > 20 => &help,
            _ => &shop,
        };
        let kind = if i % 4 == 0 { "idea" } else { "complaint" };
        let words = if i % 3 == 0 {
            "refund asked"
        } else {
            "slow page"
        };
        let request = serde_json::json!({"kind": kind, "message": format!("Entry {i}: {words}")});
        let stored = db
            .insert_entry(entry(site, T0 + i * MINUTE, request))
            .await
            .unwrap();
        if i % 5 == 4 {
            db.set_status(
                stored.public_id.clone(),
                Status::Spam,
                ada.id,
                T0 + 40 * MINUTE,
            )
            .await
            .unwrap();
        }
        inserted.push((i, site.id, kind, stored.reference));
    }
    let now = T0 + 60 * MINUTE;
    let newest_first = |keep: &dyn Fn(i64, i64, &str) -> bool| -> Vec<String> {
        inserted
            .iter()
            .rev()
            .filter(|(i, site, kind, _)| keep(*i, *site, kind))
            .map(|(.., reference)| reference.clone())
            .collect()
    };
    let spam = |i: i64| i % 5 == 4;
    // A site with no entries adds none, and bounds nothing.
    let empty = db.add_site(new_site("Empty"), T0).await.unwrap();
    db.index_for_search().await.unwrap();
    for sites in [
        vec![blog.id, help.id],
        vec![shop.id, blog.id, help.id],
        vec![empty.id, blog.id],
    ] {
        let chosen = |site: i64| sites.contains(&site);
        let cases: [(Filter, Vec<String>); 6] = [
            (
                Filter {
                    view: View::All,
                    ..Filter::default()
                },
                newest_first(&|i, site, _| chosen(site) && !spam(i)),
            ),
            (
                Filter {
                    view: View::Spam,
                    ..Filter::default()
                },
                newest_first(&|i, site, _| chosen(site) && spam(i)),
            ),
            (
                Filter {
                    view: View::All,
                    kinds: vec!["idea".into(), "question".into()],
                    ..Filter::default()
                },
                newest_first(&|i, site, kind| chosen(site) && !spam(i) && kind == "idea"),
            ),
            (
                Filter {
                    view: View::All,
                    from: Some(T0 + 5 * MINUTE),
                    to: Some(T0 + 25 * MINUTE),
                    ..Filter::default()
                },
                newest_first(&|i, site, _| chosen(site) && !spam(i) && (5..25).contains(&i)),
            ),
            // Searched, the hits are bounded to where the sites' entries lie.
            (
                Filter {
                    view: View::All,
                    search: Search::parse("refund"),
                    ..Filter::default()
                },
                newest_first(&|i, site, _| chosen(site) && !spam(i) && i % 3 == 0),
            ),
            (
                Filter {
                    view: View::Spam,
                    search: Search::parse("slow"),
                    ..Filter::default()
                },
                newest_first(&|i, site, _| chosen(site) && spam(i) && i % 3 != 0),
            ),
        ];
        for (filter, want) in cases {
            assert!(!want.is_empty(), "{filter:?}");
            let filter = Filter {
                sites: sites.clone(),
                ..filter
            };
            lists_exactly(db, &filter, &want, now).await;
        }
        // The waiting view: oldest first, spam and answered left out.
        let waiting = Filter {
            sites: sites.clone(),
            ..Filter::default()
        };
        let mut oldest_first = newest_first(&|i, site, _| chosen(site) && !spam(i));
        oldest_first.reverse();
        lists_exactly(db, &waiting, &oldest_first, now).await;
    }
    // A count stops at its cap across the sites as it does for one.
    let all = Filter {
        view: View::All,
        sites: vec![shop.id, blog.id],
        ..Filter::default()
    };
    let (_, count) = db.inbox_counted(all, 2, 7, now).await.unwrap();
    assert_eq!(count, 7);
}
story!(several_sites_page_both_ways_in_every_view_as_one_inbox);

async fn a_date_range_pages_newest_first_both_ways(db: &Store) {
    let shop = first_site(db).await;
    let day = 24 * 60 * MINUTE;
    let mut inserted = Vec::new();
    for i in 0..7 {
        let request = serde_json::json!({"message": format!("Day {i}")});
        inserted.push(
            db.insert_entry(entry(&shop, T0 + i * day, request))
                .await
                .unwrap(),
        );
    }
    let range = Filter {
        view: View::All,
        from: Some(T0 + day),
        to: Some(T0 + 6 * day),
        ..Filter::default()
    };
    let now = T0 + 8 * day;
    let mut seen = Vec::new();
    let mut pages = Vec::new();
    let mut cursor = None;
    loop {
        let page = db
            .inbox(
                Filter {
                    cursor,
                    ..range.clone()
                },
                2,
                now,
            )
            .await
            .unwrap();
        seen.extend(references(&page));
        pages.push(page.clone());
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let mut want = refs_of(&inserted[1..6]);
    want.reverse();
    assert_eq!(seen, want);
    assert_eq!(pages.len(), 3);
    let back = Filter {
        before: pages[2].prev,
        ..range
    };
    assert_eq!(
        references(&db.inbox(back, 2, now).await.unwrap()),
        references(&pages[1])
    );
}
story!(a_date_range_pages_newest_first_both_ways);

async fn paging_goes_on_when_the_last_entry_seen_is_erased_or_moves(db: &Store) {
    let shop = first_site(db).await;
    let mut inserted = Vec::new();
    for i in 0..6 {
        let request = serde_json::json!({
            "message": format!("Waiting {i}"),
            "email": format!("customer{i}@example.com"),
        });
        inserted.push(
            db.insert_entry(entry(&shop, T0 + i * MINUTE, request))
                .await
                .unwrap(),
        );
    }
    let now = T0 + 60 * MINUTE;
    let waiting = Filter::default();
    let first = db.inbox(waiting.clone(), 2, now).await.unwrap();
    assert_eq!(references(&first), refs_of(&inserted[0..2]));
    // The customer whose entry ends the page has it erased before staff
    // read on: the next page still starts after where it stood.
    db.erase_person("customer1@example.com".into(), None, None, now)
        .await
        .unwrap();
    let second = Filter {
        cursor: first.next,
        ..waiting.clone()
    };
    let second = db.inbox(second, 2, now).await.unwrap();
    assert_eq!(references(&second), refs_of(&inserted[2..4]));
    // Going back from a page whose first entry is gone works alike.
    db.erase_person("customer2@example.com".into(), None, None, now)
        .await
        .unwrap();
    let back = Filter {
        before: second.prev,
        ..waiting.clone()
    };
    let back = db.inbox(back, 2, now).await.unwrap();
    assert_eq!(references(&back), refs_of(&inserted[0..1]));
    // The entry that ends the second page is answered and then followed
    // up, which sends it to the back of the queue: the next page goes on
    // from where it was, and it is met again at the end.
    let moved = &inserted[3];
    let ada = add_staff(db, "ada@shop.example", "Ada", Role::Agent).await;
    let reply = NewReply {
        body: "Which order?".into(),
        promise: None,
    };
    db.reply(moved.public_id.clone(), reply, ada.id, now)
        .await
        .unwrap();
    let id = db
        .entry_detail(moved.public_id.clone())
        .await
        .unwrap()
        .unwrap()
        .id;
    db.follow_up(id, "Order 12".into(), now + 1).await.unwrap();
    let third = Filter {
        cursor: second.next,
        ..waiting
    };
    let third = db.inbox(third, 2, now + 2).await.unwrap();
    let mut want = refs_of(&inserted[4..6]);
    want.push(moved.reference.clone());
    assert_eq!(references(&third), want[0..2]);
    let fourth = Filter {
        cursor: third.next,
        ..Filter::default()
    };
    let fourth = db.inbox(fourth, 2, now + 2).await.unwrap();
    assert_eq!(references(&fourth), want[2..3]);
}
story!(paging_goes_on_when_the_last_entry_seen_is_erased_or_moves);
