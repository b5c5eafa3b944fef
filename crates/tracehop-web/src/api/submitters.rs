//! The organisations that submit candidates and incident data (SRC-1): analytics providers,
//! enforcement agencies, steering members, organisations subject to abusive calls. Staff register
//! them, then issue them tokens (`POST /tokens` with `submitter_id`).

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tracehop_app::access::tokens::Scope;
use tracehop_core::intake::SourceKind;
use tracehop_store::submitters::SubmitterRecord;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Authenticated;
use super::json::ApiJson;
use super::problem::{ApiResult, Problem};
use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_submitter, list_submitters))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Submitter {
    pub id: String,
    pub name: String,
    /// Its source kind, e.g. `analytics_provider` or `foreign_enforcement`.
    pub kind: String,
    pub contact_email: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

impl From<SubmitterRecord> for Submitter {
    fn from(record: SubmitterRecord) -> Self {
        Self {
            id: record.id,
            name: record.name,
            kind: record.kind,
            contact_email: record.contact_email,
            created_at: record.created_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitterRequest {
    /// 1 to 64 letters, digits, `-`, `_` or `.`.
    pub id: String,
    pub name: String,
    pub kind: SourceKind,
    pub contact_email: Option<String>,
}

/// Registers a submitter.
#[utoipa::path(post, path = "/submitters", tag = "intake",
    params(("Idempotency-Key" = Option<String>, Header)),
    request_body = SubmitterRequest,
    responses((status = 201, body = Submitter), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = ["intake:manage"])))]
async fn create_submitter(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(body): ApiJson<SubmitterRequest>,
) -> ApiResult<Response> {
    let caller = auth.with(Scope::IntakeManage)?;
    let record =
        state.app.create_submitter(&caller.principal, &body.id, &body.name, body.kind, body.contact_email).await?;
    let location = format!("/api/v1/submitters/{}", record.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(Submitter::from(record))).into_response())
}

/// Every submitter.
#[utoipa::path(get, path = "/submitters", tag = "intake",
    responses((status = 200, body = Vec<Submitter>), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = ["intake:manage"])))]
async fn list_submitters(State(state): State<AppState>, auth: Authenticated) -> ApiResult<Json<Vec<Submitter>>> {
    let caller = auth.with(Scope::IntakeManage)?;
    state.app.staff(&caller.principal)?;
    let rows = state.app.store().list_submitters().await.map_err(tracehop_app::AppError::from)?;
    Ok(Json(rows.into_iter().map(Submitter::from).collect()))
}
