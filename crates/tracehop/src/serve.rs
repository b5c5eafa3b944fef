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

/// Serves `app` on `bind` until a shutdown signal, with a worker unless `worker` is false.
pub async fn run(app: App, bind: &str, worker: bool, on_ready: impl FnOnce(SocketAddr)) -> anyhow::Result<()> {
    let listener = TcpListener::bind(bind).await.with_context(|| format!("binding {bind}"))?;
    let address = listener.local_addr()?;
    let (stop, stopped) = watch::channel(false);
    let worker_task = worker.then(|| {
        let worker = Worker::new(app.clone(), format!("worker-{}-{}", std::process::id(), app.new_id().simple()));
        tokio::spawn(async move { worker.run(stopped).await })
    });
    on_ready(address);
    tracing::info!(%address, "serving");
    tracehop_web::serve(listener, AppState::new(app), shutdown_signal()).await?;
    stop.send(true).ok();
    if let Some(task) = worker_task {
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
    run(app, &config.bind, config.worker, |address| println!("tracehop listening on http://{address}")).await
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
