//! Accounts: inserted, found by username, unique by username.

use tracehop_store::StoreError;
use tracehop_store::users::UserRecord;

use crate::support::{fresh, t0};

fn user(id: &str, username: &str) -> UserRecord {
    UserRecord {
        id: id.into(),
        username: username.into(),
        display_name: "Dana Analyst".into(),
        email: Some("dana@consortium.example".into()),
        role: "analyst".into(),
        provider_id: None,
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
        disabled: false,
        created_at: t0(),
    }
}

#[tokio::test]
async fn users_are_inserted_and_found_by_username() {
    let (_db, store) = fresh().await;
    let staff = user("u-1", "dana");
    let provider_user = UserRecord {
        role: "provider".into(),
        provider_id: Some("G".into()),
        email: None,
        password_hash: None,
        disabled: true,
        ..user("u-2", "gnoc")
    };
    let mut tx = store.begin().await.unwrap();
    tx.insert_user(&staff).await.unwrap();
    tx.insert_user(&provider_user).await.unwrap();
    tx.commit().await.unwrap();

    assert_eq!(store.user_by_username("dana").await.unwrap(), Some(staff));
    assert_eq!(store.user_by_username("gnoc").await.unwrap(), Some(provider_user));
    assert_eq!(store.user_by_username("nobody").await.unwrap(), None);
    assert_eq!(store.user_by_username("DANA").await.unwrap(), None, "usernames match exactly");
}

#[tokio::test]
async fn a_duplicate_username_is_a_conflict() {
    let (_db, store) = fresh().await;
    let first = user("u-1", "dana");
    let mut tx = store.begin().await.unwrap();
    tx.insert_user(&first).await.unwrap();
    tx.commit().await.unwrap();

    for duplicate in [user("u-2", "dana"), UserRecord { username: "dana2".into(), ..user("u-1", "x") }] {
        let mut tx = store.begin().await.unwrap();
        let result = tx.insert_user(&duplicate).await;
        assert!(matches!(result, Err(StoreError::Conflict(_))), "{duplicate:?}: {result:?}");
        tx.rollback().await.unwrap();
    }
    assert_eq!(store.user_by_username("dana").await.unwrap(), Some(first));
    assert_eq!(store.user_by_username("dana2").await.unwrap(), None);
}
