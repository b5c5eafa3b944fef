//! The job queue: notifications, webhooks and deadline timers, enqueued in the transaction of the
//! events that cause them, claimed by workers under a lease.
//!
//! On PostgreSQL several replicas claim with `FOR UPDATE SKIP LOCKED`, so a job runs on one worker
//! at a time; a worker that dies loses its lease and the job runs again elsewhere. A job's effect
//! commits together with [`Tx::complete_job`], which fails if the lease was lost, so an effect that
//! writes to the database happens once; effects outside it (email, webhooks) are at least once.

use jiff::{SignedDuration, Timestamp};
use sqlx::{AssertSqlSafe, Row};

use crate::write::{Statement, insert_jobs};
use crate::{Engine, Result, Store, Tx, from_micros, micros, with_read, with_tx};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    pub kind: String,
    pub payload: String,
    pub run_at: Timestamp,
    /// Enqueueing a second job with the same key does nothing.
    pub dedupe_key: Option<String>,
    pub max_attempts: i64,
    /// Where a delivery goes (`webhook:<id>`, `mail`): workers cap and back off each target
    /// alone. None for timers.
    pub target: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub payload: String,
    pub run_at: Timestamp,
    /// Including the current one.
    pub attempts: i64,
    pub max_attempts: i64,
    pub dedupe_key: Option<String>,
    pub target: Option<String>,
}

/// The due jobs of one kind: how many, and how long the oldest has waited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueKind {
    pub kind: String,
    pub due: i64,
    pub oldest_due: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobCounts {
    pub pending: i64,
    pub due: i64,
    pub failed: i64,
    pub done: i64,
}

const RETURNING: &str = "RETURNING id, kind, payload, run_at_us, attempts, max_attempts, dedupe_key, target";

macro_rules! jobs {
    ($rows:expr) => {
        $rows
            .into_iter()
            .map(|row| -> Result<Job> {
                Ok(Job {
                    id: row.try_get("id")?,
                    kind: row.try_get("kind")?,
                    payload: row.try_get("payload")?,
                    run_at: from_micros(row.try_get("run_at_us")?)?,
                    attempts: row.try_get("attempts")?,
                    max_attempts: row.try_get("max_attempts")?,
                    dedupe_key: row.try_get("dedupe_key")?,
                    target: row.try_get("target")?,
                })
            })
            .collect::<Result<Vec<_>>>()
    };
}

impl Tx {
    pub async fn enqueue(&mut self, jobs: &[NewJob], now: Timestamp) -> Result<()> {
        if jobs.is_empty() {
            return Ok(());
        }
        let mut statement = Statement::default();
        insert_jobs(&mut statement, jobs, now);
        self.run(&statement).await?;
        Ok(())
    }

    /// Marks several claimed jobs done at once; returns how many this worker still held.
    pub async fn complete_jobs(&mut self, ids: &[i64], worker: &str, now: Timestamp) -> Result<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        let mut statement = Statement::default();
        let list: Vec<String> = ids.iter().map(|id| statement.int(*id)).collect();
        statement.sql = format!(
            "UPDATE jobs SET state = 'done', finished_at_us = {}, locked_by = NULL, locked_until_us = NULL
             WHERE id IN ({}) AND locked_by = {} AND state = 'pending'",
            statement.int(micros(now)),
            list.join(", "),
            statement.text(worker)
        );
        Ok(self.run(&statement).await?)
    }

    /// Gives a claimed job back for another try at `retry_at`, or marks it failed when its
    /// attempts are spent. False when `worker` no longer holds it.
    pub async fn release_job(
        &mut self,
        job: &Job,
        worker: &str,
        error: &str,
        retry_at: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<bool> {
        let give_up = retry_at.is_none() || job.attempts >= job.max_attempts;
        let released = with_tx!(self, conn => {
            sqlx::query(
                "UPDATE jobs SET state = CASE WHEN $4 THEN 'failed' ELSE 'pending' END,
                     run_at_us = COALESCE($5, run_at_us), last_error = $3, locked_by = NULL, locked_until_us = NULL,
                     finished_at_us = CASE WHEN $4 THEN $6 ELSE NULL END
                 WHERE id = $1 AND locked_by = $2",
            )
            .bind(job.id)
            .bind(worker)
            .bind(error)
            .bind(give_up)
            .bind(retry_at.map(micros))
            .bind(micros(now))
            .execute(conn).await.map(|r| r.rows_affected())
        })?;
        Ok(released == 1)
    }

    /// Marks a claimed job done, in the transaction of its effect. False when this worker no
    /// longer holds the job (its lease ran out and another took it): roll the effect back.
    pub async fn complete_job(&mut self, id: i64, worker: &str, now: Timestamp) -> Result<bool> {
        let done = with_tx!(self, conn => {
            sqlx::query(
                "UPDATE jobs SET state = 'done', finished_at_us = $3, locked_by = NULL, locked_until_us = NULL
                 WHERE id = $1 AND locked_by = $2 AND state = 'pending'",
            )
            .bind(id)
            .bind(worker)
            .bind(micros(now))
            .execute(conn).await.map(|r| r.rows_affected())
        })?;
        Ok(done == 1)
    }
}

