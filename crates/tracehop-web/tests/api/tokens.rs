//! API tokens through the API: a provider issues its own within its scopes, staff issue tokens for
//! providers, secrets are shown once, last use is recorded, and `/me` says who a token is.

use std::time::Duration;

use jiff::SignedDuration;
use serde_json::{Value, json};
use tracehop_app::access::tokens::Scope;
use tracehop_web::testing::TestApp;

use crate::support::{MONDAY_10AM_NY, at, expect_invalid, expect_json, expect_problem};

struct Setup {
    t: TestApp,
    staff: String,
    /// hops:read, hops:answer, tokens:manage for `terminating`.
    manager: String,
    /// tokens:manage for `other`.
    other: String,
}

async fn setup() -> Setup {
    let t = TestApp::start(at(MONDAY_10AM_NY)).await;
    let terminating = t.provider("terminating", "US", &[]).await;
    let other = t.provider("other", "US", &[]).await;
    let manager = t.provider_token(&terminating, &[Scope::HopsRead, Scope::HopsAnswer, Scope::TokensManage]).await;
    let other = t.provider_token(&other, &[Scope::HopsRead, Scope::TokensManage]).await;
    // An onboarding admin: it grants providers only scopes it holds itself.
    let staff = t
        .staff_token(&[
            Scope::TokensManage,
            Scope::TracebacksRead,
            Scope::HopsRead,
            Scope::HopsAnswer,
            Scope::WebhooksManage,
        ])
        .await;
    Setup { t, staff, manager, other }
}

async fn me(t: &TestApp, token: &str) -> Value {
    expect_json(t.get(token, "/api/v1/me").await, 200).await
}

/// The token's record as `GET /api/v1/tokens` lists it for `lister`.
async fn listed(t: &TestApp, lister: &str, query: &str, id: &str) -> Value {
    let list = expect_json(t.get(lister, &format!("/api/v1/tokens{query}")).await, 200).await;
    list.as_array().unwrap().iter().find(|t| t["id"] == id).cloned().unwrap_or_else(|| panic!("{id} not in {list}"))
}

