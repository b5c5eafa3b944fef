#![allow(clippy::cast_precision_loss, clippy::cast_possible_truncation, clippy::cast_sign_loss)] // figures for people
//! `tracehop bench`: throughput and latency figures, printed beside a baseline measured in the
//! same run on the same machine. Benchmarks print; they never pass or fail.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::Mutex;
use tracehop_app::access::principal::{Principal, StaffRole};
use tracehop_app::access::tokens::{NewToken, Scope, TokenOwner};
use tracehop_app::directory::ProviderSpec;
use tracehop_app::worker::Worker;
use tracehop_app::{App, Mailer, Settings, SystemClock};
use tracehop_core::country::Country;
use tracehop_core::intake::SourceKind;
use tracehop_core::number::PhoneNumber;
use tracehop_core::provider::ProviderId;
use tracehop_core::traceback::{CallFacts, Status, TracebackId};
use tracehop_store::providers::{Contact, ContactRole, ProviderInput};
use tracehop_store::{ConnectOptions, DatabaseUrl, Store};
use tracehop_web::AppState;

#[derive(Debug, Clone)]
pub struct ApiBench {
    pub tracebacks: usize,
    pub hops: usize,
    pub concurrency: usize,
    /// A PostgreSQL server to measure on (a throwaway database is created there), and where
    /// pgbench runs.
    pub postgres: Option<String>,
    pub pgbench_seconds: u32,
    /// Skip the SQLite run.
    pub skip_sqlite: bool,
}

