//! The Promises page's figures: open promises paged in due order, settled
//! ones counted, each site's kept apart.

use earshot_collector::report::week_of;
use earshot_collector::review::filter::Cursor;
use earshot_collector::review::workflow::DAY;
use earshot_collector::store::{NewReply, OPEN_SHOWN, OpenPromises, Period, PromiseScope};

use crate::ingest::{T0, entry, first_site, new_site};
use crate::reports::admin;
use crate::story;
use earshot_collector::store::Store;

const HOUR: i64 = 3_600_000;

/// The promises of every site, open ones from `after` on.
fn open_from(since: i64, now: i64, after: Option<Cursor>) -> PromiseScope {
    PromiseScope {
        since,
        now,
        sites: Vec::new(),
        after,
    }
}

async fn promises_are_reported_open_and_settled(db: &Store) {
    let shop = first_site(db).await;
    let ada = admin(db).await;
    let mut promised = Vec::new();
    for (i, due) in [(0, T0 + DAY), (1, T0 + 2 * DAY), (2, T0 + 3 * DAY)] {
        let request = serde_json::json!({"message": format!("Problem {i}")});
        let id = db
            .insert_entry(entry(&shop, T0 + i, request))
            .await
            .unwrap()
            .public_id;
        let reply = NewReply {
            body: "We will fix it".into(),
            promise: Some((format!("Fix {i}"), due)),
        };
        db.reply(id.clone(), reply, ada, T0 + HOUR).await.unwrap();
        let promise = db.entry_detail(id.clone()).await.unwrap().unwrap().promises[0].id;
        promised.push((id, promise));
    }
    db.settle_promise(
        promised[0].0.clone(),
        promised[0].1,
        true,
        ada,
        T0 + 2 * HOUR,
    )
    .await
    .unwrap();
    db.settle_promise(
        promised[1].0.clone(),
        promised[1].1,
        true,
        ada,
        T0 + 3 * DAY,
    )
    .await
    .unwrap();
    let report = db
        .report(open_from(T0 - DAY, T0 + 2 * HOUR, None))
        .await
        .unwrap();
    let open: Vec<&str> = report.open.rows.iter().map(|p| p.text.as_str()).collect();
    assert_eq!(open, ["Fix 2"]);
    let settled: Vec<&str> = report
        .settled_promises
        .iter()
        .map(|p| p.text.as_str())
        .collect();
    assert_eq!(settled, ["Fix 1", "Fix 0"]);
    assert_eq!(
        (
            report.settled.kept_on_time,
            report.settled.kept_late,
            report.settled.broken
        ),
        (1, 1, 0)
    );
    let week = week_of(T0);
    let counts = db
        .rollups(Period {
            from_week: week,
            to_week: week,
            sites: vec![shop.id],
        })
        .await
        .unwrap()
        .promises;
    assert_eq!(
        (
            counts.made,
            counts.kept_on_time,
            counts.kept_late,
            counts.open
        ),
        (3, 1, 1, 1)
    );
}
story!(promises_are_reported_open_and_settled);

