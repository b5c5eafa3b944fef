//! The job queue: dedupe, due-only claims in run_at order, leases, completion by the lease
//! holder only, retries and failure.

use jiff::{SignedDuration, Timestamp};
use tracehop_store::Store;
use tracehop_store::jobs::{Job, JobCounts, NewJob};

use crate::support::{at, fresh, hours, minutes, secs, t0};

pub fn job(kind: &str, payload: &str, run_at: Timestamp) -> NewJob {
    NewJob { kind: kind.into(), payload: payload.into(), run_at, dedupe_key: None, max_attempts: 5, target: None }
}

pub async fn enqueue(store: &Store, jobs: &[NewJob], now: Timestamp) {
    let mut tx = store.begin().await.unwrap();
    tx.enqueue(jobs, now).await.unwrap();
    tx.commit().await.unwrap();
}

fn payloads(jobs: &[Job]) -> Vec<&str> {
    jobs.iter().map(|j| j.payload.as_str()).collect()
}

fn counts(pending: i64, due: i64, failed: i64, done: i64) -> JobCounts {
    JobCounts { pending, due, failed, done }
}

const LEASE: SignedDuration = SignedDuration::from_secs(60);

#[tokio::test]
async fn enqueueing_with_a_dedupe_key_twice_keeps_one() {
    let (_db, store) = fresh().await;
    let keyed = |payload: &str| NewJob {
        dedupe_key: Some("deadline:tb-1:0:respond_by".into()),
        ..job("deadline", payload, t0())
    };
    enqueue(&store, &[keyed("first")], t0()).await;
    enqueue(&store, &[keyed("second"), job("deadline", "unkeyed", t0())], t0()).await;
    // The same key twice within one batch, and jobs without a key never collide.
    let other = |payload: &str| NewJob { dedupe_key: Some("other".into()), ..job("deadline", payload, t0()) };
    enqueue(&store, &[other("a"), other("b"), job("deadline", "unkeyed", t0())], t0()).await;
    enqueue(&store, &[], t0()).await;

    let stored = store.jobs_by_kind("deadline").await.unwrap();
    let summary: Vec<(&str, Option<&str>, &str)> =
        stored.iter().map(|(j, state)| (j.payload.as_str(), j.dedupe_key.as_deref(), state.as_str())).collect();
    assert_eq!(
        summary,
        [
            ("first", Some("deadline:tb-1:0:respond_by"), "pending"),
            ("unkeyed", None, "pending"),
            ("a", Some("other"), "pending"),
            ("unkeyed", None, "pending"),
        ]
    );
    assert_eq!(store.job_counts(t0()).await.unwrap(), counts(4, 4, 0, 0));

    // Done jobs still hold their key: the effect happened once.
    let claimed = store.claim_jobs("w1", &["deadline"], t0(), LEASE, 1).await.unwrap();
    assert_eq!(payloads(&claimed), ["first"]);
    assert!(store.finish_job(claimed[0].id, "w1", t0()).await.unwrap());
    enqueue(&store, &[keyed("third")], t0()).await;
    assert_eq!(store.jobs_by_kind("deadline").await.unwrap().len(), 4);
}

