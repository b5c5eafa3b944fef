#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)] // test support: a failed step is a failed test
//! A whole tracehop on a throwaway database: the real HTTP server, a manual clock, the real
//! worker, an SMTP listener that speaks SMTP, and webhook receivers that check signatures.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use jiff::{SignedDuration, Timestamp};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tracehop_app::access::principal::{Principal, StaffRole};
use tracehop_app::access::tokens::{NewToken, Scope, TokenOwner};
use tracehop_app::directory::ProviderSpec;
use tracehop_app::intake::candidates::NewCandidate;
use tracehop_app::intake::incidents::Submitted;
use tracehop_app::notify::mail::{MailConfig, TlsMode};
use tracehop_app::worker::Worker;
use tracehop_app::{App, Mailer, ManualClock, Settings};
use tracehop_core::country::Country;
use tracehop_core::intake::{DueDiligence, LegalBasis, Nature, SourceKind};
use tracehop_core::provider::ProviderId;
use tracehop_store::providers::{Contact, ContactRole, IdentifierKind, ProviderInput};
use tracehop_store::testing::TestDatabase;

use crate::AppState;

/// A message as the SMTP listener received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMail {
    pub from: String,
    pub to: Vec<String>,
    pub subject: String,
    /// The body, quoted-printable decoded.
    pub body: String,
    pub message_id: String,
}

/// An SMTP server on loopback: enough of RFC 5321 for a real client to deliver to it.
pub struct SmtpListener {
    pub port: u16,
    pub received: Arc<Mutex<Vec<ReceivedMail>>>,
}

impl SmtpListener {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind SMTP");
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let store = received.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(serve_smtp(socket, store.clone()));
            }
        });
        Self { port, received }
    }

    pub fn messages(&self) -> Vec<ReceivedMail> {
        self.received.lock().unwrap().clone()
    }
}

async fn serve_smtp(socket: tokio::net::TcpStream, received: Arc<Mutex<Vec<ReceivedMail>>>) {
    let (reader, mut writer) = socket.into_split();
    let mut lines = BufReader::new(reader);
    if writer.write_all(b"220 tracehop-test ESMTP ready\r\n").await.is_err() {
        return;
    }
    let (mut from, mut to) = (String::new(), Vec::new());
    loop {
        let mut line = String::new();
        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let command = line.trim_end().to_ascii_uppercase();
        let answer: String = if command.starts_with("EHLO") || command.starts_with("HELO") {
            "250-tracehop-test\r\n250 8BITMIME\r\n".into()
        } else if command.starts_with("MAIL FROM:") {
            from = line.trim_end()[10..].trim_matches(|c| c == '<' || c == '>' || c == ' ').to_owned();
            to.clear();
            "250 OK\r\n".into()
        } else if command.starts_with("RCPT TO:") {
            to.push(line.trim_end()[8..].trim_matches(|c| c == '<' || c == '>' || c == ' ').to_owned());
            "250 OK\r\n".into()
        } else if command == "DATA" {
            if writer.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await.is_err() {
                return;
            }
            let mut data = String::new();
            loop {
                let mut line = String::new();
                if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                    return;
                }
                if line == ".\r\n" {
                    break;
                }
                data.push_str(line.strip_prefix('.').filter(|_| line.starts_with("..")).unwrap_or(&line));
            }
            received.lock().unwrap().push(parse_message(&from, &to, &data));
            "250 OK queued\r\n".into()
        } else if command == "QUIT" {
            let _ = writer.write_all(b"221 bye\r\n").await;
            return;
        } else if command == "RSET" || command == "NOOP" {
            "250 OK\r\n".into()
        } else {
            "502 not implemented\r\n".into()
        };
        if writer.write_all(answer.as_bytes()).await.is_err() {
            return;
        }
    }
}

fn parse_message(from: &str, to: &[String], data: &str) -> ReceivedMail {
    let (head, body) = data.split_once("\r\n\r\n").unwrap_or((data, ""));
    // Long headers arrive folded (RFC 5322 §2.2.3): a line break before whitespace continues the line.
    let head = head.replace("\r\n ", " ").replace("\r\n\t", "\t");
    let header = |name: &str| {
        head.lines().find_map(|l| l.strip_prefix(&format!("{name}: "))).unwrap_or_default().trim().to_owned()
    };
    let quoted = header("Content-Transfer-Encoding").eq_ignore_ascii_case("quoted-printable");
    ReceivedMail {
        from: from.to_owned(),
        to: to.to_vec(),
        subject: header("Subject"),
        body: if quoted { decode_quoted_printable(body) } else { body.to_owned() },
        message_id: header("Message-ID"),
    }
}

