//! API tokens: lineage, revocation that follows it, and a merged provider's tokens and webhooks.

use jiff::SignedDuration;
use tracehop_store::tokens::TokenRecord;
use tracehop_store::webhooks::WebhookRecord;

use crate::support::{fresh, t0};

fn token(id: &str, provider: Option<&str>, issued_by: Option<&str>) -> TokenRecord {
    TokenRecord {
        id: id.into(),
        prefix: format!("thp_{id}"),
        secret_hash: format!("hash-{id}"),
        name: id.into(),
        owner_kind: if provider.is_some() { "provider" } else { "staff" }.into(),
        provider_id: provider.map(str::to_owned),
        staff_role: provider.is_none().then(|| "admin".to_owned()),
        submitter_id: None,
        submitter_kind: None,
        scopes: vec!["tokens:manage".into()],
        rate_limit_per_minute: 60,
        created_by: "operator".into(),
        created_at: t0(),
        expires_at: None,
        revoked_at: None,
        last_used_at: None,
        issued_by: issued_by.map(str::to_owned),
        minted_by_staff: provider.and(issued_by).map(|_| "token:thp_root".to_owned()),
    }
}

#[tokio::test]
async fn revoking_a_token_revokes_the_tokens_issued_from_it_transitively() {
    let (_db, store) = fresh().await;
    let mut tx = store.begin().await.unwrap();
    for record in [
        token("root", None, None),
        token("child", Some("P"), Some("root")),
        token("grandchild", Some("P"), Some("child")),
        token("sibling", Some("P"), None),
    ] {
        assert!(tx.insert_token(&record).await.unwrap());
    }
    tx.commit().await.unwrap();
    let stored = store.token("grandchild").await.unwrap().unwrap();
    assert_eq!(stored, token("grandchild", Some("P"), Some("child")), "lineage reads back as written");
    let issued: Vec<String> = store.tokens_issued_from("root").await.unwrap().into_iter().map(|t| t.id).collect();
    assert_eq!(issued, ["child", "grandchild"]);

    let at = t0() + SignedDuration::from_mins(5);
    let mut revoked = store.revoke_token("child", at).await.unwrap();
    revoked.sort();
    assert_eq!(revoked, ["thp_child", "thp_grandchild"]);
    assert_eq!(store.token("grandchild").await.unwrap().unwrap().revoked_at, Some(at));
    assert_eq!(store.token("root").await.unwrap().unwrap().revoked_at, None);
    assert_eq!(store.token("sibling").await.unwrap().unwrap().revoked_at, None);
    assert!(store.revoke_token("child", at).await.unwrap().is_empty(), "already revoked");

    // A revoked token issues nothing more.
    let mut tx = store.begin().await.unwrap();
    assert!(!tx.insert_token(&token("late", Some("P"), Some("child"))).await.unwrap());
    assert!(!tx.insert_token(&token("orphan", Some("P"), Some("nobody"))).await.unwrap());
    tx.commit().await.unwrap();
    assert_eq!(store.token("late").await.unwrap(), None);
}

#[tokio::test]
async fn a_merged_providers_tokens_are_revoked_and_its_webhooks_switched_off() {
    let (_db, store) = fresh().await;
    let hook = |id: &str, provider: &str| WebhookRecord {
        id: id.into(),
        provider_id: provider.into(),
        url: format!("https://hooks.{provider}.example/"),
        event_types: vec!["*".into()],
        secret: "s".into(),
        previous_secret: None,
        previous_secret_until: None,
        active: true,
        created_at: t0(),
        updated_at: t0(),
    };
    let mut tx = store.begin().await.unwrap();
    for record in [token("root", None, None), token("old", Some("M"), Some("root")), token("kept", Some("T"), None)] {
        assert!(tx.insert_token(&record).await.unwrap());
    }
    tx.save_webhook(&hook("w-m", "M")).await.unwrap();
    tx.save_webhook(&hook("w-t", "T")).await.unwrap();
    tx.commit().await.unwrap();

    let at = t0() + SignedDuration::from_hours(1);
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.revoke_provider_tokens("M", at).await.unwrap(), ["thp_old"]);
    assert_eq!(tx.disable_webhooks_of("M", at).await.unwrap(), ["w-m"]);
    assert!(tx.disable_webhooks_of("M", at).await.unwrap().is_empty());
    tx.commit().await.unwrap();
    assert_eq!(store.token("old").await.unwrap().unwrap().revoked_at, Some(at));
    assert_eq!(store.token("kept").await.unwrap().unwrap().revoked_at, None);
    assert_eq!(store.token("root").await.unwrap().unwrap().revoked_at, None);
    let merged = store.webhook("w-m").await.unwrap().unwrap();
    assert!(!merged.active);
    assert_eq!(merged.updated_at, at);
    assert!(store.webhook("w-t").await.unwrap().unwrap().active);
}

#[tokio::test]
async fn a_tokens_last_use_never_moves_backwards() {
    let (_db, store) = fresh().await;
    let mut tx = store.begin().await.unwrap();
    assert!(tx.insert_token(&token("robot", Some("P"), None)).await.unwrap());
    tx.commit().await.unwrap();
    let (earlier, later) = (t0() + SignedDuration::from_mins(5), t0() + SignedDuration::from_mins(7));
    store.touch_token("robot", later).await.unwrap();
    // Touches are recorded in the background: an older one may land after a newer one.
    store.touch_token("robot", earlier).await.unwrap();
    assert_eq!(store.token("robot").await.unwrap().unwrap().last_used_at, Some(later));
}
