//! A customer's feedback together, by the email they gave (trimmed, any
//! case): beside an entry, and as the inbox's `customer` filter.

use earshot_collector::review::filter::{Filter, View};
use earshot_collector::store::{Inserted, Site, Store};

use crate::inbox::{MINUTE, references};
use crate::ingest::{T0, entry, first_site, new_site};
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
        site: Some(first_site(db).await.id),
        ..of(&ana[0], View::All)
    };
    let page = db.inbox(shop, 1, now).await.unwrap();
    assert_eq!(references(&page), [ana[0].clone()]);
    let rest = Filter {
        site: Some(first_site(db).await.id),
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
