//! Each colleague's notification preferences on PostgreSQL
//! (`notify_prefs`), and the defaults of their role until they choose.

use deadpool_postgres::GenericClient;

use super::Postgres;
use super::staff::user;
use crate::notify::Prefs;
use crate::store::{Role, StoreError, User};

async fn prefs_of(
    client: &impl GenericClient,
    user_id: i64,
    role: Role,
) -> Result<Prefs, StoreError> {
    let stored = client
        .query_opt(
            "SELECT immediate, sites, digest_hour, on_assign FROM notify_prefs WHERE user_id = $1",
            &[&user_id],
        )
        .await?;
    stored.map_or_else(
        || Ok(Prefs::defaults(role)),
        |r| {
            Ok(Prefs::from_stored(
                r.try_get(0)?,
                r.try_get(1)?,
                r.try_get(2)?,
                r.try_get(3)?,
            ))
        },
    )
}

pub(super) async fn staff_prefs(
    client: &impl GenericClient,
) -> Result<Vec<(User, Prefs)>, StoreError> {
    let users: Vec<User> = client
        .query(
            "SELECT id, email, name, role FROM users WHERE disabled_at IS NULL ORDER BY id",
            &[],
        )
        .await?
        .iter()
        .map(|r| user(r, 0))
        .collect::<Result<_, _>>()?;
    let mut all = Vec::with_capacity(users.len());
    for u in users {
        let prefs = prefs_of(client, u.id, u.role).await?;
        all.push((u, prefs));
    }
    Ok(all)
}

impl Postgres {
    /// Every active colleague with their notification preferences.
    pub async fn staff_prefs(&self) -> Result<Vec<(User, Prefs)>, StoreError> {
        let client = self.client().await?;
        staff_prefs(&client).await
    }

    pub async fn notify_prefs(&self, user: User) -> Result<Prefs, StoreError> {
        let client = self.client().await?;
        prefs_of(&client, user.id, user.role).await
    }

    pub async fn set_notify_prefs(&self, user_id: i64, prefs: Prefs) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO notify_prefs (user_id, immediate, sites, digest_hour, on_assign)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (user_id) DO UPDATE SET immediate = excluded.immediate,
                     sites = excluded.sites, digest_hour = excluded.digest_hour,
                     on_assign = excluded.on_assign",
                &[
                    &user_id,
                    &prefs.immediate_text(),
                    &prefs.sites_text(),
                    &prefs.digest_hour.map(i64::from),
                    &prefs.on_assign,
                ],
            )
            .await?;
        Ok(())
    }
}
