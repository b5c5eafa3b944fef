//! Helpers shared by the API tests.

use serde_json::{Value, json};
use tracehop_web::testing::TestApp;

pub fn at(text: &str) -> jiff::Timestamp {
    text.parse().unwrap()
}

/// A Monday 10:00 in New York: inside the default business hours.
pub const MONDAY_10AM_NY: &str = "2026-03-02T15:00:00Z";

/// The JSON body of a response that must have `status`.
pub async fn expect_json(response: reqwest::Response, status: u16) -> Value {
    let got = response.status().as_u16();
    let content_type =
        response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let text = response.text().await.unwrap();
    assert_eq!(got, status, "status {got}, body {text}");
    assert!(content_type.contains("json"), "content type {content_type}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// A problem+json response with `status` and problem `kind`; returns it.
pub async fn expect_problem(response: reqwest::Response, status: u16, kind: &str) -> Value {
    let content_type =
        response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let problem = expect_json(response, status).await;
    assert_eq!(content_type, "application/problem+json", "{problem}");
    assert_eq!(problem["type"], format!("/api/v1/problems/{kind}"), "{problem}");
    assert_eq!(problem["status"], status);
    problem
}

/// A validation problem (422) naming exactly `field` first; returns it.
pub async fn expect_invalid(response: reqwest::Response, field: &str) -> Value {
    let problem = expect_problem(response, 422, "validation").await;
    assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    assert!(problem["errors"][0]["message"].as_str().is_some_and(|m| !m.is_empty()), "{problem}");
    problem
}

/// An email subject with its hop reference (`[ref 1a2b3c4d]`) written `[ref]`.
pub fn untagged(subject: &str) -> String {
    match subject.split_once("[ref ") {
        Some((before, after)) => format!("{before}[ref]{}", after.split_once(']').map_or("", |(_, rest)| rest)),
        None => subject.to_owned(),
    }
}

/// The labels of every hop of a staff traceback detail, by provider.
pub fn labels(detail: &Value) -> Vec<(String, Vec<String>)> {
    detail["hops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|hop| {
            let labels = hop["labels"].as_array().unwrap().iter().map(|l| l.as_str().unwrap().to_owned()).collect();
            (hop["provider"]["id"].as_str().unwrap().to_owned(), labels)
        })
        .collect()
}

/// The body staff send to start a traceback at `terminating`, from a fresh approved candidate.
pub async fn start_body(t: &TestApp, terminating: &str) -> Value {
    json!({"candidate_id": t.approved_candidate().await, "terminating_provider": terminating})
}

/// Starts a traceback at `terminating` as staff; returns its id.
pub async fn start_traceback(t: &TestApp, staff: &str, terminating: &str) -> String {
    let detail = expect_json(t.post(staff, "/api/v1/tracebacks", &start_body(t, terminating).await).await, 201).await;
    detail["id"].as_str().unwrap().to_owned()
}

/// The path of a provider's answer to hop `hop` (staff's position) of traceback `id`.
pub async fn answer_path(t: &TestApp, id: &str, hop: u32) -> String {
    hop_path(t, id, hop, "answer").await
}

/// The path of a provider's `action` on hop `hop` (staff's position) of traceback `id`: providers
/// name hops by their opaque references.
pub async fn hop_path(t: &TestApp, id: &str, hop: u32, action: &str) -> String {
    format!("/api/v1/provider/tracebacks/{id}/hops/{}/{action}", t.hop_ref(id, hop).await)
}

/// An answer naming the upstream by provider id.
pub fn upstream_answer(upstream: &str) -> Value {
    json!({"kind": "upstream", "upstream": {"provider_id": upstream}, "evidence": {"ingress_trunk": "TRUNK-TERM-9"}})
}

/// An answer saying the caller's customer originated the call.
pub fn originated_answer() -> Value {
    json!({"kind": "originated", "customer": {"name": "Budget Dialer LLC", "country": "US", "business_nature": "outbound sales"},
           "mitigation": {"action": "terminated"}, "attestation": "A"})
}

/// The staff detail of a traceback.
pub async fn staff_detail(t: &TestApp, staff: &str, id: &str) -> Value {
    expect_json(t.get(staff, &format!("/api/v1/tracebacks/{id}")).await, 200).await
}

/// The provider's view of a traceback.
pub async fn provider_view(t: &TestApp, token: &str, id: &str) -> Value {
    expect_json(t.get(token, &format!("/api/v1/provider/tracebacks/{id}")).await, 200).await
}

/// The `type`s of a traceback's events, in order.
pub async fn event_types(t: &TestApp, staff: &str, id: &str) -> Vec<String> {
    let events = expect_json(t.get(staff, &format!("/api/v1/tracebacks/{id}/events")).await, 200).await;
    events.as_array().unwrap().iter().map(|e| e["change"]["type"].as_str().unwrap().to_owned()).collect()
}

/// `detail` with every occurrence of `id` replaced, to compare problems that differ only there.
pub fn without(detail: &Value, id: &str) -> Value {
    serde_json::from_str(&detail.to_string().replace(id, "<id>")).unwrap()
}
