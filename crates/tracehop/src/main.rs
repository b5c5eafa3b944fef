//! The `tracehop` command line.

mod audit;
mod bench;
mod bench_ingest;
mod config;
mod demo;
mod dno;
mod dno_bench;
mod import_incidents;
mod import_rmd;
mod logging;
mod referral;
mod scenario;
mod serve;
mod shaken;
mod shaken_bench;
mod shaken_demo;
mod token;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{ArgGroup, Args, Parser, Subcommand};

use crate::config::Config;

#[derive(Parser)]
#[command(name = "tracehop", version, about = "A secure traceback platform for illegal robocalls")]
struct Cli {
    /// A TOML configuration file.
    #[arg(long, global = true, env = "TRACEHOP_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Commands,
}

/// Where the data lives.
#[derive(Args, Clone, Default)]
struct DatabaseArg {
    /// `sqlite://PATH` or `postgres://…` (also TRACEHOP_DATABASE_URL).
    #[arg(long)]
    database_url: Option<String>,
}

#[derive(Subcommand)]
enum Commands {
    /// Serve the API and UI, and run the job worker.
    Serve {
        #[command(flatten)]
        database: DatabaseArg,
        /// Address to listen on, e.g. 0.0.0.0:8080.
        #[arg(long)]
        bind: Option<String>,
    },
    /// Apply pending database migrations.
    Migrate {
        #[command(flatten)]
        database: DatabaseArg,
    },
    /// Build a fictional world in a fresh SQLite database and serve it.
    Demo {
        /// Directory for the demo database and outgoing mail.
        #[arg(long, default_value = "./tracehop-demo")]
        dir: PathBuf,
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Port for Prometheus `/metrics`, on loopback.
        #[arg(long, default_value_t = 9464)]
        metrics_port: u16,
        /// Throw away an existing demo world and build a new one.
        #[arg(long)]
        fresh: bool,
    },
    /// Traceback scenario files.
    Scenario {
        #[command(subcommand)]
        command: ScenarioCommand,
    },
    /// Bulk imports.
    Import {
        #[command(subcommand)]
        command: ImportCommand,
    },
    /// API tokens (operators with database access).
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Benchmarks that print figures beside a baseline measured in the same run.
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
    /// STIR/SHAKEN: verify Identity headers; the certificate cache.
    Shaken {
        #[command(subcommand)]
        command: shaken::ShakenCommand,
    },
    /// The audit trail.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Do Not Originate: screen numbers, verify registry files.
    Dno {
        #[command(subcommand)]
        command: dno::DnoCommand,
    },
}

