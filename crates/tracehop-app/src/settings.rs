//! Policy parameters (SPEC: every default a documented, configurable parameter).

use jiff::SignedDuration;
use serde::{Deserialize, Serialize};
use tracehop_core::traceback::TracebackPolicy;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Where people and systems reach this platform; used in notification links.
    pub public_url: String,
    /// Respond-by and start-by periods, hop limit, closing on no response.
    pub traceback: TracebackPolicy,
    pub reminders: Reminders,
    pub worker: WorkerSettings,
    pub webhooks: WebhookSettings,
    pub comments: CommentSettings,
    /// STIR/SHAKEN verification of incidents' Identity headers (off unless a trust store is named).
    pub shaken: crate::intake::shaken::ShakenSettings,
    /// The Do Not Originate registry: signing key, terms version.
    pub dno: crate::dno::DnoSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            public_url: "http://127.0.0.1:8080".to_owned(),
            traceback: TracebackPolicy::default(),
            reminders: Reminders::default(),
            worker: WorkerSettings::default(),
            webhooks: WebhookSettings::default(),
            comments: CommentSettings::default(),
            shaken: crate::intake::shaken::ShakenSettings::default(),
            dno: crate::dno::DnoSettings::default(),
        }
    }
}

/// How long before each deadline a reminder goes to the provider's contacts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Reminders {
    pub before_start_by: SignedDuration,
    pub before_respond_by: SignedDuration,
}

impl Default for Reminders {
    fn default() -> Self {
        Self { before_start_by: SignedDuration::from_hours(1), before_respond_by: SignedDuration::from_hours(4) }
    }
}

/// Where providers' webhooks may point.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookSettings {
    /// Allow endpoints on loopback, private and other non-public addresses, and plain `http`.
    /// Off in production, where a webhook must not reach into the platform's own network; on
    /// for development and tests with local receivers.
    pub allow_private_targets: bool,
}

/// How much providers may comment; the per-hop cap is `traceback.comments_per_hop`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CommentSettings {
    /// Comments one provider may write in any hour, across its tracebacks.
    pub per_provider_per_hour: u32,
}

impl Default for CommentSettings {
    fn default() -> Self {
        Self { per_provider_per_hour: 60 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkerSettings {
    /// How long a claimed job stays with its worker before another may take it. A worker
    /// extends the lease of the work it has in progress every third of it (a heartbeat).
    pub lease: SignedDuration,
    /// How often an idle worker looks for due jobs.
    pub poll_interval: SignedDuration,
    /// Timers (deadlines, reminders) claimed at once. Timers have their own queue and loop:
    /// they never wait behind email or webhook deliveries.
    pub batch: i64,
    /// Deliveries (emails, webhooks) in flight at once in one worker.
    pub delivery_concurrency: i64,
    /// Deliveries in flight at once to one target (one webhook endpoint, one provider's
    /// mailboxes). At 1, a target receives its notices one at a time, in order.
    pub per_target_concurrency: i64,
    /// How long a delivery may take to connect.
    pub connect_timeout: SignedDuration,
    /// How long a whole delivery may take; keep it well under `lease`.
    pub delivery_timeout: SignedDuration,
    /// Consecutive failures after which a target is backed off (its circuit opens).
    pub breaker_failures: i64,
    /// How long an open circuit stays open the first time; it doubles on each new trip, up to
    /// an hour, and closes at the first success.
    pub breaker_cooldown: SignedDuration,
    /// A timer that runs later than this after its time counts as late (a metric; a late
    /// reminder says so).
    pub late_after: SignedDuration,
    /// `/readyz` reports not ready when a due deadline or reminder has waited longer than this.
    pub max_timer_lag: SignedDuration,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            lease: SignedDuration::from_secs(60),
            poll_interval: SignedDuration::from_millis(500),
            batch: 32,
            delivery_concurrency: 16,
            per_target_concurrency: 1,
            connect_timeout: SignedDuration::from_secs(3),
            delivery_timeout: SignedDuration::from_secs(10),
            breaker_failures: 5,
            breaker_cooldown: SignedDuration::from_secs(30),
            late_after: SignedDuration::from_secs(60),
            max_timer_lag: SignedDuration::from_mins(5),
        }
    }
}
