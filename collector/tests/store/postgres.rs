//! What only the PostgreSQL backend has to prove: several collectors
//! sharing one database, and a database that goes away.

use earshot_collector::store::StoreError;
use earshot_collector::store::postgres::Postgres;

use crate::postgres_server::TempPostgres;

#[tokio::test]
async fn collectors_starting_together_migrate_exactly_once() {
    let server = TempPostgres::start();
    let url = server.fresh_database();
    let starts = futures::future::join_all((0..6).map(|_| Postgres::connect_with(&url, 2))).await;
    for start in &starts {
        assert!(
            start.is_ok(),
            "{:?}\n{}",
            start.as_ref().err(),
            server.log()
        );
    }
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let versions: Vec<i64> = client
        .query(
            "SELECT version FROM schema_migrations ORDER BY version",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(versions, [1]);
    // Starting again finds the schema current.
    Postgres::connect(&url).await.unwrap().ping().await.unwrap();
}

#[tokio::test]
async fn a_database_from_a_newer_earshot_is_refused() {
    let server = TempPostgres::start();
    let url = server.fresh_database();
    Postgres::connect(&url).await.unwrap();
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
        .execute("INSERT INTO schema_migrations (version) VALUES (99)", &[])
        .await
        .unwrap();
    match Postgres::connect(&url).await {
        Err(StoreError::SchemaTooNew { found: 99, known }) => assert!(known < 99),
        other => panic!("expected SchemaTooNew, got {:?}", other.err()),
    }
}

#[tokio::test]
async fn a_database_that_goes_away_answers_unavailable() {
    let server = TempPostgres::start();
    let url = server.fresh_database();
    let db = Postgres::connect(&url).await.unwrap();
    db.ping().await.unwrap();
    drop(server);
    match db.ping().await {
        Err(StoreError::Unavailable) => {}
        other => panic!("expected Unavailable, got {other:?}"),
    }
    match Postgres::connect(&url).await {
        Err(StoreError::Unavailable) => {}
        other => panic!("expected Unavailable, got {:?}", other.err()),
    }
}

#[tokio::test]
async fn a_malformed_database_url_is_named_as_such() {
    assert!(matches!(
        Postgres::connect("postgres://earshot@127.0.0.1:notaport/x").await,
        Err(StoreError::BadUrl)
    ));
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
    let mail = NewMail {
        kind: MailKind::Assigned,
        user_id: Some(ada.id),
        entry_id: None,
        event_id: None,
        actor_id: None,
    };
    let batch = Dispatched {
        mails: vec![mail; 40],
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
}
