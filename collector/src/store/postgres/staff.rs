//! Staff accounts and their sessions on PostgreSQL: in the database, so a
//! session opened through one collector is honoured by every other.

use tokio_postgres::Row;

use super::{Postgres, audit, is_unique_violation, read_opt, read_rows};
use crate::name::name_key;
use crate::store::staff::SIGNED_OUT_ELSEWHERE;
use crate::store::{NewUser, OpenSession, Role, Session, StoreError, User};

/// Serialises first-run setups across collectors.
const FIRST_ADMIN_LOCK: i64 = 0x0065_6172_7368_0002;

/// The account an address names, as on SQLite: in any case, its domain
/// written either way; of two accounts a database from before this rule
/// may hold (one for each way), the one typed exactly wins, then the
/// older. Bound to [`address`]'s two values as `$1` and `$2`.
pub(super) const USER_ID_BY_EMAIL: &str = "SELECT id FROM users
     WHERE lower(email) IN (lower($1), lower($2)) ORDER BY email <> $1, id LIMIT 1";

/// A staff member's address as the queries here take it: trimmed as
/// typed, and with its domain written the other way
/// ([`crate::address::other_form`]).
pub(super) fn address(email: &str) -> (String, String) {
    let typed = email.trim();
    (
        typed.to_owned(),
        crate::address::other_form(typed).into_owned(),
    )
}

pub(super) fn user(row: &Row, offset: usize) -> Result<User, StoreError> {
    let role: String = row.try_get(offset + 3)?;
    Ok(User {
        id: row.try_get(offset)?,
        email: row.try_get(offset + 1)?,
        name: row.try_get(offset + 2)?,
        // As on SQLite: the CHECK admits two roles; fall back to the weaker.
        role: Role::parse(&role).unwrap_or(Role::Agent),
    })
}

async fn insert_user(
    client: &impl deadpool_postgres::GenericClient,
    new: &NewUser,
    at: i64,
) -> Result<User, StoreError> {
    // The unique index (on `lower(email)`) sees one way of writing a
    // domain; this, the other.
    let (typed, other) = address(&new.email);
    if other != typed {
        let taken = client
            .query_opt(
                "SELECT 1 FROM users WHERE lower(email) = lower($1)",
                &[&other],
            )
            .await?;
        if taken.is_some() {
            return Err(StoreError::Duplicate("email"));
        }
    }
    let inserted = client
        .query_one(
            "INSERT INTO users (email, name, name_key, role, password_hash, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            &[
                &new.email,
                &new.name,
                &name_key(&new.name),
                &new.role.as_str(),
                &new.password_hash,
                &at,
            ],
        )
        .await;
    match inserted {
        Ok(row) => Ok(User {
            id: row.try_get(0)?,
            email: new.email.clone(),
            name: new.name.clone(),
            role: new.role,
        }),
        Err(e) if is_unique_violation(&e) => Err(StoreError::Duplicate("email")),
        Err(e) => Err(e.into()),
    }
}

