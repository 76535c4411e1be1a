//! One-time links for staff accounts: an invitation to join, and a
//! password reset (made by an administrator, or asked for by the account's
//! owner at sign-in, a few an hour). Each is stored as its secret's hash,
//! used once, and recorded in the audit log.

use rusqlite::{Connection, OptionalExtension, params};

use super::accounts::{AccountError, AccountRefusal, Outcome, account, audit, flatten};
use super::refusals::HOUR_MS;
use super::staff::email_taken;
use super::{Role, Sqlite, StoreError, User};
use crate::name::name_key;

/// What a one-time link is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkPurpose {
    /// Join as `role`, under `email`.
    Invite {
        email: String,
        name: String,
        role: Role,
    },
    /// Choose a new password for this account.
    Reset { user: User },
}

/// What the audit log calls withdrawing an invitation.
pub const INVITE_WITHDRAWN: &str = "staff.invite_withdrawn";
/// What the audit log calls withdrawing a password reset link.
pub const RESET_WITHDRAWN: &str = "staff.reset_withdrawn";

/// A password reset link not yet used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingReset {
    pub id: i64,
    pub user_id: i64,
    /// The administrator who made it, by name; `None` from the command
    /// line or when the owner asked for it at sign-in.
    pub made_by: Option<String>,
    /// Their account, to tell two administrators of one name apart.
    pub made_by_id: Option<i64>,
    pub expires_at: i64,
}

/// What withdrawing link `purpose` (as stored) for `whom` is recorded as.
pub(super) fn withdrawn_action(purpose: &str) -> &'static str {
    if purpose == "invite" {
        INVITE_WITHDRAWN
    } else {
        RESET_WITHDRAWN
    }
}

/// An invitation not yet accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingInvite {
    pub id: i64,
    pub email: String,
    pub role: Role,
    /// The colleague who made it, by name; `None` from the command line.
    pub invited_by: Option<String>,
    /// Their account, to tell two colleagues of one name apart.
    pub invited_by_id: Option<i64>,
    pub created_at: i64,
    pub expires_at: i64,
}

/// Reset links an account may be sent an hour at its owner's request (from
/// the sign-in page), however many collectors are asked and however often
/// they restart: nobody can fill a colleague's mailbox.
pub const ASKED_LINKS_PER_HOUR: i64 = 3;

/// An `account_links` row as stored.
struct LinkRow {
    id: i64,
    purpose: String,
    user_id: Option<i64>,
    email: Option<String>,
    name: Option<String>,
    role: Option<String>,
}

