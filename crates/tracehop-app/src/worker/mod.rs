//! The worker: claims due jobs and runs them, in two queues that never wait for each other.
//!
//! - **Timers** (deadlines, reminders) become commands whose transaction also completes the job,
//!   so each takes effect once however many replicas run and whatever crashes in between. They
//!   are claimed in their own loop, so a slow email relay or a hanging webhook endpoint never
//!   delays a deadline.
//! - **Deliveries** (emails, webhooks) run concurrently (`delivery_concurrency`), at most
//!   `per_target_concurrency` at once per target, with short connect and delivery timeouts; a
//!   target that keeps failing is backed off by a circuit breaker, the others go on.
//!
//! Every claim gets its own lease holder name, so completions are fenced by the claim: a worker
//! whose lease ran out (and whose job another took, even itself later) cannot complete it. A
//! worker renews the leases of work in progress (a heartbeat); a completion refused for a lost
//! lease is logged and counted. A job is never claimed beyond its attempts. A crashed worker's
//! jobs come back when its lease runs out.

mod deliver;
mod guard;
mod stats;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracehop_core::traceback::command::Action;
use tracehop_core::traceback::{Actor, Change};
use tracehop_store::jobs::Job;

pub use stats::{StatsSnapshot, WorkerStats};

use crate::notify::{EMAIL, WEBHOOK};
use crate::traceback::timers::{DEADLINE, REMINDER, TimerJob};
use crate::traceback::{JobLease, Request};
use crate::{App, AppError, ManualClock};

/// The kinds of job this worker runs.
pub const KINDS: &[&str] = &[DEADLINE, REMINDER, EMAIL, WEBHOOK];
/// The timer queue.
pub const TIMER_KINDS: &[&str] = &[DEADLINE, REMINDER];
/// The delivery queue.
pub const DELIVERY_KINDS: &[&str] = &[EMAIL, WEBHOOK];

/// An `Idempotency-Key` replays its first response for a day, then is forgotten.
pub const IDEMPOTENCY_KEYS_KEPT: SignedDuration = SignedDuration::from_hours(24);

/// How often a running worker does its housekeeping.
const HOUSEKEEPING_EVERY: SignedDuration = SignedDuration::from_hours(1);

/// A worker. Cheap to clone: clones share their name, claims and target guard.
#[derive(Clone)]
pub struct Worker {
    app: App,
    name: Arc<str>,
    claims: Arc<AtomicU64>,
    guard: Arc<guard::Guard>,
}

/// What became of one job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobResult {
    Done,
    /// Another worker holds it now.
    Lost,
    Retry,
    Failed,
}

impl Worker {
    pub fn new(app: App, name: impl Into<String>) -> Self {
        let name: String = name.into();
        Self { app, name: name.into(), claims: Arc::new(AtomicU64::new(0)), guard: Arc::default() }
    }

    /// The lease holder of one claim: the worker's name and the claim's number.
    fn next_holder(&self) -> String {
        format!("{}/{}", self.name, self.claims.fetch_add(1, Ordering::Relaxed))
    }

    /// Claims the jobs due now and runs them, timers first, then deliveries (waiting for them);
    /// returns how many it claimed.
    pub async fn run_due(&self) -> Result<usize, AppError> {
        let timers = self.run_timers().await?;
        let mut running = JoinSet::new();
        let deliveries = self.start_deliveries(&mut running).await?;
        while running.join_next().await.is_some() {}
        Ok(timers + deliveries)
    }

    /// Runs jobs until none is due at the clock's current time (tests and scenarios).
    pub async fn run_until_idle(&self) -> Result<usize, AppError> {
        let mut total = 0;
        loop {
            let ran = self.run_due().await?;
            if ran == 0 {
                return Ok(total);
            }
            total += ran;
        }
    }

