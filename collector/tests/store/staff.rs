//! Staff accounts, sessions and the sign-in throttle's memory.

use earshot_collector::auth::Attempt;
use earshot_collector::store::{NewUser, Role, StoreError};

use crate::ingest::T0;
use crate::story;
use earshot_collector::store::Store;

fn new_user(email: &str, name: &str, role: Role) -> NewUser {
    NewUser {
        email: email.to_owned(),
        name: name.to_owned(),
        role,
        password_hash: format!("$argon2id$v=19$hash-of-{name}"),
    }
}

async fn the_first_admin_is_made_once_and_emails_are_unique_in_any_case(db: &Store) {
    assert_eq!(db.user_count().await.unwrap(), 0);
    let (a, b) = tokio::join!(
        db.add_first_admin(new_user("ada@shop.example", "Ada", Role::Agent), T0),
        db.add_first_admin(new_user("bob@shop.example", "Bob", Role::Agent), T0)
    );
    let made: Vec<_> = [a.unwrap(), b.unwrap()].into_iter().flatten().collect();
    assert_eq!(made.len(), 1, "exactly one setup wins");
    assert_eq!(made[0].role, Role::Admin);
    let later = db
        .add_first_admin(new_user("eve@shop.example", "Eve", Role::Admin), T0)
        .await
        .unwrap();
    assert!(later.is_none());
    let cy = db
        .add_user(new_user("Cy@Shop.Example", "Cy", Role::Agent), T0)
        .await
        .unwrap();
    assert!(matches!(
        db.add_user(new_user("cy@shop.example", "Cy again", Role::Admin), T0)
            .await,
        Err(StoreError::Duplicate("email"))
    ));
    assert_eq!(db.user_count().await.unwrap(), 2);
    // Both recorded: the setup by the new administrator, the account added
    // from the command line by no one; the refused ones not at all.
    let log: Vec<(String, String, Option<String>)> = db
        .audit_log(None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.action, e.subject, e.actor))
        .collect();
    assert_eq!(
        log,
        [
            ("staff.added".into(), "Cy@Shop.Example".into(), None),
            (
                "staff.setup".into(),
                made[0].email.clone(),
                Some(made[0].name.clone())
            ),
        ]
    );
    let names: Vec<String> = db
        .users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.name)
        .collect();
    assert_eq!(names.len(), 2);
    assert!(names.contains(&"Cy".to_owned()));
    // Signing in finds the account whatever the case and spaces typed.
    let (found, hash) = db
        .user_for_login("  CY@shop.example ".to_owned())
        .await
        .unwrap()
        .expect("found by email in any case");
    assert_eq!(found, cy);
    assert_eq!(hash, "$argon2id$v=19$hash-of-Cy");
    assert!(
        db.user_for_login("nobody@shop.example".into())
            .await
            .unwrap()
            .is_none()
    );
}
story!(the_first_admin_is_made_once_and_emails_are_unique_in_any_case);

async fn an_address_matches_its_account_in_any_case_of_letters_beyond_a_to_z(db: &Store) {
    // SQLite's NOCASE folds only A to Z: "änne@…" once missed "Änne@…" there
    // while PostgreSQL found it, and the two could be separate accounts.
    let anne = db
        .add_user(new_user("Änne@Bäckerei.example", "Änne", Role::Admin), T0)
        .await
        .unwrap();
    assert!(matches!(
        db.add_user(new_user("änne@bäckerei.example", "Other", Role::Agent), T0)
            .await,
        Err(StoreError::Duplicate("email"))
    ));
    let (found, _) = db
        .user_for_login(" ÄNNE@BÄCKEREI.EXAMPLE ".to_owned())
        .await
        .unwrap()
        .expect("found in any case");
    assert_eq!(found, anne);
    assert_eq!(
        db.user_by_email("änne@bäckerei.example".to_owned())
            .await
            .unwrap(),
        Some(anne.clone())
    );
    assert!(
        db.set_password(
            "ÄNNE@bäckerei.EXAMPLE".to_owned(),
            "new".to_owned(),
            None,
            T0
        )
        .await
        .unwrap()
    );
    let (_, hash) = db
        .user_for_login("Änne@Bäckerei.example".to_owned())
        .await
        .unwrap()
        .expect("still there");
    assert_eq!(hash, "new");
    assert!(
        db.user_for_login("anne@backerei.example".to_owned())
            .await
            .unwrap()
            .is_none(),
        "folding case is not dropping accents"
    );
    assert_eq!(db.user_count().await.unwrap(), 1);
}
story!(an_address_matches_its_account_in_any_case_of_letters_beyond_a_to_z);

