//! `earshot user …`: staff accounts from the command line: add, set a
//! password, rename, list, disable and enable.

use std::io::{BufRead, IsTerminal};

use super::args::ListFormat;
use super::{CliError, json_time, open_or_create, print_row, store_error, with_store};
use crate::auth::{self, Password};
use crate::colleagues::Colleagues;
use crate::config::DbArgs;
use crate::name::StaffName;
use crate::store::{NewUser, Role};

/// A refused account change as what it is, a store's failure as the
/// database's.
fn account_error(db: &DbArgs) -> impl Fn(crate::store::AccountError) -> CliError + '_ {
    move |e| match e {
        crate::store::AccountError::Refused(refusal) => CliError::Refused(refusal),
        crate::store::AccountError::Store(source) => store_error(db)(source),
    }
}

/// A password from `--generate-password` (printed once), typed at the
/// terminal (unseen, twice) or stdin's first line (a script's), never from
/// a flag (flags end up in shell history and `ps`).
fn obtain_password(generate: bool, email: &str) -> Result<(Password, bool), CliError> {
    if generate {
        return Ok((Password::generate(), true));
    }
    if std::io::stdin().is_terminal() {
        return Ok((super::terminal::new_password(email)?, false));
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(CliError::Stdin)?;
    let line = line.trim_end_matches(['\r', '\n']);
    Ok((Password::parse(line)?, false))
}

fn hash(password: &Password) -> Result<String, CliError> {
    Ok(auth::password::hash(password)?)
}

pub(super) async fn add_user(
    email: String,
    name: Option<String>,
    role: &str,
    generate: bool,
    db: DbArgs,
) -> Result<(), CliError> {
    let email = earshot_protocol::submission::Email::parse(&email)
        .map_err(|e| CliError::Email(e.message()))?
        .as_str()
        .to_owned();
    let name = match name {
        Some(name) => StaffName::parse(&name)?.into_inner(),
        None => email.split('@').next().unwrap_or_default().to_owned(),
    };
    let role = Role::parse(role).unwrap_or(Role::Agent);
    let store = open_or_create(&db).await?;
    // Whether the address is free before a password is typed for it.
    let added = async {
        if store
            .user_by_email(email.clone())
            .await
            .map_err(store_error(&db))?
            .is_some()
        {
            return Err(CliError::EmailTaken(email));
        }
        let (password, generated) = obtain_password(generate, &email)?;
        let password_hash = hash(&password)?;
        let user = store
            .add_user(
                NewUser {
                    email,
                    name,
                    role,
                    password_hash,
                },
                crate::clock::system_millis(),
            )
            .await
            .map_err(store_error(&db))?;
        let accounts = store.accounts().await.map_err(store_error(&db))?;
        let namesakes = Colleagues::new(accounts).namesakes(&user);
        Ok((user, password, generated, namesakes))
    }
    .await;
    store.shutdown().await;
    let (user, password, generated, namesakes) = added?;
    println!(
        "Added {} {} <{}>",
        user.role.as_str(),
        user.name,
        user.email
    );
    say_namesakes(&namesakes);
    if generated {
        println!("Password (shown once): {}", password.expose());
    }
    Ok(())
}

/// A name other accounts bear is allowed (two people can be called Ann),
/// but worth knowing: says whose.
fn say_namesakes(namesakes: &[String]) {
    if !namesakes.is_empty() {
        println!(
            "Also called that: {}. The console adds the email wherever it names one of you.",
            namesakes.join(", ")
        );
    }
}

pub(super) async fn set_password(
    email: String,
    generate: bool,
    db: DbArgs,
) -> Result<(), CliError> {
    let (password, generated) = with_store(&db, async |store| {
        // Whether the account exists before a password is typed for it.
        if store
            .user_by_email(email.clone())
            .await
            .map_err(store_error(&db))?
            .is_none()
        {
            return Err(CliError::NoSuchUser(email.clone()));
        }
        let (password, generated) = obtain_password(generate, &email)?;
        let password_hash = hash(&password)?;
        let changed = store
            .set_password(
                email.trim().to_owned(),
                password_hash,
                None,
                crate::clock::system_millis(),
            )
            .await
            .map_err(store_error(&db))?;
        if !changed {
            return Err(CliError::NoSuchUser(email.clone()));
        }
        Ok((password, generated))
    })
    .await?;
    println!("Password changed for {email}; its sessions have ended.");
    if generated {
        println!("Password (shown once): {}", password.expose());
    }
    Ok(())
}

pub(super) async fn rename_user(email: String, name: String, db: DbArgs) -> Result<(), CliError> {
    let name = StaffName::parse(&name)?;
    let (user, namesakes) = with_store(&db, async |store| {
        let user = store
            .user_by_email(email.clone())
            .await
            .map_err(store_error(&db))?
            .ok_or_else(|| CliError::NoSuchUser(email.clone()))?;
        let user = store
            .rename_user(
                user.id,
                name.into_inner(),
                None,
                crate::clock::system_millis(),
            )
            .await
            .map_err(account_error(&db))?;
        let accounts = store.accounts().await.map_err(store_error(&db))?;
        let namesakes = Colleagues::new(accounts).namesakes(&user);
        Ok((user, namesakes))
    })
    .await?;
    println!("{} is now called {}.", user.email, user.name);
    say_namesakes(&namesakes);
    Ok(())
}

pub(super) async fn set_role(email: String, role: &str, db: DbArgs) -> Result<(), CliError> {
    let role = Role::parse(role).unwrap_or(Role::Agent);
    let (before, after) = with_store(&db, async |store| {
        let user = store
            .user_by_email(email.clone())
            .await
            .map_err(store_error(&db))?
            .ok_or_else(|| CliError::NoSuchUser(email.clone()))?;
        let changed = store
            .set_role(user.id, role, None, crate::clock::system_millis())
            .await
            .map_err(account_error(&db))?;
        Ok((user.role, changed.role))
    })
    .await?;
    let called = |role: Role| match role {
        Role::Admin => "an administrator",
        Role::Agent => "an agent",
    };
    if before == after {
        println!("{email} is {} already.", called(after));
    } else {
        println!("{email} is now {}.", called(after));
    }
    Ok(())
}

pub(super) async fn list_users(format: ListFormat, db: DbArgs) -> Result<(), CliError> {
    let accounts = with_store(&db, async |store| {
        store.accounts().await.map_err(store_error(&db))
    })
    .await?;
    if accounts.is_empty() {
        eprintln!(
            "No staff accounts yet: earshot user add --email <address> --role admin adds the first."
        );
    }
    for a in accounts {
        print_row(
            format,
            // Active accounts print as they always have; a disabled one
            // says so in a last column, so scripts reading three columns
            // keep working.
            || {
                let state = if a.disabled_at.is_some() {
                    "\tdisabled"
                } else {
                    ""
                };
                format!(
                    "{}\t{}\t{}{state}",
                    a.user.email,
                    a.user.role.as_str(),
                    a.user.name
                )
            },
            || {
                serde_json::json!({
                    "email": a.user.email,
                    "role": a.user.role.as_str(),
                    "name": a.user.name,
                    "created_at": json_time(Some(a.created_at)),
                    "last_sign_in_at": json_time(a.last_sign_in_at),
                    "disabled_at": json_time(a.disabled_at),
                })
            },
        );
    }
    Ok(())
}

pub(super) async fn set_disabled(
    email: String,
    disabled: bool,
    db: DbArgs,
) -> Result<(), CliError> {
    with_store(&db, async |store| {
        let user = store
            .user_by_email(email.clone())
            .await
            .map_err(store_error(&db))?
            .ok_or_else(|| CliError::NoSuchUser(email.clone()))?;
        let now = crate::clock::system_millis();
        store
            .set_disabled(user.id, disabled, None, now)
            .await
            .map_err(account_error(&db))
    })
    .await?;
    println!(
        "{email} is {}",
        if disabled {
            "disabled: its sessions and API tokens stopped working. Entries assigned to it stay so until handed on: see them under Staff in the console, or GET /api/v1/entries?view=all&assignee=<its email>"
        } else {
            "enabled again"
        }
    );
    Ok(())
}
