//! One-time links: invitations, password resets and sign-in links, each
//! good once, until it expires or is replaced, and sent only a few times
//! an hour when its owner asks for it.

use earshot_collector::store::{
    ASKED_LINKS_PER_HOUR, AccountError, AccountRefusal, LinkPurpose, NewLink, NewUser, Role, Store,
    User,
};

use crate::accounts::{audited, refusal, staff};
use crate::ingest::T0;
use crate::story;

/// An invitation from `by` to `email` as an agent, made at `at` and good
/// for 100 ms.
fn invitation(by: &User, hash: &[u8], email: &str, at: i64) -> NewLink {
    NewLink {
        hash: hash.to_vec(),
        purpose: LinkPurpose::Invite {
            email: email.into(),
            name: "New".into(),
            role: Role::Agent,
        },
        created_by: by.id,
        asked_by_owner: false,
        at,
        expires_at: at + 100,
    }
}

/// An invitation names a mailbox however its international domain is
/// written: to an account's address written the other way it is refused,
/// and a new one replaces the one sent to the other way.
async fn an_invitation_names_an_international_domain_written_either_way(db: &Store) {
    let users = staff(db, 1, 0).await;
    let admin = &users[0];
    db.add_user(
        NewUser {
            email: "jan@müller.example".into(),
            name: "Jan".into(),
            role: Role::Agent,
            password_hash: "x".into(),
        },
        T0,
    )
    .await
    .unwrap();
    assert_eq!(
        refusal(
            db.add_account_link(invitation(admin, b"jan", "Jan@xn--mller-kva.example", T0))
                .await
        ),
        AccountRefusal::EmailTaken
    );
    for (hash, email, at) in [
        (b"first", "li@bücher.example", T0),
        (b"again", "li@xn--bcher-kva.example", T0 + 1),
    ] {
        db.add_account_link(invitation(admin, hash, email, at))
            .await
            .unwrap();
    }
    let pending = db.pending_invites(T0 + 2).await.unwrap();
    let listed: Vec<&str> = pending.iter().map(|p| p.email.as_str()).collect();
    assert_eq!(
        listed,
        ["li@xn--bcher-kva.example"],
        "the later replaced it"
    );
    // Added meanwhile (`earshot user add`), her domain typed the other
    // way: the invitation can no longer be accepted, so it no longer waits.
    let li = NewUser {
        email: "Li@BÜCHER.example".into(),
        name: "Li".into(),
        role: Role::Agent,
        password_hash: "x".into(),
    };
    db.add_user(li, T0 + 2).await.unwrap();
    assert_eq!(db.pending_invites(T0 + 3).await.unwrap(), []);
}
story!(an_invitation_names_an_international_domain_written_either_way);

