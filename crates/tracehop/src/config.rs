//! Configuration: defaults, then a TOML file, then `TRACEHOP_*` environment variables, then
//! command-line flags. Nested keys use `__` in variable names (`TRACEHOP_LOG__FORMAT=json`,
//! `TRACEHOP_POLICY__TRACEBACK__HOP_LIMIT=40`). Any variable may instead name a file holding its
//! value with a `_FILE` suffix (`TRACEHOP_DATABASE_URL_FILE=/run/secrets/db`), for secrets.

use std::path::Path;

use anyhow::Context;
use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use tracehop_app::Settings;
use tracehop_app::intake::recordings::RecordingsConfig;
use tracehop_app::notify::mail::MailConfig;
use tracehop_store::{ConnectOptions, DatabaseUrl};

const PREFIX: &str = "TRACEHOP_";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `sqlite://PATH` or `postgres://…`.
    pub database_url: String,
    pub bind: String,
    /// Where Prometheus `/metrics` is served: its own address, loopback by default, never the
    /// API's. Empty: not served.
    pub metrics_bind: String,
    pub log: LogConfig,
    pub database: DatabaseConfig,
    /// Policy parameters: deadlines, hop limit, reminders, worker.
    pub policy: Settings,
    /// Run the job worker inside `serve` (turn off to run workers elsewhere).
    pub worker: bool,
    /// Notification email.
    pub mail: MailConfig,
    /// Voicemails and recordings of incidents: a local directory (default) or an S3-compatible
    /// bucket, the size limit and the accepted types.
    pub recordings: RecordingsConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: "sqlite://./tracehop.db".to_owned(),
            bind: "127.0.0.1:8080".to_owned(),
            metrics_bind: "127.0.0.1:9464".to_owned(),
            log: LogConfig::default(),
            database: DatabaseConfig::default(),
            policy: Settings::default(),
            worker: true,
            mail: MailConfig::default(),
            recordings: RecordingsConfig::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `text` or `json`.
    pub format: String,
    /// A tracing filter, e.g. `info,tracehop=debug`; `RUST_LOG` overrides it.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self { format: "text".to_owned(), level: "info".to_owned() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    pub max_connections: u32,
    /// SQLite: make every commit survive power loss (`synchronous=FULL`).
    pub sqlite_full_sync: bool,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        let defaults = ConnectOptions::default();
        Self { max_connections: defaults.max_connections, sqlite_full_sync: defaults.sqlite_full_sync }
    }
}

impl Config {
    /// Loads the layers; `file` is required to exist when given.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        Self::from_layers(file, std::env::vars())
    }

    fn from_layers(file: Option<&Path>, vars: impl Iterator<Item = (String, String)>) -> anyhow::Result<Self> {
        let mut figment = Figment::from(Serialized::defaults(Self::default()));
        if let Some(file) = file {
            anyhow::ensure!(file.exists(), "configuration file {} does not exist", file.display());
            figment = figment.merge(Toml::file(file));
        }
        let vars: Vec<(String, String)> = vars.filter(|(name, _)| name.starts_with(PREFIX)).collect();
        for (name, value) in &vars {
            let key = &name[PREFIX.len()..];
            if is_ignored(key) {
                continue;
            }
            match key.strip_suffix("_FILE") {
                Some(target) => {
                    let secret = std::fs::read_to_string(value).with_context(|| format!("reading {name}={value}"))?;
                    figment = figment.merge((dotted(target), secret.trim_end_matches(['\r', '\n']).to_owned()));
                }
                // Read values the way figment's Env provider does: "false" is a bool, "12" a number.
                None => {
                    figment = figment.merge((
                        dotted(key),
                        value.parse::<figment::value::Value>().unwrap_or_else(|never| match never {}),
                    ));
                }
            }
        }
        figment.extract().map_err(|e| anyhow::anyhow!("configuration: {}", tracehop_store::redact(&e.to_string())))
    }

    pub fn database(&self) -> anyhow::Result<DatabaseUrl> {
        self.database_url.parse().map_err(|e: tracehop_store::StoreError| anyhow::anyhow!("{e}"))
    }

    pub fn connect_options(&self) -> ConnectOptions {
        ConnectOptions {
            max_connections: self.database.max_connections,
            sqlite_full_sync: self.database.sqlite_full_sync,
        }
    }
}