fn link_by_hash(
    conn: &Connection,
    hash: &[u8],
    now: i64,
) -> Result<Option<(i64, LinkPurpose)>, StoreError> {
    let row = conn
        .prepare_cached(
            "SELECT id, purpose, user_id, email, name, role FROM account_links
             WHERE hash = ?1 AND used_at IS NULL AND expires_at > ?2",
        )?
        .query_row(params![hash, now], |r| {
            Ok(LinkRow {
                id: r.get(0)?,
                purpose: r.get(1)?,
                user_id: r.get(2)?,
                email: r.get(3)?,
                name: r.get(4)?,
                role: r.get(5)?,
            })
        })
        .optional()?;
    let Some(LinkRow {
        id,
        purpose,
        user_id,
        email,
        name,
        role,
    }) = row
    else {
        return Ok(None);
    };
    let purpose = match (purpose.as_str(), user_id, email, role) {
        ("reset", Some(user_id), _, _) => match account(conn, user_id)? {
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

/// A new one-time link: its secret's hash, and for whom.
#[derive(Debug, Clone)]
pub struct NewLink {
    pub hash: Vec<u8>,
    pub purpose: LinkPurpose,
    pub created_by: i64,
    /// A reset link the account's owner asked for from the sign-in page
    /// ("Forgot your password?"); `created_by` is then the owner.
    pub asked_by_owner: bool,
    pub at: i64,
    pub expires_at: i64,
}

impl NewLink {
    /// What the audit log calls making this link.
    pub fn audit_action(&self) -> &'static str {
        match self.purpose {
            LinkPurpose::Invite { .. } => "staff.invited",
            LinkPurpose::Reset { .. } if self.asked_by_owner => "staff.reset_asked",
            LinkPurpose::Reset { .. } => "staff.reset_link",
        }
    }
}

fn add_link(conn: &Connection, link: &NewLink) -> Outcome<()> {
    let (purpose, user_id, email, name, role) = match &link.purpose {
        LinkPurpose::Invite { email, name, role } => {
            if email_taken(conn, email)? {
                return Ok(Err(AccountRefusal::EmailTaken));
            }
            // A new invitation replaces an earlier one to the same address.
            let address = super::staff::address(email);
            conn.prepare_cached(
                "UPDATE account_links SET used_at = ?2
                 WHERE purpose = 'invite' AND earshot_fold(email) IN (?1, ?3) AND used_at IS NULL",
            )?
            .execute(params![address.folded, link.at, address.other])?;
            (
                "invite",
                None,
                Some(email.as_str()),
                Some(name.as_str()),
                Some(role.as_str()),
            )
        }
        LinkPurpose::Reset { user } => {
            if !matches!(account(conn, user.id)?, Some((_, false))) {
                return Ok(Err(AccountRefusal::NoUser));
            }
            if link.asked_by_owner {
                let asked: i64 = conn
                    .prepare_cached(
                        "SELECT count(*) FROM account_links
                         WHERE purpose = 'reset' AND user_id = ?1 AND created_by = ?1
                           AND created_at > ?2",
                    )?
                    .query_row(params![user.id, link.at - HOUR_MS], |r| r.get(0))?;
                if asked >= ASKED_LINKS_PER_HOUR {
                    return Ok(Err(AccountRefusal::AskedTooOften));
                }
            }
            // A link asked for at sign-in replaces only the owner's own
            // earlier ones: anyone can ask, and the link an administrator
            // handed over must keep working.
            conn.prepare_cached(
                "UPDATE account_links SET used_at = ?2
                 WHERE purpose = 'reset' AND user_id = ?1 AND used_at IS NULL
                   AND (NOT ?3 OR created_by = ?1)",
            )?
            .execute(params![user.id, link.at, link.asked_by_owner])?;
            ("reset", Some(user.id), None, None, None)
        }
    };
    conn.prepare_cached(
        "INSERT INTO account_links (hash, purpose, user_id, email, name, role, created_by, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        link.hash,
        purpose,
        user_id,
        email,
        name,
        role,
        link.created_by,
        link.at,
        link.expires_at
    ])?;
    let subject = match &link.purpose {
        LinkPurpose::Invite { email, .. } => email.clone(),
        LinkPurpose::Reset { user } => user.email.clone(),
    };
    audit(
        conn,
        Some(link.created_by),
        link.audit_action(),
        &subject,
        role,
        link.at,
    )?;
    Ok(Ok(()))
}

/// Uses a link: creates the invited account, or sets the new password.
fn redeem(
    conn: &Connection,
    hash: &[u8],
    name: Option<&str>,
    password_hash: &str,
    now: i64,
) -> Outcome<User> {
    let Some((id, purpose)) = link_by_hash(conn, hash, now)? else {
        return Ok(Err(AccountRefusal::LinkInvalid));
    };
    let user = match purpose {
        LinkPurpose::Invite { email, role, .. } => {
            if email_taken(conn, &email)? {
                return Ok(Err(AccountRefusal::EmailTaken));
            }
            let name = name.unwrap_or_default();
            conn.prepare_cached(
                "INSERT INTO users (email, name, name_key, role, password_hash, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                email,
                name,
                name_key(name),
                role.as_str(),
                password_hash,
                now
            ])?;
            let user = User {
                id: conn.last_insert_rowid(),
                email,
                name: name.to_owned(),
                role,
            };
            audit(conn, Some(user.id), "staff.joined", &user.email, None, now)?;
            user
        }
        LinkPurpose::Reset { user } => {
            conn.prepare_cached("UPDATE users SET password_hash = ?2 WHERE id = ?1")?
                .execute(params![user.id, password_hash])?;
            conn.prepare_cached("DELETE FROM sessions WHERE user_id = ?1")?
                .execute([user.id])?;
            // The other reset links waiting for this account (one from an
            // administrator, one asked for at sign-in) have done their job.
            conn.prepare_cached(
                "UPDATE account_links SET used_at = ?2
                 WHERE purpose = 'reset' AND user_id = ?1 AND used_at IS NULL",
            )?
            .execute(params![user.id, now])?;
            audit(
                conn,
                Some(user.id),
                "staff.password_reset",
                &user.email,
                None,
                now,
            )?;
            user
        }
    };
    conn.prepare_cached("UPDATE account_links SET used_at = ?2 WHERE id = ?1")?
        .execute(params![id, now])?;
    Ok(Ok(user))
}

