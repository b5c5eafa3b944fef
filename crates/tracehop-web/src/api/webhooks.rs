//! A provider's webhooks and the log of its deliveries.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jiff::SignedDuration;
use serde::Deserialize;
use tracehop_app::access::tokens::Scope;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Authenticated;
use super::json::{ApiJson, ApiPath, ApiQuery, Page, decode_cursor, limit, page};
use super::model::{CreateWebhook, Delivery, RotateSecret, UpdateWebhook, Webhook, WebhookWithSecret};
use super::problem::{ApiError, ApiResult, Problem};
use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_webhooks, create_webhook))
        .routes(routes!(get_webhook, update_webhook, delete_webhook))
        .routes(routes!(rotate_webhook_secret))
        .routes(routes!(list_webhook_deliveries))
        .routes(routes!(list_deliveries))
}

/// The caller's webhooks.
#[utoipa::path(get, path = "/webhooks", tag = "webhooks",
    responses((status = 200, body = Vec<Webhook>), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = ["webhooks:manage"])))]
async fn list_webhooks(State(state): State<AppState>, auth: Authenticated) -> ApiResult<Json<Vec<Webhook>>> {
    let caller = auth.with(Scope::WebhooksManage)?;
    Ok(Json(state.app.webhooks(&caller.principal).await?.into_iter().map(Webhook::from).collect()))
}

/// Subscribes an endpoint to event types. Deliveries are POSTs signed with the returned secret
/// and retried with exponential backoff for up to 24 hours.
#[utoipa::path(post, path = "/webhooks", tag = "webhooks",
    params(("Idempotency-Key" = Option<String>, Header)),
    request_body = CreateWebhook,
    responses((status = 201, body = WebhookWithSecret), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = ["webhooks:manage"])))]
async fn create_webhook(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(body): ApiJson<CreateWebhook>,
) -> ApiResult<(StatusCode, Json<WebhookWithSecret>)> {
    let caller = auth.with(Scope::WebhooksManage)?;
    let webhook = state.app.create_webhook(&caller.principal, &body.url, body.event_types).await?;
    let secret = webhook.secret.clone();
    Ok((StatusCode::CREATED, Json(WebhookWithSecret { webhook: webhook.into(), secret })))
}

#[utoipa::path(get, path = "/webhooks/{webhook}", tag = "webhooks",
    params(("webhook" = String, Path)),
    responses((status = 200, body = Webhook), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = ["webhooks:manage"])))]
async fn get_webhook(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(webhook): ApiPath<String>,
) -> ApiResult<Json<Webhook>> {
    let caller = auth.with(Scope::WebhooksManage)?;
    Ok(Json(state.app.own_webhook(&caller.principal, &webhook).await?.into()))
}

/// Changes the URL or event types, or pauses and resumes deliveries.
#[utoipa::path(patch, path = "/webhooks/{webhook}", tag = "webhooks",
    params(("webhook" = String, Path)),
    request_body = UpdateWebhook,
    responses((status = 200, body = Webhook), (status = 401, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = ["webhooks:manage"])))]
async fn update_webhook(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(webhook): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateWebhook>,
) -> ApiResult<Json<Webhook>> {
    let caller = auth.with(Scope::WebhooksManage)?;
    Ok(Json(
        state.app.update_webhook(&caller.principal, &webhook, body.url, body.event_types, body.active).await?.into(),
    ))
}

#[utoipa::path(delete, path = "/webhooks/{webhook}", tag = "webhooks",
    params(("webhook" = String, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = ["webhooks:manage"])))]
async fn delete_webhook(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(webhook): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let caller = auth.with(Scope::WebhooksManage)?;
    state.app.delete_webhook(&caller.principal, &webhook).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new signing secret. During the overlap each delivery carries two `v1` signatures, one per
/// secret, so receivers can switch without losing a delivery.
#[utoipa::path(post, path = "/webhooks/{webhook}/rotate-secret", tag = "webhooks",
    params(("webhook" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body = RotateSecret,
    responses((status = 200, body = WebhookWithSecret), (status = 401, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = ["webhooks:manage"])))]
async fn rotate_webhook_secret(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(webhook): ApiPath<String>,
    ApiJson(body): ApiJson<RotateSecret>,
) -> ApiResult<Json<WebhookWithSecret>> {
    let caller = auth.with(Scope::WebhooksManage)?;
    let overlap = SignedDuration::from_secs(i64::from(body.overlap_seconds.unwrap_or(86_400)));
    let rotated = state.app.rotate_webhook_secret(&caller.principal, &webhook, overlap).await?;
    let secret = rotated.secret.clone();
    Ok(Json(WebhookWithSecret { webhook: rotated.into(), secret }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeliveriesQuery {
    /// `email` or `webhook`.
    pub channel: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

async fn delivery_page(
    state: &AppState,
    auth: Authenticated,
    webhook: Option<&str>,
    query: DeliveriesQuery,
) -> ApiResult<Json<Page<Delivery>>> {
    let caller = auth.with(Scope::WebhooksManage)?;
    if let Some(channel) = &query.channel
        && channel != "email"
        && channel != "webhook"
    {
        return Err(ApiError::invalid("channel", "email or webhook"));
    }
    let limit = limit(query.limit)?;
    let before = query.cursor.as_deref().map(decode_cursor::<i64>).transpose()?;
    let rows = state.app.deliveries(&caller.principal, webhook, query.channel.as_deref(), before, limit + 1).await?;
    Ok(Json(page(rows, limit, |d| d.id, Delivery::from)))
}

/// Every attempt to deliver to this webhook, newest first.
#[utoipa::path(get, path = "/webhooks/{webhook}/deliveries", tag = "webhooks",
    params(("webhook" = String, Path), DeliveriesQuery),
    responses((status = 200, body = Page<Delivery>), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = ["webhooks:manage"])))]
async fn list_webhook_deliveries(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(webhook): ApiPath<String>,
    ApiQuery(query): ApiQuery<DeliveriesQuery>,
) -> ApiResult<Json<Page<Delivery>>> {
    delivery_page(&state, auth, Some(&webhook), query).await
}

/// Every notification sent to the caller, by email or webhook, newest first.
#[utoipa::path(get, path = "/deliveries", tag = "webhooks",
    params(DeliveriesQuery),
    responses((status = 200, body = Page<Delivery>), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = ["webhooks:manage"])))]
async fn list_deliveries(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(query): ApiQuery<DeliveriesQuery>,
) -> ApiResult<Json<Page<Delivery>>> {
    delivery_page(&state, auth, None, query).await
}
