//! Notifications: what a command's events tell each provider, by email to its primary and backup
//! contacts and by webhook to its subscribed endpoints. The jobs are enqueued in the command's
//! transaction; what a provider receives is built from its own view of the traceback (ACC-2).

mod email;
pub mod fence;
pub mod mail;
pub mod webhooks;

use std::collections::BTreeSet;

use hmac::{Hmac, Mac};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use tracehop_core::provider::ProviderId;
use tracehop_core::traceback::view::{HopView, ProviderView};
use tracehop_core::traceback::{Change, Event, HopId, HopRef, Traceback, Visibility, provider_view};
use tracehop_store::Tx;
use tracehop_store::jobs::NewJob;

use crate::{App, AppResult};

pub const EMAIL: &str = "email";
pub const WEBHOOK: &str = "webhook";
/// The delivery target of emails: one per provider (its mailboxes), so each provider's emails
/// go out one at a time and in order.
pub const MAIL_TARGET: &str = "mail";

/// What a provider can subscribe to, and what its emails are about.
pub const EVENT_TYPES: [&str; 7] = [
    "hop.requested",
    "hop.reminder",
    "hop.expired",
    "hop.cancelled",
    "traceback.closed",
    "hop.comment",
    "dispute.reviewed",
];

/// Event types that also go out by email (comments are webhook-only: they would be noise).
fn emailed(event_type: &str) -> bool {
    event_type != "hop.comment"
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailJob {
    pub event_id: String,
    pub event_type: String,
    pub provider: String,
    pub traceback: String,
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookJob {
    pub event_id: String,
    pub event_type: String,
    pub webhook_id: String,
    pub provider: String,
    pub traceback: String,
    pub body: String,
    pub enqueued_at: Timestamp,
}

/// The body of a webhook delivery.
#[derive(Debug, Clone, Serialize)]
pub struct WebhookBody<'a> {
    pub id: &'a str,
    #[serde(rename = "type")]
    pub event_type: &'a str,
    pub created_at: Timestamp,
    pub traceback_id: String,
    /// The hop's opaque reference, as in the provider's view.
    pub hop: Option<HopRef>,
    /// The provider's view of the traceback after the event.
    pub data: &'a ProviderView,
    /// A reminder that went out late: when it was meant to go.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub late_since: Option<Timestamp>,
}

/// `Tracehop-Signature: t=UNIX,v1=HEX[,v1=HEX]`: HMAC-SHA256 over `t.body` with each secret.
pub fn signature_header(secrets: &[&str], body: &str, at: Timestamp) -> String {
    let t = at.as_second();
    let mut header = format!("t={t}");
    for secret in secrets {
        header.push_str(",v1=");
        header.push_str(&sign(secret, t, body));
    }
    header
}

fn sign(secret: &str, t: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// What a receiver does: true when one `v1` matches `secret` and `t` is within `tolerance` of
/// `now`.
pub fn verify_signature(header: &str, body: &str, secret: &str, now: Timestamp, tolerance_seconds: i64) -> bool {
    let mut t = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => t = value.parse::<i64>().ok(),
            Some(("v1", value)) => signatures.push(value.to_owned()),
            _ => {}
        }
    }
    let Some(t) = t else { return false };
    if (now.as_second() - t).abs() > tolerance_seconds {
        return false;
    }
    let expected = sign(secret, t, body);
    signatures.iter().any(|candidate| {
        candidate.len() == expected.len()
            && candidate.bytes().zip(expected.bytes()).fold(0, |a, (x, y)| a | (x ^ y)) == 0
    })
}

/// One notification for one provider.
struct Notice {
    provider: ProviderId,
    event_type: &'static str,
    hop: Option<HopId>,
}

/// The notices a command's events cause.
fn notices(state: &Traceback, events: &[Event]) -> Vec<Notice> {
    let closes = events.iter().any(|e| matches!(e.change, Change::Closed { .. }));
    let provider_of = |hop: HopId| state.hop(hop).map(|h| h.provider.id.clone());
    let mut notices = Vec::new();
    let mut push = |provider: Option<ProviderId>, event_type, hop| {
        if let Some(provider) = provider {
            notices.push(Notice { provider, event_type, hop });
        }
    };
    for event in events {
        match &event.change {
            Change::HopNotified { hop, .. } => push(provider_of(*hop), "hop.requested", Some(*hop)),
            Change::ReminderSent { hop, .. } => push(provider_of(*hop), "hop.reminder", Some(*hop)),
            Change::HopExpired { hop } => push(provider_of(*hop), "hop.expired", Some(*hop)),
            // Closing cancels the open hops; the closing notice says so.
            Change::HopCancelled { hop } if !closes => push(provider_of(*hop), "hop.cancelled", Some(*hop)),
            Change::Closed { .. } => {
                for hop in &state.hops {
                    push(Some(hop.provider.id.clone()), "traceback.closed", Some(hop.id));
                }
            }
            Change::CommentAdded { hop: Some(hop), visibility: Visibility::HopParties, .. } => {
                let author = event.actor.provider().cloned();
                let parties = [provider_of(*hop), state.hop(*hop).and_then(|h| h.named_by).and_then(provider_of)];
                for party in parties.into_iter().flatten().filter(|p| Some(p) != author.as_ref()) {
                    push(Some(party), "hop.comment", Some(*hop));
                }
            }
            Change::DisputeReviewed { dispute, .. } => {
                let hop = state.disputes.iter().find(|d| d.id == *dispute).map(|d| d.hop);
                push(hop.and_then(provider_of), "dispute.reviewed", hop);
            }
            _ => {}
        }
    }
    let mut seen = BTreeSet::new();
    notices.retain(|n| seen.insert((n.provider.clone(), n.event_type)));
    notices
}

