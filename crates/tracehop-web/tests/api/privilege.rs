//! Token minting ceilings and lineage, staff-only routes, and what a merge does to the merged
//! provider's tokens and webhooks (issue 9: items 1, 4 and 5).

use std::collections::BTreeSet;

use jiff::Timestamp;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tracehop_app::access::principal::{Principal, StaffRole};
use tracehop_app::access::tokens::{NewToken, Scope, TokenOwner};
use tracehop_store::tokens::TokenRecord;
use tracehop_web::testing::TestApp;

use crate::support::{MONDAY_10AM_NY, at, expect_json, expect_problem, start_body};

fn operator() -> Principal {
    Principal::Staff { user: "test-operator".to_owned(), role: StaffRole::Admin, minted_by: None }
}

/// A token an operator issues, with the given limit and expiry.
async fn issue(
    t: &TestApp,
    owner: TokenOwner,
    scopes: &[Scope],
    rate_limit_per_minute: Option<u32>,
    expires_at: Option<Timestamp>,
) -> String {
    let scopes: BTreeSet<Scope> = scopes.iter().copied().collect();
    let new = NewToken { name: "test".to_owned(), owner, scopes, expires_at, rate_limit_per_minute };
    t.app.issue_token(&operator(), None, new).await.unwrap().token
}

fn prefix(token: &str) -> &str {
    token.rsplit_once('_').unwrap().0
}

async fn mint(t: &TestApp, issuer: &str, body: &Value) -> reqwest::Response {
    t.post(issuer, "/api/v1/tokens", body).await
}

#[tokio::test]
async fn a_token_never_grants_more_than_its_issuer_holds() {
    let t = TestApp::start(at(MONDAY_10AM_NY)).await;
    t.provider("terminating", "US", &[]).await;

    // An admin token holding only tokens:manage cannot mint a fuller admin token.
    let bare_admin = t.staff_token(&[Scope::TokensManage]).await;
    let fuller = json!({"name": "n", "staff_role": "admin", "scopes": ["tokens:manage", "tracebacks:manage"]});
    let problem = expect_problem(mint(&t, &bare_admin, &fuller).await, 403, "forbidden").await;
    assert_eq!(problem["detail"], "you cannot grant tracebacks:manage, which your own token lacks");
    // Nor a provider token with scopes it lacks.
    let provider = json!({"name": "n", "provider_id": "terminating", "scopes": ["hops:read", "hops:answer"]});
    expect_problem(mint(&t, &bare_admin, &provider).await, 403, "forbidden").await;

    // An analyst's token onboards nobody, whatever it holds.
    let analyst = issue(
        &t,
        TokenOwner::Staff(StaffRole::Analyst),
        &[Scope::TokensManage, Scope::IncidentsSubmit, Scope::CandidatesSubmit],
        None,
        None,
    )
    .await;
    let problem = expect_problem(
        mint(&t, &analyst, &json!({"name": "n", "provider_id": "terminating", "scopes": ["tokens:manage"]})).await,
        403,
        "forbidden",
    )
    .await;
    assert!(problem["detail"].as_str().unwrap().contains("only staff admins"), "{problem}");
    t.app
        .create_submitter(
            &operator(),
            "signalwatch",
            "SignalWatch",
            tracehop_core::intake::SourceKind::AnalyticsProvider,
            None,
        )
        .await
        .unwrap();
    let submitter = json!({"name": "n", "submitter_id": "signalwatch", "scopes": ["incidents:submit"]});
    expect_problem(mint(&t, &analyst, &submitter).await, 403, "forbidden").await;
    // An analyst token cannot hold provider scopes at all.
    let holds = json!({"name": "n", "staff_role": "analyst", "scopes": ["hops:answer"]});
    let admin = t.staff_token(&[Scope::TokensManage, Scope::HopsAnswer]).await;
    expect_problem(mint(&t, &admin, &holds).await, 422, "validation").await;

    // Rate limit and expiry: never above the issuer's.
    let expires = at("2026-03-09T15:00:00Z");
    let capped = issue(
        &t,
        TokenOwner::Staff(StaffRole::Admin),
        &[Scope::TokensManage, Scope::HopsRead],
        Some(100),
        Some(expires),
    )
    .await;
    let base = json!({"name": "n", "provider_id": "terminating", "scopes": ["hops:read"],
                      "expires_at": "2026-03-08T00:00:00Z"});
    let mut faster = base.clone();
    faster["rate_limit_per_minute"] = json!(101);
    let problem = expect_problem(mint(&t, &capped, &faster).await, 403, "forbidden").await;
    assert!(problem["detail"].as_str().unwrap().contains("101"), "{problem}");
    let mut forever = base.clone();
    forever.as_object_mut().unwrap().remove("expires_at");
    expect_problem(mint(&t, &capped, &forever).await, 403, "forbidden").await;
    let mut later = base.clone();
    later["expires_at"] = json!("2026-03-09T15:00:01Z");
    expect_problem(mint(&t, &capped, &later).await, 403, "forbidden").await;
    let created = expect_json(mint(&t, &capped, &base).await, 201).await;
    assert_eq!(created["rate_limit_per_minute"], 100, "the default is capped by the issuer's: {created}");
    assert_eq!(created["expires_at"], "2026-03-08T00:00:00Z");

    // A provider token with tokens:manage issues for its own provider, within the same ceilings.
    let provider_token = created["token"].as_str().unwrap();
    let own = json!({"name": "n", "scopes": ["hops:read"], "expires_at": "2026-03-09T00:00:00Z"});
    expect_problem(mint(&t, provider_token, &own).await, 403, "forbidden").await; // lacks tokens:manage
    let manager = issue(
        &t,
        TokenOwner::Provider(tracehop_core::provider::ProviderId::new("terminating").unwrap()),
        &[Scope::TokensManage, Scope::HopsRead],
        Some(50),
        Some(expires),
    )
    .await;
    expect_problem(mint(&t, &manager, &json!({"name": "n", "scopes": ["hops:read"]})).await, 403, "forbidden").await;
    let mut quick = own.clone();
    quick["rate_limit_per_minute"] = json!(51);
    expect_problem(mint(&t, &manager, &quick).await, 403, "forbidden").await;
    let created = expect_json(mint(&t, &manager, &own).await, 201).await;
    assert_eq!(created["rate_limit_per_minute"], 50);
}

