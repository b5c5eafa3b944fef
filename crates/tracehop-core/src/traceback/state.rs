//! The state of a traceback: the fold of its events. Applying an event never fails; the decider
//! only emits events that make sense for the state they are applied to.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::event::RequestCause;
use super::{
    Actor, Answer, CallFacts, Category, Change, CommentId, DisputeId, Event, HopId, ReviewReason, StrikeExemptReason,
    TracebackId, TracebackPolicy, Visibility,
};
use crate::deadline::{DeadlineKind, RequestDeadlines};
use crate::provider::{ProviderId, ProviderProfile};

/// A traceback; `Traceback::default()` is one that has not started.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Traceback {
    pub header: Option<Header>,
    pub hops: Vec<Hop>,
    pub review: Option<Review>,
    pub closure: Option<Closure>,
    pub strike_exempt: Option<StrikeExempt>,
    pub disputes: Vec<Dispute>,
    pub comments: Vec<Comment>,
    pub recording_shared: bool,
    /// The summary of the basis providers see, written or approved by staff; `None` for the
    /// default (never the submitter's own text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_summary: Option<String>,
    /// How many events have been applied.
    pub version: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Header {
    pub id: TracebackId,
    pub category: Category,
    pub call: CallFacts,
    pub policy: TracebackPolicy,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub started_at: Timestamp,
    pub started_by: Actor,
    pub candidate: Option<String>,
    pub incident: Option<String>,
    pub campaign: Option<String>,
    /// The secret behind the references providers see (see `reference`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view_key: Option<uuid::Uuid>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum HopState {
    /// Waiting for the provider (which may not have been notified yet).
    Open,
    /// The provider started investigating.
    Acknowledged,
    Answered,
    /// The respond-by passed unanswered.
    Expired,
    /// Withdrawn or set aside before it was answered.
    Cancelled,
}

