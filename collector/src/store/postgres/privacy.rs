//! A person's data on PostgreSQL: everything held about an address, its
//! erasure, and retention's deletions.
//!
//! Deleting an entry takes everything hanging off it by cascade, as on
//! SQLite. PostgreSQL has no `secure_delete`: a deleted row's bytes stay
//! in the table file until VACUUM reuses the space and in the WAL and
//! backups until they age out, so erasure here is as complete as the
//! operator's WAL and backup retention make it (README says so).

use std::time::Instant;

use deadpool_postgres::GenericClient;
use serde_json::Value;

use super::{Postgres, audit, read_rows, rollup};
use crate::review::workflow::DAY;
use crate::review::workflow::Status;
use crate::store::mail_health::FORGET_TEST_MAILS;
use crate::store::privacy::{
    DELETE_BUDGET, DELETE_CHUNK, PERSON_ATTACHMENTS_SQL, PERSON_ENTRY_SQL, PERSON_EVENTS_SQL,
    PERSON_PROMISES_SQL, PersonEntry, person_document,
};
use crate::store::privacy::{HELD_SELECT, KEY_PAGE, KEYED_BEYOND_ASCII, UNKEYED};
use crate::store::retention::{OUTBOX_KEPT_DAYS, PRUNE_CHUNK, Retention, Rule, cutoffs};
use crate::store::{Erasure, HeldEntry, PersonExport, StoreError};

/// Schema version 15: `email_key` for every stored entry that gave an
/// email and has none yet (a replayed migration finds them written).
pub(super) async fn fill_email_keys(
    client: &mut deadpool_postgres::Client,
) -> Result<(), StoreError> {
    key_stored_emails(client, UNKEYED).await
}

/// Schema version 21: the stored keys of addresses with an international
/// domain, written as [`crate::person::email_key`] now writes them.
pub(super) async fn rekey_international_domains(
    client: &mut deadpool_postgres::Client,
) -> Result<(), StoreError> {
    key_stored_emails(client, KEYED_BEYOND_ASCII).await
}

/// Keys the stored entries that gave an email and match `which`, a page
/// at a time in id order, so memory stays flat at any size. Each page
/// commits on its own: only its rows are locked, and only while they are
/// keyed, so collectors not yet upgraded go on working; they are locked
/// in id order, as an older collector's bulk action locks entries, so the
/// two cannot deadlock and fail the upgrade.
async fn key_stored_emails(
    client: &mut deadpool_postgres::Client,
    which: &str,
) -> Result<(), StoreError> {
    let read = format!(
        "SELECT id, email FROM entries
         WHERE id > $1 AND email IS NOT NULL AND {which}
         ORDER BY id LIMIT $2 FOR UPDATE"
    );
    let mut after = 0i64;
    loop {
        let tx = client.transaction().await?;
        let rows = tx.query(&read, &[&after, &KEY_PAGE]).await?;
        let page = read_rows(&rows, |r| {
            Ok((r.try_get::<_, i64>(0)?, r.try_get::<_, String>(1)?))
        })?;
        let Some(&(last, _)) = page.last() else {
            return Ok(());
        };
        let ids: Vec<i64> = page.iter().map(|(id, _)| *id).collect();
        let keys: Vec<String> = page
            .iter()
            .map(|(_, email)| crate::person::email_key(email))
            .collect();
        tx.execute(
            "UPDATE entries e SET email_key = k.key
             FROM unnest($1::bigint[], $2::text[]) AS k(id, key) WHERE e.id = k.id",
            &[&ids, &keys],
        )
        .await?;
        tx.commit().await?;
        after = last;
    }
}

async fn matching(
    client: &impl GenericClient,
    email: &str,
    site: Option<i64>,
) -> Result<Vec<(i64, String)>, StoreError> {
    let rows = client
        .query(
            "SELECT id, public_id FROM entries
             WHERE email_key = $1
               AND ($2::bigint IS NULL OR site_id = $2)
             ORDER BY id",
            &[&crate::person::email_key(email), &site],
        )
        .await?;
    read_rows(&rows, |r| Ok((r.try_get(0)?, r.try_get(1)?)))
}