async fn a_one_time_link_is_withdrawn_until_it_is_used_and_never_after(db: &Store) {
    let users = staff(db, 1, 0).await;
    let admin = &users[0];
    let invite = |hash: &[u8], email: &str, at: i64| invitation(admin, hash, email, at);
    db.add_account_link(invite(b"wrong", "bo@exmaple.com", T0))
        .await
        .unwrap();
    db.add_account_link(invite(b"right", "bo@example.com", T0 + 1))
        .await
        .unwrap();
    let pending = db.pending_invites(T0 + 2).await.unwrap();
    let listed: Vec<(&str, Option<&str>, Option<i64>, i64)> = pending
        .iter()
        .map(|p| {
            let by = p.invited_by.as_deref();
            (p.email.as_str(), by, p.invited_by_id, p.created_at)
        })
        .collect();
    let by = Some(admin.id);
    assert_eq!(
        listed,
        [
            ("bo@example.com", Some("U0"), by, T0 + 1),
            ("bo@exmaple.com", Some("U0"), by, T0)
        ]
    );
    let wrong = pending[1].id;
    assert_eq!(
        db.withdraw_link(wrong, admin.id, T0 + 3).await.unwrap(),
        Some("bo@exmaple.com".to_owned())
    );
    assert_eq!(
        db.account_link(b"wrong".to_vec(), T0 + 4).await.unwrap(),
        None
    );
    assert!(matches!(
        db.redeem_account_link(b"wrong".to_vec(), None, "h".into(), T0 + 4)
            .await,
        Err(AccountError::Refused(AccountRefusal::LinkInvalid))
    ));
    // Once is all: withdrawn, accepted or expired, there is nothing to take back.
    assert_eq!(
        db.withdraw_link(wrong, admin.id, T0 + 5).await.unwrap(),
        None
    );
    let right = pending[0].id;
    db.redeem_account_link(b"right".to_vec(), Some("Bo".into()), "h".into(), T0 + 6)
        .await
        .unwrap();
    assert_eq!(
        db.withdraw_link(right, admin.id, T0 + 7).await.unwrap(),
        None
    );
    db.add_account_link(invite(b"late", "cy@example.com", T0 + 8))
        .await
        .unwrap();
    let late = db.pending_invites(T0 + 9).await.unwrap()[0].id;
    // An account made meanwhile from the command line: nothing waits.
    db.add_account_link(invite(b"overtaken", "dee@example.com", T0 + 8))
        .await
        .unwrap();
    let dee = NewUser {
        email: "DEE@example.com".into(),
        name: "Dee".into(),
        role: Role::Agent,
        password_hash: "x".into(),
    };
    db.add_user(dee, T0 + 9).await.unwrap();
    let waiting: Vec<String> = db
        .pending_invites(T0 + 9)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.email)
        .collect();
    assert_eq!(waiting, ["cy@example.com"]);
    assert_eq!(
        db.withdraw_link(late, admin.id, T0 + 108).await.unwrap(),
        None
    );
    assert_eq!(db.withdraw_link(9_999, admin.id, T0).await.unwrap(), None);
    let entries = audited(db, "staff.invite_withdrawn").await;
    assert_eq!(entries, ["bo@exmaple.com by U0"]);
    // Names are not unique: the record names the account too.
    let record = &db
        .audit_log(Some("staff.invite_withdrawn".into()), 1)
        .await
        .unwrap()[0];
    assert_eq!(
        (record.actor_id, record.actor_email.as_deref()),
        (Some(admin.id), Some(admin.email.as_str()))
    );

    // A reset link too, while it lasts: listed with who made it (nobody
    // when its owner asked at sign-in), withdrawn once.
    let bo = db
        .user_by_email("bo@example.com".into())
        .await
        .unwrap()
        .unwrap();
    let reset = |hash: &[u8], by: i64, asked: bool| NewLink {
        hash: hash.to_vec(),
        purpose: LinkPurpose::Reset { user: bo.clone() },
        created_by: by,
        asked_by_owner: asked,
        at: T0 + 10,
        expires_at: T0 + 110,
    };
    db.add_account_link(reset(b"handed", admin.id, false))
        .await
        .unwrap();
    let pending = db.pending_resets(T0 + 11).await.unwrap();
    let listed: Vec<(i64, Option<&str>, Option<i64>, i64)> = pending
        .iter()
        .map(|r| (r.user_id, r.made_by.as_deref(), r.made_by_id, r.expires_at))
        .collect();
    assert_eq!(listed, [(bo.id, Some("U0"), Some(admin.id), T0 + 110)]);
    assert_eq!(
        db.withdraw_link(pending[0].id, admin.id, T0 + 12)
            .await
            .unwrap(),
        Some("bo@example.com".to_owned())
    );
    assert_eq!(
        db.account_link(b"handed".to_vec(), T0 + 13).await.unwrap(),
        None
    );
    assert!(db.pending_resets(T0 + 13).await.unwrap().is_empty());
    db.add_account_link(reset(b"asked", bo.id, true))
        .await
        .unwrap();
    let asked = db.pending_resets(T0 + 14).await.unwrap();
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].made_by, None, "asked for by its owner");
    assert_eq!(asked[0].made_by_id, None, "asked for by its owner");
    let entries = audited(db, "staff.reset_withdrawn").await;
    assert_eq!(entries, ["bo@example.com by U0"]);
}
story!(a_one_time_link_is_withdrawn_until_it_is_used_and_never_after);