impl HopState {
    pub fn is_awaiting_answer(self) -> bool {
        matches!(self, Self::Open | Self::Acknowledged)
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Acknowledged => "acknowledged",
            Self::Answered => "answered",
            Self::Expired => "expired",
            Self::Cancelled => "cancelled",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Hop {
    pub id: HopId,
    /// The provider as it was when the hop opened (foreign flag, entity, hours).
    pub provider: ProviderProfile,
    /// The hop whose answer named this provider; `None` for the terminating provider.
    pub named_by: Option<HopId>,
    pub counts_as_hop: bool,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub opened_at: Timestamp,
    pub state: HopState,
    /// The current request's deadlines; `None` until the provider has been notified.
    pub request: Option<RequestDeadlines>,
    /// How many requests the provider got for this hop.
    pub requests: u32,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub acknowledged_at: Option<Timestamp>,
    pub answer: Option<RecordedAnswer>,
    /// Answers set aside by a redirect or reopen, oldest first.
    pub earlier_answers: Vec<RecordedAnswer>,
    /// The hop opened from the current answer.
    pub upstream: Option<HopId>,
    /// Set aside by a redirect of a hop downstream of it: no longer in the call path.
    pub superseded: bool,
    pub start_by_missed: bool,
    /// How many times a respond-by of this hop passed unanswered.
    pub expirations: u32,
    pub extensions: Vec<Extension>,
    /// Reminders sent, by deadline and the deadline's value then.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub reminders: Vec<(DeadlineKind, Timestamp)>,
    /// Staff show this hop's provider the incident's SIP Call-ID (the terminating hop sees it
    /// anyway: the Call-ID identifies its leg).
    #[serde(default)]
    pub call_id_shared: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecordedAnswer {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    pub by: Actor,
    pub answer: Answer,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Extension {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    pub by: Actor,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub from: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub to: Timestamp,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Review {
    pub reason: ReviewReason,
    pub hop: HopId,
    pub pending: Option<ProviderProfile>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub since: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Closure {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    pub by: Actor,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StrikeExempt {
    pub reason: StrikeExemptReason,
    pub note: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    pub by: Actor,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Dispute {
    pub id: DisputeId,
    pub hop: HopId,
    pub provider: ProviderId,
    pub grounds: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub filed_at: Timestamp,
    pub filed_by: Actor,
    pub review: Option<DisputeReview>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DisputeReview {
    pub accepted: bool,
    pub note: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    pub by: Actor,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Comment {
    pub id: CommentId,
    pub hop: Option<HopId>,
    pub author: Actor,
    pub visibility: Visibility,
    pub text: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
}

impl Traceback {
    /// Folds a traceback's events, oldest first.
    pub fn fold<'a>(events: impl IntoIterator<Item = &'a Event>) -> Self {
        events.into_iter().fold(Self::default(), apply)
    }

    pub fn hop(&self, hop: HopId) -> Option<&Hop> {
        self.hops.get(hop.index())
    }

    /// The most recent hop of a provider.
    pub fn latest_hop_of(&self, provider: &ProviderId) -> Option<&Hop> {
        self.hops.iter().rev().find(|hop| &hop.provider.id == provider)
    }

    pub fn next_hop_id(&self) -> HopId {
        HopId(u32::try_from(self.hops.len()).unwrap_or(u32::MAX))
    }

    fn hop_mut(&mut self, hop: HopId) -> Option<&mut Hop> {
        self.hops.get_mut(hop.index())
    }
}

/// Applies one event to the state.
#[must_use]
pub fn apply(mut state: Traceback, event: &Event) -> Traceback {
    state.version += 1;
    let at = event.at;
    match &event.change {
        Change::Started { id, category, call, policy, candidate, incident, campaign, view_key } => {
            state.header = Some(Header {
                id: *id,
                category: *category,
                call: call.clone(),
                policy: *policy,
                started_at: at,
                started_by: event.actor.clone(),
                candidate: candidate.clone(),
                incident: incident.clone(),
                campaign: campaign.clone(),
                view_key: *view_key,
            });
        }
        Change::HopOpened { hop, provider, named_by, counts_as_hop } => {
            state.hops.push(Hop {
                id: *hop,
                provider: provider.clone(),
                named_by: *named_by,
                counts_as_hop: *counts_as_hop,
                opened_at: at,
                state: HopState::Open,
                request: None,
                requests: 0,
                acknowledged_at: None,
                answer: None,
                earlier_answers: Vec::new(),
                upstream: None,
                superseded: false,
                start_by_missed: false,
                expirations: 0,
                extensions: Vec::new(),
                reminders: Vec::new(),
                call_id_shared: false,
            });
            if let Some(downstream) = named_by.and_then(|id| state.hop_mut(id)) {
                downstream.upstream = Some(*hop);
            }
            if state.review.as_ref().is_some_and(|review| review.pending.is_some()) {
                state.review = None;
            }
        }
        Change::HopNotified { hop, deadlines, cause } => {
            if let Some(hop) = state.hop_mut(*hop) {
                if *cause != RequestCause::First {
                    if let Some(previous) = hop.answer.take() {
                        hop.earlier_answers.push(previous);
                    }
                    hop.upstream = None;
                    hop.acknowledged_at = None;
                    hop.start_by_missed = false;
                    hop.superseded = false;
                }
                hop.state = HopState::Open;
                hop.request = Some(*deadlines);
                hop.requests += 1;
            }
        }
        Change::HopAcknowledged { hop } => {
            if let Some(hop) = state.hop_mut(*hop) {
                hop.state = HopState::Acknowledged;
                hop.acknowledged_at = Some(at);
            }
        }
        Change::HopAnswered { hop, answer } => {
            if let Some(hop) = state.hop_mut(*hop) {
                hop.state = HopState::Answered;
                hop.answer = Some(RecordedAnswer { at, by: event.actor.clone(), answer: answer.clone() });
            }
        }
        Change::ReviewRequested { reason, hop, pending } => {
            state.review = Some(Review { reason: *reason, hop: *hop, pending: pending.clone(), since: at });
        }
        Change::CommentAdded { comment, hop, visibility, text } => {
            state.comments.push(Comment {
                id: *comment,
                hop: *hop,
                author: event.actor.clone(),
                visibility: *visibility,
                text: text.clone(),
                at,
            });
        }
        Change::DisputeFiled { dispute, hop, grounds } => {
            let provider = state.hop(*hop).map(|h| h.provider.id.clone());
            if let Some(provider) = provider {
                state.disputes.push(Dispute {
                    id: *dispute,
                    hop: *hop,
                    provider,
                    grounds: grounds.clone(),
                    filed_at: at,
                    filed_by: event.actor.clone(),
                    review: None,
                });
            }
        }
        Change::DisputeReviewed { dispute, accepted, note } => {
            if let Some(dispute) = state.disputes.iter_mut().find(|d| d.id == *dispute) {
                dispute.review =
                    Some(DisputeReview { accepted: *accepted, note: note.clone(), at, by: event.actor.clone() });
            }
        }
        Change::StrikeExemptMarked { reason, note } => {
            state.strike_exempt =
                Some(StrikeExempt { reason: *reason, note: note.clone(), at, by: event.actor.clone() });
        }
        Change::DeadlineExtended { hop, respond_by, reason } => {
            if let Some(hop) = state.hop_mut(*hop)
                && let Some(request) = hop.request.as_mut()
            {
                hop.extensions.push(Extension {
                    at,
                    by: event.actor.clone(),
                    from: request.respond_by,
                    to: *respond_by,
                    reason: reason.clone(),
                });
                request.respond_by = *respond_by;
            }
        }
        Change::HopRedirected { superseded, .. } => {
            for id in superseded {
                if let Some(hop) = state.hop_mut(*id) {
                    hop.superseded = true;
                }
            }
            state.review = None;
            state.closure = None;
        }
        Change::HopCancelled { hop } => {
            if let Some(hop) = state.hop_mut(*hop) {
                hop.state = HopState::Cancelled;
            }
        }
        Change::StartByMissed { hop } => {
            if let Some(hop) = state.hop_mut(*hop) {
                hop.start_by_missed = true;
            }
        }
        Change::HopExpired { hop } => {
            if let Some(hop) = state.hop_mut(*hop) {
                hop.state = HopState::Expired;
                hop.expirations += 1;
            }
        }
        Change::ReminderSent { hop, deadline, due } => {
            if let Some(hop) = state.hop_mut(*hop) {
                hop.reminders.push((*deadline, *due));
            }
        }
        Change::RecordingShared { shared } => state.recording_shared = *shared,
        Change::CallIdShared { hop, shared } => {
            if let Some(hop) = state.hop_mut(*hop) {
                hop.call_id_shared = *shared;
            }
        }
        Change::ProviderSummarySet { summary } => state.provider_summary.clone_from(summary),
        Change::Closed { reason } => {
            state.closure = Some(Closure { at, by: event.actor.clone(), reason: reason.clone() });
        }
        Change::Reopened { .. } => {
            state.closure = None;
            state.review = None;
        }
    }
    state
}
