//! The worker: claims due jobs and runs them. Deadline timers and reminders become commands whose
//! transaction also completes the job, so each takes effect once however many replicas run and
//! whatever crashes in between. Emails and webhooks go out at least once: a batch's deliveries
//! are logged and their jobs completed together after sending. A crashed worker's jobs come back
//! when its lease runs out.

use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use tokio::sync::watch;
use tracehop_core::traceback::Actor;
use tracehop_core::traceback::command::Action;
use tracehop_store::jobs::Job;
use tracehop_store::webhooks::DeliveryRecord;

use crate::notify::{EMAIL, EmailJob, WEBHOOK, WebhookJob, signature_header};
use crate::traceback::timers::{DEADLINE, REMINDER, TimerJob};
use crate::traceback::{JobLease, Request};
use crate::{App, AppError, ManualClock};

/// The kinds of job this worker runs.
pub const KINDS: &[&str] = &[DEADLINE, REMINDER, EMAIL, WEBHOOK];

/// Webhook deliveries are retried with exponential backoff for up to a day.
const WEBHOOK_RETRY_WINDOW: SignedDuration = SignedDuration::from_hours(24);

/// An `Idempotency-Key` replays its first response for a day, then is forgotten.
pub const IDEMPOTENCY_KEYS_KEPT: SignedDuration = SignedDuration::from_hours(24);

/// How often a running worker does its housekeeping.
const HOUSEKEEPING_EVERY: SignedDuration = SignedDuration::from_hours(1);

pub struct Worker {
    app: App,
    name: String,
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

/// The result of one delivery attempt, to be written with the batch.
struct Attempt {
    record: Option<DeliveryRecord>,
    /// `Ok`: delivered (or nothing to deliver); `Err((retry_at, why))`: retry or give up.
    result: Result<(), (Option<Timestamp>, String)>,
}

impl Worker {
    pub fn new(app: App, name: impl Into<String>) -> Self {
        Self { app, name: name.into() }
    }

