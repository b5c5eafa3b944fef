//! Structured logs to stderr, as text or JSON lines.

use tracing_subscriber::EnvFilter;

use crate::config::LogConfig;

pub fn init(config: &LogConfig) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&config.level));
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(colour);
    // A second initialisation (tests) is harmless: the first subscriber stays.
    let _ = if config.format == "json" { builder.json().flatten_event(true).try_init() } else { builder.try_init() };
}
