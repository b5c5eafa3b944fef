//! Under faults: a hanging webhook endpoint does not hold back other providers' deadlines or
//! reminders; two replicas with a short lease and slow endpoints send each notice once and fire
//! each deadline once; a request killed between its commit and its response is answered on retry
//! with the same key, without running twice. Figures are printed for the operator's notes.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::SignedDuration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tracehop_app::notify::WEBHOOK;
use tracehop_app::{App, Principal, Settings, SystemClock};
use tracehop_core::provider::ProviderId;
use tracehop_core::traceback::{HopId, Status, TracebackId};
use tracehop_store::Store;
use tracehop_store::testing::TestDatabase;

use crate::support::{Server, add_provider, count_events, eventually, http_get, start_traceback, state_of};

/// One delivery as a receiver saw it: its delivery id and event type.
type Seen = Arc<Mutex<Vec<(String, String)>>>;

/// A webhook endpoint on loopback: answers 200 after `delay`, or never (`None`: it hangs).
async fn endpoint(delay: Option<Duration>) -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let seen: Seen = Arc::default();
    let record = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            let record = record.clone();
            tokio::spawn(async move {
                let mut buffer = Vec::new();
                let mut chunk = [0_u8; 8192];
                let (head, body_start) = loop {
                    let Ok(read) = socket.read(&mut chunk).await else { return };
                    if read == 0 {
                        return;
                    }
                    buffer.extend_from_slice(&chunk[..read]);
                    if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                        break (String::from_utf8_lossy(&buffer[..end]).to_lowercase(), end + 4);
                    }
                };
                let header = |name: &str| {
                    head.lines().find_map(|l| l.strip_prefix(&format!("{name}:")).map(|v| v.trim().to_owned()))
                };
                let length: usize = header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
                while buffer.len() < body_start + length {
                    let Ok(read) = socket.read(&mut chunk).await else { return };
                    if read == 0 {
                        break;
                    }
                    buffer.extend_from_slice(&chunk[..read]);
                }
                let Some(delay) = delay else {
                    // Hang: hold the connection open and never answer.
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    return;
                };
                tokio::time::sleep(delay).await;
                record.lock().unwrap().push((
                    header("tracehop-delivery").unwrap_or_default(),
                    header("tracehop-event").unwrap_or_default(),
                ));
                let _ = socket.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").await;
            });
        }
    });
    (url, seen)
}

/// The in-process application that sets things up: deadlines `respond_within` after the
/// request, reminders `remind_before` the deadline, webhooks to loopback allowed.
fn setup_app(store: &Store, respond_within: SignedDuration, remind_before: SignedDuration) -> App {
    let mut settings = Settings::default();
    settings.traceback.deadlines.respond_within = respond_within;
    settings.reminders.before_respond_by = remind_before;
    settings.webhooks.allow_private_targets = true;
    App::new(store.clone(), Arc::new(SystemClock), settings)
}

async fn provider_with_webhook(app: &App, id: &str, url: &str) -> ProviderId {
    let provider = add_provider(app, id).await;
    let principal = Principal::Provider { provider: provider.clone(), user: "cli-test".to_owned(), minted_by: None };
    let types = ["hop.requested", "hop.reminder", "hop.expired", "traceback.closed"].map(str::to_owned).to_vec();
    app.create_webhook(&principal, url, types).await.unwrap();
    provider
}

/// How late each traceback's respond-by fired (its `hop_expired` event after the deadline), in
/// milliseconds; None while it has not fired.
async fn lateness_ms(store: &Store, id: TracebackId) -> Option<i64> {
    let state = state_of(store, id).await;
    let due = state.hop(HopId(0))?.request?.respond_by;
    let events = store.load_events(&id.to_string()).await.unwrap();
    let fired = events.iter().find(|e| e.event.change.name() == "hop_expired")?;
    Some(i64::try_from(fired.event.at.duration_since(due).as_millis()).unwrap_or(i64::MAX))
}

fn serve_env<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut env = vec![
        ("TRACEHOP_POLICY__WORKER__POLL_INTERVAL", "PT0.05S"),
        ("TRACEHOP_POLICY__WEBHOOKS__ALLOW_PRIVATE_TARGETS", "true"),
    ];
    env.extend_from_slice(extra);
    env
}

