//! `Idempotency-Key` on every POST: the same key and body get the first response again; the same
//! key with another body is refused. Responses other than server errors (status, type, `Location`
//! and body) are kept for a day; the worker forgets older keys.
//! Uploads in other content types are left to their own idempotency (external ids, RMD numbers).

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use jiff::SignedDuration;
use sha2::{Digest, Sha256};
use tracehop_app::access::tokens::Caller;
use tracehop_store::idempotency::{Claim, KeptResponse};

use super::problem::ApiError;
use crate::AppState;

const HEADER: &str = "idempotency-key";
const MAX_BODY: usize = 2 * 1024 * 1024;
/// A reservation whose request never finished is given up after this.
const ABANDONED_AFTER: SignedDuration = SignedDuration::from_mins(5);

pub async fn idempotent(State(state): State<AppState>, request: Request, next: Next) -> Response {
    // Uploads (CSV, JSON Lines, recordings) are idempotent by their own keys and too large to
    // keep; commands are JSON or bodiless.
    let json_or_empty = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.trim_start().to_ascii_lowercase().starts_with("application/json"));
    if request.method() != Method::POST || !json_or_empty {
        return next.run(request).await;
    }
    let Some(key) = request.headers().get(HEADER).map(|v| v.to_str().map(str::to_owned)) else {
        return next.run(request).await;
    };
    let Ok(key) = key
        .map(|k| k.trim().to_owned())
        .map_err(|_| ())
        .and_then(|k| if (1..=255).contains(&k.len()) { Ok(k) } else { Err(()) })
    else {
        return ApiError::invalid("Idempotency-Key", "1 to 255 visible characters").into_response();
    };
    let Some(principal) = request.extensions().get::<Caller>().map(|c| c.token_id.clone()) else {
        return next.run(request).await;
    };
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_BODY).await else {
        return ApiError::new("malformed-body", "the body is larger than 2 MiB").into_response();
    };
    let mut hasher = Sha256::new();
    hasher.update(parts.method.as_str().as_bytes());
    hasher.update(b" ");
    hasher.update(parts.uri.path().as_bytes());
    hasher.update(b"\n");
    hasher.update(&bytes);
    let request_hash = hex::encode(hasher.finalize());

    let store = state.app.store();
    let now = state.app.now();
    let claim = match store.claim_idempotency_key(&principal, &key, &request_hash, now, now - ABANDONED_AFTER).await {
        Ok(claim) => claim,
        Err(error) => return ApiError::from(tracehop_app::AppError::from(error)).into_response(),
    };
    let reused = || {
        ApiError::new("idempotency-key-reused", "this Idempotency-Key was used with a different request")
            .into_response()
    };
    match claim {
        Claim::Completed { request_hash: first, .. } | Claim::InProgress { request_hash: first }
            if first != request_hash =>
        {
            reused()
        }
        Claim::Completed { status, content_type, location, body, .. } => {
            let mut response = (StatusCode::from_u16(status).unwrap_or(StatusCode::OK), body).into_response();
            if let Ok(value) = HeaderValue::from_str(&content_type) {
                response.headers_mut().insert(header::CONTENT_TYPE, value);
            }
            if let Some(value) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
                response.headers_mut().insert(header::LOCATION, value);
            }
            response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
            response
        }
        Claim::InProgress { .. } => {
            ApiError::new("idempotency-key-in-progress", "a request with this Idempotency-Key is still running")
                .into_response()
        }
        Claim::Reserved => {
            let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
            let status = response.status();
            if status.is_server_error() {
                if let Err(error) = store.release_idempotency_key(&principal, &key).await {
                    tracing::warn!(%error, "could not release an idempotency key");
                }
                return response;
            }
            let (parts, body) = response.into_parts();
            let Ok(bytes) = to_bytes(body, MAX_BODY).await else {
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            };
            let content_type = parts
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("application/json")
                .to_owned();
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let location = parts.headers.get(header::LOCATION).and_then(|v| v.to_str().ok());
            let kept = KeptResponse { status: status.as_u16(), content_type: &content_type, location, body: &text };
            if let Err(error) = store.complete_idempotency_key(&principal, &key, &kept, state.app.now()).await {
                tracing::warn!(%error, "could not keep an idempotent response");
            }
            Response::from_parts(parts, Body::from(bytes))
        }
    }
}
