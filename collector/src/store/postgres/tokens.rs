//! API tokens on PostgreSQL: only their hashes, as on SQLite.

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::staff::user;
use super::{Postgres, audit, is_unique_violation, read_opt};
use crate::store::{NewToken, StoreError, TokenInfo, User};

const TOKEN_SELECT: &str = "SELECT t.id, t.public_id, u.email, t.name, t.scope, t.hint,
        t.created_at, t.expires_at, t.last_used_at, t.revoked_at
     FROM api_tokens t JOIN users u ON u.id = t.user_id";

fn token(r: &Row) -> Result<TokenInfo, StoreError> {
    Ok(TokenInfo {
        id: r.try_get(0)?,
        public_id: r.try_get(1)?,
        owner_email: r.try_get(2)?,
        name: r.try_get(3)?,
        scope: r.try_get(4)?,
        hint: r.try_get(5)?,
        created_at: r.try_get(6)?,
        expires_at: r.try_get(7)?,
        last_used_at: r.try_get(8)?,
        revoked_at: r.try_get(9)?,
    })
}

async fn insert(
    client: &impl GenericClient,
    new: &NewToken,
    now: i64,
) -> Result<TokenInfo, StoreError> {
    for _ in 0..8 {
        let public_id = format!("tok_{}", crate::ids::secret(16));
        let inserted = client
            .query_one(
                "INSERT INTO api_tokens (public_id, user_id, name, scope, hash, hint, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                &[
                    &public_id,
                    &new.user_id,
                    &new.name,
                    &new.scope,
                    &new.hash,
                    &new.hint,
                    &now,
                    &new.expires_at,
                ],
            )
            .await;
        match inserted {
            Ok(row) => {
                let id: i64 = row.try_get(0)?;
                let row = client
                    .query_one(&format!("{TOKEN_SELECT} WHERE t.id = $1"), &[&id])
                    .await?;
                return token(&row);
            }
            Err(e) if is_unique_violation(&e) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::IdExhausted)
}

impl Postgres {
    /// Creates a token; `actor` made it (`None`: the command line).
    pub async fn add_token(
        &self,
        new: NewToken,
        actor: Option<i64>,
        now: i64,
    ) -> Result<TokenInfo, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let info = insert(&tx, &new, now).await?;
        let detail = format!("id={},scope={}", info.public_id, info.scope);
        audit(
            &tx,
            actor,
            "token.created",
            &info.owner_email,
            Some(&detail),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(info)
    }

    /// Tokens of one colleague, or of everyone (`None`), newest first,
    /// revoked ones included.
    pub async fn tokens(&self, user_id: Option<i64>) -> Result<Vec<TokenInfo>, StoreError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                "{TOKEN_SELECT} WHERE $1::bigint IS NULL OR t.user_id = $1 ORDER BY t.id DESC"
            ))
            .await?;
        client
            .query(&stmt, &[&user_id])
            .await?
            .iter()
            .map(token)
            .collect()
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
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let revoked = tx
            .query_opt(
                "UPDATE api_tokens t SET revoked_at = $3 FROM users u
                 WHERE u.id = t.user_id AND t.public_id = $1
                   AND ($2::bigint IS NULL OR t.user_id = $2) AND t.revoked_at IS NULL
                 RETURNING u.email",
                &[&public_id, &owner, &now],
            )
            .await?;
        if let Some(row) = &revoked {
            let email: String = row.try_get(0)?;
            let detail = format!("id={public_id}");
            audit(&tx, actor, "token.revoked", &email, Some(&detail), now).await?;
        }
        tx.commit().await?;
        Ok(revoked.is_some())
    }

    /// The colleague a live token acts for, with the token's scope and
    /// when it was last used.
    pub async fn token_holder(
        &self,
        hash: Vec<u8>,
        now: i64,
    ) -> Result<Option<(User, TokenInfo)>, StoreError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT u.id, u.email, u.name, u.role, t.id, t.public_id, t.name, t.scope,
                        t.hint, t.created_at, t.expires_at, t.last_used_at
                 FROM api_tokens t JOIN users u ON u.id = t.user_id
                 WHERE t.hash = $1 AND t.revoked_at IS NULL AND u.disabled_at IS NULL
                   AND (t.expires_at IS NULL OR t.expires_at > $2)",
            )
            .await?;
        let row = client.query_opt(&stmt, &[&hash, &now]).await?;
        read_opt(row, |r| {
            let holder = user(r, 0)?;
            let info = TokenInfo {
                id: r.try_get(4)?,
                public_id: r.try_get(5)?,
                owner_email: holder.email.clone(),
                name: r.try_get(6)?,
                scope: r.try_get(7)?,
                hint: r.try_get(8)?,
                created_at: r.try_get(9)?,
                expires_at: r.try_get(10)?,
                last_used_at: r.try_get(11)?,
                revoked_at: None,
            };
            Ok((holder, info))
        })
    }

    pub async fn touch_token(&self, id: i64, now: i64) -> Result<(), StoreError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1")
            .await?;
        client.execute(&stmt, &[&id, &now]).await?;
        Ok(())
    }

    /// The account with this email (case-insensitive), if any.
    pub async fn user_by_email(&self, email: String) -> Result<Option<User>, StoreError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                "SELECT id, email, name, role FROM users WHERE id = ({})",
                super::staff::USER_ID_BY_EMAIL
            ))
            .await?;
        let (typed, other) = super::staff::address(&email);
        client
            .query_opt(&stmt, &[&typed, &other])
            .await?
            .map(|r| user(&r, 0))
            .transpose()
    }
}
