//! Staff accounts as admins manage them, on PostgreSQL: roles, disabling,
//! renaming and the audit log (invitation and reset links:
//! `account_links`).
//!
//! "The last active admin stays" is a rule over all admins, so changes to
//! roles and accounts take one advisory lock: two admins demoting each
//! other through two collectors cannot both succeed.

use deadpool_postgres::{GenericClient, Transaction};

use super::staff::user;
use super::{Postgres, audit, read_opt, read_rows};
use crate::name::name_key;
use crate::store::accounts::{Outcome, flatten};
use crate::store::{Account, AccountError, AccountRefusal, AuditEntry, Role, StoreError, User};

const ADMINS_LOCK: i64 = 0x0065_6172_7368_0003;

pub(super) async fn account(
    client: &impl GenericClient,
    user_id: i64,
) -> Result<Option<(User, bool)>, StoreError> {
    let row = client
        .query_opt(
            "SELECT id, email, name, role, disabled_at IS NOT NULL FROM users WHERE id = $1",
            &[&user_id],
        )
        .await?;
    read_opt(row, |r| Ok((user(r, 0)?, r.try_get(4)?)))
}

async fn other_active_admins(tx: &Transaction<'_>, user_id: i64) -> Result<i64, StoreError> {
    Ok(tx
        .query_one(
            "SELECT count(*) FROM users WHERE role = 'admin' AND disabled_at IS NULL AND id <> $1",
            &[&user_id],
        )
        .await?
        .try_get(0)?)
}

async fn set_disabled(
    tx: &Transaction<'_>,
    user_id: i64,
    disabled: bool,
    actor: Option<i64>,
    at: i64,
) -> Outcome<User> {
    let Some((user, was_disabled)) = account(tx, user_id).await? else {
        return Ok(Err(AccountRefusal::NoUser));
    };
    if disabled == was_disabled {
        return Ok(Ok(user));
    }
    if disabled {
        if user.role == Role::Admin && other_active_admins(tx, user_id).await? == 0 {
            return Ok(Err(AccountRefusal::LastAdmin));
        }
        tx.execute(
            "UPDATE users SET disabled_at = $2 WHERE id = $1",
            &[&user_id, &at],
        )
        .await?;
        // Sessions, tokens and links stop working at once.
        tx.execute("DELETE FROM sessions WHERE user_id = $1", &[&user_id])
            .await?;
        tx.execute(
            "UPDATE api_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL",
            &[&user_id, &at],
        )
        .await?;
        tx.execute(
            "UPDATE account_links SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL",
            &[&user_id, &at],
        )
        .await?;
        tx.execute(
            "UPDATE mail_outbox SET state = 'cancelled' WHERE user_id = $1 AND state = 'pending'",
            &[&user_id],
        )
        .await?;
    } else {
        tx.execute(
            "UPDATE users SET disabled_at = NULL WHERE id = $1",
            &[&user_id],
        )
        .await?;
    }
    let action = if disabled {
        "staff.disabled"
    } else {
        "staff.enabled"
    };
    audit(tx, actor, action, &user.email, None, at).await?;
    Ok(Ok(user))
}

async fn rename(
    tx: &Transaction<'_>,
    user_id: i64,
    name: &str,
    actor: Option<i64>,
    at: i64,
) -> Outcome<User> {
    let Some((user, _)) = account(tx, user_id).await? else {
        return Ok(Err(AccountRefusal::NoUser));
    };
    if user.name == name {
        return Ok(Ok(user));
    }
    tx.execute(
        "UPDATE users SET name = $2, name_key = $3 WHERE id = $1",
        &[&user_id, &name, &name_key(name)],
    )
    .await?;
    audit(tx, actor, "staff.renamed", &user.email, None, at).await?;
    Ok(Ok(User {
        name: name.to_owned(),
        ..user
    }))
}

async fn set_role(
    tx: &Transaction<'_>,
    user_id: i64,
    role: Role,
    actor: Option<i64>,
    at: i64,
) -> Outcome<User> {
    let Some((user, disabled)) = account(tx, user_id).await? else {
        return Ok(Err(AccountRefusal::NoUser));
    };
    if user.role == role {
        return Ok(Ok(user));
    }
    if user.role == Role::Admin && !disabled && other_active_admins(tx, user_id).await? == 0 {
        return Ok(Err(AccountRefusal::LastAdmin));
    }
    tx.execute(
        "UPDATE users SET role = $2 WHERE id = $1",
        &[&user_id, &role.as_str()],
    )
    .await?;
    audit(
        tx,
        actor,
        "staff.role",
        &user.email,
        Some(role.as_str()),
        at,
    )
    .await?;
    Ok(Ok(User { role, ..user }))
}

impl Postgres {
    /// Runs `change` in a transaction holding the admins' lock; commits
    /// only what was not refused.
    pub(super) async fn account_change<T>(
        &self,
        change: impl AsyncFnOnce(&Transaction<'_>) -> Outcome<T>,
    ) -> Result<T, AccountError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(StoreError::from)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&ADMINS_LOCK])
            .await
            .map_err(StoreError::from)?;
        let done = flatten(change(&tx).await)?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(done)
    }

    /// The newest `limit` audit records, optionally of one area (`staff.`).
    pub async fn audit_log(
        &self,
        prefix: Option<String>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let client = self.client().await?;
        let pattern = prefix.map(|p| {
            let escaped = p
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            format!("{escaped}%")
        });
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = client
            .query(
                "SELECT a.at, u.name, a.action, coalesce(a.subject, ''), a.detail, u.id, u.email
                 FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id
                 WHERE $1::text IS NULL OR a.action LIKE $1
                 ORDER BY a.id DESC LIMIT $2",
                &[&pattern, &limit],
            )
            .await?;
        read_rows(&rows, |r| {
            Ok(AuditEntry {
                at: r.try_get(0)?,
                actor: r.try_get(1)?,
                action: r.try_get(2)?,
                subject: r.try_get(3)?,
                detail: r.try_get(4)?,
                actor_id: r.try_get(5)?,
                actor_email: r.try_get(6)?,
            })
        })
    }

    pub async fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT id, email, name, role, created_at, disabled_at, last_sign_in_at FROM users
                 ORDER BY disabled_at IS NOT NULL, name_key, id",
                &[],
            )
            .await?;
        read_rows(&rows, |r| {
            Ok(Account {
                user: user(r, 0)?,
                created_at: r.try_get(4)?,
                disabled_at: r.try_get(5)?,
                last_sign_in_at: r.try_get(6)?,
            })
        })
    }

    pub async fn set_disabled(
        &self,
        user_id: i64,
        disabled: bool,
        actor: Option<i64>,
        at: i64,
    ) -> Result<User, AccountError> {
        self.account_change(async |tx| set_disabled(tx, user_id, disabled, actor, at).await)
            .await
    }

    pub async fn set_role(
        &self,
        user_id: i64,
        role: Role,
        actor: Option<i64>,
        at: i64,
    ) -> Result<User, AccountError> {
        self.account_change(async |tx| set_role(tx, user_id, role, actor, at).await)
            .await
    }

    pub async fn rename_user(
        &self,
        user_id: i64,
        name: String,
        actor: Option<i64>,
        at: i64,
    ) -> Result<User, AccountError> {
        self.account_change(async |tx| rename(tx, user_id, &name, actor, at).await)
            .await
    }
}
