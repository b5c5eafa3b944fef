//! Traceback candidates (SRC-1…4): sources submit them; staff record due diligence and a legal
//! basis, then approve or reject. Only an approved candidate starts a traceback.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tracehop_app::access::tokens::{Caller, Scope};
use tracehop_app::intake::candidates::{NewCandidate, parse_legal_basis};
use tracehop_core::intake::{DueDiligence, LegalBasis, SourceKind};
use tracehop_store::candidates::{CandidateFilter, CandidateRecord};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Authenticated;
use super::json::{ApiJson, ApiPath, ApiQuery, Page, decode_cursor, limit, page};
use super::problem::{ApiError, ApiResult, Problem};
use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(submit_candidate, list_candidates))
        .routes(routes!(get_candidate))
        .routes(routes!(record_due_diligence))
        .routes(routes!(approve_candidate))
        .routes(routes!(reject_candidate))
}

/// A candidate for a traceback, as submitted by a source.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CandidateSubmission {
    /// Staff name the source; a submitter's token is its own source.
    pub source_kind: Option<SourceKind>,
    /// Staff may name the submitting organisation.
    pub submitter_id: Option<String>,
    /// The incident the candidate rests on.
    pub incident_id: Option<String>,
    pub campaign_id: Option<String>,
    /// What the calls are and why they should be traced.
    pub summary: String,
}

/// A candidate and what staff decided about it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Candidate {
    pub id: String,
    pub source_kind: String,
    /// `domestic` or `foreign_law_enforcement` (SRC-4).
    pub category: String,
    pub submitter_id: Option<String>,
    pub submitted_by: String,
    pub incident_id: Option<String>,
    pub campaign_id: Option<String>,
    pub summary: String,
    /// `pending`, `approved`, `rejected` or `started`.
    pub status: String,
    pub due_diligence: Option<DueDiligence>,
    pub legal_basis: Option<LegalBasis>,
    pub decided_by: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub decided_at: Option<Timestamp>,
    pub rejection_reason: Option<String>,
    /// The traceback it started.
    pub traceback_id: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

impl From<CandidateRecord> for Candidate {
    fn from(record: CandidateRecord) -> Self {
        Self {
            due_diligence: record.due_diligence.as_deref().and_then(|text| serde_json::from_str(text).ok()),
            legal_basis: record.legal_basis.as_deref().and_then(parse_legal_basis),
            id: record.id,
            source_kind: record.source_kind,
            category: record.category,
            submitter_id: record.submitter_id,
            submitted_by: record.submitted_by,
            incident_id: record.incident_id,
            campaign_id: record.campaign_id,
            summary: record.summary,
            status: record.status,
            decided_by: record.decided_by,
            decided_at: record.decided_at,
            rejection_reason: record.rejection_reason,
            traceback_id: record.traceback_id,
            created_at: record.created_at,
            updated_at: record.updated_at,
        }
    }
}

/// The due diligence of SRC-2 and the legal basis under 47 U.S.C. 222(d)(2).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DueDiligenceRequest {
    pub due_diligence: DueDiligence,
    pub legal_basis: Option<LegalBasis>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectionRequest {
    /// Kept with the candidate (SRC-3).
    pub reason: String,
}

/// Staff review candidates with `intake:manage`; submitters see their own with
/// `candidates:submit`.
fn reader(auth: Authenticated) -> Result<Caller, ApiError> {
    if auth.0.scopes.contains(&Scope::IntakeManage) { Ok(auth.0) } else { auth.with(Scope::CandidatesSubmit) }
}

/// SRC-1: submits a candidate. Analytics providers, agencies and organisations submit with
/// their own tokens; staff enter candidates from any source.
#[utoipa::path(post, path = "/candidates", tag = "intake",
    params(("Idempotency-Key" = Option<String>, Header)),
    request_body = CandidateSubmission,
    responses((status = 201, body = Candidate), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = ["candidates:submit"])))]
