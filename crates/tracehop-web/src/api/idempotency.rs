//! `Idempotency-Key` on every POST: the same key and body get the first response again; the same
//! key with another body is refused. The key is written in the transaction of the request's
//! effect (see `tracehop_store::idempotency`), so a request that died before committing can be
//! retried at once, and one that committed is never run twice: its kept response is replayed, or,
//! if the process died before keeping it, rendered again from the committed effect. A request
//! that changed nothing (a refusal, a validation error) keeps nothing: its retry runs again, to
//! the same answer. Secrets in a response (a new token, a webhook's signing secret) are never
//! kept: a replay returns the metadata without them. Keys are forgotten after a day.
//! Uploads in other content types are left to their own idempotency (external ids, RMD numbers).

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use jiff::SignedDuration;
use sha2::{Digest, Sha256};
use tracehop_app::access::tokens::Caller;
use tracehop_store::idempotency::{KeptResponse, KeyRecord, KeyScope, StoredResponse, within};

use super::problem::ApiError;
use crate::AppState;

const HEADER: &str = "idempotency-key";
const MAX_BODY: usize = 2 * 1024 * 1024;
/// A committed request whose response is not kept after this died before answering (the
/// response of a command that is not a traceback command cannot be rendered again).
const ANSWER_LOST_AFTER: SignedDuration = SignedDuration::from_secs(30);
/// Fields of a response that hold a secret shown once: never kept for a replay.
const SECRET_FIELDS: [&str; 2] = ["token", "secret"];

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
    let bytes = match to_bytes(body, MAX_BODY).await {
        Ok(bytes) => bytes,
        Err(e) if is_length_limit(&e) => {
            return ApiError::new("payload-too-large", "the body is larger than this operation takes (2 MiB)")
                .into_response();
        }
        Err(_) => return ApiError::new("malformed-body", "the body could not be read to its end").into_response(),
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
    let record = match store.idempotency_key(&principal, &key).await {
        Ok(record) => record,
        Err(error) => return ApiError::from(tracehop_app::AppError::from(error)).into_response(),
    };
    let request_id = state.app.new_id().to_string();
    let mut scope = KeyScope::new(&principal, &key, &request_hash, &request_id, now);
    if let Some(record) = record {
        if record.request_hash != request_hash {
            return reused();
        }
        if let Some(response) = record.response {
            return replayed(response);
        }
        match record.effect {
            // Committed, answer lost: render it again from what committed.
            Some(effect) => scope = scope.replaying(effect),
            None => return unanswered(&record, now),
        }
    }
    let scope = Arc::new(scope);
    let replay = scope.replay.is_some();
    let response = within(scope.clone(), next.run(Request::from_parts(parts, Body::from(bytes)))).await;
    if !scope.committed() && !replay {
        // Nothing committed: nothing to keep, unless another request with the key won the race.
        return match store.idempotency_key(&principal, &key).await {
            Ok(Some(other)) if other.request_hash != request_hash => reused(),
            Ok(Some(KeyRecord { response: Some(kept), .. })) => replayed(kept),
            Ok(Some(other)) => unanswered(&other, now),
            Ok(None) | Err(_) => response,
        };
    }
    if replay && !response.status().is_success() {
        // The committed effect could not be rendered again by this route: say what is known.
        return answer_lost();
    }
    fault_after_commit();
    let status = response.status();
    if status.is_server_error() {
        // The effect committed; the kept effect renders the answer again on retry.
        return response;
    }
    let (response_parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_BODY).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let content_type = response_parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_owned();
    let kept_body = without_secrets(&bytes);
    let location = response_parts.headers.get(header::LOCATION).and_then(|v| v.to_str().ok());
    let kept = KeptResponse { status: status.as_u16(), content_type: &content_type, location, body: &kept_body };
    let owner = if replay { "" } else { request_id.as_str() };
    if let Err(error) = store.keep_idempotent_response(&principal, &key, owner, &kept, state.app.now()).await {
        tracing::warn!(%error, "could not keep an idempotent response");
    }
    let mut response = Response::from_parts(response_parts, Body::from(bytes));
    if replay {
        response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    response
}

fn reused() -> Response {
    ApiError::new("idempotency-key-reused", "this Idempotency-Key was used with a different request").into_response()
}

fn replayed(kept: StoredResponse) -> Response {
    let mut response = (StatusCode::from_u16(kept.status).unwrap_or(StatusCode::OK), kept.body).into_response();
    if let Ok(value) = HeaderValue::from_str(&kept.content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    if let Some(value) = kept.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}

fn answer_lost() -> Response {
    ApiError::new(
        "idempotency-key-committed",
        "the request with this Idempotency-Key took effect, but its response was lost; read the resource",
    )
    .into_response()
}

/// A request with this key committed but its response is not (yet) kept.
fn unanswered(record: &KeyRecord, now: jiff::Timestamp) -> Response {
    if now.duration_since(record.created_at) > ANSWER_LOST_AFTER {
        return answer_lost();
    }
    let mut error =
        ApiError::new("idempotency-key-in-progress", "a request with this Idempotency-Key is still being answered");
    error.retry_after = Some(1);
    error.into_response()
}

/// The body to keep: a JSON object loses its secret fields (shown once, never stored).
fn without_secrets(bytes: &[u8]) -> String {
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(mut value) => {
            if strip(&mut value) {
                return value.to_string();
            }
            String::from_utf8_lossy(bytes).into_owned()
        }
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// Removes string fields named like a secret; true when any was.
fn strip(value: &mut serde_json::Value) -> bool {
    match value {
        serde_json::Value::Object(map) => {
            let before = map.len();
            map.retain(|name, field| !(SECRET_FIELDS.contains(&name.as_str()) && field.is_string()));
            let mut removed = map.len() != before;
            for field in map.values_mut() {
                removed |= strip(field);
            }
            removed
        }
        serde_json::Value::Array(items) => items.iter_mut().fold(false, |removed, item| strip(item) | removed),
        _ => false,
    }
}

/// Fault injection for the crash tests (debug builds only): with
/// `FAULT_INJECTION_TRACEHOP=1` the process dies like `kill -9` after a request's
/// effect committed and before its response is kept or sent.
fn fault_after_commit() {
    #[cfg(debug_assertions)]
    if std::env::var_os("FAULT_INJECTION_TRACEHOP").is_some_and(|v| v == "abort-after-commit") {
        tracing::error!("fault injection: aborting after a commit, before the response");
        std::process::abort();
    }
}

/// Whether reading a body failed because it passed the limit (rather than breaking off).
fn is_length_limit(error: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if e.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = e.source();
    }
    false
}
