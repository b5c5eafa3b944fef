//! Job queues under faults: completions fenced by the claim, heartbeats, attempts that are never
//! exceeded, targets skipped, due jobs by kind; and idempotency keys that commit with the
//! request's effect.

use std::sync::Arc;

use jiff::SignedDuration;
use tracehop_store::StoreError;
use tracehop_store::idempotency::{KeptResponse, KeyScope, within};
use tracehop_store::jobs::NewJob;

use crate::jobs::{enqueue, job};
use crate::support::{at, fresh, secs, t0};

const LEASE: SignedDuration = SignedDuration::from_secs(10);

#[tokio::test]
async fn a_completion_is_fenced_by_its_claim_not_by_the_worker_name() {
    let (_db, store) = fresh().await;
    enqueue(&store, &[job("deadline", "d", t0())], t0()).await;
    let first = store.claim_jobs("w/1", &["deadline"], t0(), LEASE, 1).await.unwrap().remove(0);
    // The lease runs out; the same process claims it again under a new claim.
    let later = at(t0(), secs(11));
    let second = store.claim_jobs("w/2", &["deadline"], later, LEASE, 1).await.unwrap().remove(0);
    assert_eq!((first.id, second.attempts), (second.id, 2));
    assert!(!store.finish_job(first.id, "w/1", later).await.unwrap(), "the stale claim cannot complete it");
    assert!(!store.release_job(&first, "w/1", "late", None, later).await.unwrap(), "nor give it up");
    assert!(store.finish_job(second.id, "w/2", later).await.unwrap());
}

