//! tracehop's application services: load a traceback, decide, and append its events, update the
//! read models and enqueue the jobs they cause, all in one transaction; who may do what
//! (capability handles per principal); and the workers that fire deadlines and deliver
//! notifications.

pub mod access;
pub mod clock;
pub mod directory;
pub mod dno;
pub mod error;
pub mod intake;
pub mod notify;
pub mod settings;
pub mod traceback;
pub mod worker;

use std::sync::Arc;

use jiff::Timestamp;
use tracehop_store::Store;

pub use access::principal::{Principal, ProviderHandle, StaffHandle};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{AppError, AppResult};
pub use notify::mail::Mailer;
pub use settings::Settings;

/// Chooses rustls's ring provider for every TLS client in the process (webhooks, mail, the
/// database), once; HTTP clients built before it would fail.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The application: a store, a clock, the policy settings and the ways out (mail, HTTP).
/// Cheap to clone.
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    clock: Arc<dyn Clock>,
    settings: Settings,
    mailer: Mailer,
    http: reqwest::Client,
    tokens: access::tokens::TokenCache,
    /// Where voicemails and recordings of incidents go (INC-3).
    recordings: intake::recordings::Recordings,
    comments: access::comment_limit::CommentLimiter,
    /// What the workers of this process counted (lost leases, late and skipped notices).
    worker_stats: Arc<worker::WorkerStats>,
    /// STIR/SHAKEN verification at intake, when `settings.shaken` names a trust store.
    shaken: Option<Arc<tracehop_shaken::Verifier>>,
}

impl App {
    /// An application that sends no email. Like [`App::with_mailer`], it keeps incident
    /// recordings in memory until [`App::with_recordings`] names a directory or bucket.
    pub fn new(store: Store, clock: Arc<dyn Clock>, settings: Settings) -> Self {
        Self::with_mailer(store, clock, settings, Mailer::disabled())
    }

    pub fn with_mailer(store: Store, clock: Arc<dyn Clock>, settings: Settings, mailer: Mailer) -> Self {
        install_tls_provider();
        // The client that calls providers' webhooks: no redirects (a receiver answers, it does
        // not send us elsewhere), no proxy from the environment (a proxy would choose the
        // address, past the fence) and, in production, only public addresses.
        let to_std = |span: jiff::SignedDuration, fallback: u64| {
            std::time::Duration::try_from(span).unwrap_or(std::time::Duration::from_secs(fallback))
        };
        let mut http = reqwest::Client::builder()
            .timeout(to_std(settings.worker.delivery_timeout, 10))
            .connect_timeout(to_std(settings.worker.connect_timeout, 3))
            .user_agent(concat!("tracehop/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy();
        if !settings.webhooks.allow_private_targets {
            http = http.dns_resolver(Arc::new(notify::fence::PublicAddressesOnly));
        }
        let http = http.build().unwrap_or_else(|_| reqwest::Client::new());
        let recordings = intake::recordings::Recordings::in_memory();
        let tokens = access::tokens::TokenCache::default();
        let comments = access::comment_limit::CommentLimiter::default();
        let worker_stats = Arc::new(worker::WorkerStats::default());
        let shaken = intake::shaken::verifier_or_log(&settings.shaken);
        Self {
            inner: Arc::new(Inner {
                store,
                clock,
                settings,
                mailer,
                http,
                tokens,
                recordings,
                comments,
                worker_stats,
                shaken,
            }),
        }
    }

    /// The same application with recordings kept in `recordings` (a configured directory or
    /// bucket) instead of memory.
    #[must_use]
    pub fn with_recordings(self, recordings: intake::recordings::Recordings) -> Self {
        let Inner { store, clock, settings, mailer, http, worker_stats, shaken, .. } = &*self.inner;
        let (store, clock, settings, mailer, http, worker_stats, shaken) = (
            store.clone(),
            clock.clone(),
            settings.clone(),
            mailer.clone(),
            http.clone(),
            worker_stats.clone(),
            shaken.clone(),
        );
        Self {
            inner: Arc::new(Inner {
                store,
                clock,
                settings,
                mailer,
                http,
                tokens: access::tokens::TokenCache::default(),
                recordings,
                comments: access::comment_limit::CommentLimiter::default(),
                worker_stats,
                shaken,
            }),
        }
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// The STIR/SHAKEN verifier built from `settings.shaken`, when configured.
    pub fn shaken_verifier(&self) -> Option<Arc<tracehop_shaken::Verifier>> {
        self.inner.shaken.clone()
    }

    pub fn mailer(&self) -> &Mailer {
        &self.inner.mailer
    }

    /// What this process's workers counted.
    pub fn worker_stats(&self) -> &worker::WorkerStats {
        &self.inner.worker_stats
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    pub(crate) fn comment_limiter(&self) -> &access::comment_limit::CommentLimiter {
        &self.inner.comments
    }

    pub(crate) fn inner_tokens(&self) -> &access::tokens::TokenCache {
        &self.inner.tokens
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
