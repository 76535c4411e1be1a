//! Submissions stored in batches on PostgreSQL: one statement and one
//! commit for every submission that arrived while the previous batch was
//! being stored.
//!
//! Stored one statement each, the server spent most of its time around the
//! rows rather than on them: starting the executor for three tables and
//! their indexes, committing, answering, being woken for the next
//! (measured with `pgbench` on a million entries: 4,160 rows/s one by one,
//! 10,500 rows/s sixteen at a time, on the same two cores). A `201` still
//! means committed: a submission is answered only after the commit of the
//! batch that holds it.
//!
//! A batch never fails for one of its rows: it skips rows whose keys are
//! taken (`ON CONFLICT DO NOTHING` over every unique index), and each skipped
//! submission is then stored alone, which tells a replay (its idempotency
//! key is taken: the earlier entry is answered) from a random id that
//! collided (drawn again). If the batch fails as a whole, every submission
//! in it is stored alone too, so a row the server refuses refuses only its
//! own customer.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use deadpool_postgres::Pool;
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio_postgres::types::ToSql;

use super::entries::insert_one;
use crate::abuse::SpamReason;
use crate::store::entries::{host_context_json, text};
use crate::store::{Inserted, NewEntry, StoreError, WriteStats};

/// Most submissions in one statement. Past a few dozen the statement
/// saves little more, and the batch's slowest row holds up the others.
const BATCH_MAX: usize = 64;

/// Batches stored at once, each on a connection of its own: while one
/// commits, the next gathers what arrived meanwhile; a database with more
/// cores stores several at a time.
const WORKERS: usize = 4;

/// Submissions waiting for a worker; beyond this, submitting waits.
const QUEUE: usize = 4 * BATCH_MAX;

/// Stores the batch and queues its entries to be counted in reports and,
/// unless spam, announced, as the single-row statement does
/// (`entries::INSERT`); answers the public ids of the rows it stored.
///
/// Rows go in by idempotency key, not by arrival. A row whose key another
/// batch holds uncommitted waits for that batch, so two collectors whose
/// batches held the same retried submissions in opposite orders waited
/// for each other until PostgreSQL broke the deadlock a second later (and
/// both stored every row alone). The widget's keys begin with the time,
/// so key order is still about arrival order.
const INSERT_MANY: &str = "WITH input AS (
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[],
            $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[],
            $12::text[], $13::text[], $14::text[], $15::text[], $16::text[], $17::text[],
            $18::bigint[], $19::text[], $20::text[], $21::text[], $22::text[], $23::text[],
            $24::text[], $25::text[])
            WITH ORDINALITY AS i(public_id, reference, status_token, site_id, kind,
                message, expected, actual, email, page_url, page_title, page_referrer,
                user_agent, language, timezone, viewport, idempotency_key, created_at,
                ip_hash, spam_reason, status, severity, name, context, email_key, n)
     ), stored AS (
        INSERT INTO entries (public_id, reference, status_token, site_id, kind,
            message, expected, actual, email, page_url, page_title, page_referrer, user_agent,
            language, timezone, viewport, idempotency_key, created_at, ip_hash, spam_reason,
            status, severity, name, context, email_key, search)
        SELECT public_id, reference, status_token, site_id, kind,
            message, expected, actual, email, page_url, page_title, page_referrer, user_agent,
            language, timezone, viewport, idempotency_key, created_at, ip_hash, spam_reason,
            status, severity, name, context, email_key, earshot_words(message, expected, actual)
        FROM input ORDER BY site_id, idempotency_key, n
        ON CONFLICT DO NOTHING
        RETURNING id, status, public_id
     ), announced AS (
        INSERT INTO entries_to_announce (entry_id) SELECT id FROM stored WHERE status <> 'spam'
     ), counted AS (
        INSERT INTO entries_to_roll_up (entry_id) SELECT id FROM stored
     )
     SELECT public_id FROM stored";

/// A submission and who waits for its answer.
struct Job {
    entry: NewEntry,
    answer: oneshot::Sender<Result<Inserted, StoreError>>,
}

/// Where submissions are handed to the workers.
pub(super) struct Intake {
    jobs: mpsc::Sender<Job>,
}

impl Intake {
    /// Starts the workers on `pool`. They stop when the intake is dropped
    /// and what was handed to them is stored.
    pub fn start(pool: &Pool, stats: &WriteStats) -> Intake {
        let (jobs, queue) = mpsc::channel(QUEUE);
        let queue = Arc::new(Mutex::new(queue));
        for _ in 0..WORKERS {
            tokio::spawn(work(pool.clone(), Arc::clone(&queue), stats.clone()));
        }
        Intake { jobs }
    }

    /// Stores `entry` with the next batch; resolves after its commit.
    pub async fn store(&self, entry: NewEntry) -> Result<Inserted, StoreError> {
        let (answer, answered) = oneshot::channel();
        self.jobs
            .send(Job { entry, answer })
            .await
            .map_err(|_| StoreError::Unavailable)?;
        // A worker that went away (the runtime shutting down) dropped the
        // job unanswered: not stored as far as anyone knows.
        answered.await.map_err(|_| StoreError::Unavailable)?
    }
}