/// The actor of the last event of a traceback whose change is `change`.
async fn actor_of(t: &TestApp, staff: &str, id: &str, change: &str) -> Value {
    let events = expect_json(t.get(staff, &format!("/api/v1/tracebacks/{id}/events")).await, 200).await;
    events
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|e| e["change"]["type"] == change)
        .unwrap_or_else(|| panic!("no {change} in {events}"))["actor"]
        .clone()
}

#[tokio::test]
async fn events_name_the_acting_token_and_the_staff_member_who_minted_it_and_revocation_follows_lineage() {
    let t = TestApp::start(at(MONDAY_10AM_NY)).await;
    t.provider("terminating", "US", &[]).await;
    t.provider("transit", "US", &[]).await;
    // An onboarding admin token carries the provider scopes it may hand on.
    let admin = t
        .staff_token(&[
            Scope::TokensManage,
            Scope::TracebacksRead,
            Scope::TracebacksManage,
            Scope::HopsRead,
            Scope::HopsAnswer,
        ])
        .await;
    let onboard = json!({"name": "terminating NOC", "provider_id": "terminating",
                         "scopes": ["hops:read", "hops:answer", "tokens:manage"]});
    let noc = expect_json(mint(&t, &admin, &onboard).await, 201).await;
    assert_eq!(noc["created_by"], format!("token:{}", prefix(&admin)));
    let noc = noc["token"].as_str().unwrap().to_owned();
    let robot =
        expect_json(mint(&t, &noc, &json!({"name": "robot", "scopes": ["hops:read", "hops:answer"]})).await, 201).await
            ["token"]
            .as_str()
            .unwrap()
            .to_owned();
    let grandchild = expect_json(mint(&t, &noc, &json!({"name": "reader", "scopes": ["hops:read"]})).await, 201).await
        ["token"]
        .as_str()
        .unwrap()
        .to_owned();

    let started =
        expect_json(t.post(&admin, "/api/v1/tracebacks", &start_body(&t, "terminating").await).await, 201).await;
    let id = started["id"].as_str().unwrap().to_owned();
    let hops = expect_json(t.get(&noc, "/api/v1/provider/hops").await, 200).await;
    let hop = hops["items"][0]["hop"].as_str().unwrap().to_owned();

    // The token minted by staff acts: the event names it and the staff token that minted it.
    let acknowledge = format!("/api/v1/provider/tracebacks/{id}/hops/{hop}/acknowledge");
    expect_json(t.post(&noc, &acknowledge, &json!({})).await, 200).await;
    let actor = actor_of(&t, &admin, &id, "hop_acknowledged").await;
    assert_eq!(
        actor,
        json!({"kind": "provider", "provider": "terminating", "user": format!("token:{}", prefix(&noc)),
               "minted_by": format!("token:{}", prefix(&admin))})
    );
    // A token the provider minted itself names only itself.
    let answer = json!({"kind": "upstream", "upstream": {"provider_id": "transit"}});
    expect_json(t.post(&robot, &format!("/api/v1/provider/tracebacks/{id}/hops/{hop}/answer"), &answer).await, 200)
        .await;
    let actor = actor_of(&t, &admin, &id, "hop_answered").await;
    assert_eq!(
        actor,
        json!({"kind": "provider", "provider": "terminating", "user": format!("token:{}", prefix(&robot))})
    );

    // Staff acting for a provider use the staff route: the answer says staff entered it, and the
    // event names the staff token and who minted that one.
    let detail = expect_json(t.get(&admin, &format!("/api/v1/tracebacks/{id}")).await, 200).await;
    let transit_hop = detail["hops"][1]["id"].clone();
    let originated = json!({"kind": "not_found", "reason": "not_in_records"});
    expect_json(t.post(&admin, &format!("/api/v1/tracebacks/{id}/hops/{transit_hop}/answer"), &originated).await, 200)
        .await;
    let actor = actor_of(&t, &admin, &id, "hop_answered").await;
    assert_eq!(
        actor,
        json!({"kind": "staff", "user": format!("token:{}", prefix(&admin)), "minted_by": "test-operator"})
    );

    // Revoking the onboarding token revokes what it minted, and what those minted.
    let noc_id = expect_json(t.get(&noc, "/api/v1/me").await, 200).await["token_id"].as_str().unwrap().to_owned();
    expect_json(
        t.http.delete(t.url(&format!("/api/v1/tokens/{noc_id}"))).bearer_auth(&admin).send().await.unwrap(),
        200,
    )
    .await;
    for token in [&noc, &robot, &grandchild] {
        expect_problem(t.get(token, "/api/v1/me").await, 401, "unauthorized").await;
    }
    expect_json(t.get(&admin, "/api/v1/me").await, 200).await;
}

