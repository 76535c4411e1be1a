//! What only the PostgreSQL backend has to prove: several collectors
//! sharing one database, and a database that goes away.

use earshot_collector::store::StoreError;
use earshot_collector::store::postgres::Postgres;

use crate::fixture::psql;
use crate::postgres_server::TempPostgres;

#[tokio::test]
async fn a_database_that_goes_away_answers_unavailable() {
    let server = TempPostgres::start();
    let url = server.fresh_database();
    let db = Postgres::connect(&url).await.unwrap();
    db.ping().await.unwrap();
    let store = earshot_collector::store::Store::connect(&url)
        .await
        .unwrap();
    let shop = crate::ingest::first_site(&store).await;
    drop(server);
    match db.ping().await {
        Err(StoreError::Unavailable) => {}
        other => panic!("expected Unavailable, got {other:?}"),
    }
    // A burst of submissions (stored in batches) is told at once, each
    // one, so the widgets keep them and retry.
    let started = std::time::Instant::now();
    let answers = futures::future::join_all((0..40).map(|i| {
        let request = serde_json::json!({"message": format!("Lost {i}")});
        store.insert_entry(crate::ingest::entry(&shop, crate::ingest::T0, request))
    }))
    .await;
    for answer in answers {
        assert!(matches!(answer, Err(StoreError::Unavailable)), "{answer:?}");
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    // A fresh start says why it cannot connect.
    match Postgres::connect(&url).await {
        Err(e @ StoreError::Connect(_)) => assert!(e.to_string().contains("refused"), "{e}"),
        other => panic!("expected a connection error, got {:?}", other.err()),
    }
}

/// PostgreSQL out of disk (SQLSTATE 53100, raised here by the server
/// itself from a trigger, as a full tablespace would) refuses the write as
/// `Full`, which the API answers 503 with a later retry, not 500.
#[tokio::test]
async fn a_server_out_of_disk_refuses_writes_as_full() {
    let server = TempPostgres::start();
    let url = server.fresh_database();
    let store = earshot_collector::store::Store::connect(&url)
        .await
        .unwrap();
    let shop = crate::ingest::first_site(&store).await;
    let client = psql(&url).await;
    client
        .batch_execute(
            "CREATE FUNCTION no_space() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN RAISE EXCEPTION 'could not extend file' USING ERRCODE = 'disk_full'; END $$;
             CREATE TRIGGER no_space BEFORE INSERT ON entries
             FOR EACH ROW EXECUTE FUNCTION no_space();",
        )
        .await
        .unwrap();
    let request = serde_json::json!({"message": "Kept by the widget"});
    let refused = store
        .insert_entry(crate::ingest::entry(
            &shop,
            crate::ingest::T0,
            request.clone(),
        ))
        .await;
    assert!(matches!(refused, Err(StoreError::Full)), "{refused:?}");

    client
        .batch_execute("DROP TRIGGER no_space ON entries")
        .await
        .unwrap();
    store
        .insert_entry(crate::ingest::entry(&shop, crate::ingest::T0, request))
        .await
        .unwrap();
}

/// Text PostgreSQL cannot hold (U+0000), should any get past the HTTP
/// layer's refusal, is `Unstorable` (answered 422, the sender's mistake),
/// not an internal error; the write leaves nothing behind.
#[tokio::test]
async fn a_nul_character_is_refused_as_unstorable_and_nothing_is_written() {
    use earshot_collector::store::{NewUser, ReviewError, Role};

    let server = TempPostgres::shared();
    let store = earshot_collector::store::Store::connect(&server.fresh_database())
        .await
        .unwrap();
    let shop = crate::ingest::first_site(&store).await;
    let ada = NewUser {
        email: "ada@shop.example".into(),
        name: "Ada".into(),
        role: Role::Agent,
        password_hash: "x".into(),
    };
    let ada = store.add_user(ada, crate::ingest::T0).await.unwrap();
    let request = serde_json::json!({"message": "Where is my refund?"});
    let inserted = store
        .insert_entry(crate::ingest::entry(&shop, crate::ingest::T0, request))
        .await
        .unwrap();
    let id = inserted.public_id.clone();
    let before = store.entry_detail(id.clone()).await.unwrap().unwrap();
    let refused = store
        .add_note(
            id.clone(),
            "Called\0 her".into(),
            ada.id,
            crate::ingest::T0 + 1,
        )
        .await;
    assert!(
        matches!(refused, Err(ReviewError::Store(StoreError::Unstorable))),
        "{refused:?}"
    );
    let after = store.entry_detail(id).await.unwrap().unwrap();
    assert_eq!(after.events.len(), before.events.len());
    assert!(
        store
            .user_by_email("ada\0@shop.example".into())
            .await
            .is_err_and(|e| matches!(e, StoreError::Unstorable))
    );
}

/// A column of another type than the code reads (a schema a newer
/// binary migrated, an operator's hand edit) fails the request with an
/// error; `Row::get` used to panic in the middle of it.
#[tokio::test]
async fn a_column_of_an_unexpected_type_is_an_error_not_a_panic() {
    let server = TempPostgres::start();
    let url = server.fresh_database();
    let store = earshot_collector::store::Store::connect(&url)
        .await
        .unwrap();
    crate::ingest::first_site(&store).await;
    let client = psql(&url).await;
    client
        .execute(
            "ALTER TABLE sites ALTER COLUMN response_promise TYPE bytea
                USING convert_to(response_promise, 'UTF8')",
            &[],
        )
        .await
        .unwrap();
    // A fresh pool: the first one's prepared statements predate the change.
    let db = Postgres::connect(&url).await.unwrap();
    match db.sites().await {
        // Said in full to whoever reads the log: which column, and why.
        Err(StoreError::Postgres(e)) => {
            let said = e.to_string();
            assert!(said.starts_with("error deserializing column"), "{said}");
            assert!(said.contains("bytea"), "{said}");
        }
        other => panic!("expected a Postgres error, got {other:?}"),
    }
    db.ping().await.unwrap();
}

#[tokio::test]
async fn a_malformed_database_url_is_named_as_such() {
    assert!(matches!(
        Postgres::connect("postgres://earshot@127.0.0.1:notaport/x").await,
        Err(StoreError::BadUrl)
    ));
}

#[tokio::test]
async fn a_first_connection_that_fails_says_why() {
    let why = async |url: String| match Postgres::connect(&url).await {
        Err(e @ StoreError::Connect(_)) => e.to_string(),
        Err(other) => panic!("{url}: expected a connection error, got {other:?}"),
        Ok(_) => panic!("{url}: connected"),
    };
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let refused = why(format!(
        "postgres://earshot@127.0.0.1:{port}/x?sslmode=disable"
    ))
    .await;
    assert!(
        refused.starts_with("could not connect to PostgreSQL") && refused.contains("refused"),
        "{refused}"
    );
    let server = TempPostgres::start();
    let missing = why(server.url("no_such_database")).await;
    assert!(missing.contains("does not exist"), "{missing}");
    assert!(missing.contains("3D000"), "{missing}");
    let stranger = server
        .url("postgres")
        .replace("earshot@", "stranger:hunter2@");
    let refused = why(stranger).await;
    assert!(refused.contains("user or password"), "{refused}");
    assert!(!refused.contains("hunter2"), "{refused}");
}

#[tokio::test]
async fn collectors_sending_from_one_outbox_each_take_different_emails() {
    use earshot_collector::store::{Dispatched, MailKind, NewMail, NewUser, Role};
    let server = TempPostgres::start();
    let url = server.fresh_database();
    let (a, b) = (
        Postgres::connect(&url).await.unwrap(),
        Postgres::connect(&url).await.unwrap(),
    );
    let user = NewUser {
        email: "ada@shop.example".into(),
        name: "Ada".into(),
        role: Role::Admin,
        password_hash: "x".into(),
    };
    let ada = a.add_user(user, 0).await.unwrap();
    let mail = |kind| NewMail {
        kind,
        user_id: Some(ada.id),
        entry_id: None,
        event_id: None,
        actor_id: None,
    };
    // Emails that do not fold: each goes on its own.
    let batch = Dispatched {
        mails: vec![mail(MailKind::FollowUp); 40],
        at: 1_000,
        ..Dispatched::default()
    };
    assert!(a.complete_dispatch(batch).await.unwrap());
    let mut taken = Vec::new();
    for _ in 0..4 {
        let (x, y) = tokio::join!(a.due_mail(2_000, 7), b.due_mail(2_000, 7));
        taken.extend(x.unwrap().into_iter().map(|j| j.id));
        taken.extend(y.unwrap().into_iter().map(|j| j.id));
    }
    let mut unique = taken.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), taken.len(), "no email claimed twice");
    assert_eq!(
        taken.len(),
        40,
        "four rounds of two claims of seven take all forty"
    );
    // A claim lapses: a collector that died mid-send leaves it to another.
    let lapsed = b.due_mail(2_000 + 5 * 60_000, 100).await.unwrap();
    assert_eq!(lapsed.len(), 40);

    // Emails that fold: a claim holds the colleague's others of the kind
    // for its folded email, and two collectors claiming at once neither
    // deadlock nor take the same one.
    for kind in [MailKind::NewEntry, MailKind::Assigned] {
        let batch = Dispatched {
            mails: vec![mail(kind); 40],
            at: 1_000_000,
            ..Dispatched::default()
        };
        assert!(a.complete_dispatch(batch).await.unwrap());
    }
    let at = 1_000_000 + 1;
    let mut taken = Vec::new();
    for _ in 0..4 {
        let (x, y) = tokio::join!(a.due_mail(at, 7), b.due_mail(at, 7));
        taken.extend(x.unwrap().into_iter().map(|j| (j.kind, j.id)));
        taken.extend(y.unwrap().into_iter().map(|j| (j.kind, j.id)));
    }
    let mut unique = taken.clone();
    unique.sort_unstable_by_key(|(_, id)| *id);
    unique.dedup();
    assert_eq!(unique.len(), taken.len(), "no email claimed twice");
    assert!(
        taken.len() < 80,
        "the rest wait for the folded emails: {}",
        taken.len()
    );
}