async fn plan(client: &impl GenericClient, ids: &[(i64, String)]) -> Result<Erasure, StoreError> {
    let only: Vec<i64> = ids.iter().map(|(id, _)| *id).collect();
    let r = client
        .query_one(
            "SELECT (SELECT count(*) FROM attachments WHERE entry_id = ANY($1)),
                    (SELECT count(*) FROM events WHERE entry_id = ANY($1)),
                    (SELECT count(*) FROM webhook_deliveries WHERE entry_id = ANY($1))",
            &[&only],
        )
        .await?;
    Ok(Erasure {
        entries: i64::try_from(ids.len()).unwrap_or(i64::MAX),
        attachments: r.try_get(0)?,
        events: r.try_get(1)?,
        deliveries: r.try_get(2)?,
    })
}

/// Deletes entries from the front of `ids` in one transaction, for about
/// [`DELETE_BUDGET`] at most (at least one); returns what went and how
/// many were taken. `erased_at` marks their status links "removed at the
/// customer's request".
async fn delete_some(
    db: &Postgres,
    ids: &[(i64, String)],
    erased_at: Option<i64>,
) -> Result<(Erasure, usize), StoreError> {
    let mut client = db.client().await?;
    let tx = client.transaction().await?;
    // The chunk's entries are locked first, in id order (as a bulk action
    // locks its own, `review`): taking an entry's words out of the
    // reports holds their sums, and holding them the erasure must not then
    // wait for the next entry, which a colleague may hold while waiting
    // for the sums.
    let chunk: Vec<i64> = ids.iter().take(DELETE_CHUNK).map(|(id, _)| *id).collect();
    tx.execute(
        "SELECT 1 FROM entries WHERE id = ANY($1) ORDER BY id FOR UPDATE",
        &[&chunk],
    )
    .await?;
    let started = Instant::now();
    let mut done = Erasure::default();
    let mut taken = 0;
    for entry in ids.iter().take(DELETE_CHUNK) {
        if taken > 0 && started.elapsed() >= DELETE_BUDGET {
            break;
        }
        let one = plan(&tx, std::slice::from_ref(entry)).await?;
        let (id, public_id) = entry;
        rollup::forget_text(&tx, *id).await?;
        if let Some(at) = erased_at {
            tx.execute(
                "INSERT INTO erased_entries (public_id, at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[public_id, &at],
            )
            .await?;
        }
        let deleted = tx
            .execute("DELETE FROM entries WHERE id = $1", &[id])
            .await?;
        // Gone already (another collector's sweep): nothing more to count.
        if deleted == 1 {
            done.add(one);
        }
        taken += 1;
    }
    tx.commit().await?;
    Ok((done, taken))
}

/// Deletes every entry of `ids`, a transaction at a time.
pub(super) async fn delete_all(
    db: &Postgres,
    ids: &[(i64, String)],
    erased_at: Option<i64>,
) -> Result<Erasure, StoreError> {
    let mut done = Erasure::default();
    let mut rest = ids;
    while !rest.is_empty() {
        let (part, taken) = delete_some(db, rest, erased_at).await?;
        rest = &rest[taken..];
        done.add(part);
    }
    Ok(done)
}

/// [`PERSON_ENTRY_SQL`] and its siblings with PostgreSQL's placeholder.
fn numbered(sql: &str) -> String {
    sql.replace('?', "$1")
}

