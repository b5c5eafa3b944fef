//! Idempotency that survives a crash: a request killed (like `kill -9`) after its effect
//! committed and before it answered is answered on retry with the same key, from what committed,
//! and runs once. And no token secret is ever kept for a replay.

use std::collections::BTreeSet;

use jiff::SignedDuration;
use serde_json::{Value, json};
use tracehop_app::access::principal::StaffRole;
use tracehop_app::access::tokens::{NewToken, Scope, TokenOwner};
use tracehop_app::intake::candidates::NewCandidate;
use tracehop_app::intake::incidents::Submitted;
use tracehop_app::{App, Principal};
use tracehop_core::intake::{DueDiligence, LegalBasis, Nature, SourceKind};
use tracehop_store::testing::TestDatabase;

use crate::support::{Server, add_provider, app_with_deadline, count_events, start_traceback};

async fn staff_token(app: &App, scopes: &[Scope]) -> String {
    let operator = Principal::Staff { user: "cli-test".to_owned(), role: StaffRole::Admin, minted_by: None };
    let new = NewToken {
        name: "cli".to_owned(),
        owner: TokenOwner::Staff(StaffRole::Admin),
        scopes: scopes.iter().copied().collect::<BTreeSet<_>>(),
        expires_at: None,
        rate_limit_per_minute: Some(10_000),
    };
    app.issue_token(&operator, None, new).await.unwrap().token
}

/// A candidate vetted and approved, not yet started.
async fn approved_candidate(app: &App) -> String {
    let staff = Principal::Staff { user: "cli-test".to_owned(), role: StaffRole::Analyst, minted_by: None };
    app.create_submitter(&staff, "crash-source", "Crash source", SourceKind::AnalyticsProvider, None).await.unwrap();
    let mut incident = serde_json::Map::new();
    incident.insert("external_id".into(), "crash-incident-1".into());
    incident.insert("calling".into(), "+1 202-555-0123".into());
    incident.insert("called".into(), "+1 312-555-0199".into());
    incident.insert("call_time".into(), app.now().to_string().into());
    let Submitted::Created(incident) = app.submit_incident(&staff, Some("crash-source"), &incident).await.unwrap()
    else {
        panic!("the incident was not created")
    };
    let new = NewCandidate {
        source_kind: Some(SourceKind::AnalyticsProvider),
        submitter_id: Some("crash-source".to_owned()),
        incident_id: Some(incident.row.id),
        campaign_id: None,
        summary: "prerecorded calls without consent".to_owned(),
    };
    let candidate = app.submit_candidate(&staff, new).await.unwrap();
    let diligence = DueDiligence {
        credible_source: true,
        verifiable: true,
        nature: Some(Nature::Unlawful),
        nature_note: Some("no consent".to_owned()),
        burden_balanced: true,
        burden_note: None,
    };
    app.record_due_diligence(&staff, &candidate.id, &diligence, Some(LegalBasis::ProtectUsers)).await.unwrap();
    app.approve_candidate(&staff, &candidate.id).await.unwrap();
    candidate.id
}

async fn post(base: &str, path: &str, token: &str, key: &str, body: &Value) -> reqwest::Result<reqwest::Response> {
    tracehop_app::install_tls_provider();
    reqwest::Client::new()
        .post(format!("{base}{path}"))
        .bearer_auth(token)
        .header("idempotency-key", key)
        .json(body)
        .send()
        .await
}

#[tokio::test]
async fn a_request_killed_between_commit_and_response_is_answered_on_retry_and_runs_once() {
    let db = TestDatabase::new().await;
    let store = db.store().await;
    let url = db.url_string();
    let app = app_with_deadline(&store, SignedDuration::from_hours(24));
    let terminating = add_provider(&app, "crash-key-t").await;
    let id = start_traceback(&app, &terminating).await;
    let token = staff_token(&app, &[Scope::TracebacksManage, Scope::TracebacksRead]).await;
    let path = format!("/api/v1/tracebacks/{id}/comments");
    let comment = json!({"text": "called the carrier; they are looking", "visibility": "staff_only"});

    let mut doomed = Server::start(
        &["serve", "--database-url", &url, "--bind", "127.0.0.1:0"],
        &[("FAULT_INJECTION_TRACEHOP", "abort-after-commit"), ("TRACEHOP_WORKER", "false")],
    );
    let lost = post(&doomed.base, &path, &token, "comment-0001", &comment).await;
    assert!(lost.is_err(), "the process died before answering: {lost:?}");
    let status = doomed.child.wait().unwrap();
    assert!(!status.success(), "aborted, as kill -9 would: {status:?}");
    assert_eq!(count_events(&store, id, "comment_added").await, 1, "the comment committed before the crash");

    let server =
        Server::start(&["serve", "--database-url", &url, "--bind", "127.0.0.1:0"], &[("TRACEHOP_WORKER", "false")]);
    let retry = post(&server.base, &path, &token, "comment-0001", &comment).await.unwrap();
    assert_eq!(retry.status(), 200, "the retry is answered at once, not 409 for minutes");
    assert_eq!(retry.headers().get("idempotent-replayed").and_then(|v| v.to_str().ok()), Some("true"));
    let first_answer = retry.text().await.unwrap();
    assert!(first_answer.contains("called the carrier"), "{first_answer}");
    let again = post(&server.base, &path, &token, "comment-0001", &comment).await.unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(again.text().await.unwrap(), first_answer, "the same response every time");
    assert_eq!(count_events(&store, id, "comment_added").await, 1, "the comment was added once");
    assert_eq!(store.verify_chains().await.unwrap().broken, None);

    // A request that never committed leaves its key free: refused, it kept nothing, and the
    // corrected request under the same key runs at once.
    let refused = post(&server.base, &path, &token, "comment-0002", &json!({"text": ""})).await.unwrap();
    assert_eq!(refused.status(), 422);
    let fixed = post(&server.base, &path, &token, "comment-0002", &json!({"text": "second note"})).await.unwrap();
    assert_eq!(fixed.status(), 200, "nothing held the key");
    assert_eq!(count_events(&store, id, "comment_added").await, 2);
    drop(server);
    drop(doomed);
}

