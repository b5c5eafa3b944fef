//! Campaigns (calls with identical or nearly identical messaging) and campaign labels (umbrella
//! descriptions that group campaigns), CMP-1.

use jiff::Timestamp;
use sqlx::Row;

use crate::{Result, Store, StoreError, Tx, from_micros, is_unique_violation, micros, with_read, with_tx};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelRecord {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignRecord {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub label_id: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

const CAMPAIGN_COLUMNS: &str = "id, name, description, label_id, created_at_us, updated_at_us";

macro_rules! campaigns {
    ($rows:expr) => {
        $rows
            .into_iter()
            .map(|row| -> Result<CampaignRecord> {
                Ok(CampaignRecord {
                    id: row.try_get("id")?,
                    name: row.try_get("name")?,
                    description: row.try_get("description")?,
                    label_id: row.try_get("label_id")?,
                    created_at: from_micros(row.try_get("created_at_us")?)?,
                    updated_at: from_micros(row.try_get("updated_at_us")?)?,
                })
            })
            .collect::<Result<Vec<_>>>()
    };
}

impl Tx {
    pub async fn insert_label(&mut self, label: &LabelRecord) -> Result<()> {
        let result = with_tx!(self, conn => {
            sqlx::query("INSERT INTO campaign_labels (id, name, description, created_at_us) VALUES ($1, $2, $3, $4)")
                .bind(&label.id)
                .bind(&label.name)
                .bind(&label.description)
                .bind(micros(label.created_at))
                .execute(conn)
                .await
                .map(|r| r.rows_affected())
        });
        match result {
            Ok(_) => Ok(()),
            Err(error) if is_unique_violation(&error) => Err(StoreError::Conflict(format!("label {}", label.name))),
            Err(error) => Err(error.into()),
        }
    }

    /// Creates a campaign; an id already taken is a conflict.
    pub async fn insert_campaign(&mut self, campaign: &CampaignRecord) -> Result<()> {
        let result = with_tx!(self, conn => {
            sqlx::query(
                "INSERT INTO campaigns (id, name, description, label_id, created_at_us, updated_at_us)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&campaign.id)
            .bind(&campaign.name)
            .bind(&campaign.description)
            .bind(&campaign.label_id)
            .bind(micros(campaign.created_at))
            .bind(micros(campaign.updated_at))
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
        });
        match result {
            Ok(_) => Ok(()),
            Err(error) if is_unique_violation(&error) => Err(StoreError::Conflict(format!("campaign {}", campaign.id))),
            Err(error) => Err(error.into()),
        }
    }

    /// Changes a campaign's name, description and label; its id and creation time stay.
    pub async fn update_campaign(&mut self, campaign: &CampaignRecord) -> Result<()> {
        with_tx!(self, conn => {
            sqlx::query(
                "UPDATE campaigns SET name = $2, description = $3, label_id = $4, updated_at_us = $5 WHERE id = $1",
            )
            .bind(&campaign.id)
            .bind(&campaign.name)
            .bind(&campaign.description)
            .bind(&campaign.label_id)
            .bind(micros(campaign.updated_at))
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    pub async fn campaign(&mut self, id: &str) -> Result<Option<CampaignRecord>> {
        let sql = format!("SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE id = $1");
        let mut found = with_tx!(self, conn => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_all(conn).await?;
            campaigns!(rows)
        })?;
        Ok(found.pop())
    }
}

impl Store {
    pub async fn labels(&self) -> Result<Vec<LabelRecord>> {
        with_read!(self, pool => {
            let rows = sqlx::query("SELECT id, name, description, created_at_us FROM campaign_labels ORDER BY name").fetch_all(pool).await?;
            rows.into_iter()
                .map(|row| -> Result<LabelRecord> {
                    Ok(LabelRecord {
                        id: row.try_get("id")?,
                        name: row.try_get("name")?,
                        description: row.try_get("description")?,
                        created_at: from_micros(row.try_get("created_at_us")?)?,
                    })
                })
                .collect::<Result<Vec<_>>>()
        })
    }

    pub async fn campaign(&self, id: &str) -> Result<Option<CampaignRecord>> {
        let mut reader = self.reader().await?;
        reader.campaign(id).await
    }

    /// Campaigns, optionally of one label, by name.
    pub async fn campaigns(&self, label_id: Option<&str>) -> Result<Vec<CampaignRecord>> {
        let sql =
            format!("SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE ($1 IS NULL OR label_id = $1) ORDER BY name, id");
        with_read!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(label_id).fetch_all(pool).await?;
            campaigns!(rows)
        })
    }

    /// Tracebacks per campaign and status, and their category: (campaign, category, status, count).
    pub async fn campaign_counts(&self) -> Result<Vec<(String, String, String, i64)>> {
        Ok(with_read!(self, pool => {
            let rows = sqlx::query(
                "SELECT campaign_id, category, status, COUNT(*) FROM tracebacks WHERE campaign_id IS NOT NULL
                 GROUP BY campaign_id, category, status ORDER BY campaign_id, category, status",
            )
            .fetch_all(pool)
            .await?;
            rows.into_iter()
                .map(|r| Ok::<_, sqlx::Error>((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)))
                .collect::<std::result::Result<Vec<_>, _>>()
        })?)
    }
}
