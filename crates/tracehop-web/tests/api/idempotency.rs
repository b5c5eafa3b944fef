//! `Idempotency-Key` on POST: a retry with the same key and body gets the first response again
//! and changes nothing; the same key with another body is refused; keys belong to one token.

use jiff::SignedDuration;
use serde_json::{Value, json};
use tracehop_app::access::tokens::Scope;
use tracehop_core::provider::ProviderId;
use tracehop_web::testing::TestApp;

use crate::support::{
    MONDAY_10AM_NY, answer_path, at, event_types, expect_invalid, expect_json, expect_problem, hop_path, start_body,
    start_traceback, upstream_answer,
};

/// A response as a client sees it: status, `idempotent-replayed`, content type, `Location` and
/// body bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    status: u16,
    replayed: bool,
    content_type: String,
    location: Option<String>,
    body: String,
}

async fn send(t: &TestApp, token: &str, path: &str, key: &str, body: &Value) -> Seen {
    let response =
        t.http.post(t.url(path)).bearer_auth(token).header("Idempotency-Key", key).json(body).send().await.unwrap();
    let header = |name: &str| response.headers().get(name).map(|v| v.to_str().unwrap().to_owned());
    let replayed = match header("idempotent-replayed").as_deref() {
        None => false,
        Some("true") => true,
        Some(other) => panic!("idempotent-replayed: {other}"),
    };
    let content_type = header("content-type").unwrap_or_default();
    let location = header("location");
    Seen { status: response.status().as_u16(), replayed, content_type, location, body: response.text().await.unwrap() }
}

fn count(types: &[String], kind: &str) -> usize {
    types.iter().filter(|t| *t == kind).count()
}

struct Setup {
    t: TestApp,
    staff: String,
    terminating: String,
    id: String,
}

async fn setup() -> Setup {
    let t = TestApp::start(at(MONDAY_10AM_NY)).await;
    let terminating = t.provider("terminating", "US", &[]).await;
    t.provider("transit", "US", &[]).await;
    let terminating = t.provider_token(&terminating, &[Scope::HopsRead, Scope::HopsAnswer]).await;
    let staff = t.staff_token(&[Scope::TracebacksManage, Scope::TracebacksRead]).await;
    let id = start_traceback(&t, &staff, "terminating").await;
    Setup { t, staff, terminating, id }
}

#[tokio::test]
async fn a_retry_with_the_same_key_and_body_replays_the_first_response_and_applies_once() {
    let Setup { t, staff, terminating, id } = setup().await;
    let path = answer_path(&t, &id, 0).await;
    let answer = upstream_answer("transit");
    let first = send(&t, &terminating, &path, "answer-7f3a", &answer).await;
    assert_eq!((first.status, first.replayed), (200, false), "{}", first.body);
    assert_eq!(first.content_type, "application/json");
    let view: Value = serde_json::from_str(&first.body).unwrap();
    assert_eq!(view["hops"][0]["state"], "answered");

    for _ in 0..3 {
        let again = send(&t, &terminating, &path, "answer-7f3a", &answer).await;
        assert_eq!(again, Seen { replayed: true, ..first.clone() }, "byte for byte, marked as a replay");
    }
    let types = event_types(&t, &staff, &id).await;
    assert_eq!(count(&types, "hop_answered"), 1, "{types:?}");
    assert_eq!(count(&types, "hop_opened"), 2, "{types:?}");
    assert_eq!(count(&types, "hop_notified"), 2, "{types:?}");
    t.work().await;
    let transit_mail =
        t.smtp.messages().into_iter().filter(|m| m.to.contains(&"primary@transit.example".to_owned())).count();
    assert_eq!(transit_mail, 1, "the upstream is asked once");

    // Without a key, the same answer is simply refused: it was applied already.
    let plain = t.post(&terminating, &path, &answer).await;
    expect_problem(plain, 409, "already-answered").await;
}