fn decode_quoted_printable(text: &str) -> String {
    let joined = text.replace("=\r\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && let Some(hex) = joined.get(i + 1..i + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A webhook delivery as a receiver saw it.
#[derive(Debug, Clone)]
pub struct ReceivedDelivery {
    pub headers: HeaderMap,
    pub body: String,
    pub status: u16,
}

#[derive(Default)]
struct ReceiverState {
    /// Answer this many requests with 500 before accepting.
    fail_first: usize,
    seen: Vec<ReceivedDelivery>,
}

/// An HTTP endpoint on loopback that records webhook deliveries.
#[derive(Clone)]
pub struct WebhookReceiver {
    pub url: String,
    state: Arc<Mutex<ReceiverState>>,
}

impl WebhookReceiver {
    /// A receiver that fails the first `fail_first` deliveries with HTTP 500.
    pub async fn start(fail_first: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind webhook receiver");
        let address = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(ReceiverState { fail_first, seen: Vec::new() }));
        let router = Router::new().route("/hook", post(receive)).with_state(state.clone());
        tokio::spawn(async move { axum::serve(listener, router).await.ok() });
        Self { url: format!("http://{address}/hook"), state }
    }

    /// Every request received, failed ones included.
    pub fn received(&self) -> Vec<ReceivedDelivery> {
        self.state.lock().unwrap().seen.clone()
    }

    /// The deliveries it accepted.
    pub fn accepted(&self) -> Vec<ReceivedDelivery> {
        self.received().into_iter().filter(|d| d.status == 200).collect()
    }
}

async fn receive(State(state): State<Arc<Mutex<ReceiverState>>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let mut state = state.lock().unwrap();
    let status = if state.fail_first > 0 {
        state.fail_first -= 1;
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    };
    state.seen.push(ReceivedDelivery {
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
        status: status.as_u16(),
    });
    status
}

/// The whole platform under test.
pub struct TestApp {
    pub app: App,
    pub clock: Arc<ManualClock>,
    pub worker: Worker,
    pub base: String,
    /// Where `/metrics` is served (its own address, never the API port).
    pub metrics_base: String,
    pub http: reqwest::Client,
    pub smtp: SmtpListener,
    pub db: TestDatabase,
    pub address: SocketAddr,
}

impl TestApp {
    /// Starts at `start` with default settings, except that webhooks may reach the local
    /// receivers the tests run.
    pub async fn start(start: Timestamp) -> Self {
        let mut settings = Settings::default();
        settings.webhooks.allow_private_targets = true;
        Self::with_settings(start, settings).await
    }

    pub async fn with_settings(start: Timestamp, settings: Settings) -> Self {
        Self::with_body_idle_timeout(start, settings, crate::BODY_IDLE_TIMEOUT).await
    }

    /// Like [`TestApp::with_settings`], cutting off request bodies idle for `body_idle_timeout`.
    pub async fn with_body_idle_timeout(
        start: Timestamp,
        settings: Settings,
        body_idle_timeout: std::time::Duration,
    ) -> Self {
        let db = TestDatabase::new().await;
        let store = db.store().await;
        let clock = Arc::new(ManualClock::new(start));
        let smtp = SmtpListener::start().await;
        let mail = MailConfig {
            from: "tracehop <traceback@tracehop-test.example>".to_owned(),
            transport: "smtp".to_owned(),
            host: Some("127.0.0.1".to_owned()),
            port: smtp.port,
            tls: TlsMode::None,
            ..MailConfig::default()
        };
        let mailer = Mailer::from_config(&mail).expect("mailer");
        let app = App::with_mailer(store, clock.clone(), settings, mailer);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind server");
        let address = listener.local_addr().unwrap();
        let state = AppState { body_idle_timeout, ..AppState::new(app.clone()) };
        // Metrics on their own listener, as `serve` runs them, sharing the API's state.
        let metrics_listener = TcpListener::bind("127.0.0.1:0").await.expect("bind metrics");
        let metrics_base = format!("http://{}", metrics_listener.local_addr().unwrap());
        let metrics_state = state.clone();
        tokio::spawn(async move {
            crate::serve_metrics(metrics_listener, metrics_state, std::future::pending()).await.ok()
        });
        tokio::spawn(async move { crate::serve(listener, state, std::future::pending()).await.ok() });
        let worker = Worker::new(app.clone(), "test-worker");
        let base = format!("http://{address}");
        Self { app, clock, worker, base, metrics_base, http: reqwest::Client::new(), smtp, db, address }
    }

    /// The opaque reference a provider knows hop `hop` of `traceback` by (a made-up one when the
    /// traceback does not exist).
    pub async fn hop_ref(&self, traceback: &str, hop: u32) -> String {
        let id = tracehop_core::traceback::TracebackId(traceback.parse().expect("a traceback id"));
        match self.app.traceback(id).await {
            Ok((_, state)) => state.hop_ref(tracehop_core::traceback::HopId(hop)).to_string(),
            Err(_) => uuid::Uuid::from_u128(0x0a0a_0a0a_0000_8000_8000_0000_0000_0000 | u128::from(hop)).to_string(),
        }
    }

    /// Runs every job due now.
    pub async fn work(&self) -> usize {
        self.worker.run_until_idle().await.expect("worker")
    }

    /// Moves the clock on, running each job when it falls due.
    pub async fn advance(&self, by: SignedDuration) {
        let until = self.app.now() + by;
        self.worker.run_through(&self.clock, until).await.expect("worker");
    }

    /// A reachable provider with primary and backup contacts and the given identifiers.
    pub async fn provider(&self, id: &str, country: &str, identifiers: &[(IdentifierKind, &str)]) -> ProviderId {
        let provider = ProviderId::new(id).unwrap();
        let input =
            ProviderInput::new(provider.clone(), format!("{id} Communications"), Country::parse(country).unwrap());
        let contacts = [ContactRole::Primary, ContactRole::Backup]
            .into_iter()
            .map(|role| Contact {
                role,
                name: format!("{id} {}", role.name()),
                title: None,
                email: Some(format!("{}@{id}.example", role.name())),
                phone: None,
                business_hours: None,
            })
            .collect();
        self.app.save_provider(&ProviderSpec { provider: input, affiliates: Vec::new(), contacts }).await.unwrap();
        if !identifiers.is_empty() {
            let mut tx = self.app.store().begin().await.unwrap();
            let list: Vec<(IdentifierKind, String)> = identifiers.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
            tx.add_identifiers(&provider, &list).await.unwrap();
            tx.commit().await.unwrap();
        }
        provider
    }

    /// An approved candidate for the standard test call — `+1 202-555-0123` to `(312) 555-0199`
    /// at 2026-03-01T18:22:05Z, campaign "Medicare card renewal" — vetted through the intake
    /// services; returns its id.
    pub async fn approved_candidate(&self) -> String {
        let staff = Principal::Staff { user: "test-analyst".to_owned(), role: StaffRole::Analyst, minted_by: None };
        let app = &self.app;
        if app.store().submitter("test-analytics").await.unwrap().is_none() {
            app.create_submitter(&staff, "test-analytics", "Test Analytics", SourceKind::AnalyticsProvider, None)
                .await
                .unwrap();
        }
        let campaigns = app.store().campaigns(None).await.unwrap();
        let campaign = match campaigns.into_iter().find(|c| c.name == "Medicare card renewal") {
            Some(campaign) => campaign.id,
            None => app.create_campaign(&staff, None, "Medicare card renewal", None, None).await.unwrap().id,
        };
        let fields = serde_json::json!({
            "external_id": uuid::Uuid::new_v4().to_string(),
            "calling": "+1 202-555-0123",
            "called": "(312) 555-0199",
            "call_time": "2026-03-01T18:22:05Z",
            "sip_call_id": "3848276298220188511@sbc.terminating.example",
            "basis": "Analytics flagged a Medicare impersonation campaign.",
        });
        let serde_json::Value::Object(fields) = fields else { panic!("a JSON object literal") };
        let incident = match app.submit_incident(&staff, Some("test-analytics"), &fields).await.unwrap() {
            Submitted::Created(record) => record,
            other => panic!("the test incident was not created: {other:?}"),
        };
        let new = NewCandidate {
            source_kind: Some(SourceKind::AnalyticsProvider),
            submitter_id: Some("test-analytics".to_owned()),
            incident_id: Some(incident.row.id),
            campaign_id: Some(campaign),
            summary: "Analytics flagged a Medicare impersonation campaign.".to_owned(),
        };
        let candidate = app.submit_candidate(&staff, new).await.unwrap();
        let diligence = DueDiligence {
            credible_source: true,
            verifiable: true,
            nature: Some(Nature::Fraudulent),
            nature_note: Some("Medicare impersonation in the recording".to_owned()),
            burden_balanced: true,
            burden_note: None,
        };
        app.record_due_diligence(&staff, &candidate.id, &diligence, Some(LegalBasis::ProtectUsers)).await.unwrap();
        app.approve_candidate(&staff, &candidate.id).await.unwrap();
        candidate.id
    }

    /// A provider token with the given scopes.
    pub async fn provider_token(&self, provider: &ProviderId, scopes: &[Scope]) -> String {
        self.issue(TokenOwner::Provider(provider.clone()), scopes).await
    }

    /// A staff admin token with the given scopes.
    pub async fn staff_token(&self, scopes: &[Scope]) -> String {
        self.issue(TokenOwner::Staff(StaffRole::Admin), scopes).await
    }

    async fn issue(&self, owner: TokenOwner, scopes: &[Scope]) -> String {
        let operator = Principal::Staff { user: "test-operator".to_owned(), role: StaffRole::Admin, minted_by: None };
        let scopes: BTreeSet<Scope> = scopes.iter().copied().collect();
        let new =
            NewToken { name: "test".to_owned(), owner, scopes, expires_at: None, rate_limit_per_minute: Some(100_000) };
        self.app.issue_token(&operator, None, new).await.unwrap().token
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, token: &str, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).bearer_auth(token).send().await.unwrap()
    }

    pub async fn post(&self, token: &str, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.http.post(self.url(path)).bearer_auth(token).json(body).send().await.unwrap()
    }

    pub async fn put(&self, token: &str, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.http.put(self.url(path)).bearer_auth(token).json(body).send().await.unwrap()
    }
}
