//! Lists of names in one order on every backend, and the one a reader
//! expects. PostgreSQL sorts text by its database's collation (these tests
//! create each database with ICU's `en-US`, as a production one often is),
//! SQLite by bytes: so staff and sites were listed apart ("Édith" before
//! "Eve" on one, after "zed" on the other, "Cy" before "ada" on SQLite
//! alone). Then both listed by code points ("Ärzte" after "zoo"). Every
//! backend now lists by a key of the name without accents or case, which
//! the collector writes beside it, then by id.

use earshot_collector::store::{NewUser, Role, SiteChange, Store};

use crate::fixture::{SqliteFixture, psql, rewind_postgres, rewind_sqlite};
use crate::ingest::{T0, new_site};
use crate::notify::standard_hook;
use crate::postgres_server::TempPostgres;
use crate::story;

const NAMES: [&str; 7] = ["Eve", "Édith", "ada", "Bo", "zoo", "Cy", "Ärzte"];
const LISTED: [&str; 7] = ["ada", "Ärzte", "Bo", "Cy", "Édith", "Eve", "zoo"];

/// Each name as a staff account and as a site with a webhook.
async fn name_everything(db: &Store, names: &[&str]) {
    for (i, name) in names.iter().enumerate() {
        let user = NewUser {
            email: format!("staff{i}@shop.example"),
            name: (*name).to_owned(),
            role: Role::Admin,
            password_hash: "x".into(),
        };
        let user = db.add_user(user, T0).await.unwrap();
        let site = db
            .add_site_by(new_site(name), Some(user.id), T0)
            .await
            .unwrap();
        db.add_webhook(standard_hook(site.id, "whsec_x"), Some(user.id), T0)
            .await
            .unwrap();
    }
}

async fn site_names(db: &Store, search: Option<&str>, offset: usize, limit: usize) -> Vec<String> {
    let page = db
        .site_page(search.map(str::to_owned), offset, limit)
        .await
        .unwrap();
    page.rows.into_iter().map(|r| r.name).collect()
}

/// Every list of names, each as it is listed; they must agree.
async fn every_list(db: &Store) -> Vec<String> {
    let sites = site_names(db, None, 0, 50).await;
    let users: Vec<String> = db
        .users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.name)
        .collect();
    let accounts: Vec<String> = db
        .accounts()
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.user.name)
        .collect();
    let webhooks: Vec<String> = db
        .webhooks()
        .await
        .unwrap()
        .into_iter()
        .map(|w| w.site_name)
        .collect();
    assert_eq!(users, sites, "staff are listed as sites are");
    assert_eq!(accounts, sites, "accounts are listed as sites are");
    assert_eq!(webhooks, sites, "webhooks are listed by their site");
    sites
}

async fn names_are_listed_as_a_reader_alphabetises_them_whatever_the_databases_collation(
    db: &Store,
) {
    name_everything(db, &NAMES).await;
    assert_eq!(every_list(db).await, LISTED);
    assert_eq!(site_names(db, None, 3, 2).await, LISTED[3..5]);
}
story!(names_are_listed_as_a_reader_alphabetises_them_whatever_the_databases_collation);

async fn a_renamed_site_or_colleague_moves_to_their_new_place(db: &Store) {
    name_everything(db, &["Bo", "Cy", "zoo"]).await;
    let zoo = db
        .sites()
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.name == "zoo");
    let change = SiteChange {
        name: Some("Äpfel".into()),
        ..SiteChange::default()
    };
    assert!(
        db.update_site(zoo.unwrap().id, change, None, T0 + 1)
            .await
            .unwrap()
    );
    let staff = db.users().await.unwrap();
    let zoo = staff.iter().find(|u| u.name == "zoo").unwrap();
    db.rename_user(zoo.id, "Äpfel".into(), None, T0 + 1)
        .await
        .unwrap();
    assert_eq!(every_list(db).await, ["Äpfel", "Bo", "Cy"]);
}
story!(a_renamed_site_or_colleague_moves_to_their_new_place);

async fn sites_are_found_by_their_name_in_any_case_with_or_without_its_accents(db: &Store) {
    name_everything(db, &["Ärzte-Praxis", "Straße 9", "Apotheke"]).await;
    for (search, found) in [
        ("arzte", vec!["Ärzte-Praxis"]),
        ("ÄRZ", vec!["Ärzte-Praxis"]),
        ("strasse", vec!["Straße 9"]),
        ("STRAẞE", vec!["Straße 9"]),
        ("a", vec!["Apotheke", "Ärzte-Praxis", "Straße 9"]),
        ("%", vec![]),
    ] {
        assert_eq!(
            site_names(db, Some(search), 0, 10).await,
            found,
            "{search:?}"
        );
    }
    let key = db.sites().await.unwrap()[0].key.clone();
    assert_eq!(
        site_names(db, Some(&key.to_uppercase()), 0, 10).await,
        ["Ärzte-Praxis"],
        "a site is found by its key too"
    );
}
story!(sites_are_found_by_their_name_in_any_case_with_or_without_its_accents);

#[tokio::test]
async fn names_an_upgrade_or_another_tool_wrote_without_their_key_are_keyed_on_open_on_sqlite() {
    let db = SqliteFixture::new();
    name_everything(&db.store, &NAMES).await;
    db.store.shutdown().await;
    let path = db.path();
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "UPDATE sites SET name_key = ''; UPDATE users SET name_key = '';
             UPDATE sites SET name = 'Øre' WHERE name = 'zoo';
             UPDATE users SET name = 'Øre' WHERE name = 'zoo';",
        )
        .unwrap();
    }
    // Also when the version that made the keys runs again.
    rewind_sqlite(&path, 29);
    let reopened = earshot_collector::store::Store::open(&path).unwrap();
    assert_eq!(
        every_list(&reopened).await,
        ["ada", "Ärzte", "Bo", "Cy", "Édith", "Eve", "Øre"]
    );
    reopened.shutdown().await;
}

#[tokio::test]
async fn names_an_upgrade_or_another_tool_wrote_without_their_key_are_keyed_on_start_on_postgres() {
    let server = TempPostgres::shared();
    let url = server.fresh_database();
    let db = Store::connect(&url).await.unwrap();
    name_everything(&db, &NAMES).await;
    db.shutdown().await;
    drop(db);
    psql(&url)
        .await
        .batch_execute(
            "UPDATE sites SET name_key = ''; UPDATE users SET name_key = '';
             UPDATE sites SET name = 'Øre' WHERE name = 'zoo';
             UPDATE users SET name = 'Øre' WHERE name = 'zoo';",
        )
        .await
        .unwrap();
    rewind_postgres(&url, 17).await;
    let started = Store::connect(&url).await.unwrap();
    assert_eq!(
        every_list(&started).await,
        ["ada", "Ärzte", "Bo", "Cy", "Édith", "Eve", "Øre"]
    );
    started.shutdown().await;
}
