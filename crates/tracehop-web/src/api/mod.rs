//! The JSON API under `/api/v1`: bearer tokens, problem+json errors, idempotent POSTs, cursor
//! pages, and an OpenAPI 3.1 document generated from the routes themselves.

mod auth;
mod campaigns;
mod candidates;
mod directory;
mod disclosure;
mod dno;
mod docs;
mod idempotency;
mod incidents;
pub mod json;
pub mod model;
pub mod problem;
mod provider;
mod scopes;
mod shaken;
mod staff;
mod submitters;
mod throttle;
mod tokens;
mod webhooks;

use std::sync::Arc;

use axum::Router;
use axum::http::{Uri, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

pub use auth::RateLimiter;
use json::ApiPath;
use problem::{ApiError, KINDS};
pub use throttle::AuthThrottle;

use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "tracehop API",
        version = "1",
        description = "The traceback platform's API. Providers list their hop requests, read each one as they \
may see it, and answer — by provider id, FRN or RMD number, with new contact details, with the originating \
customer, or not found. Staff start and steer tracebacks. Every request carries `Authorization: Bearer <token>`; \
every POST may carry an `Idempotency-Key`; errors are RFC 9457 problem+json; lists page with an opaque `cursor`."
    ),
    modifiers(&BearerTokens),
    tags(
        (name = "provider", description = "A provider's hop requests and answers (ACC-2: only its own)."),
        (name = "staff", description = "Consortium staff: start, read and steer tracebacks."),
        (name = "tokens", description = "API tokens: shown once, stored hashed, scoped, expiring, revocable."),
        (name = "webhooks", description = "Signed webhook deliveries of hop requests, reminders, deadlines and closures."),
        (name = "intake", description = "Candidates under the sourcing policy, and campaigns (SRC, CMP)."),
        (name = "directory", description = "The provider directory and the Robocall Mitigation Database import (PRV)."),
        (name = "dno", description = "The Do Not Originate registry: entries, signed snapshots and deltas, registry users, screening (DNO)."),
    ),
    components(schemas(problem::Problem, problem::FieldError))
)]
struct ApiDoc;

struct BearerTokens;

impl Modify for BearerTokens {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("thp_<prefix>_<secret>")
                    .description(Some("An API token; its scopes decide what it may do."))
                    .build(),
            ),
        );
    }
}

/// The API's routes and its OpenAPI document.
pub fn routes(state: &AppState) -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let api = OpenApiRouter::new()
        .merge(provider::routes())
        .merge(staff::routes())
        .merge(disclosure::routes())
        .merge(tokens::routes())
        .merge(webhooks::routes())
        .merge(candidates::routes())
        .merge(campaigns::routes())
        .merge(directory::routes())
        .merge(incidents::routes())
        .merge(submitters::routes())
        .merge(shaken::routes())
        .merge(dno::routes());
    let (authenticated, openapi) =
        OpenApiRouter::with_openapi(ApiDoc::openapi()).nest("/api/v1", api).split_for_parts();
    // Outermost first: authenticate, check the operation's scope (before any body is read),
    // then idempotency.
    let required = Arc::new(scopes::RequiredScopes::of(&openapi));
    let authenticated = authenticated
        .layer(axum::middleware::from_fn_with_state(state.clone(), idempotency::idempotent))
        .layer(axum::middleware::from_fn_with_state(required, scopes::require))
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth::authenticate));
    let openapi = describe_responses(openapi);
    let document = Arc::new(openapi.clone());
    let page = Arc::new(docs::render(&openapi));
    let public = Router::new()
        .route("/api/v1/openapi.json", get(move || std::future::ready(serve_document(&document))))
        .route("/api/v1/docs", get(move || std::future::ready(Html(page.as_str().to_owned()))))
        .route("/api/v1/problems", get(problem_index))
        .route("/api/v1/problems/{kind}", get(problem_page));
    (public.merge(authenticated), openapi)
}

