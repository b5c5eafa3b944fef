//! The API's own request and response bodies. Domain values inside them (views, answers, labels)
//! are the core's types, so the JSON and the OpenAPI schema come from one definition.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tracehop_core::traceback::label::{Label, Outcome, Status};
use tracehop_core::traceback::state::{Closure, Comment, Dispute, Hop, Review, StrikeExempt, Traceback};
use tracehop_core::traceback::{
    Actor, Attestation, CallFacts, Category, Change, Customer, Evidence, HopId, Mitigation, NotFoundReason,
    StrikeExemptReason, SuppliedContact, TracebackId, Visibility,
};
use tracehop_store::events::StoredEvent;
use tracehop_store::tokens::TokenRecord;
use tracehop_store::tracebacks::{HopRecord, TracebackRecord};
use tracehop_store::webhooks::{DeliveryRecord, WebhookRecord};
use utoipa::ToSchema;

use super::json::{ReadBody, read_json};
use super::problem::ApiError;

// ---- provider side ------------------------------------------------------------------------

/// One of the caller's hop requests, as its lists show it.
#[derive(Debug, Serialize, ToSchema)]
pub struct HopRequest {
    #[schema(value_type = String, format = Uuid)]
    pub traceback_id: String,
    /// The hop's opaque reference: the `{hop}` of the provider routes.
    #[schema(value_type = String, format = Uuid)]
    pub hop: String,
    /// `open`, `acknowledged`, `answered`, `expired` or `cancelled`.
    pub state: String,
    /// How many requests it got for this hop (more than one after a staff redirect).
    pub requests: i64,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub notified_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub start_by: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub respond_by: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub answered_at: Option<Timestamp>,
    /// `upstream`, `upstream_new`, `originated` or `not_found`.
    pub answer_kind: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub opened_at: Timestamp,
}

impl From<HopRecord> for HopRequest {
    fn from(record: HopRecord) -> Self {
        Self {
            traceback_id: record.traceback_id,
            hop: record.reference.unwrap_or_default(),
            state: record.state,
            requests: record.requests,
            notified_at: record.notified_at,
            start_by: record.start_by,
            respond_by: record.respond_by,
            answered_at: record.answered_at,
            answer_kind: record.answer_kind,
            opened_at: record.opened_at,
        }
    }
}

/// Names the upstream by exactly one of its identifiers.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpstreamRef {
    /// The provider's id in this directory.
    pub provider_id: Option<String>,
    /// Its FCC Registration Number.
    pub frn: Option<String>,
    /// Its Robocall Mitigation Database number, e.g. `RMD0009001`.
    pub rmd_number: Option<String>,
}

/// An answer to a hop request (TB-2).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AnswerRequest {
    Upstream(UpstreamAnswer),
    UpstreamNew(UpstreamNewAnswer),
    Originated(OriginatedAnswer),
    NotFound(NotFoundAnswer),
}

/// The call came from a provider the directory knows.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpstreamAnswer {
    pub upstream: UpstreamRef,
    #[serde(default)]
    pub evidence: Evidence,
}

/// The call came from a provider the directory does not know: its contact details.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpstreamNewAnswer {
    pub upstream: SuppliedContact,
    #[serde(default)]
    pub evidence: Evidence,
}

/// Your customer originated the call.
#[derive(Debug, Deserialize, ToSchema)]
pub struct OriginatedAnswer {
    pub customer: Customer,
    #[serde(default)]
    pub mitigation: Option<Mitigation>,
    /// The attestation you signed the call with.
    #[serde(default)]
    pub attestation: Option<Attestation>,
    /// The customer's right to use the calling number.
    #[serde(default)]
    pub right_to_use: Option<String>,
}

/// You cannot find the call, or it is not yours.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NotFoundAnswer {
    pub reason: NotFoundReason,
    #[serde(default)]
    pub explanation: Option<String>,
}

