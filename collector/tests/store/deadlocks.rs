//! Two collectors on one PostgreSQL database acting on the same rows at
//! once never deadlock. Each test lines the two transactions up with
//! triggers that pause them where they once waited for each other (until
//! PostgreSQL broke the deadlock a second later and failed one of them),
//! and fails if the server logged a deadlock.

use std::time::{Duration, Instant};

use earshot_collector::review::workflow::Status;
use earshot_collector::store::{
    BulkAction, BulkTarget, Inserted, NewReply, NewUser, ReviewError, Role, Site, Store,
};
use tokio_postgres::Client;

use crate::fixture::psql;
use crate::ingest::{T0, entry, first_site};
use crate::postgres_server::TempPostgres;

const HOUR: i64 = 3_600_000;

/// Two collectors on a fresh database, its first site, an administrator,
/// and a connection of the test's own.
struct Collectors {
    server: TempPostgres,
    url: String,
    one: Store,
    two: Store,
    shop: Site,
    ada: i64,
    admin: Client,
}

impl Collectors {
    async fn start() -> Collectors {
        let server = TempPostgres::start();
        let url = server.fresh_database();
        let (one, two) = (
            Store::connect(&url).await.unwrap(),
            Store::connect(&url).await.unwrap(),
        );
        let shop = first_site(&one).await;
        let ada = NewUser {
            email: "ada@shop.example".into(),
            name: "Ada".into(),
            role: Role::Admin,
            password_hash: "x".into(),
        };
        let ada = one.add_user(ada, T0).await.unwrap().id;
        let admin = psql(&url).await;
        Collectors {
            server,
            url,
            one,
            two,
            shop,
            ada,
            admin,
        }
    }

    /// Creates the triggers (and their functions) that pause the two.
    async fn pause(&self, sql: &str) {
        self.admin.batch_execute(sql).await.unwrap();
    }

    /// Stores `request` through the first collector at `at`.
    async fn submit(&self, request: serde_json::Value, at: i64) -> Inserted {
        let entry = entry(&self.shop, at, request);
        self.one.insert_entry(entry).await.unwrap()
    }

    /// Answers the entry through the first collector at `at`.
    async fn answer(&self, public_id: String, at: i64) {
        let reply = NewReply {
            body: "Looking into it".into(),
            promise: None,
        };
        self.one
            .reply(public_id, reply, self.ada, at)
            .await
            .unwrap();
    }

    fn assert_no_deadlock(&self) {
        let log = self.server.log();
        assert!(!log.contains("deadlock detected"), "{log}");
    }

    /// The reports' sums: entries, first responses, mismatches by page.
    async fn sums(&self) -> (i64, i64, i64) {
        let row = self
            .admin
            .query_one(
                "SELECT (SELECT coalesce(sum(entries), 0)::bigint FROM rollup_volume),
                        (SELECT coalesce(sum(n), 0)::bigint FROM rollup_first_response),
                        (SELECT coalesce(sum(n), 0)::bigint FROM rollup_pages)",
                &[],
            )
            .await
            .unwrap();
        (row.get(0), row.get(1), row.get(2))
    }
}

/// An expectation mismatch on the checkout page.
fn mismatch(severity: &str) -> serde_json::Value {
    serde_json::json!({
        "kind": "expectation", "expected": "Free delivery", "actual": "Charged for delivery",
        "severity": severity, "page": {"url": "https://shop.example/checkout"},
    })
}

