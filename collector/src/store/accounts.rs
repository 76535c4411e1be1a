//! Administering staff accounts: roles, disabling, renaming, and the
//! audit log of who changed what (one-time links: `account_links`).
//!
//! The last active administrator can be neither disabled nor demoted: the
//! check and the change share one transaction, so two admins demoting each
//! other at once cannot both succeed.

use rusqlite::{Connection, OptionalExtension, params};

use super::staff::user_from_row;
use super::{Role, Sqlite, StoreError, User};
use crate::name::name_key;

/// A staff account as the Staff page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub user: User,
    pub created_at: i64,
    pub disabled_at: Option<i64>,
    /// When a session last began (a sign-in, an accepted invitation, a
    /// new password); `None` if never since this was recorded.
    pub last_sign_in_at: Option<i64>,
}

/// Why an account change was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AccountRefusal {
    #[error("there is no such colleague")]
    NoUser,
    #[error("this is the last active administrator: make someone else an administrator first")]
    LastAdmin,
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error("this link is not valid: it was used, replaced or has expired")]
    LinkInvalid,
    #[error("this account was sent as many links as it may be this hour")]
    AskedTooOften,
}

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error(transparent)]
    Refused(#[from] AccountRefusal),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub(super) type Outcome<T> = Result<Result<T, AccountRefusal>, StoreError>;

pub(super) fn flatten<T>(outcome: Outcome<T>) -> Result<T, AccountError> {
    Ok(outcome??)
}

/// Records an administrative change. `detail` never holds feedback text.
pub(super) fn audit(
    conn: &Connection,
    actor: Option<i64>,
    action: &str,
    subject: &str,
    detail: Option<&str>,
    at: i64,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO audit_log (actor_id, action, subject, detail, at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![actor, action, subject, detail, at])?;
    Ok(())
}

pub(super) fn account(conn: &Connection, user_id: i64) -> Result<Option<(User, bool)>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT id, email, name, role, disabled_at IS NOT NULL FROM users WHERE id = ?1",
        )?
        .query_row([user_id], |r| Ok((user_from_row(r, 0)?, r.get(4)?)))
        .optional()?)
}

/// Active administrators other than `user_id`.
fn other_active_admins(conn: &Connection, user_id: i64) -> Result<i64, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT count(*) FROM users WHERE role = 'admin' AND disabled_at IS NULL AND id <> ?1",
        )?
        .query_row([user_id], |r| r.get(0))?)
}

/// Ends every way an account acts: its sessions and API tokens.
fn cut_off(conn: &Connection, user_id: i64, at: i64) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM sessions WHERE user_id = ?1")?
        .execute([user_id])?;
    conn.prepare_cached(
        "UPDATE api_tokens SET revoked_at = ?2 WHERE user_id = ?1 AND revoked_at IS NULL",
    )?
    .execute(params![user_id, at])?;
    // Links waiting to reset its password would bring it back.
    conn.prepare_cached(
        "UPDATE account_links SET used_at = ?2 WHERE user_id = ?1 AND used_at IS NULL",
    )?
    .execute(params![user_id, at])?;
    Ok(())
}

fn set_disabled(
    conn: &Connection,
    user_id: i64,
    disabled: bool,
    actor: Option<i64>,
    at: i64,
) -> Outcome<User> {
    let Some((user, was_disabled)) = account(conn, user_id)? else {
        return Ok(Err(AccountRefusal::NoUser));
    };
    if disabled == was_disabled {
        return Ok(Ok(user));
    }
    if disabled {
        if user.role == Role::Admin && other_active_admins(conn, user_id)? == 0 {
            return Ok(Err(AccountRefusal::LastAdmin));
        }
        conn.prepare_cached("UPDATE users SET disabled_at = ?2 WHERE id = ?1")?
            .execute(params![user_id, at])?;
        cut_off(conn, user_id, at)?;
        // Work waiting for them goes back to the team.
        conn.prepare_cached(
            "UPDATE mail_outbox SET state = 'cancelled' WHERE user_id = ?1 AND state = 'pending'",
        )?
        .execute([user_id])?;
    } else {
        conn.prepare_cached("UPDATE users SET disabled_at = NULL WHERE id = ?1")?
            .execute([user_id])?;
    }
    let action = if disabled {
        "staff.disabled"
    } else {
        "staff.enabled"
    };
    audit(conn, actor, action, &user.email, None, at)?;
    Ok(Ok(user))
}

