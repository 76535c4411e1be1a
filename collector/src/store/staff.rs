//! Staff accounts and their sessions.

use rusqlite::{Connection, OptionalExtension, params};

use super::{Sqlite, StoreError};
use crate::name::name_key;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Everything an agent can do, plus site settings.
    Admin,
    /// Triage, answer and close entries.
    Agent,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Agent => "agent",
        }
    }

    pub fn parse(raw: &str) -> Option<Role> {
        match raw {
            "admin" => Some(Role::Admin),
            "agent" => Some(Role::Agent),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    pub role: Role,
    /// argon2id PHC string, never the password.
    pub password_hash: String,
}

/// A live session and whom it belongs to.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    pub csrf_token: String,
    pub created_at: i64,
    pub last_seen: i64,
}

/// One of a colleague's other open sessions, as "Your account" lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenSession {
    pub created_at: i64,
    pub last_seen: i64,
}

/// What the audit log calls a colleague ending their other sessions.
pub(super) const SIGNED_OUT_ELSEWHERE: &str = "staff.signed_out_elsewhere";

pub(super) fn user_from_row(r: &rusqlite::Row<'_>, offset: usize) -> rusqlite::Result<User> {
    let role: String = r.get(offset + 3)?;
    Ok(User {
        id: r.get(offset)?,
        email: r.get(offset + 1)?,
        name: r.get(offset + 2)?,
        // The CHECK constraint admits only the two roles; fall back to the
        // weaker one rather than fail if that ever changes.
        role: Role::parse(&role).unwrap_or(Role::Agent),
    })
}

/// The account an address names, in any case of any letter, as
/// PostgreSQL's `lower()` matches it (the column's `NOCASE` folds only A to
/// Z), with an international domain written either way
/// ([`crate::address::other_form`]). A database from before this rule may
/// hold two accounts told apart only by the case of such a letter: the one
/// typed exactly wins, then the older. Bound to [`EmailLookup`]'s values as
/// `?1` (folded), `?2` (as typed) and `?3` (the other form, folded).
pub(super) const USER_ID_BY_EMAIL: &str =
    "SELECT id FROM users WHERE earshot_fold(email) IN (?1, ?3)
     ORDER BY email <> ?2 COLLATE BINARY, id LIMIT 1";

/// A staff member's address as [`USER_ID_BY_EMAIL`] takes it (trimmed).
pub(super) struct EmailLookup {
    pub folded: String,
    pub typed: String,
    pub other: String,
}

pub(super) fn address(email: &str) -> EmailLookup {
    let typed = email.trim();
    EmailLookup {
        folded: super::fold::fold(typed),
        typed: typed.to_owned(),
        other: super::fold::fold(&crate::address::other_form(typed)),
    }
}

/// Whether an account already has this address, in any case, its domain
/// written either way.
pub(super) fn email_taken(conn: &Connection, email: &str) -> Result<bool, StoreError> {
    let EmailLookup { folded, other, .. } = address(email);
    Ok(conn
        .prepare_cached("SELECT 1 FROM users WHERE earshot_fold(email) IN (?1, ?2)")?
        .query_row([folded, other], |_| Ok(()))
        .optional()?
        .is_some())
}

fn insert_user(conn: &Connection, user: &NewUser, at: i64) -> Result<User, StoreError> {
    if email_taken(conn, &user.email)? {
        return Err(StoreError::Duplicate("email"));
    }
    let result = conn.execute(
        "INSERT INTO users (email, name, name_key, role, password_hash, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            user.email,
            user.name,
            name_key(&user.name),
            user.role.as_str(),
            user.password_hash,
            at
        ],
    );
    match result {
        Ok(_) => Ok(User {
            id: conn.last_insert_rowid(),
            email: user.email.clone(),
            name: user.name.clone(),
            role: user.role,
        }),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE =>
        {
            Err(StoreError::Duplicate("email"))
        }
        Err(e) => Err(e.into()),
    }
}

fn count_users(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.query_row("SELECT count(*) FROM users", [], |r| r.get(0))?)
}

impl Sqlite {
    /// An account added from the command line (`earshot user add`),
    /// recorded in the audit log as the command line's doing.
    pub async fn add_user(&self, user: NewUser, at: i64) -> Result<User, StoreError> {
        self.write(move |conn| {
            let added = insert_user(conn, &user, at)?;
            let role = Some(added.role.as_str());
            super::accounts::audit(conn, None, "staff.added", &added.email, role, at)?;
            Ok(added)
        })
        .await
    }

    /// Creates the first account, as admin, only while there is none; a
    /// second setup attempt racing the first gets `None`.
    pub async fn add_first_admin(
        &self,
        user: NewUser,
        at: i64,
    ) -> Result<Option<User>, StoreError> {
        self.write(move |conn| {
            if count_users(conn)? > 0 {
                return Ok(None);
            }
            let user = NewUser {
                role: Role::Admin,
                ..user.clone()
            };
            let admin = insert_user(conn, &user, at)?;
            super::accounts::audit(conn, Some(admin.id), "staff.setup", &admin.email, None, at)?;
            Ok(Some(admin))
        })
        .await
    }

    pub async fn user_count(&self) -> Result<i64, StoreError> {
        self.read(count_users).await
    }

