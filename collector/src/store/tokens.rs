//! API tokens: who holds one, what it may do, whether it still works.

use rusqlite::{Connection, OptionalExtension, params};

use super::accounts::audit;
use super::staff::user_from_row;
use super::{Sqlite, StoreError, User};

/// A token to create; `hash` is the SHA-256 of the token itself.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub user_id: i64,
    pub name: String,
    pub scope: String,
    pub hash: Vec<u8>,
    pub hint: String,
    pub expires_at: Option<i64>,
}

/// A token as lists show it: never the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub id: i64,
    pub public_id: String,
    pub owner_email: String,
    pub name: String,
    pub scope: String,
    pub hint: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

const TOKEN_SELECT: &str = "SELECT t.id, t.public_id, u.email, t.name, t.scope, t.hint,
        t.created_at, t.expires_at, t.last_used_at, t.revoked_at
     FROM api_tokens t JOIN users u ON u.id = t.user_id";

fn token_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TokenInfo> {
    Ok(TokenInfo {
        id: r.get(0)?,
        public_id: r.get(1)?,
        owner_email: r.get(2)?,
        name: r.get(3)?,
        scope: r.get(4)?,
        hint: r.get(5)?,
        created_at: r.get(6)?,
        expires_at: r.get(7)?,
        last_used_at: r.get(8)?,
        revoked_at: r.get(9)?,
    })
}

fn insert(conn: &Connection, token: &NewToken, now: i64) -> Result<TokenInfo, StoreError> {
    for _ in 0..8 {
        let public_id = format!("tok_{}", crate::ids::secret(16));
        let inserted = conn.execute(
            "INSERT INTO api_tokens (public_id, user_id, name, scope, hash, hint, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                public_id,
                token.user_id,
                token.name,
                token.scope,
                token.hash,
                token.hint,
                now,
                token.expires_at
            ],
        );
        match inserted {
            Ok(_) => {
                let id = conn.last_insert_rowid();
                return Ok(conn
                    .prepare_cached(&format!("{TOKEN_SELECT} WHERE t.id = ?1"))?
                    .query_row([id], token_from_row)?);
            }
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE => {}
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::IdExhausted)
}

impl Sqlite {
    /// Creates a token; `actor` made it (`None`: the command line).
    pub async fn add_token(
        &self,
        token: NewToken,
        actor: Option<i64>,
        now: i64,
    ) -> Result<TokenInfo, StoreError> {
        self.write(move |conn| {
            let info = insert(conn, &token, now)?;
            let detail = format!("id={},scope={}", info.public_id, info.scope);
            audit(
                conn,
                actor,
                "token.created",
                &info.owner_email,
                Some(&detail),
                now,
            )?;
            Ok(info)
        })
        .await
    }

    /// Tokens of one colleague, or of everyone (`None`), newest first,
    /// revoked ones included.
    pub async fn tokens(&self, user_id: Option<i64>) -> Result<Vec<TokenInfo>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "{TOKEN_SELECT} WHERE ?1 IS NULL OR t.user_id = ?1 ORDER BY t.id DESC"
            ))?;
            let rows = stmt.query_map([user_id], token_from_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    /// Revokes a token at once; only the owner's own when `owner` is set.
    /// `false` when no such live token exists.
    pub async fn revoke_token(
        &self,
        public_id: String,
        owner: Option<i64>,
        actor: Option<i64>,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.write(move |conn| {
            let revoked = conn.execute(
                "UPDATE api_tokens SET revoked_at = ?3
                 WHERE public_id = ?1 AND (?2 IS NULL OR user_id = ?2) AND revoked_at IS NULL",
                params![public_id, owner, now],
            )? == 1;
            if revoked {
                let email: String = conn.query_row(
                    "SELECT u.email FROM api_tokens t JOIN users u ON u.id = t.user_id
                     WHERE t.public_id = ?1",
                    [&public_id],
                    |r| r.get(0),
                )?;
                let detail = format!("id={public_id}");
                audit(conn, actor, "token.revoked", &email, Some(&detail), now)?;
            }
            Ok(revoked)
        })
        .await
    }

    /// The colleague a live token acts for, with the token's scope and
    /// when it was last used.
    pub async fn token_holder(
        &self,
        hash: Vec<u8>,
        now: i64,
    ) -> Result<Option<(User, TokenInfo)>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT u.id, u.email, u.name, u.role, t.id, t.public_id, t.name, t.scope,
                        t.hint, t.created_at, t.expires_at, t.last_used_at
                 FROM api_tokens t JOIN users u ON u.id = t.user_id
                 WHERE t.hash = ?1 AND t.revoked_at IS NULL AND u.disabled_at IS NULL
                   AND (t.expires_at IS NULL OR t.expires_at > ?2)",
            )?;
            Ok(stmt
                .query_row(params![hash, now], |r| {
                    let user = user_from_row(r, 0)?;
                    let info = TokenInfo {
                        id: r.get(4)?,
                        public_id: r.get(5)?,
                        owner_email: user.email.clone(),
                        name: r.get(6)?,
                        scope: r.get(7)?,
                        hint: r.get(8)?,
                        created_at: r.get(9)?,
                        expires_at: r.get(10)?,
                        last_used_at: r.get(11)?,
                        revoked_at: None,
                    };
                    Ok((user, info))
                })
                .optional()?)
        })
        .await
    }

    pub async fn touch_token(&self, id: i64, now: i64) -> Result<(), StoreError> {
        self.write(move |conn| {
            conn.prepare_cached("UPDATE api_tokens SET last_used_at = ?2 WHERE id = ?1")?
                .execute(params![id, now])?;
            Ok(())
        })
        .await
    }

    /// The account with this email (case-insensitive), if any.
    pub async fn user_by_email(&self, email: String) -> Result<Option<User>, StoreError> {
        self.read(move |conn| {
            let super::staff::EmailLookup {
                folded,
                typed,
                other,
            } = super::staff::address(&email);
            Ok(conn
                .prepare_cached(&format!(
                    "SELECT id, email, name, role FROM users WHERE id = ({})",
                    super::staff::USER_ID_BY_EMAIL
                ))?
                .query_row(params![folded, typed, other], |r| user_from_row(r, 0))
                .optional()?)
        })
        .await
    }
}
