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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkerSettings {
    /// How long a claimed job stays with its worker before another may take it.
    pub lease: SignedDuration,
    /// How often an idle worker looks for due jobs.
    pub poll_interval: SignedDuration,
    /// Jobs claimed at once.
    pub batch: i64,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self { lease: SignedDuration::from_secs(60), poll_interval: SignedDuration::from_millis(500), batch: 32 }
    }
}
