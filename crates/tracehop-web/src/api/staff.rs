//! What consortium staff do through the API: start tracebacks, read them whole, and steer them.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tracehop_app::access::tokens::Scope;
use tracehop_app::traceback::{Executed, TracebackOrder};
use tracehop_core::provider::ProviderId;
use tracehop_core::traceback::command::Action;
use tracehop_core::traceback::{DisputeId, HopId, TracebackId};
use tracehop_store::tracebacks::TracebackFilter;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Authenticated;
use super::json::{ApiBody, ApiJson, ApiPath, ApiQuery, Page, decode_cursor, limit, page};
use super::model::{
    AnswerRequest, EventEntry, ExtendRequest, NotFoundAnswer, OriginatedAnswer, ReasonRequest, ReviewDisputeRequest,
    StaffCommentRequest, StartTraceback, StrikeExemptRequest, TracebackDetail, TracebackSummary, UpstreamAnswer,
    UpstreamNewAnswer,
};
use super::problem::{ApiError, ApiResult, Problem};
use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(start_traceback, list_tracebacks))
        .routes(routes!(get_traceback))
        .routes(routes!(list_traceback_events))
        .routes(routes!(extend_deadline))
        .routes(routes!(redirect_hop))
        .routes(routes!(notify_hop))
        .routes(routes!(answer_on_behalf))
        .routes(routes!(close_traceback))
        .routes(routes!(reopen_traceback))
        .routes(routes!(review_dispute))
        .routes(routes!(mark_strike_exempt))
        .routes(routes!(add_staff_comment))
}

fn detail_of(executed: &Executed) -> ApiResult<Json<TracebackDetail>> {
    TracebackDetail::of(executed.number, &executed.state).map(Json).ok_or_else(|| ApiError::not_found("traceback"))
}

/// TB-1: starts a traceback from an approved candidate and an incident at the terminating
/// provider, which is asked at once. The candidate is then `started`.
#[utoipa::path(post, path = "/tracebacks", tag = "staff",
    params(("Idempotency-Key" = Option<String>, Header)),
    request_body = StartTraceback,
    responses((status = 201, body = TracebackDetail), (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = ["tracebacks:manage"])))]
async fn start_traceback(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(body): ApiJson<StartTraceback>,
) -> ApiResult<Response> {
    let caller = auth.with(Scope::TracebacksManage)?;
    let terminating = ProviderId::new(body.terminating_provider)
        .map_err(|e| ApiError::invalid("terminating_provider", e.to_string()))?;
    let order = TracebackOrder {
        candidate: body.candidate_id,
        incident: body.incident_id,
        terminating,
        campaign: body.campaign_id,
    };
    let executed = state.app.staff(&caller.principal)?.start(order).await.map_err(|error| match error {
        tracehop_app::AppError::Invalid { field, message } if field == "terminating" => {
            ApiError::invalid("terminating_provider", message)
        }
        other => other.into(),
    })?;
    let location = format!("/api/v1/tracebacks/{}", executed.traceback);
    let Json(detail) = detail_of(&executed)?;
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(detail)).into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TracebacksQuery {
    /// `open`, `needs_review` or `closed`.
    pub status: Option<String>,
    pub campaign_id: Option<String>,
    /// `domestic` or `foreign_law_enforcement`.
    pub category: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

/// Tracebacks, newest first, filtered by status, campaign and category.
#[utoipa::path(get, path = "/tracebacks", tag = "staff", params(TracebacksQuery),
    responses((status = 200, body = Page<TracebackSummary>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = ["tracebacks:read"])))]
async fn list_tracebacks(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(query): ApiQuery<TracebacksQuery>,
) -> ApiResult<Json<Page<TracebackSummary>>> {
    let caller = auth.with(Scope::TracebacksRead)?;
    state.app.staff(&caller.principal)?;
    if let Some(status) = &query.status
        && !["open", "needs_review", "closed"].contains(&status.as_str())
    {
        return Err(ApiError::invalid("status", "one of open, needs_review, closed"));
    }
    if let Some(category) = &query.category
        && !["domestic", "foreign_law_enforcement"].contains(&category.as_str())
    {
        return Err(ApiError::invalid("category", "domestic or foreign_law_enforcement"));
    }
    let limit = limit(query.limit)?;
    let filter = TracebackFilter {
        status: query.status,
        campaign_id: query.campaign_id,
        category: query.category,
        before: query.cursor.as_deref().map(decode_cursor::<(i64, String)>).transpose()?,
        limit: limit + 1,
    };
    let rows = state.app.store().list_tracebacks(&filter).await.map_err(tracehop_app::AppError::from)?;
    Ok(Json(page(rows, limit, |r| (r.started_at.as_microsecond(), r.id.clone()), TracebackSummary::from)))
}