#[tokio::test]
async fn a_start_killed_before_its_answer_is_answered_on_retry_and_starts_one_traceback() {
    let db = TestDatabase::new().await;
    let store = db.store().await;
    let url = db.url_string();
    let app = app_with_deadline(&store, SignedDuration::from_hours(24));
    add_provider(&app, "crash-start-t").await;
    let candidate = approved_candidate(&app).await;
    let token = staff_token(&app, &[Scope::TracebacksManage, Scope::TracebacksRead]).await;
    let body = json!({"candidate_id": candidate, "terminating_provider": "crash-start-t"});

    let mut doomed = Server::start(
        &["serve", "--database-url", &url, "--bind", "127.0.0.1:0"],
        &[("FAULT_INJECTION_TRACEHOP", "abort-after-commit"), ("TRACEHOP_WORKER", "false")],
    );
    assert!(post(&doomed.base, "/api/v1/tracebacks", &token, "start-0001", &body).await.is_err());
    assert!(!doomed.child.wait().unwrap().success());

    let server =
        Server::start(&["serve", "--database-url", &url, "--bind", "127.0.0.1:0"], &[("TRACEHOP_WORKER", "false")]);
    let retry = post(&server.base, "/api/v1/tracebacks", &token, "start-0001", &body).await.unwrap();
    assert_eq!(retry.status(), 201);
    let location = retry.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let detail: Value = retry.json().await.unwrap();
    let id = detail["id"].as_str().unwrap();
    assert_eq!(location, Some(format!("/api/v1/tracebacks/{id}")));
    assert_eq!(
        store.count_tracebacks_by_status(None).await.unwrap().iter().map(|(_, n)| n).sum::<i64>(),
        1,
        "started once"
    );
    let again = post(&server.base, "/api/v1/tracebacks", &token, "start-0001", &body).await.unwrap();
    assert_eq!(again.status(), 201);
    assert_eq!(again.json::<Value>().await.unwrap(), detail);
    drop(doomed);
}

#[tokio::test]
async fn a_replayed_token_creation_never_returns_or_keeps_the_secret() {
    let db = TestDatabase::new().await;
    let store = db.store().await;
    let url = db.url_string();
    let app = app_with_deadline(&store, SignedDuration::from_hours(24));
    let admin = staff_token(&app, &[Scope::TokensManage, Scope::TracebacksRead]).await;
    let server =
        Server::start(&["serve", "--database-url", &url, "--bind", "127.0.0.1:0"], &[("TRACEHOP_WORKER", "false")]);
    let body = json!({"name": "night desk", "scopes": ["tracebacks:read"], "staff_role": "analyst"});
    let created = post(&server.base, "/api/v1/tokens", &admin, "token-0001", &body).await.unwrap();
    let status = created.status();
    let created: Value = created.json().await.unwrap();
    assert_eq!(status, 201, "{created}");
    let secret = created["token"].as_str().unwrap().to_owned();
    let replay = post(&server.base, "/api/v1/tokens", &admin, "token-0001", &body).await.unwrap();
    assert_eq!(replay.status(), 201);
    assert_eq!(replay.headers().get("idempotent-replayed").and_then(|v| v.to_str().ok()), Some("true"));
    let replay: Value = replay.json().await.unwrap();
    assert_eq!(replay["token"], Value::Null, "the secret is shown once: {replay}");
    assert_eq!(replay["id"], created["id"], "the replay tells which token was made");
    let kept = store.idempotency_bodies().await.unwrap();
    assert!(!kept.is_empty());
    let secret_part = secret.rsplit('_').next().unwrap();
    assert!(kept.iter().all(|body| !body.contains(secret_part)), "no secret in the idempotency table");
}
