//! Issuing, listing and revoking API tokens.

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use tracehop_app::access::principal::{Principal, StaffRole};
use tracehop_app::access::tokens::{NewToken, Scope, TokenOwner};
use tracehop_core::provider::ProviderId;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Authenticated;
use super::json::{ApiJson, ApiPath, ApiQuery};
use super::model::{CreateToken, CreatedToken, Me, Token};
use super::problem::{ApiError, ApiResult, Problem};
use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
        .routes(routes!(whoami))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TokensQuery {
    /// Staff: list this provider's tokens instead of staff tokens.
    pub provider_id: Option<String>,
}

/// Tokens the caller manages: a provider's own, or (staff) a provider's or the staff tokens.
#[utoipa::path(get, path = "/tokens", tag = "tokens", params(TokensQuery),
    responses((status = 200, body = Vec<Token>), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = ["tokens:manage"])))]
async fn list_tokens(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(query): ApiQuery<TokensQuery>,
) -> ApiResult<Json<Vec<Token>>> {
    let caller = auth.with(Scope::TokensManage)?;
    let provider = match (&caller.principal, query.provider_id) {
        (Principal::Provider { provider, .. }, None) => Some(provider.clone()),
        (_, Some(id)) => Some(ProviderId::new(id).map_err(|e| ApiError::invalid("provider_id", e.to_string()))?),
        (Principal::Staff { .. } | Principal::Submitter { .. }, None) => None,
    };
    let tokens = state.app.list_tokens(&caller.principal, provider.as_ref()).await?;
    Ok(Json(tokens.into_iter().map(Token::from).collect()))
}

/// Issues a token. The secret is in the response and nowhere else, ever.
#[utoipa::path(post, path = "/tokens", tag = "tokens",
    params(("Idempotency-Key" = Option<String>, Header)),
    request_body = CreateToken,
    responses((status = 201, body = CreatedToken), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = ["tokens:manage"])))]
async fn create_token(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(body): ApiJson<CreateToken>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    let caller = auth.with(Scope::TokensManage)?;
    let scopes = body
        .scopes
        .iter()
        .map(|s| Scope::parse(s).ok_or_else(|| ApiError::invalid("scopes", format!("unknown scope {s:?}"))))
        .collect::<Result<BTreeSet<_>, _>>()?;
    let owner = token_owner(&caller.principal, body.provider_id, body.staff_role.as_deref(), body.submitter_id)?;
    let issued = state
        .app
        .issue_token(
            &caller.principal,
            Some(&caller),
            NewToken {
                name: body.name,
                owner,
                scopes,
                expires_at: body.expires_at,
                rate_limit_per_minute: body.rate_limit_per_minute,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(CreatedToken { details: issued.record.into(), token: issued.token })))
}

/// Whom a new token acts for: a provider's caller issues for itself; staff name exactly one of a
/// provider, a staff role or a submitter.
fn token_owner(
    caller: &Principal,
    provider: Option<String>,
    role: Option<&str>,
    submitter: Option<String>,
) -> ApiResult<TokenOwner> {
    let named = usize::from(provider.is_some()) + usize::from(role.is_some()) + usize::from(submitter.is_some());
    match caller {
        Principal::Provider { provider: own, .. } if named == 0 => Ok(TokenOwner::Provider(own.clone())),
        Principal::Provider { .. } if role.is_some() || submitter.is_some() => {
            Err(ApiError::invalid("staff_role", "only staff issue staff and submitter tokens"))
        }
        Principal::Staff { .. } if named != 1 => {
            Err(ApiError::invalid("provider_id", "name exactly one of provider_id, staff_role or submitter_id"))
        }
        _ => match (provider, role, submitter) {
            (Some(id), _, _) => ProviderId::new(id)
                .map(TokenOwner::Provider)
                .map_err(|e| ApiError::invalid("provider_id", e.to_string())),
            (None, Some("admin"), _) => Ok(TokenOwner::Staff(StaffRole::Admin)),
            (None, Some("analyst"), _) => Ok(TokenOwner::Staff(StaffRole::Analyst)),
            (None, Some(_), _) => Err(ApiError::invalid("staff_role", "admin or analyst")),
            (None, None, Some(submitter)) => Ok(TokenOwner::Submitter(submitter)),
            (None, None, None) => Err(ApiError::invalid("provider_id", "name whom the token acts for")),
        },
    }
}

/// Revokes a token at once.
#[utoipa::path(delete, path = "/tokens/{token}", tag = "tokens",
    params(("token" = String, Path)),
    responses((status = 200, body = Token), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = ["tokens:manage"])))]
async fn revoke_token(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(token): ApiPath<String>,
) -> ApiResult<Json<Token>> {
    let caller = auth.with(Scope::TokensManage)?;
    Ok(Json(state.app.revoke_token(&caller.principal, &token).await?.into()))
}

/// Who this token stands for and what it may do.
#[utoipa::path(get, path = "/me", tag = "tokens",
    responses((status = 200, body = Me), (status = 401, body = Problem)),
    security(("bearer" = [])))]
async fn whoami(auth: Authenticated) -> Json<Me> {
    let caller = auth.0;
    let (kind, provider_id, staff_role, submitter_id) = match &caller.principal {
        Principal::Provider { provider, .. } => ("provider", Some(provider.to_string()), None, None),
        Principal::Staff { role: StaffRole::Admin, .. } => ("staff", None, Some("admin".to_owned()), None),
        Principal::Staff { role: StaffRole::Analyst, .. } => ("staff", None, Some("analyst".to_owned()), None),
        Principal::Submitter { submitter, .. } => ("submitter", None, None, Some(submitter.clone())),
    };
    Json(Me {
        token_id: caller.token_id,
        kind: kind.to_owned(),
        provider_id,
        staff_role,
        submitter_id,
        scopes: caller.scopes.iter().map(|s| s.name().to_owned()).collect(),
    })
}
