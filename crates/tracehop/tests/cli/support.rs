//! Running the binary: servers on free ports, waiting for their address, killing them.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use jiff::SignedDuration;
use tracehop_app::intake::candidates::Referral;
use tracehop_app::{App, Principal, Settings, SystemClock};
use tracehop_core::country::Country;
use tracehop_core::intake::{DueDiligence, LegalBasis, Nature, SourceKind};
use tracehop_core::provider::ProviderId;
use tracehop_core::traceback::{Traceback, TracebackId};
use tracehop_store::Store;
use tracehop_store::providers::{Contact, ContactRole, ProviderInput};

pub const BIN: &str = env!("CARGO_BIN_EXE_tracehop");

pub fn tracehop() -> Command {
    let mut command = Command::new(BIN);
    // The suite's engine choice is for the test process, not the configuration of the binary.
    command.env_remove("TRACEHOP_TEST_DATABASE_URL").env("RUST_LOG", "warn");
    command
}

pub fn run(args: &[&str]) -> Output {
    tracehop().args(args).output().expect("run tracehop")
}

/// A running `tracehop` process with an HTTP address.
pub struct Server {
    pub child: Child,
    pub base: String,
    /// Every later line that printed a URL, with its origin.
    printed: mpsc::Receiver<(String, String)>,
}

impl Server {
    /// Starts `tracehop ARGS` and waits until it prints the address it serves on.
    pub fn start(args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut command = tracehop();
        command.args(args).stdout(Stdio::piped()).stderr(Stdio::inherit());
        // Metrics on a port of their own, never a fixed one that parallel tests would share.
        command.env("TRACEHOP_METRICS_BIND", "127.0.0.1:0");
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("start tracehop");
        let stdout = child.stdout.take().expect("stdout");
        let (found, address) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(at) = line.find("http://") {
                    // The origin only: some lines name a page under it.
                    let rest = &line[at + "http://".len()..];
                    let authority: String = rest.chars().take_while(|c| !c.is_whitespace() && *c != '/').collect();
                    let url = format!("http://{authority}");
                    found.send((line.clone(), url)).ok();
                }
            }
        });
        let (_, base) =
            address.recv_timeout(Duration::from_secs(120)).expect("tracehop printed the address it serves on");
        Self { child, base, printed: address }
    }

    /// The origin of the first URL printed on a line containing `label`.
    pub fn printed_origin(&self, label: &str) -> String {
        loop {
            let (line, url) = self
                .printed
                .recv_timeout(Duration::from_secs(120))
                .unwrap_or_else(|_| panic!("tracehop never printed {label}"));
            if line.contains(label) {
                return url;
            }
        }
    }

    /// SIGKILL: no chance to clean up.
    pub fn kill(mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// An application on the test database with the wall clock and the given respond-by period.
pub fn app_with_deadline(store: &Store, respond_within: SignedDuration) -> App {
    let mut settings = Settings::default();
    settings.traceback.deadlines.respond_within = respond_within;
    App::new(store.clone(), Arc::new(SystemClock), settings)
}

pub fn staff() -> Principal {
    Principal::Staff {
        user: "cli-test".to_owned(),
        role: tracehop_app::access::principal::StaffRole::Analyst,
        minted_by: None,
    }
}

/// A reachable U.S. provider.
pub async fn add_provider(app: &App, id: &str) -> ProviderId {
    let provider = ProviderId::new(id).unwrap();
    let input = ProviderInput::new(provider.clone(), format!("{id} Telecom"), Country::US);
    let contact = Contact {
        role: ContactRole::Primary,
        name: "Traceback desk".into(),
        title: None,
        email: Some(format!("desk@{id}.example")),
        phone: None,
        business_hours: None,
    };
    app.save_provider(&tracehop_app::directory::ProviderSpec {
        provider: input,
        affiliates: vec![],
        contacts: vec![contact],
    })
    .await
    .unwrap();
    provider
}

/// Starts a traceback at `terminating` the way staff do: an incident, a vetted candidate, the start.
pub async fn start_traceback(app: &App, terminating: &ProviderId) -> TracebackId {
    if app.store().submitter("cli-test-source").await.unwrap().is_none() {
        app.create_submitter(&staff(), "cli-test-source", "CLI test source", SourceKind::AnalyticsProvider, None)
            .await
            .unwrap();
    }
    let mut incident = serde_json::Map::new();
    incident.insert("external_id".into(), uuid::Uuid::new_v4().to_string().into());
    incident.insert("calling".into(), "+1 202-555-0123".into());
    incident.insert("called".into(), "+1 312-555-0199".into());
    incident.insert("call_time".into(), app.now().to_string().into());
    let referral = Referral {
        submitter: "cli-test-source".to_owned(),
        incident,
        summary: "prerecorded calls without consent".to_owned(),
        diligence: DueDiligence {
            credible_source: true,
            verifiable: true,
            nature: Some(Nature::Unlawful),
            nature_note: Some("no consent".to_owned()),
            burden_balanced: true,
            burden_note: None,
        },
        legal_basis: LegalBasis::ProtectUsers,
        campaign_id: None,
        terminating: terminating.clone(),
    };
    app.refer_and_start(&staff(), referral).await.unwrap().traceback
}

pub async fn state_of(store: &Store, id: TracebackId) -> Traceback {
    store.traceback_snapshot(id).await.unwrap().unwrap().state
}

/// How many events of a kind a traceback's log holds.
pub async fn count_events(store: &Store, id: TracebackId, kind: &str) -> usize {
    store.load_events(&id.to_string()).await.unwrap().iter().filter(|e| e.event.change.name() == kind).count()
}

/// Waits for `done` to hold, polling, for up to `limit`.
pub async fn eventually<F, Fut>(limit: Duration, mut done: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while started.elapsed() < limit {
        if done().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    done().await
}

/// GET over plain HTTP with a client that knows which TLS provider the process uses.
pub async fn http_get(url: &str) -> reqwest::Response {
    tracehop_app::install_tls_provider();
    reqwest::get(url).await.unwrap()
}
