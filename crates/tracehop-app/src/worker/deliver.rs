//! Deliveries: one email or webhook per job, run concurrently, each under a heartbeat that keeps
//! its lease while the target answers. Before sending, the worker renews its lease and sends
//! nothing if it lost it; its completion is conditional on still holding the lease, and one that
//! is refused is logged and counted, never silently dropped. Emails and webhooks go out at least
//! once: a worker killed between sending and settling leaves the job to run again.

use std::time::Instant;

use jiff::{SignedDuration, Timestamp};
use tracehop_store::jobs::Job;
use tracehop_store::webhooks::DeliveryRecord;

use super::{Worker, backoff, duration};
use crate::notify::{EMAIL, EmailJob, MAIL_TARGET, WEBHOOK, WebhookJob, signature_header};

/// Webhook deliveries are retried with exponential backoff for up to a day.
const WEBHOOK_RETRY_WINDOW: SignedDuration = SignedDuration::from_hours(24);

/// The result of one delivery attempt.
pub(super) struct Attempt {
    record: Option<DeliveryRecord>,
    /// `Ok`: delivered (or nothing to deliver); `Err((retry_at, why))`: retry or give up.
    result: Result<(), (Option<Timestamp>, String)>,
}

impl Worker {
    /// Delivers one claimed job and settles it. The target's slot was taken by the caller.
    pub(super) async fn deliver(&self, job: Job, holder: String) {
        let stats = self.app.worker_stats();
        let settings = self.app.settings().worker;
        let target = target_of(&job);
        stats.delivery_started();
        // Fencing: renew the lease right before sending; a job another worker took is theirs.
        let held = self.renew(&job, &holder).await;
        let ok = if held {
            let attempt = self.with_heartbeat(&job, &holder, self.attempt(&job)).await;
            let ok = attempt.result.is_ok();
            if !ok {
                stats.target_failed(&target);
            }
            self.settle_delivery(&job, &holder, attempt).await;
            ok
        } else {
            stats.lost_lease(&job.kind);
            tracing::warn!(job = job.id, kind = %job.kind, "lease lost before sending; the new holder delivers it");
            true
        };
        let now = self.app.now();
        if self.guard.finish(&target, ok, settings.breaker_failures, settings.breaker_cooldown, now) {
            tracing::warn!(%target, "target keeps failing: backing it off");
        }
        stats.set_open_circuits(self.guard.open_circuits(now));
        stats.delivery_ended();
    }

    /// True while this worker still holds `job`; extends its lease.
    async fn renew(&self, job: &Job, holder: &str) -> bool {
        let until = self.app.now().checked_add(self.app.settings().worker.lease).unwrap_or_else(|_| self.app.now());
        match self.app.store().extend_leases(&[job.id], holder, until).await {
            Ok(held) => held.contains(&job.id),
            Err(error) => {
                // The database is unreachable: not sending is the safe side (the lease may lapse).
                tracing::warn!(job = job.id, %error, "could not renew a lease");
                false
            }
        }
    }

    /// Runs `work`, renewing the job's lease every third of it until `work` ends.
    async fn with_heartbeat<F: Future<Output = Attempt>>(&self, job: &Job, holder: &str, work: F) -> Attempt {
        let every = duration(self.app.settings().worker.lease) / 3;
        let mut ticks = tokio::time::interval(every.max(std::time::Duration::from_millis(50)));
        ticks.tick().await;
        tokio::pin!(work);
        loop {
            tokio::select! {
                attempt = &mut work => return attempt,
                _ = ticks.tick() => {
                    if !self.renew(job, holder).await {
                        tracing::warn!(job = job.id, "lease lost while delivering");
                    }
                }
            }
        }
    }

    async fn attempt(&self, job: &Job) -> Attempt {
        match job.kind.as_str() {
            EMAIL => self.send_email(job).await,
            WEBHOOK => self.deliver_webhook(job).await,
            other => Attempt { record: None, result: Err((None, format!("no handler for job kind {other}"))) },
        }
    }

    /// Logs the attempt and completes or reschedules the job in one transaction, if this worker
    /// still holds it. A refused completion is a lost lease: counted and logged; the delivery is
    /// still logged (it happened), and the job stays with its new holder.
    async fn settle_delivery(&self, job: &Job, holder: &str, attempt: Attempt) {
        let now = self.app.now();
        let result = async {
            let mut tx = self.app.store().begin().await?;
            if let Some(record) = &attempt.record {
                tx.record_deliveries(std::slice::from_ref(record)).await?;
            }
            let held = match &attempt.result {
                Ok(()) => tx.complete_jobs(&[job.id], holder, now).await? == 1,
                Err((retry_at, message)) => {
                    let retry_at = retry_at.filter(|_| job.attempts < job.max_attempts);
                    tx.release_job(job, holder, message, retry_at, now).await?
                }
            };
            tx.commit().await?;
            Ok::<_, tracehop_store::StoreError>(held)
        }
        .await;
        match result {
            Ok(true) => {}
            Ok(false) => {
                self.app.worker_stats().lost_lease(&job.kind);
                tracing::warn!(job = job.id, kind = %job.kind, "completion refused: another worker holds the job now");
            }
            Err(error) => tracing::warn!(job = job.id, %error, "could not settle a delivery; it runs again"),
        }
    }

    async fn send_email(&self, job: &Job) -> Attempt {
        let email: EmailJob = match serde_json::from_str(&job.payload) {
            Ok(email) => email,
            Err(error) => {
                return Attempt { record: None, result: Err((None, format!("unreadable email job: {error}"))) };
            }
        };
        let started = Instant::now();
        let timeout = duration(self.app.settings().worker.delivery_timeout);
        let sent = match tokio::time::timeout(
            timeout,
            self.app.mailer().send(&email.to, &email.subject, &email.body, &email.event_id),
        )
        .await
        {
            Ok(sent) => sent,
            Err(_) => Err(format!("the mail relay did not answer within {timeout:?}")),
        };
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

/// The target a delivery job counts against.
pub(super) fn target_of(job: &Job) -> String {
    job.target.clone().unwrap_or_else(|| if job.kind == EMAIL { MAIL_TARGET.to_owned() } else { job.kind.clone() })
}

fn elapsed_ms(started: Instant) -> i64 {
    i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX)
}