    /// Moves a manual clock to `until`, running each job when the clock reaches its due time, in
    /// order, as real time would (scenarios and the demo's history).
    pub async fn run_through(&self, clock: &ManualClock, until: Timestamp) -> Result<usize, AppError> {
        let mut total = 0;
        while let Some(due) = self.app.store().next_job_due().await? {
            let now = self.app.now();
            if due > until {
                break;
            }
            clock.set(due.max(now));
            let ran = self.run_until_idle().await?;
            total += ran;
            if ran == 0 && due <= now {
                break; // what is left before `until` is not this worker's to run
            }
        }
        clock.set(until.max(self.app.now()));
        Ok(total + self.run_until_idle().await?)
    }

    /// Forgets what is kept only for a while: idempotency keys older than a day. Safe to repeat,
    /// and harmless when several replicas do it at once.
    pub async fn housekeeping(&self) -> Result<u64, AppError> {
        let removed = self.app.store().prune_idempotency_keys(self.app.now() - IDEMPOTENCY_KEYS_KEPT).await?;
        if removed > 0 {
            tracing::info!(removed, "forgot idempotency keys older than a day");
        }
        Ok(removed)
    }

    /// Runs jobs as they fall due until `shutdown` turns true: the timer loop and the delivery
    /// loop side by side, with housekeeping every hour.
    pub async fn run(&self, shutdown: watch::Receiver<bool>) {
        let timers = self.clone();
        let timer_shutdown = shutdown.clone();
        let timer_loop = tokio::spawn(async move { timers.timer_loop(timer_shutdown).await });
        self.delivery_loop(shutdown).await;
        if let Err(error) = timer_loop.await {
            tracing::warn!(%error, "the timer loop ended abnormally");
        }
    }

    async fn timer_loop(&self, mut shutdown: watch::Receiver<bool>) {
        let settings = self.app.settings().worker;
        let poll = duration(settings.poll_interval);
        let mut next_housekeeping = self.app.now();
        let mut next_sweep = self.app.now();
        loop {
            let now = self.app.now();
            if now >= next_housekeeping {
                if let Err(error) = self.housekeeping().await {
                    tracing::warn!(%error, "worker housekeeping failed");
                }
                next_housekeeping = now + HOUSEKEEPING_EVERY;
            }
            if now >= next_sweep {
                match self.app.store().fail_exhausted_jobs(now).await {
                    Ok(0) => {}
                    Ok(failed) => tracing::warn!(failed, "jobs failed: their last attempt lost its lease"),
                    Err(error) => tracing::warn!(%error, "could not sweep exhausted jobs"),
                }
                next_sweep = now + settings.lease;
            }
            let ran = match self.run_timers().await {
                Ok(ran) => ran,
                Err(error) => {
                    tracing::warn!(%error, "worker could not run timers");
                    0
                }
            };
            if ran > 0 {
                continue;
            }
            tokio::select! {
                () = tokio::time::sleep(poll) => {}
                _ = shutdown.changed() => {}
            }
            if *shutdown.borrow() {
                return;
            }
        }
    }

    async fn delivery_loop(&self, mut shutdown: watch::Receiver<bool>) {
        let poll = duration(self.app.settings().worker.poll_interval);
        let mut running = JoinSet::new();
        loop {
            while running.try_join_next().is_some() {}
            let started = match self.start_deliveries(&mut running).await {
                Ok(started) => started,
                Err(error) => {
                    tracing::warn!(%error, "worker could not claim deliveries");
                    0
                }
            };
            if started > 0 {
                continue;
            }
            tokio::select! {
                Some(_) = running.join_next(), if !running.is_empty() => {}
                () = tokio::time::sleep(poll) => {}
                _ = shutdown.changed() => {}
            }
            if *shutdown.borrow() {
                // Deliveries in flight end within their timeout; let them settle.
                while running.join_next().await.is_some() {}
                return;
            }
        }
    }

