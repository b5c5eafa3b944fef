//! Notification emails as a real SMTP listener receives them: requests to primary and backup
//! contacts with the deadlines, reminders, the deadline-elapsed notice, and closures.

use jiff::SignedDuration;
use tracehop_app::access::tokens::Scope;
use tracehop_web::testing::{ReceivedMail, TestApp};

use crate::support::{
    MONDAY_10AM_NY, answer_path, at, expect_json, originated_answer, start_traceback, untagged, upstream_answer,
};

fn subjects(mails: &[ReceivedMail]) -> Vec<String> {
    mails.iter().map(|m| untagged(&m.subject)).collect()
}

fn recipients(provider: &str) -> Vec<String> {
    vec![format!("primary@{provider}.example"), format!("backup@{provider}.example")]
}

#[tokio::test]
async fn a_new_hop_request_goes_to_primary_and_backup_with_its_deadlines() {
    let t = TestApp::start(at(MONDAY_10AM_NY)).await;
    t.provider("terminating", "US", &[]).await;
    let transit = t.provider("transit", "US", &[]).await;
    let terminating = tracehop_core::provider::ProviderId::new("terminating").unwrap();
    let term_token = t.provider_token(&terminating, &[Scope::HopsRead, Scope::HopsAnswer]).await;
    let staff = t.staff_token(&[Scope::TracebacksManage, Scope::TracebacksRead]).await;

    let id = start_traceback(&t, &staff, "terminating").await;
    assert!(t.smtp.messages().is_empty(), "mail leaves through the worker, not the request");
    t.work().await;
    let mails = t.smtp.messages();
    assert_eq!(mails.len(), 1, "{mails:#?}");
    let mail = &mails[0];
    assert_eq!(mail.from, "traceback@tracehop-test.example");
    assert_eq!(mail.to, recipients("terminating"));
    assert_eq!(
        mail.subject,
        format!(
            "[tracehop] Traceback request [ref {}]: respond by 2026-03-03 15:00 UTC (Tue 2026-03-03 10:00 America/New_York)",
            &t.hop_ref(&id, 0).await[..8]
        )
    );
    for line in [
        "To the traceback contacts of terminating Communications,",
        &format!("Traceback {id}, hop {}", t.hop_ref(&id, 0).await),
        "Asked as: the terminating provider",
        "  Calling number: +12025550123 (as presented: +1 202-555-0123)",
        "  Call time:      2026-03-01 18:22 UTC (Sun 2026-03-01 13:22 America/New_York)",
        "  SIP Call-ID:    3848276298220188511@sbc.terminating.example",
        "  Campaign:       Medicare card renewal",
        "  Start investigating by: 2026-03-02 19:00 UTC (Mon 2026-03-02 14:00 America/New_York)",
        "  Respond by:             2026-03-03 15:00 UTC (Tue 2026-03-03 10:00 America/New_York)",
        &format!("  POST http://127.0.0.1:8080{}", answer_path(&t, &id, 0).await),
    ] {
        assert!(mail.body.lines().any(|l| l.trim_end() == line), "missing line {line:?} in\n{}", mail.body);
    }
    assert!(!mail.body.contains("Deemed received"), "received when notified: {}", mail.body);

    // The terminating provider names its upstream half an hour later: the new hop's request goes
    // to the upstream's contacts, with deadlines counted from then.
    t.advance(SignedDuration::from_mins(30)).await;
    expect_json(t.post(&term_token, &answer_path(&t, &id, 0).await, &upstream_answer(transit.as_str())).await, 200)
        .await;
    t.work().await;
    let mails = t.smtp.messages();
    assert_eq!(mails.len(), 2, "{:#?}", subjects(&mails));
    let mail = &mails[1];
    assert_eq!(mail.to, recipients("transit"));
    assert_eq!(
        mail.subject,
        format!(
            "[tracehop] Traceback request [ref {}]: respond by 2026-03-03 15:30 UTC (Tue 2026-03-03 10:30 America/New_York)",
            &t.hop_ref(&id, 1).await[..8]
        )
    );
    assert!(mail.body.contains("Named by: terminating Communications (terminating)"), "{}", mail.body);
    assert!(mail.body.contains("  Start investigating by: 2026-03-02 19:30 UTC"), "{}", mail.body);
    assert!(
        !mail.body.contains("TRUNK-TERM-9"),
        "the downstream's evidence is not the upstream's to see: {}",
        mail.body
    );
    assert_ne!(mails[0].message_id, mails[1].message_id);
    assert!(mail.message_id.ends_with("@tracehop>"), "{}", mail.message_id);
}

