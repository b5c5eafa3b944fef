//! tracehop's HTTP server: health and readiness, Prometheus metrics, request tracing; the JSON
//! API and the web UI are mounted here.

pub mod api;
mod health;
pub mod metrics;
#[cfg(feature = "testing")]
pub mod testing;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::MatchedPath;
use axum::http::Request;
use tokio::net::TcpListener;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::RequestBodyTimeoutLayer;
use tower_http::trace::TraceLayer;
use tracehop_app::App;

pub use metrics::Metrics;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub app: App,
    pub metrics: Arc<Metrics>,
    pub limiter: Arc<api::RateLimiter>,
    /// Failed authentication per client address and per token prefix.
    pub auth_throttle: Arc<api::AuthThrottle>,
    /// How long a request body may send nothing before the request is cut off: a stalled
    /// upload ends (keeping the rows it delivered) instead of holding a connection forever.
    pub body_idle_timeout: Duration,
}

/// The default of [`AppState::body_idle_timeout`].
pub const BODY_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

impl AppState {
    pub fn new(app: App) -> Self {
        Self {
            app,
            metrics: Arc::new(Metrics::new()),
            limiter: Arc::new(api::RateLimiter::default()),
            auth_throttle: Arc::new(api::AuthThrottle::default()),
            body_idle_timeout: BODY_IDLE_TIMEOUT,
        }
    }
}

/// The API's OpenAPI document.
pub fn openapi(state: &AppState) -> utoipa::openapi::OpenApi {
    api::routes(state).1
}

/// The HTTP surface of the API port: health, readiness, the API. Prometheus metrics are served
/// apart, by [`metrics_router`], on their own address.
pub fn router(state: AppState) -> Router {
    let request_id = axum::http::HeaderName::from_static("x-request-id");
    let (api, _) = api::routes(&state);
    Router::new()
        .merge(health::routes())
        .merge(api)
        .fallback(api::not_found)
        .method_not_allowed_fallback(api::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::record))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
            let route = request
                .extensions()
                .get::<MatchedPath>()
                .map_or_else(|| request.uri().path().to_owned(), |p| p.as_str().to_owned());
            let id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-").to_owned();
            tracing::info_span!("request", method = %request.method(), route, request_id = id)
        }))
        .layer(RequestBodyTimeoutLayer::new(state.body_idle_timeout))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .with_state(state)
}

/// `/metrics` alone, for the metrics address (loopback by default): the figures of the same
/// state the API port serves, never reachable on the API port.
pub fn metrics_router(state: AppState) -> Router {
    metrics::routes().fallback(|| async { (axum::http::StatusCode::NOT_FOUND, "not found") }).with_state(state)
}

/// Serves [`metrics_router`] until `shutdown` completes.
pub async fn serve_metrics(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, metrics_router(state)).with_graceful_shutdown(shutdown).await
}

/// Serves until `shutdown` completes, then finishes the requests in flight.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // The client's address, for the failed-authentication throttle.
    let service = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, service).with_graceful_shutdown(shutdown).await
}
