//! API tokens and the server's own secrets.

use earshot_collector::store::{NewToken, NewUser, Role};

use crate::ingest::T0;
use crate::story;
use earshot_collector::store::Store;

async fn secrets_are_made_once_and_kept(db: &Store) {
    let (a, b) = tokio::join!(db.ip_hash_secret(), db.ip_hash_secret());
    let ip = a.unwrap();
    assert_eq!(ip, b.unwrap());
    assert_eq!(ip, db.ip_hash_secret().await.unwrap());
    let login = db.login_throttle_secret().await.unwrap();
    assert_ne!(ip, login);
    assert_eq!(login, db.login_throttle_secret().await.unwrap());
    let (a, b) = tokio::join!(db.setup_link_secret(), db.setup_link_secret());
    let setup = a.unwrap();
    assert_eq!(setup, b.unwrap(), "every collector prints the same link");
    assert!(setup != ip && setup != login);
    assert_eq!(setup, db.setup_link_secret().await.unwrap());
}
story!(secrets_are_made_once_and_kept);

async fn a_token_acts_for_its_owner_until_revoked_or_expired(db: &Store) {
    let owner = NewUser {
        email: "Ada@Shop.example".into(),
        name: "Ada".into(),
        role: Role::Admin,
        password_hash: "x".into(),
    };
    let ada = db.add_user(owner, T0).await.unwrap();
    let bo = NewUser {
        email: "bo@shop.example".into(),
        name: "Bo".into(),
        role: Role::Agent,
        password_hash: "x".into(),
    };
    let bo = db.add_user(bo, T0).await.unwrap();
    assert_eq!(
        db.user_by_email(" ada@shop.EXAMPLE ".into()).await.unwrap(),
        Some(ada.clone())
    );
    assert_eq!(
        db.user_by_email("nobody@shop.example".into())
            .await
            .unwrap(),
        None
    );
    let new = |hash: u8, expires_at| NewToken {
        user_id: ada.id,
        name: format!("script {hash}"),
        scope: "write".into(),
        hash: vec![hash; 32],
        hint: "esk_…abcd".into(),
        expires_at,
    };
    let live = db.add_token(new(1, None), Some(ada.id), T0).await.unwrap();
    assert!(live.public_id.starts_with("tok_"), "{}", live.public_id);
    assert_eq!(
        (live.owner_email.as_str(), live.scope.as_str()),
        ("Ada@Shop.example", "write")
    );
    assert_eq!(
        (live.created_at, live.last_used_at, live.revoked_at),
        (T0, None, None)
    );
    let short = db
        .add_token(new(2, Some(T0 + 100)), None, T0 + 1)
        .await
        .unwrap();
    let listed: Vec<String> = db
        .tokens(Some(ada.id))
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.public_id)
        .collect();
    assert_eq!(listed, [short.public_id.clone(), live.public_id.clone()]);
    assert!(db.tokens(Some(bo.id)).await.unwrap().is_empty());
    assert_eq!(db.tokens(None).await.unwrap().len(), 2);
    let (holder, info) = db
        .token_holder(vec![1; 32], T0 + 5)
        .await
        .unwrap()
        .expect("live");
    assert_eq!((holder, info.id), (ada.clone(), live.id));
    assert!(
        db.token_holder(vec![2; 32], T0 + 99)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        db.token_holder(vec![2; 32], T0 + 100)
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
    assert!(db.token_holder(vec![3; 32], T0).await.unwrap().is_none());
    db.touch_token(live.id, T0 + 7).await.unwrap();
    let (_, info) = db.token_holder(vec![1; 32], T0 + 8).await.unwrap().unwrap();
    assert_eq!(info.last_used_at, Some(T0 + 7));
    // Only its owner (or an admin, `None`) revokes it, once.
    assert!(
        !db.revoke_token(live.public_id.clone(), Some(bo.id), Some(bo.id), T0 + 9)
            .await
            .unwrap()
    );
    assert!(
        db.revoke_token(live.public_id.clone(), Some(ada.id), Some(ada.id), T0 + 9)
            .await
            .unwrap()
    );
    assert!(
        !db.revoke_token(live.public_id.clone(), None, None, T0 + 10)
            .await
            .unwrap()
    );
    assert!(
        db.token_holder(vec![1; 32], T0 + 11)
            .await
            .unwrap()
            .is_none()
    );
    let listed = db.tokens(Some(ada.id)).await.unwrap();
    assert_eq!(listed[1].revoked_at, Some(T0 + 9));
}
story!(a_token_acts_for_its_owner_until_revoked_or_expired);