#[tokio::test]
async fn a_non_staff_token_holding_a_staff_scope_is_refused_on_staff_routes() {
    let t = TestApp::start(at(MONDAY_10AM_NY)).await;
    t.provider("terminating", "US", &[]).await;
    let admin = t.staff_token(&[Scope::TracebacksManage, Scope::TracebacksRead]).await;
    expect_json(t.post(&admin, "/api/v1/tracebacks", &start_body(&t, "terminating").await).await, 201).await;
    // Only editing the database gives a provider's token a staff scope.
    let secret = "thp_ProviderStaff_8fA2kQ0rT5yU1iO3pL6aS9dF4gH7jK2lZ5xC8vB1nM4q";
    let record = TokenRecord {
        id: uuid::Uuid::new_v4().to_string(),
        prefix: "thp_ProviderStaff".to_owned(),
        secret_hash: hex::encode(Sha256::digest(secret.as_bytes())),
        name: "edited by hand".to_owned(),
        owner_kind: "provider".to_owned(),
        provider_id: Some("terminating".to_owned()),
        staff_role: None,
        submitter_id: None,
        submitter_kind: None,
        scopes: ["hops:read", "tracebacks:read", "tracebacks:manage", "directory:manage", "intake:manage"]
            .map(str::to_owned)
            .to_vec(),
        rate_limit_per_minute: 1000,
        created_by: "psql".to_owned(),
        created_at: t.app.now(),
        expires_at: None,
        revoked_at: None,
        last_used_at: None,
        issued_by: None,
        minted_by_staff: None,
    };
    let mut tx = t.app.store().begin().await.unwrap();
    assert!(tx.insert_token(&record).await.unwrap());
    tx.commit().await.unwrap();
    expect_json(t.get(secret, "/api/v1/provider/hops").await, 200).await;
    for path in
        ["/api/v1/tracebacks", "/api/v1/providers", "/api/v1/candidates", "/api/v1/incidents", "/api/v1/campaigns"]
    {
        let response = t.get(secret, path).await;
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        assert!(status == 403 || status == 404, "{path}: {status} {text}");
        assert!(!text.contains("\"items\""), "{path}: {text}");
    }
    let me = expect_json(t.get(secret, "/api/v1/me").await, 200).await;
    assert_eq!(me["scopes"], json!(["hops:read"]), "a scope the owner may not hold counts for nothing");
}

#[tokio::test]
async fn merging_a_provider_revokes_its_tokens_and_switches_off_its_webhooks() {
    let t = TestApp::start(at(MONDAY_10AM_NY)).await;
    let stand_in = t.provider("stand-in", "US", &[]).await;
    let real = t.provider("shadyvoip", "US", &[]).await;
    let staff = t.staff_token(&[Scope::DirectoryManage]).await;
    let old = t.provider_token(&stand_in, &[Scope::HopsRead, Scope::WebhooksManage, Scope::TokensManage]).await;
    let child = expect_json(mint(&t, &old, &json!({"name": "n", "scopes": ["hops:read"]})).await, 201).await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let kept = t.provider_token(&real, &[Scope::HopsRead, Scope::WebhooksManage]).await;
    let hook = json!({"url": "https://hooks.stand-in.example/tracehop", "event_types": ["hop.requested"]});
    expect_json(t.post(&old, "/api/v1/webhooks", &hook).await, 201).await;
    let own = json!({"url": "https://hooks.shadyvoip.example/tracehop", "event_types": ["hop.requested"]});
    expect_json(t.post(&kept, "/api/v1/webhooks", &own).await, 201).await;

    expect_json(t.post(&staff, "/api/v1/providers/stand-in/merge", &json!({"into": "shadyvoip"})).await, 200).await;

    for token in [&old, &child] {
        expect_problem(t.get(token, "/api/v1/me").await, 401, "unauthorized").await;
    }
    let hooks = t.app.store().webhooks_of("stand-in").await.unwrap();
    assert_eq!(hooks.len(), 1);
    assert!(!hooks[0].active, "the merged provider's webhook is switched off");
    let listed = expect_json(t.get(&kept, "/api/v1/webhooks").await, 200).await;
    assert_eq!(listed.as_array().unwrap().len(), 1, "the target keeps only its own: {listed}");
    assert_eq!(listed[0]["active"], true);
}