    pub async fn users(&self) -> Result<Vec<User>, StoreError> {
        self.read(|conn| {
            let mut stmt =
                conn.prepare_cached("SELECT id, email, name, role FROM users WHERE disabled_at IS NULL ORDER BY name_key, id")?;
            let rows = stmt.query_map([], |r| user_from_row(r, 0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    /// The account and its password hash, for checking a login.
    pub async fn user_for_login(
        &self,
        email: String,
    ) -> Result<Option<(User, String)>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT id, email, name, role, password_hash FROM users
                 WHERE id = ({USER_ID_BY_EMAIL}) AND disabled_at IS NULL"
            ))?;
            let EmailLookup {
                folded,
                typed,
                other,
            } = address(&email);
            Ok(stmt
                .query_row(params![folded, typed, other], |r| {
                    Ok((user_from_row(r, 0)?, r.get(4)?))
                })
                .optional()?)
        })
        .await
    }

    pub async fn set_password(
        &self,
        email: String,
        password_hash: String,
        actor: Option<i64>,
        at: i64,
    ) -> Result<bool, StoreError> {
        self.write(move |conn| {
            let EmailLookup {
                folded,
                typed,
                other,
            } = address(&email);
            let changed: Option<(i64, String)> = conn
                .query_row(
                    &format!(
                        "UPDATE users SET password_hash = ?4 WHERE id = ({USER_ID_BY_EMAIL})
                         RETURNING id, email"
                    ),
                    params![folded, typed, other, password_hash],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let Some((user_id, email)) = changed else {
                return Ok(false);
            };
            // A new password ends every session opened with the old one.
            conn.execute("DELETE FROM sessions WHERE user_id = ?1", [user_id])?;
            super::accounts::audit(conn, actor, "staff.password_changed", &email, None, at)?;
            Ok(true)
        })
        .await
    }

    /// Starts a session; `replacing` (the session the browser had before
    /// login, if any) ends in the same transaction.
    pub async fn create_session(
        &self,
        id_hash: Vec<u8>,
        user_id: i64,
        csrf_token: String,
        now: i64,
        replacing: Option<Vec<u8>>,
    ) -> Result<(), StoreError> {
        self.write(move |conn| {
            if let Some(old) = &replacing {
                conn.execute("DELETE FROM sessions WHERE id_hash = ?1", [old])?;
            }
            conn.execute(
                "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, last_seen)
                 VALUES (?1, ?2, ?3, ?4, ?4)",
                params![id_hash, user_id, csrf_token, now],
            )?;
            conn.execute(
                "UPDATE users SET last_sign_in_at = ?2 WHERE id = ?1",
                params![user_id, now],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn session(&self, id_hash: Vec<u8>) -> Result<Option<Session>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT u.id, u.email, u.name, u.role, s.csrf_token, s.created_at, s.last_seen
                 FROM sessions s JOIN users u ON u.id = s.user_id
                 WHERE s.id_hash = ?1 AND u.disabled_at IS NULL",
            )?;
            Ok(stmt
                .query_row([id_hash], |r| {
                    Ok(Session {
                        user: user_from_row(r, 0)?,
                        csrf_token: r.get(4)?,
                        created_at: r.get(5)?,
                        last_seen: r.get(6)?,
                    })
                })
                .optional()?)
        })
        .await
    }

    pub async fn touch_session(&self, id_hash: Vec<u8>, now: i64) -> Result<(), StoreError> {
        self.write(move |conn| {
            conn.execute(
                "UPDATE sessions SET last_seen = ?2 WHERE id_hash = ?1",
                params![id_hash, now],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn delete_session(&self, id_hash: Vec<u8>) -> Result<(), StoreError> {
        self.write(move |conn| {
            conn.execute("DELETE FROM sessions WHERE id_hash = ?1", [&id_hash])?;
            Ok(())
        })
        .await
    }

    /// `user_id`'s sessions other than `keep` that have not timed out
    /// (used since `idle_before`, opened since `created_before`), the most
    /// recently used first.
    pub async fn other_sessions(
        &self,
        user_id: i64,
        keep: Vec<u8>,
        idle_before: i64,
        created_before: i64,
    ) -> Result<Vec<OpenSession>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT created_at, last_seen FROM sessions
                 WHERE user_id = ?1 AND id_hash <> ?2 AND last_seen >= ?3 AND created_at >= ?4
                 ORDER BY last_seen DESC LIMIT 100",
            )?;
            let rows =
                stmt.query_map(params![user_id, keep, idle_before, created_before], |r| {
                    Ok(OpenSession {
                        created_at: r.get(0)?,
                        last_seen: r.get(1)?,
                    })
                })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    /// Ends every session of `user_id` but `keep` (a lost laptop, a
    /// shared computer); returns how many, recorded in the audit log.
    pub async fn end_other_sessions(
        &self,
        user_id: i64,
        keep: Vec<u8>,
        at: i64,
    ) -> Result<usize, StoreError> {
        self.write(move |conn| {
            let ended = conn.execute(
                "DELETE FROM sessions WHERE user_id = ?1 AND id_hash <> ?2",
                params![user_id, keep],
            )?;
            let email: Option<String> = conn
                .query_row("SELECT email FROM users WHERE id = ?1", [user_id], |r| {
                    r.get(0)
                })
                .optional()?;
            if let Some(email) = email {
                let detail = format!("sessions={ended}");
                let action = SIGNED_OUT_ELSEWHERE;
                super::accounts::audit(conn, Some(user_id), action, &email, Some(&detail), at)?;
            }
            Ok(ended)
        })
        .await
    }

    /// Removes sessions past either timeout.
    pub async fn delete_expired_sessions(
        &self,
        idle_before: i64,
        created_before: i64,
    ) -> Result<usize, StoreError> {
        self.write(move |conn| {
            Ok(conn.execute(
                "DELETE FROM sessions WHERE last_seen < ?1 OR created_at < ?2",
                params![idle_before, created_before],
            )?)
        })
        .await
    }
}
