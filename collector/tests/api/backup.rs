//! `earshot backup` under live ingest and `earshot restore`, through the
//! real binary against a real server's database.

use std::path::Path;
use std::time::Duration;

use earshot_collector::server;
use serde_json::json;

use crate::helpers::{earshot_beside as earshot, test_config};

async fn submit(client: &reqwest::Client, url: &str, site: &str, message: &str) -> Option<String> {
    let response = client
        .post(format!("{url}/api/v1/feedback"))
        .json(&json!({"site": site, "kind": "idea", "message": message}))
        .send()
        .await
        .ok()?;
    if response.status().as_u16() != 201 {
        return None;
    }
    let body: serde_json::Value = response.json().await.ok()?;
    body["id"].as_str().map(str::to_owned)
}

fn ids_in(db: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn.prepare("SELECT public_id FROM entries").unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn arg(path: &Path) -> String {
    path.display().to_string()
}

#[tokio::test]
async fn a_backup_under_ingest_holds_every_entry_acknowledged_before_it_began() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("earshot.db");
    let running = server::start(&test_config(&db)).await.unwrap();
    let site = running.created_site.clone().unwrap().key;
    let url = running.public_url.clone();
    let client = reqwest::Client::new();
    let mut acknowledged = Vec::new();
    for i in 0..300 {
        acknowledged.push(
            submit(&client, &url, &site, &format!("before {i}"))
                .await
                .unwrap(),
        );
    }
    // Feedback keeps arriving while the backup runs.
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    let during = tokio::spawn({
        let (client, url, site) = (client.clone(), url.clone(), site.clone());
        async move {
            let mut stored = 0;
            loop {
                if stopped.try_recv().is_ok() {
                    return stored;
                }
                if submit(&client, &url, &site, "during").await.is_some() {
                    stored += 1;
                }
            }
        }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let copy = dir.path().join("copy.db");
    let (ok, stdout, stderr) = earshot(vec!["backup".into(), "--to".into(), arg(&copy)], &db).await;
    stop.send(()).unwrap();
    let during = during.await.unwrap();
    assert!(ok, "{stderr}");
    assert!(stdout.contains("integrity check ok"), "{stdout}");
    assert!(during > 0, "ingest went on during the backup");
    // The server made the database and the backup copies it: every
    // customer's words, for the owner's eyes alone (SQLite gives the
    // write-ahead log and shared memory the database's permissions).
    #[cfg(unix)]
    for file in [
        copy.clone(),
        db.clone(),
        db.with_extension("db-wal"),
        db.with_extension("db-shm"),
    ] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", file.display());
    }
    let saved = ids_in(&copy);
    for id in &acknowledged {
        assert!(
            saved.contains(id),
            "{id} was acknowledged before the backup"
        );
    }
    let check: String = rusqlite::Connection::open(&copy)
        .unwrap()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    assert!(!dir.path().join("copy.db.partial").exists());

    // Never over an existing file.
    let (ok, _, stderr) = earshot(vec!["backup".into(), "--to".into(), arg(&copy)], &db).await;
    assert!(!ok);
    assert!(stderr.contains("already exists"), "{stderr}");
    running.stop().await.unwrap();
}

#[tokio::test]
async fn restore_waits_for_the_server_to_stop_then_brings_the_backup_back() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("earshot.db");
    let running = server::start(&test_config(&db)).await.unwrap();
    let site = running.created_site.clone().unwrap().key;
    let url = running.public_url.clone();
    let client = reqwest::Client::new();
    let kept = submit(&client, &url, &site, "in the backup").await.unwrap();
    let copy = dir.path().join("copy.db");
    let (ok, stdout, stderr) = earshot(vec!["backup".into(), "--to".into(), arg(&copy)], &db).await;
    assert!(ok, "{stderr}");
    assert!(stdout.starts_with("Backed up 1 entry ("), "{stdout}");
    let later = submit(&client, &url, &site, "after the backup")
        .await
        .unwrap();

    let restore = || earshot(vec!["restore".into(), "--from".into(), arg(&copy)], &db);
    let (ok, _, stderr) = restore().await;
    assert!(!ok, "a served database is never swapped");
    assert!(stderr.contains("running earshot server"), "{stderr}");
    // A second server on the same file is refused too.
    assert!(server::start(&test_config(&db)).await.is_err());
    running.stop().await.unwrap();

    // A damaged copy is refused before anything is touched.
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, vec![7u8; 8192]).unwrap();
    let (ok, _, stderr) = earshot(vec!["restore".into(), "--from".into(), arg(&junk)], &db).await;
    assert!(!ok);
    assert!(stderr.contains("integrity check"), "{stderr}");
    assert!(ids_in(&db).contains(&later), "untouched");

    let (ok, stdout, stderr) = restore().await;
    assert!(ok, "{stderr}");
    assert!(stdout.contains("kept as"), "{stdout}");
    assert!(stdout.starts_with("Restored 1 entry from "), "{stdout}");
    let replaced = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .find(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with("earshot.db.replaced-")
                && !name.contains("-wal")
                && !name.contains("-shm")
        })
        .expect("the replaced database is kept");
    assert!(ids_in(&replaced.path()).contains(&later));

    let running = server::start(&test_config(&db)).await.unwrap();
    let ids = ids_in(&db);
    assert!(ids.contains(&kept));
    assert!(!ids.contains(&later), "the database is the backup's");
    assert!(
        submit(&client, &running.public_url, &site, "after the restore")
            .await
            .is_some()
    );
    running.stop().await.unwrap();
}