#[tokio::test]
async fn claims_return_due_jobs_of_the_kinds_asked_in_run_at_order() {
    let (_db, store) = fresh().await;
    let now = at(t0(), hours(1));
    enqueue(
        &store,
        &[
            job("deadline", "d-later", at(now, secs(1))),
            job("deadline", "d-3", at(now, minutes(-10))),
            job("reminder", "r-2", at(now, minutes(-20))),
            job("email", "e-1", at(now, minutes(-50))),
            job("deadline", "d-now", now),
            job("reminder", "r-1", at(now, minutes(-30))),
            job("deadline", "d-1", at(now, minutes(-30))),
        ],
        t0(),
    )
    .await;
    assert_eq!(store.job_counts(now).await.unwrap(), counts(7, 6, 0, 0));
    assert_eq!(store.next_job_due().await.unwrap(), Some(at(now, minutes(-50))));

    assert!(store.claim_jobs("w", &[], now, LEASE, 10).await.unwrap().is_empty());
    let first = store.claim_jobs("w", &["deadline", "reminder"], now, LEASE, 2).await.unwrap();
    // r-1 and d-1 share a run_at: the earlier enqueued goes first.
    assert_eq!(payloads(&first), ["r-1", "d-1"]);
    let rest = store.claim_jobs("w", &["deadline", "reminder"], now, LEASE, 10).await.unwrap();
    assert_eq!(payloads(&rest), ["r-2", "d-3", "d-now"], "run_at <= now is due; later is not");
    for job in first.iter().chain(&rest) {
        assert_eq!((job.attempts, job.max_attempts), (1, 5));
    }
    assert!(store.claim_jobs("w", &["deadline", "reminder"], now, LEASE, 10).await.unwrap().is_empty());
    let email = store.claim_jobs("w", &["email"], now, LEASE, 10).await.unwrap();
    assert_eq!(payloads(&email), ["e-1"]);
    let later = store.claim_jobs("w", &["deadline"], at(now, secs(1)), LEASE, 10).await.unwrap();
    assert_eq!(payloads(&later), ["d-later"]);
    assert_eq!(later[0].run_at, at(now, secs(1)));
}

