//! What a provider's API, webhooks and email give away (ACC-2), through the real server: the
//! Call-ID of another provider's leg, the submitter's words, hop positions and comment counts;
//! what a token without `hops:read` learns from its commands; probing the directory through
//! answers; and how much a provider may comment.

use serde_json::{Value, json};
use tracehop_app::access::tokens::Scope;
use tracehop_app::settings::Settings;
use tracehop_store::providers::IdentifierKind;
use tracehop_web::testing::{TestApp, WebhookReceiver};

use crate::support::{
    MONDAY_10AM_NY, answer_path, at, expect_json, expect_problem, hop_path, provider_view, staff_detail,
    start_traceback, upstream_answer,
};

const CALL_ID: &str = "3848276298220188511@sbc.terminating.example";
const SUBMITTED: &str = "Analytics flagged a Medicare impersonation campaign.";

struct Setup {
    t: TestApp,
    staff: String,
    terminating: String,
    transit: String,
    id: String,
}

/// A traceback whose terminating provider named `transit`.
async fn setup_with(settings: Settings) -> Setup {
    let t = TestApp::with_settings(at(MONDAY_10AM_NY), settings).await;
    let scopes = [Scope::HopsRead, Scope::HopsAnswer, Scope::WebhooksManage];
    let terminating = t.provider("terminating", "US", &[]).await;
    let transit = t.provider("transit", "US", &[(IdentifierKind::Frn, "0031000077")]).await;
    t.provider("origin", "US", &[]).await;
    let terminating = t.provider_token(&terminating, &scopes).await;
    let transit = t.provider_token(&transit, &scopes).await;
    let staff = t.staff_token(&[Scope::TracebacksManage, Scope::TracebacksRead, Scope::DirectoryManage]).await;
    let id = start_traceback(&t, &staff, "terminating").await;
    expect_json(t.post(&terminating, &answer_path(&t, &id, 0).await, &upstream_answer("transit")).await, 200).await;
    Setup { t, staff, terminating, transit, id }
}

async fn setup() -> Setup {
    let mut settings = Settings::default();
    settings.webhooks.allow_private_targets = true;
    setup_with(settings).await
}

#[tokio::test]
async fn the_call_id_goes_only_to_the_terminating_provider_unless_staff_share_it() {
    let Setup { t, staff, terminating, transit, id } = setup().await;
    let receiver = WebhookReceiver::start(0).await;
    let hook = json!({"url": receiver.url, "event_types": ["*"]});
    expect_json(t.post(&transit, "/api/v1/webhooks", &hook).await, 201).await;
    assert_eq!(provider_view(&t, &terminating, &id).await["call"]["sip_call_id"], CALL_ID);
    assert_eq!(provider_view(&t, &transit, &id).await["call"]["sip_call_id"], Value::Null);

    // Reminders and requests to the upstream carry no Call-ID either.
    t.advance(jiff::SignedDuration::from_hours(4)).await;
    let to_transit: Vec<_> =
        t.smtp.messages().into_iter().filter(|m| m.to.iter().any(|a| a.ends_with("@transit.example"))).collect();
    assert!(to_transit.len() >= 2, "request and reminder: {to_transit:#?}");
    for mail in &to_transit {
        assert!(!mail.body.contains("sbc.terminating.example"), "{}", mail.body);
        assert!(!mail.body.contains(SUBMITTED), "{}", mail.body);
    }
    let delivered = receiver.received();
    assert!(!delivered.is_empty());
    assert!(delivered.iter().all(|d| !d.body.contains("sbc.terminating.example")));

    // Staff share it for the transit hop.
    let share = format!("/api/v1/tracebacks/{id}/hops/1/share-call-id");
    expect_problem(t.post(&transit, &share, &json!({"shared": true})).await, 403, "forbidden").await;
    let detail = expect_json(t.post(&staff, &share, &json!({"shared": true})).await, 200).await;
    assert_eq!(detail["hops"][1]["call_id_shared"], true);
    assert_eq!(provider_view(&t, &transit, &id).await["call"]["sip_call_id"], CALL_ID);
    let events = expect_json(t.get(&staff, &format!("/api/v1/tracebacks/{id}/events")).await, 200).await;
    assert!(events.as_array().unwrap().iter().any(|e| e["change"]["type"] == "call_id_shared"), "{events}");
}

