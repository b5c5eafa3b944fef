//! The API's surface: scopes checked before bodies, the body limit, the bearer scheme, and
//! throttled failed authentication (issue 9: items 12 and 14).

use serde_json::json;
use tracehop_app::access::tokens::Scope;
use tracehop_web::testing::TestApp;

use crate::support::{MONDAY_10AM_NY, at, expect_json, expect_problem};

#[tokio::test]
async fn the_scope_is_checked_before_the_body() {
    let t = TestApp::start(at(MONDAY_10AM_NY)).await;
    let provider = t.provider("terminating", "US", &[]).await;
    let reader = t.provider_token(&provider, &[Scope::HopsRead]).await;
    let staff = t.staff_token(&[Scope::TracebacksRead]).await;
    // Invalid, malformed or mistyped bodies: the token's missing scope answers first.
    for (token, path) in [(&reader, "/api/v1/tokens"), (&staff, "/api/v1/tracebacks"), (&reader, "/api/v1/webhooks")] {
        expect_problem(t.post(token, path, &json!({})).await, 403, "forbidden").await;
        let malformed = t
            .http
            .post(t.url(path))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap();
        expect_problem(malformed, 403, "forbidden").await;
        let text = t.http.post(t.url(path)).bearer_auth(token).body("plain").send().await.unwrap();
        expect_problem(text, 403, "forbidden").await;
    }
    let problem = expect_problem(t.post(&staff, "/api/v1/tracebacks", &json!({})).await, 403, "forbidden").await;
    assert_eq!(problem["detail"], "this token lacks the tracebacks:manage scope");
    // With the scope, the body is validated as before.
    let manager = t.staff_token(&[Scope::TracebacksManage]).await;
    expect_problem(t.post(&manager, "/api/v1/tracebacks", &json!({})).await, 422, "validation").await;
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let t = TestApp::start(at(MONDAY_10AM_NY)).await;
    let manager = t.staff_token(&[Scope::TracebacksManage]).await;
    let huge = json!({"candidate_id": "x".repeat(3 * 1024 * 1024), "terminating_provider": "terminating"});
    let problem = expect_problem(t.post(&manager, "/api/v1/tracebacks", &huge).await, 413, "payload-too-large").await;
    assert!(problem["detail"].as_str().unwrap().contains("larger"), "{problem}");
    // The same through the Idempotency-Key handling, which reads the body first.
    let keyed = t
        .http
        .post(t.url("/api/v1/tracebacks"))
        .bearer_auth(&manager)
        .header("idempotency-key", "oversized-1")
        .json(&huge)
        .send()
        .await
        .unwrap();
    expect_problem(keyed, 413, "payload-too-large").await;
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let t = TestApp::start(at(MONDAY_10AM_NY)).await;
    let staff = t.staff_token(&[Scope::TracebacksRead]).await;
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let response =
            t.http.get(t.url("/api/v1/me")).header("authorization", format!("{scheme} {staff}")).send().await.unwrap();
        expect_json(response, 200).await;
    }
    for header in [format!("Basic {staff}"), format!("Bearer{staff}"), "Bearer ".to_owned()] {
        let response = t.http.get(t.url("/api/v1/me")).header("authorization", header).send().await.unwrap();
        expect_problem(response, 401, "unauthorized").await;
    }
}

/// A client whose requests come from `address` (any of 127.0.0.0/8 on the test machine).
fn client_from(address: &str) -> reqwest::Client {
    reqwest::Client::builder().local_address(address.parse::<std::net::IpAddr>().unwrap()).build().unwrap()
}

async fn me_status(t: &TestApp, from: &str, token: &str) -> reqwest::Response {
    client_from(from).get(t.url("/api/v1/me")).bearer_auth(token).send().await.unwrap()
}

#[tokio::test]
async fn failed_authentication_is_throttled_per_address_and_per_prefix_without_locking_out_the_holder() {
    let t = TestApp::start(at(MONDAY_10AM_NY)).await;
    let token = t.staff_token(&[Scope::TracebacksRead]).await;
    let other = t.staff_token(&[Scope::TracebacksRead]).await;
    let (prefix, _) = token.rsplit_once('_').unwrap();
    expect_json(me_status(&t, "127.0.0.1", &token).await, 200).await;

    // Wrong secrets under the real prefix, one from each of ten addresses: the prefix's budget is
    // spent, so a new address is refused even with the right secret ...
    for n in 2..12 {
        let guess = format!("{prefix}_{}", "A".repeat(40));
        expect_problem(me_status(&t, &format!("127.0.0.{n}"), &guess).await, 401, "unauthorized").await;
    }
    let refused = me_status(&t, "127.0.0.12", &token).await;
    let retry_after: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry_after >= 1, "{retry_after}");
    expect_problem(refused, 429, "rate-limited").await;
    // ... but the address the token works from is not locked out, and other tokens are untouched.
    expect_json(me_status(&t, "127.0.0.1", &token).await, 200).await;
    expect_json(me_status(&t, "127.0.0.12", &other).await, 200).await;

    // Garbage under made-up prefixes spends only the sender's own budget.
    for n in 0..20 {
        let garbage = format!("thp_Garbage{n:05}_{}", "B".repeat(40));
        expect_problem(me_status(&t, "127.0.0.20", &garbage).await, 401, "unauthorized").await;
    }
    let refused = me_status(&t, "127.0.0.20", &other).await;
    assert!(refused.headers().contains_key("retry-after"));
    expect_problem(refused, 429, "rate-limited").await;
    expect_json(me_status(&t, "127.0.0.21", &other).await, 200).await;
    expect_json(me_status(&t, "127.0.0.1", &token).await, 200).await;
}
