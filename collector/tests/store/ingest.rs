//! Sites and ingest: who may send, idempotent submissions, status links.

use earshot_collector::origin::OriginPattern;
use earshot_collector::review::filter::{Filter, View};
use earshot_collector::store::{NewEntry, NewSite, Site};
use earshot_protocol::{FeedbackRequest, Submission};

use crate::story;
use earshot_collector::store::Store;

/// 2026-11-30T12:00:00Z.
pub const T0: i64 = 1_796_040_000_000;

pub fn new_site(name: &str) -> NewSite {
    NewSite {
        name: name.to_owned(),
        origins: vec![OriginPattern::parse("https://shop.example").unwrap()],
    }
}

/// An entry for `site` at `at`, from a widget request given as JSON (site
/// and kind filled in when missing).
pub fn entry(site: &Site, at: i64, request: serde_json::Value) -> NewEntry {
    let mut request = request;
    let fields = request.as_object_mut().unwrap();
    fields
        .entry("site")
        .or_insert_with(|| site.key.clone().into());
    fields.entry("kind").or_insert_with(|| "complaint".into());
    let request: FeedbackRequest = serde_json::from_value(request).unwrap();
    NewEntry {
        site_id: site.id,
        submission: Submission::parse(&request).unwrap(),
        ip_hash: None,
        spam: None,
        received_at: at,
    }
}

pub async fn first_site(db: &Store) -> Site {
    db.ensure_first_site(new_site("Shop"), T0).await.unwrap().0
}

/// How many entries the "all" and "spam" views hold together.
pub async fn stored(db: &Store) -> usize {
    let mut n = 0;
    for view in [View::All, View::Spam] {
        let filter = Filter {
            view,
            ..Filter::default()
        };
        n += db.inbox(filter, 1_000, T0).await.unwrap().rows.len();
    }
    n
}

async fn the_first_site_is_created_once_even_by_two_starts_at_once(db: &Store) {
    let (a, b) = tokio::join!(
        db.ensure_first_site(new_site("Shop"), T0),
        db.ensure_first_site(new_site("Shop"), T0)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.0.id, b.0.id);
    assert!(a.1 != b.1, "exactly one start creates the site");
    let again = db.ensure_first_site(new_site("Other"), T0).await.unwrap();
    assert_eq!((again.0.id, again.1), (a.0.id, false));
    let blog = db.add_site(new_site("Blog"), T0).await.unwrap();
    assert_ne!(blog.key, a.0.key);
    let sites = db.sites().await.unwrap();
    let names: Vec<&str> = sites.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["Shop", "Blog"]);
    assert!(sites[0].allows("https://shop.example"));
    assert!(!sites[0].allows("https://evil.example"));
}
story!(the_first_site_is_created_once_even_by_two_starts_at_once);

async fn a_retried_submission_is_stored_once(db: &Store) {
    let shop = first_site(db).await;
    let blog = db.add_site(new_site("Blog"), T0).await.unwrap();
    let keyed = |site: &Site, key: &str| {
        entry(
            site,
            T0,
            serde_json::json!({"message": "Checkout fails", "idempotency_key": key}),
        )
    };
    let first = db
        .insert_entry(keyed(&shop, "key-one-0000000001"))
        .await
        .unwrap();
    let retry = db
        .insert_entry(keyed(&shop, "key-one-0000000001"))
        .await
        .unwrap();
    assert!(!first.replayed);
    assert!(retry.replayed);
    assert_eq!(
        (&retry.reference, &retry.public_id, &retry.status_token),
        (&first.reference, &first.public_id, &first.status_token)
    );
    // Eight copies at once, as a flaky network's retries arrive.
    let copies = futures::future::join_all(
        (0..8).map(|_| db.insert_entry(keyed(&shop, "key-two-0000000002"))),
    )
    .await;
    let copies: Vec<_> = copies.into_iter().map(Result::unwrap).collect();
    assert_eq!(copies.iter().filter(|c| !c.replayed).count(), 1);
    assert!(copies.iter().all(|c| c.reference == copies[0].reference));
    // A key belongs to its site.
    let other = db
        .insert_entry(keyed(&blog, "key-one-0000000001"))
        .await
        .unwrap();
    assert!(!other.replayed);
    assert_ne!(other.reference, first.reference);
    // Without a key every submission is new.
    for _ in 0..2 {
        let plain = entry(&shop, T0, serde_json::json!({"message": "Again"}));
        assert!(!db.insert_entry(plain).await.unwrap().replayed);
    }
    assert_eq!(stored(db).await, 5);
}
story!(a_retried_submission_is_stored_once);