#[tokio::test]
async fn a_lease_keeps_a_job_until_it_runs_out() {
    let (_db, store) = fresh().await;
    enqueue(&store, &[job("deadline", "x", t0())], t0()).await;
    let claimed = store.claim_jobs("w1", &["deadline"], t0(), LEASE, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    for offset in [secs(0), secs(30), secs(59), LEASE] {
        let again = store.claim_jobs("w2", &["deadline"], at(t0(), offset), LEASE, 10).await.unwrap();
        assert!(again.is_empty(), "claimed again {offset} into a {LEASE} lease");
    }
    let after = at(t0(), secs(61));
    let again = store.claim_jobs("w2", &["deadline"], after, LEASE, 10).await.unwrap();
    assert_eq!(again.len(), 1, "the lease ran out");
    assert_eq!((again[0].id, again[0].attempts), (claimed[0].id, 2));
    assert!(store.claim_jobs("w1", &["deadline"], after, LEASE, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn only_the_lease_holder_completes_a_job() {
    let (_db, store) = fresh().await;
    enqueue(&store, &[job("deadline", "x", t0()), job("deadline", "y", t0())], t0()).await;
    let mine = store.claim_jobs("w1", &["deadline"], t0(), LEASE, 1).await.unwrap().remove(0);
    let late = at(t0(), minutes(5));
    let theirs = store.claim_jobs("w2", &["deadline"], late, LEASE, 10).await.unwrap();
    assert_eq!(payloads(&theirs), ["x", "y"], "w2 took over x and got y");
    assert_eq!((theirs[0].id, theirs[0].attempts), (mine.id, 2));

    // The worker that lost the lease rolls its effect back.
    let mut tx = store.begin().await.unwrap();
    assert!(!tx.complete_job(mine.id, "w1", late).await.unwrap());
    tx.rollback().await.unwrap();
    assert!(!store.finish_job(mine.id, "w1", late).await.unwrap());
    // Its release does nothing either.
    store.release_job(&mine, "w1", "lost", Some(at(late, hours(1))), late).await.unwrap();
    assert_eq!(store.job_counts(late).await.unwrap(), counts(2, 2, 0, 0));

    // A completion rolled back with its effect leaves the job with its holder.
    let mut tx = store.begin().await.unwrap();
    assert!(tx.complete_job(mine.id, "w2", late).await.unwrap());
    tx.rollback().await.unwrap();
    assert_eq!(store.job_counts(late).await.unwrap(), counts(2, 2, 0, 0));

    let mut tx = store.begin().await.unwrap();
    assert!(tx.complete_job(mine.id, "w2", late).await.unwrap());
    tx.commit().await.unwrap();
    assert!(store.finish_job(theirs[1].id, "w2", late).await.unwrap());
    assert!(!store.finish_job(mine.id, "w2", late).await.unwrap(), "done once");
    assert_eq!(store.job_counts(late).await.unwrap(), counts(0, 0, 0, 2));
    let states: Vec<String> = store.jobs_by_kind("deadline").await.unwrap().into_iter().map(|(_, s)| s).collect();
    assert_eq!(states, ["done", "done"]);
    assert!(store.claim_jobs("w3", &["deadline"], at(late, hours(2)), LEASE, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn released_jobs_retry_at_retry_at_and_fail_when_attempts_are_spent() {
    let (_db, store) = fresh().await;
    enqueue(&store, &[NewJob { max_attempts: 3, ..job("webhook", "w", t0()) }], t0()).await;
    let mut now = t0();
    for attempt in 1..=3 {
        let claimed = store.claim_jobs("w1", &["webhook"], now, LEASE, 10).await.unwrap();
        assert_eq!(payloads(&claimed), ["w"], "attempt {attempt}");
        assert_eq!(claimed[0].attempts, attempt);
        let retry_at = at(now, minutes(10));
        store.release_job(&claimed[0], "w1", "503 from the receiver", Some(retry_at), now).await.unwrap();
        if attempt < 3 {
            // Pending again, due at retry_at and not before.
            assert_eq!(store.job_counts(at(retry_at, secs(-1))).await.unwrap(), counts(1, 0, 0, 0));
            assert_eq!(store.job_counts(retry_at).await.unwrap(), counts(1, 1, 0, 0));
            let early = store.claim_jobs("w1", &["webhook"], at(retry_at, secs(-1)), LEASE, 10).await.unwrap();
            assert!(early.is_empty(), "attempt {attempt}: claimed before retry_at");
            assert_eq!(store.next_job_due().await.unwrap(), Some(retry_at));
            now = retry_at;
        }
    }
    // Attempts spent: failed, whatever retry_at said.
    let (failed, state) = store.jobs_by_kind("webhook").await.unwrap().remove(0);
    assert_eq!((failed.attempts, state.as_str()), (3, "failed"));
    assert_eq!(store.job_counts(now).await.unwrap(), counts(0, 0, 1, 0));
    assert_eq!(store.next_job_due().await.unwrap(), None);
    assert!(store.claim_jobs("w1", &["webhook"], at(now, hours(1)), LEASE, 10).await.unwrap().is_empty());

    // A job released without a retry time fails at once, attempts left or not.
    let later = at(t0(), hours(2));
    enqueue(&store, &[job("webhook", "doomed", later)], later).await;
    let doomed = store.claim_jobs("w1", &["webhook"], later, LEASE, 10).await.unwrap();
    assert_eq!((payloads(&doomed), doomed[0].attempts), (vec!["doomed"], 1));
    store.release_job(&doomed[0], "w1", "400: never going to work", None, later).await.unwrap();
    assert_eq!(store.job_counts(later).await.unwrap(), counts(0, 0, 2, 0));
    assert!(store.claim_jobs("w1", &["webhook"], at(later, hours(1)), LEASE, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn next_job_due_is_the_earliest_pending_run_at() {
    let (_db, store) = fresh().await;
    assert_eq!(store.next_job_due().await.unwrap(), None);
    assert_eq!(store.job_counts(t0()).await.unwrap(), counts(0, 0, 0, 0));
    enqueue(&store, &[job("deadline", "b", at(t0(), hours(3))), job("deadline", "a", at(t0(), hours(2)))], t0()).await;
    assert_eq!(store.next_job_due().await.unwrap(), Some(at(t0(), hours(2))));
    enqueue(&store, &[job("reminder", "c", at(t0(), minutes(90)))], t0()).await;
    assert_eq!(store.next_job_due().await.unwrap(), Some(at(t0(), minutes(90))));
    assert_eq!(store.job_counts(at(t0(), hours(2))).await.unwrap(), counts(3, 2, 0, 0));

    let now = at(t0(), hours(2));
    for job in store.claim_jobs("w", &["reminder", "deadline"], now, LEASE, 10).await.unwrap() {
        assert!(store.finish_job(job.id, "w", now).await.unwrap());
    }
    assert_eq!(store.next_job_due().await.unwrap(), Some(at(t0(), hours(3))), "done jobs are not due");
    assert_eq!(store.job_counts(now).await.unwrap(), counts(1, 0, 0, 2));
}
