//! Bearer API tokens: stored as a SHA-256 of the secret (tokens are long random strings, so a
//! fast hash is enough), found by their public prefix.

use jiff::Timestamp;
use sqlx::Row;

use crate::{Result, Store, StoreError, Tx, from_micros, is_unique_violation, micros, with_read, with_tx};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: String,
    /// The public part of the token, shown in listings (`thp_xxxxxxxxxxxx`).
    pub prefix: String,
    pub secret_hash: String,
    pub name: String,
    /// `provider` or `staff`.
    pub owner_kind: String,
    pub provider_id: Option<String>,
    /// `admin` or `analyst` for staff machine users.
    pub staff_role: Option<String>,
    /// The submitter a submitter's token acts for, and its kind of source.
    pub submitter_id: Option<String>,
    pub submitter_kind: Option<String>,
    pub scopes: Vec<String>,
    pub rate_limit_per_minute: i64,
    pub created_by: String,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
    /// The token that issued this one; `None` when an operator or a person did.
    pub issued_by: Option<String>,
    /// For a token staff minted, the staff member who did (`created_by` of a staff issuer).
    pub minted_by_staff: Option<String>,
}

const COLUMNS: &str = "api_tokens.id, prefix, secret_hash, api_tokens.name, owner_kind, provider_id, staff_role, scopes, \
     rate_limit_per_minute, created_by, api_tokens.created_at_us, expires_at_us, revoked_at_us, last_used_at_us, \
     submitter_id, submitters.kind AS submitter_kind, issued_by, minted_by_staff";

/// Tokens with their submitter's kind.
const FROM: &str = "api_tokens LEFT JOIN submitters ON submitters.id = api_tokens.submitter_id";

macro_rules! tokens {
    ($rows:expr) => {
        $rows
            .into_iter()
            .map(|row| -> Result<TokenRecord> {
                let scopes: String = row.try_get("scopes")?;
                let time = |name: &str| -> Result<Option<Timestamp>> {
                    row.try_get::<Option<i64>, _>(name)?.map(from_micros).transpose()
                };
                Ok(TokenRecord {
                    id: row.try_get("id")?,
                    prefix: row.try_get("prefix")?,
                    secret_hash: row.try_get("secret_hash")?,
                    name: row.try_get("name")?,
                    owner_kind: row.try_get("owner_kind")?,
                    provider_id: row.try_get("provider_id")?,
                    staff_role: row.try_get("staff_role")?,
                    submitter_id: row.try_get("submitter_id")?,
                    submitter_kind: row.try_get("submitter_kind")?,
                    scopes: scopes.split_whitespace().map(str::to_owned).collect(),
                    rate_limit_per_minute: row.try_get("rate_limit_per_minute")?,
                    created_by: row.try_get("created_by")?,
                    created_at: from_micros(row.try_get("created_at_us")?)?,
                    expires_at: time("expires_at_us")?,
                    revoked_at: time("revoked_at_us")?,
                    last_used_at: time("last_used_at_us")?,
                    issued_by: row.try_get("issued_by")?,
                    minted_by_staff: row.try_get("minted_by_staff")?,
                })
            })
            .collect::<Result<Vec<_>>>()
    };
}

impl Tx {
    /// Inserts a token; false, inserting nothing, when the token named in `issued_by` has been
    /// revoked meanwhile (or does not exist).
    pub async fn insert_token(&mut self, token: &TokenRecord) -> Result<bool> {
        let result = with_tx!(self, conn => {
            sqlx::query(
                "INSERT INTO api_tokens (id, prefix, secret_hash, name, owner_kind, provider_id, staff_role, scopes,
                     rate_limit_per_minute, created_by, created_at_us, expires_at_us, submitter_id, issued_by, minted_by_staff)
                 SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15
                 WHERE CAST($14 AS TEXT) IS NULL
                    OR EXISTS (SELECT 1 FROM api_tokens AS issuer WHERE issuer.id = $14 AND issuer.revoked_at_us IS NULL)",
            )
            .bind(&token.id).bind(&token.prefix).bind(&token.secret_hash).bind(&token.name).bind(&token.owner_kind)
            .bind(&token.provider_id).bind(&token.staff_role).bind(token.scopes.join(" ")).bind(token.rate_limit_per_minute)
            .bind(&token.created_by).bind(micros(token.created_at)).bind(token.expires_at.map(micros)).bind(&token.submitter_id)
            .bind(&token.issued_by).bind(&token.minted_by_staff)
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
        });
        match result {
            Ok(inserted) => Ok(inserted == 1),
            Err(error) if is_unique_violation(&error) => Err(StoreError::Conflict(format!("token {}", token.prefix))),
            Err(error) => Err(error.into()),
        }
    }

    /// Revokes every live token of a provider, and every token issued from them; returns the
    /// prefixes revoked.
    pub async fn revoke_provider_tokens(&mut self, provider_id: &str, now: Timestamp) -> Result<Vec<String>> {
        Ok(with_tx!(self, conn => {
            sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(revoke_lineage_sql("provider_id")))
            .bind(provider_id)
            .bind(micros(now))
            .fetch_all(conn)
            .await
        })?)
    }
}

