//! `earshot dev seed` on PostgreSQL: the same year of feedback as on
//! SQLite (`store::seed`), for trying the console and for its benchmark.

use rand::SeedableRng;
use rand::rngs::StdRng;

use super::Postgres;
use crate::ids;
use crate::review::workflow::DAY;
use crate::store::StoreError;
use crate::store::seed::{CHUNK, SEED_ACTOR, seeded};

impl Postgres {
    /// Adds `count` entries spread over the year before `now` to the first
    /// site, a transaction per chunk; `progress` hears how many are in.
    pub async fn seed(
        &self,
        count: usize,
        now: i64,
        progress: impl Fn(usize),
    ) -> Result<(), StoreError> {
        let site_id: i64 = {
            let client = self.client().await?;
            client
                .query_one("SELECT min(id) FROM sites", &[])
                .await?
                .try_get::<_, Option<i64>>(0)?
                .ok_or_else(|| StoreError::Corrupt("no site to seed".into()))?
        };
        let mut done = 0;
        while done < count {
            let len = CHUNK.min(count - done);
            self.seed_chunk(site_id, done, len, count, now).await?;
            done += len;
            progress(done);
        }
        self.roll_up().await.map(drop)
    }

    async fn seed_chunk(
        &self,
        site_id: i64,
        first: usize,
        len: usize,
        total: usize,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let entry = tx
            .prepare_cached(
                "WITH stored AS (
                     INSERT INTO entries (public_id, reference, status_token, site_id, kind, message,
                         expected, actual, email, status, severity, created_at, first_response_at,
                         language, page_url, email_key, search)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'en-GB',
                         'https://shop.example/checkout', $14, earshot_words($6, $7, $8))
                     ON CONFLICT DO NOTHING
                     RETURNING id
                 ), counted AS (
                     INSERT INTO entries_to_roll_up (entry_id) SELECT id FROM stored
                 )
                 SELECT id FROM stored",
            )
            .await?;
        let actor: Option<i64> = tx.query_one(SEED_ACTOR, &[]).await?.try_get(0)?;
        let reply = tx
            .prepare_cached(
                "INSERT INTO events (entry_id, kind, body, created_at, actor_id)
                 VALUES ($1, 'reply', 'Thanks, we are looking into it.', $2, $3) RETURNING id",
            )
            .await?;
        let promise = tx
            .prepare_cached(
                "INSERT INTO promises (entry_id, event_id, text, due_at, state, settled_at, created_at, site_id,
                     made_by)
                 VALUES ($1, $2, 'We will have this fixed', $3, $4, $5, $6, $7, $8)",
            )
            .await?;
        let moved = tx
            .prepare_cached(
                "INSERT INTO events (entry_id, kind, old_value, new_value, created_at, actor_id)
                 VALUES ($1, 'status', 'new', $2, $3, $4)",
            )
            .await?;
        let mut rng = StdRng::seed_from_u64(first as u64);
        let span = 365 * DAY;
        for i in first..first + len {
            let offset =
                i64::try_from(i).unwrap_or(0) * span / i64::try_from(total.max(1)).unwrap_or(1);
            let created_at = now - span + offset;
            let s = seeded(&mut rng, created_at, now);
            let email_key = s.email.as_deref().map(crate::person::email_key);
            // A random id that collides is drawn again.
            let mut entry_id = None;
            for _ in 0..crate::store::entries::ID_ATTEMPTS {
                let stored = tx
                    .query_opt(
                        &entry,
                        &[
                            &ids::public_id(created_at),
                            &ids::reference(created_at),
                            &ids::status_token(),
                            &site_id,
                            &s.kind,
                            &s.message,
                            &s.expected,
                            &s.actual,
                            &s.email,
                            &s.status,
                            &s.severity,
                            &s.created_at,
                            &s.first_response_at,
                            &email_key,
                        ],
                    )
                    .await?;
                if let Some(row) = stored {
                    entry_id = Some(row.try_get::<_, i64>(0)?);
                    break;
                }
            }
            let entry_id = entry_id.ok_or(StoreError::IdExhausted)?;
            if let Some(at) = s.first_response_at {
                let event_id: i64 = tx
                    .query_one(&reply, &[&entry_id, &at, &actor])
                    .await?
                    .try_get(0)?;
                if let Some((due, state, settled)) = s.promise {
                    tx.execute(
                        &promise,
                        &[
                            &entry_id, &event_id, &due, &state, &settled, &at, &site_id, &actor,
                        ],
                    )
                    .await?;
                }
            }
            if let Some(at) = s.status_at {
                tx.execute(&moved, &[&entry_id, &s.status, &at, &actor])
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}
