//! The identifiers a provider is known by besides its id (FRN, RMD number, OCN, SPC): adding,
//! replacing and moving them, and finding a provider by one.

use serde::{Deserialize, Serialize};
use sqlx::Row;
use tracehop_core::provider::ProviderId;

use crate::{Result, Store, StoreError, Tx, with_read, with_tx};

/// A kind of identifier a provider is known by besides its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentifierKind {
    /// FCC Registration Number, kept as ten digits.
    Frn,
    /// Robocall Mitigation Database number (`RMD0000000`).
    Rmd,
    /// Operating Company Number.
    Ocn,
    /// STIR/SHAKEN Service Provider Code.
    Spc,
}

impl IdentifierKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Frn => "frn",
            Self::Rmd => "rmd",
            Self::Ocn => "ocn",
            Self::Spc => "spc",
        }
    }

    /// The stored form of a value: FRNs as ten digits, others upper-cased without spaces.
    pub fn normalise(self, value: &str) -> String {
        let compact: String = value.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
        match self {
            Self::Frn if compact.chars().all(|c| c.is_ascii_digit()) && !compact.is_empty() => {
                format!("{compact:0>10}")
            }
            _ => compact.to_ascii_uppercase(),
        }
    }
}

impl Tx {
    /// Adds identifiers to a provider; one already held by another provider is a conflict.
    pub async fn add_identifiers(
        &mut self,
        provider: &ProviderId,
        identifiers: &[(IdentifierKind, String)],
    ) -> Result<()> {
        for (kind, value) in identifiers {
            let value = kind.normalise(value);
            if value.is_empty() {
                continue;
            }
            let owner: Option<String> = with_tx!(self, conn => {
                sqlx::query_scalar("SELECT provider_id FROM provider_identifiers WHERE kind = $1 AND value = $2")
                    .bind(kind.name()).bind(&value)
                    .fetch_optional(conn)
                    .await
            })?;
            match owner {
                Some(owner) if owner == provider.as_str() => {}
                Some(owner) => {
                    return Err(StoreError::Conflict(format!("{} {value} belongs to provider {owner}", kind.name())));
                }
                None => {
                    with_tx!(self, conn => {
                        sqlx::query("INSERT INTO provider_identifiers (kind, value, provider_id) VALUES ($1, $2, $3)")
                            .bind(kind.name()).bind(&value).bind(provider.as_str())
                            .execute(conn)
                            .await
                            .map(|r| r.rows_affected())
                    })?;
                }
            }
        }
        Ok(())
    }

    /// Replaces a provider's identifiers with `identifiers`; one held by another provider is a
    /// conflict.
    pub async fn set_identifiers(
        &mut self,
        provider: &ProviderId,
        identifiers: &[(IdentifierKind, String)],
    ) -> Result<()> {
        with_tx!(self, conn => {
            sqlx::query("DELETE FROM provider_identifiers WHERE provider_id = $1").bind(provider.as_str()).execute(conn).await.map(|r| r.rows_affected())
        })?;
        self.add_identifiers(provider, identifiers).await
    }

    /// Gives an identifier, whoever holds it, to `provider`.
    pub async fn move_identifier(&mut self, kind: IdentifierKind, value: &str, provider: &ProviderId) -> Result<()> {
        let value = kind.normalise(value);
        with_tx!(self, conn => {
            sqlx::query(
                "INSERT INTO provider_identifiers (kind, value, provider_id) VALUES ($1, $2, $3)
                 ON CONFLICT (kind, value) DO UPDATE SET provider_id = excluded.provider_id",
            )
            .bind(kind.name()).bind(&value).bind(provider.as_str())
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// The provider known by an identifier.
    pub async fn provider_by_identifier(&mut self, kind: IdentifierKind, value: &str) -> Result<Option<ProviderId>> {
        let value = kind.normalise(value);
        let found: Option<String> = with_tx!(self, conn => {
            sqlx::query_scalar("SELECT provider_id FROM provider_identifiers WHERE kind = $1 AND value = $2")
                .bind(kind.name()).bind(&value)
                .fetch_optional(conn)
                .await
        })?;
        found.map(|id| ProviderId::new(id).map_err(|e| StoreError::Corrupt(e.to_string()))).transpose()
    }
}

impl Store {
    /// The provider known by an identifier, read outside any transaction (e.g. the SPC or OCN
    /// of a STIR/SHAKEN signer).
    pub async fn find_provider_by_identifier(&self, kind: IdentifierKind, value: &str) -> Result<Option<ProviderId>> {
        let value = kind.normalise(value);
        let found: Option<String> = with_read!(self, pool => {
            sqlx::query_scalar("SELECT provider_id FROM provider_identifiers WHERE kind = $1 AND value = $2")
                .bind(kind.name()).bind(&value)
                .fetch_optional(pool)
                .await
        })?;
        found.map(|id| ProviderId::new(id).map_err(|e| StoreError::Corrupt(e.to_string()))).transpose()
    }

    pub async fn identifiers(&self, provider: &ProviderId) -> Result<Vec<(String, String)>> {
        Ok(with_read!(self, pool => {
            let rows = sqlx::query("SELECT kind, value FROM provider_identifiers WHERE provider_id = $1 ORDER BY kind, value")
                .bind(provider.as_str())
                .fetch_all(pool)
                .await?;
            rows.into_iter().map(|r| Ok::<_, sqlx::Error>((r.try_get(0)?, r.try_get(1)?))).collect::<std::result::Result<Vec<_>, _>>()
        })?)
    }
}