impl Sqlite {
    /// Invitations that can still be accepted.
    pub async fn pending_invites(&self, now: i64) -> Result<Vec<PendingInvite>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT l.id, l.email, l.role, u.name, l.created_at, l.expires_at, u.id
                 FROM account_links l LEFT JOIN users u ON u.id = l.created_by
                 WHERE l.purpose = 'invite' AND l.used_at IS NULL AND l.expires_at > ?1
                   -- Added meanwhile (`earshot user add`): it can no longer
                   -- be accepted, so it no longer waits.
                   AND NOT EXISTS (SELECT 1 FROM users
                                   WHERE earshot_fold(users.email) = earshot_fold(l.email))
                 ORDER BY l.created_at DESC LIMIT 100",
            )?;
            let rows = stmt.query_map([now], |r| {
                let role: String = r.get(2)?;
                Ok(PendingInvite {
                    id: r.get(0)?,
                    email: r.get(1)?,
                    role: Role::parse(&role).unwrap_or(Role::Agent),
                    invited_by: r.get(3)?,
                    created_at: r.get(4)?,
                    expires_at: r.get(5)?,
                    invited_by_id: r.get(6)?,
                })
            })?;
            let mut waiting = Vec::new();
            for invite in rows {
                let invite = invite?;
                // An account whose domain is written the other way
                // (`bücher.de`, `xn--bcher-kva.de`) is found here; the
                // query found one written the same way.
                if !crate::address::has_other_form(&invite.email)
                    || !super::staff::email_taken(conn, &invite.email)?
                {
                    waiting.push(invite);
                }
            }
            Ok(waiting)
        })
        .await
    }

    /// Password reset links that can still be used.
    pub async fn pending_resets(&self, now: i64) -> Result<Vec<PendingReset>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT l.id, l.user_id, CASE WHEN l.created_by = l.user_id THEN NULL ELSE u.name END,
                        l.expires_at, CASE WHEN l.created_by = l.user_id THEN NULL ELSE u.id END
                 FROM account_links l LEFT JOIN users u ON u.id = l.created_by
                 WHERE l.purpose = 'reset' AND l.used_at IS NULL AND l.expires_at > ?1
                 ORDER BY l.created_at DESC LIMIT 500",
            )?;
            let rows = stmt.query_map([now], |r| {
                Ok(PendingReset {
                    id: r.get(0)?,
                    user_id: r.get(1)?,
                    made_by: r.get(2)?,
                    expires_at: r.get(3)?,
                    made_by_id: r.get(4)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    /// Withdraws one-time link `id` (an invitation or a password reset)
    /// while it can still be used: it then answers as a used one. Returns
    /// the address it was for, or `None` when it was used, replaced, had
    /// expired or never was.
    pub async fn withdraw_link(
        &self,
        id: i64,
        actor: i64,
        at: i64,
    ) -> Result<Option<String>, StoreError> {
        self.write(move |conn| {
            let found: Option<(String, String)> = conn
                .prepare_cached(
                    "SELECT l.purpose, coalesce(l.email, u.email)
                     FROM account_links l LEFT JOIN users u ON u.id = l.user_id
                     WHERE l.id = ?1 AND l.used_at IS NULL AND l.expires_at > ?2",
                )?
                .query_row(params![id, at], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            let Some((purpose, whom)) = found else {
                return Ok(None);
            };
            conn.prepare_cached("UPDATE account_links SET used_at = ?2 WHERE id = ?1")?
                .execute(params![id, at])?;
            audit(
                conn,
                Some(actor),
                withdrawn_action(&purpose),
                &whom,
                None,
                at,
            )?;
            Ok(Some(whom))
        })
        .await
    }

    /// Stores a one-time link (replacing an earlier one for the same person).
    pub async fn add_account_link(&self, link: NewLink) -> Result<(), AccountError> {
        flatten(self.write(move |conn| add_link(conn, &link)).await)
    }

    /// What a link is for, if it can still be used.
    pub async fn account_link(
        &self,
        hash: Vec<u8>,
        now: i64,
    ) -> Result<Option<LinkPurpose>, StoreError> {
        self.read(move |conn| Ok(link_by_hash(conn, &hash, now)?.map(|(_, p)| p)))
            .await
    }

    /// Uses a link once; returns the account it made or reset.
    pub async fn redeem_account_link(
        &self,
        hash: Vec<u8>,
        name: Option<String>,
        password_hash: String,
        now: i64,
    ) -> Result<User, AccountError> {
        flatten(
            self.write(move |conn| redeem(conn, &hash, name.as_deref(), &password_hash, now))
                .await,
        )
    }
}
