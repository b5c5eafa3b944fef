//! Idempotency keys: a POST retried with the same key and body gets the first response again.
//!
//! A key is written in the transaction of the request's effect, never before: the request runs
//! inside a [`KeyScope`] (a task-local), and every transaction it commits (a command's one-round-
//! trip write, or a [`crate::Tx`]) inserts the key row beside its own writes. So a request that
//! died before its commit left nothing and can be retried at once, and a request that committed
//! is known to have done so even if the process died before answering. The response is stored
//! right after; if it never was, a traceback command's effect (its stream and versions) lets the
//! response be rendered again from what was committed.

use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use sqlx::Row;

use crate::write::Statement;
use crate::{Result, Store, micros, with_read, with_tx};

tokio::task_local! {
    static SCOPE: Arc<KeyScope>;
}

/// The key of the request being handled, as its transactions see it.
#[derive(Debug)]
pub struct KeyScope {
    pub principal: String,
    pub key: String,
    pub request_hash: String,
    /// This attempt's own id: the first of its commits inserts the row, later ones update it.
    pub request_id: String,
    /// A retry re-rendering a committed request: the effect to read back instead of writing.
    pub replay: Option<String>,
    /// When the request arrived (the key's age counts from it).
    pub now: Timestamp,
    state: Mutex<ScopeState>,
}

#[derive(Debug, Default)]
struct ScopeState {
    committed: bool,
    /// Said by the code about to commit: what the next commit does.
    pending_effect: Option<String>,
}

impl KeyScope {
    pub fn new(principal: &str, key: &str, request_hash: &str, request_id: &str, now: Timestamp) -> Self {
        Self {
            now,
            principal: principal.to_owned(),
            key: key.to_owned(),
            request_hash: request_hash.to_owned(),
            request_id: request_id.to_owned(),
            replay: None,
            state: Mutex::new(ScopeState::default()),
        }
    }

    /// A scope that reads back `effect` instead of writing anything.
    #[must_use]
    pub fn replaying(mut self, effect: String) -> Self {
        self.replay = Some(effect);
        self
    }

    /// Whether a transaction of this request committed (with the key row).
    pub fn committed(&self) -> bool {
        self.state.lock().is_ok_and(|s| s.committed)
    }

    fn take_pending(&self) -> Option<String> {
        self.state.lock().ok().and_then(|mut s| s.pending_effect.take())
    }

    fn already_committed(&self) -> bool {
        self.committed()
    }

    pub(crate) fn note_committed(&self) {
        if let Ok(mut state) = self.state.lock() {
            state.committed = true;
        }
    }

    /// The fragment that records the key in a transaction of this request: an insert the first
    /// time (a unique violation if another request holds the key), an update of the effect after.
    pub(crate) fn fragment(&self, statement: &mut Statement, effect: Option<String>) {
        let now = self.now;
        let effect = effect.or_else(|| self.take_pending());
        if self.already_committed() {
            let sql = format!(
                "UPDATE idempotency_keys SET effect = COALESCE({}, effect)
                 WHERE principal = {} AND idempotency_key = {} AND request_id = {}",
                statement.opt_text(effect),
                statement.text(self.principal.clone()),
                statement.text(self.key.clone()),
                statement.text(self.request_id.clone()),
            );
            statement.sql.push_str(&sql);
        } else {
            let sql = format!(
                "INSERT INTO idempotency_keys (principal, idempotency_key, request_hash, request_id, effect, created_at_us)
                 VALUES ({}, {}, {}, {}, {}, {})",
                statement.text(self.principal.clone()),
                statement.text(self.key.clone()),
                statement.text(self.request_hash.clone()),
                statement.text(self.request_id.clone()),
                statement.opt_text(effect),
                statement.int(micros(now)),
            );
            statement.sql.push_str(&sql);
        }
    }
}

/// Runs `work` with `scope` as the current request's key.
pub async fn within<F: Future>(scope: Arc<KeyScope>, work: F) -> F::Output {
    SCOPE.scope(scope, work).await
}