/// Chromium's email fields send `jan@müller.example` as
/// `jan@xn--mller-kva.example`; Firefox and Safari, and the command line,
/// as typed. An account made one way could not sign in, reset its password
/// or be named to the command line the other way, and a second account
/// could be made for the same mailbox.
async fn an_account_is_found_by_its_international_domain_written_either_way(db: &Store) {
    let jan = db
        .add_user(new_user("Jan@Müller.example", "Jan", Role::Admin), T0)
        .await
        .unwrap();
    let li = db
        .add_user(new_user("li@xn--bcher-kva.example", "Li", Role::Agent), T0)
        .await
        .unwrap();
    for (typed, account) in [
        ("jan@xn--mller-kva.example", &jan),
        ("JAN@XN--MLLER-KVA.EXAMPLE ", &jan),
        ("jan@müller.example", &jan),
        ("Li@Bücher.example", &li),
    ] {
        let (found, _) = db
            .user_for_login(typed.to_owned())
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{typed} signs in"));
        assert_eq!(&found, account, "{typed}");
        let found = db.user_by_email(typed.to_owned()).await.unwrap();
        assert_eq!(found.as_ref(), Some(account), "{typed}");
    }
    for taken in ["jan@xn--mller-kva.example", "LI@BÜCHER.example"] {
        assert!(
            matches!(
                db.add_user(new_user(taken, "Again", Role::Agent), T0).await,
                Err(StoreError::Duplicate("email"))
            ),
            "{taken}"
        );
    }
    assert!(
        db.set_password(
            "jan@xn--mller-kva.example".to_owned(),
            "new".to_owned(),
            None,
            T0
        )
        .await
        .unwrap()
    );
    let (_, hash) = db
        .user_for_login("Jan@Müller.example".to_owned())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(hash, "new");
    assert!(
        db.user_for_login("jan@muller.example".to_owned())
            .await
            .unwrap()
            .is_none(),
        "müller is not muller"
    );
    assert_eq!(db.user_count().await.unwrap(), 2);
}
story!(an_account_is_found_by_its_international_domain_written_either_way);

/// A database from before this rule may hold an account for each way of
/// writing a domain (PostgreSQL's unique index is on `lower(email)`
/// alone): both stay usable, the one typed exactly first, else the older.
async fn assert_both_sign_in(db: &Store, older: &earshot_collector::store::User) {
    let name = async |typed: &str| {
        let (user, _) = db.user_for_login(typed.to_owned()).await.unwrap().unwrap();
        user.name
    };
    assert_eq!(
        name("jan@xn--mller-kva.example").await,
        "Newer",
        "typed exactly"
    );
    assert_eq!(name("jan@müller.example").await, "Older", "typed exactly");
    assert_eq!(name("JAN@MÜLLER.example").await, "Older", "else the older");
    assert_eq!(
        db.user_by_email("Jan@XN--MLLER-KVA.example".to_owned())
            .await
            .unwrap()
            .as_ref(),
        Some(older)
    );
    assert!(
        db.set_password("jan@xn--mller-kva.example".into(), "new".into(), None, T0)
            .await
            .unwrap()
    );
    let (_, hash) = db
        .user_for_login("jan@müller.example".to_owned())
        .await
        .unwrap()
        .unwrap();
    assert_ne!(hash, "new", "only the account named exactly changed");
}

const NEWER_JAN: &str = "INSERT INTO users (email, name, role, password_hash, created_at)
     VALUES ('jan@xn--mller-kva.example', 'Newer', 'agent', 'h', 0)";

#[tokio::test]
async fn two_accounts_for_a_domain_written_both_ways_both_sign_in_on_sqlite() {
    let db = crate::fixture::SqliteFixture::new();
    let older = db
        .store
        .add_user(new_user("jan@müller.example", "Older", Role::Agent), T0)
        .await
        .unwrap();
    rusqlite::Connection::open(db.path())
        .unwrap()
        .execute(NEWER_JAN, [])
        .unwrap();
    assert_both_sign_in(&db.store, &older).await;
    db.store.shutdown().await;
}

#[tokio::test]
async fn two_accounts_for_a_domain_written_both_ways_both_sign_in_on_postgres() {
    let url = crate::postgres_server::TempPostgres::shared().fresh_database();
    let db = Store::connect(&url).await.unwrap();
    let older = db
        .add_user(new_user("jan@müller.example", "Older", Role::Agent), T0)
        .await
        .unwrap();
    crate::fixture::psql(&url)
        .await
        .execute(NEWER_JAN, &[])
        .await
        .unwrap();
    assert_both_sign_in(&db, &older).await;
    db.shutdown().await;
}