/// Waits for the server's background write of a token's last use.
async fn last_used(t: &TestApp, lister: &str, query: &str, id: &str, expected: &str) {
    // The last use is recorded in the background; a loaded machine may take a while.
    for _ in 0..500 {
        if listed(t, lister, query, id).await["last_used_at"] == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("last_used_at never became {expected}: {}", listed(t, lister, query, id).await);
}

#[tokio::test]
async fn a_provider_issues_itself_a_token_with_a_subset_of_its_scopes_shown_once() {
    let Setup { t, manager, .. } = setup().await;
    let created = expect_json(
        t.post(&manager, "/api/v1/tokens", &json!({"name": "answering robot", "scopes": ["hops:read"]})).await,
        201,
    )
    .await;
    let secret = created["token"].as_str().unwrap().to_owned();
    let prefix = created["prefix"].as_str().unwrap();
    assert!(prefix.starts_with("thp_"), "{created}");
    assert!(secret.starts_with(&format!("{prefix}_")), "{created}");
    assert!(secret.len() > prefix.len() + 30, "a long secret: {created}");
    assert_eq!(created["name"], "answering robot");
    assert_eq!(created["owner_kind"], "provider");
    assert_eq!(created["provider_id"], "terminating");
    assert_eq!(created["staff_role"], Value::Null);
    assert_eq!(created["scopes"], json!(["hops:read"]));
    assert_eq!(created["rate_limit_per_minute"], 600);
    assert_eq!(created["created_at"], MONDAY_10AM_NY);
    assert_eq!(created["expires_at"], Value::Null);
    assert_eq!(created["revoked_at"], Value::Null);
    assert_eq!(created["last_used_at"], Value::Null);
    let id = created["id"].as_str().unwrap().to_owned();

    // It works, with exactly its scopes.
    let who = me(&t, &secret).await;
    assert_eq!(
        who,
        json!({"token_id": id, "kind": "provider", "provider_id": "terminating", "staff_role": null, "submitter_id": null, "scopes": ["hops:read"]})
    );
    expect_json(t.get(&secret, "/api/v1/provider/hops").await, 200).await;
    expect_problem(t.get(&secret, "/api/v1/tokens").await, 403, "forbidden").await;

    // Listed later without its secret.
    let list = expect_json(t.get(&manager, "/api/v1/tokens").await, 200).await;
    let text = list.to_string();
    assert!(!text.contains(&secret), "{text}");
    assert!(!text.contains(&secret[prefix.len() + 1..]), "{text}");
    let record = listed(&t, &manager, "", &id).await;
    assert!(record.get("token").is_none(), "{record}");
    assert!(record.get("secret_hash").is_none(), "{record}");
    assert_eq!(record["prefix"], prefix);
    assert_eq!(record["scopes"], json!(["hops:read"]));
    // The issuing token and the new one, nothing of the other provider's.
    assert_eq!(list.as_array().unwrap().len(), 2, "{list}");
    assert!(list.as_array().unwrap().iter().all(|t| t["provider_id"] == "terminating"), "{list}");
}

#[tokio::test]
async fn a_provider_cannot_grant_a_scope_it_lacks_nor_issue_for_another_provider() {
    let Setup { t, staff, manager, other } = setup().await;
    let problem = expect_problem(
        t.post(&manager, "/api/v1/tokens", &json!({"name": "n", "scopes": ["hops:read", "webhooks:manage"]})).await,
        403,
        "forbidden",
    )
    .await;
    assert_eq!(problem["detail"], "you cannot grant webhooks:manage, which your own token lacks");
    expect_problem(
        t.post(&manager, "/api/v1/tokens", &json!({"name": "n", "scopes": ["tracebacks:read"]})).await,
        403,
        "forbidden",
    )
    .await;

    // Another provider, existing or not, is not there to issue for, list or revoke.
    for provider in ["other", "nobody"] {
        let body = json!({"name": "n", "scopes": ["hops:read"], "provider_id": provider});
        expect_problem(t.post(&manager, "/api/v1/tokens", &body).await, 404, "not-found").await;
        expect_problem(t.get(&manager, &format!("/api/v1/tokens?provider_id={provider}")).await, 404, "not-found")
            .await;
    }
    let other_id = me(&t, &other).await["token_id"].as_str().unwrap().to_owned();
    let revoke =
        t.http.delete(t.url(&format!("/api/v1/tokens/{other_id}"))).bearer_auth(&manager).send().await.unwrap();
    expect_problem(revoke, 404, "not-found").await;
    expect_json(t.get(&other, "/api/v1/me").await, 200).await;
    // Nor a staff token.
    expect_invalid(
        t.post(&manager, "/api/v1/tokens", &json!({"name": "n", "scopes": ["hops:read"], "staff_role": "admin"})).await,
        "staff_role",
    )
    .await;
    // Nothing was issued.
    let list = expect_json(t.get(&staff, "/api/v1/tokens?provider_id=other").await, 200).await;
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    let list = expect_json(t.get(&staff, "/api/v1/tokens?provider_id=terminating").await, 200).await;
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");

    // Input is checked.
    for (body, field) in [
        (json!({"name": "", "scopes": ["hops:read"]}), "name"),
        (json!({"name": "n", "scopes": []}), "scopes"),
        (json!({"name": "n", "scopes": ["hops:write"]}), "scopes"),
        (json!({"name": "n", "scopes": ["hops:read"], "expires_at": "2026-03-02T14:00:00Z"}), "expires_at"),
        (json!({"name": "n", "scopes": ["hops:read"], "rate_limit_per_minute": 0}), "rate_limit_per_minute"),
        (json!({"scopes": ["hops:read"]}), "name"),
    ] {
        expect_invalid(t.post(&manager, "/api/v1/tokens", &body).await, field).await;
    }
}

#[tokio::test]
async fn staff_issue_provider_tokens() {
    let Setup { t, staff, .. } = setup().await;
    let body = json!({"name": "terminating's SBC", "scopes": ["hops:read", "hops:answer", "webhooks:manage"], "provider_id": "terminating",
                      "expires_at": "2026-06-01T00:00:00Z", "rate_limit_per_minute": 120});
    let created = expect_json(t.post(&staff, "/api/v1/tokens", &body).await, 201).await;
    assert_eq!(created["owner_kind"], "provider");
    assert_eq!(created["provider_id"], "terminating");
    assert_eq!(created["scopes"], json!(["hops:read", "hops:answer", "webhooks:manage"]));
    assert_eq!(created["expires_at"], "2026-06-01T00:00:00Z");
    assert_eq!(created["rate_limit_per_minute"], 120);
    let staff_me = me(&t, &staff).await;
    assert_eq!(created["created_by"], format!("token:{}", staff.rsplit_once('_').unwrap().0));
    let token = created["token"].as_str().unwrap();
    let who = me(&t, token).await;
    assert_eq!(who["kind"], "provider");
    assert_eq!(who["provider_id"], "terminating");
    expect_json(t.get(token, "/api/v1/webhooks").await, 200).await;
    let listed = expect_json(t.get(&staff, "/api/v1/tokens?provider_id=terminating").await, 200).await;
    assert!(listed.as_array().unwrap().iter().any(|t| t["id"] == created["id"]), "{listed}");
    assert!(!listed.to_string().contains(token));

    // Staff see what staff are.
    assert_eq!(staff_me["kind"], "staff");
    assert_eq!(staff_me["staff_role"], "admin");
    assert_eq!(staff_me["provider_id"], Value::Null);
    assert_eq!(
        staff_me["scopes"],
        json!(["hops:read", "hops:answer", "webhooks:manage", "tokens:manage", "tracebacks:read"])
    );

    // Provider scopes only on provider tokens; a provider named that exists; an owner named.
    let wrong = json!({"name": "n", "scopes": ["tracebacks:read"], "provider_id": "terminating"});
    expect_invalid(t.post(&staff, "/api/v1/tokens", &wrong).await, "scopes").await;
    let unknown = json!({"name": "n", "scopes": ["hops:read"], "provider_id": "nobody"});
    expect_invalid(t.post(&staff, "/api/v1/tokens", &unknown).await, "provider_id").await;
    expect_invalid(
        t.post(&staff, "/api/v1/tokens", &json!({"name": "n", "scopes": ["hops:read"]})).await,
        "provider_id",
    )
    .await;

    // A staff admin may issue a staff machine token; it acts as staff.
    let analyst = json!({"name": "reporting", "scopes": ["tracebacks:read"], "staff_role": "analyst"});
    let created = expect_json(t.post(&staff, "/api/v1/tokens", &analyst).await, 201).await;
    assert_eq!(created["owner_kind"], "staff");
    assert_eq!(created["staff_role"], "analyst");
    let who = me(&t, created["token"].as_str().unwrap()).await;
    assert_eq!((who["kind"].as_str(), who["staff_role"].as_str()), (Some("staff"), Some("analyst")));
    expect_json(t.get(created["token"].as_str().unwrap(), "/api/v1/tracebacks").await, 200).await;
}

#[tokio::test]
async fn last_use_is_recorded() {
    let Setup { t, manager, .. } = setup().await;
    let created =
        expect_json(t.post(&manager, "/api/v1/tokens", &json!({"name": "robot", "scopes": ["hops:read"]})).await, 201)
            .await;
    let (id, token) = (created["id"].as_str().unwrap().to_owned(), created["token"].as_str().unwrap().to_owned());
    assert_eq!(listed(&t, &manager, "", &id).await["last_used_at"], Value::Null);

    t.advance(SignedDuration::from_mins(5)).await;
    expect_json(t.get(&token, "/api/v1/provider/hops").await, 200).await;
    last_used(&t, &manager, "", &id, "2026-03-02T15:05:00Z").await;

    // A later use moves it on.
    t.advance(SignedDuration::from_mins(2) + SignedDuration::from_secs(30)).await;
    expect_json(t.get(&token, "/api/v1/me").await, 200).await;
    last_used(&t, &manager, "", &id, "2026-03-02T15:07:30Z").await;
    // The manager's own token's use is recorded too.
    last_used(&t, &manager, "", me(&t, &manager).await["token_id"].as_str().unwrap(), "2026-03-02T15:07:30Z").await;
}