impl Postgres {
    /// An account added from the command line (`earshot user add`),
    /// recorded in the audit log as the command line's doing.
    pub async fn add_user(&self, user: NewUser, at: i64) -> Result<User, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let added = insert_user(&tx, &user, at).await?;
        let role = Some(added.role.as_str());
        super::audit(&tx, None, "staff.added", &added.email, role, at).await?;
        tx.commit().await?;
        Ok(added)
    }

    /// Creates the first account, as admin, only while there is none; a
    /// second setup racing the first (on any collector) gets `None`.
    pub async fn add_first_admin(
        &self,
        user: NewUser,
        at: i64,
    ) -> Result<Option<User>, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&FIRST_ADMIN_LOCK])
            .await?;
        let users: i64 = tx
            .query_one("SELECT count(*) FROM users", &[])
            .await?
            .try_get(0)?;
        if users > 0 {
            return Ok(None);
        }
        let admin = NewUser {
            role: Role::Admin,
            ..user
        };
        let added = insert_user(&tx, &admin, at).await?;
        super::audit(&tx, Some(added.id), "staff.setup", &added.email, None, at).await?;
        tx.commit().await?;
        Ok(Some(added))
    }

    pub async fn user_count(&self) -> Result<i64, StoreError> {
        let client = self.client().await?;
        Ok(client
            .query_one("SELECT count(*) FROM users", &[])
            .await?
            .try_get(0)?)
    }

    pub async fn users(&self) -> Result<Vec<User>, StoreError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT id, email, name, role FROM users WHERE disabled_at IS NULL
                 ORDER BY name_key, id",
            )
            .await?;
        client
            .query(&stmt, &[])
            .await?
            .iter()
            .map(|r| user(r, 0))
            .collect()
    }

    /// The account and its password hash, for checking a sign-in. Emails
    /// compare without regard to case, their domain written either way,
    /// as on SQLite.
    pub async fn user_for_login(
        &self,
        email: String,
    ) -> Result<Option<(User, String)>, StoreError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                "SELECT id, email, name, role, password_hash FROM users
                     WHERE id = ({USER_ID_BY_EMAIL}) AND disabled_at IS NULL"
            ))
            .await?;
        let (typed, other) = address(&email);
        let row = client.query_opt(&stmt, &[&typed, &other]).await?;
        read_opt(row, |r| Ok((user(r, 0)?, r.try_get(4)?)))
    }

    pub async fn set_password(
        &self,
        email: String,
        password_hash: String,
        actor: Option<i64>,
        at: i64,
    ) -> Result<bool, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let (typed, other) = address(&email);
        let changed = tx
            .query_opt(
                &format!(
                    "UPDATE users SET password_hash = $3 WHERE id = ({USER_ID_BY_EMAIL})
                     RETURNING id, email"
                ),
                &[&typed, &other, &password_hash],
            )
            .await?;
        let Some(row) = changed else {
            return Ok(false);
        };
        let user_id: i64 = row.try_get(0)?;
        let email: String = row.try_get(1)?;
        // A new password ends every session opened with the old one.
        tx.execute("DELETE FROM sessions WHERE user_id = $1", &[&user_id])
            .await?;
        super::audit(&tx, actor, "staff.password_changed", &email, None, at).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Starts a session; `replacing` (the session the browser had before
    /// signing in, if any) ends in the same transaction.
    pub async fn create_session(
        &self,
        id_hash: Vec<u8>,
        user_id: i64,
        csrf_token: String,
        now: i64,
        replacing: Option<Vec<u8>>,
    ) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        if let Some(old) = &replacing {
            tx.execute("DELETE FROM sessions WHERE id_hash = $1", &[old])
                .await?;
        }
        tx.execute(
            "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, last_seen)
             VALUES ($1, $2, $3, $4, $4)",
            &[&id_hash, &user_id, &csrf_token, &now],
        )
        .await?;
        tx.execute(
            "UPDATE users SET last_sign_in_at = $2 WHERE id = $1",
            &[&user_id, &now],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn session(&self, id_hash: Vec<u8>) -> Result<Option<Session>, StoreError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT u.id, u.email, u.name, u.role, s.csrf_token, s.created_at, s.last_seen
                 FROM sessions s JOIN users u ON u.id = s.user_id
                 WHERE s.id_hash = $1 AND u.disabled_at IS NULL",
            )
            .await?;
        let row = client.query_opt(&stmt, &[&id_hash]).await?;
        read_opt(row, |r| {
            Ok(Session {
                user: user(r, 0)?,
                csrf_token: r.try_get(4)?,
                created_at: r.try_get(5)?,
                last_seen: r.try_get(6)?,
            })
        })
    }

    pub async fn touch_session(&self, id_hash: Vec<u8>, now: i64) -> Result<(), StoreError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("UPDATE sessions SET last_seen = $2 WHERE id_hash = $1")
            .await?;
        client.execute(&stmt, &[&id_hash, &now]).await?;
        Ok(())
    }

    pub async fn delete_session(&self, id_hash: Vec<u8>) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute("DELETE FROM sessions WHERE id_hash = $1", &[&id_hash])
            .await?;
        Ok(())
    }

    pub async fn other_sessions(
        &self,
        user_id: i64,
        keep: Vec<u8>,
        idle_before: i64,
        created_before: i64,
    ) -> Result<Vec<OpenSession>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT created_at, last_seen FROM sessions
                 WHERE user_id = $1 AND id_hash <> $2 AND last_seen >= $3 AND created_at >= $4
                 ORDER BY last_seen DESC LIMIT 100",
                &[&user_id, &keep, &idle_before, &created_before],
            )
            .await?;
        read_rows(&rows, |r| {
            Ok(OpenSession {
                created_at: r.try_get(0)?,
                last_seen: r.try_get(1)?,
            })
        })
    }

    pub async fn end_other_sessions(
        &self,
        user_id: i64,
        keep: Vec<u8>,
        at: i64,
    ) -> Result<usize, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let ended = tx
            .execute(
                "DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2",
                &[&user_id, &keep],
            )
            .await?;
        let email: Option<String> = tx
            .query_opt("SELECT email FROM users WHERE id = $1", &[&user_id])
            .await?
            .map(|r| r.try_get(0))
            .transpose()?;
        if let Some(email) = email {
            let detail = format!("sessions={ended}");
            audit(
                &tx,
                Some(user_id),
                SIGNED_OUT_ELSEWHERE,
                &email,
                Some(&detail),
                at,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(usize::try_from(ended).unwrap_or(usize::MAX))
    }

    /// Removes sessions past either timeout.
    pub async fn delete_expired_sessions(
        &self,
        idle_before: i64,
        created_before: i64,
    ) -> Result<usize, StoreError> {
        let client = self.client().await?;
        let removed = client
            .execute(
                "DELETE FROM sessions WHERE last_seen < $1 OR created_at < $2",
                &[&idle_before, &created_before],
            )
            .await?;
        Ok(usize::try_from(removed).unwrap_or(usize::MAX))
    }
}
