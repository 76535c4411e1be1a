//! Invitation and reset links on PostgreSQL: made, read, withdrawn and
//! redeemed under the admins' lock (`accounts`), as on SQLite.

use deadpool_postgres::{GenericClient, Transaction};

use super::accounts::account;
use super::{Postgres, audit, read_rows};
use crate::name::name_key;
use crate::store::account_links::{ASKED_LINKS_PER_HOUR, withdrawn_action};
use crate::store::accounts::Outcome;
use crate::store::refusals::HOUR_MS;
use crate::store::{
    AccountError, AccountRefusal, LinkPurpose, NewLink, PendingInvite, PendingReset, Role,
    StoreError, User,
};

async fn email_taken(client: &impl GenericClient, email: &str) -> Result<bool, StoreError> {
    let (typed, other) = super::staff::address(email);
    Ok(client
        .query_opt(
            "SELECT 1 FROM users WHERE lower(email) IN (lower($1), lower($2))",
            &[&typed, &other],
        )
        .await?
        .is_some())
}

/// An unused, unexpired link by its hash, locked when `lock` (to redeem it).
async fn link_by_hash(
    client: &impl GenericClient,
    hash: &[u8],
    now: i64,
    lock: bool,
) -> Result<Option<(i64, LinkPurpose)>, StoreError> {
    let sql = format!(
        "SELECT id, purpose, user_id, email, name, role FROM account_links
         WHERE hash = $1 AND used_at IS NULL AND expires_at > $2{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    let Some(r) = client.query_opt(&sql, &[&hash, &now]).await? else {
        return Ok(None);
    };
    let id: i64 = r.try_get(0)?;
    let purpose: String = r.try_get(1)?;
    let (user_id, email, name, role): (
        Option<i64>,
        Option<String>,
        Option<String>,
        Option<String>,
    ) = (r.try_get(2)?, r.try_get(3)?, r.try_get(4)?, r.try_get(5)?);
    let purpose = match (purpose.as_str(), user_id, email, role) {
        ("reset", Some(user_id), _, _) => match account(client, user_id).await? {
            Some((user, false)) => LinkPurpose::Reset { user },
            _ => return Ok(None),
        },
        ("invite", _, Some(email), Some(role)) => LinkPurpose::Invite {
            email,
            name: name.unwrap_or_default(),
            role: Role::parse(&role).unwrap_or(Role::Agent),
        },
        _ => return Ok(None),
    };
    Ok(Some((id, purpose)))
}

async fn add_link(tx: &Transaction<'_>, link: &NewLink) -> Outcome<()> {
    let (purpose, user_id, email, name, role) = match &link.purpose {
        LinkPurpose::Invite { email, name, role } => {
            if email_taken(tx, email).await? {
                return Ok(Err(AccountRefusal::EmailTaken));
            }
            // A new invitation replaces any earlier one to the address.
            let (typed, other) = super::staff::address(email);
            tx.execute(
                "UPDATE account_links SET used_at = $2
                 WHERE purpose = 'invite' AND lower(email) IN (lower($1), lower($3))
                   AND used_at IS NULL",
                &[&typed, &link.at, &other],
            )
            .await?;
            (
                "invite",
                None,
                Some(email.as_str()),
                Some(name.as_str()),
                Some(role.as_str()),
            )
        }
        LinkPurpose::Reset { user } => {
            if !matches!(account(tx, user.id).await?, Some((_, false))) {
                return Ok(Err(AccountRefusal::NoUser));
            }
            if link.asked_by_owner {
                let asked: i64 = tx
                    .query_one(
                        "SELECT count(*) FROM account_links
                         WHERE purpose = 'reset' AND user_id = $1 AND created_by = $1
                           AND created_at > $2",
                        &[&user.id, &(link.at - HOUR_MS)],
                    )
                    .await?
                    .try_get(0)?;
                if asked >= ASKED_LINKS_PER_HOUR {
                    return Ok(Err(AccountRefusal::AskedTooOften));
                }
            }
            // A link asked for at sign-in replaces only the owner's own
            // earlier ones: anyone can ask, and the link an administrator
            // handed over must keep working.
            tx.execute(
                "UPDATE account_links SET used_at = $2
                 WHERE purpose = 'reset' AND user_id = $1 AND used_at IS NULL
                   AND (NOT $3 OR created_by = $1)",
                &[&user.id, &link.at, &link.asked_by_owner],
            )
            .await?;
            ("reset", Some(user.id), None, None, None)
        }
    };
    tx.execute(
        "INSERT INTO account_links (hash, purpose, user_id, email, name, role, created_by, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            &link.hash,
            &purpose,
            &user_id,
            &email,
            &name,
            &role,
            &link.created_by,
            &link.at,
            &link.expires_at,
        ],
    )
    .await?;
    let subject = match &link.purpose {
        LinkPurpose::Invite { email, .. } => email.clone(),
        LinkPurpose::Reset { user } => user.email.clone(),
    };
    audit(
        tx,
        Some(link.created_by),
        link.audit_action(),
        &subject,
        role,
        link.at,
    )
    .await?;
    Ok(Ok(()))
}

async fn redeem(
    tx: &Transaction<'_>,
    hash: &[u8],
    name: Option<&str>,
    password_hash: &str,
    now: i64,
) -> Outcome<User> {
    let Some((id, purpose)) = link_by_hash(tx, hash, now, true).await? else {
        return Ok(Err(AccountRefusal::LinkInvalid));
    };
    let user = match purpose {
        LinkPurpose::Invite { email, role, .. } => {
            if email_taken(tx, &email).await? {
                return Ok(Err(AccountRefusal::EmailTaken));
            }
            let name = name.unwrap_or_default();
            let id: i64 = tx
                .query_one(
                    "INSERT INTO users (email, name, name_key, role, password_hash, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                    &[
                        &email,
                        &name,
                        &name_key(name),
                        &role.as_str(),
                        &password_hash,
                        &now,
                    ],
                )
                .await?
                .try_get(0)?;
            let user = User {
                id,
                email,
                name: name.to_owned(),
                role,
            };
            audit(tx, Some(user.id), "staff.joined", &user.email, None, now).await?;
            user
        }
        LinkPurpose::Reset { user } => {
            tx.execute(
                "UPDATE users SET password_hash = $2 WHERE id = $1",
                &[&user.id, &password_hash],
            )
            .await?;
            tx.execute("DELETE FROM sessions WHERE user_id = $1", &[&user.id])
                .await?;
            // The other reset links waiting for this account (one from an
            // administrator, one asked for at sign-in) have done their job.
            tx.execute(
                "UPDATE account_links SET used_at = $2
                 WHERE purpose = 'reset' AND user_id = $1 AND used_at IS NULL",
                &[&user.id, &now],
            )
            .await?;
            audit(
                tx,
                Some(user.id),
                "staff.password_reset",
                &user.email,
                None,
                now,
            )
            .await?;
            user
        }
    };
    tx.execute(
        "UPDATE account_links SET used_at = $2 WHERE id = $1",
        &[&id, &now],
    )
    .await?;
    Ok(Ok(user))
}

