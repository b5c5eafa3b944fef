//! What a provider's systems do: list their hop requests, read one (the ACC-2 view), and answer.

use axum::Json;
use axum::extract::State;
use jiff::Timestamp;
use serde::Deserialize;
use tracehop_app::access::principal::ProviderHandle;
use tracehop_app::access::tokens::Scope;
use tracehop_app::traceback::{Executed, UpstreamChoice};
use tracehop_core::provider::ProviderId;
use tracehop_core::traceback::view::ProviderView;
use tracehop_core::traceback::{HopId, Reply, TracebackId};
use tracehop_store::providers::IdentifierKind;
use tracehop_store::tracebacks::HopFilter;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Authenticated;
use super::json::{ApiBody, ApiJson, ApiPath, ApiQuery, Page, PageQuery, decode_cursor, limit, page};
use super::model::{
    AnswerRequest, CommentRequest, DisputeRequest, HopRequest, NotFoundAnswer, OriginatedAnswer, UpstreamAnswer,
    UpstreamNewAnswer, UpstreamRef,
};
use super::problem::{ApiError, ApiResult, Problem};
use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_my_hops))
        .routes(routes!(my_hop_history))
        .routes(routes!(view_my_traceback))
        .routes(routes!(acknowledge_hop))
        .routes(routes!(answer_hop))
        .routes(routes!(dispute_traceback))
        .routes(routes!(comment_on_hop))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HopsQuery {
    /// `waiting` (open or acknowledged; the default), `open`, `acknowledged`, `answered`,
    /// `expired`, `cancelled` or `all`.
    pub state: Option<String>,
    /// Only hops whose respond-by is at or before this time.
    #[param(value_type = Option<String>, format = DateTime)]
    pub due_before: Option<Timestamp>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

type HopCursor = (i64, String, i64);

async fn hops_page(
    state: &AppState,
    auth: Authenticated,
    mut filter: HopFilter,
    cursor: Option<&str>,
    requested: Option<i64>,
) -> ApiResult<Json<Page<HopRequest>>> {
    let caller = auth.with(Scope::HopsRead)?;
    let handle = state.app.provider(&caller.principal)?;
    let limit = limit(requested)?;
    filter.after = cursor.map(decode_cursor::<HopCursor>).transpose()?;
    filter.limit = limit + 1;
    let rows = handle.hops(filter).await?;
    Ok(Json(page(rows, limit, |r| (r.opened_at.as_microsecond(), r.traceback_id.clone(), r.hop), HopRequest::from)))
}

/// The caller's hop requests, oldest first: by default those still waiting for an answer.
#[utoipa::path(get, path = "/provider/hops", tag = "provider", params(HopsQuery),
    responses((status = 200, body = Page<HopRequest>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = ["hops:read"])))]
async fn list_my_hops(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(query): ApiQuery<HopsQuery>,
) -> ApiResult<Json<Page<HopRequest>>> {
    let (waiting_only, state_filter) = match query.state.as_deref().unwrap_or("waiting") {
        "waiting" => (true, None),
        "all" => (false, None),
        one @ ("open" | "acknowledged" | "answered" | "expired" | "cancelled") => (false, Some(one.to_owned())),
        _ => {
            return Err(ApiError::invalid(
                "state",
                "one of waiting, open, acknowledged, answered, expired, cancelled, all",
            ));
        }
    };
    let filter = HopFilter { waiting_only, state: state_filter, due_before: query.due_before, ..HopFilter::default() };
    hops_page(&state, auth, filter, query.cursor.as_deref(), query.limit).await
}

/// Every hop request the caller ever got, oldest first.
#[utoipa::path(get, path = "/provider/hops/history", tag = "provider", params(PageQuery),
    responses((status = 200, body = Page<HopRequest>), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = ["hops:read"])))]
async fn my_hop_history(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<HopRequest>>> {
    hops_page(&state, auth, HopFilter::default(), query.cursor.as_deref(), query.limit).await
}

/// A traceback as the caller may see it: its own hops, what it needs to find the call, who named
/// it, its answers, deadlines and comments meant for it. Not found unless it has a hop in it.
#[utoipa::path(get, path = "/provider/tracebacks/{traceback}", tag = "provider",
    params(("traceback" = String, Path, format = Uuid)),
    responses((status = 200, body = ProviderView), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = ["hops:read"])))]
async fn view_my_traceback(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(traceback): ApiPath<uuid::Uuid>,
) -> ApiResult<Json<ProviderView>> {
    let caller = auth.with(Scope::HopsRead)?;
    Ok(Json(state.app.provider(&caller.principal)?.view(TracebackId(traceback)).await?))
}

/// The caller's view after a command it ran.
async fn view_after(executed: &Executed, handle: &ProviderHandle<'_>) -> ApiResult<Json<ProviderView>> {
    handle.view_of(&executed.state).await?.map(Json).ok_or_else(|| ApiError::not_found("traceback"))
}

/// Says the provider has started investigating (Best Practice 3: within four business hours).
#[utoipa::path(post, path = "/provider/tracebacks/{traceback}/hops/{hop}/acknowledge", tag = "provider",
    params(("traceback" = String, Path, format = Uuid), ("hop" = u32, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = ProviderView), (status = 401, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = ["hops:answer"])))]