#[tokio::test]
async fn a_hanging_endpoint_holds_back_no_other_providers_deadline_or_reminder() {
    let db = TestDatabase::new().await;
    let store = db.store().await;
    let url = db.url_string();
    // Two replicas with the default lease, batch and timeouts: the outage as production saw it.
    let first = Server::start(&["serve", "--database-url", &url, "--bind", "127.0.0.1:0"], &serve_env(&[]));
    let second = Server::start(&["serve", "--database-url", &url, "--bind", "127.0.0.1:0"], &serve_env(&[]));
    let metrics_bases = [first.printed_origin("metrics"), second.printed_origin("metrics")];

    let app = setup_app(&store, SignedDuration::from_secs(8), SignedDuration::from_secs(4));
    let (hanging_url, _) = endpoint(None).await;
    let (healthy_url, healthy) = endpoint(Some(Duration::from_millis(20))).await;
    let stuck = provider_with_webhook(&app, "hanging-t", &hanging_url).await;
    let mut stuck_tracebacks = Vec::new();
    for _ in 0..20 {
        stuck_tracebacks.push(start_traceback(&app, &stuck).await);
    }
    let mut others = Vec::new();
    for n in 0..10 {
        let provider = provider_with_webhook(&app, &format!("healthy-{n}"), &healthy_url).await;
        others.push(start_traceback(&app, &provider).await);
    }
    let all_fired = eventually(Duration::from_secs(60), || async {
        let mut fired = 0;
        for id in &others {
            fired += usize::from(lateness_ms(&store, *id).await.is_some());
        }
        fired == others.len()
    })
    .await;
    assert!(all_fired, "every other provider's deadline fired");
    let mut worst = 0;
    for id in &others {
        let late = lateness_ms(&store, *id).await.unwrap();
        worst = worst.max(late);
        assert_eq!(count_events(&store, *id, "reminder_sent").await, 1, "traceback {id} was reminded");
        assert_eq!(state_of(&store, *id).await.status(), Status::Closed);
    }
    println!(
        "FIGURE hanging endpoint, two replicas ({}): worst lateness of other providers' deadlines {worst} ms",
        store_engine(&url)
    );
    // Each healthy provider got its request, its reminder and its expiry (the webhook of one
    // endpoint shared by all ten), however long the hanging one held its own.
    assert!(
        eventually(Duration::from_secs(30), || async {
            let seen = healthy.lock().unwrap().clone();
            ["hop.requested", "hop.reminder", "hop.expired"]
                .iter()
                .all(|kind| seen.iter().filter(|(_, event)| event == kind).count() >= others.len())
        })
        .await,
        "the healthy endpoint received every notice: {:?}",
        healthy.lock().unwrap().iter().map(|(_, e)| e.clone()).collect::<Vec<_>>()
    );
    let bound = 15_000;
    assert!(worst < bound, "deadlines fired within seconds of due, not behind the hanging endpoint: {worst} ms");
    // The hanging endpoint was tried (and timed out) meanwhile: its failures are in /metrics.
    let failures_seen = eventually(Duration::from_secs(30), || async {
        let mut failed = false;
        for base in &metrics_bases {
            let scraped = http_get(&format!("{base}/metrics")).await.text().await.unwrap();
            failed |= scraped.lines().any(|l| l.starts_with("tracehop_delivery_failures_total{target=\"webhook:"));
        }
        failed
    })
    .await;
    assert!(failures_seen, "the hanging endpoint's timeouts were counted");
    for id in &stuck_tracebacks {
        assert_eq!(count_events(&store, *id, "hop_expired").await, 1, "the stuck provider's deadlines fire too");
    }
}

#[tokio::test]
async fn two_replicas_with_a_short_lease_and_slow_endpoints_send_each_notice_once() {
    let db = TestDatabase::new().await;
    let store = db.store().await;
    let url = db.url_string();
    let env = serve_env(&[("TRACEHOP_POLICY__WORKER__LEASE", "PT1S")]);
    let _first = Server::start(&["serve", "--database-url", &url, "--bind", "127.0.0.1:0"], &env);
    let _second = Server::start(&["serve", "--database-url", &url, "--bind", "127.0.0.1:0"], &env);

    let app = setup_app(&store, SignedDuration::from_secs(6), SignedDuration::from_secs(3));
    // Slower than the lease: only the heartbeat keeps a delivery with its worker.
    let (slow_url, slow) = endpoint(Some(Duration::from_millis(1500))).await;
    let mut ids = Vec::new();
    for n in 0..4 {
        let provider = provider_with_webhook(&app, &format!("slow-{n}"), &slow_url).await;
        for _ in 0..3 {
            ids.push(start_traceback(&app, &provider).await);
        }
    }
    let expected = ids.len() * 4; // requested, reminder, expired, closed
    let all = eventually(Duration::from_secs(90), || async { slow.lock().unwrap().len() >= expected }).await;
    // Let any duplicate still in flight arrive before counting.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let seen = slow.lock().unwrap().clone();
    let mut per_delivery: BTreeMap<String, usize> = BTreeMap::new();
    for (delivery, _) in &seen {
        *per_delivery.entry(delivery.clone()).or_default() += 1;
    }
    let duplicates: usize = per_delivery.values().map(|n| n - 1).sum();
    println!(
        "FIGURE two replicas, PT1S lease, 1.5 s endpoint ({}): {} deliveries, {} distinct, {duplicates} duplicates",
        store_engine(&url),
        seen.len(),
        per_delivery.len()
    );
    assert!(all, "every notice arrived: {} of {expected}", seen.len());
    assert_eq!(duplicates, 0, "no notice was sent twice");
    for id in &ids {
        assert_eq!(count_events(&store, *id, "hop_expired").await, 1, "traceback {id}");
        assert_eq!(count_events(&store, *id, "closed").await, 1, "traceback {id}");
        assert_eq!(count_events(&store, *id, "reminder_sent").await, 1, "traceback {id}");
    }
    let webhooks = store.jobs_by_kind(WEBHOOK).await.unwrap();
    assert!(webhooks.iter().all(|(_, state)| state == "done"), "every delivery job completed once");
    assert_eq!(store.verify_chains().await.unwrap().broken, None);
}

fn store_engine(url: &str) -> &'static str {
    if url.starts_with("postgres") { "PostgreSQL" } else { "SQLite" }
}