impl Postgres {
    pub async fn pending_invites(&self, now: i64) -> Result<Vec<PendingInvite>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT l.id, l.email, l.role, u.name, l.created_at, l.expires_at, u.id
                 FROM account_links l LEFT JOIN users u ON u.id = l.created_by
                 WHERE l.purpose = 'invite' AND l.used_at IS NULL AND l.expires_at > $1
                   AND NOT EXISTS (SELECT 1 FROM users WHERE lower(users.email) = lower(l.email))
                 ORDER BY l.created_at DESC LIMIT 100",
                &[&now],
            )
            .await?;
        let invites = read_rows(&rows, |r| {
            Ok(PendingInvite {
                id: r.try_get(0)?,
                email: r.try_get(1)?,
                role: Role::parse(r.try_get(2)?).unwrap_or(Role::Agent),
                invited_by: r.try_get(3)?,
                created_at: r.try_get(4)?,
                expires_at: r.try_get(5)?,
                invited_by_id: r.try_get(6)?,
            })
        })?;
        let mut waiting = Vec::new();
        for invite in invites {
            // An account whose domain is written the other way is found
            // here (as on SQLite), one round trip for each such invite.
            if !crate::address::has_other_form(&invite.email)
                || !email_taken(&client, &invite.email).await?
            {
                waiting.push(invite);
            }
        }
        Ok(waiting)
    }

    pub async fn pending_resets(&self, now: i64) -> Result<Vec<PendingReset>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT l.id, l.user_id, CASE WHEN l.created_by = l.user_id THEN NULL ELSE u.name END,
                        l.expires_at, CASE WHEN l.created_by = l.user_id THEN NULL ELSE u.id END
                 FROM account_links l LEFT JOIN users u ON u.id = l.created_by
                 WHERE l.purpose = 'reset' AND l.used_at IS NULL AND l.expires_at > $1
                 ORDER BY l.created_at DESC LIMIT 500",
                &[&now],
            )
            .await?;
        read_rows(&rows, |r| {
            Ok(PendingReset {
                id: r.try_get(0)?,
                user_id: r.try_get(1)?,
                made_by: r.try_get(2)?,
                expires_at: r.try_get(3)?,
                made_by_id: r.try_get(4)?,
            })
        })
    }

    pub async fn withdraw_link(
        &self,
        id: i64,
        actor: i64,
        at: i64,
    ) -> Result<Option<String>, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let found = tx
            .query_opt(
                "SELECT l.purpose, coalesce(l.email, u.email)
                 FROM account_links l LEFT JOIN users u ON u.id = l.user_id
                 WHERE l.id = $1 AND l.used_at IS NULL AND l.expires_at > $2
                 FOR UPDATE OF l",
                &[&id, &at],
            )
            .await?;
        let Some(row) = found else {
            return Ok(None);
        };
        let (purpose, whom): (String, String) = (row.try_get(0)?, row.try_get(1)?);
        tx.execute(
            "UPDATE account_links SET used_at = $2 WHERE id = $1",
            &[&id, &at],
        )
        .await?;
        audit(
            &tx,
            Some(actor),
            withdrawn_action(&purpose),
            &whom,
            None,
            at,
        )
        .await?;
        tx.commit().await?;
        Ok(Some(whom))
    }

    pub async fn add_account_link(&self, link: NewLink) -> Result<(), AccountError> {
        self.account_change(async |tx| add_link(tx, &link).await)
            .await
    }

    pub async fn account_link(
        &self,
        hash: Vec<u8>,
        now: i64,
    ) -> Result<Option<LinkPurpose>, StoreError> {
        let client = self.client().await?;
        Ok(link_by_hash(&client, &hash, now, false)
            .await?
            .map(|(_, p)| p))
    }

    pub async fn redeem_account_link(
        &self,
        hash: Vec<u8>,
        name: Option<String>,
        password_hash: String,
        now: i64,
    ) -> Result<User, AccountError> {
        self.account_change(async |tx| {
            redeem(tx, &hash, name.as_deref(), &password_hash, now).await
        })
        .await
    }
}
