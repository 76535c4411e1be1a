//! Reports, exports and a person's data: counted once, exported whole,
//! erased completely.

use earshot_collector::report::week_of;
use earshot_collector::review::filter::{Filter, Search, View};
use earshot_collector::review::workflow::{DAY, Status};
use earshot_collector::store::retention::Retention;
use earshot_collector::store::{HeldEntry, NewReply, NewUser, Period, Role};

use crate::ingest::{T0, entry, first_site, new_site};
use crate::story;
use earshot_collector::store::Store;

const HOUR: i64 = 3_600_000;

pub(crate) async fn admin(db: &Store) -> i64 {
    let user = NewUser {
        email: "ada@shop.example".into(),
        name: "Ada".into(),
        role: Role::Admin,
        password_hash: "x".into(),
    };
    db.add_user(user, T0).await.unwrap().id
}

async fn reports_count_each_entry_once_whatever_happens_around_the_roll_up(db: &Store) {
    let shop = first_site(db).await;
    let ada = admin(db).await;
    let mut ids = Vec::new();
    for i in 0..4 {
        let request = serde_json::json!({
            "kind": "expectation", "expected": "Free delivery", "actual": "Charged for delivery",
            "page": {"url": "https://shop.example/checkout?step=2"},
        });
        ids.push(
            db.insert_entry(entry(&shop, T0 + i, request))
                .await
                .unwrap()
                .public_id,
        );
    }
    let idea = serde_json::json!({"kind": "idea", "message": "Dark mode"});
    let idea = db
        .insert_entry(entry(&shop, T0 + 10, idea))
        .await
        .unwrap()
        .public_id;
    // Answered before the roll-up counts it, and after.
    let reply = |body: &str| NewReply {
        body: body.into(),
        promise: None,
    };
    db.reply(ids[0].clone(), reply("On it"), ada, T0 + HOUR)
        .await
        .unwrap();
    assert_eq!(db.rollup_backlog().await.unwrap(), 5);
    assert_eq!(db.roll_up().await.unwrap(), 5);
    assert_eq!(db.rollup_backlog().await.unwrap(), 0);
    assert_eq!(db.roll_up().await.unwrap(), 0, "nothing twice");
    db.reply(ids[1].clone(), reply("Looking"), ada, T0 + 2 * HOUR)
        .await
        .unwrap();
    db.set_status(ids[1].clone(), Status::Resolved, ada, T0 + 3 * HOUR)
        .await
        .unwrap();
    // Spam leaves the counts, a rescue brings it back, a resolution is timed.
    db.set_status(idea.clone(), Status::Spam, ada, T0 + 4 * HOUR)
        .await
        .unwrap();
    let week = week_of(T0);
    let period = Period {
        from_week: week,
        to_week: week,
        sites: vec![],
    };
    let r = db.rollups(period.clone()).await.unwrap();
    assert_eq!(
        r.volume_by_kind.get(&(week, "expectation".into())),
        Some(&4)
    );
    let ideas = r
        .volume_by_kind
        .get(&(week, "idea".into()))
        .copied()
        .unwrap_or(0);
    assert_eq!(ideas, 0, "spam is not counted");
    let answered: i64 = r.first_response.values().flat_map(|h| h.values()).sum();
    assert_eq!(answered, 2);
    let resolved: i64 = r.resolution.values().flat_map(|h| h.values()).sum();
    assert_eq!(resolved, 1);
    assert_eq!(r.pages.len(), 1);
    assert_eq!(r.pages[0].mismatches, 4);
    assert!(
        r.pages[0]
            .words
            .iter()
            .any(|(w, n)| w == "delivery" && *n >= 4),
        "{:?}",
        r.pages[0].words
    );
    db.set_status(idea, Status::New, ada, T0 + 5 * HOUR)
        .await
        .unwrap();
    let r = db.rollups(period.clone()).await.unwrap();
    assert_eq!(r.volume_by_kind.get(&(week, "idea".into())), Some(&1));
    let histogram = db.first_response_histogram(period.clone()).await.unwrap();
    assert_eq!(histogram.values().sum::<i64>(), 2);
    // Another site's report is empty.
    let other = Period {
        sites: vec![shop.id + 100],
        ..period
    };
    assert!(
        db.first_response_histogram(other.clone())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        db.rollups(other)
            .await
            .unwrap()
            .volume_by_kind
            .values()
            .all(|n| *n == 0)
    );
}
story!(reports_count_each_entry_once_whatever_happens_around_the_roll_up);

