//! Submitters: the organisations that bring candidates and incident data (SRC-1) — analytics
//! providers, enforcement agencies, steering members, community participants, organisations
//! subject to abusive calling.

use jiff::Timestamp;
use sqlx::Row;

use crate::{Result, Store, StoreError, Tx, from_micros, is_unique_violation, micros, with_read, with_tx};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmitterRecord {
    pub id: String,
    pub name: String,
    /// A source kind (`analytics_provider`, `federal_enforcement`, …).
    pub kind: String,
    pub contact_email: Option<String>,
    pub created_at: Timestamp,
}

macro_rules! submitters {
    ($rows:expr) => {
        $rows
            .into_iter()
            .map(|row| -> Result<SubmitterRecord> {
                Ok(SubmitterRecord {
                    id: row.try_get("id")?,
                    name: row.try_get("name")?,
                    kind: row.try_get("kind")?,
                    contact_email: row.try_get("contact_email")?,
                    created_at: from_micros(row.try_get("created_at_us")?)?,
                })
            })
            .collect::<Result<Vec<_>>>()
    };
}

impl Tx {
    pub async fn insert_submitter(&mut self, submitter: &SubmitterRecord) -> Result<()> {
        let result = with_tx!(self, conn => {
            sqlx::query("INSERT INTO submitters (id, name, kind, contact_email, created_at_us) VALUES ($1, $2, $3, $4, $5)")
                .bind(&submitter.id)
                .bind(&submitter.name)
                .bind(&submitter.kind)
                .bind(&submitter.contact_email)
                .bind(micros(submitter.created_at))
                .execute(conn)
                .await
                .map(|r| r.rows_affected())
        });
        match result {
            Ok(_) => Ok(()),
            Err(error) if is_unique_violation(&error) => {
                Err(StoreError::Conflict(format!("submitter {}", submitter.id)))
            }
            Err(error) => Err(error.into()),
        }
    }
}

impl Store {
    pub async fn submitter(&self, id: &str) -> Result<Option<SubmitterRecord>> {
        let mut found = with_read!(self, pool => {
            let rows = sqlx::query("SELECT id, name, kind, contact_email, created_at_us FROM submitters WHERE id = $1")
                .bind(id)
                .fetch_all(pool)
                .await?;
            submitters!(rows)
        })?;
        Ok(found.pop())
    }

    pub async fn list_submitters(&self) -> Result<Vec<SubmitterRecord>> {
        with_read!(self, pool => {
            let rows = sqlx::query("SELECT id, name, kind, contact_email, created_at_us FROM submitters ORDER BY id").fetch_all(pool).await?;
            submitters!(rows)
        })
    }
}
