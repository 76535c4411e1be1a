//! Sites as admins manage them: pages, search, changes and retention.

use earshot_collector::origin::OriginPattern;
use earshot_collector::store::SiteChange;
use earshot_collector::store::retention::Retention;

use crate::ingest::{T0, entry, new_site};
use crate::story;
use earshot_collector::store::Store;

/// The admin making the changes: their id.
async fn admin(db: &Store) -> i64 {
    let user = earshot_collector::store::NewUser {
        email: "admin@shop.example".into(),
        name: "Admin".into(),
        role: earshot_collector::store::Role::Admin,
        password_hash: "x".into(),
    };
    db.add_user(user, T0).await.unwrap().id
}

async fn sites_page_by_name_and_search_by_name_or_key(db: &Store) {
    let admin = admin(db).await;
    let mut added = Vec::new();
    for name in ["gamma", "Alpha", "beta 50%", "Beta"] {
        added.push(
            db.add_site_by(new_site(name), Some(admin), T0)
                .await
                .unwrap(),
        );
    }
    let names = |page: &earshot_collector::store::SitePage| -> Vec<String> {
        page.rows.iter().map(|r| r.name.clone()).collect()
    };
    let all = db.site_page(None, 0, 10).await.unwrap();
    assert_eq!(all.total, 4);
    assert_eq!(names(&all), ["Alpha", "Beta", "beta 50%", "gamma"]);
    let second = db.site_page(None, 2, 2).await.unwrap();
    assert_eq!(
        (names(&second), second.total),
        (vec!["beta 50%".to_owned(), "gamma".to_owned()], 4)
    );
    // A last page that is not full, and one past the end, still know the total.
    let last = db.site_page(None, 3, 2).await.unwrap();
    assert_eq!((names(&last), last.total), (vec!["gamma".to_owned()], 4));
    let past = db.site_page(None, 9, 2).await.unwrap();
    assert_eq!((past.rows.len(), past.total), (0, 4));
    let beta = db.site_page(Some("BET".into()), 0, 10).await.unwrap();
    // Any case; a random key may hold "bet" too (1 in about 500 runs).
    let want: Vec<String> = all
        .rows
        .iter()
        .filter(|r| r.name.to_lowercase().contains("bet") || r.key.contains("bet"))
        .map(|r| r.name.clone())
        .collect();
    assert!(want.contains(&"Beta".to_owned()) && want.contains(&"beta 50%".to_owned()));
    assert_eq!(names(&beta), want);
    assert_eq!(beta.total, i64::try_from(want.len()).unwrap());
    // Wildcards are plain text.
    let percent = db.site_page(Some("%".into()), 0, 10).await.unwrap();
    assert_eq!(names(&percent), ["beta 50%"]);
    assert_eq!(
        db.site_page(Some("50_".into()), 0, 10).await.unwrap().total,
        0
    );
    let key = &added[0].key;
    let by_key = db
        .site_page(Some(key[2..10].to_owned()), 0, 10)
        .await
        .unwrap();
    assert_eq!(names(&by_key), ["gamma"]);
}
story!(sites_page_by_name_and_search_by_name_or_key);

async fn a_site_is_found_in_any_case_of_letters_beyond_a_to_z_with_or_without_accents(db: &Store) {
    // SQLite's LIKE folds only A to Z: "ärzte" once missed "Ärzte-Praxis"
    // there while PostgreSQL's ILIKE found it. Both now search the name's
    // key (`name::name_key`).
    let admin = admin(db).await;
    for name in ["Ärzte-Praxis", "Éditions Gallimard", "Arzt Online", "ΑΘΗΝΑ"] {
        db.add_site_by(new_site(name), Some(admin), T0)
            .await
            .unwrap();
    }
    let found = async |q: &str| -> Vec<String> {
        let page = db.site_page(Some(q.to_owned()), 0, 10).await.unwrap();
        assert_eq!(page.total, i64::try_from(page.rows.len()).unwrap());
        page.rows.into_iter().map(|r| r.name).collect()
    };
    assert_eq!(found("ärzte").await, ["Ärzte-Praxis"]);
    assert_eq!(found("ÉDITIONS").await, ["Éditions Gallimard"]);
    assert_eq!(found("αθηνα").await, ["ΑΘΗΝΑ"]);
    // Nor accents, as staff type them or not (Greek's too).
    assert_eq!(found("Αθήνα").await, ["ΑΘΗΝΑ"]);
    assert_eq!(found("ARZT").await, ["Arzt Online", "Ärzte-Praxis"]);
    assert_eq!(found("editions").await, ["Éditions Gallimard"]);
}
story!(a_site_is_found_in_any_case_of_letters_beyond_a_to_z_with_or_without_accents);