/// Two collectors each batch the same two retried submissions, in opposite
/// orders (a widget's retry reached the other collector while the first
/// try was still being stored). A row whose key another batch has stored
/// but not committed waits for that batch; batches that took their keys
/// in different orders each waited for the other, and both collectors
/// then stored every row alone. Every batch takes its keys in one order.
#[tokio::test]
async fn batches_holding_the_same_keys_in_opposite_orders_do_not_deadlock() {
    let c = Collectors::start().await;
    // Each of the retried rows waits a moment before it is stored, so both
    // batches have stored their first row before either reaches its second.
    c.pause(
        "CREATE FUNCTION pause_swapped() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
             IF NEW.idempotency_key LIKE 'swapped-%' THEN PERFORM pg_sleep(0.3); END IF;
             RETURN NEW;
         END $$;
         CREATE TRIGGER pause_swapped BEFORE INSERT ON entries
             FOR EACH ROW EXECUTE FUNCTION pause_swapped()",
    )
    .await;
    let submit = |store: &Store, message: &str, key: Option<&str>| {
        let mut request = serde_json::json!({ "message": message });
        if let Some(key) = key {
            request["idempotency_key"] = key.into();
        }
        let store = store.clone();
        let entry = entry(&c.shop, T0, request);
        tokio::spawn(async move { store.insert_entry(entry).await })
    };
    let waiting_on_the_lock = || async {
        let row = c
            .admin
            .query_one(
                "SELECT count(*) FROM pg_locks
                 WHERE relation = 'entries'::regclass AND NOT granted",
                &[],
            )
            .await
            .unwrap();
        row.get::<_, i64>(0)
    };
    // Every worker of both collectors waits on a table lock with a
    // submission of its own, so the next two each collector receives wait
    // in its queue and become one batch, in the order they arrived.
    let locker = psql(&c.url).await;
    locker
        .batch_execute("BEGIN; LOCK TABLE entries IN SHARE MODE")
        .await
        .unwrap();
    let mut fillers = Vec::new();
    for n in 0..8 {
        let store = if n % 2 == 0 { &c.one } else { &c.two };
        fillers.push(submit(store, &format!("Filler {n}"), None));
        let deadline = Instant::now() + Duration::from_secs(10);
        while waiting_on_the_lock().await < n + 1 {
            assert!(
                Instant::now() < deadline,
                "worker {n} never reached the lock"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    let (a, b) = ("swapped-key-aaaaaaaa", "swapped-key-bbbbbbbb");
    let pause = Duration::from_millis(100);
    let first_a = submit(&c.one, "Checkout fails", Some(a));
    tokio::time::sleep(pause).await;
    let first_b = submit(&c.one, "Refund missing", Some(b));
    let second_b = submit(&c.two, "Refund missing", Some(b));
    tokio::time::sleep(pause).await;
    let second_a = submit(&c.two, "Checkout fails", Some(a));
    tokio::time::sleep(pause).await;
    locker.batch_execute("COMMIT").await.unwrap();

    for filler in fillers {
        assert!(!filler.await.unwrap().unwrap().replayed);
    }
    let mut answers = Vec::new();
    for task in [first_a, first_b, second_a, second_b] {
        answers.push(task.await.unwrap().unwrap());
    }
    c.assert_no_deadlock();
    // Each customer's entry is stored once and both collectors answer it.
    for (first, retry) in [(&answers[0], &answers[2]), (&answers[1], &answers[3])] {
        assert_eq!(first.reference, retry.reference);
        assert_eq!(
            [first.replayed, retry.replayed]
                .iter()
                .filter(|r| !**r)
                .count(),
            1
        );
    }
    assert_eq!(crate::ingest::stored(&c.one).await, 10);
}

/// Staff mark a counted entry as spam (taking it out of the reports' sums)
/// while another collector rolls up a new entry (adding to them). Both
/// change rows of the sums they share (the page's count, the first-response
/// time's) and reached them in different orders, failing the staff
/// member's click or the roll-up. Every change to the sums waits its turn.
#[tokio::test]
async fn staff_changing_the_sums_while_another_collector_rolls_up_do_not_deadlock() {
    let c = Collectors::start().await;
    // Two mismatches on one page, of different severities, each answered
    // after an hour: they share the page's row and the first-response
    // time's, not the volume's.
    let counted = c.submit(mismatch("minor"), T0).await;
    c.answer(counted.public_id.clone(), T0 + HOUR).await;
    assert_eq!(c.one.roll_up().await.unwrap(), 1);
    let queued = c.submit(mismatch("blocking"), T0 + 1).await;
    c.answer(queued.public_id, T0 + 1 + HOUR).await;
    // Each change to those two sums waits a moment first, so both
    // transactions hold their first shared row before either reaches its
    // second.
    c.pause(
        "CREATE FUNCTION pause_sums() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN PERFORM pg_sleep(0.3); RETURN NEW; END $$;
         CREATE TRIGGER pause_sums BEFORE INSERT OR UPDATE ON rollup_pages
             FOR EACH ROW EXECUTE FUNCTION pause_sums();
         CREATE TRIGGER pause_sums BEFORE INSERT OR UPDATE ON rollup_first_response
             FOR EACH ROW EXECUTE FUNCTION pause_sums()",
    )
    .await;
    let (marked, rolled) = tokio::join!(
        c.one
            .set_status(counted.public_id, Status::Spam, c.ada, T0 + 2 * HOUR),
        c.two.roll_up()
    );
    c.assert_no_deadlock();
    marked.unwrap();
    assert_eq!(rolled.unwrap(), 1);
    // Left counted: the queued entry.
    assert_eq!(c.sums().await, (1, 1, 1));
}

/// As above, with staff marking two entries as spam at once: one entry's
/// sums, then the other's. Taking each entry's rows of the sums in one
/// order would not prevent this one: the bulk action holds the first
/// entry's first-response time when it reaches the second entry's volume,
/// which the roll-up holds while it waits for that time.
#[tokio::test]
async fn a_bulk_action_changing_the_sums_while_another_collector_rolls_up_does_not_deadlock() {
    let c = Collectors::start().await;
    // Counted: a mismatch answered after an hour, and a blocking idea.
    let idea = serde_json::json!({"kind": "idea", "message": "Dark mode", "severity": "blocking"});
    let first = c.submit(mismatch("minor"), T0).await.public_id;
    c.answer(first.clone(), T0 + HOUR).await;
    let second = c.submit(idea.clone(), T0 + 1).await.public_id;
    assert_eq!(c.one.roll_up().await.unwrap(), 2);
    // Queued: another blocking idea, answered after an hour too. It shares
    // the second entry's volume and the first one's first-response time.
    let queued = c.submit(idea, T0 + 2).await.public_id;
    c.answer(queued, T0 + 2 + HOUR).await;
    // Staff's changes to the volume wait a moment, and the roll-up's to
    // the first-response times longer: the roll-up takes the ideas'
    // volume at once, staff the first entry's time, then each reaches for
    // the other's.
    c.pause(
        "CREATE FUNCTION pause_taking() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN PERFORM pg_sleep(0.3); RETURN NEW; END $$;
         CREATE FUNCTION pause_adding() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN PERFORM pg_sleep(0.6); RETURN NEW; END $$;
         CREATE TRIGGER pause_taking BEFORE INSERT ON rollup_volume
             FOR EACH ROW WHEN (NEW.entries < 0) EXECUTE FUNCTION pause_taking();
         CREATE TRIGGER pause_adding BEFORE INSERT ON rollup_first_response
             FOR EACH ROW WHEN (NEW.n > 0) EXECUTE FUNCTION pause_adding()",
    )
    .await;
    let spam = BulkAction::Status(Status::Spam);
    let (marked, rolled) = tokio::join!(
        c.one.bulk(
            vec![BulkTarget::unseen(first), BulkTarget::unseen(second)],
            spam,
            c.ada,
            T0 + 2 * HOUR
        ),
        c.two.roll_up()
    );
    c.assert_no_deadlock();
    assert_eq!(marked.unwrap().changed, 2);
    assert_eq!(rolled.unwrap(), 1);
    // Left counted: the queued idea and its first response.
    assert_eq!(c.sums().await, (1, 1, 0));
}

/// A bulk action and a colleague's action on one of its entries, through
/// two collectors. The bulk action changed its entries one after another:
/// holding the reports' sums for the first, it waited for the second
/// entry, which the colleague held while waiting for the sums. It now
/// locks every entry it will change, in id order, before changing any.
#[tokio::test]
async fn a_bulk_action_and_a_colleagues_action_on_one_of_its_entries_do_not_deadlock() {
    let c = Collectors::start().await;
    let mut ids = Vec::new();
    for (i, message) in ["Cart emptied itself", "Coupon refused"].iter().enumerate() {
        let request = serde_json::json!({ "message": message });
        ids.push(c.submit(request, T0 + i as i64).await.public_id);
    }
    assert_eq!(c.one.roll_up().await.unwrap(), 2);
    // Taking an entry out of the volume waits a moment: the bulk action
    // holds the sums through its first entry while the colleague, at
    // once, locks the second.
    c.pause(
        "CREATE FUNCTION pause_taking() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN PERFORM pg_sleep(0.3); RETURN NEW; END $$;
         CREATE TRIGGER pause_taking BEFORE INSERT ON rollup_volume
             FOR EACH ROW WHEN (NEW.entries < 0) EXECUTE FUNCTION pause_taking()",
    )
    .await;
    let colleague = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        c.two
            .set_status(ids[1].clone(), Status::Resolved, c.ada, T0 + 2 * HOUR)
            .await
    };
    let spam = BulkAction::Status(Status::Spam);
    let (marked, resolved) = tokio::join!(
        c.one.bulk(
            ids.iter().map(BulkTarget::unseen).collect(),
            spam,
            c.ada,
            T0 + HOUR
        ),
        colleague
    );
    c.assert_no_deadlock();
    let marked = marked.unwrap();
    // Whichever came second found the entry as the first left it, and a
    // move from there is refused: resolved is not spam's next step, nor
    // spam resolved's.
    match resolved {
        Ok(()) => assert_eq!((marked.changed, marked.skipped), (1, 1)),
        Err(ReviewError::Refused(_)) => assert_eq!((marked.changed, marked.skipped), (2, 0)),
        Err(e) => panic!("the colleague's change failed: {e:?}"),
    }
}

/// Erasing a customer's entries while a colleague, through another
/// collector, resolves one of them. The erasure took the reports' sums
/// for the first entry (its words leave them) and then waited for the
/// second, which the colleague held while waiting for the sums. It now
/// locks the entries it will delete, in id order, before deleting any.
#[tokio::test]
async fn erasing_a_persons_entries_while_a_colleague_resolves_one_does_not_deadlock() {
    let c = Collectors::start().await;
    let mut counted = mismatch("minor");
    counted["email"] = "cy@mail.example".into();
    let other = serde_json::json!({"message": "Coupon refused", "email": "cy@mail.example"});
    c.submit(counted, T0).await;
    let second = c.submit(other, T0 + 1).await.public_id;
    assert_eq!(c.one.roll_up().await.unwrap(), 2);
    // The colleague holds the second entry a moment before reaching for
    // the sums; the erasure starts meanwhile.
    c.pause(
        "CREATE FUNCTION pause_resolving() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN PERFORM pg_sleep(0.3); RETURN NEW; END $$;
         CREATE TRIGGER pause_resolving AFTER UPDATE ON entries
             FOR EACH ROW WHEN (NEW.status = 'resolved') EXECUTE FUNCTION pause_resolving()",
    )
    .await;
    let erasure = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        c.one
            .erase_person("cy@mail.example".into(), None, Some(c.ada), T0 + HOUR)
            .await
    };
    let (resolved, erased) = tokio::join!(
        c.two.set_status(second, Status::Resolved, c.ada, T0 + HOUR),
        erasure
    );
    c.assert_no_deadlock();
    // The colleague comes first (or, on a slow machine, finds the entry
    // gone), and the erasure takes both.
    match resolved {
        Ok(()) | Err(ReviewError::Refused(_)) => {}
        Err(e) => panic!("the colleague's change failed: {e:?}"),
    }
    assert_eq!(erased.unwrap().entries, 2);
}
