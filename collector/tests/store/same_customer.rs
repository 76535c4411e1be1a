//! A customer's feedback together, by the email they gave (trimmed, any
//! case, its domain written either way): beside an entry, and as the
//! inbox's `customer` filter.

use earshot_collector::review::filter::{Filter, View};
use earshot_collector::store::{Inserted, Site, Store};

use crate::fixture::{
    SqliteFixture, every_version, older_collector, psql, recorded_versions, rewind_postgres,
    rewind_sqlite, start_upgrade, until_waiting, waiting,
};
use crate::inbox::{MINUTE, references};
use crate::ingest::{T0, entry, first_site, new_site};
use crate::postgres_server::TempPostgres;
use crate::story;

/// Entries in order: Ana's on the shop, the blog, the shop again (her
/// address written three ways), then Bo's, then one without an email.
async fn ana_bo_and_someone(db: &Store) -> Vec<Inserted> {
    let shop = first_site(db).await;
    let blog = db.add_site(new_site("Blog"), T0).await.unwrap();
    let sent: [(&Site, Option<&str>, &str); 5] = [
        (&shop, Some("ana@example.com"), "First"),
        (&blog, Some(" Ana@Example.COM "), "Second"),
        (&shop, Some("ANA@example.com"), "Third"),
        (&shop, Some("bo@example.com"), "Bo's"),
        (&shop, None, "No email"),
    ];
    let mut out = Vec::new();
    for (at, (site, email, message)) in (0..).zip(sent) {
        let mut request = serde_json::json!({"message": message});
        if let Some(email) = email {
            request["email"] = email.into();
        }
        out.push(
            db.insert_entry(entry(site, T0 + at * MINUTE, request))
                .await
                .unwrap(),
        );
    }
    out
}

async fn an_entry_shows_the_customers_other_entries_by_their_email(db: &Store) {
    let [first, second, third, other, anonymous] =
        <[Inserted; 5]>::try_from(ana_bo_and_someone(db).await).unwrap();

    let same = db.same_customer(first.public_id.clone(), 5).await.unwrap();
    let refs: Vec<&str> = same.recent.iter().map(|r| r.reference.as_str()).collect();
    assert_eq!(refs, [third.reference.as_str(), second.reference.as_str()]);
    assert_eq!(same.total, 2);
    assert_eq!(same.recent[1].site_name, "Blog");
    // The newest `limit`, counted in full.
    let one = db.same_customer(third.public_id.clone(), 1).await.unwrap();
    assert_eq!(one.recent.len(), 1);
    assert_eq!(one.recent[0].reference, second.reference);
    assert_eq!(one.total, 2);
    for alone in [other.public_id, anonymous.public_id, "e_nonexistent".into()] {
        let same = db.same_customer(alone.clone(), 5).await.unwrap();
        assert!(same.recent.is_empty() && same.total == 0, "{alone}");
    }
}
story!(an_entry_shows_the_customers_other_entries_by_their_email);

async fn the_inbox_lists_a_customers_feedback_by_one_entry_of_theirs(db: &Store) {
    let sent = ana_bo_and_someone(db).await;
    let ana: Vec<String> = sent[..3]
        .iter()
        .rev()
        .map(|e| e.reference.clone())
        .collect();
    let now = T0 + 60 * MINUTE;
    let of = |reference: &str, view: View| Filter {
        view,
        customer: Some(reference.to_owned()),
        ..Filter::default()
    };
    // From any of her entries, newest first, on every site.
    for named in &ana {
        let (page, count) = db
            .inbox_counted(of(named, View::All), 50, 1_000, now)
            .await
            .unwrap();
        assert_eq!(references(&page), ana, "named by {named}");
        assert_eq!(count, 3);
    }
    // Within the other filters and views, paged like any list.
    let shop = Filter {
        sites: vec![first_site(db).await.id],
        ..of(&ana[0], View::All)
    };
    let page = db.inbox(shop, 1, now).await.unwrap();
    assert_eq!(references(&page), [ana[0].clone()]);
    let rest = Filter {
        sites: vec![first_site(db).await.id],
        cursor: page.next,
        ..of(&ana[0], View::All)
    };
    let rest = db.inbox(rest, 50, now).await.unwrap();
    assert_eq!(
        references(&rest),
        [ana[2].clone()],
        "the blog's is left out"
    );
    let waiting = db.inbox(of(&ana[1], View::Waiting), 50, now).await.unwrap();
    let mut oldest_first = ana.clone();
    oldest_first.reverse();
    assert_eq!(references(&waiting), oldest_first);
    // Bo is his own; an entry without an email, or no entry, names nobody.
    let bo = db
        .inbox(of(&sent[3].reference, View::All), 50, now)
        .await
        .unwrap();
    assert_eq!(references(&bo), [sent[3].reference.clone()]);
    for nobody in [sent[4].reference.as_str(), "ES-0000-0000"] {
        let page = db.inbox(of(nobody, View::All), 50, now).await.unwrap();
        assert!(page.rows.is_empty(), "{nobody}");
    }
}
story!(the_inbox_lists_a_customers_feedback_by_one_entry_of_theirs);

