//! Deadlines survive crashes and replicas: every respond-by fires exactly once.

use std::time::Duration;

use jiff::SignedDuration;
use tracehop_core::traceback::{Status, TracebackId};
use tracehop_store::Store;
use tracehop_store::testing::TestDatabase;

use crate::support::{
    Server, add_provider, app_with_deadline, count_events, eventually, http_get, start_traceback, state_of,
};

/// Worker settings that make a lost lease come back quickly.
const FAST_WORKER: &[(&str, &str)] =
    &[("TRACEHOP_POLICY__WORKER__LEASE", "PT2S"), ("TRACEHOP_POLICY__WORKER__POLL_INTERVAL", "PT0.05S")];

async fn closed(store: &Store, ids: &[TracebackId]) -> usize {
    let mut count = 0;
    for id in ids {
        if state_of(store, *id).await.status() == Status::Closed {
            count += 1;
        }
    }
    count
}

/// Every traceback expired once and closed once; the log is intact.
async fn assert_each_deadline_took_effect_once(store: &Store, ids: &[TracebackId]) {
    for id in ids {
        assert_eq!(count_events(store, *id, "hop_expired").await, 1, "traceback {id}");
        assert_eq!(count_events(store, *id, "closed").await, 1, "traceback {id}");
        let state = state_of(store, *id).await;
        assert_eq!(
            state.outcome().map(tracehop_core::traceback::Outcome::name),
            Some("non_responsive"),
            "traceback {id}"
        );
    }
    let report = store.verify_chains().await.unwrap();
    assert_eq!(report.broken, None);
    let respond_by_jobs = store.jobs_by_kind("deadline").await.unwrap();
    for id in ids {
        let mine: Vec<_> = respond_by_jobs
            .iter()
            .filter(|(job, _)| job.payload.contains(&id.to_string()) && job.payload.contains("respond_by"))
            .collect();
        assert_eq!(mine.len(), 1, "one respond-by timer for {id}");
        assert_eq!(mine[0].1, "done", "the timer for {id} completed");
    }
}

#[tokio::test]
async fn a_killed_server_loses_no_deadline_and_fires_none_twice() {
    let db = TestDatabase::new().await;
    let store = db.store().await;
    let url = db.url_string();
    let server = Server::start(&["serve", "--database-url", &url, "--bind", "127.0.0.1:0"], FAST_WORKER);

    // Ten tracebacks due in one second, ten due well after the crash.
    let soon = app_with_deadline(&store, SignedDuration::from_secs(1));
    let later = app_with_deadline(&store, SignedDuration::from_secs(6));
    let terminating = add_provider(&soon, "crash-t").await;
    let mut early = Vec::new();
    let mut late = Vec::new();
    for _ in 0..10 {
        early.push(start_traceback(&soon, &terminating).await);
        late.push(start_traceback(&later, &terminating).await);
    }
    assert!(
        eventually(Duration::from_secs(20), || async { closed(&store, &early).await == early.len() }).await,
        "the first deadlines fired"
    );
    server.kill();
    assert_eq!(closed(&store, &late).await, 0, "the later deadlines were still pending when the server died");

    let _restarted = Server::start(&["serve", "--database-url", &url, "--bind", "127.0.0.1:0"], FAST_WORKER);
    assert!(
        eventually(Duration::from_secs(30), || async { closed(&store, &late).await == late.len() }).await,
        "the restarted server fired the pending deadlines"
    );
    let all: Vec<TracebackId> = early.into_iter().chain(late).collect();
    assert_each_deadline_took_effect_once(&store, &all).await;
}

#[tokio::test]
async fn two_servers_on_one_database_fire_each_deadline_once() {
    let db = TestDatabase::new().await;
    let store = db.store().await;
    let url = db.url_string();
    let first = Server::start(&["serve", "--database-url", &url, "--bind", "127.0.0.1:0"], FAST_WORKER);
    let second = Server::start(&["serve", "--database-url", &url, "--bind", "127.0.0.1:0"], FAST_WORKER);
    assert_ne!(first.base, second.base);

    let app = app_with_deadline(&store, SignedDuration::from_secs(2));
    let terminating = add_provider(&app, "replica-t").await;
    let mut ids = Vec::new();
    for _ in 0..30 {
        ids.push(start_traceback(&app, &terminating).await);
    }
    assert!(
        eventually(Duration::from_secs(40), || async { closed(&store, &ids).await == ids.len() }).await,
        "both workers together fired every deadline"
    );
    assert_each_deadline_took_effect_once(&store, &ids).await;
    for server in [&first, &second] {
        let health = http_get(&format!("{}/readyz", server.base)).await;
        assert_eq!(health.status(), 200);
    }
}
