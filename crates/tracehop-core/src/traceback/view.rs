//! What a provider may see of a traceback (ACC-2, App. B §8): for its own hops only, what it needs
//! to find the call, who named it, its own answers, deadlines and disputes, comments meant for it,
//! and of the upstream it named only that provider's role in limited form. Never other hops, other
//! customers or the full path; nothing at all without a hop of its own.
//!
//! Hops, comments and disputes carry opaque references, never their positions (see
//! `reference`). The SIP Call-ID reaches only the provider whose leg it identifies (the
//! terminating provider), or one staff shared it with. The basis is a provider-facing summary
//! staff wrote or approved, or a neutral default from the campaign label: never the submitter's
//! own text. Emails and webhooks are built from this view too.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::state::{Hop, HopState, Traceback};
use super::{
    Actor, Answer, CallFacts, CommentRef, DisputeRef, HopRef, ProviderRef, RecordingRef, TracebackId, Visibility,
};
use crate::deadline::RequestDeadlines;
use crate::number::PhoneNumber;
use crate::provider::ProviderId;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProviderView {
    pub traceback: TracebackId,
    /// Whether the traceback is still under way; its outcome is not shown.
    pub closed: bool,
    pub call: CallView,
    pub hops: Vec<HopView>,
}

/// What a provider needs to find the call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CallView {
    pub calling: PhoneNumber,
    pub called: PhoneNumber,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub call_time: Timestamp,
    /// Only for the provider whose leg it identifies (the terminating provider), or when staff
    /// share it with this provider.
    pub sip_call_id: Option<String>,
    pub campaign_label: Option<String>,
    /// A summary of the basis written or approved by staff for providers; never the submitter's
    /// own text.
    pub basis_summary: Option<String>,
    /// Only when staff share it.
    pub recording: Option<RecordingRef>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HopView {
    /// The hop's opaque reference: the `{hop}` of the provider routes.
    pub hop: HopRef,
    /// The downstream provider that named this one; `None` when the consortium asked it as the
    /// terminating provider.
    pub named_by: Option<ProviderRef>,
    pub state: HopState,
    pub request: Option<RequestDeadlines>,
    pub requests: u32,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub acknowledged_at: Option<Timestamp>,
    pub answer: Option<AnswerView>,
    pub upstream: Option<UpstreamView>,
    pub comments: Vec<CommentView>,
    pub disputes: Vec<DisputeView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AnswerView {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    /// Whether staff entered it on the provider's behalf.
    pub entered_by_staff: bool,
    pub answer: Answer,
}

/// The upstream a provider named, and its role in limited form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpstreamView {
    pub provider: ProviderRef,
    pub role: UpstreamRole,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum UpstreamRole {
    /// Not asked yet, or not answered yet.
    Pending,
    /// It originated the call.
    Originated,
    /// It named its own upstream and the trace continued.
    TraceContinued,
    /// It named an upstream that did not respond.
    DownstreamOfNonResponsive,
    /// The trace ended there without an origin.
    TraceEnded,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CommentView {
    pub id: CommentRef,
    pub hop: HopRef,
    /// `None` for the consortium's staff.
    pub author: Option<ProviderRef>,
    pub text: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DisputeView {
    pub id: DisputeRef,
    pub grounds: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub filed_at: Timestamp,
    /// `None` while staff have not decided.
    pub accepted: Option<bool>,
    pub review_note: Option<String>,
}

/// The view of `provider`, or `None` when it has no hop in the traceback.
pub fn provider_view(state: &Traceback, provider: &ProviderId) -> Option<ProviderView> {
    let header = state.header.as_ref()?;
    let own: Vec<&Hop> = state.hops.iter().filter(|hop| &hop.provider.id == provider).collect();
    if own.is_empty() {
        return None;
    }
    // The incident's Call-ID identifies the terminating provider's leg.
    let call_id_shown = own.iter().any(|hop| hop.named_by.is_none() || hop.call_id_shared);
    Some(ProviderView {
        traceback: header.id,
        closed: state.is_closed(),
        call: call_view(state, &header.call, call_id_shown),
        hops: own.into_iter().map(|hop| hop_view(state, hop)).collect(),
    })
}

fn call_view(state: &Traceback, call: &CallFacts, call_id_shown: bool) -> CallView {
    CallView {
        calling: call.calling.clone(),
        called: call.called.clone(),
        call_time: call.call_time,
        sip_call_id: if call_id_shown { call.sip_call_id.clone() } else { None },
        campaign_label: call.campaign_label.clone(),
        basis_summary: Some(provider_summary(state, call)),
        recording: if state.recording_shared { call.recording.clone() } else { None },
    }
}

/// What providers read as the basis: staff's summary, or the neutral default.
pub fn provider_summary(state: &Traceback, call: &CallFacts) -> String {
    state.provider_summary.clone().unwrap_or_else(|| default_summary(call.campaign_label.as_deref()))
}

/// The default summary: the campaign label and a neutral sentence.
pub fn default_summary(campaign_label: Option<&str>) -> String {
    match campaign_label {
        Some(label) => format!(
            "A call of the campaign \"{label}\". The consortium reviewed the basis for this traceback before it started."
        ),
        None => "The consortium reviewed the basis for this traceback before it started.".to_owned(),
    }
}

fn reference(hop: &Hop) -> ProviderRef {
    ProviderRef { id: hop.provider.id.clone(), name: hop.provider.name.clone() }
}

fn hop_view(state: &Traceback, hop: &Hop) -> HopView {
    let upstream_hop = hop.upstream.and_then(|id| state.hop(id));
    let upstream = match (&hop.answer, upstream_hop) {
        (_, Some(up)) => Some(UpstreamView { provider: reference(up), role: upstream_role(state, up) }),
        // Named, but held for staff review: the provider knows whom it named, nothing more.
        (Some(recorded), None) => match &recorded.answer {
            Answer::Upstream { upstream, .. } => {
                Some(UpstreamView { provider: upstream.clone(), role: UpstreamRole::Pending })
            }
            _ => None,
        },
        (None, None) => None,
    };
    let comments = state
        .comments
        .iter()
        .filter_map(|comment| {
            let on = comment.hop?;
            let own_hop = on == hop.id;
            let named_hop = Some(on) == hop.upstream;
            let authored = comment.author.provider() == Some(&hop.provider.id);
            let shared = comment.visibility == Visibility::HopParties && (own_hop || named_hop);
            ((own_hop && authored) || shared).then(|| CommentView {
                id: state.comment_ref(comment.id),
                hop: state.hop_ref(on),
                author: match &comment.author {
                    Actor::Provider { provider, .. } => {
                        state.hops.iter().find(|h| &h.provider.id == provider).map(reference)
                    }
                    Actor::Staff { .. } | Actor::System => None,
                },
                text: comment.text.clone(),
                at: comment.at,
            })
        })
        .collect();
    let disputes = state
        .disputes
        .iter()
        .filter(|dispute| dispute.hop == hop.id)
        .map(|dispute| DisputeView {
            id: state.dispute_ref(dispute.id),
            grounds: dispute.grounds.clone(),
            filed_at: dispute.filed_at,
            accepted: dispute.review.as_ref().map(|r| r.accepted),
            review_note: dispute.review.as_ref().map(|r| r.note.clone()),
        })
        .collect();
    HopView {
        hop: state.hop_ref(hop.id),
        named_by: hop.named_by.and_then(|id| state.hop(id)).map(reference),
        state: hop.state,
        request: hop.request,
        requests: hop.requests,
        acknowledged_at: hop.acknowledged_at,
        answer: hop.answer.as_ref().map(|recorded| AnswerView {
            at: recorded.at,
            entered_by_staff: recorded.by.is_staff(),
            answer: recorded.answer.clone(),
        }),
        upstream,
        comments,
        disputes,
    }
}

fn upstream_role(state: &Traceback, upstream: &Hop) -> UpstreamRole {
    match (upstream.state, upstream.answer.as_ref().map(|a| &a.answer)) {
        (HopState::Answered, Some(Answer::Originated { .. })) => UpstreamRole::Originated,
        (HopState::Answered, Some(Answer::Upstream { .. })) => {
            let beyond = upstream.upstream.and_then(|id| state.hop(id));
            if beyond.is_some_and(|b| b.state == HopState::Expired) {
                UpstreamRole::DownstreamOfNonResponsive
            } else {
                UpstreamRole::TraceContinued
            }
        }
        (HopState::Open | HopState::Acknowledged, _) => UpstreamRole::Pending,
        _ => UpstreamRole::TraceEnded,
    }
}