/// An idea from each of `emails`, a minute apart, in that order.
async fn sent_from(db: &Store, emails: [&str; 4]) -> Vec<Inserted> {
    let shop = first_site(db).await;
    let mut out = Vec::new();
    for (at, email) in (0..).zip(emails) {
        let request = serde_json::json!({"message": "Hallo", "email": email});
        let stored = db.insert_entry(entry(&shop, T0 + at * MINUTE, request));
        out.push(stored.await.unwrap());
    }
    out
}

/// Änna's three entries, her address in three cases of its `Ä`, and one
/// from anna@, someone else; returns them in that order.
async fn anna_in_every_case(db: &Store) -> Vec<Inserted> {
    let emails = [
        "Änna@Example.com",
        "ÄNNA@example.com",
        " änna@EXAMPLE.com",
        "anna@example.com",
    ];
    sent_from(db, emails).await
}

/// Ana's three entries, her domain written as typed (Firefox and Safari
/// send it so), in capitals, and in Punycode (Chromium's email fields send
/// it so), and one from ana@bucher.de, someone else; returns them in that
/// order.
async fn ana_at_an_international_domain(db: &Store) -> Vec<Inserted> {
    let emails = [
        "Ana@bücher.de",
        " ana@BÜCHER.DE",
        "ana@xn--bcher-kva.de",
        "ana@bucher.de",
    ];
    sent_from(db, emails).await
}

/// The first three of `sent` are one person's, found by each of `asked`:
/// by the preview of an erasure, beside an entry, in the inbox, by export
/// (as `asked[1]`) and erasure (as `asked[2]`); the fourth, `someone
/// else`'s, is left.
async fn assert_one_person(db: &Store, sent: &[Inserted], asked: [&str; 3], someone_else: &str) {
    let person: Vec<String> = sent[..3]
        .iter()
        .rev()
        .map(|e| e.reference.clone())
        .collect();
    for asked in asked {
        let held = db.person_entries(asked.into(), None, 10).await.unwrap();
        let held: Vec<&str> = held.iter().map(|h| h.reference.as_str()).collect();
        assert_eq!(held, person, "asked for {asked}");
    }
    for one in &sent[..3] {
        let same = db.same_customer(one.public_id.clone(), 5).await.unwrap();
        assert_eq!(same.total, 2, "beside {}", one.reference);
    }
    let filter = Filter {
        view: View::All,
        customer: Some(sent[0].reference.clone()),
        ..Filter::default()
    };
    let page = db.inbox(filter, 50, T0 + 60 * MINUTE).await.unwrap();
    assert_eq!(references(&page), person);
    let export = db
        .export_person(asked[1].into(), None, None, T0 + 61 * MINUTE)
        .await
        .unwrap();
    assert_eq!(export.entries, 3);
    let erased = db
        .erase_person(asked[2].into(), None, None, T0 + 62 * MINUTE)
        .await
        .unwrap();
    assert_eq!(erased.entries, 3);
    let left = db
        .person_entries(someone_else.into(), None, 10)
        .await
        .unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].reference, sent[3].reference);
}

