//! The scope an operation needs, checked before its handler reads the body: a token without the
//! scope gets 403 whatever it sent (never 422 for a body it had no right to send, nor a body
//! read in vain). What each operation needs is what its OpenAPI annotation declares
//! (`security(("bearer" = ["scope"]), …)`: any one alternative, every scope in it), so the
//! document and the check cannot disagree; handlers still check their own scope and principal.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracehop_app::AppError;
use tracehop_app::access::tokens::{Caller, Scope};

use super::problem::ApiError;

/// For each operation (method and route), the alternative sets of scopes it takes.
#[derive(Debug, Default)]
pub struct RequiredScopes {
    operations: HashMap<(Method, String), Vec<Vec<Scope>>>,
}

impl RequiredScopes {
    /// Reads them from the document the routes generate.
    pub fn of(openapi: &utoipa::openapi::OpenApi) -> Self {
        let mut operations = HashMap::new();
        let Ok(document) = serde_json::to_value(openapi) else { return Self::default() };
        let Some(paths) = document.get("paths").and_then(serde_json::Value::as_object) else { return Self::default() };
        for (path, item) in paths {
            let Some(item) = item.as_object() else { continue };
            for (method, operation) in item {
                let Ok(method) = Method::from_bytes(method.to_ascii_uppercase().as_bytes()) else { continue };
                let Some(security) = operation.get("security").and_then(serde_json::Value::as_array) else { continue };
                let alternatives = security
                    .iter()
                    .filter_map(|alternative| alternative.get("bearer").and_then(serde_json::Value::as_array))
                    .map(|scopes| scopes.iter().filter_map(|s| s.as_str().and_then(Scope::parse)).collect())
                    .collect();
                operations.insert((method, path.clone()), alternatives);
            }
        }
        Self { operations }
    }

    /// Why `caller` may not call the operation, if it may not.
    fn refusal(&self, method: &Method, route: &str, caller: &Caller) -> Option<AppError> {
        let alternatives = self.operations.get(&(method.clone(), route.to_owned()))?;
        if alternatives.is_empty() || alternatives.iter().any(|all| all.iter().all(|s| caller.scopes.contains(s))) {
            return None;
        }
        let missing = alternatives.first()?.iter().find(|s| !caller.scopes.contains(s))?;
        Some(AppError::Forbidden(format!("this token lacks the {missing} scope")))
    }
}

/// Refuses, before the handler runs, a caller whose token lacks the operation's scope.
pub async fn require(State(required): State<Arc<RequiredScopes>>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned());
    if let (Some(route), Some(caller)) = (route, request.extensions().get::<Caller>())
        && let Some(refusal) = required.refusal(request.method(), &route, caller)
    {
        return ApiError::from(refusal).into_response();
    }
    next.run(request).await
}