async fn a_report_sums_the_sites_chosen_and_leaves_the_others_out(db: &Store) {
    let ada = admin(db).await;
    let mut sites = Vec::new();
    for name in ["Shop", "Blog", "Help"] {
        sites.push(db.add_site_by(new_site(name), Some(ada), T0).await.unwrap());
    }
    // Each site gets one more entry than the last, a promise and a
    // mismatch on a page of its own, so every sum tells which sites it has.
    for (n, site) in sites.iter().enumerate() {
        let page = format!("https://{}.example/checkout", site.name.to_lowercase());
        for i in 0..=n {
            let request = serde_json::json!({
                "kind": "expectation", "expected": "Free returns", "actual": "Returns cost",
                "page": {"url": page},
            });
            let i = i64::try_from(i).unwrap();
            let id = db
                .insert_entry(entry(site, T0 + i, request))
                .await
                .unwrap()
                .public_id;
            if i == 0 {
                let reply = NewReply {
                    body: "We will refund it".into(),
                    promise: Some(("Refund".into(), T0 + DAY)),
                };
                db.reply(id, reply, ada, T0 + HOUR).await.unwrap();
            }
        }
    }
    db.roll_up().await.unwrap();
    let week = week_of(T0);
    let report = async |chosen: &[&earshot_collector::store::Site]| {
        db.rollups(Period {
            from_week: week,
            to_week: week,
            sites: chosen.iter().map(|s| s.id).collect(),
        })
        .await
        .unwrap()
    };
    let (shop, blog, help) = (&sites[0], &sites[1], &sites[2]);
    for (chosen, entries) in [
        (vec![shop], 1),
        (vec![blog], 2),
        (vec![shop, help], 4),
        (vec![blog, help], 5),
        (vec![], 6),
    ] {
        let r = report(&chosen).await;
        let names: Vec<&str> = chosen.iter().map(|s| s.name.as_str()).collect();
        let volume: i64 = r.volume_by_kind.values().sum();
        assert_eq!(volume, entries, "entries of {names:?}");
        let answered: i64 = r.first_response.values().flat_map(|h| h.values()).sum();
        let sites_in = if chosen.is_empty() { 3 } else { chosen.len() };
        let sites_in = i64::try_from(sites_in).unwrap();
        assert_eq!(answered, sites_in, "first responses of {names:?}");
        assert_eq!(r.promises.made, sites_in, "promises of {names:?}");
        let mut pages: Vec<(String, i64)> = r
            .pages
            .iter()
            .map(|p| (p.page.clone(), p.mismatches))
            .collect();
        pages.sort();
        let chosen_or_all: Vec<_> = if chosen.is_empty() {
            sites.iter().collect()
        } else {
            chosen.clone()
        };
        let mut expected: Vec<(String, i64)> = chosen_or_all
            .iter()
            .map(|s| {
                let n = sites.iter().position(|t| t.id == s.id).unwrap();
                (
                    format!("https://{}.example/checkout", s.name.to_lowercase()),
                    i64::try_from(n + 1).unwrap(),
                )
            })
            .collect();
        expected.sort();
        assert_eq!(pages, expected, "pages of {names:?}");
        for page in &r.pages {
            assert!(
                page.words
                    .iter()
                    .any(|(w, n)| w == "returns" && *n == page.mismatches),
                "words of {} for {names:?}: {:?}",
                page.page,
                page.words
            );
        }
    }
}
story!(a_report_sums_the_sites_chosen_and_leaves_the_others_out);