/// What one engine achieved.
struct Figures {
    answers: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Figures {
    fn per_second(&self) -> f64 {
        self.answers as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> Duration {
        let mut sorted = self.latencies.clone();
        sorted.sort();
        let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
        sorted.get(index).copied().unwrap_or_default()
    }
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub async fn api(options: &ApiBench) -> anyhow::Result<()> {
    println!(
        "tracehop bench api: {} tracebacks x {} answers each over HTTP, {} concurrent synthetic providers' clients",
        options.tracebacks, options.hops, options.concurrency
    );
    println!("{:<28} {:>9} {:>10} {:>12} {:>9} {:>9}", "engine", "answers", "seconds", "answers/s", "p50 ms", "p99 ms");

    if !options.skip_sqlite {
        let dir = std::env::temp_dir().join(format!("tracehop-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let sqlite = DatabaseUrl::Sqlite { path: dir.join("bench.db") };
        let figures = run_engine(&sqlite, options).await.context("SQLite run");
        std::fs::remove_dir_all(&dir).ok();
        print_row("SQLite (synchronous=FULL)", &figures?);
    }

    let Some(admin) = &options.postgres else {
        println!("PostgreSQL: not measured (pass --postgres URL or set TRACEHOP_BENCH_POSTGRES_URL)");
        return Ok(());
    };
    let database = throwaway_database(admin, "tracehop_bench").await?;
    let result = run_engine(&database.url()?, options).await.context("PostgreSQL run");
    database.drop_now().await;
    let figures = result?;
    print_row("PostgreSQL", &figures);

    let baseline = throwaway_database(admin, "tracehop_pgbench").await?;
    let tps = pgbench(&baseline.url_text, options.concurrency, options.pgbench_seconds);
    baseline.drop_now().await;
    match tps {
        Ok(tps) => {
            println!(
                "{:<28} {:>9} {:>10} {:>12.0} {:>9} {:>9}",
                "pgbench simple-update", "-", options.pgbench_seconds, tps, "-", "-"
            );
            println!(
                "ratio PostgreSQL answers/s to pgbench simple-update TPS: {:.2} (goal >= 0.50)",
                figures.per_second() / tps
            );
        }
        Err(error) => println!("pgbench baseline not measured: {error:#}"),
    }
    Ok(())
}

fn print_row(engine: &str, figures: &Figures) {
    println!(
        "{:<28} {:>9} {:>10.2} {:>12.0} {:>9.2} {:>9.2}",
        engine,
        figures.answers,
        figures.elapsed.as_secs_f64(),
        figures.per_second(),
        millis(figures.percentile(0.50)),
        millis(figures.percentile(0.99))
    );
}

/// Starts a server on `url`, creates the synthetic world, and times the answers.
async fn run_engine(url: &DatabaseUrl, options: &ApiBench) -> anyhow::Result<Figures> {
    let connections = u32::try_from(options.concurrency.clamp(4, 32)).unwrap_or(16);
    let store = Store::open(url, &ConnectOptions { max_connections: connections, sqlite_full_sync: true }).await?;
    let app = App::with_mailer(store, Arc::new(SystemClock), Settings::default(), Mailer::disabled());
    let operator = Principal::Staff { user: "bench".to_owned(), role: StaffRole::Admin, minted_by: None };

    let mut providers = Vec::new();
    let mut tokens = Vec::new();
    for index in 0..=options.hops {
        let id = ProviderId::new(format!("bench-{index}"))?;
        let contacts = vec![Contact {
            role: ContactRole::Primary,
            name: "Bench desk".to_owned(),
            title: None,
            email: Some(format!("desk@bench-{index}.example")),
            phone: None,
            business_hours: None,
        }];
        let input = ProviderInput::new(id.clone(), format!("Bench Carrier {index}"), Country::US);
        app.save_provider(&ProviderSpec { provider: input, affiliates: Vec::new(), contacts }).await?;
        let new = NewToken {
            name: "bench".to_owned(),
            owner: TokenOwner::Provider(id.clone()),
            scopes: [Scope::HopsRead, Scope::HopsAnswer].into_iter().collect(),
            expires_at: None,
            rate_limit_per_minute: Some(100_000),
        };
        tokens.push(app.issue_token(&operator, None, new).await?.token);
        providers.push(id);
    }

    let submitter =
        app.create_submitter(&operator, "bench-source", "Bench source", SourceKind::AnalyticsProvider, None).await?;
    let campaign = app.create_campaign(&operator, None, "bench", None, None).await?;
    let mut ids = Vec::with_capacity(options.tracebacks);
    for index in 0..options.tracebacks {
        let call = CallFacts {
            calling: PhoneNumber::parse("+1 202-555-0123"),
            called: PhoneNumber::parse("+1 312-555-0199"),
            call_time: app.now(),
            sip_call_id: None,
            campaign_label: None,
            basis_summary: None,
            recording: None,
        };
        let referral = crate::referral::referral(
            &submitter.id,
            &format!("bench-{index}"),
            &call,
            providers[0].clone(),
            Some(campaign.id.clone()),
        );
        ids.push(app.refer_and_start(&operator, referral).await?.traceback);
    }

    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let server_state = AppState::new(app.clone());
    let mut server_stop = stopped.clone();
    let server = tokio::spawn(async move {
        tracehop_web::serve(listener, server_state, async move {
            server_stop.changed().await.ok();
        })
        .await
    });
    let worker = Worker::new(app.clone(), "bench-worker");
    let worker_task = tokio::spawn(async move { worker.run(stopped).await });

    let queue = Arc::new(Mutex::new(ids.clone()));
    let client = reqwest::Client::builder().pool_max_idle_per_host(options.concurrency).build()?;
    let tokens = Arc::new(tokens);
    let started = Instant::now();
    let mut clients = Vec::new();
    for _ in 0..options.concurrency {
        let (queue, client, tokens, base, hops) =
            (queue.clone(), client.clone(), tokens.clone(), base.clone(), options.hops);
        clients.push(tokio::spawn(async move { answer_tracebacks(&queue, &client, &tokens, &base, hops).await }));
    }
    let mut latencies = Vec::new();
    for client in clients {
        latencies.extend(client.await??);
    }
    let elapsed = started.elapsed();
    stop.send(true).ok();
    server.await.ok();
    worker_task.await.ok();

    let mut unfinished = 0;
    for id in &ids {
        let (_, state) = app.traceback(*id).await?;
        if state.status() != Status::Closed {
            unfinished += 1;
        }
    }
    anyhow::ensure!(unfinished == 0, "{unfinished} tracebacks did not reach their origin");
    app.store().close().await;
    Ok(Figures { answers: latencies.len(), elapsed, latencies })
}

/// One synthetic client: takes tracebacks off the queue and has each provider answer in turn.
async fn answer_tracebacks(
    queue: &Mutex<Vec<TracebackId>>,
    client: &reqwest::Client,
    tokens: &[String],
    base: &str,
    hops: usize,
) -> anyhow::Result<Vec<Duration>> {
    let mut latencies = Vec::new();
    loop {
        let Some(id) = queue.lock().await.pop() else { return Ok(latencies) };
        for (hop, token) in tokens.iter().enumerate().take(hops) {
            let body = if hop + 1 == hops {
                serde_json::json!({"kind": "originated", "customer": {"name": "Bench Dialer LLC", "country": "US"}})
            } else {
                serde_json::json!({"kind": "upstream", "upstream": {"provider_id": format!("bench-{}", hop + 1)}})
            };
            let sent = Instant::now();
            let response = client
                .post(format!("{base}/api/v1/provider/tracebacks/{id}/hops/{hop}/answer"))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await?;
            let status = response.status();
            response.bytes().await?;
            latencies.push(sent.elapsed());
            anyhow::ensure!(status.is_success(), "answer to hop {hop} of {id}: HTTP {status}");
        }
    }
}

/// A database created for one run on a PostgreSQL server, dropped afterwards.
pub(crate) struct Throwaway {
    admin: String,
    name: String,
    url_text: String,
}

impl Throwaway {
    pub(crate) fn url(&self) -> anyhow::Result<DatabaseUrl> {
        self.url_text.parse().map_err(|e: tracehop_store::StoreError| anyhow::anyhow!("{e}"))
    }

    pub(crate) async fn drop_now(self) {
        let Ok(admin) = self.admin.parse::<DatabaseUrl>() else { return };
        if let Ok(store) = Store::connect(&admin, &ConnectOptions::default()).await {
            let _ = store.execute_admin(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)).await;
            store.close().await;
        }
    }
}

pub(crate) async fn throwaway_database(admin: &str, prefix: &str) -> anyhow::Result<Throwaway> {
    let name = format!("{prefix}_{}_{}", std::process::id(), rand::random::<u32>());
    let url: DatabaseUrl = admin.parse().map_err(|e: tracehop_store::StoreError| anyhow::anyhow!("{e}"))?;
    let store =
        Store::connect(&url, &ConnectOptions::default()).await.with_context(|| format!("connecting to {url}"))?;
    store.execute_admin(&format!("CREATE DATABASE {name}")).await?;
    store.close().await;
    let DatabaseUrl::Postgres { url: mut parsed } = url else { anyhow::bail!("--postgres must be a postgres:// URL") };
    parsed.set_path(&format!("/{name}"));
    Ok(Throwaway { admin: admin.to_owned(), name, url_text: parsed.to_string() })
}

/// pgbench's built-in simple-update script at the same concurrency; its TPS.
fn pgbench(url: &str, clients: usize, seconds: u32) -> anyhow::Result<f64> {
    let init = std::process::Command::new("pgbench")
        .args(["-i", "-s", "10", "-q", url])
        .output()
        .context("running pgbench -i (is pgbench installed?)")?;
    anyhow::ensure!(init.status.success(), "pgbench -i: {}", String::from_utf8_lossy(&init.stderr));
    let run = std::process::Command::new("pgbench")
        .args(["-b", "simple-update", "-c", &clients.to_string(), "-j", "2", "-T", &seconds.to_string(), url])
        .output()
        .context("running pgbench")?;
    anyhow::ensure!(run.status.success(), "pgbench: {}", String::from_utf8_lossy(&run.stderr));
    let text = String::from_utf8_lossy(&run.stdout);
    text.lines()
        .find_map(|line| {
            line.trim()
                .strip_prefix("tps = ")
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|n| n.parse().ok())
        })
        .with_context(|| format!("no tps in pgbench output: {text}"))
}
