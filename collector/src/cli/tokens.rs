//! `earshot token add|list|revoke`: API tokens for scripts and tools. A
//! running collector sees changes at once (tokens are looked up per
//! request).

use super::args::{ListFormat, TokenCommand};
use super::{CliError, json_time, print_row, store_error, with_store};
use crate::auth::{ApiToken, Scope, token};
use crate::clock;
use crate::clock::system_millis;
use crate::config::DbArgs;
use crate::store::NewToken;

const DAY_MS: i64 = 24 * 3_600_000;

pub async fn run(command: TokenCommand) -> Result<(), CliError> {
    match command {
        TokenCommand::Add {
            email,
            name,
            scope,
            expires_days,
            db,
        } => add(email, name, &scope, expires_days, db).await,
        TokenCommand::List { email, format, db } => list(email, format, db).await,
        TokenCommand::Revoke { id, db } => revoke(id, db).await,
    }
}

async fn add(
    email: String,
    name: String,
    scope: &str,
    expires_days: Option<u32>,
    db: DbArgs,
) -> Result<(), CliError> {
    let scope = Scope::parse(scope).unwrap_or(Scope::Read);
    let name = token::label(&name).ok_or(CliError::TokenName)?;
    let token = ApiToken::generate();
    let now = system_millis();
    let info = with_store(&db, async |store| {
        let user = store
            .user_by_email(email.clone())
            .await
            .map_err(store_error(&db))?
            .ok_or_else(|| CliError::NoSuchUser(email.clone()))?;
        // Disabling revoked the account's tokens; one made now would
        // quietly come back to life when the account is enabled.
        let accounts = store.accounts().await.map_err(store_error(&db))?;
        if accounts
            .iter()
            .any(|a| a.user.id == user.id && a.disabled_at.is_some())
        {
            return Err(CliError::Disabled(user.email));
        }
        store
            .add_token(
                NewToken {
                    user_id: user.id,
                    name,
                    scope: scope.as_str().to_owned(),
                    hash: token.digest(),
                    hint: token.hint(),
                    expires_at: expires_days.map(|d| now + i64::from(d) * DAY_MS),
                },
                None,
                now,
            )
            .await
            .map_err(store_error(&db))
    })
    .await?;
    println!(
        "Added token {} \"{}\" for {} (scope {}{})",
        info.public_id,
        info.name,
        info.owner_email,
        info.scope,
        info.expires_at
            .map(|at| format!(", expires {}", clock::timestamp(at)))
            .unwrap_or_default()
    );
    println!("Token (shown once): {}", token.reveal());
    Ok(())
}

async fn list(email: Option<String>, format: ListFormat, db: DbArgs) -> Result<(), CliError> {
    let tokens = with_store(&db, async |store| {
        let owner = match &email {
            Some(email) => Some(
                store
                    .user_by_email(email.clone())
                    .await
                    .map_err(store_error(&db))?
                    .ok_or_else(|| CliError::NoSuchUser(email.clone()))?
                    .id,
            ),
            None => None,
        };
        store.tokens(owner).await.map_err(store_error(&db))
    })
    .await?;
    if tokens.is_empty() {
        match &email {
            Some(email) => eprintln!("{email} has no API tokens."),
            None => eprintln!(
                "No API tokens yet: earshot token add --email <staff email> --name <label> --scope read|write adds one."
            ),
        }
    }
    let now = system_millis();
    for t in tokens {
        // What the token is now, as a word and as its column.
        let (state, shown) = match (t.revoked_at, t.expires_at) {
            (Some(at), _) => ("revoked", format!("revoked {}", clock::timestamp(at))),
            (None, Some(at)) if at <= now => {
                ("expired", format!("expired {}", clock::timestamp(at)))
            }
            (None, Some(at)) => ("active", format!("expires {}", clock::timestamp(at))),
            (None, None) => ("active", "active".to_owned()),
        };
        print_row(
            format,
            || {
                format!(
                    "{}\t{}…\t{}\t{}\t{}\tcreated {}\tlast used {}\t{shown}",
                    t.public_id,
                    t.hint,
                    t.owner_email,
                    t.scope,
                    t.name,
                    clock::timestamp(t.created_at),
                    t.last_used_at
                        .map_or_else(|| "never".to_owned(), clock::timestamp),
                )
            },
            || {
                serde_json::json!({
                    "id": t.public_id,
                    "hint": t.hint,
                    "email": t.owner_email,
                    "scope": t.scope,
                    "name": t.name,
                    "state": state,
                    "created_at": json_time(Some(t.created_at)),
                    "last_used_at": json_time(t.last_used_at),
                    "expires_at": json_time(t.expires_at),
                    "revoked_at": json_time(t.revoked_at),
                })
            },
        );
    }
    Ok(())
}

async fn revoke(id: String, db: DbArgs) -> Result<(), CliError> {
    let revoked = with_store(&db, async |store| {
        store
            .revoke_token(id.clone(), None, None, system_millis())
            .await
            .map_err(store_error(&db))
    })
    .await?;
    if !revoked {
        return Err(CliError::NoSuchToken(id));
    }
    println!("Revoked token {id}; it stops working at once.");
    Ok(())
}