/// The whole traceback: hops with labels and answers, disputes, comments, status and outcome.
#[utoipa::path(get, path = "/tracebacks/{traceback}", tag = "staff",
    params(("traceback" = String, Path, format = Uuid)),
    responses((status = 200, body = TracebackDetail), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = ["tracebacks:read"])))]
async fn get_traceback(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(traceback): ApiPath<uuid::Uuid>,
) -> ApiResult<Json<TracebackDetail>> {
    let caller = auth.with(Scope::TracebacksRead)?;
    let (number, traceback) = state.app.staff(&caller.principal)?.traceback(TracebackId(traceback)).await?;
    TracebackDetail::of(number, &traceback).map(Json).ok_or_else(|| ApiError::not_found("traceback"))
}

/// The traceback's log: every event with its hash chain (TB-10).
#[utoipa::path(get, path = "/tracebacks/{traceback}/events", tag = "staff",
    params(("traceback" = String, Path, format = Uuid)),
    responses((status = 200, body = Vec<EventEntry>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = ["tracebacks:read"])))]
async fn list_traceback_events(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(traceback): ApiPath<uuid::Uuid>,
) -> ApiResult<Json<Vec<EventEntry>>> {
    let caller = auth.with(Scope::TracebacksRead)?;
    state.app.staff(&caller.principal)?.traceback(TracebackId(traceback)).await?;
    let stored = state.app.store().load_events(&traceback.to_string()).await.map_err(tracehop_app::AppError::from)?;
    Ok(Json(stored.into_iter().map(EventEntry::from).collect()))
}

async fn act(
    state: &AppState,
    auth: Authenticated,
    traceback: uuid::Uuid,
    action: Action,
) -> ApiResult<Json<TracebackDetail>> {
    let caller = auth.with(Scope::TracebacksManage)?;
    detail_of(&state.app.staff(&caller.principal)?.act(TracebackId(traceback), action).await?)
}

/// Moves a hop's respond-by later, with a reason.
#[utoipa::path(post, path = "/tracebacks/{traceback}/hops/{hop}/extend", tag = "staff",
    params(("traceback" = String, Path, format = Uuid), ("hop" = u32, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body = ExtendRequest,
    responses((status = 200, body = TracebackDetail), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = ["tracebacks:manage"])))]
async fn extend_deadline(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath((traceback, hop)): ApiPath<(uuid::Uuid, u32)>,
    ApiJson(body): ApiJson<ExtendRequest>,
) -> ApiResult<Json<TracebackDetail>> {
    act(&state, auth, traceback, Action::Extend { hop: HopId(hop), respond_by: body.respond_by, reason: body.reason })
        .await
}

/// TB-8: asks a hop again and sets aside every hop upstream of it (after "not our call").
#[utoipa::path(post, path = "/tracebacks/{traceback}/hops/{hop}/redirect", tag = "staff",
    params(("traceback" = String, Path, format = Uuid), ("hop" = u32, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body = ReasonRequest,
    responses((status = 200, body = TracebackDetail), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = ["tracebacks:manage"])))]
async fn redirect_hop(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath((traceback, hop)): ApiPath<(uuid::Uuid, u32)>,
    ApiJson(body): ApiJson<ReasonRequest>,
) -> ApiResult<Json<TracebackDetail>> {
    act(&state, auth, traceback, Action::Redirect { hop: HopId(hop), reason: body.reason }).await
}

/// Sends the request of a hop whose provider could not be reached when the hop opened.
#[utoipa::path(post, path = "/tracebacks/{traceback}/hops/{hop}/notify", tag = "staff",
    params(("traceback" = String, Path, format = Uuid), ("hop" = u32, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = TracebackDetail), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = ["tracebacks:manage"])))]
async fn notify_hop(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath((traceback, hop)): ApiPath<(uuid::Uuid, u32)>,
) -> ApiResult<Json<TracebackDetail>> {
    act(&state, auth, traceback, Action::Notify { hop: HopId(hop) }).await
}

/// Enters a provider's answer given by email or phone, on its behalf.
#[utoipa::path(post, path = "/tracebacks/{traceback}/hops/{hop}/answer", tag = "staff",
    params(("traceback" = String, Path, format = Uuid), ("hop" = u32, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body = AnswerRequest,
    responses((status = 200, body = TracebackDetail), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = ["tracebacks:manage"])))]