fn serve_document(document: &utoipa::openapi::OpenApi) -> Response {
    match serde_json::to_string_pretty(document) {
        Ok(text) => ([(header::CONTENT_TYPE, "application/json")], text).into_response(),
        Err(_) => ApiError::new("internal", "the document could not be written").into_response(),
    }
}

async fn problem_index() -> Html<String> {
    let rows: String = KINDS
        .iter()
        .map(|(kind, status, title, text)| format!("<tr><td><a href=\"/api/v1/problems/{kind}\"><code>{kind}</code></a></td><td>{status}</td><td>{}</td><td>{}</td></tr>", docs::escape(title), docs::escape(text)))
        .collect();
    Html(docs::page(
        "Problem types",
        &format!(
            "<h1>Problem types</h1><p>Every API error is <code>application/problem+json</code> (RFC 9457) with one of these <code>type</code>s.</p><table><tr><th>type</th><th>status</th><th>title</th><th>meaning</th></tr>{rows}</table>"
        ),
    ))
}

async fn problem_page(ApiPath(kind): ApiPath<String>) -> Response {
    match KINDS.iter().find(|(k, ..)| *k == kind) {
        Some((kind, status, title, text)) => Html(docs::page(title, &format!(
            "<h1>{}</h1><p><code>/api/v1/problems/{kind}</code> — HTTP {status}</p><p>{}</p><p><a href=\"/api/v1/problems\">All problem types</a></p>",
            docs::escape(title),
            docs::escape(text)
        )))
        .into_response(),
        None => ApiError::not_found(format!("problem type {kind}")).into_response(),
    }
}

/// Unknown paths: problem+json under `/api/`, plain text elsewhere.
pub async fn not_found(uri: Uri) -> Response {
    if uri.path().starts_with("/api/") {
        ApiError::new("route-not-found", format!("no API operation at {}", uri.path())).into_response()
    } else {
        (axum::http::StatusCode::NOT_FOUND, "not found").into_response()
    }
}

/// A known path with a method it does not take.
pub async fn method_not_allowed(uri: Uri) -> Response {
    if uri.path().starts_with("/api/") {
        ApiError::new("method-not-allowed", format!("{} does not take this method", uri.path())).into_response()
    } else {
        (axum::http::StatusCode::METHOD_NOT_ALLOWED, "method not allowed").into_response()
    }
}

/// OpenAPI requires a description on every response; the common ones mean the same everywhere,
/// so they are written once here rather than on every route.
fn describe_responses(openapi: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    let Ok(mut document) = serde_json::to_value(&openapi) else { return openapi };
    if let Some(paths) = document.get_mut("paths").and_then(serde_json::Value::as_object_mut) {
        for item in paths.values_mut().filter_map(serde_json::Value::as_object_mut) {
            for operation in item.values_mut() {
                let Some(responses) = operation.get_mut("responses").and_then(serde_json::Value::as_object_mut) else {
                    continue;
                };
                for (status, response) in responses.iter_mut() {
                    let Some(response) = response.as_object_mut() else { continue };
                    let missing =
                        response.get("description").and_then(serde_json::Value::as_str).is_none_or(str::is_empty);
                    if missing {
                        response.insert(
                            "description".to_owned(),
                            serde_json::Value::String(response_description(status).to_owned()),
                        );
                    }
                }
            }
        }
    }
    serde_json::from_value(document).unwrap_or(openapi)
}

fn response_description(status: &str) -> &'static str {
    match status {
        "200" => "The result.",
        "201" => "Created.",
        "204" => "Done; nothing to return.",
        "401" => "No valid bearer token (problem+json).",
        "403" => "The token lacks the scope this needs (problem+json).",
        "404" => "Nothing by that name is visible to the caller (problem+json).",
        "409" => "The request conflicts with the current state (problem+json).",
        "413" => "The body is larger than the operation takes (problem+json).",
        "422" => "Invalid request; `errors` names the fields (problem+json).",
        _ => "See the problem types.",
    }
}
