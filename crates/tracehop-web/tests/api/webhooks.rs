//! Webhooks through the API to a local receiver: registration, signatures, the provider's own view
//! as the payload, retries with backoff and their log, secret rotation, subscriptions, isolation
//! between providers, validation.

use jiff::SignedDuration;
use serde_json::{Value, json};
use tracehop_app::Settings;
use tracehop_app::access::tokens::Scope;
use tracehop_app::notify::verify_signature;
use tracehop_core::provider::ProviderId;
use tracehop_web::testing::{ReceivedDelivery, TestApp, WebhookReceiver};

use crate::support::{
    MONDAY_10AM_NY, answer_path, at, expect_invalid, expect_json, expect_problem, provider_view, start_traceback,
    upstream_answer, without,
};

const PROVIDER_SCOPES: &[Scope] = &[Scope::HopsRead, Scope::HopsAnswer, Scope::WebhooksManage];

fn header<'a>(delivery: &'a ReceivedDelivery, name: &str) -> &'a str {
    delivery.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_else(|| panic!("no {name} header"))
}

fn body(delivery: &ReceivedDelivery) -> Value {
    serde_json::from_str(&delivery.body).unwrap()
}

fn event_types(deliveries: &[ReceivedDelivery]) -> Vec<String> {
    deliveries.iter().map(|d| header(d, "tracehop-event").to_owned()).collect()
}

/// The `v1` signatures of a `Tracehop-Signature` header, and its `t`.
fn signature_parts(delivery: &ReceivedDelivery) -> (i64, Vec<String>) {
    let mut t = None;
    let mut v1 = Vec::new();
    for part in header(delivery, "tracehop-signature").split(',') {
        match part.split_once('=') {
            Some(("t", value)) => t = Some(value.parse().unwrap()),
            Some(("v1", value)) => v1.push(value.to_owned()),
            other => panic!("unexpected signature part {other:?}"),
        }
    }
    (t.expect("a t= part"), v1)
}

/// Registers a webhook for the token's provider; returns (id, secret).
async fn register(t: &TestApp, token: &str, url: &str, event_types: &[&str]) -> (String, String) {
    let created =
        expect_json(t.post(token, "/api/v1/webhooks", &json!({"url": url, "event_types": event_types})).await, 201)
            .await;
    let secret = created["secret"].as_str().unwrap().to_owned();
    (created["id"].as_str().unwrap().to_owned(), secret)
}

struct Setup {
    t: TestApp,
    staff: String,
    terminating: String,
    transit: String,
}

async fn setup() -> Setup {
    let t = TestApp::start(at(MONDAY_10AM_NY)).await;
    let terminating = t.provider("terminating", "US", &[]).await;
    let transit = t.provider("transit", "US", &[]).await;
    let terminating = t.provider_token(&terminating, PROVIDER_SCOPES).await;
    let transit = t.provider_token(&transit, PROVIDER_SCOPES).await;
    let staff = t.staff_token(&[Scope::TracebacksManage, Scope::TracebacksRead]).await;
    Setup { t, staff, terminating, transit }
}