async fn answer_on_behalf(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath((traceback, hop)): ApiPath<(uuid::Uuid, u32)>,
    ApiBody(body): ApiBody<AnswerRequest>,
) -> ApiResult<Json<TracebackDetail>> {
    let caller = auth.with(Scope::TracebacksManage)?;
    let staff = state.app.staff(&caller.principal)?;
    let (traceback, hop) = (TracebackId(traceback), HopId(hop));
    let executed = match body {
        AnswerRequest::Upstream(UpstreamAnswer { upstream, evidence }) => {
            staff.answer_upstream(traceback, hop, super::provider::upstream_choice(upstream)?, evidence).await?
        }
        AnswerRequest::UpstreamNew(UpstreamNewAnswer { upstream, evidence }) => {
            staff
                .answer_upstream(traceback, hop, tracehop_app::traceback::UpstreamChoice::New(upstream), evidence)
                .await?
        }
        AnswerRequest::Originated(OriginatedAnswer { customer, mitigation, attestation, right_to_use }) => {
            let reply = tracehop_core::traceback::Reply::Originated { customer, mitigation, attestation, right_to_use };
            staff.act(traceback, Action::Answer { hop, reply: Box::new(reply) }).await?
        }
        AnswerRequest::NotFound(NotFoundAnswer { reason, explanation }) => {
            let reply = tracehop_core::traceback::Reply::NotFound { reason, explanation };
            staff.act(traceback, Action::Answer { hop, reply: Box::new(reply) }).await?
        }
    };
    detail_of(&executed)
}

/// TB-8: withdraws the traceback; waiting hops are cancelled.
#[utoipa::path(post, path = "/tracebacks/{traceback}/close", tag = "staff",
    params(("traceback" = String, Path, format = Uuid), ("Idempotency-Key" = Option<String>, Header)),
    request_body = ReasonRequest,
    responses((status = 200, body = TracebackDetail), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = ["tracebacks:manage"])))]
async fn close_traceback(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(traceback): ApiPath<uuid::Uuid>,
    ApiJson(body): ApiJson<ReasonRequest>,
) -> ApiResult<Json<TracebackDetail>> {
    act(&state, auth, traceback, Action::Close { reason: body.reason }).await
}

/// Puts a closed traceback, or one waiting for review, back in motion at its frontier.
#[utoipa::path(post, path = "/tracebacks/{traceback}/reopen", tag = "staff",
    params(("traceback" = String, Path, format = Uuid), ("Idempotency-Key" = Option<String>, Header)),
    request_body = ReasonRequest,
    responses((status = 200, body = TracebackDetail), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = ["tracebacks:manage"])))]
async fn reopen_traceback(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(traceback): ApiPath<uuid::Uuid>,
    ApiJson(body): ApiJson<ReasonRequest>,
) -> ApiResult<Json<TracebackDetail>> {
    act(&state, auth, traceback, Action::Reopen { reason: body.reason }).await
}

/// TB-9: accepts or rejects a dispute; accepting makes the traceback strike exempt.
#[utoipa::path(post, path = "/tracebacks/{traceback}/disputes/{dispute}/review", tag = "staff",
    params(("traceback" = String, Path, format = Uuid), ("dispute" = u32, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body = ReviewDisputeRequest,
    responses((status = 200, body = TracebackDetail), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = ["tracebacks:manage"])))]
async fn review_dispute(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath((traceback, dispute)): ApiPath<(uuid::Uuid, u32)>,
    ApiJson(body): ApiJson<ReviewDisputeRequest>,
) -> ApiResult<Json<TracebackDetail>> {
    act(
        &state,
        auth,
        traceback,
        Action::ReviewDispute { dispute: DisputeId(dispute), accept: body.accept, note: body.note },
    )
    .await
}

/// TB-9: marks the traceback unreliable, with a reason; it leaves aggregate metrics.
#[utoipa::path(post, path = "/tracebacks/{traceback}/strike-exempt", tag = "staff",
    params(("traceback" = String, Path, format = Uuid), ("Idempotency-Key" = Option<String>, Header)),
    request_body = StrikeExemptRequest,
    responses((status = 200, body = TracebackDetail), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = ["tracebacks:manage"])))]
async fn mark_strike_exempt(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(traceback): ApiPath<uuid::Uuid>,
    ApiJson(body): ApiJson<StrikeExemptRequest>,
) -> ApiResult<Json<TracebackDetail>> {
    act(&state, auth, traceback, Action::MarkStrikeExempt { reason: body.reason, note: body.note }).await
}

/// A staff comment: for staff only, or for one hop's parties.
#[utoipa::path(post, path = "/tracebacks/{traceback}/comments", tag = "staff",
    params(("traceback" = String, Path, format = Uuid), ("Idempotency-Key" = Option<String>, Header)),
    request_body = StaffCommentRequest,
    responses((status = 200, body = TracebackDetail), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = ["tracebacks:manage"])))]
async fn add_staff_comment(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(traceback): ApiPath<uuid::Uuid>,
    ApiJson(body): ApiJson<StaffCommentRequest>,
) -> ApiResult<Json<TracebackDetail>> {
    act(
        &state,
        auth,
        traceback,
        Action::Comment { hop: body.hop.map(HopId), text: body.text, visibility: body.visibility },
    )
    .await
}
