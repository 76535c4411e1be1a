//! Staff accounts as admins manage them: roles, disabling, renaming, and
//! the audit log that records it all (one-time links: `links`).

use earshot_collector::store::{AccountError, AccountRefusal, NewToken, NewUser, Role, User};

use crate::ingest::T0;
use crate::story;
use earshot_collector::store::Store;

pub(crate) async fn staff(db: &Store, admins: usize, agents: usize) -> Vec<User> {
    let mut users = Vec::new();
    for i in 0..admins + agents {
        let role = if i < admins { Role::Admin } else { Role::Agent };
        let new = NewUser {
            email: format!("u{i}@example.com"),
            name: format!("U{i}"),
            role,
            password_hash: "x".into(),
        };
        users.push(db.add_user(new, T0).await.unwrap());
    }
    users
}

/// The audit log's `action` entries as "subject by actor", newest first.
pub(crate) async fn audited(db: &Store, action: &str) -> Vec<String> {
    let log = db.audit_log(Some(action.into()), 10).await.unwrap();
    let by = |actor: Option<String>| actor.unwrap_or_else(|| "command line".into());
    log.into_iter()
        .map(|e| format!("{} by {}", e.subject, by(e.actor)))
        .collect()
}

/// The actions of the latest ten audit records (of those starting with
/// `prefix`), newest first.
pub async fn audit_actions(db: &Store, prefix: Option<&str>) -> Vec<String> {
    db.audit_log(prefix.map(str::to_owned), 10)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect()
}

pub(crate) fn refusal<T: std::fmt::Debug>(result: Result<T, AccountError>) -> AccountRefusal {
    match result {
        Err(AccountError::Refused(refusal)) => refusal,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

async fn the_last_active_admin_can_be_neither_disabled_nor_demoted(db: &Store) {
    let users = staff(db, 2, 1).await;
    let (a, b, agent) = (&users[0], &users[1], &users[2]);
    // Two admins demoting each other at once: one of them stays admin.
    let (x, y) = tokio::join!(
        db.set_role(a.id, Role::Agent, Some(b.id), T0 + 1),
        db.set_role(b.id, Role::Agent, Some(a.id), T0 + 1)
    );
    assert!(x.is_ok() != y.is_ok(), "{x:?} {y:?}");
    let admin = if x.is_ok() { b } else { a };
    assert_eq!(
        refusal(
            db.set_disabled(admin.id, true, Some(admin.id), T0 + 2)
                .await
        ),
        AccountRefusal::LastAdmin
    );
    assert_eq!(
        refusal(
            db.set_role(admin.id, Role::Agent, Some(admin.id), T0 + 2)
                .await
        ),
        AccountRefusal::LastAdmin
    );
    assert_eq!(
        refusal(db.set_role(9_999, Role::Agent, Some(admin.id), T0).await),
        AccountRefusal::NoUser
    );
    db.set_role(agent.id, Role::Admin, Some(admin.id), T0 + 3)
        .await
        .unwrap();
    let demoted = db
        .set_role(admin.id, Role::Agent, Some(agent.id), T0 + 4)
        .await
        .unwrap();
    assert_eq!(demoted.role, Role::Agent);
    let log = db.audit_log(Some("staff.".into()), 50).await.unwrap();
    let actions: Vec<(&str, &str, Option<&str>)> = log
        .iter()
        .map(|e| (e.action.as_str(), e.subject.as_str(), e.detail.as_deref()))
        .collect();
    assert_eq!(
        log.len(),
        6,
        "each account added and each change recorded, refusals not: {actions:?}"
    );
    // The accounts were added from the command line (no one signed in).
    for (added, user) in log[3..].iter().rev().zip(&users) {
        assert_eq!(
            (added.action.as_str(), added.subject.as_str()),
            ("staff.added", user.email.as_str())
        );
        assert_eq!(added.detail.as_deref(), Some(user.role.as_str()));
        assert_eq!(added.actor, None);
    }
    assert_eq!(
        actions[0],
        ("staff.role", admin.email.as_str(), Some("agent"))
    );
    assert_eq!(log[0].actor.as_deref(), Some(agent.name.as_str()));
    assert_eq!(log[0].at, T0 + 4);
    assert!(
        db.audit_log(Some("site.".into()), 50)
            .await
            .unwrap()
            .is_empty()
    );
}
story!(the_last_active_admin_can_be_neither_disabled_nor_demoted);

async fn a_disabled_colleague_is_cut_off_at_once_and_can_return(db: &Store) {
    let users = staff(db, 1, 1).await;
    let (admin, agent) = (&users[0], &users[1]);
    db.create_session(vec![7; 32], agent.id, "c".into(), T0, None)
        .await
        .unwrap();
    let token = NewToken {
        user_id: agent.id,
        name: "script".into(),
        scope: "read".into(),
        hash: vec![8; 32],
        hint: "esk_…".into(),
        expires_at: None,
    };
    db.add_token(token, None, T0).await.unwrap();
    db.set_disabled(agent.id, true, Some(admin.id), T0 + 1)
        .await
        .unwrap();
    assert!(db.session(vec![7; 32]).await.unwrap().is_none());
    assert!(
        db.token_holder(vec![8; 32], T0 + 2)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        db.user_for_login(agent.email.clone())
            .await
            .unwrap()
            .is_none()
    );
    let accounts = db.accounts().await.unwrap();
    assert_eq!(accounts.last().unwrap().user, *agent, "disabled ones last");
    assert_eq!(accounts.last().unwrap().disabled_at, Some(T0 + 1));
    // Disabling twice changes nothing; enabling brings the account back,
    // not its revoked token.
    db.set_disabled(agent.id, true, Some(admin.id), T0 + 2)
        .await
        .unwrap();
    db.set_disabled(agent.id, false, Some(admin.id), T0 + 3)
        .await
        .unwrap();
    assert!(
        db.user_for_login(agent.email.clone())
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        db.token_holder(vec![8; 32], T0 + 4)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        audit_actions(db, None).await,
        [
            "staff.enabled",
            "staff.disabled",
            "token.created",
            "staff.added",
            "staff.added"
        ]
    );
}
story!(a_disabled_colleague_is_cut_off_at_once_and_can_return);

async fn a_colleague_is_renamed_once_and_the_change_recorded(db: &Store) {
    let users = staff(db, 1, 1).await;
    let (admin, agent) = (&users[0], &users[1]);
    let renamed = db
        .rename_user(agent.id, "Bo Jensen".into(), Some(agent.id), T0 + 1)
        .await
        .unwrap();
    assert_eq!(renamed.name, "Bo Jensen");
    assert_eq!(
        db.user_name(agent.id).await.unwrap().as_deref(),
        Some("Bo Jensen")
    );
    // The same name again changes nothing and records nothing.
    db.rename_user(agent.id, "Bo Jensen".into(), Some(agent.id), T0 + 2)
        .await
        .unwrap();
    // From the command line: no one signed in.
    db.rename_user(admin.id, "Ada L.".into(), None, T0 + 3)
        .await
        .unwrap();
    assert_eq!(
        refusal(db.rename_user(9_999, "Nobody".into(), None, T0).await),
        AccountRefusal::NoUser
    );
    let entries = audited(db, "staff.renamed").await;
    assert_eq!(
        entries,
        [
            "u0@example.com by command line",
            "u1@example.com by Bo Jensen"
        ]
    );
}
story!(a_colleague_is_renamed_once_and_the_change_recorded);