#[tokio::test]
async fn hop_requested_is_signed_and_carries_exactly_the_providers_own_view() {
    let Setup { t, staff, terminating, transit } = setup().await;
    let receiver = WebhookReceiver::start(0).await;
    let created = expect_json(
        t.post(&transit, "/api/v1/webhooks", &json!({"url": receiver.url, "event_types": ["hop.requested"]})).await,
        201,
    )
    .await;
    assert_eq!(created["url"], receiver.url.as_str());
    assert_eq!(created["event_types"], json!(["hop.requested"]));
    assert_eq!(created["active"], true);
    assert_eq!(created["previous_secret_until"], Value::Null);
    assert_eq!(created["created_at"], MONDAY_10AM_NY);
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_") && secret.len() >= 32, "{secret}");
    let webhook = created["id"].as_str().unwrap();
    // The secret is shown once: reading the webhook later does not show it.
    let read = expect_json(t.get(&transit, &format!("/api/v1/webhooks/{webhook}")).await, 200).await;
    assert_eq!(read["id"], webhook);
    assert!(!read.to_string().contains(&secret), "{read}");
    let listed = expect_json(t.get(&transit, "/api/v1/webhooks").await, 200).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert!(!listed.to_string().contains(&secret), "{listed}");

    let id = start_traceback(&t, &staff, "terminating").await;
    t.work().await;
    assert!(receiver.received().is_empty(), "the transit provider has no hop yet");

    // The terminating provider names the transit provider an hour later: its hop is requested.
    t.advance(SignedDuration::from_hours(1)).await;
    expect_json(t.post(&terminating, &answer_path(&t, &id, 0).await, &upstream_answer("transit")).await, 200).await;
    t.work().await;
    let got = receiver.received();
    assert_eq!(got.len(), 1, "{got:#?}");
    let delivery = &got[0];
    assert_eq!(delivery.status, 200);
    assert_eq!(header(delivery, "content-type"), "application/json");
    assert_eq!(header(delivery, "tracehop-event"), "hop.requested");
    let sent_at = t.app.now();
    let (signed_at, v1) = signature_parts(delivery);
    assert_eq!(signed_at, sent_at.as_second());
    assert_eq!(v1.len(), 1, "one secret, one signature");
    assert!(verify_signature(header(delivery, "tracehop-signature"), &delivery.body, &secret, sent_at, 300));
    assert!(!verify_signature(header(delivery, "tracehop-signature"), &delivery.body, "whsec_wrong", sent_at, 300));
    let tampered = delivery.body.replace("\"state\":\"open\"", "\"state\":\"answered\"");
    assert_ne!(tampered, delivery.body);
    assert!(!verify_signature(header(delivery, "tracehop-signature"), &tampered, &secret, sent_at, 300));

    let payload = body(delivery);
    assert_eq!(payload["id"], header(delivery, "tracehop-delivery"));
    assert_eq!(payload["type"], "hop.requested");
    assert_eq!(payload["traceback_id"], id.as_str());
    assert_eq!(payload["hop"], t.hop_ref(&id, 1).await);
    assert_eq!(payload["created_at"], "2026-03-02T16:00:00Z");
    let view = provider_view(&t, &transit, &id).await;
    assert_eq!(payload["data"], view, "the payload is the provider's own view (ACC-2)");
    assert_eq!(view["hops"].as_array().unwrap().len(), 1);
    assert_eq!(view["hops"][0]["hop"], t.hop_ref(&id, 1).await);
    assert_eq!(view["hops"][0]["state"], "open");
    assert_eq!(view["hops"][0]["named_by"], json!({"id": "terminating", "name": "terminating Communications"}));
    assert_eq!(view["hops"][0]["request"]["respond_by"], "2026-03-03T16:00:00Z");
    // Nothing of the terminating provider's own hop: not its answer, its evidence or its deadlines.
    for hidden in ["TRUNK-TERM-9", "2026-03-03T15:00:00Z", "\"hop\":0"] {
        assert!(!delivery.body.contains(hidden), "the payload shows {hidden}: {}", delivery.body);
    }
}