async fn an_admins_change_to_a_site_applies_and_shows(db: &Store) {
    let admin = admin(db).await;
    let shop = db
        .add_site_by(new_site("Shop"), Some(admin), T0)
        .await
        .unwrap();
    let detail = db.site_detail(shop.id).await.unwrap().expect("site");
    assert_eq!(
        (
            detail.last_entry_at,
            detail.first_response_minutes,
            detail.receipt_email
        ),
        (None, 1440, false)
    );
    assert_eq!(detail.origins, "https://shop.example");
    for at in [T0 + 9, T0 + 5] {
        let request = serde_json::json!({"message": "hi"});
        db.insert_entry(entry(&shop, at, request)).await.unwrap();
    }
    let change = SiteChange {
        name: Some("Shop EU".into()),
        origins: Some(vec![
            OriginPattern::parse("https://shop.example").unwrap(),
            OriginPattern::parse("https://*.shop.example").unwrap(),
        ]),
        first_response_minutes: Some(120),
        response_promise: Some(Some("We answer within 2 hours".into())),
        receipt_email: Some(true),
    };
    assert!(
        db.update_site(shop.id, change, Some(admin), T0 + 20)
            .await
            .unwrap()
    );
    assert!(
        !db.update_site(shop.id + 100, SiteChange::default(), Some(admin), T0)
            .await
            .unwrap()
    );
    let detail = db.site_detail(shop.id).await.unwrap().unwrap();
    assert_eq!(detail.name, "Shop EU");
    assert_eq!(
        detail.origins,
        "https://shop.example\nhttps://*.shop.example"
    );
    assert_eq!(detail.first_response_minutes, 120);
    assert!(detail.receipt_email);
    assert_eq!(
        detail.response_promise.as_deref(),
        Some("We answer within 2 hours")
    );
    assert!(
        detail.last_entry_at >= Some(T0 + 9),
        "{:?}",
        detail.last_entry_at
    );
    let site = db.sites().await.unwrap().into_iter().next().unwrap();
    assert!(site.allows("https://eu.shop.example"));
    // What the inbox reads about every site: its wait target and promise.
    let settings = db.site_settings().await.unwrap();
    let [settings] = settings.as_slice() else {
        panic!("one site's settings: {settings:?}");
    };
    assert_eq!(
        (
            settings.id,
            settings.name.as_str(),
            settings.key.as_str(),
            settings.first_response_minutes,
            settings.response_promise.as_deref(),
            settings.receipt_email
        ),
        (
            shop.id,
            "Shop EU",
            shop.key.as_str(),
            120,
            Some("We answer within 2 hours"),
            true
        )
    );
    let cleared = SiteChange {
        response_promise: Some(None),
        ..SiteChange::default()
    };
    db.update_site(shop.id, cleared, Some(admin), T0 + 30)
        .await
        .unwrap();
    let detail = db.site_detail(shop.id).await.unwrap().unwrap();
    assert_eq!(
        (detail.name.as_str(), detail.response_promise),
        ("Shop EU", None)
    );
    assert!(detail.receipt_email, "left as it was");
    assert!(db.site_detail(shop.id + 100).await.unwrap().is_none());
    // The status link's site, for its uploads.
    let inserted = db
        .insert_entry(entry(&shop, T0 + 40, serde_json::json!({"message": "x"})))
        .await
        .unwrap();
    assert_eq!(
        db.entry_site(inserted.public_id.clone(), inserted.status_token)
            .await
            .unwrap(),
        Some(shop.id)
    );
    assert_eq!(
        db.entry_site(inserted.public_id, "wrong".into())
            .await
            .unwrap(),
        None
    );
}
story!(an_admins_change_to_a_site_applies_and_shows);

async fn a_sites_retention_is_off_until_set(db: &Store) {
    let admin = admin(db).await;
    let shop = db
        .add_site_by(new_site("Shop"), Some(admin), T0)
        .await
        .unwrap();
    let default = Retention {
        days: None,
        all: false,
        spam_days: 30,
    };
    assert_eq!(db.retention(shop.id).await.unwrap(), Some(default));
    let set = Retention {
        days: Some(365),
        all: true,
        spam_days: 7,
    };
    assert!(
        db.set_retention(shop.id, set.clone(), Some(admin), T0)
            .await
            .unwrap()
    );
    assert_eq!(db.retention(shop.id).await.unwrap(), Some(set.clone()));
    assert!(
        !db.set_retention(shop.id + 100, set, Some(admin), T0)
            .await
            .unwrap()
    );
    assert_eq!(db.retention(shop.id + 100).await.unwrap(), None);
}
story!(a_sites_retention_is_off_until_set);