/// Only SQLite could ever hold two such accounts (PostgreSQL's unique index
/// is on `lower(email)`): a file from before the rule keeps both usable.
#[tokio::test]
async fn two_accounts_an_older_sqlite_file_tells_apart_by_such_a_letter_both_sign_in() {
    let db = crate::fixture::SqliteFixture::new();
    let older = db
        .store
        .add_user(new_user("Änne@shop.example", "Older", Role::Agent), T0)
        .await
        .unwrap();
    rusqlite::Connection::open(db.path())
        .unwrap()
        .execute(
            "INSERT INTO users (email, name, role, password_hash, created_at)
             VALUES ('änne@shop.example', 'Newer', 'agent', 'h', 0)",
            [],
        )
        .unwrap();
    let name = async |typed: &str| {
        let (user, _) = db
            .store
            .user_for_login(typed.to_owned())
            .await
            .unwrap()
            .unwrap();
        user.name
    };
    assert_eq!(name("änne@shop.example").await, "Newer", "typed exactly");
    assert_eq!(name("Änne@shop.example").await, "Older", "typed exactly");
    assert_eq!(name("ÄNNE@SHOP.EXAMPLE").await, "Older", "else the older");
    assert_eq!(
        db.store
            .user_by_email("ÄNNE@shop.example".to_owned())
            .await
            .unwrap(),
        Some(older)
    );
    db.store.shutdown().await;
}