impl Store {
    /// Whether any job is due and free at `now`: a read, so an idle worker never takes the
    /// write lock.
    pub async fn any_job_due(&self, now: Timestamp) -> Result<bool> {
        let found: Option<i64> = with_read!(self, pool => {
            sqlx::query_scalar(
                "SELECT id FROM jobs WHERE state = 'pending' AND run_at_us <= $1
                     AND (locked_until_us IS NULL OR locked_until_us < $1) LIMIT 1",
            )
            .bind(micros(now))
            .fetch_optional(pool)
            .await
        })?;
        Ok(found.is_some())
    }

    /// Claims up to `limit` due jobs of the given kinds for `lease`.
    pub async fn claim_jobs(
        &self,
        worker: &str,
        kinds: &[&str],
        now: Timestamp,
        lease: SignedDuration,
        limit: i64,
    ) -> Result<Vec<Job>> {
        self.claim_jobs_except(worker, kinds, &[], now, lease, limit).await
    }

    /// Claims up to `limit` due jobs of the given kinds for `lease`, leaving those whose target
    /// is in `skip_targets` (targets at their concurrency cap, or backed off). A job whose
    /// attempts are spent is never claimed again (see [`Store::fail_exhausted_jobs`]).
    pub async fn claim_jobs_except(
        &self,
        worker: &str,
        kinds: &[&str],
        skip_targets: &[String],
        now: Timestamp,
        lease: SignedDuration,
        limit: i64,
    ) -> Result<Vec<Job>> {
        if kinds.is_empty() || limit <= 0 {
            return Ok(Vec::new());
        }
        // Job kinds are the code's own constants, never input.
        let kinds_list = kinds.iter().map(|k| format!("'{}'", k.replace('\'', ""))).collect::<Vec<_>>().join(", ");
        let lock = match self.engine_kind() {
            Engine::Postgres => "FOR UPDATE SKIP LOCKED",
            Engine::Sqlite => "",
        };
        // Targets are bound, never spliced: they come from stored jobs.
        let skip = if skip_targets.is_empty() {
            String::new()
        } else {
            let placeholders: Vec<String> = (0..skip_targets.len()).map(|i| format!("${}", i + 5)).collect();
            format!("AND (target IS NULL OR target NOT IN ({}))", placeholders.join(", "))
        };
        let sql = format!(
            "UPDATE jobs SET locked_by = $1, locked_until_us = $2, attempts = attempts + 1
             WHERE id IN (SELECT id FROM jobs WHERE state = 'pending' AND run_at_us <= $3
                              AND (locked_until_us IS NULL OR locked_until_us < $3) AND kind IN ({kinds_list})
                              AND attempts < max_attempts {skip}
                          ORDER BY run_at_us, id LIMIT $4 {lock})
             {RETURNING}"
        );
        let until = now.checked_add(lease).unwrap_or(now);
        // One statement, atomic on its own: no transaction round trips around it.
        let mut connection = self.connection().await?;
        let mut claimed = with_tx!(connection, conn => {
            let mut query = sqlx::query(AssertSqlSafe(sql)).bind(worker).bind(micros(until)).bind(micros(now)).bind(limit);
            for target in skip_targets {
                query = query.bind(target.clone());
            }
            let rows = query.fetch_all(conn).await?;
            jobs!(rows)
        })?;
        claimed.sort_by_key(|job| (job.run_at, job.id));
        Ok(claimed)
    }

    /// Gives a job back for another try at `retry_at`, or marks it failed when its attempts are
    /// spent.
    pub async fn release_job(
        &self,
        job: &Job,
        worker: &str,
        error: &str,
        retry_at: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let released = tx.release_job(job, worker, error, retry_at, now).await?;
        tx.commit().await?;
        Ok(released)
    }

    /// Marks a job done outside an effect transaction (effects that do not write here).
    pub async fn finish_job(&self, id: i64, worker: &str, now: Timestamp) -> Result<bool> {
        let mut tx = self.begin().await?;
        let done = tx.complete_job(id, worker, now).await?;
        tx.commit().await?;
        Ok(done)
    }