#[derive(Subcommand)]
enum ScenarioCommand {
    /// Run each scenario and compare with its expectations; exit 1 on any difference.
    Check {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

#[derive(Subcommand)]
enum ImportCommand {
    /// Incident data (CSV or JSON Lines), idempotent by submitter and external id.
    Incidents {
        #[command(flatten)]
        database: DatabaseArg,
        /// The file to read; `-` for standard input.
        file: PathBuf,
        /// The submitter the rows come from.
        #[arg(long)]
        submitter: String,
        /// `csv` or `jsonl` (default: from the file name, else CSV).
        #[arg(long)]
        format: Option<String>,
    },
    /// The FCC Robocall Mitigation Database CSV export into the provider directory.
    Rmd {
        #[command(flatten)]
        database: DatabaseArg,
        /// The export file.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Issue a token and print it once.
    #[command(group(ArgGroup::new("owner").required(true).args(["provider", "submitter", "staff_role"])))]
    Create {
        #[command(flatten)]
        database: DatabaseArg,
        /// A name that says what uses the token.
        #[arg(long)]
        name: String,
        /// The provider the token acts for.
        #[arg(long)]
        provider: Option<String>,
        /// The submitter (analytics provider, agency, organisation) the token acts for.
        #[arg(long)]
        submitter: Option<String>,
        /// A staff machine user: admin or analyst.
        #[arg(long)]
        staff_role: Option<String>,
        /// Comma-separated scopes, e.g. hops:read,hops:answer.
        #[arg(long, value_delimiter = ',', required = true)]
        scopes: Vec<String>,
        /// Days until the token expires (default: never).
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Concurrent tracebacks answered over HTTP by synthetic providers, on SQLite and PostgreSQL,
    /// beside pgbench's simple-update on the same PostgreSQL.
    Api {
        #[arg(long, default_value_t = 300)]
        tracebacks: usize,
        /// Answers per traceback (hops), the last one naming the origin.
        #[arg(long, default_value_t = 6)]
        hops: usize,
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        /// A PostgreSQL server URL; a throwaway database is created there.
        #[arg(long, env = "TRACEHOP_BENCH_POSTGRES_URL")]
        postgres: Option<String>,
        #[arg(long, default_value_t = 10)]
        pgbench_seconds: u32,
        /// Measure PostgreSQL only.
        #[arg(long)]
        skip_sqlite: bool,
    },
    /// Synthetic incident rows through the bulk import on SQLite and PostgreSQL, beside
    /// PostgreSQL COPY of the same rows into a bare table.
    Ingest {
        #[arg(long, default_value_t = 1_000_000)]
        rows: usize,
        /// A PostgreSQL server URL; a throwaway database is created there.
        #[arg(long, env = "TRACEHOP_BENCH_POSTGRES_URL")]
        postgres: Option<String>,
        /// Measure PostgreSQL only.
        #[arg(long)]
        skip_sqlite: bool,
        /// Import the rows a second time (all duplicates) and time that too.
        #[arg(long)]
        reimport: bool,
    },
    /// STIR/SHAKEN verifications per second on one core with a warm certificate cache, beside
    /// the raw P-256 verification rate of the same crate.
    Shaken {
        #[arg(long, default_value_t = 20_000)]
        iterations: u32,
        /// libstirshaken's reference material (passport.txt, sp.pem, ca.pem).
        #[arg(long, default_value = "crates/tracehop-shaken/tests/fixtures/libstirshaken")]
        fixtures: PathBuf,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Walk every traceback's hash chain; exit 1 naming the first broken link.
    Verify {
        #[command(flatten)]
        database: DatabaseArg,
    },
}

fn load_config(cli_config: Option<&PathBuf>, database: &DatabaseArg) -> anyhow::Result<Config> {
    let mut config = Config::load(cli_config.map(PathBuf::as_path))?;
    if let Some(url) = &database.database_url {
        config.database_url.clone_from(url);
    }
    logging::init(&config.log);
    Ok(config)
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match Box::pin(run(cli)).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {}", tracehop_store::redact(&format!("{error:#}")));
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Commands::Serve { database, bind } => {
            let mut config = load_config(cli.config.as_ref(), &database)?;
            if let Some(bind) = bind {
                config.bind = bind;
            }
            serve::serve(&config).await?;
        }
        Commands::Migrate { database } => {
            let config = load_config(cli.config.as_ref(), &database)?;
            let url = config.database()?;
            let store = tracehop_store::Store::connect(&url, &config.connect_options()).await?;
            let applied = store.migrate().await?;
            println!("{url}: {} migration(s) applied", applied.len());
        }
        Commands::Demo { dir, port, metrics_port, fresh } => {
            let config = load_config(cli.config.as_ref(), &DatabaseArg::default())?;
            demo::run(&config, &dir, port, metrics_port, fresh).await?;
        }
        Commands::Scenario { command: ScenarioCommand::Check { files } } => {
            let passed = scenario::check_files(&files, &mut std::io::stdout().lock()).await?;
            return Ok(if passed { ExitCode::SUCCESS } else { ExitCode::FAILURE });
        }
        Commands::Import { command: ImportCommand::Incidents { database, file, submitter, format } } => {
            let config = load_config(cli.config.as_ref(), &database)?;
            let app = serve::open_app(&config).await?;
            import_incidents::run(&app, &file, &submitter, format.as_deref(), &mut std::io::stdout().lock()).await?;
        }
        Commands::Import { command: ImportCommand::Rmd { database, file } } => {
            let config = load_config(cli.config.as_ref(), &database)?;
            let app = serve::open_app(&config).await?;
            import_rmd::run(&app, &file, &mut std::io::stdout().lock()).await?;
        }
        Commands::Token {
            command: TokenCommand::Create { database, name, provider, submitter, staff_role, scopes, expires_in_days },
        } => {
            let config = load_config(cli.config.as_ref(), &database)?;
            let app = serve::open_app(&config).await?;
            let owner = token::owner(provider, submitter, staff_role.as_deref())?;
            let token = token::create(&app, name, owner, &scopes, expires_in_days).await?;
            println!("{token}");
        }
        Commands::Bench {
            command: BenchCommand::Api { tracebacks, hops, concurrency, postgres, pgbench_seconds, skip_sqlite },
        } => {
            logging::init(&config::LogConfig { format: "text".to_owned(), level: "warn".to_owned() });
            anyhow::ensure!(
                hops >= 1 && concurrency >= 1 && tracebacks >= 1,
                "tracebacks, hops and concurrency must be at least 1"
            );
            bench::api(&bench::ApiBench { tracebacks, hops, concurrency, postgres, pgbench_seconds, skip_sqlite })
                .await?;
        }
        Commands::Bench { command: BenchCommand::Ingest { rows, postgres, skip_sqlite, reimport } } => {
            // Large batches are slow statements by design: keep sqlx's notes about them out.
            logging::init(&config::LogConfig { format: "text".to_owned(), level: "warn,sqlx=error".to_owned() });
            anyhow::ensure!(rows >= 1, "rows must be at least 1");
            Box::pin(bench_ingest::ingest(&bench_ingest::IngestBench { rows, postgres, skip_sqlite, reimport }))
                .await?;
        }
        Commands::Bench { command: BenchCommand::Shaken { iterations, fixtures } } => {
            anyhow::ensure!(iterations >= 1, "iterations must be at least 1");
            shaken_bench::run(&shaken_bench::ShakenBench { fixtures: &fixtures, iterations })?;
        }
        Commands::Shaken { command } => shaken::run(command)?,
        Commands::Audit { command: AuditCommand::Verify { database } } => {
            let config = load_config(cli.config.as_ref(), &database)?;
            let url = config.database()?;
            let store = tracehop_store::Store::connect(&url, &config.connect_options()).await?;
            let intact = audit::verify(&store, &mut std::io::stdout().lock()).await?;
            return Ok(if intact { ExitCode::SUCCESS } else { ExitCode::FAILURE });
        }
        Commands::Dno { command } => return dno::run(command),
    }
    Ok(ExitCode::SUCCESS)
}
