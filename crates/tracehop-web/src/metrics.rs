//! Prometheus metrics: request counts and latencies by route, and, read at scrape time, the job
//! queue (due jobs and the oldest due age by kind), tracebacks by status, and what this process's
//! workers counted (deliveries in flight, failures by target, lost-lease completions, late and
//! skipped notices, open circuits).

use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::AppState;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub method: String,
    pub route: String,
    pub status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabels {
    pub state: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    pub kind: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SkipLabels {
    pub kind: String,
    pub reason: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TargetLabels {
    pub target: String,
}

/// The queue and worker metrics.
#[derive(Default)]
struct QueueMetrics {
    due: Family<KindLabels, Gauge>,
    oldest_due: Family<KindLabels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    in_flight: Gauge,
    open_circuits: Gauge,
    lost_leases: Family<KindLabels, Counter>,
    late: Family<KindLabels, Counter>,
    skipped: Family<SkipLabels, Counter>,
    target_failures: Family<TargetLabels, Counter>,
    worst_lateness: Family<KindLabels, Gauge<f64, std::sync::atomic::AtomicU64>>,
}

/// Brings a counter up to a total counted elsewhere.
fn catch_up(counter: &Counter, total: u64) {
    let seen = counter.get();
    if total > seen {
        counter.inc_by(total - seen);
    }
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RouteLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    jobs: Family<StateLabels, Gauge>,
    tracebacks: Family<StateLabels, Gauge>,
    queue: QueueMetrics,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("tracehop");
        let requests = Family::<RouteLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.0, 16))
        });
        let jobs = Family::<StateLabels, Gauge>::default();
        let tracebacks = Family::<StateLabels, Gauge>::default();
        registry.register("http_requests", "HTTP requests served", requests.clone());
        registry.register("http_request_duration_seconds", "Time to serve an HTTP request", latency.clone());
        registry.register("jobs", "Jobs in the queue by state (due: pending and due now)", jobs.clone());
        registry.register("tracebacks", "Tracebacks by status", tracebacks.clone());
        let queue = QueueMetrics::default();
        registry.register("jobs_due", "Jobs due now by kind", queue.due.clone());
        registry.register(
            "jobs_oldest_due_seconds",
            "How long the oldest due job of each kind has waited",
            queue.oldest_due.clone(),
        );
        registry.register(
            "deliveries_in_flight",
            "Emails and webhooks being sent by this process",
            queue.in_flight.clone(),
        );
        registry.register(
            "delivery_open_circuits",
            "Targets this process backs off after repeated failures",
            queue.open_circuits.clone(),
        );
        registry.register(
            "job_lost_leases",
            "Completions refused because another worker held the job (lost lease), by kind",
            queue.lost_leases.clone(),
        );
        registry.register(
            "notices_late",
            "Timers that ran late (a late reminder says so), by kind",
            queue.late.clone(),
        );
        registry.register("notices_skipped", "Reminders not sent, by reason", queue.skipped.clone());
        registry.register(
            "delivery_failures",
            "Failed deliveries by target (at most 50 targets named, the rest as other)",
            queue.target_failures.clone(),
        );
        registry.register(
            "timer_worst_lateness_seconds",
            "The latest a timer of each kind ran after its time, in this process",
            queue.worst_lateness.clone(),
        );
        Self { registry, requests, latency, jobs, tracebacks, queue }
    }

    fn observe(&self, labels: &RouteLabels, seconds: f64) {
        self.requests.get_or_create(labels).inc();
        self.latency.get_or_create(labels).observe(seconds);
    }

    fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/metrics", get(scrape))
}

/// Counts and times every request by its route template, not its concrete path.
pub async fn record(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route =
        request.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    let labels = RouteLabels { method, route, status: response.status().as_u16() };
    state.metrics.observe(&labels, started.elapsed().as_secs_f64());
    response
}

async fn scrape(State(state): State<AppState>) -> Response {
    let store = state.app.store();
    if let Ok(counts) = store.job_counts(state.app.now()).await {
        for (name, value) in
            [("pending", counts.pending), ("due", counts.due), ("failed", counts.failed), ("done", counts.done)]
        {
            state.metrics.jobs.get_or_create(&StateLabels { state: name.to_owned() }).set(value);
        }
    }
    let now = state.app.now();
    if let Ok(kinds) = store.due_by_kind(now).await {
        for kind in tracehop_app::worker::KINDS {
            let found = kinds.iter().find(|k| k.kind == *kind);
            let labels = KindLabels { kind: (*kind).to_owned() };
            state.metrics.queue.due.get_or_create(&labels).set(found.map_or(0, |k| k.due));
            let waited = found.and_then(|k| k.oldest_due).map_or(0.0, |at| now.duration_since(at).as_secs_f64());
            state.metrics.queue.oldest_due.get_or_create(&labels).set(waited.max(0.0));
        }
    }
    let counted = state.app.worker_stats().snapshot();
    let queue = &state.metrics.queue;
    queue.in_flight.set(counted.in_flight);
    queue.open_circuits.set(counted.open_circuits);
    // Every kind appears from the first scrape, at zero, so alert rules see a series.
    for kind in tracehop_app::worker::KINDS {
        let labels = KindLabels { kind: (*kind).to_owned() };
        catch_up(&queue.lost_leases.get_or_create(&labels), counted.lost_leases.get(*kind).copied().unwrap_or(0));
        catch_up(&queue.late.get_or_create(&labels), counted.late.get(*kind).copied().unwrap_or(0));
    }
    for ((kind, reason), total) in &counted.skipped {
        catch_up(&queue.skipped.get_or_create(&SkipLabels { kind: kind.clone(), reason: reason.clone() }), *total);
    }
    for (target, total) in &counted.target_failures {
        catch_up(&queue.target_failures.get_or_create(&TargetLabels { target: target.clone() }), *total);
    }
    for (kind, worst) in &counted.worst_lateness_ms {
        #[allow(clippy::cast_precision_loss)]
        let seconds = *worst as f64 / 1000.0;
        queue.worst_lateness.get_or_create(&KindLabels { kind: kind.clone() }).set(seconds);
    }
    if let Ok(counts) = store.count_tracebacks_by_status(None).await {
        for (status, value) in counts {
            state.metrics.tracebacks.get_or_create(&StateLabels { state: status }).set(value);
        }
    }
    match state.metrics.encode() {
        Ok(text) => ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], text)
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