    /// Extends the lease of jobs `holder` is still working on to `until` (a heartbeat); returns
    /// the ids it still holds. A job missing from the answer was taken over: its holder must not
    /// act on it any more.
    pub async fn extend_leases(&self, ids: &[i64], holder: &str, until: Timestamp) -> Result<Vec<i64>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut statement = Statement::default();
        let list: Vec<String> = ids.iter().map(|id| statement.int(*id)).collect();
        statement.sql = format!(
            "UPDATE jobs SET locked_until_us = {} WHERE id IN ({}) AND locked_by = {} AND state = 'pending' RETURNING id",
            statement.int(micros(until)),
            list.join(", "),
            statement.text(holder)
        );
        let mut connection = self.connection().await?;
        let held: Vec<i64> = with_tx!(connection, conn => {
            let mut query = sqlx::query_scalar(AssertSqlSafe(statement.sql.clone()));
            for arg in &statement.args {
                query = match arg {
                    crate::write::Arg::Int(value) => query.bind(*value),
                    crate::write::Arg::Text(value) => query.bind(value.clone()),
                    crate::write::Arg::Bool(value) => query.bind(*value),
                };
            }
            query.fetch_all(conn).await
        })?;
        Ok(held)
    }

    /// Gives back a claimed job this worker will not run now (its target is at its cap),
    /// without spending an attempt.
    pub async fn unclaim_job(&self, id: i64, holder: &str) -> Result<bool> {
        let mut tx = self.begin().await?;
        let given_back = with_tx!(tx, conn => {
            sqlx::query(
                "UPDATE jobs SET locked_by = NULL, locked_until_us = NULL, attempts = attempts - 1
                 WHERE id = $1 AND locked_by = $2 AND state = 'pending'",
            )
            .bind(id)
            .bind(holder)
            .execute(conn).await.map(|r| r.rows_affected())
        })?;
        tx.commit().await?;
        Ok(given_back == 1)
    }

    /// Marks failed the jobs whose attempts are spent and whose last lease ran out (their worker
    /// died or lost them on the last try): they are never claimed again. Returns how many.
    pub async fn fail_exhausted_jobs(&self, now: Timestamp) -> Result<u64> {
        let mut tx = self.begin().await?;
        let failed = with_tx!(tx, conn => {
            sqlx::query(
                "UPDATE jobs SET state = 'failed', finished_at_us = $1, locked_by = NULL, locked_until_us = NULL,
                     last_error = COALESCE(last_error, 'the last attempt lost its lease')
                 WHERE state = 'pending' AND attempts >= max_attempts AND locked_until_us IS NOT NULL
                     AND locked_until_us < $1",
            )
            .bind(micros(now))
            .execute(conn).await.map(|r| r.rows_affected())
        })?;
        tx.commit().await?;
        Ok(failed)
    }

    /// Due jobs by kind (pending, due at `now`, whether or not leased) and the oldest due time.
    pub async fn due_by_kind(&self, now: Timestamp) -> Result<Vec<DueKind>> {
        let rows: Vec<(String, i64, Option<i64>)> = with_read!(self, pool => {
            let rows = sqlx::query(
                "SELECT kind, COUNT(*) AS due, MIN(run_at_us) AS oldest FROM jobs
                 WHERE state = 'pending' AND run_at_us <= $1 GROUP BY kind ORDER BY kind",
            )
            .bind(micros(now))
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|row| Ok::<_, sqlx::Error>((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?)))
                .collect::<std::result::Result<Vec<_>, _>>()
        })?;
        rows.into_iter()
            .map(|(kind, due, oldest)| Ok(DueKind { kind, due, oldest_due: oldest.map(from_micros).transpose()? }))
            .collect()
    }

    pub async fn job_counts(&self, now: Timestamp) -> Result<JobCounts> {
        let row: (i64, i64, i64, i64) = with_read!(self, pool => {
            let row = sqlx::query(
                "SELECT
                     COALESCE(SUM(CASE WHEN state = 'pending' THEN 1 ELSE 0 END), 0),
                     COALESCE(SUM(CASE WHEN state = 'pending' AND run_at_us <= $1 THEN 1 ELSE 0 END), 0),
                     COALESCE(SUM(CASE WHEN state = 'failed' THEN 1 ELSE 0 END), 0),
                     COALESCE(SUM(CASE WHEN state = 'done' THEN 1 ELSE 0 END), 0)
                 FROM jobs",
            )
            .bind(micros(now))
            .fetch_one(pool)
            .await?;
            Ok::<_, sqlx::Error>((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?, row.try_get(3)?))
        })?;
        Ok(JobCounts { pending: row.0, due: row.1, failed: row.2, done: row.3 })
    }

    /// The earliest time a pending job is due, so an idle worker knows how long it may sleep.
    pub async fn next_job_due(&self) -> Result<Option<Timestamp>> {
        let next: Option<i64> = with_read!(self, pool => {
            sqlx::query_scalar("SELECT MIN(run_at_us) FROM jobs WHERE state = 'pending'").fetch_one(pool).await
        })?;
        next.map(from_micros).transpose()
    }

    /// Jobs of a kind in any state, oldest first, for tests and operators.
    pub async fn jobs_by_kind(&self, kind: &str) -> Result<Vec<(Job, String)>> {
        let (jobs, states) = with_read!(self, pool => {
            let rows = sqlx::query(
                "SELECT id, kind, payload, run_at_us, attempts, max_attempts, dedupe_key, target, state FROM jobs WHERE kind = $1 ORDER BY id",
            )
            .bind(kind)
            .fetch_all(pool)
            .await?;
            let states = rows.iter().map(|row| row.try_get::<String, _>("state")).collect::<std::result::Result<Vec<_>, _>>()?;
            (jobs!(rows)?, states)
        });
        Ok(jobs.into_iter().zip(states).collect())
    }
}
