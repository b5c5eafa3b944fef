//! The traceback (SPEC §4, Art. II): a hop-by-hop workflow, event-sourced.
//!
//! - [`command`]: what people and the deadline worker ask for;
//! - [`decide`](decide::decide): the rules — a command, the state and the time in, events or a
//!   [`Rejection`] out;
//! - [`event`]: what happened; [`state`]: the fold of the events;
//! - [`label`]: hop labels, outcome and status, derived from the state;
//! - [`view`]: what a provider may see of it.

pub mod answer;
pub mod command;
pub mod decide;
pub mod event;
pub mod label;
pub mod reference;
pub mod rejection;
pub mod state;
pub mod view;

use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::deadline::DeadlinePolicy;
use crate::number::PhoneNumber;
use crate::provider::ProviderId;

pub use answer::{
    Answer, Attestation, Customer, Evidence, Mitigation, MitigationAction, NotFoundReason, Reply, SuppliedContact,
};
pub use command::Command;
pub use decide::decide;
pub use event::{Change, Event};
pub use label::{Label, Origin, Outcome, Status};
pub use reference::{CommentRef, DisputeRef, HopRef};
pub use rejection::Rejection;
pub use state::{Hop, HopState, Traceback, apply};
pub use view::{ProviderView, provider_view};

/// A traceback's identifier, assigned by the caller that starts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct TracebackId(pub Uuid);

impl fmt::Display for TracebackId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A hop: one request to one provider. Numbered from 0 (the terminating provider) in the order
/// hops were opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct HopId(pub u32);

impl HopId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for HopId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct DisputeId(pub u32);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct CommentId(pub u32);

/// Calls terminating in the U.S., or traced for a foreign law-enforcement request (SRC-4): a
/// separate category everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Category {
    #[default]
    Domestic,
    ForeignLawEnforcement,
}

/// Who issued a command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Actor {
    /// Consortium staff: a person, or an API token (`token:<prefix>`).
    Staff {
        user: String,
        /// For an API token staff minted, the staff member who minted it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        minted_by: Option<String>,
    },
    /// A user or API token (`token:<prefix>`) of a provider.
    Provider {
        provider: ProviderId,
        user: String,
        /// For an API token staff minted, the staff member who minted it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        minted_by: Option<String>,
    },
    /// The platform itself: deadline timers and reminders.
    System,
}

impl Actor {
    pub fn is_staff(&self) -> bool {
        matches!(self, Self::Staff { .. })
    }

    pub fn provider(&self) -> Option<&ProviderId> {
        match self {
            Self::Provider { provider, .. } => Some(provider),
            _ => None,
        }
    }
}

/// A recording or voicemail kept in the object store (INC-3), referred to by key and digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecordingRef {
    pub key: String,
    pub content_type: String,
    pub sha256: String,
    pub size: u64,
}

/// What a traceback carries about the call it traces: the part of the incident a provider needs
/// to find the call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CallFacts {
    pub calling: PhoneNumber,
    pub called: PhoneNumber,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub call_time: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sip_call_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign_label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basis_summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recording: Option<RecordingRef>,
}

/// The rules a traceback runs under, fixed when it starts (SPEC policy parameters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct TracebackPolicy {
    pub deadlines: DeadlinePolicy,
    /// Naming an upstream that would make more hops than this waits for staff review (TB-7).
    pub hop_limit: u32,
    /// The most comments a provider may write on one of its hops.
    pub comments_per_hop: u32,
    /// Close the traceback when a hop's respond-by passes unanswered (TB-6); otherwise it waits
    /// for staff review.
    pub close_on_no_response: bool,
}

impl Default for TracebackPolicy {
    fn default() -> Self {
        Self { deadlines: DeadlinePolicy::default(), hop_limit: 30, comments_per_hop: 50, close_on_no_response: true }
    }
}

/// Why staff marked a traceback strike exempt (TB-9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum StrikeExemptReason {
    FactualIssue,
    TechnicalError,
    Testing,
    AcceptedDispute,
    Other,
}

/// Who may read a comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Staff, and the provider that wrote it.
    #[default]
    StaffOnly,
    /// Also the hop's parties: its provider and the provider that named it.
    HopParties,
}

/// Why a traceback waits for staff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReviewReason {
    /// The named upstream is already in the call path.
    Loop,
    /// The named upstream would pass the hop limit.
    HopLimit,
    /// A respond-by passed and policy keeps the traceback open.
    NoResponse,
}

/// A provider as named in answers and views: identity only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProviderRef {
    pub id: ProviderId,
    pub name: String,
}