#[tokio::test]
async fn reminders_go_out_before_each_deadline_and_the_elapsed_notice_after_24_hours() {
    let t = TestApp::start(at(MONDAY_10AM_NY)).await;
    t.provider("terminating", "US", &[]).await;
    let staff = t.staff_token(&[Scope::TracebacksManage, Scope::TracebacksRead]).await;
    start_traceback(&t, &staff, "terminating").await;
    t.work().await;
    assert_eq!(t.smtp.messages().len(), 1);

    // Start-by is 19:00 UTC; its reminder goes an hour before, not a second earlier.
    t.advance(SignedDuration::from_hours(3) - SignedDuration::from_secs(1)).await;
    assert_eq!(t.smtp.messages().len(), 1, "{:#?}", subjects(&t.smtp.messages()));
    t.advance(SignedDuration::from_secs(1)).await;
    let mails = t.smtp.messages();
    assert_eq!(mails.len(), 2, "{:#?}", subjects(&mails));
    assert_eq!(untagged(&mails[1].subject), "[tracehop] Reminder: your traceback answer [ref] is due");
    assert_eq!(mails[1].to, recipients("terminating"));
    assert!(mails[1].body.contains("This is a reminder: your answer to the request below is due soon."));
    assert!(mails[1].body.contains("  Start investigating by: 2026-03-02 19:00 UTC"), "{}", mails[1].body);

    // Respond-by is 15:00 UTC the next day; its reminder goes four hours before.
    t.advance(SignedDuration::from_hours(17) - SignedDuration::from_secs(1)).await; // 10:59:59
    assert_eq!(t.smtp.messages().len(), 2, "{:#?}", subjects(&t.smtp.messages()));
    t.advance(SignedDuration::from_secs(1)).await;
    let mails = t.smtp.messages();
    assert_eq!(mails.len(), 3, "{:#?}", subjects(&mails));
    assert_eq!(untagged(&mails[2].subject), "[tracehop] Reminder: your traceback answer [ref] is due");
    assert!(mails[2].body.contains("  Respond by:             2026-03-03 15:00 UTC"), "{}", mails[2].body);

    // At 24 hours exactly the deadline is still met; a second later it has passed.
    t.advance(SignedDuration::from_hours(4)).await;
    assert_eq!(t.smtp.messages().len(), 3, "{:#?}", subjects(&t.smtp.messages()));
    t.advance(SignedDuration::from_secs(1)).await;
    let mails = t.smtp.messages();
    assert_eq!(
        subjects(&mails[3..]),
        ["[tracehop] Deadline passed [ref]", "[tracehop] Traceback closed [ref]"],
        "the elapsed notice, then the closure (TB-6: the traceback closes on no response)"
    );
    assert!(mails[3].body.contains("The 24-hour deadline for the request below passed without an answer."));
    assert!(mails[3].body.contains("You are recorded as non-responsive for this traceback."));
    assert!(mails[3..].iter().all(|m| m.to == recipients("terminating")));

    // Nothing more is due.
    t.advance(SignedDuration::from_hours(48)).await;
    assert_eq!(t.smtp.messages().len(), 5, "{:#?}", subjects(&t.smtp.messages()));
}

#[tokio::test]
async fn the_closed_email_goes_to_every_provider_in_the_traceback() {
    let t = TestApp::start(at(MONDAY_10AM_NY)).await;
    let terminating = t.provider("terminating", "US", &[]).await;
    let origin = t.provider("origin", "US", &[]).await;
    let bystander = t.provider("bystander", "US", &[]).await;
    let term_token = t.provider_token(&terminating, &[Scope::HopsRead, Scope::HopsAnswer]).await;
    let origin_token = t.provider_token(&origin, &[Scope::HopsRead, Scope::HopsAnswer]).await;
    let staff = t.staff_token(&[Scope::TracebacksManage, Scope::TracebacksRead]).await;
    let id = start_traceback(&t, &staff, "terminating").await;
    expect_json(t.post(&term_token, &answer_path(&t, &id, 0).await, &upstream_answer("origin")).await, 200).await;
    t.work().await;
    assert_eq!(t.smtp.messages().len(), 2);

    expect_json(t.post(&origin_token, &answer_path(&t, &id, 1).await, &originated_answer()).await, 200).await;
    t.work().await;
    let mails = t.smtp.messages();
    // Deliveries to different providers go out concurrently: in any order.
    let mut closed: Vec<&ReceivedMail> = mails[2..].iter().collect();
    closed.sort_by_key(|mail| usize::from(mail.to != recipients("terminating")));
    assert_eq!(closed.len(), 2, "{:#?}", subjects(&mails));
    for (mail, provider) in closed.iter().zip(["terminating", "origin"]) {
        assert_eq!(untagged(&mail.subject), "[tracehop] Traceback closed [ref]");
        assert_eq!(mail.to, recipients(provider));
        assert!(mail.body.contains("The traceback below is closed. Thank you for your cooperation."), "{}", mail.body);
        assert!(!mail.body.contains("Respond by"), "a closed traceback asks nothing: {}", mail.body);
        assert!(!mail.body.contains("Budget Dialer"), "the closure does not name the customer: {}", mail.body);
    }
    let all: Vec<String> = mails.iter().flat_map(|m| m.to.clone()).collect();
    assert!(!all.iter().any(|to| to.contains(bystander.as_str())), "a provider without a hop gets nothing: {all:?}");
    // The closure cancels the pending timers: nothing more is sent.
    t.advance(SignedDuration::from_hours(30)).await;
    assert_eq!(t.smtp.messages().len(), 4, "{:#?}", subjects(&t.smtp.messages()));
}
