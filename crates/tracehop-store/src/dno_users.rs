//! Registry users of the Do Not Originate list (DNO-4) and the log of their downloads (DNO-5).

use jiff::Timestamp;
use sqlx::Row;

use crate::{Result, Store, StoreError, Tx, from_micros, is_unique_violation, micros, with_read, with_tx};

/// A provider or analytics provider with access to the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnoUserRecord {
    pub id: String,
    pub provider_id: Option<String>,
    pub submitter_id: Option<String>,
    /// `us_provider` or `analytics_provider`.
    pub eligibility: String,
    pub terms_version: Option<String>,
    pub subscription_active: bool,
    /// YYYY-MM-DD.
    pub usage_start: Option<String>,
    /// `active` or `lapsed`.
    pub status: String,
    pub lapsed_at: Option<Timestamp>,
    pub deletion_attested_at: Option<Timestamp>,
    pub deletion_attested_by: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// One logged download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnoDownloadRecord {
    pub id: String,
    pub user_id: Option<String>,
    pub actor: String,
    pub version: i64,
    /// `snapshot` or `delta`.
    pub kind: String,
    /// `csv` or `binary`.
    pub format: String,
    pub at: Timestamp,
}

const USER_COLUMNS: &str = "id, provider_id, submitter_id, eligibility, terms_version, subscription_active, usage_start, \
     status, lapsed_at_us, deletion_attested_at_us, deletion_attested_by, created_at_us, updated_at_us";

macro_rules! users {
    ($rows:expr) => {
        $rows
            .into_iter()
            .map(|row| -> Result<DnoUserRecord> {
                let optional = |value: Option<i64>| value.map(from_micros).transpose();
                Ok(DnoUserRecord {
                    id: row.try_get("id")?,
                    provider_id: row.try_get("provider_id")?,
                    submitter_id: row.try_get("submitter_id")?,
                    eligibility: row.try_get("eligibility")?,
                    terms_version: row.try_get("terms_version")?,
                    subscription_active: row.try_get("subscription_active")?,
                    usage_start: row.try_get("usage_start")?,
                    status: row.try_get("status")?,
                    lapsed_at: optional(row.try_get("lapsed_at_us")?)?,
                    deletion_attested_at: optional(row.try_get("deletion_attested_at_us")?)?,
                    deletion_attested_by: row.try_get("deletion_attested_by")?,
                    created_at: from_micros(row.try_get("created_at_us")?)?,
                    updated_at: from_micros(row.try_get("updated_at_us")?)?,
                })
            })
            .collect::<Result<Vec<_>>>()
    };
}

impl Tx {
    /// Inserts a registry user, or replaces the one with the same id.
    pub async fn save_dno_user(&mut self, user: &DnoUserRecord) -> Result<()> {
        let result = with_tx!(self, conn => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO dno_users ({USER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
                 ON CONFLICT (id) DO UPDATE SET eligibility = excluded.eligibility, terms_version = excluded.terms_version, \
                 subscription_active = excluded.subscription_active, usage_start = excluded.usage_start, \
                 status = excluded.status, lapsed_at_us = excluded.lapsed_at_us, \
                 deletion_attested_at_us = excluded.deletion_attested_at_us, \
                 deletion_attested_by = excluded.deletion_attested_by, updated_at_us = excluded.updated_at_us"
            )))
            .bind(&user.id)
            .bind(&user.provider_id)
            .bind(&user.submitter_id)
            .bind(&user.eligibility)
            .bind(&user.terms_version)
            .bind(user.subscription_active)
            .bind(&user.usage_start)
            .bind(&user.status)
            .bind(user.lapsed_at.map(micros))
            .bind(user.deletion_attested_at.map(micros))
            .bind(&user.deletion_attested_by)
            .bind(micros(user.created_at))
            .bind(micros(user.updated_at))
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
        });
        match result {
            Ok(_) => Ok(()),
            Err(error) if is_unique_violation(&error) => {
                Err(StoreError::Conflict("that provider or submitter is already a registry user".into()))
            }
            Err(error) => Err(error.into()),
        }
    }

    pub async fn log_dno_download(&mut self, download: &DnoDownloadRecord) -> Result<()> {
        with_tx!(self, conn => {
            sqlx::query(
                "INSERT INTO dno_downloads (id, user_id, actor, version, kind, format, at_us) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&download.id)
            .bind(&download.user_id)
            .bind(&download.actor)
            .bind(download.version)
            .bind(&download.kind)
            .bind(&download.format)
            .bind(micros(download.at))
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }
}

impl Store {
    pub async fn dno_user(&self, id: &str) -> Result<Option<DnoUserRecord>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM dno_users WHERE id = $1");
        let mut found = with_read!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_all(pool).await?;
            users!(rows)
        })?;
        Ok(found.pop())
    }

    /// The registry user acting for a provider or a submitter.
    pub async fn dno_user_for(
        &self,
        provider_id: Option<&str>,
        submitter_id: Option<&str>,
    ) -> Result<Option<DnoUserRecord>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM dno_users WHERE provider_id = $1 OR submitter_id = $2");
        let mut found = with_read!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(provider_id).bind(submitter_id).fetch_all(pool).await?;
            users!(rows)
        })?;
        Ok(found.pop())
    }

    pub async fn list_dno_users(&self) -> Result<Vec<DnoUserRecord>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM dno_users ORDER BY created_at_us, id");
        with_read!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await?;
            users!(rows)
        })
    }

    /// Downloads, newest first; one user's when `user_id` is given.
    pub async fn list_dno_downloads(&self, user_id: Option<&str>) -> Result<Vec<DnoDownloadRecord>> {
        type Row = (String, Option<String>, String, i64, String, String, i64);
        let rows: Vec<Row> = with_read!(self, pool => {
            sqlx::query_as::<_, Row>(
                "SELECT id, user_id, actor, version, kind, format, at_us FROM dno_downloads \
                 WHERE CAST($1 AS TEXT) IS NULL OR user_id = CAST($1 AS TEXT) ORDER BY at_us DESC, id DESC",
            )
            .bind(user_id)
            .fetch_all(pool)
            .await
        })?;
        rows.into_iter()
            .map(|(id, user_id, actor, version, kind, format, at)| {
                Ok(DnoDownloadRecord { id, user_id, actor, version, kind, format, at: from_micros(at)? })
            })
            .collect()
    }
}
