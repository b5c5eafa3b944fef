//! What a provider's systems do: list their hop requests, read one (the ACC-2 view), and answer.

use axum::Json;
use axum::extract::State;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tracehop_app::access::principal::ProviderHandle;
use tracehop_app::access::tokens::{Caller, Scope};
use tracehop_app::traceback::{Executed, UpstreamChoice};
use tracehop_core::provider::ProviderId;
use tracehop_core::traceback::view::ProviderView;
use tracehop_core::traceback::{Change, CommentRef, DisputeRef, HopRef, HopState, Reply, TracebackId};
use tracehop_store::providers::IdentifierKind;
use tracehop_store::tracebacks::HopFilter;
use utoipa::IntoParams;
use utoipa::ToSchema;
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

type HopCursor = (i64, String, String);

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
    Ok(Json(page(
        rows,
        limit,
        |r| (r.opened_at.as_microsecond(), r.traceback_id.clone(), r.reference.clone().unwrap_or_default()),
        HopRequest::from,
    )))
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

/// What a command did, for a token without `hops:read`: the ids it touched and the hop's state,
/// not the view of the traceback.
#[derive(Debug, Serialize, ToSchema)]
pub struct HopOutcome {
    #[schema(value_type = String, format = Uuid)]
    pub traceback: TracebackId,
    #[schema(value_type = String, format = Uuid)]
    pub hop: HopRef,
    pub state: HopState,
    /// The comment it wrote, if it wrote one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Uuid)]
    pub comment: Option<CommentRef>,
    /// The dispute it filed, if it filed one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Uuid)]
    pub dispute: Option<DisputeRef>,
}

/// A provider command's answer: its view of the traceback with `hops:read`, what was done
/// without.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum AfterCommand {
    View(Box<ProviderView>),
    Done(HopOutcome),
}

/// The caller's view after a command it ran, or only what was done when it may not read views.
async fn after(
    caller: &Caller,
    executed: &Executed,
    handle: &ProviderHandle<'_>,
    hop: HopRef,
) -> ApiResult<Json<AfterCommand>> {
    if caller.require(Scope::HopsRead).is_ok() {
        let view = handle.view_of(&executed.state).await?.ok_or_else(|| ApiError::not_found("traceback"))?;
        return Ok(Json(AfterCommand::View(Box::new(view))));
    }
    let state = &executed.state;
    let id = state.hop_by_ref(hop).ok_or_else(|| ApiError::not_found("hop"))?;
    let hop_state = state.hop(id).map(|h| h.state).ok_or_else(|| ApiError::not_found("hop"))?;
    let comment = executed.events.iter().find_map(|e| match e.change {
        Change::CommentAdded { comment, .. } => Some(state.comment_ref(comment)),
        _ => None,
    });
    let dispute = executed.events.iter().find_map(|e| match e.change {
        Change::DisputeFiled { dispute, .. } => Some(state.dispute_ref(dispute)),
        _ => None,
    });
    Ok(Json(AfterCommand::Done(HopOutcome { traceback: executed.traceback, hop, state: hop_state, comment, dispute })))
}

/// Says the provider has started investigating (Best Practice 3: within four business hours).
#[utoipa::path(post, path = "/provider/tracebacks/{traceback}/hops/{hop}/acknowledge", tag = "provider",
    params(("traceback" = String, Path, format = Uuid), ("hop" = String, Path, format = Uuid, description = "The hop's opaque reference, from the view or the hop list"), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = AfterCommand), (status = 401, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = ["hops:answer"])))]
async fn acknowledge_hop(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath((traceback, hop)): ApiPath<(uuid::Uuid, uuid::Uuid)>,
) -> ApiResult<Json<AfterCommand>> {
    let caller = auth.with(Scope::HopsAnswer)?;
    let handle = state.app.provider(&caller.principal)?;
    let hop = HopRef(hop);
    let executed = handle.acknowledge(TracebackId(traceback), hop).await?;
    after(&caller, &executed, &handle, hop).await
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
    params(("traceback" = String, Path, format = Uuid), ("hop" = String, Path, format = Uuid, description = "The hop's opaque reference, from the view or the hop list"), ("Idempotency-Key" = Option<String>, Header)),
    request_body = AnswerRequest,
    responses((status = 200, body = AfterCommand), (status = 401, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = ["hops:answer"])))]
async fn answer_hop(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath((traceback, hop)): ApiPath<(uuid::Uuid, uuid::Uuid)>,
    ApiBody(body): ApiBody<AnswerRequest>,
) -> ApiResult<Json<AfterCommand>> {
    let caller = auth.with(Scope::HopsAnswer)?;
    let handle = state.app.provider(&caller.principal)?;
    let (traceback, hop) = (TracebackId(traceback), HopRef(hop));
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
    after(&caller, &executed, &handle, hop).await
}

/// Disputes the basis of the traceback (TB-9); staff review it.
#[utoipa::path(post, path = "/provider/tracebacks/{traceback}/hops/{hop}/dispute", tag = "provider",
    params(("traceback" = String, Path, format = Uuid), ("hop" = String, Path, format = Uuid, description = "The hop's opaque reference, from the view or the hop list"), ("Idempotency-Key" = Option<String>, Header)),
    request_body = DisputeRequest,
    responses((status = 200, body = AfterCommand), (status = 401, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = ["hops:answer"])))]
async fn dispute_traceback(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath((traceback, hop)): ApiPath<(uuid::Uuid, uuid::Uuid)>,
    ApiJson(body): ApiJson<DisputeRequest>,
) -> ApiResult<Json<AfterCommand>> {
    let caller = auth.with(Scope::HopsAnswer)?;
    let handle = state.app.provider(&caller.principal)?;
    let hop = HopRef(hop);
    let executed = handle.dispute(TracebackId(traceback), hop, body.grounds).await?;
    after(&caller, &executed, &handle, hop).await
}

/// Comments on one of the caller's hops: for staff only, or also for the hop's parties.
#[utoipa::path(post, path = "/provider/tracebacks/{traceback}/hops/{hop}/comments", tag = "provider",
    params(("traceback" = String, Path, format = Uuid), ("hop" = String, Path, format = Uuid, description = "The hop's opaque reference, from the view or the hop list"), ("Idempotency-Key" = Option<String>, Header)),
    request_body = CommentRequest,
    responses((status = 200, body = AfterCommand), (status = 401, body = Problem), (status = 404, body = Problem), (status = 429, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = ["hops:answer"])))]
async fn comment_on_hop(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath((traceback, hop)): ApiPath<(uuid::Uuid, uuid::Uuid)>,
    ApiJson(body): ApiJson<CommentRequest>,
) -> ApiResult<Json<AfterCommand>> {
    let caller = auth.with(Scope::HopsAnswer)?;
    let handle = state.app.provider(&caller.principal)?;
    let hop = HopRef(hop);
    let executed = handle.comment(TracebackId(traceback), hop, body.text, body.visibility).await?;
    after(&caller, &executed, &handle, hop).await
}
