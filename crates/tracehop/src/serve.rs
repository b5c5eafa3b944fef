//! `tracehop serve`: the HTTP server and the job worker in one process, until SIGINT or SIGTERM.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracehop_app::worker::Worker;
use tracehop_app::{App, Clock, Mailer, SystemClock};
use tracehop_store::Store;
use tracehop_web::AppState;

use crate::config::Config;

/// Opens (and migrates) the configured database.
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let url = config.database()?;
    Store::open(&url, &config.connect_options()).await.with_context(|| format!("opening {url}"))
}

/// Serves `app` on `bind`, and its metrics on `metrics_bind` (when given), until a shutdown
/// signal, with a worker unless `worker` is false. `on_ready` gets both addresses.
pub async fn run(
    app: App,
    bind: &str,
    metrics_bind: Option<&str>,
    worker: bool,
    on_ready: impl FnOnce(SocketAddr, Option<SocketAddr>),
) -> anyhow::Result<()> {
    let listener = TcpListener::bind(bind).await.with_context(|| format!("binding {bind}"))?;
    let address = listener.local_addr()?;
    let metrics_listener = match metrics_bind.filter(|m| !m.trim().is_empty()) {
        Some(metrics_bind) => {
            Some(TcpListener::bind(metrics_bind).await.with_context(|| format!("binding metrics on {metrics_bind}"))?)
        }
        None => None,
    };
    let metrics_address = metrics_listener.as_ref().map(TcpListener::local_addr).transpose()?;
    let state = AppState::new(app.clone());
    let (stop, stopped) = watch::channel(false);
    let metrics_task = metrics_listener.map(|listener| {
        let (state, mut stopped) = (state.clone(), stopped.clone());
        tokio::spawn(async move {
            let shutdown = async move {
                stopped.wait_for(|stop| *stop).await.ok();
            };
            if let Err(error) = tracehop_web::serve_metrics(listener, state, shutdown).await {
                tracing::error!(%error, "the metrics server stopped");
            }
        })
    });
    let worker_task = worker.then(|| {
        let worker = Worker::new(app.clone(), format!("worker-{}-{}", std::process::id(), app.new_id().simple()));
        tokio::spawn(async move { worker.run(stopped).await })
    });
    on_ready(address, metrics_address);
    tracing::info!(%address, metrics = ?metrics_address, "serving");
    tracehop_web::serve(listener, state, shutdown_signal()).await?;
    stop.send(true).ok();
    if let Some(task) = worker_task {
        task.await.ok();
    }
    if let Some(task) = metrics_task {
        task.await.ok();
    }
    tracing::info!("stopped");
    Ok(())
}

/// The application on the configured database, with the wall clock and the configured mail.
pub async fn open_app(config: &Config) -> anyhow::Result<App> {
    let store = open_store(config).await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let mailer = Mailer::from_config(&config.mail).map_err(|e| anyhow::anyhow!(e))?;
    let recordings = tracehop_app::intake::recordings::Recordings::from_config(&config.recordings)
        .map_err(|e| anyhow::anyhow!(e))?;
    // A STIR/SHAKEN trust store or certificate cache that does not load stops the start.
    tracehop_app::intake::shaken::verifier(&config.policy.shaken).map_err(|e| anyhow::anyhow!(e))?;
    Ok(App::with_mailer(store, clock, config.policy.clone(), mailer).with_recordings(recordings))
}

pub async fn serve(config: &Config) -> anyhow::Result<()> {
    let app = open_app(config).await?;
    run(app, &config.bind, Some(&config.metrics_bind), config.worker, |address, metrics| {
        println!("tracehop listening on http://{address}");
        if let Some(metrics) = metrics {
            println!("metrics on http://{metrics}/metrics");
        }
    })
    .await
}

async fn shutdown_signal() {
    let interrupt = async {
        tokio::signal::ctrl_c().await.ok();
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}
