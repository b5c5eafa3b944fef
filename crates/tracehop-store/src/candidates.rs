//! Traceback candidates (SRC-1..4): where they came from, the due diligence recorded on them, and
//! what staff decided.

use jiff::Timestamp;
use sqlx::Row;

use crate::{Result, Store, Tx, from_micros, micros, with_read, with_tx};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandidateRecord {
    pub id: String,
    pub source_kind: String,
    pub submitter_id: Option<String>,
    pub submitted_by: String,
    /// `domestic` or `foreign_law_enforcement`.
    pub category: String,
    pub incident_id: Option<String>,
    pub campaign_id: Option<String>,
    pub summary: String,
    /// `pending`, `approved`, `rejected` or `started`.
    pub status: String,
    /// JSON of the core's `DueDiligence`.
    pub due_diligence: Option<String>,
    pub legal_basis: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<Timestamp>,
    pub rejection_reason: Option<String>,
    pub traceback_id: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

const COLUMNS: &str = "id, source_kind, submitter_id, submitted_by, category, incident_id, campaign_id, summary, status, \
     due_diligence, legal_basis, decided_by, decided_at_us, rejection_reason, traceback_id, created_at_us, updated_at_us";

macro_rules! candidates {
    ($rows:expr) => {
        $rows
            .into_iter()
            .map(|row| -> Result<CandidateRecord> {
                Ok(CandidateRecord {
                    id: row.try_get("id")?,
                    source_kind: row.try_get("source_kind")?,
                    submitter_id: row.try_get("submitter_id")?,
                    submitted_by: row.try_get("submitted_by")?,
                    category: row.try_get("category")?,
                    incident_id: row.try_get("incident_id")?,
                    campaign_id: row.try_get("campaign_id")?,
                    summary: row.try_get("summary")?,
                    status: row.try_get("status")?,
                    due_diligence: row.try_get("due_diligence")?,
                    legal_basis: row.try_get("legal_basis")?,
                    decided_by: row.try_get("decided_by")?,
                    decided_at: row.try_get::<Option<i64>, _>("decided_at_us")?.map(from_micros).transpose()?,
                    rejection_reason: row.try_get("rejection_reason")?,
                    traceback_id: row.try_get("traceback_id")?,
                    created_at: from_micros(row.try_get("created_at_us")?)?,
                    updated_at: from_micros(row.try_get("updated_at_us")?)?,
                })
            })
            .collect::<Result<Vec<_>>>()
    };
}

impl Tx {
    /// Creates a candidate or saves its changes.
    pub async fn save_candidate(&mut self, c: &CandidateRecord) -> Result<()> {
        with_tx!(self, conn => {
            sqlx::query(
                "INSERT INTO candidates (id, source_kind, submitter_id, submitted_by, category, incident_id, campaign_id,
                     summary, status, due_diligence, legal_basis, decided_by, decided_at_us, rejection_reason,
                     traceback_id, created_at_us, updated_at_us)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
                 ON CONFLICT (id) DO UPDATE SET campaign_id = excluded.campaign_id, summary = excluded.summary,
                     status = excluded.status, due_diligence = excluded.due_diligence, legal_basis = excluded.legal_basis,
                     decided_by = excluded.decided_by, decided_at_us = excluded.decided_at_us,
                     rejection_reason = excluded.rejection_reason, traceback_id = excluded.traceback_id,
                     updated_at_us = excluded.updated_at_us",
            )
            .bind(&c.id).bind(&c.source_kind).bind(&c.submitter_id).bind(&c.submitted_by).bind(&c.category)
            .bind(&c.incident_id).bind(&c.campaign_id).bind(&c.summary).bind(&c.status).bind(&c.due_diligence)
            .bind(&c.legal_basis).bind(&c.decided_by).bind(c.decided_at.map(micros)).bind(&c.rejection_reason)
            .bind(&c.traceback_id).bind(micros(c.created_at)).bind(micros(c.updated_at))
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    pub async fn candidate(&mut self, id: &str) -> Result<Option<CandidateRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM candidates WHERE id = $1");
        let mut found = with_tx!(self, conn => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_all(conn).await?;
            candidates!(rows)
        })?;
        Ok(found.pop())
    }

    /// Marks an approved candidate as having started `traceback`; false when it is not (or no
    /// longer) approved, so two starts cannot share one candidate.
    pub async fn mark_candidate_started(&mut self, id: &str, traceback: &str, now: Timestamp) -> Result<bool> {
        let changed = with_tx!(self, conn => {
            sqlx::query(
                "UPDATE candidates SET status = 'started', traceback_id = $2, updated_at_us = $3
                 WHERE id = $1 AND status = 'approved'",
            )
            .bind(id).bind(traceback).bind(micros(now))
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(changed == 1)
    }

    /// The submitter of an incident, if the incident exists.
    pub async fn incident_submitter(&mut self, incident_id: &str) -> Result<Option<String>> {
        Ok(with_tx!(self, conn => {
            sqlx::query_scalar("SELECT submitter_id FROM incidents WHERE id = $1").bind(incident_id).fetch_optional(conn).await
        })?)
    }
}

/// Which candidates a list shows, newest first.
#[derive(Debug, Clone, Default)]
pub struct CandidateFilter {
    pub status: Option<String>,
    pub category: Option<String>,
    pub submitter_id: Option<String>,
    /// Keyset cursor: (created_at_us, id) of the last row of the previous page.
    pub before: Option<(i64, String)>,
    pub limit: i64,
}

impl Store {
    pub async fn candidate(&self, id: &str) -> Result<Option<CandidateRecord>> {
        self.reader().await?.candidate(id).await
    }

    pub async fn list_candidates(&self, filter: &CandidateFilter) -> Result<Vec<CandidateRecord>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM candidates
             WHERE ($1 IS NULL OR status = $1) AND ($2 IS NULL OR category = $2) AND ($3 IS NULL OR submitter_id = $3)
               AND ($4 IS NULL OR created_at_us < $4 OR (created_at_us = $4 AND id < $5))
             ORDER BY created_at_us DESC, id DESC LIMIT $6"
        );
        let (before_at, before_id) = filter.before.clone().map_or((None, None), |(at, id)| (Some(at), Some(id)));
        with_read!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(&filter.status).bind(&filter.category).bind(&filter.submitter_id)
                .bind(before_at).bind(before_id).bind(filter.limit.clamp(1, 1000))
                .fetch_all(pool)
                .await?;
            candidates!(rows)
        })
    }
}