/// SQLite's `lower()` folds only A to Z (and PostgreSQL's only those in
/// the C locale): matched in SQL, erasing Änna@ missed ÄNNA@, and even
/// the entry that gave Änna@ itself. A person is found by every case of
/// every letter of their address; anna@, without the umlaut, is someone
/// else.
async fn a_persons_entries_are_found_in_any_case_of_any_letter(db: &Store) {
    let sent = anna_in_every_case(db).await;
    let asked = ["Änna@Example.com", "ÄNNA@EXAMPLE.COM", "änna@example.com"];
    assert_one_person(db, &sent, asked, "anna@example.com").await;
}
story!(a_persons_entries_are_found_in_any_case_of_any_letter);

/// Erasing ana@bücher.de missed what she had sent from Chromium, which
/// sends her domain in Punycode, and the other way round. A person is
/// found by their domain written either way; bucher.de, without the
/// umlaut, is another domain.
async fn a_persons_entries_are_found_however_their_domain_is_written(db: &Store) {
    let sent = ana_at_an_international_domain(db).await;
    let asked = ["ANA@BÜCHER.DE ", "ana@xn--bcher-kva.de", "Ana@Bücher.de"];
    assert_one_person(db, &sent, asked, "ana@bucher.de").await;
}
story!(a_persons_entries_are_found_however_their_domain_is_written);

/// The upgrade gives entries stored before it their key: erased, Änna's
/// entries all go, whichever case she writes her address in.
async fn assert_anna_found(db: &Store, sent: &[Inserted]) {
    let held = db
        .person_entries("ÄNNA@example.com".into(), None, 10)
        .await
        .unwrap();
    let mut held: Vec<String> = held.into_iter().map(|h| h.reference).collect();
    held.sort();
    let mut anna: Vec<String> = sent[..3].iter().map(|e| e.reference.clone()).collect();
    anna.sort();
    assert_eq!(held, anna);
    let same = db
        .same_customer(sent[0].public_id.clone(), 5)
        .await
        .unwrap();
    assert_eq!(same.total, 2);
}

#[tokio::test]
async fn an_upgrade_keys_the_addresses_stored_before_it_on_sqlite() {
    let db = SqliteFixture::new();
    let sent = anna_in_every_case(&db.store).await;
    db.store.shutdown().await;
    // As the version before left it: no key, matched through lower().
    let conn = rusqlite::Connection::open(db.path()).unwrap();
    conn.execute_batch(
        "DROP INDEX entries_email_key;
         ALTER TABLE entries DROP COLUMN email_key;
         CREATE INDEX entries_email ON entries (lower(trim(email)), id) WHERE email IS NOT NULL;",
    )
    .unwrap();
    drop(conn);
    rewind_sqlite(&db.path(), 28);

    let upgraded = Store::open(&db.path()).unwrap();
    assert_anna_found(&upgraded, &sent).await;
    upgraded.shutdown().await;
    let conn = rusqlite::Connection::open(db.path()).unwrap();
    let indexes: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE tbl_name = 'entries' AND name LIKE 'entries_email%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(indexes, ["entries_email_key"]);
}

#[tokio::test]
async fn an_upgrade_keys_the_addresses_stored_before_it_on_postgres() {
    let server = TempPostgres::shared();
    let url = server.fresh_database();
    let db = Store::connect(&url).await.unwrap();
    let sent = anna_in_every_case(&db).await;
    let site = first_site(&db).await;
    db.shutdown().await;
    drop(db);
    let client = psql(&url).await;
    many_to_key(&client, site.id, 10_005).await;
    rewind_postgres(&url, 14).await;

    let upgraded = Store::connect(&url).await.unwrap();
    assert_anna_found(&upgraded, &sent).await;
    assert_eq!(unkeyed(&client).await, 0);
    let last = upgraded
        .person_entries(" Änna10005@EXAMPLE.com".into(), None, 10)
        .await
        .unwrap();
    assert_eq!(last.len(), 1);
    assert_eq!(last[0].reference, "ES-MANY-10005");
    // An older collector, still running during a rolling upgrade, stores
    // entries without a key: they get the nearest one the database makes.
    client
        .execute(
            "INSERT INTO entries (public_id, reference, status_token, site_id, kind, message,
                 email, created_at)
             VALUES ('e_old', 'ES-OLD0-0001', 't', $1, 'idea', 'From an older one',
                 ' Bo@Example.COM ', $2)",
            &[&site.id, &(T0 + 10 * MINUTE)],
        )
        .await
        .unwrap();
    let held = upgraded
        .person_entries("bo@example.com".into(), None, 10)
        .await
        .unwrap();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].reference, "ES-OLD0-0001");
    upgraded.shutdown().await;
}