async fn acknowledge_hop(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath((traceback, hop)): ApiPath<(uuid::Uuid, u32)>,
) -> ApiResult<Json<ProviderView>> {
    let caller = auth.with(Scope::HopsAnswer)?;
    let handle = state.app.provider(&caller.principal)?;
    let executed = handle.acknowledge(TracebackId(traceback), HopId(hop)).await?;
    view_after(&executed, &handle).await
}

pub(super) fn upstream_choice(upstream: UpstreamRef) -> ApiResult<UpstreamChoice> {
    let given: Vec<(&str, String)> =
        [("provider_id", upstream.provider_id), ("frn", upstream.frn), ("rmd_number", upstream.rmd_number)]
            .into_iter()
            .filter_map(|(field, value)| value.map(|v| (field, v)))
            .collect();
    match given.as_slice() {
        [("provider_id", id)] => ProviderId::new(id.clone())
            .map(UpstreamChoice::Known)
            .map_err(|e| ApiError::invalid("upstream.provider_id", e.to_string())),
        [("frn", frn)] => Ok(UpstreamChoice::Identified(IdentifierKind::Frn, frn.clone())),
        [("rmd_number", rmd)] => Ok(UpstreamChoice::Identified(IdentifierKind::Rmd, rmd.clone())),
        _ => Err(ApiError::invalid("upstream", "give exactly one of provider_id, frn or rmd_number")),
    }
}

/// The provider's answer: the upstream it received the call from (known, or new contact
/// details), its own customer as the originator, or that it cannot find the call.
#[utoipa::path(post, path = "/provider/tracebacks/{traceback}/hops/{hop}/answer", tag = "provider",
    params(("traceback" = String, Path, format = Uuid), ("hop" = u32, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body = AnswerRequest,
    responses((status = 200, body = ProviderView), (status = 401, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = ["hops:answer"])))]
async fn answer_hop(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath((traceback, hop)): ApiPath<(uuid::Uuid, u32)>,
    ApiBody(body): ApiBody<AnswerRequest>,
) -> ApiResult<Json<ProviderView>> {
    let caller = auth.with(Scope::HopsAnswer)?;
    let handle = state.app.provider(&caller.principal)?;
    let (traceback, hop) = (TracebackId(traceback), HopId(hop));
    let executed = match body {
        AnswerRequest::Upstream(UpstreamAnswer { upstream, evidence }) => {
            handle.answer_upstream(traceback, hop, upstream_choice(upstream)?, evidence).await?
        }
        AnswerRequest::UpstreamNew(UpstreamNewAnswer { upstream, evidence }) => {
            handle.answer_upstream(traceback, hop, UpstreamChoice::New(upstream), evidence).await?
        }
        AnswerRequest::Originated(OriginatedAnswer { customer, mitigation, attestation, right_to_use }) => {
            handle.answer(traceback, hop, Reply::Originated { customer, mitigation, attestation, right_to_use }).await?
        }
        AnswerRequest::NotFound(NotFoundAnswer { reason, explanation }) => {
            handle.answer(traceback, hop, Reply::NotFound { reason, explanation }).await?
        }
    };
    view_after(&executed, &handle).await
}

/// Disputes the basis of the traceback (TB-9); staff review it.
#[utoipa::path(post, path = "/provider/tracebacks/{traceback}/hops/{hop}/dispute", tag = "provider",
    params(("traceback" = String, Path, format = Uuid), ("hop" = u32, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body = DisputeRequest,
    responses((status = 200, body = ProviderView), (status = 401, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = ["hops:answer"])))]
async fn dispute_traceback(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath((traceback, hop)): ApiPath<(uuid::Uuid, u32)>,
    ApiJson(body): ApiJson<DisputeRequest>,
) -> ApiResult<Json<ProviderView>> {
    let caller = auth.with(Scope::HopsAnswer)?;
    let handle = state.app.provider(&caller.principal)?;
    let executed = handle.dispute(TracebackId(traceback), HopId(hop), body.grounds).await?;
    view_after(&executed, &handle).await
}

/// Comments on one of the caller's hops: for staff only, or also for the hop's parties.
#[utoipa::path(post, path = "/provider/tracebacks/{traceback}/hops/{hop}/comments", tag = "provider",
    params(("traceback" = String, Path, format = Uuid), ("hop" = u32, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body = CommentRequest,
    responses((status = 200, body = ProviderView), (status = 401, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = ["hops:answer"])))]
async fn comment_on_hop(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath((traceback, hop)): ApiPath<(uuid::Uuid, u32)>,
    ApiJson(body): ApiJson<CommentRequest>,
) -> ApiResult<Json<ProviderView>> {
    let caller = auth.with(Scope::HopsAnswer)?;
    let handle = state.app.provider(&caller.principal)?;
    let executed = handle.comment(TracebackId(traceback), HopId(hop), body.text, body.visibility).await?;
    view_after(&executed, &handle).await
}
