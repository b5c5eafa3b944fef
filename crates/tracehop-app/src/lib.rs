//! tracehop's application services: load a traceback, decide, and append its events, update the
//! read models and enqueue the jobs they cause, all in one transaction; who may do what
//! (capability handles per principal); and the workers that fire deadlines.

pub mod accounts;
pub mod clock;
pub mod directory;
pub mod error;
pub mod jobs;
pub mod principal;
pub mod settings;
pub mod traceback;
pub mod worker;

use std::sync::Arc;

use jiff::Timestamp;
use tracehop_store::Store;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{AppError, AppResult};
pub use principal::{Principal, ProviderHandle, StaffHandle};
pub use settings::Settings;

/// The application: a store, a clock and the policy settings. Cheap to clone.
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    clock: Arc<dyn Clock>,
    settings: Settings,
}

impl App {
    pub fn new(store: Store, clock: Arc<dyn Clock>, settings: Settings) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                clock,
                settings,
            }),
        }
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    pub fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    /// A fresh identifier, ordered by creation time.
    pub fn new_id(&self) -> uuid::Uuid {
        let now = self.now();
        let seconds = u64::try_from(now.as_second()).unwrap_or(0);
        let nanos = u32::try_from(now.subsec_nanosecond()).unwrap_or(0);
        uuid::Uuid::new_v7(uuid::Timestamp::from_unix_time(seconds, nanos, 0, 0))
    }
}