    /// Claims as many due deliveries as there are free slots, skipping targets at their cap or
    /// backed off, and starts them; returns how many it started.
    async fn start_deliveries(&self, running: &mut JoinSet<()>) -> Result<usize, AppError> {
        let settings = self.app.settings().worker;
        let free = settings.delivery_concurrency.max(1) - i64::try_from(running.len()).unwrap_or(i64::MAX);
        let now = self.app.now();
        if free <= 0 || !self.app.store().any_job_due(now).await? {
            return Ok(0);
        }
        let cap = settings.per_target_concurrency.max(1);
        let blocked = self.guard.blocked(cap, now);
        let holder = self.next_holder();
        let jobs =
            self.app.store().claim_jobs_except(&holder, DELIVERY_KINDS, &blocked, now, settings.lease, free).await?;
        let mut started = 0;
        for job in jobs {
            if !self.guard.try_start(&deliver::target_of(&job), cap) {
                // Its target filled up within this claim: back to the queue, no attempt spent.
                self.app.store().unclaim_job(job.id, &holder).await?;
                continue;
            }
            let worker = self.clone();
            let holder = holder.clone();
            running.spawn(async move { worker.deliver(job, holder).await });
            started += 1;
        }
        Ok(started)
    }

    /// Claims due timers and runs them one after another under a heartbeat; returns how many.
    async fn run_timers(&self) -> Result<usize, AppError> {
        let settings = self.app.settings().worker;
        let now = self.app.now();
        if !self.app.store().any_job_due(now).await? {
            return Ok(0);
        }
        let holder = self.next_holder();
        let jobs = self.app.store().claim_jobs(&holder, TIMER_KINDS, now, settings.lease, settings.batch).await?;
        if jobs.is_empty() {
            return Ok(0);
        }
        let heartbeat = self.heartbeat(jobs.iter().map(|j| j.id).collect(), holder.clone());
        for job in &jobs {
            let started = self.app.now();
            let lateness = started.duration_since(job.run_at);
            self.app.worker_stats().timer_ran(&job.kind, i64::try_from(lateness.as_millis()).unwrap_or(i64::MAX));
            let late = lateness > settings.late_after;
            let result = self.run_timer(job, &holder, late).await;
            let outcome = self.settle_timer(job, &holder, result).await;
            tracing::debug!(job = job.id, kind = %job.kind, ?outcome, "timer ran");
        }
        heartbeat.abort();
        Ok(jobs.len())
    }

    /// Renews the leases of `ids` every third of the lease until aborted.
    fn heartbeat(&self, ids: Vec<i64>, holder: String) -> tokio::task::JoinHandle<()> {
        let app = self.app.clone();
        tokio::spawn(async move {
            let lease = app.settings().worker.lease;
            let mut ticks = tokio::time::interval((duration(lease) / 3).max(Duration::from_millis(50)));
            ticks.tick().await;
            loop {
                ticks.tick().await;
                let until = app.now().checked_add(lease).unwrap_or_else(|_| app.now());
                match app.store().extend_leases(&ids, &holder, until).await {
                    Ok(held) if held.len() < ids.len() => {
                        tracing::warn!(lost = ids.len() - held.len(), "timer leases lost mid-batch");
                    }
                    Ok(_) => {}
                    Err(error) => tracing::warn!(%error, "could not renew timer leases"),
                }
            }
        })
    }

