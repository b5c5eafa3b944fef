//! Campaigns and campaign labels (CMP-1), with each campaign's tracebacks counted by category and
//! status.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tracehop_app::AppError;
use tracehop_app::access::tokens::Scope;
use tracehop_app::intake::campaigns::CampaignSummary;
use tracehop_store::campaigns::LabelRecord;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Authenticated;
use super::json::{ApiJson, ApiPath, ApiQuery};
use super::problem::{ApiResult, Problem};
use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_label, list_labels))
        .routes(routes!(create_campaign, list_campaigns))
        .routes(routes!(get_campaign, update_campaign))
}

/// An umbrella description that groups campaigns.
#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignLabel {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

impl From<LabelRecord> for CampaignLabel {
    fn from(label: LabelRecord) -> Self {
        Self { id: label.id, name: label.name, description: label.description, created_at: label.created_at }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LabelRequest {
    /// Unique among labels.
    pub name: String,
    pub description: Option<String>,
}

/// Calls with identical or nearly identical messaging.
#[derive(Debug, Serialize, ToSchema)]
pub struct Campaign {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub label: Option<CampaignLabel>,
    /// Its tracebacks by category (`domestic`, `foreign_law_enforcement`), then by status.
    pub traceback_counts: BTreeMap<String, BTreeMap<String, i64>>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

impl From<CampaignSummary> for Campaign {
    fn from(summary: CampaignSummary) -> Self {
        let CampaignSummary { campaign, label, counts } = summary;
        Self {
            id: campaign.id,
            name: campaign.name,
            description: campaign.description,
            label: label.map(CampaignLabel::from),
            traceback_counts: counts,
            created_at: campaign.created_at,
            updated_at: campaign.updated_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignRequest {
    /// On creation only: the campaign's id, a short slug (1 to 64 letters, digits, `-`, `_`, `.`
    /// or `:`) that incident files can name in `campaign_id`; a new id is chosen when absent.
    pub id: Option<String>,
    pub name: String,
    pub description: Option<String>,
    pub label_id: Option<String>,
}

/// Creates a campaign label.
#[utoipa::path(post, path = "/campaign-labels", tag = "intake",
    params(("Idempotency-Key" = Option<String>, Header)),
    request_body = LabelRequest,
    responses((status = 201, body = CampaignLabel), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = ["intake:manage"])))]
async fn create_label(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(body): ApiJson<LabelRequest>,
) -> ApiResult<Response> {
    let caller = auth.with(Scope::IntakeManage)?;
    let label = state.app.create_label(&caller.principal, &body.name, body.description).await?;
    Ok((StatusCode::CREATED, Json(CampaignLabel::from(label))).into_response())
}

/// Every campaign label, by name.
#[utoipa::path(get, path = "/campaign-labels", tag = "intake",
    responses((status = 200, body = Vec<CampaignLabel>), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = ["intake:manage"])))]
async fn list_labels(State(state): State<AppState>, auth: Authenticated) -> ApiResult<Json<Vec<CampaignLabel>>> {
    let caller = auth.with(Scope::IntakeManage)?;
    Ok(Json(state.app.labels(&caller.principal).await?.into_iter().map(CampaignLabel::from).collect()))
}

/// Creates a campaign.
#[utoipa::path(post, path = "/campaigns", tag = "intake",
    params(("Idempotency-Key" = Option<String>, Header)),
    request_body = CampaignRequest,
    responses((status = 201, body = Campaign), (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = ["intake:manage"])))]
async fn create_campaign(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(body): ApiJson<CampaignRequest>,
) -> ApiResult<Response> {
    let caller = auth.with(Scope::IntakeManage)?;
    let app = &state.app;
    let saved =
        app.create_campaign(&caller.principal, body.id.as_deref(), &body.name, body.description, body.label_id).await?;
    let campaign = app.campaign(&caller.principal, &saved.id).await?;
    let location = format!("/api/v1/campaigns/{}", saved.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(Campaign::from(campaign))).into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CampaignsQuery {
    /// Only the campaigns under this label.
    pub label_id: Option<String>,
}

/// Campaigns by name, with their tracebacks counted by category and status.
#[utoipa::path(get, path = "/campaigns", tag = "intake", params(CampaignsQuery),
    responses((status = 200, body = Vec<Campaign>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = ["intake:manage"])))]
async fn list_campaigns(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(query): ApiQuery<CampaignsQuery>,
) -> ApiResult<Json<Vec<Campaign>>> {
    let caller = auth.with(Scope::IntakeManage)?;
    let campaigns = state.app.campaigns(&caller.principal, query.label_id.as_deref()).await?;
    Ok(Json(campaigns.into_iter().map(Campaign::from).collect()))
}

/// One campaign with its counts.
#[utoipa::path(get, path = "/campaigns/{campaign}", tag = "intake",
    params(("campaign" = String, Path)),
    responses((status = 200, body = Campaign), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = ["intake:manage"])))]
async fn get_campaign(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(campaign): ApiPath<String>,
) -> ApiResult<Json<Campaign>> {
    let caller = auth.with(Scope::IntakeManage)?;
    Ok(Json(state.app.campaign(&caller.principal, &campaign).await?.into()))
}

/// Renames a campaign, or moves it under another label.
#[utoipa::path(put, path = "/campaigns/{campaign}", tag = "intake",
    params(("campaign" = String, Path)),
    request_body = CampaignRequest,
    responses((status = 200, body = Campaign), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = ["intake:manage"])))]
async fn update_campaign(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(campaign): ApiPath<String>,
    ApiJson(body): ApiJson<CampaignRequest>,
) -> ApiResult<Json<Campaign>> {
    let caller = auth.with(Scope::IntakeManage)?;
    if body.id.as_deref().is_some_and(|id| id != campaign) {
        return Err(AppError::invalid("id", "a campaign keeps its id").into());
    }
    let app = &state.app;
    app.update_campaign(&caller.principal, &campaign, &body.name, body.description, body.label_id).await?;
    Ok(Json(app.campaign(&caller.principal, &campaign).await?.into()))
}
