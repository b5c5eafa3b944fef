//! RFC 9457 problem details: every API error, in one place. Each kind of problem has a stable
//! `type` (`/api/v1/problems/<kind>`, documented at that address).

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tracehop_app::AppError;
use tracehop_core::traceback::Rejection;
use utoipa::ToSchema;

pub const CONTENT_TYPE: &str = "application/problem+json";

/// A problem detail document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Problem {
    /// A URI reference naming the kind of problem; stable across releases.
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The fields at fault, for validation problems.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// A path into the request, e.g. `customer.name` or `cursor`.
    pub field: String,
    pub message: String,
}

/// Every kind of problem the API reports: (kind, status, title, explanation).
pub const KINDS: &[(&str, u16, &str, &str)] = &[
    (
        "unauthorized",
        401,
        "Authentication required",
        "The request has no bearer token, or its token is unknown, revoked or expired.",
    ),
    ("forbidden", 403, "Not allowed", "The token is valid but lacks the scope this operation needs."),
    (
        "not-found",
        404,
        "Not found",
        "Nothing by that name is visible to the caller. A provider sees only tracebacks in which it has a hop.",
    ),
    ("route-not-found", 404, "No such route", "No API operation has this path."),
    ("method-not-allowed", 405, "Method not allowed", "The path exists but does not take this HTTP method."),
    (
        "unsupported-media-type",
        415,
        "Unsupported media type",
        "Request bodies are JSON: send Content-Type: application/json.",
    ),
    ("malformed-body", 400, "Malformed body", "The body is not valid JSON."),
    ("payload-too-large", 413, "Payload too large", "The body is larger than this operation takes; see detail."),
    ("validation", 422, "Invalid request", "One or more fields are missing or invalid; see errors."),
    (
        "idempotency-key-reused",
        422,
        "Idempotency key reused",
        "This Idempotency-Key was used before with a different request.",
    ),
    (
        "idempotency-key-in-progress",
        409,
        "Request in progress",
        "A request with this Idempotency-Key is still being handled; retry shortly.",
    ),
    (
        "idempotency-key-committed",
        409,
        "Request took effect, response lost",
        "A request with this Idempotency-Key took effect, but the process answering it stopped before keeping its \
response, and this kind of response cannot be rendered again; read the resource it created or changed.",
    ),
    (
        "rate-limited",
        429,
        "Too many requests",
        "The token's rate limit was exceeded, or too many authentications failed from this address or against \
         this token; retry after the number of seconds in Retry-After.",
    ),
    (
        "comment-limit",
        429,
        "Too many comments",
        "A provider may write only so many comments on one hop, and so many an hour; see detail and Retry-After.",
    ),
    ("traceback-closed", 409, "Traceback closed", "The traceback is closed and takes no answers; staff may reopen it."),
    (
        "already-answered",
        409,
        "Already answered",
        "The hop has an answer already; staff may redirect it if the answer was wrong.",
    ),
    ("already-acknowledged", 409, "Already acknowledged", "The hop was acknowledged before."),
    ("hop-not-open", 409, "Hop not open", "The hop expired or was cancelled and takes no answer."),
    (
        "self-naming",
        422,
        "A provider cannot name itself",
        "Name the provider you received the call from, not yourself.",
    ),
    (
        "conflict",
        409,
        "Conflict",
        "The request conflicts with the current state of a traceback, candidate or directory entry; see detail.",
    ),
    ("busy", 503, "Busy", "Concurrent updates kept winning; retry the request."),
    ("internal", 500, "Internal error", "Something failed on the server. It has been logged."),
];

fn kind_of(rejection: &Rejection) -> &'static str {
    match rejection {
        Rejection::Closed => "traceback-closed",
        Rejection::AlreadyAnswered(_) => "already-answered",
        Rejection::AlreadyAcknowledged(_) => "already-acknowledged",
        Rejection::HopNotOpen { .. } => "hop-not-open",
        Rejection::SelfNaming => "self-naming",
        Rejection::TooManyComments { .. } => "comment-limit",
        Rejection::StaffOnly | Rejection::SystemOnly => "forbidden",
        Rejection::UnknownHop(_)
        | Rejection::NotYourHop(_)
        | Rejection::NoHopInTraceback
        | Rejection::UnknownDispute(_)
        | Rejection::NotStarted => "not-found",
        Rejection::Invalid { .. } | Rejection::ExtensionNotLater { .. } => "validation",
        _ => "conflict",
    }
}

/// An API error: a problem with its HTTP status and extra headers.
#[derive(Debug)]
pub struct ApiError {
    pub problem: Problem,
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(kind: &str, detail: impl Into<String>) -> Self {
        let (status, title) =
            KINDS.iter().find(|(k, ..)| *k == kind).map_or((500, "Internal error"), |(_, s, t, _)| (*s, *t));
        Self {
            problem: Problem {
                problem_type: format!("/api/v1/problems/{kind}"),
                title: title.to_owned(),
                status,
                detail: detail.into(),
                errors: Vec::new(),
            },
            retry_after: None,
        }
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        let message = message.into();
        let field = field.into();
        let mut error = Self::new("validation", format!("{field}: {message}"));
        error.problem.errors.push(FieldError { field, message });
        error
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new("not-found", format!("{} not found", what.into()))
    }
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        match error {
            AppError::Rejected(rejection) => match &rejection {
                Rejection::Invalid { field, problem } => Self::invalid(*field, problem.clone()),
                Rejection::ExtensionNotLater { .. } => Self::invalid("respond_by", rejection.to_string()),
                other => Self::new(kind_of(other), other.to_string()),
            },
            AppError::Unauthorized(detail) => Self::new("unauthorized", detail),
            AppError::RateLimited { limit, retry_after_seconds } => {
                let mut error = Self::new("rate-limited", format!("rate limit of {limit} requests a minute exceeded"));
                error.retry_after = Some(retry_after_seconds);
                error
            }
            AppError::TooManyComments { detail, retry_after_seconds } => {
                let mut error = Self::new("comment-limit", detail);
                error.retry_after = retry_after_seconds;
                error
            }
            AppError::NotFound(what) => Self::not_found(what),
            AppError::Forbidden(detail) => Self::new("forbidden", detail),
            AppError::Invalid { field, message } => Self::invalid(field, message),
            AppError::Busy(detail) => {
                let mut error = Self::new("busy", detail);
                error.retry_after = Some(1);
                error
            }
            AppError::Delivery { message, .. } => Self::new("internal", message),
            AppError::Conflict(detail) | AppError::Store(tracehop_store::StoreError::Conflict(detail)) => {
                Self::new("conflict", detail)
            }
            AppError::Store(error) => {
                tracing::error!(%error, "store failure");
                Self::new("internal", "the request could not be completed")
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, Json(self.problem)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"tracehop\""));
        }
        if let Some(seconds) = self.retry_after
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            headers.insert(header::RETRY_AFTER, value);
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