async fn an_export_reads_every_row_once_in_chunks(db: &Store) {
    let shop = first_site(db).await;
    let ada = admin(db).await;
    let mut refs = Vec::new();
    for i in 0..7 {
        let request = serde_json::json!({
            "message": format!("Refund {i} please"), "email": format!("c{i}@mail.example"),
            "context": {"plan": "pro"},
        });
        refs.push(
            db.insert_entry(entry(&shop, T0 + i * HOUR, request))
                .await
                .unwrap(),
        );
    }
    db.reply(
        refs[2].public_id.clone(),
        NewReply {
            body: "ok".into(),
            promise: None,
        },
        ada,
        T0 + 9 * HOUR,
    )
    .await
    .unwrap();
    let all = Filter {
        view: View::All,
        search: Search::parse("refund"),
        ..Filter::default()
    };
    let query = db.export_query(all, T0 + 10 * HOUR).await.unwrap();
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let chunk = db.export_chunk(query.clone(), cursor, 3).await.unwrap();
        seen.extend(chunk.rows.iter().map(|r| r.reference.clone()));
        if chunk.rows.iter().any(|r| r.reference == refs[2].reference) {
            let row = chunk
                .rows
                .iter()
                .find(|r| r.reference == refs[2].reference)
                .unwrap();
            assert_eq!(row.first_response_ms, Some(7 * HOUR));
            assert_eq!(row.email.as_deref(), Some("c2@mail.example"));
            assert_eq!(row.context.get("plan").map(String::as_str), Some("pro"));
            assert_eq!(
                (row.site_name.as_str(), row.status.as_str()),
                ("Shop", "acknowledged")
            );
        }
        match chunk.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let mut newest_first: Vec<String> = refs.iter().map(|r| r.reference.clone()).collect();
    newest_first.reverse();
    assert_eq!(seen, newest_first);
}
story!(an_export_reads_every_row_once_in_chunks);

async fn a_persons_data_is_exported_then_erased_completely(db: &Store) {
    let shop = first_site(db).await;
    let ada = admin(db).await;
    let mine = serde_json::json!({"message": "My order 881 is late", "email": " Cy@Mail.example "});
    let mine = db.insert_entry(entry(&shop, T0, mine)).await.unwrap();
    let other = serde_json::json!({"message": "Someone else", "email": "dee@mail.example"});
    let other = db.insert_entry(entry(&shop, T0 + 1, other)).await.unwrap();
    let reply = NewReply {
        body: "Sorry".into(),
        promise: Some(("Ships Monday".into(), T0 + DAY)),
    };
    db.reply(mine.public_id.clone(), reply, ada, T0 + 2)
        .await
        .unwrap();
    db.roll_up().await.unwrap();
    let export = db
        .export_person("cy@mail.EXAMPLE".into(), None, Some(ada), T0 + 3)
        .await
        .unwrap();
    assert_eq!(export.entries, 1);
    let json: serde_json::Value = serde_json::from_str(&export.json).unwrap();
    assert_eq!(json["entries"][0]["reference"], mine.reference.as_str());
    assert_eq!(json["entries"][0]["message"], "My order 881 is late");
    assert_eq!(json["entries"][0]["promises"][0]["text"], "Ships Monday");
    assert_eq!(
        json["entries"][0]["timeline"].as_array().map(Vec::len),
        Some(2)
    );
    let plan = db
        .erasure_plan("CY@mail.example".into(), None)
        .await
        .unwrap();
    assert_eq!((plan.entries, plan.events), (1, 2));
    let held = db
        .person_entries(" CY@mail.example".into(), None, 50)
        .await
        .unwrap();
    assert_eq!(
        held,
        [HeldEntry {
            public_id: mine.public_id.clone(),
            reference: mine.reference.clone(),
            kind: "complaint".into(),
            created_at: T0,
        }]
    );
    assert!(
        db.person_entries("cy@mail.example".into(), Some(shop.id + 1), 50)
            .await
            .unwrap()
            .is_empty()
    );
    let done = db
        .erase_person("cy@mail.example".into(), None, Some(ada), T0 + 4)
        .await
        .unwrap();
    assert_eq!(done, plan);
    assert!(
        db.entry_detail(mine.public_id.clone())
            .await
            .unwrap()
            .is_none()
    );
    assert!(db.was_erased(mine.public_id.clone()).await.unwrap());
    assert!(!db.was_erased(other.public_id.clone()).await.unwrap());
    assert!(db.entry_detail(other.public_id).await.unwrap().is_some());
    let search = Filter {
        view: View::All,
        search: Search::parse("881"),
        ..Filter::default()
    };
    assert!(db.inbox(search, 50, T0 + 5).await.unwrap().rows.is_empty());
    let actions: Vec<(String, Option<String>)> = db
        .audit_log(Some("person.".into()), 10)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.action, e.detail))
        .collect();
    assert_eq!(
        actions,
        [
            ("person.erased".to_owned(), Some("entries=1".to_owned())),
            ("person.exported".to_owned(), Some("entries=1".to_owned())),
        ]
    );
    assert_eq!(
        db.erase_person("cy@mail.example".into(), None, None, T0 + 6)
            .await
            .unwrap()
            .entries,
        0
    );
}
story!(a_persons_data_is_exported_then_erased_completely);

