//! Lists of names in one order on every backend. PostgreSQL sorts text by
//! its database's collation (these tests create each database with ICU's
//! `en-US`, as a production one often is), SQLite by bytes: so staff and
//! sites were listed apart ("Édith" before "Eve" on one, after "zed" on
//! the other, "Cy" before "ada" on SQLite alone). Every backend now lists
//! by the name in lower case, then as typed, in code-point order.

use earshot_collector::store::{NewUser, Role, Store};

use crate::ingest::{T0, new_site};
use crate::notify::standard_hook;
use crate::story;

const NAMES: [&str; 6] = ["Eve", "Édith", "ada", "Bo", "zed", "Cy"];
const LISTED: [&str; 6] = ["ada", "Bo", "Cy", "Eve", "zed", "Édith"];

async fn names_are_listed_in_one_order_whatever_the_databases_collation(db: &Store) {
    let mut hooks = Vec::new();
    for name in NAMES {
        let user = NewUser {
            email: format!("{}@shop.example", name.to_lowercase()),
            name: name.to_owned(),
            role: Role::Admin,
            password_hash: "x".into(),
        };
        let user = db.add_user(user, T0).await.unwrap();
        let site = db
            .add_site_by(new_site(name), Some(user.id), T0)
            .await
            .unwrap();
        hooks.push(
            db.add_webhook(standard_hook(site.id, "whsec_x"), Some(user.id), T0)
                .await
                .unwrap(),
        );
    }
    let site_names = async |offset: usize, limit: usize| -> Vec<String> {
        let page = db.site_page(None, offset, limit).await.unwrap();
        page.rows.into_iter().map(|r| r.name).collect()
    };
    assert_eq!(site_names(0, 10).await, LISTED);
    assert_eq!(site_names(3, 2).await, LISTED[3..5]);
    let users: Vec<String> = db
        .users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.name)
        .collect();
    assert_eq!(users, LISTED);
    let accounts: Vec<String> = db
        .accounts()
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.user.name)
        .collect();
    assert_eq!(accounts, LISTED);
    let webhooks: Vec<String> = db
        .webhooks()
        .await
        .unwrap()
        .into_iter()
        .map(|w| w.site_name)
        .collect();
    assert_eq!(webhooks, LISTED);
}
story!(names_are_listed_in_one_order_whatever_the_databases_collation);