#[tokio::test]
async fn providers_read_the_summary_staff_approved_never_the_submitters_text() {
    let Setup { t, staff, terminating, transit, id } = setup().await;
    let detail = staff_detail(&t, &staff, &id).await;
    assert_eq!(detail["call"]["basis_summary"], SUBMITTED, "staff see the submitter's text");
    let default = "A call of the campaign \"Medicare card renewal\". The consortium reviewed the basis for this traceback before it started.";
    assert_eq!(detail["provider_summary"], default);
    for token in [&terminating, &transit] {
        let view = provider_view(&t, token, &id).await;
        assert_eq!(view["call"]["basis_summary"], default);
        assert!(!view.to_string().contains(SUBMITTED));
    }
    let path = format!("/api/v1/tracebacks/{id}/provider-summary");
    let summary = json!({"summary": "Prerecorded Medicare card renewal calls to seniors."});
    expect_problem(t.put(&transit, &path, &summary).await, 403, "forbidden").await;
    let detail = expect_json(t.put(&staff, &path, &summary).await, 200).await;
    assert_eq!(detail["provider_summary_set"], true);
    assert_eq!(
        provider_view(&t, &transit, &id).await["call"]["basis_summary"],
        "Prerecorded Medicare card renewal calls to seniors."
    );
    let events = expect_json(t.get(&staff, &format!("/api/v1/tracebacks/{id}/events")).await, 200).await;
    assert!(events.as_array().unwrap().iter().any(|e| e["change"]["type"] == "provider_summary_set"));
}

#[tokio::test]
async fn providers_name_hops_and_comments_by_references_that_reveal_no_position() {
    let Setup { t, staff, transit, id, .. } = setup().await;
    let list = expect_json(t.get(&transit, "/api/v1/provider/hops").await, 200).await;
    let listed = list["items"][0]["hop"].as_str().unwrap().to_owned();
    let view = provider_view(&t, &transit, &id).await;
    assert_eq!(view["hops"][0]["hop"], listed.as_str(), "the same reference in the list and the view");
    assert!(uuid::Uuid::parse_str(&listed).is_ok());
    let detail = staff_detail(&t, &staff, &id).await;
    assert_eq!(detail["hops"][1]["id"], 1, "staff keep positions");
    assert_eq!(detail["hops"][1]["reference"], listed.as_str());
    // The position is no longer a way in.
    let by_position = format!("/api/v1/provider/tracebacks/{id}/hops/1/acknowledge");
    expect_problem(t.post(&transit, &by_position, &json!({})).await, 404, "not-found").await;

    // A staff-only comment exists; the provider's own comment does not tell.
    let staff_note = json!({"hop": 1, "text": "internal note", "visibility": "staff_only"});
    expect_json(t.post(&staff, &format!("/api/v1/tracebacks/{id}/comments"), &staff_note).await, 200).await;
    let path = format!("/api/v1/provider/tracebacks/{id}/hops/{listed}/comments");
    let after = expect_json(t.post(&transit, &path, &json!({"text": "checking our CDRs"})).await, 200).await;
    let comment = &after["hops"][0]["comments"][0];
    assert_eq!(comment["text"], "checking our CDRs");
    assert!(comment["id"].as_str().is_some_and(|c| uuid::Uuid::parse_str(c).is_ok()), "{comment}");
    assert_eq!(comment["hop"], listed.as_str());
    // The page cursor is opaque too: it carries the reference, not the position.
    let page = expect_json(t.get(&transit, "/api/v1/provider/hops?state=all&limit=1").await, 200).await;
    if let Some(cursor) = page["next_cursor"].as_str() {
        use base64::Engine as _;
        let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor).unwrap();
        assert!(String::from_utf8(decoded).unwrap().contains(&listed));
    }
}