fn set_role(
    conn: &Connection,
    user_id: i64,
    role: Role,
    actor: Option<i64>,
    at: i64,
) -> Outcome<User> {
    let Some((user, disabled)) = account(conn, user_id)? else {
        return Ok(Err(AccountRefusal::NoUser));
    };
    if user.role == role {
        return Ok(Ok(user));
    }
    if user.role == Role::Admin && !disabled && other_active_admins(conn, user_id)? == 0 {
        return Ok(Err(AccountRefusal::LastAdmin));
    }
    conn.prepare_cached("UPDATE users SET role = ?2 WHERE id = ?1")?
        .execute(params![user_id, role.as_str()])?;
    audit(
        conn,
        actor,
        "staff.role",
        &user.email,
        Some(role.as_str()),
        at,
    )?;
    Ok(Ok(User { role, ..user }))
}

fn rename(
    conn: &Connection,
    user_id: i64,
    name: &str,
    actor: Option<i64>,
    at: i64,
) -> Outcome<User> {
    let Some((user, _)) = account(conn, user_id)? else {
        return Ok(Err(AccountRefusal::NoUser));
    };
    if user.name == name {
        return Ok(Ok(user));
    }
    conn.prepare_cached("UPDATE users SET name = ?2, name_key = ?3 WHERE id = ?1")?
        .execute(params![user_id, name, name_key(name)])?;
    audit(conn, actor, "staff.renamed", &user.email, None, at)?;
    Ok(Ok(User {
        name: name.to_owned(),
        ..user
    }))
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub at: i64,
    /// The colleague, when it was one (a command-line action has none),
    /// by name as it is now.
    pub actor: Option<String>,
    /// Their account and address: names are not unique, and an audit
    /// must say who without doubt.
    pub actor_id: Option<i64>,
    pub actor_email: Option<String>,
    pub action: String,
    pub subject: String,
    pub detail: Option<String>,
}

impl Sqlite {
    /// The newest `limit` audit entries, optionally only actions starting
    /// with `prefix` (`staff.`, `site.`, `person.`).
    pub async fn audit_log(
        &self,
        prefix: Option<String>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.read(move |conn| {
            let pattern = prefix.map(|p| format!("{p}%"));
            let mut stmt = conn.prepare_cached(
                "SELECT a.at, u.name, a.action, coalesce(a.subject, ''), a.detail, u.id, u.email
                 FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id
                 WHERE ?1 IS NULL OR a.action LIKE ?1
                 ORDER BY a.id DESC LIMIT ?2",
            )?;
            let rows = stmt.query_map(
                params![pattern, i64::try_from(limit).unwrap_or(i64::MAX)],
                |r| {
                    Ok(AuditEntry {
                        at: r.get(0)?,
                        actor: r.get(1)?,
                        action: r.get(2)?,
                        subject: r.get(3)?,
                        detail: r.get(4)?,
                        actor_id: r.get(5)?,
                        actor_email: r.get(6)?,
                    })
                },
            )?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    /// Every staff account, active first, then by name.
    pub async fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, email, name, role, created_at, disabled_at, last_sign_in_at FROM users
                 ORDER BY disabled_at IS NOT NULL, name_key, id",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(Account {
                    user: user_from_row(r, 0)?,
                    created_at: r.get(4)?,
                    disabled_at: r.get(5)?,
                    last_sign_in_at: r.get(6)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    /// Disables or re-enables an account. Disabling ends its sessions and
    /// revokes its API tokens in the same transaction.
    pub async fn set_disabled(
        &self,
        user_id: i64,
        disabled: bool,
        actor: Option<i64>,
        at: i64,
    ) -> Result<User, AccountError> {
        flatten(
            self.write(move |conn| set_disabled(conn, user_id, disabled, actor, at))
                .await,
        )
    }

    pub async fn set_role(
        &self,
        user_id: i64,
        role: Role,
        actor: Option<i64>,
        at: i64,
    ) -> Result<User, AccountError> {
        flatten(
            self.write(move |conn| set_role(conn, user_id, role, actor, at))
                .await,
        )
    }

    pub async fn rename_user(
        &self,
        user_id: i64,
        name: String,
        actor: Option<i64>,
        at: i64,
    ) -> Result<User, AccountError> {
        flatten(
            self.write(move |conn| rename(conn, user_id, &name, actor, at))
                .await,
        )
    }
}
