//! Deadlines on the manual clock (TB-5, TB-6, TB-8): reminders by email and webhook before
//! start-by and respond-by, expiry after 24 hours, extensions, and redirects that ask again.

use jiff::SignedDuration;
use serde_json::{Value, json};
use tracehop_app::access::tokens::Scope;
use tracehop_web::testing::{ReceivedMail, TestApp, WebhookReceiver};

use crate::support::{
    MONDAY_10AM_NY, answer_path, at, event_types, expect_json, originated_answer, provider_view, staff_detail,
    start_traceback, upstream_answer,
};

const HOUR: SignedDuration = SignedDuration::from_hours(1);
const SECOND: SignedDuration = SignedDuration::from_secs(1);

struct Setup {
    t: TestApp,
    staff: String,
    terminating: String,
    transit: String,
    receiver: WebhookReceiver,
}

async fn setup() -> Setup {
    let t = TestApp::start(at(MONDAY_10AM_NY)).await;
    let scopes = [Scope::HopsRead, Scope::HopsAnswer, Scope::WebhooksManage];
    let terminating = t.provider("terminating", "US", &[]).await;
    let transit = t.provider("transit", "US", &[]).await;
    let terminating = t.provider_token(&terminating, &scopes).await;
    let transit = t.provider_token(&transit, &scopes).await;
    let staff = t.staff_token(&[Scope::TracebacksManage, Scope::TracebacksRead]).await;
    let receiver = WebhookReceiver::start(0).await;
    let body = json!({"url": receiver.url, "event_types": ["*"]});
    expect_json(t.post(&terminating, "/api/v1/webhooks", &body).await, 201).await;
    Setup { t, staff, terminating, transit, receiver }
}

/// The event types the receiver accepted, in order.
fn hooks(receiver: &WebhookReceiver) -> Vec<String> {
    receiver.accepted().iter().map(|d| d.headers.get("tracehop-event").unwrap().to_str().unwrap().to_owned()).collect()
}

fn last_hook(receiver: &WebhookReceiver) -> Value {
    serde_json::from_str(&receiver.accepted().last().unwrap().body).unwrap()
}

/// The subjects of the mails sent to `provider`'s contacts.
fn mails_to(t: &TestApp, provider: &str) -> Vec<ReceivedMail> {
    let primary = format!("primary@{provider}.example");
    t.smtp.messages().into_iter().filter(|m| m.to.contains(&primary)).collect()
}

fn subjects(mails: &[ReceivedMail]) -> Vec<String> {
    mails.iter().map(|m| crate::support::untagged(&m.subject)).collect()
}

/// The `reminder_sent` events of a traceback: (deadline, due).
async fn reminders(t: &TestApp, staff: &str, id: &str) -> Vec<(String, String)> {
    let events = expect_json(t.get(staff, &format!("/api/v1/tracebacks/{id}/events")).await, 200).await;
    events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["change"]["type"] == "reminder_sent")
        .map(|e| {
            (e["change"]["deadline"].as_str().unwrap().to_owned(), e["change"]["due"].as_str().unwrap().to_owned())
        })
        .collect()
}

const REMINDER: &str = "[tracehop] Reminder: your traceback answer [ref] is due";