async fn a_burst_of_submissions_and_their_retries_is_stored_once_each(db: &Store) {
    let shop = first_site(db).await;
    // More at once than one batch holds: keyed submissions each sent
    // twice (a retry racing its original), and some without a key.
    let keyed = |i: usize| {
        entry(
            &shop,
            T0,
            serde_json::json!({"message": format!("Burst {i}"), "idempotency_key": format!("burst-key-{i:08}")}),
        )
    };
    let plain = |i: usize| {
        entry(
            &shop,
            T0,
            serde_json::json!({"message": format!("Plain {i}")}),
        )
    };
    let submissions = (0..100)
        .flat_map(|i| [keyed(i), keyed(i)])
        .chain((0..50).map(plain));
    let answers: Vec<_> = futures::future::join_all(submissions.map(|e| db.insert_entry(e)))
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    for pair in answers[..200].chunks(2) {
        assert_eq!(pair[0].reference, pair[1].reference);
        assert_eq!(pair[0].status_token, pair[1].status_token);
        assert_eq!(
            usize::from(pair[0].replayed) + usize::from(pair[1].replayed),
            1
        );
    }
    assert!(answers[200..].iter().all(|a| !a.replayed));
    let mut references: Vec<_> = answers.iter().map(|a| &a.reference).collect();
    references.sort();
    references.dedup();
    assert_eq!(references.len(), 150);
    assert_eq!(stored(db).await, 150);
    // Stored together: fewer batches than submissions, each batch counted
    // in `/metrics`.
    let metrics = earshot_collector::metrics::Metrics::new(db.clone())
        .render()
        .await
        .unwrap();
    let value = |name: &str| -> f64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("{name} in\n{metrics}"))
    };
    let (batches, jobs) = (
        value("earshot_writer_batch_jobs_count"),
        value("earshot_writer_batch_jobs_sum"),
    );
    assert!(jobs >= 150.0, "{jobs} jobs");
    assert!(batches < 250.0, "{batches} batches for 250 submissions");
    assert!(value("earshot_writer_commit_seconds_count") >= 1.0);
    // Each is what its customer sent, findable by its status link.
    for (i, answer) in answers[..200].iter().step_by(2).enumerate() {
        let found = db
            .entry_by_status_link(answer.public_id.clone(), answer.status_token.clone())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            found.message.as_deref(),
            Some(format!("Burst {i}").as_str())
        );
    }
}
story!(a_burst_of_submissions_and_their_retries_is_stored_once_each);

async fn a_status_link_opens_only_with_its_secret(db: &Store) {
    let shop = first_site(db).await;
    let request = serde_json::json!({
        "kind": "expectation",
        "expected": "A refund in 3 days",
        "actual": "Nothing after 2 weeks",
        "client": {"language": "pt-BR"},
    });
    let inserted = db.insert_entry(entry(&shop, T0, request)).await.unwrap();
    assert!(
        inserted.reference.starts_with("ES-"),
        "{}",
        inserted.reference
    );
    let found = db
        .entry_by_status_link(inserted.public_id.clone(), inserted.status_token.clone())
        .await
        .unwrap()
        .expect("the status link opens its entry");
    assert_eq!(found.reference, inserted.reference);
    assert_eq!(found.kind, "expectation");
    assert_eq!(found.expected.as_deref(), Some("A refund in 3 days"));
    assert_eq!(found.actual.as_deref(), Some("Nothing after 2 weeks"));
    assert_eq!(found.message, None);
    assert_eq!(found.status, "new");
    assert_eq!(found.created_at, T0);
    assert_eq!(found.site_name, "Shop");
    assert_eq!(found.language.as_deref(), Some("pt-BR"));
    assert!(!found.has_email);
    let with_email = serde_json::json!({"message": "Reply to me", "email": "ana@example.com"});
    let reachable = db.insert_entry(entry(&shop, T0, with_email)).await.unwrap();
    let reachable = db
        .entry_by_status_link(reachable.public_id, reachable.status_token)
        .await
        .unwrap()
        .expect("its status link opens it");
    assert!(reachable.has_email);
    let mut wrong = inserted.status_token.clone();
    wrong.replace_range(0..1, if wrong.starts_with('A') { "B" } else { "A" });
    for (id, secret) in [
        (inserted.public_id.clone(), wrong),
        (inserted.public_id.clone(), String::new()),
        ("no-such-entry".to_owned(), inserted.status_token.clone()),
    ] {
        assert!(db.entry_by_status_link(id, secret).await.unwrap().is_none());
    }
}
story!(a_status_link_opens_only_with_its_secret);

async fn spam_is_kept_apart_from_those_waiting(db: &Store) {
    let shop = first_site(db).await;
    let mut bot = entry(&shop, T0, serde_json::json!({"message": "Buy now"}));
    bot.spam = Some(earshot_collector::abuse::SpamReason::Honeypot);
    let human = entry(&shop, T0 + 1, serde_json::json!({"message": "Broken link"}));
    let bot = db.insert_entry(bot).await.unwrap();
    let human = db.insert_entry(human).await.unwrap();
    let view = |view| Filter {
        view,
        ..Filter::default()
    };
    let refs = |page: earshot_collector::store::InboxPage| -> Vec<String> {
        page.rows.into_iter().map(|r| r.reference).collect()
    };
    let now = T0 + 10;
    assert_eq!(
        refs(db.inbox(view(View::Waiting), 50, now).await.unwrap()),
        std::slice::from_ref(&human.reference)
    );
    assert_eq!(
        refs(db.inbox(view(View::All), 50, now).await.unwrap()),
        [human.reference]
    );
    let spam = db.inbox(view(View::Spam), 50, now).await.unwrap();
    assert_eq!(spam.rows[0].status, "spam");
    assert_eq!(refs(spam), [bot.reference]);
    assert_eq!(db.waiting_summary(now).await.unwrap().waiting, 1);
}
story!(spam_is_kept_apart_from_those_waiting);
