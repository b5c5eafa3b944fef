//! The provider directory: providers, their contacts and affiliates, and the VSP entity each
//! belongs to (recomputed whenever common control changes).

mod identifiers;

pub use identifiers::IdentifierKind;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sqlx::{AssertSqlSafe, Row};
use tracehop_core::calendar::{BusinessHours, BusinessHoursSpec};
use tracehop_core::country::Country;
use tracehop_core::provider::{ControlFacts, EntityId, ProviderId, ProviderProfile, vsp_entities};

use crate::{Result, Store, StoreError, Tx, from_micros, micros, with_read, with_tx};

/// Where a provider's foreign flag came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ForeignSource {
    Country,
    Rmd,
    Staff,
}

impl ForeignSource {
    pub fn name(self) -> &'static str {
        match self {
            Self::Country => "country",
            Self::Rmd => "rmd",
            Self::Staff => "staff",
        }
    }

    fn parse(text: &str) -> Self {
        match text {
            "rmd" => Self::Rmd,
            "staff" => Self::Staff,
            _ => Self::Country,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProviderRecord {
    pub id: ProviderId,
    pub name: String,
    pub country: Country,
    pub foreign: bool,
    pub foreign_source: ForeignSource,
    pub foreign_override_reason: Option<String>,
    pub separate_treatment: bool,
    pub entity_id: EntityId,
    pub business_hours: BusinessHours,
    pub deemed_receipt: bool,
    pub verified: bool,
    pub merged_into: Option<ProviderId>,
    /// Directory facts the engine does not use (DBAs, FRNs, RMD data, roles…), as JSON.
    pub details: serde_json::Value,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A point of contact (PRV-2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub role: ContactRole,
    pub name: String,
    pub title: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub business_hours: Option<BusinessHoursSpec>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactRole {
    Primary,
    Backup,
}

impl ContactRole {
    pub fn name(self) -> &'static str {
        match self {
            Self::Primary => "primary",
            Self::Backup => "backup",
        }
    }
}

/// What creating or updating a provider sets.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderInput {
    pub id: ProviderId,
    pub name: String,
    pub country: Country,
    /// `None`: derived from the country.
    pub foreign: Option<(bool, ForeignSource, Option<String>)>,
    pub separate_treatment: bool,
    pub business_hours: BusinessHours,
    pub deemed_receipt: bool,
    pub verified: bool,
    pub details: serde_json::Value,
}

impl ProviderInput {
    pub fn new(id: ProviderId, name: impl Into<String>, country: Country) -> Self {
        Self {
            id,
            name: name.into(),
            country,
            foreign: None,
            separate_treatment: false,
            business_hours: BusinessHours::default(),
            deemed_receipt: false,
            verified: true,
            details: serde_json::json!({}),
        }
    }
}

const CONTACTS_SQL: &str = "SELECT role, name, title, email, phone, business_hours FROM provider_contacts WHERE provider_id = $1 ORDER BY role DESC";

macro_rules! contacts {
    ($rows:expr) => {
        $rows
            .into_iter()
            .map(|row| -> Result<Contact> {
                let role: String = row.try_get("role")?;
                let hours: Option<String> = row.try_get("business_hours")?;
                Ok(Contact {
                    role: if role == "backup" { ContactRole::Backup } else { ContactRole::Primary },
                    name: row.try_get("name")?,
                    title: row.try_get("title")?,
                    email: row.try_get("email")?,
                    phone: row.try_get("phone")?,
                    business_hours: hours.map(|h| serde_json::from_str(&h)).transpose()?,
                })
            })
            .collect::<Result<Vec<_>>>()
    };
}

const COLUMNS: &str = "id, name, country, foreign_flag, foreign_source, foreign_override_reason, separate_treatment, \
     entity_id, business_hours, deemed_receipt, verified, merged_into, details, created_at_us, updated_at_us";

macro_rules! provider_records {
    ($rows:expr) => {
        $rows
            .into_iter()
            .map(|row| -> Result<ProviderRecord> {
                let id: String = row.try_get("id")?;
                let corrupt =
                    |what: &str, e: &dyn std::fmt::Display| StoreError::Corrupt(format!("provider {id} {what}: {e}"));
                let hours: String = row.try_get("business_hours")?;
                let details: String = row.try_get("details")?;
                let country: String = row.try_get("country")?;
                let entity: String = row.try_get("entity_id")?;
                let merged: Option<String> = row.try_get("merged_into")?;
                let source: String = row.try_get("foreign_source")?;
                Ok(ProviderRecord {
                    id: ProviderId::new(id.clone()).map_err(|e| corrupt("id", &e))?,
                    name: row.try_get("name")?,
                    country: Country::from_code(&country).map_err(|e| corrupt("country", &e))?,
                    foreign: row.try_get("foreign_flag")?,
                    foreign_source: ForeignSource::parse(&source),
                    foreign_override_reason: row.try_get("foreign_override_reason")?,
                    separate_treatment: row.try_get("separate_treatment")?,
                    entity_id: EntityId(ProviderId::new(entity).map_err(|e| corrupt("entity", &e))?),
                    business_hours: serde_json::from_str(&hours).map_err(|e| corrupt("business hours", &e))?,
                    deemed_receipt: row.try_get("deemed_receipt")?,
                    verified: row.try_get("verified")?,
                    merged_into: merged.map(ProviderId::new).transpose().map_err(|e| corrupt("merged_into", &e))?,
                    details: serde_json::from_str(&details).map_err(|e| corrupt("details", &e))?,
                    created_at: from_micros(row.try_get("created_at_us")?)?,
                    updated_at: from_micros(row.try_get("updated_at_us")?)?,
                })
            })
            .collect::<Result<Vec<_>>>()
    };
}

impl Tx {
    /// Creates a provider or updates the fields `input` sets. Its entity stays its own until
    /// [`Tx::recompute_entities`] runs.
    pub async fn upsert_provider(&mut self, input: &ProviderInput, now: Timestamp) -> Result<()> {
        let (foreign, source, reason) =
            input.foreign.clone().unwrap_or((input.country.is_foreign(), ForeignSource::Country, None));
        let hours = serde_json::to_string(&input.business_hours)?;
        let details = serde_json::to_string(&input.details)?;
        with_tx!(self, conn => {
            sqlx::query(
                "INSERT INTO providers (id, name, country, foreign_flag, foreign_source, foreign_override_reason,
                     separate_treatment, entity_id, business_hours, deemed_receipt, verified, details, created_at_us, updated_at_us)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $1, $8, $9, $10, $11, $12, $12)
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, country = excluded.country,
                     foreign_flag = excluded.foreign_flag, foreign_source = excluded.foreign_source,
                     foreign_override_reason = excluded.foreign_override_reason,
                     separate_treatment = excluded.separate_treatment, business_hours = excluded.business_hours,
                     deemed_receipt = excluded.deemed_receipt, verified = excluded.verified,
                     details = excluded.details, updated_at_us = excluded.updated_at_us",
            )
            .bind(input.id.as_str()).bind(&input.name).bind(input.country.code()).bind(foreign).bind(source.name())
            .bind(&reason).bind(input.separate_treatment).bind(&hours).bind(input.deemed_receipt).bind(input.verified)
            .bind(&details).bind(micros(now))
            .execute(conn).await.map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Replaces the affiliates a provider declares.
    pub async fn set_affiliates(&mut self, provider: &ProviderId, affiliates: &[ProviderId]) -> Result<()> {
        with_tx!(self, conn => {
            sqlx::query("DELETE FROM provider_affiliates WHERE provider_id = $1").bind(provider.as_str()).execute(&mut *conn).await.map(|r| r.rows_affected())?;
            for affiliate in affiliates {
                sqlx::query("INSERT INTO provider_affiliates (provider_id, affiliate_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                    .bind(provider.as_str())
                    .bind(affiliate.as_str())
                    .execute(&mut *conn).await.map(|r| r.rows_affected())?;
            }
            Ok::<_, sqlx::Error>(())
        })?;
        Ok(())
    }

    /// Recomputes every provider's VSP entity from common control (PRV-3). Returns how many
    /// changed. Only providers with affiliates are read: one without is its own entity, which a
    /// single statement sets, so a directory of any size is regrouped in little memory.
    pub async fn recompute_entities(&mut self) -> Result<u64> {
        let alone = with_tx!(self, conn => {
            sqlx::query(
                "UPDATE providers SET entity_id = id
                 WHERE merged_into IS NULL AND entity_id <> id
                   AND id NOT IN (SELECT provider_id FROM provider_affiliates)
                   AND id NOT IN (SELECT affiliate_id FROM provider_affiliates)",
            )
            .execute(conn).await.map(|r| r.rows_affected())
        })?;
        let (providers, links) = with_tx!(self, conn => {
            let providers = sqlx::query(
                "SELECT id, foreign_flag, separate_treatment, entity_id FROM providers WHERE merged_into IS NULL
                   AND (id IN (SELECT provider_id FROM provider_affiliates) OR id IN (SELECT affiliate_id FROM provider_affiliates))",
            )
                .fetch_all(&mut *conn)
                .await?
                .into_iter()
                .map(|r| Ok::<_, sqlx::Error>((r.try_get::<String, _>(0)?, r.try_get::<bool, _>(1)?, r.try_get::<bool, _>(2)?, r.try_get::<String, _>(3)?)))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            let links = sqlx::query("SELECT provider_id, affiliate_id FROM provider_affiliates")
                .fetch_all(&mut *conn)
                .await?
                .into_iter()
                .map(|r| Ok::<_, sqlx::Error>((r.try_get::<String, _>(0)?, r.try_get::<String, _>(1)?)))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            Ok::<_, sqlx::Error>((providers, links))
        })?;
        let known: std::collections::BTreeSet<&str> = providers.iter().map(|p| p.0.as_str()).collect();
        let facts = providers
            .iter()
            .map(|(id, foreign, separate, _)| -> Result<ControlFacts> {
                Ok(ControlFacts {
                    id: ProviderId::new(id.clone()).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    foreign: *foreign,
                    separate_treatment: *separate,
                    affiliates: links
                        .iter()
                        .filter(|(from, to)| from == id && known.contains(to.as_str()))
                        .filter_map(|(_, to)| ProviderId::new(to.clone()).ok())
                        .collect(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let entities = vsp_entities(&facts);
        let mut changed = alone;
        for (id, _, _, current) in &providers {
            let Some(entity) = ProviderId::new(id.clone()).ok().and_then(|pid| entities.get(&pid).cloned()) else {
                continue;
            };
            if entity.to_string() != *current {
                with_tx!(self, conn => {
                    sqlx::query("UPDATE providers SET entity_id = $2 WHERE id = $1").bind(id).bind(entity.to_string()).execute(conn).await.map(|r| r.rows_affected())
                })?;
                changed += 1;
            }
        }
        Ok(changed)
    }

    pub async fn set_contact(&mut self, provider: &ProviderId, contact: &Contact, now: Timestamp) -> Result<()> {
        let hours = contact.business_hours.as_ref().map(serde_json::to_string).transpose()?;
        with_tx!(self, conn => {
            sqlx::query(
                "INSERT INTO provider_contacts (provider_id, role, name, title, email, phone, business_hours, updated_at_us)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (provider_id, role) DO UPDATE SET name = excluded.name, title = excluded.title,
                     email = excluded.email, phone = excluded.phone, business_hours = excluded.business_hours,
                     updated_at_us = excluded.updated_at_us",
            )
            .bind(provider.as_str()).bind(contact.role.name()).bind(&contact.name).bind(&contact.title)
            .bind(&contact.email).bind(&contact.phone).bind(&hours).bind(micros(now))
            .execute(conn).await.map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    pub async fn remove_contact(&mut self, provider: &ProviderId, role: ContactRole) -> Result<()> {
        with_tx!(self, conn => {
            sqlx::query("DELETE FROM provider_contacts WHERE provider_id = $1 AND role = $2")
                .bind(provider.as_str()).bind(role.name())
                .execute(conn).await.map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    pub async fn provider(&mut self, id: &ProviderId) -> Result<Option<ProviderRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM providers WHERE id = $1");
        let mut records = with_tx!(self, conn => {
            let rows = sqlx::query(AssertSqlSafe(sql)).bind(id.as_str()).fetch_all(conn).await?;
            provider_records!(rows)
        })?;
        Ok(records.pop())
    }

    /// A provider's contacts, read inside a command's transaction.
    pub async fn contacts(&mut self, provider: &ProviderId) -> Result<Vec<Contact>> {
        with_tx!(self, conn => {
            let rows = sqlx::query(CONTACTS_SQL).bind(provider.as_str()).fetch_all(conn).await?;
            contacts!(rows)
        })
    }

    /// The provider as the engine needs it when it enters a traceback now: reachable when a
    /// contact has an email or a phone. A provider merged into another is that other one.
    pub async fn provider_profile(&mut self, id: &ProviderId) -> Result<Option<ProviderProfile>> {
        let sql = format!(
            "SELECT {COLUMNS}, EXISTS (SELECT 1 FROM provider_contacts c WHERE c.provider_id = providers.id
                 AND (COALESCE(c.email, '') <> '' OR COALESCE(c.phone, '') <> '')) AS contactable
             FROM providers WHERE id = COALESCE((SELECT merged_into FROM providers WHERE id = $1), $1)"
        );
        let found = with_tx!(self, conn => {
            let rows = sqlx::query(AssertSqlSafe(sql)).bind(id.as_str()).fetch_all(conn).await?;
            let reachable = rows.iter().map(|row| row.try_get::<bool, _>("contactable")).collect::<std::result::Result<Vec<_>, _>>()?;
            provider_records!(rows).map(|records| records.into_iter().zip(reachable).collect::<Vec<_>>())
        })?;
        Ok(found.into_iter().next().map(|(record, reachable)| profile_of(record, reachable)))
    }
}

fn profile_of(record: ProviderRecord, contactable: bool) -> ProviderProfile {
    ProviderProfile {
        id: record.id,
        name: record.name,
        country: record.country,
        foreign: record.foreign,
        entity: record.entity_id,
        business_hours: record.business_hours,
        deemed_receipt_next_business_day: record.deemed_receipt,
        contactable,
    }
}

impl Store {
    pub async fn provider(&self, id: &ProviderId) -> Result<Option<ProviderRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM providers WHERE id = $1");
        let mut records = with_read!(self, pool => {
            let rows = sqlx::query(AssertSqlSafe(sql)).bind(id.as_str()).fetch_all(pool).await?;
            provider_records!(rows)
        })?;
        Ok(records.pop())
    }

    pub async fn list_providers(&self) -> Result<Vec<ProviderRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM providers ORDER BY id");
        with_read!(self, pool => {
            let rows = sqlx::query(AssertSqlSafe(sql)).fetch_all(pool).await?;
            provider_records!(rows)
        })
    }

    pub async fn contacts(&self, provider: &ProviderId) -> Result<Vec<Contact>> {
        with_read!(self, pool => {
            let rows = sqlx::query(CONTACTS_SQL).bind(provider.as_str()).fetch_all(pool).await?;
            contacts!(rows)
        })
    }

    pub async fn affiliates(&self, provider: &ProviderId) -> Result<Vec<ProviderId>> {
        let ids: Vec<String> = with_read!(self, pool => {
            sqlx::query_scalar(
                "SELECT affiliate_id FROM provider_affiliates WHERE provider_id = $1
                 UNION SELECT provider_id FROM provider_affiliates WHERE affiliate_id = $1 ORDER BY 1",
            )
            .bind(provider.as_str())
            .fetch_all(pool)
            .await
        })?;
        ids.into_iter().map(|id| ProviderId::new(id).map_err(|e| StoreError::Corrupt(e.to_string()))).collect()
    }
}

/// Which providers a directory list shows, by id.
#[derive(Debug, Clone, Default)]
pub struct ProviderFilter {
    /// Part of the name or id, any case; or exactly an RMD number, FRN (leading zeros optional)
    /// or OCN.
    pub query: Option<String>,
    pub verified: Option<bool>,
    pub foreign: Option<bool>,
    /// Include providers merged into others.
    pub include_merged: bool,
    /// Keyset cursor: the last id of the previous page.
    pub after: Option<String>,
    pub limit: i64,
}

impl Store {
    pub async fn find_providers(&self, filter: &ProviderFilter) -> Result<Vec<ProviderRecord>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM providers
             WHERE ($1 IS NULL OR lower(name) LIKE $1 OR lower(id) LIKE $1
                    OR id IN (SELECT provider_id FROM provider_identifiers
                              WHERE (kind IN ('rmd', 'ocn') AND value = $7) OR (kind = 'frn' AND value = $8))
                    OR id IN (SELECT provider_a FROM affiliation_suggestions WHERE frn = $8)
                    OR id IN (SELECT provider_b FROM affiliation_suggestions WHERE frn = $8))
               AND ($2 IS NULL OR verified = $2) AND ($3 IS NULL OR foreign_flag = $3)
               AND ($4 OR merged_into IS NULL) AND ($5 IS NULL OR id > $5)
             ORDER BY id LIMIT $6"
        );
        let query = filter.query.as_deref().map(str::trim).filter(|q| !q.is_empty());
        let pattern = query.map(|q| format!("%{}%", q.to_lowercase().replace(['%', '_'], "")));
        // An identifier matches exactly: an RMD number or OCN in any case, an FRN with or without
        // its leading zeros (a filing whose FRN another provider holds is found through the
        // suggestion the clash made).
        let code = query.map(|q| IdentifierKind::Rmd.normalise(q));
        let frn = query
            .filter(|q| q.len() <= 10 && q.chars().all(|c| c.is_ascii_digit()))
            .map(|q| IdentifierKind::Frn.normalise(q));
        with_read!(self, pool => {
            let rows = sqlx::query(AssertSqlSafe(sql))
                .bind(pattern).bind(filter.verified).bind(filter.foreign).bind(filter.include_merged)
                .bind(&filter.after).bind(filter.limit.clamp(1, 1000)).bind(&code).bind(&frn)
                .fetch_all(pool)
                .await?;
            provider_records!(rows)
        })
    }

    /// Providers merged into `provider`: their hops are its own.
    pub async fn merged_into(&self, provider: &ProviderId) -> Result<Vec<ProviderId>> {
        let ids: Vec<String> = with_read!(self, pool => {
            sqlx::query_scalar("SELECT id FROM providers WHERE merged_into = $1 ORDER BY id").bind(provider.as_str()).fetch_all(pool).await
        })?;
        ids.into_iter().map(|id| ProviderId::new(id).map_err(|e| StoreError::Corrupt(e.to_string()))).collect()
    }
}

impl Tx {
    pub async fn set_verified(&mut self, provider: &ProviderId, verified: bool, now: Timestamp) -> Result<bool> {
        let changed = with_tx!(self, conn => {
            sqlx::query("UPDATE providers SET verified = $2, updated_at_us = $3 WHERE id = $1")
                .bind(provider.as_str()).bind(verified).bind(micros(now))
                .execute(conn).await.map(|r| r.rows_affected())
        })?;
        Ok(changed == 1)
    }

    /// Merges `source` into `target`: the source stays (its history names it) but points at the
    /// target; its identifiers and contacts the target lacks move over, and the hop read model
    /// lists its hops under the target.
    pub async fn merge_provider(&mut self, source: &ProviderId, target: &ProviderId, now: Timestamp) -> Result<()> {
        let (s, t) = (source.as_str(), target.as_str());
        with_tx!(self, conn => {
            sqlx::query("UPDATE providers SET merged_into = $2, updated_at_us = $3 WHERE id = $1")
                .bind(s).bind(t).bind(micros(now)).execute(&mut *conn).await?;
            // Providers already merged into the source follow it.
            sqlx::query("UPDATE providers SET merged_into = $2 WHERE merged_into = $1").bind(s).bind(t).execute(&mut *conn).await?;
            sqlx::query("UPDATE provider_identifiers SET provider_id = $2 WHERE provider_id = $1").bind(s).bind(t).execute(&mut *conn).await?;
            sqlx::query(
                "INSERT INTO provider_contacts (provider_id, role, name, title, email, phone, business_hours, updated_at_us)
                 SELECT $2, role, name, title, email, phone, business_hours, updated_at_us FROM provider_contacts WHERE provider_id = $1
                 ON CONFLICT (provider_id, role) DO NOTHING",
            )
            .bind(s).bind(t).execute(&mut *conn).await?;
            sqlx::query("UPDATE hops SET provider_id = $2 WHERE provider_id = $1").bind(s).bind(t).execute(&mut *conn).await?;
            sqlx::query("DELETE FROM provider_affiliates WHERE provider_id = $1 OR affiliate_id = $1").bind(s).execute(&mut *conn).await?;
            Ok::<_, sqlx::Error>(())
        })?;
        Ok(())
    }
}