#[tokio::test]
async fn a_receiver_failing_twice_gets_the_same_event_on_the_third_try() {
    let Setup { t, staff, terminating, .. } = setup().await;
    let receiver = WebhookReceiver::start(2).await;
    let (webhook, secret) = register(&t, &terminating, &receiver.url, &["hop.requested"]).await;
    let id = start_traceback(&t, &staff, "terminating").await;
    t.work().await;
    assert_eq!(receiver.received().len(), 1);
    assert!(receiver.accepted().is_empty());

    // The first retry waits 30 seconds, the second 60 more.
    t.advance(SignedDuration::from_secs(29)).await;
    assert_eq!(receiver.received().len(), 1, "no retry before 30 s");
    t.advance(SignedDuration::from_secs(1)).await;
    assert_eq!(receiver.received().len(), 2);
    assert!(receiver.accepted().is_empty());
    t.advance(SignedDuration::from_secs(59)).await;
    assert_eq!(receiver.received().len(), 2, "no retry before another 60 s");
    t.advance(SignedDuration::from_secs(1)).await;
    let got = receiver.received();
    assert_eq!(got.iter().map(|d| d.status).collect::<Vec<_>>(), [500, 500, 200]);
    let accepted = receiver.accepted();
    assert_eq!(accepted.len(), 1);
    let delivery_id = header(&got[0], "tracehop-delivery");
    for attempt in &got {
        assert_eq!(header(attempt, "tracehop-delivery"), delivery_id, "every attempt is the same event");
        assert_eq!(header(attempt, "tracehop-event"), "hop.requested");
        assert_eq!(attempt.body, got[0].body, "every attempt carries the same body");
    }
    // Each attempt is signed when it is sent.
    let times: Vec<i64> = got.iter().map(|d| signature_parts(d).0).collect();
    let start = at(MONDAY_10AM_NY).as_second();
    assert_eq!(times, [start, start + 30, start + 90]);
    assert!(verify_signature(header(&accepted[0], "tracehop-signature"), &accepted[0].body, &secret, t.app.now(), 300));
    assert_eq!(body(&accepted[0])["traceback_id"], id.as_str());

    // Nothing more is sent for it.
    t.advance(SignedDuration::from_mins(10)).await;
    assert_eq!(receiver.received().len(), 3);

    let log = expect_json(t.get(&terminating, &format!("/api/v1/webhooks/{webhook}/deliveries")).await, 200).await;
    let items = log["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "{log}");
    assert!(log.get("next_cursor").is_none(), "{log}");
    let summary: Vec<(i64, &str, Option<i64>, &str)> = items
        .iter()
        .map(|d| {
            (
                d["attempt"].as_i64().unwrap(),
                d["outcome"].as_str().unwrap(),
                d["status_code"].as_i64(),
                d["at"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (3, "delivered", Some(200), "2026-03-02T15:01:30Z"),
            (2, "failed", Some(500), "2026-03-02T15:00:30Z"),
            (1, "failed", Some(500), "2026-03-02T15:00:00Z"),
        ],
        "newest first: two failures, then the delivery"
    );
    for item in items {
        assert_eq!(item["channel"], "webhook");
        assert_eq!(item["webhook_id"], webhook.as_str());
        assert_eq!(item["traceback_id"], id.as_str());
        assert_eq!(item["event_id"], delivery_id);
        assert_eq!(item["event_type"], "hop.requested");
        assert_eq!(item["target"], receiver.url.as_str());
    }
    assert_eq!(items[0]["error"], Value::Null);
    assert_eq!(items[2]["error"], "the endpoint answered 500 Internal Server Error");

    // Pages of one: newest first, each with a cursor to the next.
    let first =
        expect_json(t.get(&terminating, &format!("/api/v1/webhooks/{webhook}/deliveries?limit=1")).await, 200).await;
    assert_eq!(first["items"][0]["attempt"], 3);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = expect_json(
        t.get(&terminating, &format!("/api/v1/webhooks/{webhook}/deliveries?limit=1&cursor={cursor}")).await,
        200,
    )
    .await;
    assert_eq!(second["items"][0]["attempt"], 2);
    // The provider's whole log also holds the request email.
    let emails = expect_json(t.get(&terminating, "/api/v1/deliveries?channel=email").await, 200).await;
    let emails = emails["items"].as_array().unwrap();
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0]["outcome"], "delivered");
    assert_eq!(emails[0]["target"], "primary@terminating.example, backup@terminating.example");
}

#[tokio::test]
async fn after_rotation_deliveries_carry_both_signatures_until_the_overlap_ends() {
    let Setup { t, staff, terminating, .. } = setup().await;
    let receiver = WebhookReceiver::start(0).await;
    let (webhook, old) = register(&t, &terminating, &receiver.url, &["hop.requested", "hop.reminder"]).await;
    let rotated = expect_json(
        t.post(&terminating, &format!("/api/v1/webhooks/{webhook}/rotate-secret"), &json!({"overlap_seconds": 3600}))
            .await,
        200,
    )
    .await;
    let new = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert!(new.starts_with("whsec_"));
    assert_eq!(rotated["id"], webhook.as_str());
    assert_eq!(rotated["previous_secret_until"], "2026-03-02T16:00:00Z");

    // During the overlap: two v1 signatures, one per secret.
    start_traceback(&t, &staff, "terminating").await;
    t.work().await;
    let got = receiver.received();
    assert_eq!(event_types(&got), ["hop.requested"]);
    let requested = &got[0];
    let signature = header(requested, "tracehop-signature");
    assert_eq!(signature_parts(requested).1.len(), 2, "{signature}");
    let now = t.app.now();
    assert!(verify_signature(signature, &requested.body, &new, now, 300));
    assert!(verify_signature(signature, &requested.body, &old, now, 300));
    assert!(!verify_signature(signature, &requested.body, "whsec_other", now, 300));

    // The start-by reminder at 18:00 UTC comes after the overlap: only the new secret signs.
    t.advance(SignedDuration::from_hours(3)).await;
    let got = receiver.received();
    assert_eq!(event_types(&got), ["hop.requested", "hop.reminder"]);
    let reminder = &got[1];
    let signature = header(reminder, "tracehop-signature");
    assert_eq!(signature_parts(reminder).1.len(), 1, "{signature}");
    let now = t.app.now();
    assert!(verify_signature(signature, &reminder.body, &new, now, 300));
    assert!(!verify_signature(signature, &reminder.body, &old, now, 300), "the old secret no longer signs");

    // Overlaps are bounded.
    expect_invalid(
        t.post(
            &terminating,
            &format!("/api/v1/webhooks/{webhook}/rotate-secret"),
            &json!({"overlap_seconds": 604_801}),
        )
        .await,
        "overlap_seconds",
    )
    .await;
}

#[tokio::test]
async fn subscriptions_choose_the_event_types_delivered() {
    let Setup { t, staff, terminating, .. } = setup().await;
    let everything = WebhookReceiver::start(0).await;
    let expiries = WebhookReceiver::start(0).await;
    let paused = WebhookReceiver::start(0).await;
    register(&t, &terminating, &everything.url, &["*"]).await;
    register(&t, &terminating, &expiries.url, &["hop.expired"]).await;
    let (paused_id, _) = register(&t, &terminating, &paused.url, &["*"]).await;
    let updated = expect_json(
        t.http
            .patch(t.url(&format!("/api/v1/webhooks/{paused_id}")))
            .bearer_auth(&terminating)
            .json(&json!({"active": false}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(updated["active"], false);

    let id = start_traceback(&t, &staff, "terminating").await;
    t.work().await;
    assert_eq!(event_types(&everything.received()), ["hop.requested"]);
    assert!(expiries.received().is_empty());

    t.advance(SignedDuration::from_hours(24) + SignedDuration::from_secs(1)).await;
    assert_eq!(
        event_types(&everything.received()),
        ["hop.requested", "hop.reminder", "hop.reminder", "hop.expired", "traceback.closed"]
    );
    let only = expiries.received();
    assert_eq!(event_types(&only), ["hop.expired"]);
    let expired = body(&only[0]);
    assert_eq!(expired["traceback_id"], id.as_str());
    assert_eq!(expired["data"]["hops"][0]["state"], "expired");
    assert!(paused.received().is_empty(), "a paused webhook gets nothing");
}

#[tokio::test]
async fn another_provider_can_neither_see_nor_change_a_webhook() {
    let Setup { t, terminating, transit, .. } = setup().await;
    let receiver = WebhookReceiver::start(0).await;
    let (webhook, _) = register(&t, &terminating, &receiver.url, &["hop.requested"]).await;
    let missing = "0197a000-0000-7000-8000-000000000000";

    let seen = expect_json(t.get(&transit, "/api/v1/webhooks").await, 200).await;
    assert_eq!(seen, json!([]));
    let mut problems = Vec::new();
    for id in [webhook.as_str(), missing] {
        let path = format!("/api/v1/webhooks/{id}");
        let change =
            t.http.patch(t.url(&path)).bearer_auth(&transit).json(&json!({"url": "https://evil.example/hook"}));
        let delete = t.http.delete(t.url(&path)).bearer_auth(&transit);
        let answers = [
            t.get(&transit, &path).await,
            change.send().await.unwrap(),
            delete.send().await.unwrap(),
            t.post(&transit, &format!("{path}/rotate-secret"), &json!({})).await,
            t.get(&transit, &format!("{path}/deliveries")).await,
        ];
        let mut found = Vec::new();
        for answer in answers {
            found.push(without(&expect_problem(answer, 404, "not-found").await, id));
        }
        problems.push(found);
    }
    assert_eq!(problems[0], problems[1], "another's webhook and no webhook look the same");

    // It is untouched.
    let still = expect_json(t.get(&terminating, &format!("/api/v1/webhooks/{webhook}")).await, 200).await;
    assert_eq!(still["url"], receiver.url.as_str());
    assert_eq!(still["previous_secret_until"], Value::Null);

    // Staff tokens cannot hold the scope, and a provider token without it is refused.
    let staff = t.staff_token(&[Scope::TracebacksRead, Scope::TracebacksManage, Scope::TokensManage]).await;
    expect_problem(t.get(&staff, "/api/v1/webhooks").await, 403, "forbidden").await;
    let reader = t.provider_token(&ProviderId::new("terminating").unwrap(), &[Scope::HopsRead]).await;
    expect_problem(t.get(&reader, &format!("/api/v1/webhooks/{webhook}")).await, 403, "forbidden").await;

    // Its owner may delete it; then it is gone.
    let deleted =
        t.http.delete(t.url(&format!("/api/v1/webhooks/{webhook}"))).bearer_auth(&terminating).send().await.unwrap();
    assert_eq!(deleted.status().as_u16(), 204);
    expect_problem(t.get(&terminating, &format!("/api/v1/webhooks/{webhook}")).await, 404, "not-found").await;
}

#[tokio::test]
async fn registration_refuses_non_public_targets_plain_http_and_unknown_event_types() {
    // Production settings: webhooks may not reach into the platform's own network.
    let t = TestApp::with_settings(at(MONDAY_10AM_NY), Settings::default()).await;
    let provider = t.provider("terminating", "US", &[]).await;
    let terminating = t.provider_token(&provider, PROVIDER_SCOPES).await;
    let (t, terminating) = (&t, terminating.as_str());
    let post = |body: Value| async move { t.post(terminating, "/api/v1/webhooks", &body).await };
    for url in [
        "http://hooks.example.com/tracehop",
        "ftp://127.0.0.1/hook",
        "not a url",
        "http://10.0.0.8/hook",
        "https://10.0.0.8/hook",
        "https://127.0.0.1:9/hook",
        "https://localhost:9/hook",
        "https://[::1]:9/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://db.internal/hook",
    ] {
        let problem = expect_invalid(post(json!({"url": url, "event_types": ["hop.requested"]})).await, "url").await;
        assert_eq!(problem["errors"].as_array().unwrap().len(), 1, "{problem}");
    }
    let problem = expect_invalid(
        post(json!({"url": "https://hooks.example.com/t", "event_types": ["hop.requested", "hop.exploded"]})).await,
        "event_types",
    )
    .await;
    assert!(problem["errors"][0]["message"].as_str().unwrap().contains("hop.exploded"), "{problem}");
    expect_invalid(post(json!({"url": "https://hooks.example.com/t", "event_types": []})).await, "event_types").await;
    expect_invalid(post(json!({"event_types": ["hop.requested"]})).await, "url").await;
    // https to public hosts is accepted.
    for url in ["https://hooks.example.com/tracehop", "https://93.184.215.14:8443/hook"] {
        expect_json(post(json!({"url": url, "event_types": ["*"]})).await, 201).await;
    }
    let listed = expect_json(t.get(terminating, "/api/v1/webhooks").await, 200).await;
    assert_eq!(listed.as_array().unwrap().len(), 2, "the refused ones were not kept: {listed}");
    // Updates are checked the same way.
    let id = listed[0]["id"].as_str().unwrap();
    let patched = t
        .http
        .patch(t.url(&format!("/api/v1/webhooks/{id}")))
        .bearer_auth(terminating)
        .json(&json!({"event_types": ["hop.everything"]}))
        .send()
        .await
        .unwrap();
    expect_invalid(patched, "event_types").await;
    let moved = t
        .http
        .patch(t.url(&format!("/api/v1/webhooks/{id}")))
        .bearer_auth(terminating)
        .json(&json!({"url": "https://192.168.0.10/hook"}))
        .send()
        .await
        .unwrap();
    expect_invalid(moved, "url").await;
}
