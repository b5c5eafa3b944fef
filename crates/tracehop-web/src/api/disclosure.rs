//! What staff choose to show providers of a traceback (ACC-2): the summary of the basis they
//! read in place of the submitter's words, and the incident's SIP Call-ID for a hop other than
//! the terminating one.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use tracehop_app::access::tokens::Scope;
use tracehop_core::traceback::command::Action;
use tracehop_core::traceback::{HopId, TracebackId};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Authenticated;
use super::json::{ApiJson, ApiPath};
use super::model::TracebackDetail;
use super::problem::{ApiError, ApiResult, Problem};
use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(set_provider_summary)).routes(routes!(share_call_id))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderSummaryRequest {
    /// What providers read as the basis of the traceback; `null` goes back to the default (the
    /// campaign label and a neutral sentence). Never paste the submitter's text unreviewed: it
    /// may name the source or other tracebacks.
    pub summary: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShareCallIdRequest {
    pub shared: bool,
}

async fn act(
    state: &AppState,
    auth: Authenticated,
    traceback: uuid::Uuid,
    action: Action,
) -> ApiResult<Json<TracebackDetail>> {
    let caller = auth.with(Scope::TracebacksManage)?;
    let executed = state.app.staff(&caller.principal)?.act(TracebackId(traceback), action).await?;
    TracebackDetail::of(executed.number, &executed.state).map(Json).ok_or_else(|| ApiError::not_found("traceback"))
}

/// Writes or approves the summary of the basis that providers read (event
/// `provider_summary_set`); they never see the submitter's own text.
#[utoipa::path(put, path = "/tracebacks/{traceback}/provider-summary", tag = "staff",
    params(("traceback" = String, Path, format = Uuid), ("Idempotency-Key" = Option<String>, Header)),
    request_body = ProviderSummaryRequest,
    responses((status = 200, body = TracebackDetail), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = ["tracebacks:manage"])))]
async fn set_provider_summary(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(traceback): ApiPath<uuid::Uuid>,
    ApiJson(body): ApiJson<ProviderSummaryRequest>,
) -> ApiResult<Json<TracebackDetail>> {
    act(&state, auth, traceback, Action::SetProviderSummary { summary: body.summary }).await
}

/// Shows (or stops showing) the incident's SIP Call-ID to the provider of a hop (event
/// `call_id_shared`). The terminating provider sees it anyway: it identifies its leg.
#[utoipa::path(post, path = "/tracebacks/{traceback}/hops/{hop}/share-call-id", tag = "staff",
    params(("traceback" = String, Path, format = Uuid), ("hop" = u32, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body = ShareCallIdRequest,
    responses((status = 200, body = TracebackDetail), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = ["tracebacks:manage"])))]
async fn share_call_id(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath((traceback, hop)): ApiPath<(uuid::Uuid, u32)>,
    ApiJson(body): ApiJson<ShareCallIdRequest>,
) -> ApiResult<Json<TracebackDetail>> {
    act(&state, auth, traceback, Action::ShareCallId { hop: HopId(hop), shared: body.shared }).await
}