#[tokio::test]
async fn reminders_go_out_before_each_deadline_and_the_hop_expires_after_24_hours() {
    let Setup { t, staff, terminating, receiver, .. } = setup().await;
    let id = start_traceback(&t, &staff, "terminating").await;
    t.work().await;
    assert_eq!(hooks(&receiver), ["hop.requested"]);

    // Start-by 19:00 UTC (14:00 in New York, four business hours on); reminder an hour before.
    t.advance(3 * HOUR - SECOND).await;
    assert_eq!(hooks(&receiver), ["hop.requested"]);
    t.advance(SECOND).await;
    assert_eq!(hooks(&receiver), ["hop.requested", "hop.reminder"]);
    let reminder = last_hook(&receiver);
    assert_eq!(reminder["hop"], t.hop_ref(&id, 0).await);
    assert_eq!(reminder["data"]["hops"][0]["request"]["start_by"], "2026-03-02T19:00:00Z");
    assert_eq!(subjects(&mails_to(&t, "terminating"))[1], REMINDER);
    assert_eq!(reminders(&t, &staff, &id).await, [("start_by".to_owned(), "2026-03-02T19:00:00Z".to_owned())]);

    // Start-by passes unacknowledged: recorded, but the hop stays open.
    t.advance(HOUR + SECOND).await;
    assert!(event_types(&t, &staff, &id).await.contains(&"start_by_missed".to_owned()));
    assert_eq!(staff_detail(&t, &staff, &id).await["hops"][0]["state"], "open");

    // Respond-by 15:00 UTC the next day; reminder four hours before.
    t.advance(16 * HOUR - 2 * SECOND).await; // 10:59:59
    assert_eq!(hooks(&receiver).len(), 2);
    t.advance(SECOND).await;
    assert_eq!(hooks(&receiver), ["hop.requested", "hop.reminder", "hop.reminder"]);
    assert_eq!(last_hook(&receiver)["data"]["hops"][0]["request"]["respond_by"], "2026-03-03T15:00:00Z");
    assert_eq!(
        subjects(&mails_to(&t, "terminating")),
        [
            "[tracehop] Traceback request [ref]: respond by 2026-03-03 15:00 UTC (Tue 2026-03-03 10:00 America/New_York)",
            REMINDER,
            REMINDER
        ]
    );
    assert_eq!(
        reminders(&t, &staff, &id).await,
        [
            ("start_by".to_owned(), "2026-03-02T19:00:00Z".to_owned()),
            ("respond_by".to_owned(), "2026-03-03T15:00:00Z".to_owned())
        ]
    );

    // At 24 hours exactly the hop may still be answered; after them it has expired.
    t.advance(4 * HOUR).await;
    assert_eq!(at("2026-03-03T15:00:00Z"), t.app.now());
    let detail = staff_detail(&t, &staff, &id).await;
    assert_eq!((detail["status"].as_str(), detail["hops"][0]["state"].as_str()), (Some("open"), Some("open")));
    t.advance(SECOND).await;
    let detail = staff_detail(&t, &staff, &id).await;
    assert_eq!(detail["status"], "closed");
    assert_eq!(detail["outcome"], json!({"outcome": "non_responsive"}));
    assert_eq!(detail["hops"][0]["state"], "expired");
    assert_eq!(detail["hops"][0]["labels"], json!(["no_response"]));
    assert_eq!(detail["hops"][0]["expirations"], 1);
    assert_eq!(detail["closure"]["reason"], "no response by the deadline");
    let view = provider_view(&t, &terminating, &id).await;
    assert_eq!(view["hops"][0]["state"], "expired");
    assert_eq!(view["closed"], true);
    let waiting = expect_json(t.get(&terminating, "/api/v1/provider/hops").await, 200).await;
    assert_eq!(waiting["items"], json!([]));
    let expired = expect_json(t.get(&terminating, "/api/v1/provider/hops?state=expired").await, 200).await;
    assert_eq!(expired["items"].as_array().unwrap().len(), 1);
    assert_eq!(expired["items"][0]["state"], "expired");
    assert_eq!(hooks(&receiver)[3..], ["hop.expired", "traceback.closed"]);
    assert_eq!(last_hook(&receiver)["data"]["closed"], true);
    assert_eq!(
        subjects(&mails_to(&t, "terminating"))[3..],
        ["[tracehop] Deadline passed [ref]", "[tracehop] Traceback closed [ref]"]
    );
    // A late answer is refused.
    let late = t.post(&terminating, &answer_path(&t, &id, 0).await, &originated_answer()).await;
    assert_eq!(late.status().as_u16(), 409);
}