/// Ana's entries are all found by her domain written either way, as the
/// upgrade rekeyed them.
async fn assert_ana_found_however_written(db: &Store, sent: &[Inserted]) {
    let mut ana: Vec<String> = sent[..3].iter().map(|e| e.reference.clone()).collect();
    ana.sort();
    for asked in ["ana@bücher.de", "ana@xn--bcher-kva.de"] {
        let held = db.person_entries(asked.into(), None, 10).await.unwrap();
        let mut held: Vec<String> = held.into_iter().map(|h| h.reference).collect();
        held.sort();
        assert_eq!(held, ana, "asked for {asked}");
    }
    let same = db
        .same_customer(sent[2].public_id.clone(), 5)
        .await
        .unwrap();
    assert_eq!(same.total, 2);
}

/// Each stored address's key as versions before SQLite 33 and PostgreSQL
/// 21 wrote it: trimmed, in lower case, its domain as typed. Only the one
/// sent in Punycode is then found by its Punycode form.
const OLD_KEY_SELECT: &str = "SELECT id, email FROM entries WHERE email IS NOT NULL";

fn old_key(email: &str) -> String {
    email.trim().to_lowercase()
}

#[tokio::test]
async fn an_upgrade_rekeys_international_domains_stored_before_it_on_sqlite() {
    let db = SqliteFixture::new();
    let sent = ana_at_an_international_domain(&db.store).await;
    db.store.shutdown().await;
    let conn = rusqlite::Connection::open(db.path()).unwrap();
    let stored: Vec<(i64, String)> = conn
        .prepare(OLD_KEY_SELECT)
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for (id, email) in stored {
        conn.execute(
            "UPDATE entries SET email_key = ?2 WHERE id = ?1",
            rusqlite::params![id, old_key(&email)],
        )
        .unwrap();
    }
    let punycode: i64 = conn
        .query_row(
            "SELECT count(*) FROM entries WHERE email_key = 'ana@xn--bcher-kva.de'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(punycode, 1, "keyed as before");
    drop(conn);
    rewind_sqlite(&db.path(), 32);

    let upgraded = Store::open(&db.path()).unwrap();
    assert_ana_found_however_written(&upgraded, &sent).await;
    upgraded.shutdown().await;
}

#[tokio::test]
async fn an_upgrade_rekeys_international_domains_stored_before_it_on_postgres() {
    let server = TempPostgres::shared();
    let url = server.fresh_database();
    let db = Store::connect(&url).await.unwrap();
    let sent = ana_at_an_international_domain(&db).await;
    db.shutdown().await;
    drop(db);
    let client = psql(&url).await;
    for row in client.query(OLD_KEY_SELECT, &[]).await.unwrap() {
        let (id, email): (i64, String) = (row.get(0), row.get(1));
        client
            .execute(
                "UPDATE entries SET email_key = $2 WHERE id = $1",
                &[&id, &old_key(&email)],
            )
            .await
            .unwrap();
    }
    let punycode: i64 = client
        .query_one(
            "SELECT count(*) FROM entries WHERE email_key = 'ana@xn--bcher-kva.de'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(punycode, 1, "keyed as before");
    rewind_postgres(&url, 20).await;

    let upgraded = Store::connect(&url).await.unwrap();
    assert_ana_found_however_written(&upgraded, &sent).await;
    assert_eq!(recorded_versions(&client).await, every_version());
    upgraded.shutdown().await;
}

/// Entries that gave an email and have no key.
async fn unkeyed(client: &tokio_postgres::Client) -> i64 {
    client
        .query_one(
            "SELECT count(*) FROM entries WHERE email IS NOT NULL AND email_key IS NULL",
            &[],
        )
        .await
        .unwrap()
        .get(0)
}

/// `count` more entries from Änna1@ to Änna<count>@ (more than a page of
/// keys, `KEY_PAGE`, 10,000, so an upgrade must carry on past the first),
/// then every entry as PostgreSQL 14 left it: no key, no trigger, no
/// index.
async fn many_to_key(client: &tokio_postgres::Client, site: i64, count: i64) {
    let many = client
        .execute(
            "INSERT INTO entries (public_id, reference, status_token, site_id, kind, message,
                 email, created_at)
             SELECT 'e_many' || n, 'ES-MANY-' || n, 't', $1, 'idea', 'Many',
                    ' ÄNNA' || n || '@Example.COM', $2
             FROM generate_series(1, $3::bigint) n",
            &[&site, &T0, &count],
        )
        .await
        .unwrap();
    assert_eq!(i64::try_from(many).unwrap(), count);
    client
        .batch_execute(
            "DROP TRIGGER entries_email_key ON entries;
             DROP INDEX entries_email_key;
             UPDATE entries SET email_key = NULL;",
        )
        .await
        .unwrap();
}

/// Keying a million stored addresses takes about a minute on PostgreSQL.
/// It ran in the one transaction of version 15, which alters `entries`:
/// collectors not yet upgraded could store nothing until it committed.
/// Now an older collector stores an entry while the upgrade is provably
/// still keying (it waits for a row this test holds).
#[tokio::test]
async fn older_collectors_store_entries_while_an_upgrade_keys_stored_ones_on_postgres() {
    let server = TempPostgres::shared();
    let url = server.fresh_database();
    let db = Store::connect(&url).await.unwrap();
    let site = first_site(&db).await;
    db.shutdown().await;
    drop(db);
    let mut holder = psql(&url).await;
    many_to_key(&holder, site.id, 20_005).await;
    rewind_postgres(&url, 14).await;

    let upgrading = start_upgrade(&url);
    // Once the trigger version 15 makes is there (its statements have
    // committed), hold the last entry the upgrade has to key.
    let hold = holder.transaction().await.unwrap();
    loop {
        let trigger = hold
            .query_opt(
                "SELECT 1 FROM pg_trigger WHERE tgname = 'entries_email_key'",
                &[],
            )
            .await
            .unwrap();
        if trigger.is_some() {
            let last = hold
                .query_opt(
                    "SELECT id FROM entries WHERE email_key IS NULL
                     ORDER BY id DESC LIMIT 1 FOR UPDATE",
                    &[],
                )
                .await
                .unwrap();
            assert!(
                last.is_some(),
                "the upgrade keyed every entry before anyone else could write"
            );
            break;
        }
        assert!(
            !upgrading.is_finished(),
            "the upgrade finished before anyone else could write"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let older = older_collector(&url).await;
    let keying = "wait_event = 'transactionid'";
    until_waiting(&older, keying, &upgrading).await;
    // A collector not yet upgraded stores an entry; before, it waited for
    // the whole upgrade (here: until this test let go), and the lock
    // timeout failed it.
    older
        .execute(
            "INSERT INTO entries (public_id, reference, status_token, site_id, kind, message,
                 email, created_at)
             VALUES ('e_older', 'ES-OLDR-0001', 't', $1, 'idea', 'Meanwhile',
                 'Meanwhile@Example.com', $2)",
            &[&site.id, &T0],
        )
        .await
        .expect("an older collector stores entries during the upgrade");
    assert!(
        waiting(&older, keying).await > 0,
        "the upgrade was still keying"
    );
    assert!(!upgrading.is_finished());
    hold.commit().await.unwrap();

    let upgraded = upgrading.await.unwrap().unwrap();
    assert_eq!(unkeyed(&older).await, 0);
    for (asked, reference) in [
        ("änna20005@example.com", "ES-MANY-20005"),
        ("meanwhile@example.com", "ES-OLDR-0001"),
    ] {
        let held = upgraded
            .person_entries(asked.into(), None, 10)
            .await
            .unwrap();
        let held: Vec<&str> = held.iter().map(|h| h.reference.as_str()).collect();
        assert_eq!(held, [reference]);
    }
    assert_eq!(recorded_versions(&older).await, every_version());
    upgraded.shutdown().await;
}
