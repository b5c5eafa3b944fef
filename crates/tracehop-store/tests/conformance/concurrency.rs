//! Workers claiming from one queue at the same time never get the same job: on PostgreSQL
//! through `FOR UPDATE SKIP LOCKED`, on SQLite through the single writer.

use std::collections::BTreeSet;

use tracehop_store::Store;
use tracehop_store::jobs::NewJob;

use crate::jobs::{enqueue, job};
use crate::support::{at, fresh, hours, minutes, t0};

const JOBS: usize = 300;
const WORKERS: usize = 4;

/// Claims in small batches until nothing is left; completes each job it got.
async fn work(store: Store, worker: String) -> Vec<i64> {
    let now = at(t0(), hours(1));
    let mut got = Vec::new();
    loop {
        let claimed = store.claim_jobs(&worker, &["notify", "deadline"], now, hours(1), 3).await.unwrap();
        if claimed.is_empty() {
            return got;
        }
        for job in claimed {
            assert_eq!(job.attempts, 1, "{worker}: job {} was claimed before", job.id);
            assert!(store.finish_job(job.id, &worker, now).await.unwrap(), "{worker} lost job {}", job.id);
            got.push(job.id);
        }
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claimers_never_share_a_job() {
    let (db, store) = fresh().await;
    let kinds = ["notify", "deadline"];
    let jobs: Vec<NewJob> = (0..JOBS)
        .map(|i| job(kinds[i % 2], &format!("job {i}"), at(t0(), minutes(i64::try_from(i % 50).unwrap()))))
        .collect();
    for batch in jobs.chunks(50) {
        enqueue(&store, batch, t0()).await;
    }
    let all: BTreeSet<i64> =
        [store.jobs_by_kind("notify").await.unwrap(), store.jobs_by_kind("deadline").await.unwrap()]
            .concat()
            .into_iter()
            .map(|(job, _)| job.id)
            .collect();
    assert_eq!(all.len(), JOBS);

    // Two handles on the database (as two replicas), two workers on each.
    let other = db.store().await;
    let handles = [store.clone(), other.clone()];
    let tasks: Vec<_> =
        (0..WORKERS).map(|w| tokio::spawn(work(handles[w % 2].clone(), format!("worker-{w}")))).collect();
    let mut seen = BTreeSet::new();
    let mut per_worker = Vec::new();
    for task in tasks {
        let got = task.await.unwrap();
        per_worker.push(got.len());
        for id in got {
            assert!(seen.insert(id), "job {id} went to two workers");
        }
    }
    assert_eq!(seen, all, "every job was claimed");
    assert_eq!(per_worker.iter().sum::<usize>(), JOBS);
    let counts = store.job_counts(at(t0(), hours(1))).await.unwrap();
    assert_eq!((counts.pending, counts.done, counts.failed), (0, i64::try_from(JOBS).unwrap(), 0));
    for (job, state) in
        [store.jobs_by_kind("notify").await.unwrap(), store.jobs_by_kind("deadline").await.unwrap()].concat()
    {
        assert_eq!((job.attempts, state.as_str()), (1, "done"), "job {}", job.id);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_counters_hand_out_each_number_once() {
    let (db, store) = fresh().await;
    let other = db.store().await;
    let tasks: Vec<_> = (0..WORKERS)
        .map(|w| {
            let store = if w % 2 == 0 { store.clone() } else { other.clone() };
            tokio::spawn(async move {
                let mut got = Vec::new();
                for _ in 0..25 {
                    let mut tx = store.begin().await.unwrap();
                    got.push(tx.next_counter("traceback").await.unwrap());
                    tx.commit().await.unwrap();
                }
                got
            })
        })
        .collect();
    let mut numbers = Vec::new();
    for task in tasks {
        numbers.extend(task.await.unwrap());
    }
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=100).collect::<Vec<i64>>());
}