async fn submit_candidate(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(body): ApiJson<CandidateSubmission>,
) -> ApiResult<Response> {
    let caller = auth.with(Scope::CandidatesSubmit)?;
    let new = NewCandidate {
        source_kind: body.source_kind,
        submitter_id: body.submitter_id,
        incident_id: body.incident_id,
        campaign_id: body.campaign_id,
        summary: body.summary,
    };
    let candidate = state.app.submit_candidate(&caller.principal, new).await?;
    let location = format!("/api/v1/candidates/{}", candidate.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(Candidate::from(candidate))).into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CandidatesQuery {
    /// `pending`, `approved`, `rejected` or `started`.
    pub status: Option<String>,
    /// `domestic` or `foreign_law_enforcement`.
    pub category: Option<String>,
    /// Staff only: one submitter's candidates.
    pub submitter_id: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

/// Candidates, newest first: staff see all, a submitter its own.
#[utoipa::path(get, path = "/candidates", tag = "intake", params(CandidatesQuery),
    responses((status = 200, body = Page<Candidate>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = ["intake:manage"]), ("bearer" = ["candidates:submit"])))]
async fn list_candidates(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(query): ApiQuery<CandidatesQuery>,
) -> ApiResult<Json<Page<Candidate>>> {
    let caller = reader(auth)?;
    if let Some(status) = &query.status
        && !["pending", "approved", "rejected", "started"].contains(&status.as_str())
    {
        return Err(ApiError::invalid("status", "one of pending, approved, rejected, started"));
    }
    if let Some(category) = &query.category
        && !["domestic", "foreign_law_enforcement"].contains(&category.as_str())
    {
        return Err(ApiError::invalid("category", "domestic or foreign_law_enforcement"));
    }
    let limit = limit(query.limit)?;
    let filter = CandidateFilter {
        status: query.status,
        category: query.category,
        submitter_id: query.submitter_id,
        before: query.cursor.as_deref().map(decode_cursor::<(i64, String)>).transpose()?,
        limit: limit + 1,
    };
    let rows = state.app.candidates(&caller.principal, filter).await?;
    Ok(Json(page(rows, limit, |r| (r.created_at.as_microsecond(), r.id.clone()), Candidate::from)))
}

/// One candidate.
#[utoipa::path(get, path = "/candidates/{candidate}", tag = "intake",
    params(("candidate" = String, Path)),
    responses((status = 200, body = Candidate), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = ["intake:manage"]), ("bearer" = ["candidates:submit"])))]
async fn get_candidate(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(candidate): ApiPath<String>,
) -> ApiResult<Json<Candidate>> {
    let caller = reader(auth)?;
    Ok(Json(state.app.candidate(&caller.principal, &candidate).await?.into()))
}

/// SRC-2: records the due diligence and legal basis of a pending candidate.
#[utoipa::path(post, path = "/candidates/{candidate}/due-diligence", tag = "intake",
    params(("candidate" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body = DueDiligenceRequest,
    responses((status = 200, body = Candidate), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = ["intake:manage"])))]
async fn record_due_diligence(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(candidate): ApiPath<String>,
    ApiJson(body): ApiJson<DueDiligenceRequest>,
) -> ApiResult<Json<Candidate>> {
    let caller = auth.with(Scope::IntakeManage)?;
    let record =
        state.app.record_due_diligence(&caller.principal, &candidate, &body.due_diligence, body.legal_basis).await?;
    Ok(Json(record.into()))
}

/// SRC-3: approves a pending candidate whose due diligence and legal basis are complete.
#[utoipa::path(post, path = "/candidates/{candidate}/approve", tag = "intake",
    params(("candidate" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = Candidate), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = ["intake:manage"])))]
async fn approve_candidate(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(candidate): ApiPath<String>,
) -> ApiResult<Json<Candidate>> {
    let caller = auth.with(Scope::IntakeManage)?;
    Ok(Json(state.app.approve_candidate(&caller.principal, &candidate).await?.into()))
}

/// SRC-3: rejects a pending candidate; it is kept with the reason.
#[utoipa::path(post, path = "/candidates/{candidate}/reject", tag = "intake",
    params(("candidate" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body = RejectionRequest,
    responses((status = 200, body = Candidate), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = ["intake:manage"])))]
async fn reject_candidate(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(candidate): ApiPath<String>,
    ApiJson(body): ApiJson<RejectionRequest>,
) -> ApiResult<Json<Candidate>> {
    let caller = auth.with(Scope::IntakeManage)?;
    Ok(Json(state.app.reject_candidate(&caller.principal, &candidate, &body.reason).await?.into()))
}