/// Variables that are not configuration: the config file's own name, test settings.
fn is_ignored(key: &str) -> bool {
    key == "CONFIG" || key.starts_with("TEST_")
}

fn dotted(key: &str) -> String {
    key.to_ascii_lowercase().replace("__", ".")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> impl Iterator<Item = (String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect::<Vec<_>>().into_iter()
    }

    #[test]
    fn layers_apply_in_order() {
        let dir = std::env::temp_dir().join(format!("tracehop-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("tracehop.toml");
        std::fs::write(
            &file,
            "bind = \"0.0.0.0:9000\"\n[policy.traceback]\nhop_limit = 12\n[log]\nformat = \"json\"\n",
        )
        .unwrap();
        let secret = dir.join("db-url");
        std::fs::write(&secret, "postgres://app:s3cret@db/tracehop\n").unwrap();
        let config = Config::from_layers(
            Some(&file),
            vars(&[
                ("TRACEHOP_LOG__FORMAT", "text"),
                ("TRACEHOP_POLICY__TRACEBACK__CLOSE_ON_NO_RESPONSE", "false"),
                ("TRACEHOP_DATABASE_URL_FILE", secret.to_str().unwrap()),
                ("TRACEHOP_TEST_DATABASE_URL", "ignored"),
                ("OTHER", "ignored"),
            ]),
        )
        .unwrap();
        assert_eq!(config.bind, "0.0.0.0:9000");
        assert_eq!(config.policy.traceback.hop_limit, 12);
        assert!(!config.policy.traceback.close_on_no_response);
        assert_eq!(config.log.format, "text");
        assert_eq!(config.database_url, "postgres://app:s3cret@db/tracehop");
        assert_eq!(config.database().unwrap().to_string(), "postgres://app:***@db/tracehop");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn unknown_keys_and_missing_files_are_errors() {
        assert!(Config::from_layers(None, vars(&[("TRACEHOP_NO_SUCH_KEY", "1")])).is_err());
        assert!(Config::from_layers(Some(Path::new("/nonexistent/tracehop.toml")), vars(&[])).is_err());
        let error = Config::from_layers(
            None,
            vars(&[("TRACEHOP_BIND", "x"), ("TRACEHOP_DATABASE_URL_FILE", "/nonexistent/secret")]),
        )
        .unwrap_err();
        assert!(error.to_string().contains("TRACEHOP_DATABASE_URL_FILE"), "{error}");
    }

    #[test]
    fn recordings_default_to_a_directory_and_take_s3_secrets_from_files() {
        assert_eq!(Config::from_layers(None, vars(&[])).unwrap().recordings.backend, "local");
        let dir = std::env::temp_dir().join(format!("tracehop-config-recordings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let secret = dir.join("s3-secret");
        std::fs::write(&secret, "wJalrXUtnFEMI/K7MDENG\n").unwrap();
        let config = Config::from_layers(
            None,
            vars(&[
                ("TRACEHOP_RECORDINGS__BACKEND", "s3"),
                ("TRACEHOP_RECORDINGS__BUCKET", "tracehop-recordings"),
                ("TRACEHOP_RECORDINGS__ENDPOINT", "https://minio.internal:9000"),
                ("TRACEHOP_RECORDINGS__ACCESS_KEY_ID", "AKIDEXAMPLE"),
                ("TRACEHOP_RECORDINGS__SECRET_ACCESS_KEY_FILE", secret.to_str().unwrap()),
                ("TRACEHOP_RECORDINGS__MAX_BYTES", "1048576"),
            ]),
        )
        .unwrap();
        assert_eq!(config.recordings.backend, "s3");
        assert_eq!(config.recordings.bucket.as_deref(), Some("tracehop-recordings"));
        assert_eq!(config.recordings.secret_access_key.as_deref(), Some("wJalrXUtnFEMI/K7MDENG"));
        assert_eq!(config.recordings.max_bytes, 1_048_576);
        assert_eq!(config.recordings.content_types, ["audio/*"]);
        assert!(!format!("{config:?}").contains("wJalrXUtnFEMI"));
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn durations_read_as_iso8601_or_friendly() {
        let config =
            Config::from_layers(None, vars(&[("TRACEHOP_POLICY__TRACEBACK__DEADLINES__RESPOND_WITHIN", "PT48H")]))
                .unwrap();
        assert_eq!(config.policy.traceback.deadlines.respond_within, jiff::SignedDuration::from_hours(48));
    }
}