async fn work(pool: Pool, queue: Arc<Mutex<mpsc::Receiver<Job>>>, stats: WriteStats) {
    loop {
        let mut batch = Vec::new();
        {
            // One worker gathers at a time: it waits for the first
            // submission, then takes what else is waiting, and lets go.
            let mut queue = queue.lock().await;
            match queue.recv().await {
                Some(job) => batch.push(job),
                None => return,
            }
            while batch.len() < BATCH_MAX {
                match queue.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
        }
        store_batch(&pool, batch, &stats).await;
    }
}

/// Stores `batch` and answers each submission in it.
async fn store_batch(pool: &Pool, batch: Vec<Job>, stats: &WriteStats) {
    let drawn: Vec<Inserted> = batch
        .iter()
        .map(|job| Inserted::drawn(job.entry.received_at))
        .collect();
    let stored = match super::client_of(pool).await {
        Ok(client) => {
            // Timed from the statement, not from waiting for a connection.
            let began = Instant::now();
            let stored = insert_many(&client, &batch, &drawn).await;
            if stored.is_ok() {
                stats.batch_jobs.observe(batch.len() as f64);
                stats.commit_seconds.observe(began.elapsed().as_secs_f64());
            }
            stored
        }
        Err(e) => Err(e),
    };
    let (stored, mut reachable) = match stored {
        Ok(stored) => (stored, true),
        // No database to store them alone either: each is told at once
        // (a 503 the widget retries after), not after waiting its turn.
        Err(StoreError::Unavailable) => (HashSet::new(), false),
        Err(e) => {
            tracing::warn!(error = %e, rows = batch.len(), "a batch of submissions failed; storing each alone");
            (HashSet::new(), true)
        }
    };
    for (job, inserted) in batch.into_iter().zip(drawn) {
        let result = if stored.contains(&inserted.public_id) {
            Ok(inserted)
        } else if !reachable {
            Err(StoreError::Unavailable)
        } else {
            store_alone(pool, &job.entry).await
        };
        if matches!(result, Err(StoreError::Unavailable)) {
            reachable = false;
        }
        // The submitter may have gone; the entry is stored either way.
        let _ = job.answer.send(result);
    }
}

async fn store_alone(pool: &Pool, entry: &NewEntry) -> Result<Inserted, StoreError> {
    let client = super::client_of(pool).await?;
    insert_one(&client, entry).await
}

/// One statement for the whole batch; the public ids of the rows stored.
async fn insert_many(
    client: &deadpool_postgres::Client,
    batch: &[Job],
    drawn: &[Inserted],
) -> Result<HashSet<String>, StoreError> {
    let entries: Vec<&NewEntry> = batch.iter().map(|job| &job.entry).collect();
    let column = |f: fn(&NewEntry) -> Option<&str>| -> Vec<Option<&str>> {
        entries.iter().map(|e| f(e)).collect()
    };
    let public_ids: Vec<&str> = drawn.iter().map(|d| d.public_id.as_str()).collect();
    let references: Vec<&str> = drawn.iter().map(|d| d.reference.as_str()).collect();
    let tokens: Vec<&str> = drawn.iter().map(|d| d.status_token.as_str()).collect();
    let site_ids: Vec<i64> = entries.iter().map(|e| e.site_id).collect();
    let kinds = column(|e| Some(e.submission.kind.as_str()));
    let messages = column(|e| e.submission.body.message());
    let expected = column(|e| e.submission.body.expected());
    let actual = column(|e| e.submission.body.actual());
    let emails = column(|e| e.submission.email.as_ref().map(|m| m.as_str()));
    let urls = column(|e| e.submission.page.url.as_ref().map(|u| u.as_str()));
    let titles = column(|e| text(&e.submission.page.title));
    let referrers = column(|e| e.submission.page.referrer.as_ref().map(|u| u.as_str()));
    let agents = column(|e| text(&e.submission.client.user_agent));
    let languages = column(|e| text(&e.submission.client.language));
    let timezones = column(|e| text(&e.submission.client.timezone));
    let viewports = column(|e| text(&e.submission.client.viewport));
    let keys = column(|e| e.submission.idempotency_key.as_ref().map(|k| k.as_str()));
    let created: Vec<i64> = entries.iter().map(|e| e.received_at).collect();
    let ip_hashes = column(|e| e.ip_hash.as_deref());
    let spam = column(|e| e.spam.map(SpamReason::as_str));
    let statuses = column(|e| Some(e.status()));
    let severities = column(|e| e.submission.severity.map(|v| v.as_str()));
    let names = column(|e| text(&e.submission.name));
    let contexts: Vec<Option<String>> = entries
        .iter()
        .map(|e| host_context_json(&e.submission.context))
        .collect();
    let email_keys: Vec<Option<String>> = entries.iter().map(|e| e.email_key()).collect();
    let params: [&(dyn ToSql + Sync); 25] = [
        &public_ids,
        &references,
        &tokens,
        &site_ids,
        &kinds,
        &messages,
        &expected,
        &actual,
        &emails,
        &urls,
        &titles,
        &referrers,
        &agents,
        &languages,
        &timezones,
        &viewports,
        &keys,
        &created,
        &ip_hashes,
        &spam,
        &statuses,
        &severities,
        &names,
        &contexts,
        &email_keys,
    ];
    let statement = client.prepare_cached(INSERT_MANY).await?;
    let rows = client.query(&statement, &params).await?;
    rows.iter().map(|row| Ok(row.try_get(0)?)).collect()
}
