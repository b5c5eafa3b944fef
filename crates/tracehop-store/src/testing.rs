#![allow(clippy::expect_used)] // test support: a test cannot run without its database
//! Throwaway databases for tests. The engine is chosen by `TRACEHOP_TEST_DATABASE_URL`: unset,
//! each test gets a temporary SQLite file; a `postgres://` URL names a server on which each test
//! creates its own database and drops it afterwards.

use std::path::PathBuf;

use rand::Rng;

use crate::{ConnectOptions, DatabaseUrl, Store};

pub const ENV: &str = "TRACEHOP_TEST_DATABASE_URL";

/// A fresh, migrated-on-open database that disappears when dropped.
pub struct TestDatabase {
    pub url: DatabaseUrl,
    cleanup: Cleanup,
}

enum Cleanup {
    Directory(PathBuf),
    Postgres { admin: String, name: String },
}

fn random_suffix() -> String {
    let mut rng = rand::rng();
    (0..12).map(|_| char::from(b'a' + rng.random_range(0..26))).collect()
}

impl TestDatabase {
    /// # Panics
    /// When the test database cannot be created: a test cannot run without it.
    pub async fn new() -> Self {
        match std::env::var(ENV).ok().filter(|v| !v.trim().is_empty()) {
            Some(admin) if admin.starts_with("postgres") => Self::postgres(admin).await,
            _ => Self::sqlite(),
        }
    }

    /// A temporary SQLite file, whatever the environment says.
    pub fn sqlite() -> Self {
        let dir = std::env::temp_dir().join(format!("tracehop-test-{}", random_suffix()));
        std::fs::create_dir_all(&dir).expect("create a temporary directory");
        let url = DatabaseUrl::Sqlite { path: dir.join("tracehop.db") };
        Self { url, cleanup: Cleanup::Directory(dir) }
    }

    async fn postgres(admin: String) -> Self {
        use sqlx::Connection;
        let name = format!("tracehop_test_{}", random_suffix());
        let mut conn = sqlx::PgConnection::connect(&admin).await.expect("connect to the PostgreSQL test server");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create a test database");
        conn.close().await.ok();
        let mut url = url::Url::parse(&admin).expect("TRACEHOP_TEST_DATABASE_URL is a URL");
        url.set_path(&format!("/{name}"));
        Self { url: DatabaseUrl::Postgres { url }, cleanup: Cleanup::Postgres { admin, name } }
    }

    /// Opens the database, migrating it.
    ///
    /// # Panics
    /// When it cannot be opened.
    pub async fn store(&self) -> Store {
        Store::open(&self.url, &ConnectOptions { max_connections: 5, sqlite_full_sync: false })
            .await
            .expect("open the test database")
    }

    /// Runs raw SQL on the database, as an attacker or an operator with database access could.
    ///
    /// # Panics
    /// When the statement fails.
    pub async fn execute(&self, store: &Store, sql: &str) -> u64 {
        let mut tx = store.begin().await.expect("begin");
        let affected = crate::with_tx!(tx, conn => {
            sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())).execute(conn).await.map(|r| r.rows_affected())
        })
        .expect("run the statement");
        tx.commit().await.expect("commit");
        affected
    }

    /// The URL as the CLI takes it.
    pub fn url_string(&self) -> String {
        match &self.url {
            DatabaseUrl::Sqlite { path } => format!("sqlite://{}", path.display()),
            DatabaseUrl::SqliteMemory => "sqlite::memory:".to_owned(),
            DatabaseUrl::Postgres { url } => url.to_string(),
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Directory(dir) => {
                std::fs::remove_dir_all(dir).ok();
            }
            Cleanup::Postgres { admin, name } => {
                let (admin, name) = (admin.clone(), name.clone());
                // Drop runs outside any async context we could borrow: use a thread of our own.
                let dropped = std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
                    runtime.block_on(async {
                        use sqlx::Connection;
                        let mut conn = sqlx::PgConnection::connect(&admin).await.ok()?;
                        sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                            .execute(&mut conn)
                            .await
                            .ok()?;
                        conn.close().await.ok()
                    })
                });
                dropped.join().ok();
            }
        }
    }
}