impl App {
    /// The email and webhook jobs for `events`, read inside the command's transaction.
    pub(crate) async fn notification_jobs(
        &self,
        tx: &mut Tx,
        state: &Traceback,
        events: &[Event],
        now: Timestamp,
    ) -> AppResult<Vec<NewJob>> {
        let Some(header) = &state.header else { return Ok(Vec::new()) };
        let traceback = header.id.to_string();
        let mut jobs = Vec::new();
        let notices = notices(state, events);
        let late = late_reminders(self.settings(), events, now);
        let providers: Vec<&str> = notices.iter().map(|n| n.provider.as_str()).collect();
        let all_targets = tx.notification_targets(&providers).await?;
        for notice in notices {
            let Some(view) = provider_view(state, &notice.provider) else { continue };
            let Some(targets) = all_targets.get(notice.provider.as_str()) else { continue };
            let event_id = self.new_id().to_string();
            if emailed(notice.event_type) && !targets.emails.is_empty() {
                let (subject, mut body) = email::render(self.settings(), notice.event_type, state, &view, notice.hop);
                if let Some(since) = late_since(&late, &notice) {
                    body.push_str(&format!(
                        "\n\nThis reminder is late: it was meant to go out at {since}. The deadline above is unchanged.\n"
                    ));
                }
                let job = EmailJob {
                    event_id: event_id.clone(),
                    event_type: notice.event_type.to_owned(),
                    provider: notice.provider.to_string(),
                    traceback: traceback.clone(),
                    to: targets.emails.clone(),
                    subject,
                    body,
                };
                jobs.push(NewJob {
                    kind: EMAIL.to_owned(),
                    payload: serde_json::to_string(&job)?,
                    run_at: now,
                    dedupe_key: None,
                    max_attempts: 12,
                    target: Some(format!("{MAIL_TARGET}:{}", notice.provider)),
                });
            }
            let webhooks: Vec<&str> = targets.webhooks_for(notice.event_type).collect();
            if webhooks.is_empty() {
                continue;
            }
            let body = serde_json::to_string(&WebhookBody {
                id: &event_id,
                event_type: notice.event_type,
                created_at: now,
                traceback_id: traceback.clone(),
                hop: notice.hop.map(|hop| state.hop_ref(hop)),
                data: &view,
                late_since: late_since(&late, &notice),
            })?;
            for webhook in webhooks {
                let job = WebhookJob {
                    event_id: event_id.clone(),
                    event_type: notice.event_type.to_owned(),
                    webhook_id: webhook.to_owned(),
                    provider: notice.provider.to_string(),
                    traceback: traceback.clone(),
                    body: body.clone(),
                    enqueued_at: now,
                };
                jobs.push(NewJob {
                    kind: WEBHOOK.to_owned(),
                    payload: serde_json::to_string(&job)?,
                    run_at: now,
                    dedupe_key: None,
                    max_attempts: 60,
                    target: Some(format!("webhook:{webhook}")),
                });
            }
        }
        Ok(jobs)
    }
}

/// The reminders among `events` that go out later than `late_after` after their time, by hop,
/// with the time each was meant to go.
fn late_reminders(settings: &crate::Settings, events: &[Event], now: Timestamp) -> Vec<(HopId, Timestamp)> {
    events
        .iter()
        .filter_map(|event| match event.change {
            Change::ReminderSent { hop, deadline, due } => {
                let lead = match deadline {
                    tracehop_core::deadline::DeadlineKind::StartBy => settings.reminders.before_start_by,
                    tracehop_core::deadline::DeadlineKind::RespondBy => settings.reminders.before_respond_by,
                };
                let meant = due.checked_sub(lead).ok()?;
                (now.duration_since(meant) > settings.worker.late_after).then_some((hop, meant))
            }
            _ => None,
        })
        .collect()
}

fn late_since(late: &[(HopId, Timestamp)], notice: &Notice) -> Option<Timestamp> {
    if notice.event_type != "hop.reminder" {
        return None;
    }
    late.iter().find(|(hop, _)| Some(*hop) == notice.hop).map(|(_, meant)| *meant)
}

/// The hop of `view` a notice is about.
pub(crate) fn hop_of<'a>(state: &Traceback, view: &'a ProviderView, hop: Option<HopId>) -> Option<&'a HopView> {
    hop.map(|id| state.hop_ref(id)).and_then(|r| view.hops.iter().find(|h| h.hop == r)).or_else(|| view.hops.last())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_with_either_secret_during_rotation() {
        let at: Timestamp = "2026-03-02T15:00:00Z".parse().unwrap();
        let header = signature_header(&["new-secret", "old-secret"], "{\"a\":1}", at);
        assert!(header.starts_with(&format!("t={},v1=", at.as_second())));
        assert!(verify_signature(&header, "{\"a\":1}", "new-secret", at, 300));
        assert!(verify_signature(&header, "{\"a\":1}", "old-secret", at, 300));
        assert!(!verify_signature(&header, "{\"a\":2}", "new-secret", at, 300));
        assert!(!verify_signature(&header, "{\"a\":1}", "other", at, 300));
        let later: Timestamp = "2026-03-02T15:10:00Z".parse().unwrap();
        assert!(!verify_signature(&header, "{\"a\":1}", "new-secret", later, 300), "stale timestamps are refused");
    }
}