#[tokio::test]
async fn the_same_key_with_another_request_is_422() {
    let Setup { t, staff, terminating, id } = setup().await;
    let path = answer_path(&t, &id, 0).await;
    send(&t, &terminating, &path, "k-1", &upstream_answer("transit")).await;

    let other_body = json!({"kind": "not_found", "reason": "not_in_records"});
    let reused = send(&t, &terminating, &path, "k-1", &other_body).await;
    assert_eq!(reused.status, 422, "{}", reused.body);
    assert!(!reused.replayed);
    assert_eq!(reused.content_type, "application/problem+json");
    let problem: Value = serde_json::from_str(&reused.body).unwrap();
    assert_eq!(problem["type"], "/api/v1/problems/idempotency-key-reused");
    assert_eq!(problem["title"], "Idempotency key reused");
    // The same body to another path is another request too.
    let elsewhere =
        send(&t, &terminating, &hop_path(&t, &id, 0, "comments").await, "k-1", &upstream_answer("transit")).await;
    assert_eq!(elsewhere.status, 422, "{}", elsewhere.body);
    assert!(elsewhere.body.contains("idempotency-key-reused"));
    // The first request still replays.
    let again = send(&t, &terminating, &path, "k-1", &upstream_answer("transit")).await;
    assert_eq!((again.status, again.replayed), (200, true));
    let types = event_types(&t, &staff, &id).await;
    assert_eq!(count(&types, "hop_answered"), 1, "{types:?}");
    assert_eq!(count(&types, "closed"), 0, "the not-found answer was never applied: {types:?}");

    // Keys are 1 to 255 characters.
    let long = "k".repeat(256);
    let response = t
        .http
        .post(t.url(&path))
        .bearer_auth(&terminating)
        .header("Idempotency-Key", long)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    expect_invalid(response, "Idempotency-Key").await;
    let response = t
        .http
        .post(t.url(&path))
        .bearer_auth(&terminating)
        .header("Idempotency-Key", "")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    expect_invalid(response, "Idempotency-Key").await;
}

#[tokio::test]
async fn keys_are_forgotten_after_a_day() {
    let Setup { t, terminating, id, .. } = setup().await;
    let path = hop_path(&t, &id, 0, "comments").await;
    let first = send(&t, &terminating, &path, "comment-1", &json!({"text": "looking into it"})).await;
    assert_eq!(first.status, 200, "{}", first.body);
    t.clock.advance(SignedDuration::from_hours(23));
    assert_eq!(t.worker.housekeeping().await.unwrap(), 0, "kept for a day");
    let within = send(&t, &terminating, &path, "comment-1", &json!({"text": "found it"})).await;
    assert_eq!(within.status, 422, "{}", within.body);
    t.clock.advance(SignedDuration::from_hours(2));
    assert_eq!(t.worker.housekeeping().await.unwrap(), 1);
    let after = send(&t, &terminating, &path, "comment-1", &json!({"text": "found it"})).await;
    assert_eq!((after.status, after.replayed), (200, false), "a new request: {}", after.body);
}

#[tokio::test]
async fn keys_belong_to_one_token() {
    let Setup { t, staff, terminating, id } = setup().await;
    let path = answer_path(&t, &id, 0).await;
    let answer = upstream_answer("transit");
    let first = send(&t, &terminating, &path, "shared-key", &answer).await;
    assert_eq!(first.status, 200);

    // Another token of the same provider with the same key and body is a new request: it runs,
    // and is refused because the hop is answered.
    let other = t.provider_token(&ProviderId::new("terminating").unwrap(), &[Scope::HopsRead, Scope::HopsAnswer]).await;
    let second = send(&t, &other, &path, "shared-key", &answer).await;
    assert_eq!((second.status, second.replayed), (409, false), "{}", second.body);
    assert!(second.body.contains("already-answered"), "{}", second.body);
    // A refusal changed nothing, so nothing was kept: its retry runs again, to the same answer.
    let second_again = send(&t, &other, &path, "shared-key", &answer).await;
    assert_eq!(second_again, Seen { replayed: false, ..second.clone() });
    // And the first token's key still holds its first response.
    let first_again = send(&t, &terminating, &path, "shared-key", &answer).await;
    assert_eq!(first_again, Seen { replayed: true, ..first.clone() });

    // A different provider's token may use the key for its own request.
    let transit = t.provider_token(&ProviderId::new("transit").unwrap(), &[Scope::HopsRead, Scope::HopsAnswer]).await;
    let acknowledged = send(&t, &transit, &hop_path(&t, &id, 1, "acknowledge").await, "shared-key", &json!({})).await;
    assert_eq!((acknowledged.status, acknowledged.replayed), (200, false), "{}", acknowledged.body);
    let types = event_types(&t, &staff, &id).await;
    assert_eq!(count(&types, "hop_answered"), 1, "{types:?}");
    assert_eq!(count(&types, "hop_acknowledged"), 1, "{types:?}");
}