async fn refusals_from_several_writers_add_up_for_a_day_and_keep_the_latest_origins(db: &Store) {
    use earshot_collector::store::refusals::{HOUR_MS, ORIGINS_KEPT, RefusalTally};
    let shop = db.add_site(new_site("Shop"), T0).await.unwrap();
    let blog = db.add_site(new_site("Blog"), T0).await.unwrap();
    // Two collectors' tallies for the same hour and origin.
    let mut first = RefusalTally::new(shop.id);
    first.add("https://typo.example", T0);
    first.add("https://typo.example", T0 + 1);
    let mut second = RefusalTally::new(shop.id);
    second.add("https://typo.example", T0 + 2);
    let mut other = RefusalTally::new(blog.id);
    other.add("http://localhost:3000", T0);
    db.record_refusals(vec![first, other], T0 + 10)
        .await
        .unwrap();
    db.record_refusals(vec![second], T0 + 10).await.unwrap();
    let seen = db
        .refusals(vec![shop.id, blog.id, blog.id + 100], T0 + 20)
        .await
        .unwrap();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[&shop.id].count, 3);
    assert_eq!(
        seen[&shop.id].origins,
        vec![("https://typo.example".to_owned(), T0 + 2)]
    );
    assert_eq!(seen[&blog.id].count, 1);
    assert!(db.refusals(Vec::new(), T0).await.unwrap().is_empty());

    // Many origins over the next hours: the latest few are kept.
    for i in 1..=8 {
        let mut later = RefusalTally::new(shop.id);
        later.add(&format!("https://shop{i}.example"), T0 + i * HOUR_MS);
        db.record_refusals(vec![later], T0 + i * HOUR_MS)
            .await
            .unwrap();
    }
    let now = T0 + 8 * HOUR_MS;
    let shop_seen = db.refusals(vec![shop.id], now).await.unwrap()[&shop.id].clone();
    assert_eq!(shop_seen.count, 11);
    assert_eq!(shop_seen.origins.len(), ORIGINS_KEPT);
    assert_eq!(shop_seen.origins[0].0, "https://shop8.example");
    // A day after the first refusals they no longer count.
    let next_day = T0 + 24 * HOUR_MS + 1;
    let shop_next = db.refusals(vec![shop.id], next_day).await.unwrap()[&shop.id].clone();
    assert_eq!(shop_next.count, 8);
    assert!(
        shop_next
            .origins
            .iter()
            .all(|(o, _)| o != "https://typo.example")
    );
    assert!(
        !db.refusals(vec![blog.id], next_day)
            .await
            .unwrap()
            .contains_key(&blog.id)
    );
}
story!(refusals_from_several_writers_add_up_for_a_day_and_keep_the_latest_origins);

async fn the_public_url_the_server_runs_with_is_kept_for_the_command_line(db: &Store) {
    assert_eq!(db.public_url().await.unwrap(), None);
    db.remember_public_url("http://127.0.0.1:8080".into())
        .await
        .unwrap();
    db.remember_public_url("https://feedback.example".into())
        .await
        .unwrap();
    assert_eq!(
        db.public_url().await.unwrap().as_deref(),
        Some("https://feedback.example")
    );
}
story!(the_public_url_the_server_runs_with_is_kept_for_the_command_line);