#[tokio::test]
async fn a_token_without_hops_read_learns_only_what_its_command_did() {
    let Setup { t, transit, id, .. } = setup().await;
    let answer_only =
        t.provider_token(&tracehop_core::provider::ProviderId::new("transit").unwrap(), &[Scope::HopsAnswer]).await;
    let hop = t.hop_ref(&id, 1).await;
    let comment = expect_json(
        t.post(&answer_only, &hop_path(&t, &id, 1, "comments").await, &json!({"text": "on it"})).await,
        200,
    )
    .await;
    assert_eq!(comment["traceback"], id.as_str());
    assert_eq!(comment["hop"], hop.as_str());
    assert_eq!(comment["state"], "open");
    assert!(comment["comment"].is_string(), "{comment}");
    assert_eq!(comment.get("call"), None, "no view: {comment}");
    assert_eq!(comment.get("hops"), None, "no view: {comment}");
    let acknowledged =
        expect_json(t.post(&answer_only, &hop_path(&t, &id, 1, "acknowledge").await, &json!({})).await, 200).await;
    assert_eq!(acknowledged, json!({"traceback": id, "hop": hop, "state": "acknowledged"}));
    let answered =
        expect_json(t.post(&answer_only, &answer_path(&t, &id, 1).await, &upstream_answer("origin")).await, 200).await;
    assert_eq!(answered, json!({"traceback": id, "hop": hop, "state": "answered"}));
    // With hops:read, the view as before.
    let view = provider_view(&t, &transit, &id).await;
    assert_eq!(view["hops"][0]["state"], "answered");
}

#[tokio::test]
async fn an_answered_or_closed_hop_is_refused_before_the_directory_is_asked() {
    let Setup { t, staff, terminating, id, .. } = setup().await;
    let path = answer_path(&t, &id, 0).await;
    for upstream in
        [json!({"provider_id": "no-such-provider"}), json!({"frn": "0099999999"}), json!({"provider_id": "transit"})]
    {
        let answer = json!({"kind": "upstream", "upstream": upstream});
        expect_problem(t.post(&terminating, &path, &answer).await, 409, "already-answered").await;
    }
    let new = json!({"kind": "upstream_new", "upstream": {"provider_name": "Probe Telecom", "country": "US",
                     "email": "probe@probe.example"}});
    expect_problem(t.post(&terminating, &path, &new).await, 409, "already-answered").await;
    let directory = expect_json(t.get(&staff, "/api/v1/providers?limit=200").await, 200).await;
    assert!(!directory.to_string().contains("Probe Telecom"), "no provider was created");

    expect_json(t.post(&staff, &format!("/api/v1/tracebacks/{id}/close"), &json!({"reason": "withdrawn"})).await, 200)
        .await;
    let transit_token =
        t.provider_token(&tracehop_core::provider::ProviderId::new("transit").unwrap(), &[Scope::HopsAnswer]).await;
    let unknown = json!({"kind": "upstream", "upstream": {"provider_id": "no-such-provider"}});
    expect_problem(t.post(&transit_token, &answer_path(&t, &id, 1).await, &unknown).await, 409, "traceback-closed")
        .await;
}

#[tokio::test]
async fn comments_are_capped_per_hop_and_per_provider_an_hour() {
    let mut settings = Settings::default();
    settings.traceback.comments_per_hop = 2;
    settings.comments.per_provider_per_hour = 3;
    let Setup { t, staff, terminating, transit, id } = setup_with(settings).await;
    let on_transit = hop_path(&t, &id, 1, "comments").await;
    for text in ["one", "two"] {
        expect_json(t.post(&transit, &on_transit, &json!({"text": text})).await, 200).await;
    }
    let capped =
        expect_problem(t.post(&transit, &on_transit, &json!({"text": "three"})).await, 429, "comment-limit").await;
    assert!(capped["detail"].as_str().unwrap().contains("at most 2 comments on a hop"), "{capped}");

    // Another hop of another traceback: the hourly allowance runs out at three.
    let other = start_traceback(&t, &staff, "transit").await;
    let on_other = hop_path(&t, &other, 0, "comments").await;
    expect_json(t.post(&transit, &on_other, &json!({"text": "three"})).await, 200).await;
    let response = t.post(&transit, &on_other, &json!({"text": "four"})).await;
    let retry = response.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let hourly = expect_problem(response, 429, "comment-limit").await;
    assert!(hourly["detail"].as_str().unwrap().contains("3 comments an hour"), "{hourly}");
    assert!(retry.is_some_and(|r| r.parse::<u64>().is_ok_and(|s| s > 0 && s <= 3600)));
    // Another provider is not held back, and an hour later the provider may write again.
    expect_json(t.post(&terminating, &hop_path(&t, &id, 0, "comments").await, &json!({"text": "fine"})).await, 200)
        .await;
    t.clock.advance(jiff::SignedDuration::from_hours(1));
    expect_json(t.post(&transit, &on_other, &json!({"text": "four"})).await, 200).await;
}
