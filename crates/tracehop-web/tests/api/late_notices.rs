//! A worker that falls behind: `/readyz` says so; a late reminder still goes out before its
//! deadline and says it is late; one whose deadline passed is folded into the deadline's notice;
//! every late or skipped notice is counted in `/metrics`.

use jiff::SignedDuration;
use serde_json::{Value, json};
use tracehop_app::access::tokens::Scope;
use tracehop_web::testing::{TestApp, WebhookReceiver};

use crate::support::{MONDAY_10AM_NY, at, expect_json, start_traceback};

async fn metrics(t: &TestApp) -> String {
    t.http.get(format!("{}/metrics", t.metrics_base)).send().await.unwrap().text().await.unwrap()
}

async fn readyz(t: &TestApp) -> (u16, String) {
    let response = t.http.get(t.url("/readyz")).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn a_late_reminder_says_so_and_one_past_its_deadline_is_folded_into_the_deadline_notice() {
    let t = TestApp::start(at(MONDAY_10AM_NY)).await;
    let terminating = t.provider("terminating", "US", &[]).await;
    let token = t.provider_token(&terminating, &[Scope::HopsRead, Scope::WebhooksManage]).await;
    let receiver = WebhookReceiver::start(0).await;
    expect_json(t.post(&token, "/api/v1/webhooks", &json!({"url": receiver.url, "event_types": ["*"]})).await, 201)
        .await;
    let staff = t.staff_token(&[Scope::TracebacksManage, Scope::TracebacksRead]).await;
    let _id = start_traceback(&t, &staff, "terminating").await;
    t.work().await;
    assert_eq!(readyz(&t).await.0, 200);

    // The worker stops for twenty hours and ten minutes: the start-by reminder (due at 13:00),
    // the start-by deadline (14:00) and the respond-by reminder (20 hours in) are all overdue.
    let stalled = t.app.now() + SignedDuration::from_hours(20) + SignedDuration::from_mins(10);
    t.clock.set(stalled);
    let (status, text) = readyz(&t).await;
    assert_eq!(status, 503, "{text}");
    assert!(text.contains("deadlines behind by"), "{text}");

    t.work().await;
    assert_eq!(readyz(&t).await.0, 200, "caught up");
    let reminders: Vec<Value> = receiver
        .accepted()
        .iter()
        .map(|d| serde_json::from_str::<Value>(&d.body).unwrap())
        .filter(|body| body["type"] == "hop.reminder")
        .collect();
    assert_eq!(reminders.len(), 1, "the respond-by reminder went out; the start-by one had passed its deadline");
    assert_eq!(reminders[0]["late_since"], json!("2026-03-03T11:00:00Z"), "it says it is late");
    let mails = t.smtp.messages();
    let reminder_mail = mails.iter().find(|m| m.body.contains("This reminder is late")).expect("a late reminder mail");
    assert!(reminder_mail.body.contains("2026-03-03T11:00:00Z"), "{}", reminder_mail.body);

    let scraped = metrics(&t).await;
    for line in [
        "tracehop_notices_late_total{kind=\"reminder\"} 1",
        "tracehop_notices_late_total{kind=\"deadline\"} 1",
        "tracehop_notices_skipped_total{kind=\"reminder\",reason=\"past_deadline\"} 1",
        "tracehop_jobs_due{kind=\"deadline\"} 0",
        "tracehop_deliveries_in_flight 0",
    ] {
        assert!(scraped.contains(line), "{line} in\n{scraped}");
    }
    assert!(scraped.contains("tracehop_timer_worst_lateness_seconds{kind=\"reminder\"}"), "{scraped}");
    assert!(scraped.contains("tracehop_jobs_oldest_due_seconds{kind=\"webhook\"} 0.0"), "{scraped}");
    assert!(scraped.contains("tracehop_job_lost_leases_total{kind=\"webhook\"} 0"), "{scraped}");
}