async fn a_removed_site_takes_its_feedback_webhooks_and_sums_and_leaves_the_rest(db: &Store) {
    use earshot_collector::report::week_of;
    use earshot_collector::store::refusals::RefusalTally;
    use earshot_collector::store::{NewReply, Period, SiteHoldings, SiteRemoval};
    let admin = admin(db).await;
    let shop = db
        .add_site_by(new_site("Shop"), Some(admin), T0)
        .await
        .unwrap();
    let test = db
        .add_site_by(new_site("Test"), Some(admin), T0)
        .await
        .unwrap();
    let kept = db
        .insert_entry(entry(&shop, T0 + 1, serde_json::json!({"message": "kept"})))
        .await
        .unwrap();
    let mut gone = Vec::new();
    for i in 0..3 {
        let request =
            serde_json::json!({"message": format!("test entry {i}"), "email": "cy@mail.example"});
        gone.push(
            db.insert_entry(entry(&test, T0 + 2 + i, request))
                .await
                .unwrap(),
        );
    }
    let reply = NewReply {
        body: "On it".into(),
        promise: Some(("Fixed".into(), T0 + 86_400_000)),
    };
    db.reply(gone[0].public_id.clone(), reply, admin, T0 + 10)
        .await
        .unwrap();
    db.add_note(gone[1].public_id.clone(), "Internal".into(), admin, T0 + 11)
        .await
        .unwrap();
    let hook = crate::notify::standard_hook(test.id, "whsec_test");
    db.add_webhook(hook, Some(admin), T0).await.unwrap();
    let mut refused = RefusalTally::new(test.id);
    refused.add("https://typo.example", T0);
    db.record_refusals(vec![refused], T0 + 12).await.unwrap();
    db.roll_up().await.unwrap();
    let week = week_of(T0);
    let volume = async || -> i64 {
        let all = Period {
            from_week: week,
            to_week: week,
            sites: vec![],
        };
        db.rollups(all).await.unwrap().volume_by_kind.values().sum()
    };
    assert_eq!(volume().await, 4);

    assert_eq!(
        db.site_holdings(test.id).await.unwrap(),
        Some(SiteHoldings {
            entries: 3,
            webhooks: 1,
            only: false
        })
    );
    assert_eq!(db.site_holdings(test.id + 100).await.unwrap(), None);
    let removed = db.remove_site(test.id, Some(admin), T0 + 20).await.unwrap();
    let SiteRemoval::Removed { key, took } = removed else {
        panic!("removed: {removed:?}");
    };
    assert_eq!(key, test.key);
    assert_eq!((took.entries, took.webhooks), (3, 1));

    // Gone, all of it: entries, the person's data, the webhook, the sums.
    let sites: Vec<i64> = db.sites().await.unwrap().iter().map(|s| s.id).collect();
    assert_eq!(sites, [shop.id]);
    assert!(db.site_detail(test.id).await.unwrap().is_none());
    for e in &gone {
        assert!(
            db.entry_detail(e.public_id.clone())
                .await
                .unwrap()
                .is_none()
        );
    }
    let held = db
        .erasure_plan("cy@mail.example".into(), None)
        .await
        .unwrap();
    assert_eq!(held.entries, 0);
    assert!(db.webhooks().await.unwrap().is_empty());
    assert_eq!(
        volume().await,
        1,
        "only the remaining site's entry is counted"
    );
    assert!(
        db.refusals(vec![test.id], T0 + 30)
            .await
            .unwrap()
            .is_empty()
    );
    // A collector's tally for the site, counted before it went, is dropped
    // without failing the others' counts.
    let mut late = RefusalTally::new(test.id);
    late.add("https://typo.example", T0 + 25);
    let mut other = RefusalTally::new(shop.id);
    other.add("https://typo.example", T0 + 25);
    db.record_refusals(vec![late, other], T0 + 30)
        .await
        .unwrap();
    assert_eq!(
        db.refusals(vec![shop.id], T0 + 30).await.unwrap()[&shop.id].count,
        1
    );
    // The other site is untouched, and the removal is audited.
    assert!(
        db.entry_detail(kept.public_id.clone())
            .await
            .unwrap()
            .is_some()
    );
    let audit = db.audit_log(Some("site.removed".into()), 10).await.unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(
        (audit[0].subject.as_str(), audit[0].detail.as_deref()),
        (test.key.as_str(), Some("entries=3,webhooks=1"))
    );

    // Feedback for it from a collector that has not noticed yet is
    // refused as for a site that does not exist, on every backend.
    let late = db
        .insert_entry(entry(
            &test,
            T0 + 35,
            serde_json::json!({"message": "late"}),
        ))
        .await;
    assert!(
        matches!(
            late,
            Err(earshot_collector::store::StoreError::MissingReference)
        ),
        "{late:?}"
    );

    // Again, or a site that never was: nothing to remove. The last site
    // stays: the widget would have nowhere to send.
    assert_eq!(
        db.remove_site(test.id, Some(admin), T0 + 40).await.unwrap(),
        SiteRemoval::NoSuchSite
    );
    assert_eq!(
        db.remove_site(shop.id, Some(admin), T0 + 40).await.unwrap(),
        SiteRemoval::OnlySite
    );
    assert!(db.site_holdings(shop.id).await.unwrap().unwrap().only);
    assert!(db.entry_detail(kept.public_id).await.unwrap().is_some());
}
story!(a_removed_site_takes_its_feedback_webhooks_and_sums_and_leaves_the_rest);