    async fn run_timer(&self, job: &Job, holder: &str, late: bool) -> Result<(), AppError> {
        let timer: TimerJob =
            serde_json::from_str(&job.payload).map_err(|e| AppError::invalid("job.payload", e.to_string()))?;
        let stats = self.app.worker_stats();
        if job.kind == REMINDER {
            // A reminder belongs to the deadline's value when it was set. After an extension or a
            // new request the deadline moved and a newer timer reminds at the right time; this one
            // would remind early and take the newer one's place.
            let (_, traceback) = self.app.traceback(timer.traceback).await?;
            let due = traceback.hop(timer.hop).and_then(|h| h.request).map(|r| r.due(timer.deadline));
            if due != Some(timer.due) {
                if !self.app.store().finish_job(job.id, holder, self.app.now()).await? {
                    return Err(AppError::Busy(format!("job {} was taken over by another worker", job.id)));
                }
                stats.skipped(REMINDER, "deadline_moved");
                return Ok(());
            }
        }
        let action = if job.kind == DEADLINE {
            Action::DeadlineElapsed { hop: timer.hop, deadline: timer.deadline }
        } else {
            Action::RecordReminder { hop: timer.hop, deadline: timer.deadline, due: Some(timer.due) }
        };
        let lease = JobLease { id: job.id, worker: holder };
        let executed =
            self.app.execute_leased(timer.traceback, &Actor::System, &Request::Core(action), Some(lease)).await?;
        if job.kind == REMINDER {
            let sent = executed.events.iter().any(|e| matches!(e.change, Change::ReminderSent { .. }));
            if sent && late {
                stats.late(REMINDER);
                tracing::info!(job = job.id, "a reminder went out late (it says so)");
            } else if !sent && self.app.now() >= timer.due {
                // Too late to remind: the deadline's own notice (the hop expired) tells the
                // provider instead.
                stats.skipped(REMINDER, "past_deadline");
                tracing::warn!(job = job.id, "a reminder ran after its deadline: folded into the deadline notice");
            } else if !sent {
                stats.skipped(REMINDER, "not_needed");
            }
        } else if late {
            stats.late(DEADLINE);
        }
        Ok(())
    }

    /// A timer completed itself with its command; a failed one is retried or dropped, and one
    /// whose lease was lost is left to its new holder, counted.
    async fn settle_timer(&self, job: &Job, holder: &str, result: Result<(), AppError>) -> JobResult {
        let now = self.app.now();
        let store = self.app.store();
        let (retry_at, error) = match result {
            Ok(()) => return JobResult::Done,
            Err(AppError::Busy(message)) => {
                let until = now.checked_add(self.app.settings().worker.lease).unwrap_or(now);
                let still_mine = store.extend_leases(&[job.id], holder, until).await.is_ok_and(|h| !h.is_empty());
                if !still_mine {
                    self.app.worker_stats().lost_lease(&job.kind);
                    tracing::warn!(job = job.id, kind = %job.kind, "timer completion refused: another worker holds it now");
                    return JobResult::Lost;
                }
                (Some(now + backoff(job.attempts, SignedDuration::from_secs(1))), AppError::Busy(message))
            }
            // It can never succeed: record why and stop trying.
            Err(error @ (AppError::Rejected(_) | AppError::NotFound(_) | AppError::Invalid { .. })) => (None, error),
            Err(error) => (Some(now + backoff(job.attempts, SignedDuration::from_secs(1))), error),
        };
        tracing::warn!(job = job.id, %error, retry = retry_at.is_some(), "timer failed");
        match store.release_job(job, holder, &error.to_string(), retry_at, now).await {
            Ok(true) if retry_at.is_some() && job.attempts < job.max_attempts => JobResult::Retry,
            Ok(true) => JobResult::Failed,
            Ok(false) | Err(_) => {
                self.app.worker_stats().lost_lease(&job.kind);
                tracing::warn!(job = job.id, "timer release refused: another worker holds it now");
                JobResult::Lost
            }
        }
    }
}

/// `base × 2^(attempt − 1)`, at most an hour.
fn backoff(attempt: i64, base: SignedDuration) -> SignedDuration {
    let exponent = u32::try_from(attempt.clamp(1, 20) - 1).unwrap_or(0);
    let factor = i32::try_from(2_i64.pow(exponent).min(1 << 12)).unwrap_or(i32::MAX);
    base.checked_mul(factor).unwrap_or(SignedDuration::from_hours(1)).min(SignedDuration::from_hours(1))
}

fn duration(span: SignedDuration) -> Duration {
    span.try_into().unwrap_or(Duration::from_millis(500))
}