#[tokio::test]
async fn an_extension_moves_respond_by_and_its_reminder() {
    let Setup { t, staff, terminating, receiver, .. } = setup().await;
    let id = start_traceback(&t, &staff, "terminating").await;
    t.work().await;
    t.advance(18 * HOUR).await; // Tuesday 09:00 UTC, before the respond-by reminder
    let extend = json!({"respond_by": "2026-03-04T15:00:00Z", "reason": "the provider's CDRs are archived offsite"});
    let detail =
        expect_json(t.post(&staff, &format!("/api/v1/tracebacks/{id}/hops/0/extend"), &extend).await, 200).await;
    assert_eq!(detail["hops"][0]["request"]["respond_by"], "2026-03-04T15:00:00Z");
    assert_eq!(detail["hops"][0]["request"]["start_by"], "2026-03-02T19:00:00Z", "only respond-by moves");
    let extension = &detail["hops"][0]["extensions"][0];
    assert_eq!(extension["from"], "2026-03-03T15:00:00Z");
    assert_eq!(extension["to"], "2026-03-04T15:00:00Z");
    assert_eq!(extension["reason"], "the provider's CDRs are archived offsite");
    assert_eq!(provider_view(&t, &terminating, &id).await["hops"][0]["request"]["respond_by"], "2026-03-04T15:00:00Z");
    let before = hooks(&receiver).len();

    // The old deadline and its reminder time pass: nothing happens.
    t.advance(6 * HOUR + SECOND).await; // Tuesday 15:00:01
    let detail = staff_detail(&t, &staff, &id).await;
    assert_eq!((detail["status"].as_str(), detail["hops"][0]["state"].as_str()), (Some("open"), Some("open")));
    assert_eq!(hooks(&receiver).len(), before, "no reminder for a deadline that moved: {:?}", hooks(&receiver));
    assert!(!event_types(&t, &staff, &id).await.contains(&"hop_expired".to_owned()));

    // The new respond-by gets its reminder four hours before it.
    t.advance(20 * HOUR - 2 * SECOND).await; // Wednesday 10:59:59
    assert_eq!(hooks(&receiver).len(), before);
    t.advance(SECOND).await;
    assert_eq!(hooks(&receiver)[before..], ["hop.reminder"]);
    assert_eq!(last_hook(&receiver)["data"]["hops"][0]["request"]["respond_by"], "2026-03-04T15:00:00Z");
    let mails = mails_to(&t, "terminating");
    assert!(
        mails.last().unwrap().body.contains("  Respond by:             2026-03-04 15:00 UTC"),
        "{}",
        mails.last().unwrap().body
    );
    assert_eq!(
        reminders(&t, &staff, &id).await,
        [
            ("start_by".to_owned(), "2026-03-02T19:00:00Z".to_owned()),
            ("respond_by".to_owned(), "2026-03-04T15:00:00Z".to_owned())
        ]
    );

    // And it expires after the new deadline.
    t.advance(4 * HOUR).await;
    assert_eq!(staff_detail(&t, &staff, &id).await["hops"][0]["state"], "open");
    t.advance(SECOND).await;
    let detail = staff_detail(&t, &staff, &id).await;
    assert_eq!(detail["hops"][0]["state"], "expired");
    assert_eq!(detail["outcome"], json!({"outcome": "non_responsive"}));
}

