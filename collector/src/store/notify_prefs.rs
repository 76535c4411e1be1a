//! Each colleague's notification preferences (`notify_prefs`), and the
//! defaults of their role until they choose.

use rusqlite::{Connection, OptionalExtension, params};

use super::{Role, Sqlite, StoreError, User};
use crate::notify::Prefs;

fn prefs_of(conn: &Connection, user_id: i64, role: Role) -> Result<Prefs, StoreError> {
    let stored = conn
        .prepare_cached(
            "SELECT immediate, sites, digest_hour, on_assign FROM notify_prefs WHERE user_id = ?1",
        )?
        .query_row([user_id], |r| {
            Ok(Prefs::from_stored(
                &r.get::<_, String>(0)?,
                &r.get::<_, String>(1)?,
                r.get(2)?,
                r.get(3)?,
            ))
        })
        .optional()?;
    Ok(stored.unwrap_or_else(|| Prefs::defaults(role)))
}

pub(super) fn staff_prefs(conn: &Connection) -> Result<Vec<(User, Prefs)>, StoreError> {
    let users: Vec<User> = conn
        .prepare_cached(
            "SELECT id, email, name, role FROM users WHERE disabled_at IS NULL ORDER BY id",
        )?
        .query_map([], |r| super::staff::user_from_row(r, 0))?
        .collect::<Result<_, _>>()?;
    users
        .into_iter()
        .map(|u| {
            let prefs = prefs_of(conn, u.id, u.role)?;
            Ok((u, prefs))
        })
        .collect()
}

impl Sqlite {
    /// Every colleague with their notification preferences.
    pub async fn staff_prefs(&self) -> Result<Vec<(User, Prefs)>, StoreError> {
        self.read(staff_prefs).await
    }

    pub async fn notify_prefs(&self, user: User) -> Result<Prefs, StoreError> {
        self.read(move |conn| prefs_of(conn, user.id, user.role))
            .await
    }

    pub async fn set_notify_prefs(&self, user_id: i64, prefs: Prefs) -> Result<(), StoreError> {
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT INTO notify_prefs (user_id, immediate, sites, digest_hour, on_assign)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (user_id) DO UPDATE SET immediate = excluded.immediate,
                     sites = excluded.sites, digest_hour = excluded.digest_hour,
                     on_assign = excluded.on_assign",
            )?
            .execute(params![
                user_id,
                prefs.immediate_text(),
                prefs.sites_text(),
                prefs.digest_hour,
                prefs.on_assign
            ])?;
            Ok(())
        })
        .await
    }
}