async fn export(
    client: &impl GenericClient,
    email: &str,
    site: Option<i64>,
) -> Result<Vec<Value>, StoreError> {
    let mut entries = Vec::new();
    for (id, _) in matching(client, email, site).await? {
        let Some(r) = client
            .query_opt(&numbered(PERSON_ENTRY_SQL), &[&id])
            .await?
        else {
            continue;
        };
        let mut optional: [Option<String>; 14] = Default::default();
        for (i, column) in optional.iter_mut().enumerate() {
            *column = r.try_get(4 + i)?;
        }
        let mut entry = PersonEntry {
            fixed: [r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?],
            optional,
            created_at: r.try_get(18)?,
            timeline: Vec::new(),
            promises: Vec::new(),
            attachments: Vec::new(),
        };
        let rows = client.query(&numbered(PERSON_EVENTS_SQL), &[&id]).await?;
        entry.timeline = read_rows(&rows, |r| {
            Ok((
                r.try_get(0)?,
                r.try_get(1)?,
                r.try_get(2)?,
                r.try_get(3)?,
                r.try_get(4)?,
                r.try_get(5)?,
            ))
        })?;
        let rows = client.query(&numbered(PERSON_PROMISES_SQL), &[&id]).await?;
        entry.promises = read_rows(&rows, |r| {
            Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?))
        })?;
        let rows = client
            .query(&numbered(PERSON_ATTACHMENTS_SQL), &[&id])
            .await?;
        entry.attachments =
            read_rows(&rows, |r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))?;
        entries.push(entry.to_json());
    }
    Ok(entries)
}

