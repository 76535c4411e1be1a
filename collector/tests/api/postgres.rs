//! Several collectors on one PostgreSQL, as behind a load balancer: real
//! `earshot` processes sharing a throwaway PostgreSQL server.

use std::ffi::OsStr;
use std::time::Duration;

use earshot_collector::store::Store;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::Binary;
use crate::postgres_server::TempPostgres;
use crate::staff::{Console, PASSWORD, add_staff};

fn on_postgres(url: &str) -> Binary {
    Binary::serve(&[OsStr::new("--database-url"), OsStr::new(url)], &[])
}

/// Sends submission `n` through `collector`; returns the answer's status
/// and the entry's reference.
async fn submit(client: &reqwest::Client, collector: &Binary, n: usize) -> (StatusCode, String) {
    let body = json!({
        "site": collector.site_key,
        "kind": "complaint",
        "message": format!("shared submission {n}"),
        "idempotency_key": format!("shared-key-{n:010}"),
    });
    let response = client
        .post(format!("{}/api/v1/feedback", collector.url))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let answer: Value = response.json().await.unwrap();
    (status, answer["reference"].as_str().unwrap().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_collectors_on_one_postgres_serve_as_one() {
    let pg = TempPostgres::start();
    let url = pg.fresh_database();
    // Both start at once: the schema is made once, and one first site.
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| on_postgres(&url));
        let b = s.spawn(|| on_postgres(&url));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_eq!(a.site_key, b.site_key, "one first site for both");
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let versions: Vec<i64> = client
        .query("SELECT version FROM schema_migrations", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(versions, [1]);
    let store = Store::connect(&url).await.unwrap();
    add_staff(&store).await;

    // Submissions through both; a retry through the other collector is
    // answered with the same entry.
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut references = Vec::new();
    for n in 0..12 {
        let collector = if n % 2 == 0 { &a } else { &b };
        let (status, reference) = submit(&http, collector, n).await;
        assert_eq!(status, StatusCode::CREATED, "submission {n}");
        references.push(reference);
    }
    let (status, again) = submit(&http, &b, 0).await;
    assert_eq!(status, StatusCode::OK, "a retry is answered as a replay");
    assert_eq!(again, references[0], "a retry elsewhere is the same entry");

    // A session opened on one collector works on the other, CSRF included.
    let mut console = Console::at(&a.url);
    let signed = console.login("ada@example.com", PASSWORD).await;
    assert_eq!(signed.status(), StatusCode::SEE_OTHER);
    for collector in [&a, &b] {
        console.base = collector.url.clone();
        let inbox = console.html("/console?view=all").await;
        for reference in &references {
            assert!(
                inbox.contains(reference.as_str()),
                "{reference} on {}",
                collector.url
            );
        }
    }
    let token = {
        console.base = a.url.clone();
        console.csrf().await
    };
    console.base = b.url.clone();
    let id = store
        .entry_by_reference(references[0].clone())
        .await
        .unwrap()
        .expect("the first entry");
    let noted = console
        .post(
            &format!("/console/entries/{id}/note"),
            &[
                ("_csrf", token.as_str()),
                ("body", "Checked on the other collector"),
            ],
        )
        .await;
    assert_eq!(noted.status(), StatusCode::SEE_OTHER);
    console.base = a.url.clone();
    let page = console.html(&format!("/console/entries/{id}")).await;
    assert!(page.contains("Checked on the other collector"));
    store.shutdown().await;
}
