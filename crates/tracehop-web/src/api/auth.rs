//! Bearer-token authentication and per-token rate limits.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracehop_app::AppError;
use tracehop_app::access::tokens::{Caller, Scope, token_prefix};

use super::problem::ApiError;
use crate::AppState;

/// Token buckets per token, refilled continuously to the token's per-minute limit. Each replica
/// keeps its own.
#[derive(Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    /// Takes one request from the token's bucket, or says how long until one is free.
    fn take(&self, token: &str, per_minute: u32) -> Result<(), u64> {
        let capacity = f64::from(per_minute.max(1));
        let per_second = capacity / 60.0;
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (tokens, last) = buckets.entry(token.to_owned()).or_insert((capacity, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * per_second).min(capacity);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            // Whole seconds, at least one, until a request fits.
            let wait = ((1.0 - *tokens) / per_second).ceil();
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // finite, at least 1, at most a minute
            Err(if wait.is_finite() && wait >= 1.0 { wait.min(3600.0) as u64 } else { 1 })
        }
    }
}

/// Authenticates the bearer token and applies its rate limit; the caller goes into the request.
/// Failed attempts are throttled per client address and per token prefix (see `throttle`).
pub async fn authenticate(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let address = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip());
    let bearer = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token)
        .map(str::to_owned);
    let Some(token) = bearer else {
        return ApiError::new("unauthorized", "send a token: Authorization: Bearer <token>").into_response();
    };
    let prefix = token_prefix(&token);
    if let Some(retry_after) = state.auth_throttle.refused(address, prefix) {
        let mut error =
            ApiError::new("rate-limited", "too many failed authentications; retry after Retry-After seconds");
        error.retry_after = Some(retry_after);
        return error.into_response();
    }
    let caller = match state.app.authenticate_token(&token).await {
        Ok(caller) => caller,
        Err(error) => {
            if matches!(error, AppError::Unauthorized(_)) {
                state.auth_throttle.failed(address, prefix.filter(|p| state.app.token_prefix_seen(p)));
            }
            return ApiError::from(error).into_response();
        }
    };
    if let Some(prefix) = prefix {
        state.auth_throttle.succeeded(address, prefix);
    }
    if let Err(retry_after_seconds) = state.limiter.take(&caller.token_id, caller.rate_limit_per_minute) {
        return ApiError::from(AppError::RateLimited { limit: caller.rate_limit_per_minute, retry_after_seconds })
            .into_response();
    }
    request.extensions_mut().insert(caller);
    next.run(request).await
}

/// The token of an `Authorization: Bearer <token>` header; the scheme is case-insensitive
/// (RFC 9110 §11.1).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim_start().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

/// The authenticated caller of an API handler.
pub struct Authenticated(pub Caller);

impl<S: Send + Sync> FromRequestParts<S> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .map(Authenticated)
            .ok_or_else(|| ApiError::new("unauthorized", "no caller"))
    }
}

impl Authenticated {
    /// The caller, if its token holds `scope`.
    pub fn with(self, scope: Scope) -> Result<Caller, ApiError> {
        self.0.require(scope).map_err(ApiError::from)?;
        Ok(self.0)
    }
}
