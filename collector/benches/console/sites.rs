//! The Sites pages with thousands of sites.

use std::path::PathBuf;
use std::time::Instant;

use earshot_collector::auth::{Password, password};
use earshot_collector::clock::system_millis;
use earshot_collector::config::Config;
use earshot_collector::server;
use earshot_collector::store::{NewUser, Role, Store};

use crate::env_or;
use crate::timing::{session_cookie, time_pages};

/// The Sites pages with `EARSHOT_BENCH_SITES` sites (default 10,000) and
/// as many entries spread over them, in a database of their own.
pub async fn sites(repeats: usize) {
    let count = env_or("EARSHOT_BENCH_SITES", 10_000);
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/console-bench");
    // Also when only this part runs, on a fresh target directory.
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join(format!("sites-{count}.db"));
    let store = Store::open(&db).unwrap();
    let have = store.sites().await.unwrap().len();
    if have < count {
        let started = Instant::now();
        // Concurrent adds share group commits.
        for chunk in (have..count).collect::<Vec<_>>().chunks(500) {
            let adds = chunk.iter().map(|i| {
                store.add_site(
                    earshot_collector::store::NewSite {
                        name: format!("Shop {i:05}"),
                        origins: vec![
                            earshot_collector::origin::OriginPattern::parse(&format!(
                                "https://shop{i}.example"
                            ))
                            .unwrap(),
                        ],
                    },
                    earshot_collector::clock::system_millis(),
                )
            });
            for added in futures_util::future::join_all(adds).await {
                added.unwrap();
            }
        }
        store.seed(count, system_millis(), |_| {}).await.unwrap();
        let path = store
            .path()
            .expect("the console bench runs on SQLite")
            .to_path_buf();
        store.shutdown().await;
        // Spread the entries over every site.
        rusqlite::Connection::open(path)
            .unwrap()
            .execute(
                "UPDATE entries SET site_id = 1 + (id % (SELECT count(*) FROM sites))",
                [],
            )
            .unwrap();
        eprintln!(
            "made {count} sites with {count} entries in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    } else {
        store.shutdown().await;
    }
    let running = server::start(&Config::new("127.0.0.1:0".parse().unwrap(), db))
        .await
        .unwrap();
    let user = running
        .store
        .add_user(
            NewUser {
                email: format!("bench{}@example.com", system_millis()),
                name: "Bench".into(),
                role: Role::Admin,
                password_hash: password::hash(&Password::generate()).unwrap(),
            },
            earshot_collector::clock::system_millis(),
        )
        .await
        .unwrap();
    let cookie = session_cookie(&running.store, user.id).await;
    let cases: Vec<(&str, String)> = vec![
        ("sites: first page", "/console/sites".into()),
        ("sites: page 150", "/console/sites?page=150".into()),
        ("sites: search by name", "/console/sites?q=shop+0999".into()),
        ("sites: search, no hits", "/console/sites?q=zebra".into()),
        ("sites: one site", "/console/sites/5000".into()),
        // The filter takes a typed name, not a list of every site.
        ("inbox at every site", "/console?view=all".into()),
        (
            "inbox: one site by name",
            "/console?view=all&site=Shop+05000".into(),
        ),
        ("reports at every site", "/console/reports".into()),
    ];
    println!();
    println!("sites pages at {count} sites, {repeats} requests each (ms)");
    time_pages(
        &reqwest::Client::new(),
        &running.public_url,
        &cookie,
        None,
        &cases,
        repeats,
    )
    .await;
    running.stop().await.unwrap();
}