/// A search whose last word starts common words walks the inbox in its
/// order; one whose last word starts none of them reads its hits through
/// the text index and sorts them. Both must page, count and export exactly
/// as the database answers the same question directly.
#[tokio::test]
async fn searches_with_many_hits_and_with_few_page_and_count_alike() {
    use earshot_collector::clock::system_millis;
    use earshot_collector::review::filter::{Cursor, Filter, Search, View};
    use earshot_collector::store::{NewSite, Store};

    let server = TempPostgres::start();
    let url = server.fresh_database();
    let store = Store::connect(&url).await.unwrap();
    let now = system_millis();
    let shop = NewSite {
        name: "Shop".into(),
        origins: Vec::new(),
    };
    store.ensure_first_site(shop, now).await.unwrap();
    store.seed(7_000, now, |_| {}).await.unwrap();
    let client = psql(&url).await;
    // As on SQLite, every entry past new (and not spam) has its move.
    let unexplained: i64 = client
        .query_one(
            "SELECT count(*) FROM entries e WHERE status NOT IN ('new', 'spam')
               AND NOT EXISTS (SELECT 1 FROM events ev WHERE ev.entry_id = e.id
                 AND ev.kind = 'status' AND ev.new_value = e.status)",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(unexplained, 0);
    // Statistics as autovacuum would have them.
    client.batch_execute("ANALYZE").await.unwrap();
    let direct = |query: &'static str, after: Option<Cursor>| {
        let client = &client;
        async move {
            let rows = client
                .query(
                    "SELECT id FROM entries WHERE status <> 'spam'
                       AND search @@ to_tsquery('earshot', $1) AND id < $2
                     ORDER BY id DESC LIMIT 50",
                    &[&query, &after.map_or(i64::MAX, Cursor::id)],
                )
                .await
                .unwrap();
            let total: i64 = client
                .query_one(
                    "SELECT count(*) FROM entries WHERE status <> 'spam'
                       AND search @@ to_tsquery('earshot', $1)",
                    &[&query],
                )
                .await
                .unwrap()
                .get(0);
            (rows.iter().map(|r| r.get(0)).collect::<Vec<i64>>(), total)
        }
    };
    let mut totals = Vec::new();
    for (words, query) in [
        ("s", "'s':*"),
        ("verification sm", "'verification' & 'sm':*"),
        ("dark mode", "'dark' & 'mode':*"),
        ("zebra", "'zebra':*"),
    ] {
        let mut cursor = None;
        for page_number in 1..=2 {
            let filter = Filter {
                view: View::All,
                search: Search::parse(words),
                cursor,
                ..Filter::default()
            };
            let (page, count) = store.inbox_counted(filter, 50, 1_001, now).await.unwrap();
            let (want, total) = direct(query, cursor).await;
            let ids: Vec<i64> = page.rows.iter().map(|r| r.id).collect();
            assert_eq!(ids, want, "page {page_number} of {words:?}");
            assert_eq!(count, total.min(1_001), "count for {words:?}");
            if page_number == 1 {
                totals.push(total);
            }
            cursor = page.next;
        }
        // An export of the same search holds every hit, once, in order.
        let filter = Filter {
            view: View::All,
            search: Search::parse(words),
            ..Filter::default()
        };
        let query = store.export_query(filter, now).await.unwrap();
        let (mut exported, mut cursor) = (Vec::new(), None);
        loop {
            let chunk = store
                .export_chunk(query.clone(), cursor, 2_000)
                .await
                .unwrap();
            exported.extend(chunk.rows.iter().map(|r| r.id));
            match chunk.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        assert_eq!(
            i64::try_from(exported.len()).unwrap(),
            *totals.last().unwrap(),
            "export of {words:?}"
        );
        assert!(exported.windows(2).all(|w| w[0] > w[1]), "{words:?}");
    }
    // Both ways were taken: a prefix in most entries, and in none.
    assert!(totals[0] > 5_000, "{totals:?}");
    assert_eq!(totals[3], 0);
}

#[tokio::test]
async fn a_collector_keeps_no_more_connections_open_than_it_is_given() {
    use crate::ingest::{T0, entry, first_site};
    use earshot_collector::store::Store;

    let server = TempPostgres::start();
    let url = server.fresh_database();
    let store = Store::connect_with(&url, 2).await.unwrap();
    let shop = first_site(&store).await;
    let mut client = psql(&url).await;
    // Every submission waits on this lock, holding the connection it took.
    let holder = client.transaction().await.unwrap();
    holder
        .batch_execute("LOCK TABLE entries IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let submissions: Vec<_> = (0..5)
        .map(|i| {
            let (store, new) = (
                store.clone(),
                entry(
                    &shop,
                    T0,
                    serde_json::json!({"message": format!("Number {i}")}),
                ),
            );
            tokio::spawn(async move { store.insert_entry(new).await })
        })
        .collect();
    // Submissions arriving together share one connection (one batch), so
    // reads ask for the rest.
    let reads: Vec<_> = (0..5)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.waiting_summary(T0).await })
        })
        .collect();
    let waiting_on_the_lock = async {
        let observer = psql(&url).await;
        let mut seen = 0;
        for _ in 0..20 {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            seen = observer
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity
                     WHERE datname = current_database() AND wait_event_type = 'Lock'",
                    &[],
                )
                .await
                .unwrap()
                .get::<_, i64>(0);
        }
        seen
    };
    assert_eq!(
        waiting_on_the_lock.await,
        2,
        "two connections, the rest queue for one"
    );
    holder.rollback().await.unwrap();
    for submission in submissions {
        submission.await.unwrap().unwrap();
    }
    for read in reads {
        read.await.unwrap().unwrap();
    }
}
