//! JSON in and out: request bodies read with the path of any field at fault, and cursor pages.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::problem::ApiError;

/// A JSON request body. Errors name the field (`customer.name: missing field`) in a
/// problem+json response.
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        read_json(&json_bytes(request, state).await?).map(ApiJson)
    }
}

/// A body type that reads itself from JSON, where serde's derived reading would lose the path of
/// the field at fault.
pub trait ReadBody: Sized {
    fn read(bytes: &[u8]) -> Result<Self, ApiError>;
}

/// A JSON request body read by [`ReadBody`].
pub struct ApiBody<T>(pub T);

impl<T, S> FromRequest<S> for ApiBody<T>
where
    T: ReadBody,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        T::read(&json_bytes(request, state).await?).map(ApiBody)
    }
}

/// The bytes of a body sent as `application/json`.
async fn json_bytes<S: Send + Sync>(request: Request, state: &S) -> Result<Bytes, ApiError> {
    let is_json = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json")));
    if !is_json {
        return Err(ApiError::new("unsupported-media-type", "send the body as application/json"));
    }
    Bytes::from_request(request, state).await.map_err(|e| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new("payload-too-large", "the body is larger than this operation takes (2 MiB)")
        } else {
            ApiError::new("malformed-body", e.to_string())
        }
    })
}

/// Reads JSON, reporting syntax errors as malformed and shape errors with their field path.
pub fn read_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(&mut deserializer) {
        Ok(value) => {
            deserializer.end().map_err(|e| ApiError::new("malformed-body", e.to_string()))?;
            Ok(value)
        }
        Err(error) => {
            let path = error.path().to_string();
            let inner = error.into_inner();
            if inner.is_syntax() || inner.is_eof() {
                Err(ApiError::new("malformed-body", inner.to_string()))
            } else {
                let message = inner.to_string();
                // serde appends " at line L column C"; the field path says where.
                let message = message.split(" at line ").next().unwrap_or(&message).to_owned();
                // A missing field is reported at the object that lacks it: name the field itself.
                let missing = message.strip_prefix("missing field `").and_then(|m| m.strip_suffix('`'));
                let field = match (path.as_str(), missing) {
                    (".", Some(name)) => name.to_owned(),
                    (".", None) => "body".to_owned(),
                    (_, Some(name)) => format!("{path}.{name}"),
                    (_, None) => path,
                };
                Err(ApiError::invalid(field, message))
            }
        }
    }
}

/// One page of a list, and the cursor for the next, if there is one.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// An opaque cursor: the keyset of the last row, as base64url JSON.
pub fn encode_cursor<K: Serialize>(key: &K) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(key).unwrap_or_default())
}

pub fn decode_cursor<K: DeserializeOwned>(cursor: &str) -> Result<K, ApiError> {
    let invalid = || ApiError::invalid("cursor", "not a cursor this API issued");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    serde_json::from_slice(&bytes).map_err(|_| invalid())
}

/// `limit` in a query: 1 to 200, default 50.
pub fn limit(requested: Option<i64>) -> Result<i64, ApiError> {
    match requested {
        None => Ok(50),
        Some(n) if (1..=200).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::invalid("limit", "between 1 and 200")),
    }
}

/// Builds a page from `limit + 1` fetched rows.
pub fn page<R, T: ToSchema, K: Serialize>(
    mut rows: Vec<R>,
    limit: i64,
    key: impl Fn(&R) -> K,
    item: impl Fn(R) -> T,
) -> Page<T> {
    let limit = usize::try_from(limit).unwrap_or(50);
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next_cursor = if more { rows.last().map(|last| encode_cursor(&key(last))) } else { None };
    Page { items: rows.into_iter().map(item).collect(), next_cursor }
}

/// Query parameters common to lists.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Items per page, 1 to 200 (default 50).
    pub limit: Option<i64>,
}

/// Path parameters; anything that does not parse names nothing, so it is "not found".
pub struct ApiPath<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Self(value))
            .map_err(|_| ApiError::not_found("resource"))
    }
}

/// Query parameters, with problems reported as validation errors.
pub struct ApiQuery<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize::<_, T>(deserializer).map(Self).map_err(|error| {
            let path = error.path().to_string();
            let message = error.into_inner().to_string();
            // Unknown and missing parameters are named in serde's message, not in the path.
            let field = match path.as_str() {
                "" | "." | "?" => quoted_name(&message).unwrap_or("query").to_owned(),
                _ => path,
            };
            ApiError::invalid(field, message)
        })
    }
}

/// The name serde quotes in messages such as "unknown field `colour`, expected …".
fn quoted_name(message: &str) -> Option<&str> {
    let (_, rest) = message.split_once('`')?;
    rest.split_once('`').map(|(name, _)| name)
}
