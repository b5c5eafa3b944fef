//! Idempotency keys: a POST retried with the same key and body gets the first response again.

use jiff::Timestamp;
use sqlx::Row;

use crate::{Result, Store, micros, with_read, with_tx};

/// What a key already holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key is new and now reserved for this request.
    Reserved,
    /// Another request with this key is still being handled.
    InProgress { request_hash: String },
    /// A request with this key finished with this response.
    Completed { request_hash: String, status: u16, content_type: String, location: Option<String>, body: String },
}

/// The parts of a response a replay gives back.
#[derive(Debug, Clone, Copy)]
pub struct KeptResponse<'a> {
    pub status: u16,
    pub content_type: &'a str,
    /// The `Location` header of a `201 Created`.
    pub location: Option<&'a str>,
    pub body: &'a str,
}

impl Store {
    /// Reserves `key` for a request, or tells what it already holds. A reservation older than
    /// `stale_before` (its request died half-way) is taken over.
    pub async fn claim_idempotency_key(
        &self,
        principal: &str,
        key: &str,
        request_hash: &str,
        now: Timestamp,
        stale_before: Timestamp,
    ) -> Result<Claim> {
        let mut tx = self.begin().await?;
        let inserted = with_tx!(tx, conn => {
            sqlx::query(
                "INSERT INTO idempotency_keys (principal, idempotency_key, request_hash, created_at_us)
                 VALUES ($1, $2, $3, $4) ON CONFLICT (principal, idempotency_key) DO NOTHING",
            )
            .bind(principal).bind(key).bind(request_hash).bind(micros(now))
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
        })?;
        if inserted == 1 {
            tx.commit().await?;
            return Ok(Claim::Reserved);
        }
        let taken_over = with_tx!(tx, conn => {
            sqlx::query(
                "UPDATE idempotency_keys SET request_hash = $3, created_at_us = $4
                 WHERE principal = $1 AND idempotency_key = $2 AND status IS NULL AND created_at_us < $5",
            )
            .bind(principal).bind(key).bind(request_hash).bind(micros(now)).bind(micros(stale_before))
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
        })?;
        tx.commit().await?;
        if taken_over == 1 {
            return Ok(Claim::Reserved);
        }
        let row = with_read!(self, pool => {
            let row = sqlx::query("SELECT request_hash, status, content_type, location, body FROM idempotency_keys WHERE principal = $1 AND idempotency_key = $2")
                .bind(principal).bind(key)
                .fetch_one(pool)
                .await?;
            Ok::<_, sqlx::Error>((
                row.try_get::<String, _>(0)?,
                row.try_get::<Option<i64>, _>(1)?,
                row.try_get::<Option<String>, _>(2)?,
                row.try_get::<Option<String>, _>(3)?,
                row.try_get::<Option<String>, _>(4)?,
            ))
        })?;
        Ok(match row {
            (request_hash, Some(status), content_type, location, body) => Claim::Completed {
                request_hash,
                status: u16::try_from(status).unwrap_or(500),
                content_type: content_type.unwrap_or_default(),
                location,
                body: body.unwrap_or_default(),
            },
            (request_hash, None, ..) => Claim::InProgress { request_hash },
        })
    }

    /// Stores the response of the request that reserved `key`.
    pub async fn complete_idempotency_key(
        &self,
        principal: &str,
        key: &str,
        response: &KeptResponse<'_>,
        now: Timestamp,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        with_tx!(tx, conn => {
            sqlx::query(
                "UPDATE idempotency_keys SET status = $3, content_type = $4, location = $5, body = $6,
                     completed_at_us = $7
                 WHERE principal = $1 AND idempotency_key = $2",
            )
            .bind(principal).bind(key).bind(i64::from(response.status)).bind(response.content_type)
            .bind(response.location).bind(response.body).bind(micros(now))
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
        })?;
        tx.commit().await
    }

    /// Gives a key up (the request failed in a way a retry may fix).
    pub async fn release_idempotency_key(&self, principal: &str, key: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        with_tx!(tx, conn => {
            sqlx::query("DELETE FROM idempotency_keys WHERE principal = $1 AND idempotency_key = $2 AND status IS NULL")
                .bind(principal).bind(key)
                .execute(conn)
                .await
                .map(|r| r.rows_affected())
        })?;
        tx.commit().await
    }

    /// Forgets keys created before `before`.
    pub async fn prune_idempotency_keys(&self, before: Timestamp) -> Result<u64> {
        let mut tx = self.begin().await?;
        let removed = with_tx!(tx, conn => {
            sqlx::query("DELETE FROM idempotency_keys WHERE created_at_us < $1").bind(micros(before)).execute(conn).await.map(|r| r.rows_affected())
        })?;
        tx.commit().await?;
        Ok(removed)
    }
}