impl Store {
    pub async fn token_by_prefix(&self, prefix: &str) -> Result<Option<TokenRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM {FROM} WHERE prefix = $1");
        let mut found = with_read!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(prefix).fetch_all(pool).await?;
            tokens!(rows)
        })?;
        Ok(found.pop())
    }

    pub async fn token(&self, id: &str) -> Result<Option<TokenRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM {FROM} WHERE api_tokens.id = $1");
        let mut found = with_read!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_all(pool).await?;
            tokens!(rows)
        })?;
        Ok(found.pop())
    }

    /// Tokens of one provider, or every staff token when `provider` is `None`.
    pub async fn list_tokens(&self, provider: Option<&str>) -> Result<Vec<TokenRecord>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM {FROM}
             WHERE ($1 IS NULL AND owner_kind = 'staff') OR provider_id = $1 ORDER BY api_tokens.created_at_us, api_tokens.id"
        );
        with_read!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(provider).fetch_all(pool).await?;
            tokens!(rows)
        })
    }

    /// Revokes a token and every token issued from it, transitively; returns the prefixes of
    /// the tokens this revoked (none when they were all revoked already or `id` does not exist).
    pub async fn revoke_token(&self, id: &str, now: Timestamp) -> Result<Vec<String>> {
        let mut tx = self.begin().await?;
        let prefixes = with_tx!(tx, conn => {
            sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(revoke_lineage_sql("id")))
            .bind(id)
            .bind(micros(now))
            .fetch_all(conn)
            .await
        })?;
        tx.commit().await?;
        Ok(prefixes)
    }

    /// Tokens issued from `id`, directly or through others.
    pub async fn tokens_issued_from(&self, id: &str) -> Result<Vec<TokenRecord>> {
        let sql = format!(
            "WITH RECURSIVE lineage (id) AS (
                 SELECT id FROM api_tokens WHERE issued_by = $1
                 UNION
                 SELECT api_tokens.id FROM api_tokens JOIN lineage ON api_tokens.issued_by = lineage.id
             )
             SELECT {COLUMNS} FROM {FROM} WHERE api_tokens.id IN (SELECT id FROM lineage)
             ORDER BY api_tokens.created_at_us, api_tokens.id"
        );
        with_read!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_all(pool).await?;
            tokens!(rows)
        })
    }

    /// Records a token's last use.
    pub async fn touch_token(&self, id: &str, now: Timestamp) -> Result<()> {
        let mut tx = self.begin().await?;
        with_tx!(tx, conn => {
            // Touches are recorded in the background and may land out of order: never backwards.
            sqlx::query("UPDATE api_tokens SET last_used_at_us = $2 WHERE id = $1 AND (last_used_at_us IS NULL OR last_used_at_us < $2)")
                .bind(id)
                .bind(micros(now))
                .execute(conn)
                .await
                .map(|r| r.rows_affected())
        })?;
        tx.commit().await
    }
}

/// Revokes the live tokens whose `seed_column` is `$1`, and every token issued from them,
/// transitively, at `$2`; returns the prefixes revoked.
fn revoke_lineage_sql(seed_column: &str) -> String {
    format!(
        "WITH RECURSIVE lineage (id) AS (
             SELECT id FROM api_tokens WHERE {seed_column} = $1
             UNION
             SELECT api_tokens.id FROM api_tokens JOIN lineage ON api_tokens.issued_by = lineage.id
         )
         UPDATE api_tokens SET revoked_at_us = $2
         WHERE id IN (SELECT id FROM lineage) AND revoked_at_us IS NULL
         RETURNING prefix"
    )
}