impl Postgres {
    /// Up to `limit` of the entries sent with `email`, newest first.
    pub async fn person_entries(
        &self,
        email: String,
        site: Option<i64>,
        limit: i64,
    ) -> Result<Vec<HeldEntry>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                HELD_SELECT,
                &[&crate::person::email_key(&email), &site, &limit],
            )
            .await?;
        read_rows(&rows, |r| {
            Ok(HeldEntry {
                public_id: r.try_get(0)?,
                reference: r.try_get(1)?,
                kind: r.try_get(2)?,
                created_at: r.try_get(3)?,
            })
        })
    }

    /// What erasing `email` would delete.
    pub async fn erasure_plan(
        &self,
        email: String,
        site: Option<i64>,
    ) -> Result<Erasure, StoreError> {
        let client = self.client().await?;
        let ids = matching(&client, &email, site).await?;
        plan(&client, &ids).await
    }

    /// Deletes everything held about `email`, a few entries per
    /// transaction; recorded in the audit log (how many, never what).
    pub async fn erase_person(
        &self,
        email: String,
        site: Option<i64>,
        actor: Option<i64>,
        at: i64,
    ) -> Result<Erasure, StoreError> {
        let ids = {
            let client = self.client().await?;
            matching(&client, &email, site).await?
        };
        let done = delete_all(self, &ids, Some(at)).await?;
        let client = self.client().await?;
        let detail = format!("entries={}", done.entries);
        audit(&client, actor, "person.erased", "", Some(&detail), at).await?;
        Ok(done)
    }

    /// Everything held about `email`, as one JSON document.
    pub async fn export_person(
        &self,
        email: String,
        site: Option<i64>,
        actor: Option<i64>,
        at: i64,
    ) -> Result<PersonExport, StoreError> {
        let client = self.client().await?;
        let entries = export(&client, &email, site).await?;
        let detail = format!("entries={}", entries.len());
        audit(&client, actor, "person.exported", "", Some(&detail), at).await?;
        Ok(person_document(&email, at, entries))
    }

    /// Whether the entry behind a status link was erased on request.
    pub async fn was_erased(&self, public_id: String) -> Result<bool, StoreError> {
        let client = self.client().await?;
        Ok(client
            .query_opt(
                "SELECT 1 FROM erased_entries WHERE public_id = $1",
                &[&public_id],
            )
            .await?
            .is_some())
    }

    /// Deletes the emails and webhook messages finished more than
    /// [`OUTBOX_KEPT_DAYS`] before `now` (by when they were made), a chunk
    /// per statement; returns how many of each. The email of the last
    /// successful attempt stays, so the console can still say when email
    /// last went out.
    pub async fn prune_outboxes(&self, now: i64) -> Result<(usize, usize), StoreError> {
        let before = now - OUTBOX_KEPT_DAYS * DAY;
        let client = self.client().await?;
        // The newest row made before the cutoff (ids follow creation time),
        // found once rather than by every chunk reading back through the
        // recent rows.
        let newest = async |table: &str| -> Result<i64, StoreError> {
            Ok(client
                .query_one(
                    &format!(
                        "SELECT coalesce((SELECT id FROM {table} WHERE created_at < $1
                                          ORDER BY id DESC LIMIT 1), 0)"
                    ),
                    &[&before],
                )
                .await?
                .try_get(0)?)
        };
        let (mails_upto, deliveries_upto) = (
            newest("mail_outbox").await?,
            newest("webhook_deliveries").await?,
        );
        client.execute(FORGET_TEST_MAILS, &[&before]).await?;
        let mail = client
            .prepare_cached(
                "DELETE FROM mail_outbox WHERE id IN (
                     SELECT id FROM mail_outbox
                     WHERE id <= $1 AND state <> 'pending'
                       AND id IS DISTINCT FROM (SELECT outbox_id FROM mail_attempts WHERE ok
                                                ORDER BY id DESC LIMIT 1)
                     ORDER BY id LIMIT $2)",
            )
            .await?;
        let delivery = client
            .prepare_cached(
                "DELETE FROM webhook_deliveries WHERE id IN (
                     SELECT id FROM webhook_deliveries
                     WHERE id <= $1 AND state <> 'pending'
                     ORDER BY id LIMIT $2)",
            )
            .await?;
        let (mut mails, mut deliveries) = (0, 0);
        loop {
            let m = client.execute(&mail, &[&mails_upto, &PRUNE_CHUNK]).await?;
            let d = client
                .execute(&delivery, &[&deliveries_upto, &PRUNE_CHUNK])
                .await?;
            mails += usize::try_from(m).unwrap_or(usize::MAX);
            deliveries += usize::try_from(d).unwrap_or(usize::MAX);
            if i64::try_from(m.max(d)).unwrap_or(i64::MAX) < PRUNE_CHUNK {
                return Ok((mails, deliveries));
            }
        }
    }

    /// Deletes what every site's retention says is due at `now`; returns
    /// (site key, entries deleted) for the sites where it deleted any.
    pub async fn sweep_retention(&self, now: i64) -> Result<Vec<(String, i64)>, StoreError> {
        let rules: Vec<Rule> = {
            let client = self.client().await?;
            let rows = client
                .query(
                    "SELECT id, key, retention_days, retention_scope, spam_days FROM sites ORDER BY id",
                    &[],
                )
                .await?;
            read_rows(&rows, |r| {
                Ok(Rule {
                    site_id: r.try_get(0)?,
                    key: r.try_get(1)?,
                    retention: Retention {
                        days: r.try_get(2)?,
                        all: r.try_get::<_, &str>(3)? == "all",
                        spam_days: r.try_get(4)?,
                    },
                })
            })?
        };
        let mut swept = Vec::new();
        for rule in rules {
            let mut deleted = 0;
            for (status, cutoff) in cutoffs(&rule, now) {
                loop {
                    let due = self.due(&rule, status, cutoff).await?;
                    if due.is_empty() {
                        break;
                    }
                    deleted += delete_all(self, &due, None).await?.entries;
                }
            }
            if deleted > 0 {
                let client = self.client().await?;
                let detail = format!("entries={deleted}");
                audit(
                    &client,
                    None,
                    "retention.deleted",
                    &rule.key,
                    Some(&detail),
                    now,
                )
                .await?;
                tracing::info!(site = %rule.key, deleted, "retention deleted old feedback");
                swept.push((rule.key.clone(), deleted));
            }
        }
        Ok(swept)
    }

    /// A batch of `rule`'s site's entries in `status` untouched since
    /// `cutoff`, oldest first.
    async fn due(
        &self,
        rule: &Rule,
        status: Status,
        cutoff: i64,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        let client = self.client().await?;
        let limit = i64::try_from(DELETE_CHUNK).unwrap_or(i64::MAX);
        let rows = client
            .query(
                "SELECT id, public_id FROM entries
                 WHERE site_id = $1 AND status = $2 AND created_at < $3
                   AND NOT EXISTS (SELECT 1 FROM events v
                                   WHERE v.entry_id = entries.id AND v.created_at >= $3)
                 ORDER BY id LIMIT $4",
                &[&rule.site_id, &status.as_str(), &cutoff, &limit],
            )
            .await?;
        read_rows(&rows, |r| Ok((r.try_get(0)?, r.try_get(1)?)))
    }
}
