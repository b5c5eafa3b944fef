//! The application layer's one error type; the web layer maps it to HTTP in one place.

use tracehop_core::traceback::Rejection;
use tracehop_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The domain refused the command.
    #[error("{0}")]
    Rejected(#[from] Rejection),
    /// No valid credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// Too many requests for the caller's rate limit.
    #[error("rate limit of {limit} requests a minute exceeded")]
    RateLimited { limit: u32, retry_after_seconds: u64 },
    /// A provider wrote as many comments as policy allows for now.
    #[error("{detail}")]
    TooManyComments { detail: String, retry_after_seconds: Option<u64> },
    /// A notification could not be delivered; try again at `retry_at` if there is one.
    #[error("delivery failed: {message}")]
    Delivery { retry_at: Option<jiff::Timestamp>, message: String },
    /// Nothing the caller may see by that name.
    #[error("{0} not found")]
    NotFound(String),
    /// The caller is known but may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// Input that does not make sense, with the field it concerns.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// The request contradicts the current state (a candidate already decided, an id taken).
    #[error("{0}")]
    Conflict(String),
    /// Concurrent updates kept winning; the caller may retry.
    #[error("too many concurrent updates of {0}; try again")]
    Busy(String),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(what) => Self::NotFound(what),
            other => Self::Store(other),
        }
    }
}

impl From<serde_json::Error> for AppError {
    fn from(error: serde_json::Error) -> Self {
        Self::Store(StoreError::Corrupt(error.to_string()))
    }
}

impl AppError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid { field: field.into(), message: message.into() }
    }
}

pub type AppResult<T> = Result<T, AppError>;