async fn retention_deletes_what_was_left_untouched_and_keeps_the_rest(db: &Store) {
    let shop = first_site(db).await;
    let ada = admin(db).await;
    let old = T0 - 400 * DAY;
    // In the order they arrive (SQLite never lets creation times go back).
    let mut ids = Vec::new();
    for (i, at) in [old, old + 1].into_iter().enumerate() {
        let request = serde_json::json!({"message": format!("Entry {i}")});
        ids.push(
            db.insert_entry(entry(&shop, at, request))
                .await
                .unwrap()
                .public_id,
        );
    }
    let mut spam = entry(&shop, T0 - 40 * DAY, serde_json::json!({"message": "spam"}));
    spam.spam = Some(earshot_collector::abuse::SpamReason::Honeypot);
    let spam = db.insert_entry(spam).await.unwrap().public_id;
    let request = serde_json::json!({"message": "Entry 2"});
    ids.push(
        db.insert_entry(entry(&shop, T0, request))
            .await
            .unwrap()
            .public_id,
    );
    // One closed long ago, one old complaint closed only now.
    db.set_status(ids[1].clone(), Status::Resolved, ada, old + DAY)
        .await
        .unwrap();
    db.set_status(ids[0].clone(), Status::Resolved, ada, T0)
        .await
        .unwrap();
    // Closed feedback untouched for a year goes; open feedback, the new and
    // what was closed today stay.
    let rule = Retention {
        days: Some(365),
        all: false,
        spam_days: 30,
    };
    db.set_retention(shop.id, rule, Some(ada), T0)
        .await
        .unwrap();
    let swept = db.sweep_retention(T0 + 1).await.unwrap();
    assert_eq!(swept, [(shop.key.clone(), 2)]);
    assert!(db.entry_detail(ids[1].clone()).await.unwrap().is_none());
    assert!(db.entry_detail(spam).await.unwrap().is_none());
    assert!(
        db.entry_detail(ids[0].clone()).await.unwrap().is_some(),
        "closed today: its customer can still read how it ended"
    );
    assert!(db.entry_detail(ids[2].clone()).await.unwrap().is_some());
    assert!(
        !db.was_erased(ids[1].clone()).await.unwrap(),
        "not at anyone's request"
    );
    assert!(db.sweep_retention(T0 + 2).await.unwrap().is_empty());
    // A year after it was closed, it goes too.
    assert!(
        db.sweep_retention(T0 + 365 * DAY - 1)
            .await
            .unwrap()
            .is_empty()
    );
    let swept = db.sweep_retention(T0 + 365 * DAY + 1).await.unwrap();
    assert_eq!(swept, [(shop.key.clone(), 1)]);
    assert!(db.entry_detail(ids[0].clone()).await.unwrap().is_none());
    let logged = db.audit_log(Some("retention.".into()), 10).await.unwrap();
    let details: Vec<_> = logged.iter().map(|l| l.detail.as_deref()).collect();
    assert_eq!(details, [Some("entries=1"), Some("entries=2")]);
}
story!(retention_deletes_what_was_left_untouched_and_keeps_the_rest);
