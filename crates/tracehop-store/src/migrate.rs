//! Schema migrations, embedded in the binary, one series per engine.

use sqlx::AssertSqlSafe;

use crate::{Store, StoreError, with_tx};

struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "foundation",
        sqlite: include_str!("../migrations/sqlite/0001_foundation.sql"),
        postgres: include_str!("../migrations/postgres/0001_foundation.sql"),
    },
    Migration {
        version: 2,
        name: "provider api",
        sqlite: include_str!("../migrations/sqlite/0002_provider_api.sql"),
        postgres: include_str!("../migrations/postgres/0002_provider_api.sql"),
    },
    Migration {
        version: 3,
        name: "intake",
        sqlite: include_str!("../migrations/sqlite/0003_intake.sql"),
        postgres: include_str!("../migrations/postgres/0003_intake.sql"),
    },
    Migration {
        version: 4,
        name: "affiliation suggestions",
        sqlite: include_str!("../migrations/sqlite/0004_affiliation_suggestions.sql"),
        postgres: include_str!("../migrations/postgres/0004_affiliation_suggestions.sql"),
    },
    Migration {
        version: 5,
        name: "token lineage",
        sqlite: include_str!("../migrations/sqlite/0005_token_lineage.sql"),
        postgres: include_str!("../migrations/postgres/0005_token_lineage.sql"),
    },
    Migration {
        version: 6,
        name: "provider view",
        sqlite: include_str!("../migrations/sqlite/0006_provider_view.sql"),
        postgres: include_str!("../migrations/postgres/0006_provider_view.sql"),
    },
    Migration {
        version: 7,
        name: "job queues",
        sqlite: include_str!("../migrations/sqlite/0007_job_queues.sql"),
        postgres: include_str!("../migrations/postgres/0007_job_queues.sql"),
    },
    Migration {
        version: 8,
        name: "dno registry",
        sqlite: include_str!("../migrations/sqlite/0008_dno_registry.sql"),
        postgres: include_str!("../migrations/postgres/0008_dno_registry.sql"),
    },
];

/// Splits a migration into statements: comment lines go first (they may hold semicolons); the
/// statements themselves hold none inside literals.
fn statements(script: &str) -> impl Iterator<Item = String> + '_ {
    let code: String =
        script.lines().filter(|line| !line.trim_start().starts_with("--")).map(|line| format!("{line}\n")).collect();
    code.split(';')
        .map(str::trim)
        .filter(|statement| !statement.is_empty())
        .map(str::to_owned)
        .collect::<Vec<_>>()
        .into_iter()
}

/// Every migration version this build carries, in order.
pub fn known_versions() -> Vec<i64> {
    MIGRATIONS.iter().map(|m| m.version).collect()
}

impl Store {
    /// Applies pending migrations, each in its own transaction. Safe to run from several
    /// processes at once: the first to record a version wins, the others find it applied.
    pub async fn migrate(&self) -> crate::Result<Vec<i64>> {
        let mut tx = self.begin().await?;
        if tx.engine_kind() == crate::Engine::Postgres {
            // Concurrent CREATE TABLE IF NOT EXISTS can still collide in PostgreSQL's catalog
            // (unique violation on pg_type_typname_nsp_index): serialise it too.
            with_tx!(tx, conn => sqlx::query("SELECT pg_advisory_xact_lock(7213091)").execute(conn).await.map(|r| r.rows_affected()))?;
        }
        with_tx!(tx, conn => {
            sqlx::query(
                "CREATE TABLE IF NOT EXISTS schema_migrations (
                     version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
            )
            .execute(conn).await.map(|r| r.rows_affected())
        })?;
        tx.commit().await?;

        let mut applied = Vec::new();
        for migration in MIGRATIONS {
            let mut tx = self.begin().await?;
            if tx.engine_kind() == crate::Engine::Postgres {
                // Serialise concurrent migrators on one database.
                with_tx!(tx, conn => sqlx::query("SELECT pg_advisory_xact_lock(7213091)").execute(conn).await.map(|r| r.rows_affected()))?;
            }
            let done: Option<i64> = with_tx!(tx, conn => {
                sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = $1")
                    .bind(migration.version)
                    .fetch_optional(conn)
                    .await
            })?;
            if done.is_some() {
                tx.rollback().await?;
                continue;
            }
            let script = match tx.engine_kind() {
                crate::Engine::Sqlite => migration.sqlite,
                crate::Engine::Postgres => migration.postgres,
            };
            for statement in statements(script) {
                with_tx!(tx, conn => sqlx::query(AssertSqlSafe(statement.clone())).execute(conn).await.map(|r| r.rows_affected())).map_err(|e| {
                    StoreError::Migration { version: migration.version, name: migration.name.to_owned(), message: e.to_string() }
                })?;
            }
            with_tx!(tx, conn => {
                sqlx::query(
                    "INSERT INTO schema_migrations (version, name, applied_at)
                     VALUES ($1, $2, CAST(CURRENT_TIMESTAMP AS TEXT))",
                )
                .bind(migration.version)
                .bind(migration.name)
                    .execute(conn).await.map(|r| r.rows_affected())
            })?;
            tx.commit().await?;
            applied.push(migration.version);
        }
        Ok(applied)
    }
}