async fn a_link_works_once_and_not_after_it_expires_or_is_replaced(db: &Store) {
    let users = staff(db, 1, 1).await;
    let admin = &users[0];
    let invite = |hash: &[u8], email: &str, at: i64| invitation(admin, hash, email, at);
    db.add_account_link(invite(b"one", "new@example.com", T0))
        .await
        .unwrap();
    db.add_account_link(invite(b"two", "NEW@example.com", T0 + 10))
        .await
        .unwrap();
    assert_eq!(
        db.account_link(b"one".to_vec(), T0 + 20).await.unwrap(),
        None
    );
    assert!(
        db.account_link(b"two".to_vec(), T0 + 20)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        db.account_link(b"two".to_vec(), T0 + 110).await.unwrap(),
        None
    );
    let pending = db.pending_invites(T0 + 20).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(
        (pending[0].email.as_str(), pending[0].expires_at),
        ("NEW@example.com", T0 + 110)
    );
    // Two tabs redeeming at once: one account.
    let (x, y) = tokio::join!(
        db.redeem_account_link(b"two".to_vec(), Some("Nia".into()), "h".into(), T0 + 50),
        db.redeem_account_link(b"two".to_vec(), Some("Nia".into()), "h".into(), T0 + 50)
    );
    let joined = match (x, y) {
        (Ok(user), Err(e)) | (Err(e), Ok(user)) => {
            assert!(
                matches!(e, AccountError::Refused(AccountRefusal::LinkInvalid)),
                "{e:?}"
            );
            user
        }
        other => panic!("exactly one redemption: {other:?}"),
    };
    assert_eq!((joined.name.as_str(), joined.role), ("Nia", Role::Agent));
    assert!(db.pending_invites(T0 + 60).await.unwrap().is_empty());
    assert_eq!(
        refusal(
            db.add_account_link(invite(b"three", "u1@EXAMPLE.com", T0 + 60))
                .await
        ),
        AccountRefusal::EmailTaken
    );
    // A reset link sets a new password and ends the sessions.
    let agent = &users[1];
    db.create_session(vec![9; 32], agent.id, "c".into(), T0, None)
        .await
        .unwrap();
    let reset = NewLink {
        hash: b"reset".to_vec(),
        purpose: LinkPurpose::Reset {
            user: agent.clone(),
        },
        // Asked for by its owner at sign-in, as "Forgot your password?" does.
        created_by: agent.id,
        asked_by_owner: true,
        at: T0 + 70,
        expires_at: T0 + 170,
    };
    db.add_account_link(reset).await.unwrap();
    let asked = db.audit_log(Some("staff.".into()), 1).await.unwrap();
    assert_eq!(asked[0].action, "staff.reset_asked");
    assert_eq!(asked[0].subject, agent.email);
    assert_eq!(
        db.account_link(b"reset".to_vec(), T0 + 80).await.unwrap(),
        Some(LinkPurpose::Reset {
            user: agent.clone()
        })
    );
    let back = db
        .redeem_account_link(b"reset".to_vec(), None, "new".into(), T0 + 90)
        .await
        .unwrap();
    assert_eq!(back, *agent);
    assert!(db.session(vec![9; 32]).await.unwrap().is_none());
    let (_, hash) = db
        .user_for_login(agent.email.clone())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(hash, "new");
    let gone = NewLink {
        hash: b"ghost".to_vec(),
        purpose: LinkPurpose::Reset {
            user: User {
                id: 9_999,
                ..agent.clone()
            },
        },
        created_by: admin.id,
        asked_by_owner: false,
        at: T0,
        expires_at: T0 + 100,
    };
    assert_eq!(
        refusal(db.add_account_link(gone).await),
        AccountRefusal::NoUser
    );
}
story!(a_link_works_once_and_not_after_it_expires_or_is_replaced);

