//! Liveness and readiness.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use tracehop_app::worker::TIMER_KINDS;

use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz))
}

/// The process is up.
async fn healthz() -> &'static str {
    "ok"
}

/// The process can serve: its database answers, and deadlines are not falling behind (no due
/// deadline or reminder has waited longer than `worker.max_timer_lag`).
async fn readyz(State(state): State<AppState>) -> (StatusCode, String) {
    let store = state.app.store();
    if let Err(error) = store.ping().await {
        tracing::warn!(%error, "database not reachable");
        return (StatusCode::SERVICE_UNAVAILABLE, "database not reachable".to_owned());
    }
    let now = state.app.now();
    let limit = state.app.settings().worker.max_timer_lag;
    match store.due_by_kind(now).await {
        Ok(kinds) => {
            let oldest =
                kinds.iter().filter(|k| TIMER_KINDS.contains(&k.kind.as_str())).filter_map(|k| k.oldest_due).min();
            match oldest.map(|at| now.duration_since(at)) {
                Some(behind) if behind > limit => {
                    tracing::warn!(behind = %behind, "deadlines are falling behind");
                    (
                        StatusCode::SERVICE_UNAVAILABLE,
                        format!("deadlines behind by {}s (limit {}s)", behind.as_secs(), limit.as_secs()),
                    )
                }
                _ => (StatusCode::OK, "ready".to_owned()),
            }
        }
        Err(error) => {
            tracing::warn!(%error, "job queue not readable");
            (StatusCode::SERVICE_UNAVAILABLE, "job queue not readable".to_owned())
        }
    }
}
