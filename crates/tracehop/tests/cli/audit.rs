//! `tracehop audit verify` finds any altered event and names it.

use jiff::SignedDuration;
use tracehop_store::testing::TestDatabase;

use crate::support::{add_provider, app_with_deadline, run, start_traceback};

#[tokio::test]
async fn audit_verify_names_the_first_altered_event() {
    let db = TestDatabase::new().await;
    let store = db.store().await;
    let app = app_with_deadline(&store, SignedDuration::from_hours(24));
    let terminating = add_provider(&app, "audit-t").await;
    let first = start_traceback(&app, &terminating).await;
    let second = start_traceback(&app, &terminating).await;
    let url = db.url_string();

    let clean = run(&["audit", "verify", "--database-url", &url]);
    let printed = String::from_utf8_lossy(&clean.stdout);
    assert!(clean.status.success(), "{printed}");
    assert!(printed.contains("2 tracebacks"), "{printed}");

    // Change one byte of the second event of the second traceback: the notification's text.
    let changed = db
        .execute(&store, &format!("UPDATE events SET payload = REPLACE(payload, '\"cause\":\"first\"', '\"cause\":\"First\"') WHERE stream_id = '{second}' AND seq = 3"))
        .await;
    assert_eq!(changed, 1);
    let broken = run(&["audit", "verify", "--database-url", &url]);
    let printed = String::from_utf8_lossy(&broken.stdout);
    assert_eq!(broken.status.code(), Some(1), "{printed}");
    assert!(printed.contains(&format!("traceback {second} seq 3")), "{printed}");
    assert!(!printed.contains(&first.to_string()), "{printed}");
}

#[tokio::test]
async fn audit_verify_notices_removed_events() {
    let db = TestDatabase::new().await;
    let store = db.store().await;
    let app = app_with_deadline(&store, SignedDuration::from_hours(24));
    let terminating = add_provider(&app, "audit-r").await;
    let id = start_traceback(&app, &terminating).await;
    let url = db.url_string();

    db.execute(&store, &format!("DELETE FROM events WHERE stream_id = '{id}' AND seq = 3")).await;
    let truncated = run(&["audit", "verify", "--database-url", &url]);
    let printed = String::from_utf8_lossy(&truncated.stdout);
    assert_eq!(truncated.status.code(), Some(1), "{printed}");
    assert!(printed.contains(&format!("traceback {id}")), "{printed}");
}
