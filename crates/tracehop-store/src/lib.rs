//! tracehop's persistence, the same on SQLite (the embedded default) and PostgreSQL
//! (production, several replicas): the hash-chained event log of each traceback, the read models
//! the API and UI query, the job queue, the provider directory and accounts.
//!
//! Every write happens inside a [`Tx`]: a command appends its events, updates the read models and
//! enqueues the jobs it causes in one transaction. Queries are written once, in the SQL both
//! engines share, and run through the [`with_tx!`] and [`with_read!`] dispatchers.

pub mod affiliations;
pub mod campaigns;
pub mod candidates;
pub mod dno;
pub mod dno_users;
pub mod events;
mod group;
pub mod idempotency;
pub mod incidents;
pub mod jobs;
mod migrate;
pub mod providers;
pub mod recording_versions;
pub mod submitters;
pub mod tokens;
pub mod tracebacks;
mod url;
pub mod users;
pub mod webhooks;
mod write;

pub use write::CommandWrite;

#[cfg(feature = "testing")]
pub mod testing;

use std::str::FromStr;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Postgres, Sqlite, Transaction};

pub use crate::migrate::known_versions as migration_versions;
pub use crate::url::{DatabaseUrl, redact};

/// Runs `$body` with `$conn` bound to the transaction's connection, for either engine.
#[macro_export]
macro_rules! with_tx {
    ($tx:expr, $conn:ident => $body:expr) => {
        match $tx.inner_mut() {
            $crate::TxInner::Sqlite(transaction) => {
                let $conn = &mut **transaction;
                $body
            }
            $crate::TxInner::Postgres(transaction) => {
                let $conn = &mut **transaction;
                $body
            }
            $crate::TxInner::SqliteConnection(connection) => {
                let $conn = &mut **connection;
                $body
            }
            $crate::TxInner::PostgresConnection(connection) => {
                let $conn = &mut **connection;
                $body
            }
        }
    };
}

/// Runs `$body` with `$pool` bound to a pool for reads, for either engine.
#[macro_export]
macro_rules! with_read {
    ($store:expr, $pool:ident => $body:expr) => {
        match $store.engine() {
            $crate::EngineRef::Sqlite($pool) => $body,
            $crate::EngineRef::Postgres($pool) => $body,
        }
    };
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Someone else changed the record first; reload and try again.
    #[error("concurrent update of {0}")]
    Conflict(String),
    /// Another request committed with the same `Idempotency-Key` first.
    #[error("another request holds idempotency key {0}")]
    KeyTaken(String),
    #[error("{0} not found")]
    NotFound(String),
    /// Stored data that does not read back: a bug or tampering.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("database URL: {0}")]
    Url(String),
    #[error("database: {0}")]
    Database(String),
    #[error("migration {version} ({name}): {message}")]
    Migration { version: i64, name: String, message: String },
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        // Connection errors may echo the URL; never let a password through.
        Self::Database(redact(&error.to_string()))
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(error: serde_json::Error) -> Self {
        Self::Corrupt(error.to_string())
    }
}

/// Whether a database error is a unique or primary-key violation.
pub(crate) fn is_unique_violation(error: &sqlx::Error) -> bool {
    error.as_database_error().is_some_and(sqlx::error::DatabaseError::is_unique_violation)
}

/// Which engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
enum Pools {
    /// One writer connection keeps SQLite's single-writer lock fair and free of busy waits;
    /// readers use their own pool (the same one for an in-memory database).
    Sqlite {
        write: SqlitePool,
        read: SqlitePool,
    },
    Postgres(PgPool),
}

/// A connected store. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    pools: Pools,
    /// SQLite files: commands share commits.
    group: Option<group::GroupCommit>,
}

#[doc(hidden)]
pub enum EngineRef<'a> {
    Sqlite(&'a SqlitePool),
    Postgres(&'a PgPool),
}

/// An open write transaction, or (from [`Store::reader`]) a connection for reads.
pub struct Tx {
    inner: TxInner,
}

#[doc(hidden)]
pub enum TxInner {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
    SqliteConnection(PoolConnection<Sqlite>),
    PostgresConnection(PoolConnection<Postgres>),
}

/// How a store connects.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Connections to PostgreSQL, or SQLite readers.
    pub max_connections: u32,
    /// SQLite `synchronous=FULL`: a commit survives power loss, not only a crash.
    pub sqlite_full_sync: bool,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self { max_connections: 10, sqlite_full_sync: true }
    }
}