#[tokio::test]
async fn a_redirect_asks_the_downstream_hop_again() {
    let Setup { t, staff, terminating, transit, receiver } = setup().await;
    let id = start_traceback(&t, &staff, "terminating").await;
    t.advance(HOUR / 2).await;
    expect_json(t.post(&terminating, &answer_path(&t, &id, 0).await, &upstream_answer("transit")).await, 200).await;
    t.advance(HOUR / 2).await;
    let not_ours = json!({"kind": "not_found", "reason": "not_our_call", "explanation": "we never carried traffic to that number"});
    expect_json(t.post(&transit, &answer_path(&t, &id, 1).await, &not_ours).await, 200).await;
    let detail = staff_detail(&t, &staff, &id).await;
    assert_eq!(detail["status"], "closed");
    assert_eq!(detail["outcome"], json!({"outcome": "not_found"}));

    t.advance(HOUR / 2).await; // 16:30 UTC
    let redirect = json!({"reason": "the transit provider shows the call was never theirs"});
    let detail =
        expect_json(t.post(&staff, &format!("/api/v1/tracebacks/{id}/hops/0/redirect"), &redirect).await, 200).await;
    assert_eq!(detail["status"], "open");
    assert_eq!(detail["outcome"], Value::Null);
    let hop = &detail["hops"][0];
    assert_eq!(hop["state"], "open");
    assert_eq!(hop["requests"], 2);
    assert_eq!(hop["answer"], Value::Null);
    assert_eq!(hop["earlier_answers"].as_array().unwrap().len(), 1);
    assert_eq!(hop["request"]["notified_at"], "2026-03-02T16:30:00Z");
    assert_eq!(hop["request"]["start_by"], "2026-03-02T20:30:00Z");
    assert_eq!(hop["request"]["respond_by"], "2026-03-03T16:30:00Z");
    assert_eq!(detail["hops"][1]["in_path"], false);
    assert_eq!(detail["hops"][1]["superseded"], true);
    assert_eq!(detail["hops"][1]["labels"], json!(["not_found"]), "the set-aside hop keeps its own fate");

    // The provider is asked again, by email and webhook, and sees the second request.
    t.work().await;
    let requests: Vec<String> = subjects(&mails_to(&t, "terminating"))
        .into_iter()
        .filter(|s| s.starts_with("[tracehop] Traceback request"))
        .collect();
    assert_eq!(
        requests,
        [
            "[tracehop] Traceback request [ref]: respond by 2026-03-03 15:00 UTC (Tue 2026-03-03 10:00 America/New_York)",
            "[tracehop] Traceback request [ref]: respond by 2026-03-03 16:30 UTC (Tue 2026-03-03 11:30 America/New_York)"
        ]
    );
    assert_eq!(hooks(&receiver).iter().filter(|e| *e == "hop.requested").count(), 2);
    let listed = expect_json(t.get(&terminating, "/api/v1/provider/hops").await, 200).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert_eq!(listed["items"][0]["requests"], 2);
    assert_eq!(listed["items"][0]["state"], "open");
    assert_eq!(listed["items"][0]["respond_by"], "2026-03-03T16:30:00Z");
    let view = provider_view(&t, &terminating, &id).await;
    assert_eq!(view["hops"][0]["requests"], 2);
    assert_eq!(view["hops"][0]["answer"], Value::Null);
    assert_eq!(view["closed"], false);

    // Reminders follow the second request's deadlines, not the first's.
    t.advance(HOUR + HOUR / 2 + SECOND).await; // 18:00:01, when the first request's reminder was due
    assert_eq!(reminders(&t, &staff, &id).await, []);
    t.advance(HOUR + HOUR / 2 - SECOND).await; // 19:30, an hour before the new start-by
    assert_eq!(reminders(&t, &staff, &id).await, [("start_by".to_owned(), "2026-03-02T20:30:00Z".to_owned())]);
    assert_eq!(hooks(&receiver).iter().filter(|e| *e == "hop.reminder").count(), 1);

    // The first request's deadline passes harmlessly; the second's counts.
    t.advance(SignedDuration::from_mins(19 * 60 + 30) + SECOND).await; // Tuesday 15:00:01
    assert_eq!(staff_detail(&t, &staff, &id).await["hops"][0]["state"], "open");
    t.advance(HOUR + HOUR / 2 + SECOND).await; // 16:30:02
    let detail = staff_detail(&t, &staff, &id).await;
    assert_eq!(detail["hops"][0]["state"], "expired");
    assert_eq!(detail["hops"][0]["labels"], json!(["no_response"]));
    assert_eq!(detail["outcome"], json!({"outcome": "non_responsive"}));
}