impl ReadBody for AnswerRequest {
    /// Reads the variant `kind` names as its own struct: serde keeps no field path inside an
    /// internally tagged enum, and errors must name the field (`customer.name`).
    fn read(bytes: &[u8]) -> Result<Self, ApiError> {
        let mut body: serde_json::Map<String, serde_json::Value> = read_json(bytes)?;
        let kind = match body.remove("kind") {
            Some(serde_json::Value::String(kind)) => kind,
            Some(_) => return Err(ApiError::invalid("kind", "a string")),
            None => return Err(ApiError::invalid("kind", "missing field `kind`")),
        };
        let rest = serde_json::to_vec(&body).map_err(|e| ApiError::new("malformed-body", e.to_string()))?;
        match kind.as_str() {
            "upstream" => read_json(&rest).map(Self::Upstream),
            "upstream_new" => read_json(&rest).map(Self::UpstreamNew),
            "originated" => read_json(&rest).map(Self::Originated),
            "not_found" => read_json(&rest).map(Self::NotFound),
            other => Err(ApiError::invalid(
                "kind",
                format!(
                    "unknown variant `{other}`, expected one of `upstream`, `upstream_new`, `originated`, `not_found`"
                ),
            )),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisputeRequest {
    /// Why the basis of the traceback is wrong.
    pub grounds: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentRequest {
    pub text: String,
    /// `staff_only` (default) or `hop_parties`.
    #[serde(default)]
    pub visibility: Visibility,
}

// ---- staff side ---------------------------------------------------------------------------

/// TB-1: what starts a traceback. The call it traces, its category (SRC-4) and its campaign come
/// from the candidate and the incident.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartTraceback {
    /// An approved candidate (SRC-3); it can start one traceback.
    pub candidate_id: String,
    /// The incident whose call is traced; the candidate's own when absent.
    pub incident_id: Option<String>,
    pub terminating_provider: String,
    /// The campaign it belongs to, when not the candidate's or the incident's.
    pub campaign_id: Option<String>,
}

/// A traceback as lists show it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TracebackSummary {
    #[schema(value_type = String, format = Uuid)]
    pub id: String,
    pub number: i64,
    pub category: String,
    pub status: String,
    pub outcome: Option<String>,
    /// `us` or `international`, when the origin was identified.
    pub origin: Option<String>,
    pub campaign_id: Option<String>,
    pub terminating_provider: String,
    /// Where the trace stands.
    pub frontier_provider: Option<String>,
    pub hop_count: i64,
    pub strike_exempt: bool,
    #[schema(value_type = String, format = DateTime)]
    pub started_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub closed_at: Option<Timestamp>,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

impl From<TracebackRecord> for TracebackSummary {
    fn from(record: TracebackRecord) -> Self {
        Self {
            id: record.id,
            number: record.number,
            category: record.category,
            status: record.status,
            outcome: record.outcome,
            origin: record.origin,
            campaign_id: record.campaign_id,
            terminating_provider: record.terminating_provider,
            frontier_provider: record.frontier_provider,
            hop_count: record.hop_count,
            strike_exempt: record.strike_exempt,
            started_at: record.started_at,
            closed_at: record.closed_at,
            updated_at: record.updated_at,
        }
    }
}

/// A hop with what staff see of it: everything, plus its labels.
#[derive(Debug, Serialize, ToSchema)]
pub struct HopDetail {
    #[serde(flatten)]
    pub hop: Hop,
    pub labels: Vec<Label>,
    /// Still in the call path (not set aside by a redirect).
    pub in_path: bool,
    /// The opaque reference its provider knows it by.
    #[schema(value_type = String, format = Uuid)]
    pub reference: tracehop_core::traceback::HopRef,
}

/// The whole traceback (ACC-1: staff see everything).
#[derive(Debug, Serialize, ToSchema)]
pub struct TracebackDetail {
    pub id: TracebackId,
    pub number: i64,
    pub category: Category,
    pub status: Status,
    pub outcome: Option<Outcome>,
    pub call: CallFacts,
    pub campaign_id: Option<String>,
    pub candidate_id: Option<String>,
    pub incident_id: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub started_at: Timestamp,
    pub started_by: Actor,
    pub hop_count: usize,
    pub hops: Vec<HopDetail>,
    pub review: Option<Review>,
    pub closure: Option<Closure>,
    /// Present when staff marked it unreliable; every export says so and why.
    pub strike_exempt: Option<StrikeExempt>,
    pub disputes: Vec<Dispute>,
    pub comments: Vec<Comment>,
    pub recording_shared: bool,
    /// The summary of the basis providers read in place of `call.basis_summary`: staff's, or
    /// the default from the campaign label.
    pub provider_summary: String,
    /// Whether `provider_summary` is staff's own rather than the default.
    pub provider_summary_set: bool,
    /// How many events it has.
    pub version: u64,
}

impl TracebackDetail {
    pub fn of(number: i64, state: &Traceback) -> Option<Self> {
        let header = state.header.clone()?;
        let path: Vec<HopId> = state.path().iter().map(|h| h.id).collect();
        Some(Self {
            id: header.id,
            number,
            category: header.category,
            status: state.status(),
            outcome: state.outcome(),
            call: header.call,
            campaign_id: header.campaign,
            candidate_id: header.candidate,
            incident_id: header.incident,
            started_at: header.started_at,
            started_by: header.started_by,
            hop_count: state.hop_count(),
            hops: state
                .hops
                .iter()
                .map(|hop| HopDetail {
                    labels: state.labels(hop.id),
                    in_path: path.contains(&hop.id),
                    reference: state.hop_ref(hop.id),
                    hop: hop.clone(),
                })
                .collect(),
            review: state.review.clone(),
            closure: state.closure.clone(),
            strike_exempt: state.strike_exempt.clone(),
            disputes: state.disputes.clone(),
            comments: state.comments.clone(),
            recording_shared: state.recording_shared,
            provider_summary: tracehop_core::traceback::view::provider_summary(state, &state.header.as_ref()?.call),
            provider_summary_set: state.provider_summary.is_some(),
            version: state.version,
        })
    }
}

/// One event of a traceback's log, with its place in the hash chain.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventEntry {
    pub seq: i64,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    pub actor: Actor,
    pub change: Change,
    pub prev_hash: String,
    pub hash: String,
    #[schema(value_type = String, format = DateTime)]
    pub recorded_at: Timestamp,
}

impl From<StoredEvent> for EventEntry {
    fn from(stored: StoredEvent) -> Self {
        Self {
            seq: stored.seq,
            at: stored.event.at,
            actor: stored.event.actor,
            change: stored.event.change,
            prev_hash: stored.prev_hash,
            hash: stored.hash,
            recorded_at: stored.recorded_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtendRequest {
    /// The new respond-by; later than the current one.
    #[schema(value_type = String, format = DateTime)]
    pub respond_by: Timestamp,
    pub reason: String,
}

/// A staff decision that needs only a reason (redirect, close, reopen).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonRequest {
    pub reason: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewDisputeRequest {
    pub accept: bool,
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StrikeExemptRequest {
    pub reason: StrikeExemptReason,
    pub note: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffCommentRequest {
    pub text: String,
    /// The hop it concerns; required for `hop_parties` visibility.
    pub hop: Option<u32>,
    #[serde(default)]
    pub visibility: Visibility,
}

// ---- tokens and webhooks --------------------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    pub name: String,
    /// e.g. `["hops:read", "hops:answer"]`.
    pub scopes: Vec<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Timestamp>,
    pub rate_limit_per_minute: Option<u32>,
    /// Staff only: the provider the token acts for.
    pub provider_id: Option<String>,
    /// Staff admins only: a staff machine user's role (`admin` or `analyst`).
    pub staff_role: Option<String>,
    /// Staff only: the submitter (analytics provider, agency, organisation) the token acts for.
    pub submitter_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Token {
    pub id: String,
    /// The token's public part; the secret is never shown again.
    pub prefix: String,
    pub name: String,
    /// `provider` or `staff`.
    pub owner_kind: String,
    pub provider_id: Option<String>,
    pub staff_role: Option<String>,
    pub submitter_id: Option<String>,
    pub scopes: Vec<String>,
    pub rate_limit_per_minute: i64,
    pub created_by: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_used_at: Option<Timestamp>,
}

impl From<TokenRecord> for Token {
    fn from(record: TokenRecord) -> Self {
        Self {
            id: record.id,
            prefix: record.prefix,
            name: record.name,
            owner_kind: record.owner_kind,
            provider_id: record.provider_id,
            staff_role: record.staff_role,
            submitter_id: record.submitter_id,
            scopes: record.scopes,
            rate_limit_per_minute: record.rate_limit_per_minute,
            created_by: record.created_by,
            created_at: record.created_at,
            expires_at: record.expires_at,
            revoked_at: record.revoked_at,
            last_used_at: record.last_used_at,
        }
    }
}

/// A new token: `token` is shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub details: Token,
    /// Send as `Authorization: Bearer <token>`. Store it now: it cannot be shown again.
    pub token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// An `https` URL (`http` is accepted for loopback addresses, for development).
    pub url: String,
    /// Event types to receive, or `["*"]` for all.
    pub event_types: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhook {
    pub url: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub active: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateSecret {
    /// How long the previous secret keeps signing beside the new one (default 24 hours, at most
    /// 7 days).
    pub overlap_seconds: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Webhook {
    pub id: String,
    pub url: String,
    pub event_types: Vec<String>,
    pub active: bool,
    /// Until when deliveries also carry a signature with the previous secret.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub previous_secret_until: Option<Timestamp>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

impl From<WebhookRecord> for Webhook {
    fn from(record: WebhookRecord) -> Self {
        Self {
            id: record.id,
            url: record.url,
            event_types: record.event_types,
            active: record.active,
            previous_secret_until: record.previous_secret_until,
            created_at: record.created_at,
            updated_at: record.updated_at,
        }
    }
}

/// A webhook with its signing secret, shown when created or rotated.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookWithSecret {
    #[serde(flatten)]
    pub webhook: Webhook,
    /// Verify `Tracehop-Signature: t=<unix>,v1=<hex>` as HMAC-SHA256(secret, "<t>.<body>").
    pub secret: String,
}

/// One attempt to deliver a notification.
#[derive(Debug, Serialize, ToSchema)]
pub struct Delivery {
    pub id: i64,
    /// `email` or `webhook`.
    pub channel: String,
    pub webhook_id: Option<String>,
    pub traceback_id: Option<String>,
    /// The same for every attempt of one notification (`Tracehop-Delivery` header).
    pub event_id: String,
    pub event_type: String,
    /// The URL or the recipients.
    pub target: String,
    pub attempt: i64,
    /// `delivered` or `failed`.
    pub outcome: String,
    pub status_code: Option<i64>,
    pub error: Option<String>,
    pub duration_ms: i64,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
}

impl From<DeliveryRecord> for Delivery {
    fn from(record: DeliveryRecord) -> Self {
        Self {
            id: record.id,
            channel: record.channel,
            webhook_id: record.webhook_id,
            traceback_id: record.traceback_id,
            event_id: record.event_id,
            event_type: record.event_type,
            target: record.target,
            attempt: record.attempt,
            outcome: record.outcome,
            status_code: record.status_code,
            error: record.error,
            duration_ms: record.duration_ms,
            at: record.at,
        }
    }
}

/// Who the token stands for.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub token_id: String,
    /// `provider`, `staff` or `submitter`.
    pub kind: String,
    pub provider_id: Option<String>,
    pub staff_role: Option<String>,
    pub submitter_id: Option<String>,
    pub scopes: Vec<String>,
}