async fn asking_for_a_reset_at_sign_in_keeps_the_link_an_admin_made(db: &Store) {
    let users = staff(db, 1, 1).await;
    let (admin, agent) = (&users[0], &users[1]);
    let reset = |hash: &[u8], by: &User, at: i64| NewLink {
        hash: hash.to_vec(),
        purpose: LinkPurpose::Reset {
            user: agent.clone(),
        },
        created_by: by.id,
        asked_by_owner: by.id == agent.id,
        at,
        expires_at: at + 1_000,
    };
    let works = |hash: &'static [u8], at: i64| async move {
        db.account_link(hash.to_vec(), at).await.unwrap().is_some()
    };
    db.add_account_link(reset(b"admin-1", admin, T0))
        .await
        .unwrap();
    // Anyone can ask for the agent's address at sign-in, twice.
    db.add_account_link(reset(b"asked-1", agent, T0 + 10))
        .await
        .unwrap();
    db.add_account_link(reset(b"asked-2", agent, T0 + 20))
        .await
        .unwrap();
    assert!(
        works(b"admin-1", T0 + 30).await,
        "the admin's link survives"
    );
    assert!(
        !works(b"asked-1", T0 + 30).await,
        "replaced by the next ask"
    );
    assert!(works(b"asked-2", T0 + 30).await);
    // A new link from an admin replaces every earlier one.
    db.add_account_link(reset(b"admin-2", admin, T0 + 40))
        .await
        .unwrap();
    assert!(!works(b"admin-1", T0 + 50).await);
    assert!(!works(b"asked-2", T0 + 50).await);
    assert!(works(b"admin-2", T0 + 50).await);
    // Whichever is used first ends the others.
    db.add_account_link(reset(b"asked-3", agent, T0 + 60))
        .await
        .unwrap();
    db.redeem_account_link(b"asked-3".to_vec(), None, "new".into(), T0 + 70)
        .await
        .unwrap();
    assert!(!works(b"admin-2", T0 + 80).await);
    assert!(!works(b"asked-3", T0 + 80).await);
}
story!(asking_for_a_reset_at_sign_in_keeps_the_link_an_admin_made);

async fn an_account_is_sent_only_a_few_links_an_hour_at_its_owners_request(db: &Store) {
    let users = staff(db, 1, 2).await;
    let (admin, agent, other) = (&users[0], &users[1], &users[2]);
    const HOUR: i64 = 3_600_000;
    let reset = |n: i64, by: &User, user: &User, at: i64| NewLink {
        hash: format!("link-{n}").into_bytes(),
        purpose: LinkPurpose::Reset { user: user.clone() },
        created_by: by.id,
        asked_by_owner: by.id == user.id,
        at,
        expires_at: at + HOUR,
    };
    // Asked for every twenty minutes, then once more.
    let every = HOUR / ASKED_LINKS_PER_HOUR;
    for n in 0..ASKED_LINKS_PER_HOUR {
        db.add_account_link(reset(n, agent, agent, T0 + n * every))
            .await
            .unwrap();
    }
    let last = T0 + (ASKED_LINKS_PER_HOUR - 1) * every;
    assert_eq!(
        refusal(
            db.add_account_link(reset(10, agent, agent, last + 10))
                .await
        ),
        AccountRefusal::AskedTooOften
    );
    assert!(
        db.account_link(
            format!("link-{}", ASKED_LINKS_PER_HOUR - 1).into_bytes(),
            last + 20
        )
        .await
        .unwrap()
        .is_some(),
        "a refused ask replaces nothing"
    );
    // Other accounts, and links an administrator makes, are not held back.
    db.add_account_link(reset(11, other, other, last + 11))
        .await
        .unwrap();
    db.add_account_link(reset(12, admin, agent, last + 12))
        .await
        .unwrap();
    // An hour after the first, one more.
    db.add_account_link(reset(13, agent, agent, T0 + HOUR + 1))
        .await
        .unwrap();
    assert_eq!(
        refusal(
            db.add_account_link(reset(14, agent, agent, T0 + HOUR + 2))
                .await
        ),
        AccountRefusal::AskedTooOften
    );
}
story!(an_account_is_sent_only_a_few_links_an_hour_at_its_owners_request);