#[tokio::test]
async fn scheduled_backups_are_checked_copies_and_only_the_newest_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("earshot.db");
    let backups = dir.path().join("backups");
    let mut config = test_config(&db);
    config.backups = Some(earshot_collector::config::BackupSchedule {
        dir: backups.clone(),
        every: Duration::from_millis(300),
        keep: 2,
    });
    let running = server::start(&config).await.unwrap();
    let site = running.created_site.clone().unwrap().key;
    let id = submit(
        &reqwest::Client::new(),
        &running.public_url,
        &site,
        "kept safe",
    )
    .await
    .unwrap();
    // Finished copies only, not one still being written (`.partial`).
    let listed = || -> Vec<std::path::PathBuf> {
        std::fs::read_dir(&backups)
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "db"))
                    .collect()
            })
            .unwrap_or_default()
    };
    // Wait for several rounds (the first, taken at start with no backup
    // in the folder yet, is older than the submission): at least four
    // written, the newest two kept.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut seen = std::collections::BTreeSet::new();
    while seen.len() < 4 {
        assert!(std::time::Instant::now() < deadline, "backups keep coming");
        seen.extend(listed());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    running.stop().await.unwrap();
    let kept = listed();
    assert_eq!(kept.len(), 2, "{kept:?}");
    for copy in &kept {
        assert!(ids_in(copy).contains(&id));
        let check: String = rusqlite::Connection::open(copy)
            .unwrap()
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
    }
}

#[tokio::test]
async fn scheduled_backups_follow_the_newest_in_the_folder_and_an_unwritable_folder_stops_the_start()
 {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("earshot.db");
    let backups = dir.path().join("backups");
    std::fs::create_dir(&backups).unwrap();
    // The last backup before a restart, two hours old, with hourly backups.
    let old = backups.join("earshot-20260101T000000Z.db");
    std::fs::write(&old, b"").unwrap();
    let two_hours_ago = std::time::SystemTime::now() - Duration::from_secs(7_200);
    std::fs::File::options()
        .write(true)
        .open(&old)
        .unwrap()
        .set_modified(two_hours_ago)
        .unwrap();
    let mut config = test_config(&db);
    config.backups = Some(earshot_collector::config::BackupSchedule {
        dir: backups.clone(),
        every: Duration::from_secs(3_600),
        keep: 5,
    });
    config.metrics = Some(earshot_collector::config::MetricsListener {
        addr: "127.0.0.1:0".parse().unwrap(),
        token: None,
    });
    let count = || std::fs::read_dir(&backups).unwrap().count();
    let scrape = |running: &server::Running| {
        let addr = running.metrics_addr.unwrap();
        async move {
            reqwest::get(format!("http://{addr}/metrics"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let last_success = |text: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix("earshot_backup_last_success_timestamp_seconds "))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };

    // Overdue: taken at once, not an hour after the start.
    let running = server::start(&config).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while count() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "an overdue backup is taken at start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let text = scrape(&running).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(now - last_success(&text) < 60, "{text}");
    assert!(
        text.contains("earshot_backups_total{result=\"written\"} 1"),
        "{text}"
    );
    running.stop().await.unwrap();

    // Restarted with a fresh backup in the folder: none due for an hour,
    // and the metric still says when the last one was written.
    let running = server::start(&config).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(count(), 2);
    let text = scrape(&running).await;
    assert!(now - last_success(&text) < 60, "{text}");
    running.stop().await.unwrap();

    // A folder that cannot be written stops the start, with its name.
    let file = dir.path().join("not-a-folder");
    std::fs::write(&file, b"").unwrap();
    config.backups = Some(earshot_collector::config::BackupSchedule {
        dir: file.join("backups"),
        every: Duration::from_secs(3_600),
        keep: 5,
    });
    let refused = server::start(&config).await.err().unwrap().to_string();
    assert!(
        refused.starts_with("--backup-dir") && refused.contains("not-a-folder"),
        "{refused}"
    );
}

#[tokio::test]
async fn vacuum_converts_an_older_database_only_once_no_server_serves_it() {
    let dir = tempfile::tempdir().unwrap();
    let auto_vacuum = |db: &Path| -> i64 {
        rusqlite::Connection::open(db)
            .unwrap()
            .query_row("PRAGMA auto_vacuum", [], |r| r.get(0))
            .unwrap()
    };
    let fresh = dir.path().join("fresh.db");
    server::start(&test_config(&fresh))
        .await
        .unwrap()
        .stop()
        .await
        .unwrap();
    assert_eq!(auto_vacuum(&fresh), 2, "new databases are incremental");

    // As a database made by an earlier version: no auto-vacuum.
    let db = dir.path().join("earshot.db");
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch("PRAGMA journal_mode = WAL;")
        .unwrap();
    let running = server::start(&test_config(&db)).await.unwrap();
    assert_eq!(auto_vacuum(&db), 0);
    let site = running.created_site.clone().unwrap().key;
    let client = reqwest::Client::new();
    let id = submit(&client, &running.public_url, &site, "kept through it")
        .await
        .unwrap();
    let (ok, _, stderr) = earshot(vec!["vacuum".into()], &db).await;
    assert!(!ok);
    assert!(stderr.contains("running earshot server"), "{stderr}");
    running.stop().await.unwrap();

    let (ok, stdout, stderr) = earshot(vec!["vacuum".into()], &db).await;
    assert!(ok, "{stderr}");
    assert!(stdout.contains("Compacted"), "{stdout}");
    assert_eq!(auto_vacuum(&db), 2);
    assert_eq!(ids_in(&db), vec![id]);
}