/// The key of the request this task is handling, if it has one.
pub fn current() -> Option<Arc<KeyScope>> {
    SCOPE.try_with(Arc::clone).ok()
}

/// Says what the next commit of this request does (e.g. `traceback:<id>:<from>:<to>`), so a
/// retry after a crash can render the response again.
pub fn note_effect(effect: String) {
    if let Some(scope) = current()
        && let Ok(mut state) = scope.state.lock()
    {
        state.pending_effect = Some(effect);
    }
}

/// The effect a retry is replaying, if it is one.
pub fn replaying() -> Option<String> {
    current().and_then(|scope| scope.replay.clone())
}

/// Whether a database error is another request holding the same key.
pub(crate) fn is_key_taken(error: &sqlx::Error) -> bool {
    error.as_database_error().is_some_and(|e| {
        e.is_unique_violation()
            && (e.constraint().is_some_and(|c| c.contains("idempotency_keys"))
                || e.message().contains("idempotency_keys"))
    })
}

/// What a key holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    pub request_hash: String,
    /// The kept response, once stored.
    pub response: Option<StoredResponse>,
    /// What the request committed (a traceback command's stream and versions), if said.
    pub effect: Option<String>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub content_type: String,
    pub location: Option<String>,
    pub body: String,
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
    /// What `key` holds, if a request with it committed.
    pub async fn idempotency_key(&self, principal: &str, key: &str) -> Result<Option<KeyRecord>> {
        let row = with_read!(self, pool => {
            let row = sqlx::query(
                "SELECT request_hash, status, content_type, location, body, effect, created_at_us
                 FROM idempotency_keys WHERE principal = $1 AND idempotency_key = $2",
            )
            .bind(principal).bind(key)
            .fetch_optional(pool)
            .await?;
            row.map(|row| Ok::<_, sqlx::Error>((
                row.try_get::<String, _>(0)?,
                row.try_get::<Option<i64>, _>(1)?,
                row.try_get::<Option<String>, _>(2)?,
                row.try_get::<Option<String>, _>(3)?,
                row.try_get::<Option<String>, _>(4)?,
                row.try_get::<Option<String>, _>(5)?,
                row.try_get::<i64, _>(6)?,
            ))).transpose()
        })?;
        let Some((request_hash, status, content_type, location, body, effect, created)) = row else {
            return Ok(None);
        };
        let response = status.map(|status| StoredResponse {
            status: u16::try_from(status).unwrap_or(500),
            content_type: content_type.unwrap_or_default(),
            location,
            body: body.unwrap_or_default(),
        });
        Ok(Some(KeyRecord { request_hash, response, effect, created_at: crate::from_micros(created)? }))
    }

    /// Stores the response of the request attempt `request_id`, whose effect committed the key.
    /// Only the first response is kept.
    pub async fn keep_idempotent_response(
        &self,
        principal: &str,
        key: &str,
        request_id: &str,
        response: &KeptResponse<'_>,
        now: Timestamp,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let kept = with_tx!(tx, conn => {
            sqlx::query(
                "UPDATE idempotency_keys SET status = $4, content_type = $5, location = $6, body = $7,
                     completed_at_us = $8
                 WHERE principal = $1 AND idempotency_key = $2 AND status IS NULL
                     AND (request_id = $3 OR request_id IS NULL OR $3 = '')",
            )
            .bind(principal).bind(key).bind(request_id).bind(i64::from(response.status)).bind(response.content_type)
            .bind(response.location).bind(response.body).bind(micros(now))
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
        })?;
        tx.commit().await?;
        Ok(kept == 1)
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

    /// Every kept response body and effect, for tests that check what is never kept.
    pub async fn idempotency_bodies(&self) -> Result<Vec<String>> {
        let rows: Vec<(Option<String>, Option<String>)> = with_read!(self, pool => {
            sqlx::query_as("SELECT body, effect FROM idempotency_keys").fetch_all(pool).await
        })?;
        Ok(rows.into_iter().flat_map(|(body, effect)| [body, effect]).flatten().collect())
    }
}