async fn open_promises_page_in_due_order_and_are_counted_whole(db: &Store) {
    let shop = first_site(db).await;
    let ada = admin(db).await;
    let mut entries = Vec::new();
    for i in 0..3 {
        let request = serde_json::json!({"message": format!("Problem {i}")});
        let inserted = db
            .insert_entry(entry(&shop, T0 + i, request))
            .await
            .unwrap();
        entries.push(inserted.public_id);
    }
    // Two more promises than a page holds, due in pairs at the same time
    // (so the order falls back on the id), the first ten made before the
    // window and the last three already settled or never due.
    let n = OPEN_SHOWN + 2;
    let since = T0 + 2 * HOUR;
    for i in 0..n + 1 {
        let k = i64::try_from(i).unwrap();
        let reply = NewReply {
            body: format!("We will fix it ({i})"),
            promise: Some((format!("Fix {i}"), T0 + DAY + (k / 2) * HOUR)),
        };
        let made_at = if i < 10 { T0 + HOUR } else { since };
        db.reply(entries[i % 3].clone(), reply, ada, made_at)
            .await
            .unwrap();
    }
    // The last one is settled: it leaves the open list and its counts.
    let last = entries[n % 3].clone();
    let settle = db.entry_detail(last.clone()).await.unwrap().unwrap();
    let settle = settle
        .promises
        .iter()
        .find(|p| p.text == format!("Fix {n}"));
    db.settle_promise(last, settle.unwrap().id, true, ada, since)
        .await
        .unwrap();
    // At `now`, promises 0..=29 are past due (due up to T0 + DAY + 14 h).
    let now = T0 + DAY + 14 * HOUR + 1;
    let first = db.report(open_from(since, now, None)).await.unwrap().open;
    assert_eq!(first.rows.len(), OPEN_SHOWN);
    assert!(first.more);
    assert_eq!((first.skipped, first.total), (0, i64::try_from(n).unwrap()));
    assert_eq!((first.overdue, first.overdue_in_window), (30, 20));
    let place = OpenPromises::place(first.rows.last().unwrap());
    let rest = db
        .report(open_from(since, now, Some(place)))
        .await
        .unwrap()
        .open;
    assert!(!rest.more);
    assert_eq!(rest.skipped, i64::try_from(OPEN_SHOWN).unwrap());
    assert_eq!((rest.total, rest.overdue), (first.total, first.overdue));
    // Every open promise once, due soonest first, ties by the order made.
    let texts: Vec<String> = first
        .rows
        .iter()
        .chain(&rest.rows)
        .map(|p| p.text.clone())
        .collect();
    let expected: Vec<String> = (0..n).map(|i| format!("Fix {i}")).collect();
    assert_eq!(texts, expected);
    // Past the last, nothing (a page kept open while promises are settled).
    let place = OpenPromises::place(rest.rows.last().unwrap());
    let beyond = db
        .report(open_from(since, now, Some(place)))
        .await
        .unwrap()
        .open;
    assert!(beyond.rows.is_empty() && !beyond.more);
    assert_eq!(beyond.skipped, beyond.total);
}
story!(open_promises_page_in_due_order_and_are_counted_whole);

async fn the_promises_of_chosen_sites_leave_the_others_out(db: &Store) {
    let ada = admin(db).await;
    let mut sites = Vec::new();
    for name in ["Shop", "Blog", "Help"] {
        sites.push(db.add_site_by(new_site(name), Some(ada), T0).await.unwrap());
    }
    // Site n has n + 1 open promises (the first already overdue) and one
    // kept on time, so every count tells which sites it has.
    for (n, site) in sites.iter().enumerate() {
        let id = db
            .insert_entry(entry(site, T0, serde_json::json!({"message": "Late"})))
            .await
            .unwrap()
            .public_id;
        for i in 0..n + 2 {
            let k = i64::try_from(i).unwrap();
            let reply = NewReply {
                body: format!("Reply {i}"),
                promise: Some((format!("{} {i}", site.name), T0 + DAY + k * DAY)),
            };
            db.reply(id.clone(), reply, ada, T0 + HOUR).await.unwrap();
        }
        let kept = db.entry_detail(id.clone()).await.unwrap().unwrap();
        let kept = kept.promises.last().unwrap().id;
        db.settle_promise(id, kept, true, ada, T0 + 2 * HOUR)
            .await
            .unwrap();
    }
    let now = T0 + DAY + HOUR;
    let (shop, blog, help) = (&sites[0], &sites[1], &sites[2]);
    for (chosen, open) in [
        (vec![shop], 1),
        (vec![blog], 2),
        (vec![shop, help], 4),
        (vec![], 6),
    ] {
        let scope = PromiseScope {
            sites: chosen.iter().map(|s| s.id).collect(),
            ..open_from(T0, now, None)
        };
        let names: Vec<&str> = chosen.iter().map(|s| s.name.as_str()).collect();
        let report = db.report(scope).await.unwrap();
        assert_eq!(report.open.total, open, "open promises of {names:?}");
        assert_eq!(report.open.rows.len(), usize::try_from(open).unwrap());
        let sites_in = i64::try_from(if chosen.is_empty() { 3 } else { chosen.len() }).unwrap();
        assert_eq!(report.open.overdue, sites_in, "overdue of {names:?}");
        assert_eq!(report.settled.kept_on_time, sites_in, "kept of {names:?}");
        assert_eq!(
            report.settled_promises.len(),
            usize::try_from(sites_in).unwrap()
        );
        // Only the chosen sites' promises are listed, open or settled.
        for p in report.open.rows.iter().chain(&report.settled_promises) {
            let site = p.text.split(' ').next().unwrap();
            assert!(
                chosen.is_empty() || names.contains(&site),
                "{} listed for {names:?}",
                p.text
            );
        }
    }
}
story!(the_promises_of_chosen_sites_leave_the_others_out);