    /// Claims the jobs due now and runs them; returns how many it claimed.
    pub async fn run_due(&self) -> Result<usize, AppError> {
        let now = self.app.now();
        let settings = self.app.settings().worker;
        if !self.app.store().any_job_due(now).await? {
            return Ok(0);
        }
        let jobs = self.app.store().claim_jobs(&self.name, KINDS, now, settings.lease, settings.batch).await?;
        let mut attempts = Vec::new();
        for job in &jobs {
            match job.kind.as_str() {
                DEADLINE | REMINDER => {
                    let result = self.run_timer(job).await;
                    let outcome = self.settle_timer(job, result).await;
                    tracing::debug!(job = job.id, kind = %job.kind, ?outcome, "timer ran");
                }
                EMAIL => attempts.push((job, self.send_email(job).await)),
                WEBHOOK => attempts.push((job, self.deliver_webhook(job).await)),
                other => {
                    let message = format!("no handler for job kind {other}");
                    attempts.push((job, Attempt { record: None, result: Err((None, message)) }));
                }
            }
        }
        self.settle_deliveries(&attempts).await?;
        Ok(jobs.len())
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

    /// Runs jobs as they fall due until `shutdown` turns true, with housekeeping every hour.
    pub async fn run(&self, mut shutdown: watch::Receiver<bool>) {
        let poll = duration(self.app.settings().worker.poll_interval);
        let mut next_housekeeping = self.app.now();
        loop {
            if self.app.now() >= next_housekeeping {
                if let Err(error) = self.housekeeping().await {
                    tracing::warn!(%error, "worker housekeeping failed");
                }
                next_housekeeping = self.app.now() + HOUSEKEEPING_EVERY;
            }
            let ran = match self.run_due().await {
                Ok(ran) => ran,
                Err(error) => {
                    tracing::warn!(%error, "worker could not run jobs");
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

    async fn run_timer(&self, job: &Job) -> Result<(), AppError> {
        let timer: TimerJob =
            serde_json::from_str(&job.payload).map_err(|e| AppError::invalid("job.payload", e.to_string()))?;
        if job.kind == REMINDER {
            // A reminder belongs to the deadline's value when it was set. After an extension or a
            // new request the deadline moved and a newer timer reminds at the right time; this one
            // would remind early and take the newer one's place.
            let (_, state) = self.app.traceback(timer.traceback).await?;
            let due = state.hop(timer.hop).and_then(|h| h.request).map(|r| r.due(timer.deadline));
            if due != Some(timer.due) {
                self.app.store().finish_job(job.id, &self.name, self.app.now()).await?;
                return Ok(());
            }
        }
        let action = if job.kind == DEADLINE {
            Action::DeadlineElapsed { hop: timer.hop, deadline: timer.deadline }
        } else {
            Action::RecordReminder { hop: timer.hop, deadline: timer.deadline, due: Some(timer.due) }
        };
        let lease = JobLease { id: job.id, worker: &self.name };
        self.app.execute_leased(timer.traceback, &Actor::System, &Request::Core(action), Some(lease)).await.map(|_| ())
    }

    /// A timer completed itself with its command; a failed one is retried or dropped.
    async fn settle_timer(&self, job: &Job, result: Result<(), AppError>) -> JobResult {
        let now = self.app.now();
        let store = self.app.store();
        let (retry_at, error) = match result {
            Ok(()) => return JobResult::Done,
            Err(AppError::Busy(_)) => return JobResult::Lost,
            // It can never succeed: record why and stop trying.
            Err(error @ (AppError::Rejected(_) | AppError::NotFound(_) | AppError::Invalid { .. })) => (None, error),
            Err(error) => (Some(now + backoff(job.attempts, SignedDuration::from_secs(1))), error),
        };
        tracing::warn!(job = job.id, %error, retry = retry_at.is_some(), "timer failed");
        match store.release_job(job, &self.name, &error.to_string(), retry_at, now).await {
            Ok(()) if retry_at.is_some() && job.attempts < job.max_attempts => JobResult::Retry,
            Ok(()) => JobResult::Failed,
            Err(_) => JobResult::Lost,
        }
    }

    /// Logs a batch's delivery attempts and completes or reschedules their jobs in one
    /// transaction.
    async fn settle_deliveries(&self, attempts: &[(&Job, Attempt)]) -> Result<(), AppError> {
        if attempts.is_empty() {
            return Ok(());
        }
        let now = self.app.now();
        let records: Vec<DeliveryRecord> = attempts.iter().filter_map(|(_, a)| a.record.clone()).collect();
        let delivered: Vec<i64> = attempts.iter().filter(|(_, a)| a.result.is_ok()).map(|(job, _)| job.id).collect();
        let mut tx = self.app.store().begin().await?;
        tx.record_deliveries(&records).await?;
        tx.complete_jobs(&delivered, &self.name, now).await?;
        for (job, attempt) in attempts {
            if let Err((retry_at, message)) = &attempt.result {
                let retry_at = retry_at.filter(|_| job.attempts < job.max_attempts);
                tx.release_job(job, &self.name, message, retry_at, now).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn send_email(&self, job: &Job) -> Attempt {
        let email: EmailJob = match serde_json::from_str(&job.payload) {
            Ok(email) => email,
            Err(error) => {
                return Attempt { record: None, result: Err((None, format!("unreadable email job: {error}"))) };
            }
        };
        let started = Instant::now();
        let sent = self.app.mailer().send(&email.to, &email.subject, &email.body, &email.event_id).await;
        let record = DeliveryRecord {
            id: 0,
            channel: EMAIL.to_owned(),
            job_id: Some(job.id),
            webhook_id: None,
            provider_id: Some(email.provider.clone()),
            traceback_id: Some(email.traceback.clone()),
            event_id: email.event_id.clone(),
            event_type: email.event_type.clone(),
            target: email.to.join(", "),
            attempt: job.attempts,
            outcome: if sent.is_ok() { "delivered" } else { "failed" }.to_owned(),
            status_code: None,
            error: sent.as_ref().err().cloned(),
            duration_ms: elapsed_ms(started),
            at: self.app.now(),
        };
        let retry_at = self.app.now() + backoff(job.attempts, SignedDuration::from_mins(1));
        Attempt { record: Some(record), result: sent.map_err(|message| (Some(retry_at), message)) }
    }

    async fn deliver_webhook(&self, job: &Job) -> Attempt {
        let delivery: WebhookJob = match serde_json::from_str(&job.payload) {
            Ok(delivery) => delivery,
            Err(error) => {
                return Attempt { record: None, result: Err((None, format!("unreadable webhook job: {error}"))) };
            }
        };
        let webhook = match self.app.store().webhook(&delivery.webhook_id).await {
            Ok(Some(webhook)) if webhook.active => webhook,
            Ok(_) => {
                return Attempt {
                    record: None,
                    result: Err((None, format!("webhook {} was removed or paused", delivery.webhook_id))),
                };
            }
            Err(error) => {
                let retry_at = self.app.now() + backoff(job.attempts, SignedDuration::from_secs(30));
                return Attempt { record: None, result: Err((Some(retry_at), error.to_string())) };
            }
        };
        // The rules may have tightened since the webhook was saved.
        if let Some(problem) =
            crate::notify::fence::url_problem(&webhook.url, self.app.settings().webhooks.allow_private_targets)
        {
            return Attempt { record: None, result: Err((None, format!("webhook {}: {problem}", webhook.id))) };
        }
        let now = self.app.now();
        let signature = signature_header(&webhook.signing_secrets(now), &delivery.body, now);
        let started = Instant::now();
        let response = self
            .app
            .http()
            .post(&webhook.url)
            .header("content-type", "application/json")
            .header("tracehop-signature", signature)
            .header("tracehop-event", &delivery.event_type)
            .header("tracehop-delivery", &delivery.event_id)
            .body(delivery.body.clone())
            .send()
            .await;
        let (status_code, failure) = match &response {
            Ok(response) if response.status().is_success() => (Some(i64::from(response.status().as_u16())), None),
            Ok(response) => (
                Some(i64::from(response.status().as_u16())),
                Some(format!("the endpoint answered {}", response.status())),
            ),
            Err(error) => (None, Some(error.to_string())),
        };
        let record = DeliveryRecord {
            id: 0,
            channel: WEBHOOK.to_owned(),
            job_id: Some(job.id),
            webhook_id: Some(webhook.id.clone()),
            provider_id: Some(delivery.provider.clone()),
            traceback_id: Some(delivery.traceback.clone()),
            event_id: delivery.event_id.clone(),
            event_type: delivery.event_type.clone(),
            target: webhook.url.clone(),
            attempt: job.attempts,
            outcome: if failure.is_none() { "delivered" } else { "failed" }.to_owned(),
            status_code,
            error: failure.clone(),
            duration_ms: elapsed_ms(started),
            at: self.app.now(),
        };
        let result = match failure {
            None => Ok(()),
            Some(message) => {
                let next = now + backoff(job.attempts, SignedDuration::from_secs(30));
                let within_window = next.duration_since(delivery.enqueued_at) <= WEBHOOK_RETRY_WINDOW;
                Err((within_window.then_some(next), message))
            }
        };
        Attempt { record: Some(record), result }
    }
}

fn elapsed_ms(started: Instant) -> i64 {
    i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX)
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