#[tokio::test]
async fn a_retried_start_creates_one_traceback() {
    let t = TestApp::start(at(MONDAY_10AM_NY)).await;
    t.provider("terminating", "US", &[]).await;
    let staff = t.staff_token(&[Scope::TracebacksManage, Scope::TracebacksRead]).await;
    let body = start_body(&t, "terminating").await;
    let first = send(&t, &staff, "/api/v1/tracebacks", "start-0001", &body).await;
    assert_eq!((first.status, first.replayed), (201, false), "{}", first.body);
    let created: Value = serde_json::from_str(&first.body).unwrap();
    let id = created["id"].as_str().unwrap();
    assert_eq!(first.location, Some(format!("/api/v1/tracebacks/{id}")), "the replay below must carry it too");
    let again = send(&t, &staff, "/api/v1/tracebacks", "start-0001", &body).await;
    assert_eq!(again, Seen { replayed: true, ..first.clone() });
    let list = expect_json(t.get(&staff, "/api/v1/tracebacks").await, 200).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
    t.work().await;
    assert_eq!(t.smtp.messages().len(), 1, "the terminating provider is asked once");
    // A new key is a new request: the candidate has started its traceback already.
    let reused = send(&t, &staff, "/api/v1/tracebacks", "start-0002", &body).await;
    assert_eq!((reused.status, reused.replayed), (409, false), "{}", reused.body);
    let other = send(&t, &staff, "/api/v1/tracebacks", "start-0003", &start_body(&t, "terminating").await).await;
    assert_eq!((other.status, other.replayed), (201, false));
    assert_ne!(other.body, first.body);
}

#[tokio::test]
async fn concurrent_requests_with_one_key_apply_once() {
    let Setup { t, staff, terminating, id } = setup().await;
    let path = answer_path(&t, &id, 0).await;
    let answer = upstream_answer("transit");
    let (a, b) =
        tokio::join!(send(&t, &terminating, &path, "race", &answer), send(&t, &terminating, &path, "race", &answer));
    let mut outcomes = [(a.status, a.replayed), (b.status, b.replayed)];
    outcomes.sort_unstable();
    assert!(
        outcomes == [(200, false), (200, true)] || outcomes == [(200, false), (409, false)],
        "one runs; the other replays it or is told it is in progress: {outcomes:?} {} {}",
        a.body,
        b.body
    );
    for seen in [&a, &b] {
        if seen.status == 409 {
            assert!(seen.body.contains("idempotency-key-in-progress"), "{}", seen.body);
        }
    }
    let types = event_types(&t, &staff, &id).await;
    assert_eq!(count(&types, "hop_answered"), 1, "{types:?}");
    let settled = send(&t, &terminating, &path, "race", &answer).await;
    assert_eq!((settled.status, settled.replayed), (200, true));
}

#[tokio::test]
async fn a_replayed_webhook_or_token_creation_keeps_no_secret() {
    let t = TestApp::start(at(MONDAY_10AM_NY)).await;
    let provider = t.provider("terminating", "US", &[]).await;
    let token = t.provider_token(&provider, &[Scope::WebhooksManage, Scope::TokensManage, Scope::HopsRead]).await;
    let body = json!({"url": "http://127.0.0.1:9/hook", "event_types": ["*"]});
    let first = send(&t, &token, "/api/v1/webhooks", "hook-0001", &body).await;
    assert_eq!(first.status, 201, "{}", first.body);
    let created: Value = serde_json::from_str(&first.body).unwrap();
    let secret = created["secret"].as_str().unwrap().to_owned();
    let again = send(&t, &token, "/api/v1/webhooks", "hook-0001", &body).await;
    assert_eq!((again.status, again.replayed), (201, true));
    let replayed: Value = serde_json::from_str(&again.body).unwrap();
    assert_eq!(replayed["id"], created["id"], "the replay names the webhook it created");
    assert_eq!(replayed["secret"], Value::Null, "the signing secret is shown once");

    let minted =
        send(&t, &token, "/api/v1/tokens", "token-0001", &json!({"name": "desk", "scopes": ["hops:read"]})).await;
    assert_eq!(minted.status, 201, "{}", minted.body);
    let minted: Value = serde_json::from_str(&minted.body).unwrap();
    let plain = minted["token"].as_str().unwrap().to_owned();
    let kept = t.app.store().idempotency_bodies().await.unwrap();
    assert_eq!(kept.len(), 2, "{kept:?}");
    for body in kept {
        assert!(!body.contains(&secret) && !body.contains(&plain), "a secret was kept: {body}");
    }
}
