//! Events: what happened to a traceback. Its state is the fold of its events; they are stored,
//! hash-chained, forever (TB-10).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{
    Actor, Answer, CallFacts, Category, CommentId, DisputeId, HopId, ReviewReason, StrikeExemptReason, TracebackId,
    TracebackPolicy, Visibility,
};
use crate::deadline::{DeadlineKind, RequestDeadlines};
use crate::provider::ProviderProfile;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Event {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    pub actor: Actor,
    pub change: Change,
}

/// Why a hop's request was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RequestCause {
    /// The hop's first request.
    First,
    /// Staff asked again (TB-8).
    Redirect,
    /// Staff reopened the traceback at this hop.
    Reopen,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Change {
    Started {
        id: TracebackId,
        category: Category,
        call: CallFacts,
        policy: TracebackPolicy,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        candidate: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        incident: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        campaign: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        view_key: Option<uuid::Uuid>,
    },
    /// A hop for `provider`, with its foreign flag and entity as they were at this moment.
    HopOpened {
        hop: HopId,
        provider: ProviderProfile,
        named_by: Option<HopId>,
        /// False when the provider continues the VSP entity of the hop that named it (PRV-3).
        counts_as_hop: bool,
    },
    HopNotified {
        hop: HopId,
        deadlines: RequestDeadlines,
        cause: RequestCause,
    },
    HopAcknowledged {
        hop: HopId,
    },
    HopAnswered {
        hop: HopId,
        answer: Answer,
    },
    /// The trace stopped for staff review; `pending` is the named upstream not yet asked.
    ReviewRequested {
        reason: ReviewReason,
        hop: HopId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pending: Option<ProviderProfile>,
    },
    CommentAdded {
        comment: CommentId,
        hop: Option<HopId>,
        visibility: Visibility,
        text: String,
    },
    DisputeFiled {
        dispute: DisputeId,
        hop: HopId,
        grounds: String,
    },
    DisputeReviewed {
        dispute: DisputeId,
        accepted: bool,
        note: String,
    },
    StrikeExemptMarked {
        reason: StrikeExemptReason,
        note: String,
    },
    DeadlineExtended {
        hop: HopId,
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
        respond_by: Timestamp,
        reason: String,
    },
    /// Staff ask `hop` again; the hops upstream of it leave the call path.
    HopRedirected {
        hop: HopId,
        reason: String,
        superseded: Vec<HopId>,
    },
    HopCancelled {
        hop: HopId,
    },
    StartByMissed {
        hop: HopId,
    },
    /// The respond-by passed unanswered: the provider is non-responsive for this traceback.
    HopExpired {
        hop: HopId,
    },
    ReminderSent {
        hop: HopId,
        deadline: DeadlineKind,
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
        due: Timestamp,
    },
    RecordingShared {
        shared: bool,
    },
    /// Staff show the incident's SIP Call-ID to the provider of `hop`, or stop showing it.
    CallIdShared {
        hop: HopId,
        shared: bool,
    },
    /// Staff set the summary of the basis providers see; `None` is the default summary.
    ProviderSummarySet {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        summary: Option<String>,
    },
    Closed {
        reason: String,
    },
    Reopened {
        reason: String,
    },
}

impl Change {
    /// The event type as stored and shown.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Started { .. } => "started",
            Self::HopOpened { .. } => "hop_opened",
            Self::HopNotified { .. } => "hop_notified",
            Self::HopAcknowledged { .. } => "hop_acknowledged",
            Self::HopAnswered { .. } => "hop_answered",
            Self::ReviewRequested { .. } => "review_requested",
            Self::CommentAdded { .. } => "comment_added",
            Self::DisputeFiled { .. } => "dispute_filed",
            Self::DisputeReviewed { .. } => "dispute_reviewed",
            Self::StrikeExemptMarked { .. } => "strike_exempt_marked",
            Self::DeadlineExtended { .. } => "deadline_extended",
            Self::HopRedirected { .. } => "hop_redirected",
            Self::HopCancelled { .. } => "hop_cancelled",
            Self::StartByMissed { .. } => "start_by_missed",
            Self::HopExpired { .. } => "hop_expired",
            Self::ReminderSent { .. } => "reminder_sent",
            Self::RecordingShared { .. } => "recording_shared",
            Self::CallIdShared { .. } => "call_id_shared",
            Self::ProviderSummarySet { .. } => "provider_summary_set",
            Self::Closed { .. } => "closed",
            Self::Reopened { .. } => "reopened",
        }
    }

    /// The hop the event is about, if any.
    pub fn hop(&self) -> Option<HopId> {
        match self {
            Self::HopOpened { hop, .. }
            | Self::HopNotified { hop, .. }
            | Self::HopAcknowledged { hop }
            | Self::HopAnswered { hop, .. }
            | Self::ReviewRequested { hop, .. }
            | Self::DisputeFiled { hop, .. }
            | Self::DeadlineExtended { hop, .. }
            | Self::HopRedirected { hop, .. }
            | Self::HopCancelled { hop }
            | Self::StartByMissed { hop }
            | Self::HopExpired { hop }
            | Self::ReminderSent { hop, .. }
            | Self::CallIdShared { hop, .. } => Some(*hop),
            Self::CommentAdded { hop, .. } => *hop,
            Self::Started { .. }
            | Self::DisputeReviewed { .. }
            | Self::StrikeExemptMarked { .. }
            | Self::RecordingShared { .. }
            | Self::ProviderSummarySet { .. }
            | Self::Closed { .. }
            | Self::Reopened { .. } => None,
        }
    }
}