#[tokio::test]
async fn a_heartbeat_keeps_a_lease_and_says_which_are_lost() {
    let (_db, store) = fresh().await;
    enqueue(&store, &[job("webhook", "a", t0()), job("webhook", "b", t0())], t0()).await;
    let claimed = store.claim_jobs("w/1", &["webhook"], t0(), LEASE, 2).await.unwrap();
    let ids: Vec<i64> = claimed.iter().map(|j| j.id).collect();
    // Renewed before it ran out: nobody else can take them.
    let renewed = store.extend_leases(&ids, "w/1", at(t0(), secs(25))).await.unwrap();
    assert_eq!(renewed.len(), 2);
    assert!(store.claim_jobs("w/2", &["webhook"], at(t0(), secs(15)), LEASE, 10).await.unwrap().is_empty());
    // Past the renewed lease another worker takes one; the heartbeat then reports it lost.
    let taken = store.claim_jobs("w/2", &["webhook"], at(t0(), secs(26)), LEASE, 1).await.unwrap();
    let held = store.extend_leases(&ids, "w/1", at(t0(), secs(40))).await.unwrap();
    assert_eq!(held.len(), 1);
    assert!(!held.contains(&taken[0].id));
    assert!(store.extend_leases(&[], "w/1", t0()).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_job_is_never_claimed_beyond_its_attempts_and_then_fails() {
    let (_db, store) = fresh().await;
    enqueue(&store, &[NewJob { max_attempts: 2, ..job("email", "e", t0()) }], t0()).await;
    let mut now = t0();
    for attempt in 1..=2 {
        let claimed = store.claim_jobs(&format!("w/{attempt}"), &["email"], now, LEASE, 1).await.unwrap();
        assert_eq!(claimed[0].attempts, attempt);
        now = at(now, secs(11)); // each claimer dies holding it
    }
    assert!(store.claim_jobs("w/3", &["email"], now, LEASE, 1).await.unwrap().is_empty(), "attempts spent");
    assert_eq!(store.fail_exhausted_jobs(now).await.unwrap(), 1);
    let (_, state) = store.jobs_by_kind("email").await.unwrap().remove(0);
    assert_eq!(state, "failed");
    assert_eq!(store.fail_exhausted_jobs(now).await.unwrap(), 0);
}

#[tokio::test]
async fn claims_skip_held_back_targets_and_an_unclaimed_job_keeps_its_attempts() {
    let (_db, store) = fresh().await;
    let to = |payload: &str, target: &str| NewJob { target: Some(target.into()), ..job("webhook", payload, t0()) };
    enqueue(&store, &[to("slow-1", "webhook:slow"), to("fast-1", "webhook:fast"), to("slow-2", "webhook:slow")], t0())
        .await;
    let skip = vec!["webhook:slow".to_owned()];
    let claimed = store.claim_jobs_except("w/1", &["webhook"], &skip, t0(), LEASE, 10).await.unwrap();
    assert_eq!(claimed.iter().map(|j| j.payload.as_str()).collect::<Vec<_>>(), ["fast-1"]);
    let slow = store.claim_jobs("w/2", &["webhook"], t0(), LEASE, 1).await.unwrap().remove(0);
    assert_eq!(slow.target.as_deref(), Some("webhook:slow"));
    assert!(store.unclaim_job(slow.id, "w/2").await.unwrap());
    assert!(!store.unclaim_job(slow.id, "w/2").await.unwrap(), "no longer held");
    let again = store.claim_jobs("w/3", &["webhook"], t0(), LEASE, 1).await.unwrap().remove(0);
    assert_eq!((again.id, again.attempts), (slow.id, 1), "giving it back spent no attempt");

    let due = store.due_by_kind(at(t0(), secs(5))).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!((due[0].kind.as_str(), due[0].due, due[0].oldest_due), ("webhook", 3, Some(t0())));
}

#[tokio::test]
async fn an_idempotency_key_commits_with_the_effect_or_not_at_all() {
    let (_db, store) = fresh().await;
    let scope = |request: &str| Arc::new(KeyScope::new("token-1", "key-1", "hash-1", request, t0()));

    // Rolled back: the key stays free.
    let first = scope("request-1");
    within(first.clone(), async {
        let mut tx = store.begin().await.unwrap();
        tx.enqueue(&[job("email", "rolled back", t0())], t0()).await.unwrap();
        tx.rollback().await.unwrap();
    })
    .await;
    assert!(!first.committed());
    assert_eq!(store.idempotency_key("token-1", "key-1").await.unwrap(), None);

    // Committed: the key is there, with no response yet; a second commit of the same request
    // updates it.
    let second = scope("request-2");
    within(second.clone(), async {
        for payload in ["one", "two"] {
            let mut tx = store.begin().await.unwrap();
            tx.enqueue(&[job("email", payload, t0())], t0()).await.unwrap();
            tx.commit().await.unwrap();
        }
    })
    .await;
    assert!(second.committed());
    let record = store.idempotency_key("token-1", "key-1").await.unwrap().unwrap();
    assert_eq!((record.request_hash.as_str(), record.response), ("hash-1", None));

    // Another request with the key cannot commit its effect: the effect is rolled back with it.
    let third = scope("request-3");
    let refused = within(third.clone(), async {
        let mut tx = store.begin().await.unwrap();
        tx.enqueue(&[job("email", "duplicate", t0())], t0()).await.unwrap();
        tx.commit().await
    })
    .await;
    assert!(matches!(refused, Err(StoreError::KeyTaken(_))), "{refused:?}");
    let emails: Vec<String> = store.jobs_by_kind("email").await.unwrap().into_iter().map(|(j, _)| j.payload).collect();
    assert_eq!(emails, ["one", "two"]);

    // The response is kept once, by the request that committed.
    let kept = KeptResponse { status: 201, content_type: "application/json", location: None, body: "{}" };
    assert!(!store.keep_idempotent_response("token-1", "key-1", "request-3", &kept, t0()).await.unwrap());
    assert!(store.keep_idempotent_response("token-1", "key-1", "request-2", &kept, t0()).await.unwrap());
    let record = store.idempotency_key("token-1", "key-1").await.unwrap().unwrap();
    assert_eq!(record.response.map(|r| (r.status, r.body)), Some((201, "{}".to_owned())));
}