impl Store {
    /// Connects without migrating.
    pub async fn connect(url: &DatabaseUrl, options: &ConnectOptions) -> Result<Self> {
        let pools = match url {
            DatabaseUrl::Sqlite { path } => {
                let base = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(if options.sqlite_full_sync {
                        SqliteSynchronous::Full
                    } else {
                        SqliteSynchronous::Normal
                    })
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(10));
                let write = SqlitePoolOptions::new()
                    .max_connections(1)
                    .test_before_acquire(false)
                    .connect_with(base.clone())
                    .await?;
                let read = SqlitePoolOptions::new()
                    .max_connections(options.max_connections.max(1))
                    .test_before_acquire(false)
                    .connect_with(base.read_only(true))
                    .await?;
                Pools::Sqlite { write, read }
            }
            DatabaseUrl::SqliteMemory => {
                let options = SqliteConnectOptions::from_str("sqlite::memory:")?.foreign_keys(true);
                // A private in-memory database lives as long as its one connection.
                let pool = SqlitePoolOptions::new()
                    .max_connections(1)
                    .min_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None)
                    .connect_with(options)
                    .await?;
                Pools::Sqlite { write: pool.clone(), read: pool }
            }
            DatabaseUrl::Postgres { url } => {
                let connect = PgConnectOptions::from_str(url.as_str())?;
                // No ping before each use: it would double the round trips of every query. A
                // connection that broke fails its query and is replaced.
                let pool = PgPoolOptions::new()
                    .max_connections(options.max_connections.max(2))
                    .test_before_acquire(false)
                    .acquire_timeout(Duration::from_secs(15))
                    .connect_with(connect)
                    .await?;
                Pools::Postgres(pool)
            }
        };
        let group = match (&pools, url) {
            (Pools::Sqlite { write, .. }, DatabaseUrl::Sqlite { .. }) => Some(group::GroupCommit::start(write.clone())),
            _ => None,
        };
        Ok(Self { pools, group })
    }

    /// Connects and applies any pending migrations.
    pub async fn open(url: &DatabaseUrl, options: &ConnectOptions) -> Result<Self> {
        let store = Self::connect(url, options).await?;
        store.migrate().await?;
        Ok(store)
    }

    pub fn engine_kind(&self) -> Engine {
        match self.pools {
            Pools::Sqlite { .. } => Engine::Sqlite,
            Pools::Postgres(_) => Engine::Postgres,
        }
    }

    #[doc(hidden)]
    pub fn engine(&self) -> EngineRef<'_> {
        match &self.pools {
            Pools::Sqlite { read, .. } => EngineRef::Sqlite(read),
            Pools::Postgres(pool) => EngineRef::Postgres(pool),
        }
    }

    /// Begins a write transaction.
    pub async fn begin(&self) -> Result<Tx> {
        let inner = match &self.pools {
            // IMMEDIATE takes the write lock up front, so a read-then-write transaction never
            // fails half-way on a lock upgrade.
            Pools::Sqlite { write, .. } => TxInner::Sqlite(write.begin_with("BEGIN IMMEDIATE").await?),
            Pools::Postgres(pool) => TxInner::Postgres(pool.begin().await?),
        };
        Ok(Tx { inner })
    }

    /// A connection for reads outside any write transaction: every read method of [`Tx`] works
    /// on it, each statement seeing the latest commits.
    pub async fn reader(&self) -> Result<Tx> {
        let inner = match &self.pools {
            Pools::Sqlite { read, .. } => TxInner::SqliteConnection(read.acquire().await?),
            Pools::Postgres(pool) => TxInner::PostgresConnection(pool.acquire().await?),
        };
        Ok(Tx { inner })
    }

    /// A connection where each statement commits by itself (PostgreSQL; on SQLite, the writer).
    pub(crate) async fn connection(&self) -> Result<Tx> {
        let inner = match &self.pools {
            Pools::Sqlite { write, .. } => TxInner::SqliteConnection(write.acquire().await?),
            Pools::Postgres(pool) => TxInner::PostgresConnection(pool.acquire().await?),
        };
        Ok(Tx { inner })
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<()> {
        with_read!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn close(&self) {
        match &self.pools {
            Pools::Sqlite { write, read } => {
                read.close().await;
                write.close().await;
            }
            Pools::Postgres(pool) => pool.close().await,
        }
    }
}

impl Tx {
    #[doc(hidden)]
    pub fn inner_mut(&mut self) -> &mut TxInner {
        &mut self.inner
    }

    pub fn engine_kind(&self) -> Engine {
        match self.inner {
            TxInner::Sqlite(_) | TxInner::SqliteConnection(_) => Engine::Sqlite,
            TxInner::Postgres(_) | TxInner::PostgresConnection(_) => Engine::Postgres,
        }
    }

    /// Commits. Inside a request with an `Idempotency-Key` ([`idempotency::within`]), the key
    /// is written in this transaction too: [`StoreError::KeyTaken`] when another request holds it.
    pub async fn commit(mut self) -> Result<()> {
        let scope = idempotency::current();
        if let Some(scope) = &scope
            && scope.replay.is_some()
            && matches!(self.inner, TxInner::Sqlite(_) | TxInner::Postgres(_))
        {
            // A replay renders a committed request's response again; it never writes.
            self.rollback().await?;
            return Err(StoreError::KeyTaken(scope.key.clone()));
        }
        if let Some(scope) = scope
            && matches!(self.inner, TxInner::Sqlite(_) | TxInner::Postgres(_))
        {
            let mut statement = write::Statement::default();
            scope.fragment(&mut statement, None);
            if let Err(error) = self.run(&statement).await {
                return Err(if idempotency::is_key_taken(&error) {
                    StoreError::KeyTaken(scope.key.clone())
                } else {
                    error.into()
                });
            }
            self.commit_plain().await?;
            scope.note_committed();
            return Ok(());
        }
        self.commit_plain().await
    }

    async fn commit_plain(self) -> Result<()> {
        match self.inner {
            TxInner::Sqlite(tx) => tx.commit().await?,
            TxInner::Postgres(tx) => tx.commit().await?,
            TxInner::SqliteConnection(_) | TxInner::PostgresConnection(_) => {}
        }
        Ok(())
    }

    pub async fn rollback(self) -> Result<()> {
        match self.inner {
            TxInner::Sqlite(tx) => tx.rollback().await?,
            TxInner::Postgres(tx) => tx.rollback().await?,
            TxInner::SqliteConnection(_) | TxInner::PostgresConnection(_) => {}
        }
        Ok(())
    }

    /// The next value of a named counter (traceback numbers and the like).
    pub async fn next_counter(&mut self, name: &str) -> Result<i64> {
        let value: i64 = with_tx!(self, conn => {
            sqlx::query_scalar(
                "INSERT INTO counters (name, value) VALUES ($1, 1)
                 ON CONFLICT (name) DO UPDATE SET value = counters.value + 1
                 RETURNING value",
            )
            .bind(name)
            .fetch_one(conn)
            .await
        })?;
        Ok(value)
    }
}

/// Microseconds since the Unix epoch: how every time is stored.
pub fn micros(at: jiff::Timestamp) -> i64 {
    at.as_microsecond()
}

pub fn from_micros(value: i64) -> Result<jiff::Timestamp> {
    jiff::Timestamp::from_microsecond(value).map_err(|e| StoreError::Corrupt(format!("time {value}: {e}")))
}

impl Store {
    /// Runs an administrative statement outside any transaction (`CREATE DATABASE` and the like).
    /// Only for the operator's tools; never with input from a request.
    pub async fn execute_admin(&self, statement: &str) -> Result<()> {
        with_read!(self, pool => sqlx::query(sqlx::AssertSqlSafe(statement.to_owned())).execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(())
    }
}
