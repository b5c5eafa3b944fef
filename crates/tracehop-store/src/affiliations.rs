//! Suggested affiliations (PRV-3): common control the RMD import saw — two filings naming the
//! same FRN — kept for staff to confirm (the providers become affiliates) or dismiss. One row per
//! pair of providers, whatever its status, so a decided pair is never suggested again.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use tracehop_core::provider::ProviderId;

use crate::{Result, Store, StoreError, Tx, from_micros, micros, with_read, with_tx};

/// Where a suggestion stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuggestionStatus {
    Open,
    Confirmed,
    Dismissed,
}

impl SuggestionStatus {
    pub fn name(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Confirmed => "confirmed",
            Self::Dismissed => "dismissed",
        }
    }

    fn parse(text: &str) -> Result<Self> {
        match text {
            "open" => Ok(Self::Open),
            "confirmed" => Ok(Self::Confirmed),
            "dismissed" => Ok(Self::Dismissed),
            other => Err(StoreError::Corrupt(format!("affiliation suggestion status {other:?}"))),
        }
    }
}

/// Two providers the RMD export shows under common control.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AffiliationSuggestion {
    pub id: i64,
    /// The pair, `provider_a` < `provider_b`.
    pub provider_a: ProviderId,
    pub provider_b: ProviderId,
    /// The FRN both filings name (ten digits).
    pub frn: String,
    /// The filing whose row showed it, and that row's line in the file.
    pub source_rmd: String,
    pub source_line: u64,
    pub status: SuggestionStatus,
    /// Why staff decided as they did.
    pub reason: Option<String>,
    pub decided_by: Option<String>,
    pub created_at: Timestamp,
    pub decided_at: Option<Timestamp>,
}

/// What the import saw: the pair, the FRN, the row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuggestionSource<'a> {
    pub frn: &'a str,
    pub rmd: &'a str,
    pub line: u64,
}

const COLUMNS: &str = "id, provider_a, provider_b, frn, source_rmd, source_line, status, reason, decided_by, \
     created_at_us, decided_at_us";

macro_rules! suggestions {
    ($rows:expr) => {
        $rows
            .into_iter()
            .map(|row| -> Result<AffiliationSuggestion> {
                let id = |text: String| ProviderId::new(text).map_err(|e| StoreError::Corrupt(e.to_string()));
                let line: i64 = row.try_get("source_line")?;
                let status: String = row.try_get("status")?;
                let decided: Option<i64> = row.try_get("decided_at_us")?;
                Ok(AffiliationSuggestion {
                    id: row.try_get("id")?,
                    provider_a: id(row.try_get("provider_a")?)?,
                    provider_b: id(row.try_get("provider_b")?)?,
                    frn: row.try_get("frn")?,
                    source_rmd: row.try_get("source_rmd")?,
                    source_line: u64::try_from(line).unwrap_or_default(),
                    status: SuggestionStatus::parse(&status)?,
                    reason: row.try_get("reason")?,
                    decided_by: row.try_get("decided_by")?,
                    created_at: from_micros(row.try_get("created_at_us")?)?,
                    decided_at: decided.map(from_micros).transpose()?,
                })
            })
            .collect::<Result<Vec<_>>>()
    };
}

impl Tx {
    /// Records that `one` and `other` look affiliated, unless they are the same provider,
    /// already linked as affiliates, or the pair was suggested before (whatever staff decided).
    /// Returns whether a suggestion was added.
    pub async fn suggest_affiliation(
        &mut self,
        one: &ProviderId,
        other: &ProviderId,
        source: &SuggestionSource<'_>,
        now: Timestamp,
    ) -> Result<bool> {
        if one == other {
            return Ok(false);
        }
        let (a, b) = if one.as_str() < other.as_str() { (one, other) } else { (other, one) };
        let known: i64 = with_tx!(self, conn => {
            sqlx::query_scalar(
                "SELECT (SELECT COUNT(*) FROM affiliation_suggestions WHERE provider_a = $1 AND provider_b = $2)
                      + (SELECT COUNT(*) FROM provider_affiliates
                         WHERE (provider_id = $1 AND affiliate_id = $2) OR (provider_id = $2 AND affiliate_id = $1))",
            )
            .bind(a.as_str()).bind(b.as_str())
            .fetch_one(conn)
            .await
        })?;
        if known > 0 {
            return Ok(false);
        }
        let id = self.next_counter("affiliation_suggestion").await?;
        let line = i64::try_from(source.line).unwrap_or(i64::MAX);
        with_tx!(self, conn => {
            sqlx::query(
                "INSERT INTO affiliation_suggestions (id, provider_a, provider_b, frn, source_rmd, source_line, status, created_at_us)
                 VALUES ($1, $2, $3, $4, $5, $6, 'open', $7)",
            )
            .bind(id).bind(a.as_str()).bind(b.as_str()).bind(source.frn).bind(source.rmd).bind(line).bind(micros(now))
            .execute(conn).await.map(|r| r.rows_affected())
        })?;
        Ok(true)
    }

    pub async fn affiliation_suggestion(&mut self, id: i64) -> Result<Option<AffiliationSuggestion>> {
        let sql = format!("SELECT {COLUMNS} FROM affiliation_suggestions WHERE id = $1");
        let rows = with_tx!(self, conn => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_all(conn).await?;
            suggestions!(rows)
        })?;
        Ok(rows.into_iter().next())
    }

    /// Records staff's decision on an open suggestion. Returns false when it is not open.
    pub async fn decide_affiliation_suggestion(
        &mut self,
        id: i64,
        status: SuggestionStatus,
        reason: Option<&str>,
        by: &str,
        now: Timestamp,
    ) -> Result<bool> {
        let changed = with_tx!(self, conn => {
            sqlx::query(
                "UPDATE affiliation_suggestions SET status = $2, reason = $3, decided_by = $4, decided_at_us = $5
                 WHERE id = $1 AND status = 'open'",
            )
            .bind(id).bind(status.name()).bind(reason).bind(by).bind(micros(now))
            .execute(conn).await.map(|r| r.rows_affected())
        })?;
        Ok(changed == 1)
    }

    /// Declares `affiliate` under common control with `provider`, beside the affiliates it has.
    pub async fn add_affiliate(&mut self, provider: &ProviderId, affiliate: &ProviderId) -> Result<()> {
        with_tx!(self, conn => {
            sqlx::query("INSERT INTO provider_affiliates (provider_id, affiliate_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(provider.as_str()).bind(affiliate.as_str())
                .execute(conn).await.map(|r| r.rows_affected())
        })?;
        Ok(())
    }
}

/// Which suggestions a list shows, oldest first.
#[derive(Debug, Clone, Default)]
pub struct SuggestionFilter {
    pub status: Option<SuggestionStatus>,
    /// Only those naming this provider.
    pub provider: Option<ProviderId>,
    /// Keyset cursor: the last id of the previous page.
    pub after: Option<i64>,
    pub limit: i64,
}

impl Store {
    pub async fn affiliation_suggestions(&self, filter: &SuggestionFilter) -> Result<Vec<AffiliationSuggestion>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM affiliation_suggestions
             WHERE ($1 IS NULL OR status = $1) AND ($2 IS NULL OR provider_a = $2 OR provider_b = $2)
               AND id > $3
             ORDER BY id LIMIT $4"
        );
        with_read!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(filter.status.map(SuggestionStatus::name))
                .bind(filter.provider.as_ref().map(ProviderId::as_str))
                .bind(filter.after.unwrap_or(0))
                .bind(filter.limit.clamp(1, 1000))
                .fetch_all(pool)
                .await?;
            suggestions!(rows)
        })
    }
}