async fn a_session_lives_until_signed_out_expired_or_the_password_changes(db: &Store) {
    let ada = db
        .add_user(new_user("ada@shop.example", "Ada", Role::Admin), T0)
        .await
        .unwrap();
    let last_sign_ins = |db_accounts: Vec<earshot_collector::store::Account>| {
        db_accounts
            .into_iter()
            .map(|a| a.last_sign_in_at)
            .collect::<Vec<_>>()
    };
    assert_eq!(last_sign_ins(db.accounts().await.unwrap()), [None]);
    let first = vec![1u8; 32];
    db.create_session(first.clone(), ada.id, "csrf-1".into(), T0, None)
        .await
        .unwrap();
    assert_eq!(
        last_sign_ins(db.accounts().await.unwrap()),
        [Some(T0)],
        "a session began"
    );
    let session = db.session(first.clone()).await.unwrap().expect("session");
    assert_eq!(session.user, ada);
    assert_eq!(
        (
            session.csrf_token.as_str(),
            session.created_at,
            session.last_seen
        ),
        ("csrf-1", T0, T0)
    );
    db.touch_session(first.clone(), T0 + 5).await.unwrap();
    assert_eq!(
        db.session(first.clone()).await.unwrap().unwrap().last_seen,
        T0 + 5
    );
    // Signing in again replaces the browser's old session.
    let second = vec![2u8; 32];
    db.create_session(
        second.clone(),
        ada.id,
        "csrf-2".into(),
        T0 + 10,
        Some(first.clone()),
    )
    .await
    .unwrap();
    assert_eq!(last_sign_ins(db.accounts().await.unwrap()), [Some(T0 + 10)]);
    assert!(db.session(first).await.unwrap().is_none());
    assert!(db.session(second.clone()).await.unwrap().is_some());
    db.delete_session(second.clone()).await.unwrap();
    assert!(db.session(second).await.unwrap().is_none());
    // Expiry: idle too long, or simply too old.
    for (id, created, seen) in [
        (3u8, T0, T0 + 100),
        (4, T0 + 50, T0 + 60),
        (5, T0 + 50, T0 + 100),
    ] {
        db.create_session(vec![id; 32], ada.id, "c".into(), created, None)
            .await
            .unwrap();
        db.touch_session(vec![id; 32], seen).await.unwrap();
    }
    let removed = db.delete_expired_sessions(T0 + 80, T0 + 10).await.unwrap();
    assert_eq!(removed, 2);
    assert!(db.session(vec![5; 32]).await.unwrap().is_some());
    // A new password ends every session.
    assert!(
        db.set_password("ADA@shop.example".into(), "new-hash".into(), None, T0 + 90)
            .await
            .unwrap()
    );
    assert!(db.session(vec![5; 32]).await.unwrap().is_none());
    let (_, hash) = db
        .user_for_login("ada@shop.example".into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(hash, "new-hash");
    // The audit log has it, under the address as stored.
    let audit = db.audit_log(Some("staff.".into()), 10).await.unwrap();
    assert_eq!(
        audit
            .iter()
            .filter(|a| a.action == "staff.password_changed")
            .map(|a| (a.subject.as_str(), a.actor.as_deref(), a.at))
            .collect::<Vec<_>>(),
        [("ada@shop.example", None, T0 + 90)]
    );
    assert!(
        !db.set_password("nobody@shop.example".into(), "x".into(), None, T0 + 90)
            .await
            .unwrap()
    );
}
story!(a_session_lives_until_signed_out_expired_or_the_password_changes);

async fn a_colleague_sees_their_other_sessions_and_ends_them_keeping_this_one(db: &Store) {
    let ada = db
        .add_user(new_user("ada@shop.example", "Ada", Role::Admin), T0)
        .await
        .unwrap();
    let bo = db
        .add_user(new_user("bo@shop.example", "Bo", Role::Agent), T0)
        .await
        .unwrap();
    // This browser, a laptop used lately, a phone used earlier, one timed
    // out (idle) and one of a colleague.
    for (id, user, created, seen) in [
        (1u8, ada.id, T0 + 10, T0 + 90),
        (2, ada.id, T0 + 20, T0 + 80),
        (3, ada.id, T0 + 30, T0 + 70),
        (4, ada.id, T0 + 40, T0 + 45),
        (5, bo.id, T0 + 50, T0 + 90),
    ] {
        db.create_session(vec![id; 32], user, "c".into(), created, None)
            .await
            .unwrap();
        db.touch_session(vec![id; 32], seen).await.unwrap();
    }
    let others = db
        .other_sessions(ada.id, vec![1; 32], T0 + 50, T0)
        .await
        .unwrap();
    let seen: Vec<(i64, i64)> = others.iter().map(|s| (s.created_at, s.last_seen)).collect();
    assert_eq!(seen, [(T0 + 20, T0 + 80), (T0 + 30, T0 + 70)]);
    // Too old counts as ended too.
    let young = db
        .other_sessions(ada.id, vec![1; 32], T0 + 50, T0 + 25)
        .await
        .unwrap();
    assert_eq!(young.len(), 1);

    let ended = db
        .end_other_sessions(ada.id, vec![1; 32], T0 + 100)
        .await
        .unwrap();
    assert_eq!(ended, 3, "the timed-out one goes too");
    assert!(db.session(vec![1; 32]).await.unwrap().is_some());
    for gone in [2u8, 3, 4] {
        assert!(db.session(vec![gone; 32]).await.unwrap().is_none());
    }
    assert!(
        db.session(vec![5; 32]).await.unwrap().is_some(),
        "Bo's stays"
    );
    let log = db
        .audit_log(Some("staff.signed_out_elsewhere".into()), 10)
        .await
        .unwrap();
    let entries: Vec<(&str, Option<&str>, Option<&str>)> = log
        .iter()
        .map(|e| (e.subject.as_str(), e.actor.as_deref(), e.detail.as_deref()))
        .collect();
    assert_eq!(
        entries,
        [("ada@shop.example", Some("Ada"), Some("sessions=3"))]
    );
}
story!(a_colleague_sees_their_other_sessions_and_ends_them_keeping_this_one);

async fn sign_in_attempts_are_remembered_until_forgotten(db: &Store) {
    let attempt = |n: u8, device: bool| Attempt {
        net: Some([n; 16]),
        pair: Some([n + 1; 16]),
        account: Some([n + 2; 16]),
        device: device.then_some([n + 3; 16]),
    };
    db.record_login_attempt(T0, attempt(1, false), T0 - 1000)
        .await
        .unwrap();
    db.record_login_attempt(T0 + 10, attempt(10, true), T0 - 1000)
        .await
        .unwrap();
    let remembered = db.login_attempts_since(T0).await.unwrap();
    assert_eq!(remembered.len(), 2);
    assert_eq!(remembered[0], (T0, attempt(1, false)));
    assert_eq!(remembered[1], (T0 + 10, attempt(10, true)));
    assert_eq!(db.login_attempts_since(T0 + 5).await.unwrap().len(), 1);
    // Recording forgets what no throttle remembers any more.
    db.record_login_attempt(T0 + 20, attempt(20, false), T0 + 5)
        .await
        .unwrap();
    let remembered = db.login_attempts_since(0).await.unwrap();
    let times: Vec<i64> = remembered.iter().map(|(at, _)| *at).collect();
    assert_eq!(times, [T0 + 10, T0 + 20]);
    // A sign-in that succeeded is forgotten: one record of it, however
    // alike the others are (two tabs in the same millisecond).
    db.record_login_attempt(T0 + 20, attempt(20, false), T0 + 5)
        .await
        .unwrap();
    db.record_login_attempt(T0 + 20, attempt(21, false), T0 + 5)
        .await
        .unwrap();
    db.forget_login_attempt(T0 + 20, attempt(20, false))
        .await
        .unwrap();
    db.forget_login_attempt(T0 + 10, attempt(10, true))
        .await
        .unwrap();
    let remembered = db.login_attempts_since(0).await.unwrap();
    assert_eq!(
        remembered,
        [(T0 + 20, attempt(20, false)), (T0 + 20, attempt(21, false))]
    );
    // Forgetting what is not there changes nothing.
    db.forget_login_attempt(T0 + 30, attempt(20, false))
        .await
        .unwrap();
    assert_eq!(db.login_attempts_since(0).await.unwrap().len(), 2);
}
story!(sign_in_attempts_are_remembered_until_forgotten);
