//! Statements built from fragments: the writes of a command (events, the traceback's read
//! models, the jobs they cause) are each a fragment, so the same SQL serves a step-by-step
//! transaction and the one-round-trip write of [`Store::write_command`].

use std::collections::BTreeSet;

use jiff::Timestamp;
use sqlx::AssertSqlSafe;
use tracehop_core::traceback::{Event, HopId, Outcome, Traceback};

use crate::events::{chain_hash, encode};
use crate::jobs::NewJob;
use crate::tracebacks::{category_name, origin_name, touched_hops};
use crate::{Engine, Result, Store, StoreError, Tx, is_unique_violation, micros, with_tx};

/// A bound value.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Int(Option<i64>),
    Text(Option<String>),
    Bool(bool),
}

/// SQL with `$n` placeholders, and the values they stand for in order.
#[derive(Debug, Default)]
pub(crate) struct Statement {
    pub sql: String,
    pub args: Vec<Arg>,
}

impl Statement {
    /// Adds a value; returns its placeholder.
    pub fn arg(&mut self, arg: Arg) -> String {
        self.args.push(arg);
        format!("${}", self.args.len())
    }

    pub fn int(&mut self, value: i64) -> String {
        self.arg(Arg::Int(Some(value)))
    }

    pub fn opt_int(&mut self, value: Option<i64>) -> String {
        self.arg(Arg::Int(value))
    }

    pub fn text(&mut self, value: impl Into<String>) -> String {
        self.arg(Arg::Text(Some(value.into())))
    }

    pub fn opt_text(&mut self, value: Option<impl Into<String>>) -> String {
        self.arg(Arg::Text(value.map(Into::into)))
    }

    pub fn bool(&mut self, value: bool) -> String {
        self.arg(Arg::Bool(value))
    }

    /// A parenthesised row of placeholders.
    pub fn row(&mut self, values: Vec<Arg>) -> String {
        let placeholders: Vec<String> = values.into_iter().map(|v| self.arg(v)).collect();
        format!("({})", placeholders.join(", "))
    }
}

/// Executes a statement on a transaction or reader; returns the rows it changed.
macro_rules! execute {
    ($tx:expr, $statement:expr) => {{
        let statement: &$crate::write::Statement = $statement;
        with_tx!($tx, conn => {
            let mut query = sqlx::query(AssertSqlSafe(statement.sql.clone()));
            for arg in &statement.args {
                query = match arg {
                    $crate::write::Arg::Int(value) => query.bind(*value),
                    $crate::write::Arg::Text(value) => query.bind(value.clone()),
                    $crate::write::Arg::Bool(value) => query.bind(*value),
                };
            }
            query.execute(conn).await.map(|r| r.rows_affected())
        })
    }};
}

fn int(value: i64) -> Arg {
    Arg::Int(Some(value))
}

fn text(value: impl Into<String>) -> Arg {
    Arg::Text(Some(value.into()))
}

/// `INSERT INTO events …` for `events` after `version`, chained from `head_hash`; the new head.
pub(crate) fn insert_events(
    statement: &mut Statement,
    stream_id: &str,
    version: i64,
    head_hash: &str,
    events: &[Event],
    recorded_at: Timestamp,
) -> Result<String> {
    let mut rows = Vec::with_capacity(events.len());
    let mut prev = head_hash.to_owned();
    for (offset, event) in events.iter().enumerate() {
        let seq = version + i64::try_from(offset).unwrap_or(i64::MAX) + 1;
        let payload = encode(event)?;
        let hash = chain_hash(&prev, stream_id, seq, &payload);
        let values = vec![
            text(stream_id),
            int(seq),
            text(event.change.name()),
            int(micros(event.at)),
            text(payload),
            text(prev),
            text(hash.clone()),
            int(micros(recorded_at)),
        ];
        rows.push(statement.row(values));
        prev = hash;
    }
    statement.sql.push_str(&format!(
        "INSERT INTO events (stream_id, seq, kind, at_us, payload, prev_hash, hash, recorded_at_us) VALUES {}",
        rows.join(", ")
    ));
    Ok(prev)
}

/// `INSERT INTO tracebacks …` (new) or `UPDATE tracebacks … WHERE version = previous`.
pub(crate) fn save_traceback_row(
    statement: &mut Statement,
    number: i64,
    state: &Traceback,
    previous_version: Option<i64>,
    head_hash: &str,
    now: Timestamp,
) -> Result<()> {
    let header =
        state.header.as_ref().ok_or_else(|| StoreError::Corrupt("saving a traceback that never started".into()))?;
    let outcome = state.outcome();
    let version = i64::try_from(state.version).unwrap_or(i64::MAX);
    let frontier = state.frontier().map(|h| h.provider.id.to_string());
    let hop_count = i64::try_from(state.hop_count()).unwrap_or(i64::MAX);
    let closed_at = state.closure.as_ref().map(|c| micros(c.at));
    let snapshot = serde_json::to_string(state)?;
    let id = header.id.to_string();
    match previous_version {
        None => {
            let row = statement.row(vec![
                text(id),
                int(number),
                text(category_name(header.category)),
                text(state.status().name()),
                Arg::Text(outcome.map(|o| Outcome::name(o).to_owned())),
                Arg::Text(origin_name(outcome).map(str::to_owned)),
                Arg::Text(header.campaign.clone()),
                Arg::Text(header.candidate.clone()),
                Arg::Text(header.incident.clone()),
                text(state.hops.first().map(|h| h.provider.id.to_string()).unwrap_or_default()),
                Arg::Text(frontier),
                int(hop_count),
                Arg::Bool(state.strike_exempt.is_some()),
                int(micros(header.started_at)),
                Arg::Int(closed_at),
                int(micros(now)),
                int(version),
                text(head_hash),
                text(snapshot),
            ]);
            statement.sql.push_str(&format!(
                "INSERT INTO tracebacks (id, number, category, status, outcome, origin, campaign_id, candidate_id,
                     incident_id, terminating_provider, frontier_provider, hop_count, strike_exempt, started_at_us,
                     closed_at_us, updated_at_us, version, head_hash, state)
                 VALUES {row}"
            ));
        }
        Some(previous) => {
            let sql = format!(
                "UPDATE tracebacks SET status = {}, outcome = {}, origin = {}, frontier_provider = {}, hop_count = {},
                     strike_exempt = {}, closed_at_us = {}, updated_at_us = {}, version = {}, head_hash = {}, state = {}
                 WHERE id = {} AND version = {}",
                statement.text(state.status().name()),
                statement.opt_text(outcome.map(Outcome::name)),
                statement.opt_text(origin_name(outcome)),
                statement.opt_text(frontier),
                statement.int(hop_count),
                statement.bool(state.strike_exempt.is_some()),
                statement.opt_int(closed_at),
                statement.int(micros(now)),
                statement.int(version),
                statement.text(head_hash),
                statement.text(snapshot),
                statement.text(id),
                statement.int(previous),
            );
            statement.sql.push_str(&sql);
        }
    }
    Ok(())
}

/// The hops whose rows the events changed: every hop of a new traceback.
pub(crate) fn changed_hops(state: &Traceback, events: &[Event], new: bool) -> BTreeSet<HopId> {
    if new { state.hops.iter().map(|h| h.id).collect() } else { touched_hops(state, events) }
}

/// `INSERT INTO hops … ON CONFLICT DO UPDATE` for the given hops; false when there are none.
pub(crate) fn upsert_hops(
    statement: &mut Statement,
    state: &Traceback,
    hops: &BTreeSet<HopId>,
    now: Timestamp,
) -> bool {
    let Some(header) = &state.header else { return false };
    let path: BTreeSet<HopId> = state.path().iter().map(|h| h.id).collect();
    let rows: Vec<String> = hops
        .iter()
        .filter_map(|id| state.hop(*id))
        .map(|hop| {
            let labels: Vec<&str> =
                state.labels(hop.id).into_iter().map(tracehop_core::traceback::Label::name).collect();
            statement.row(vec![
                text(header.id.to_string()),
                int(i64::from(hop.id.0)),
                text(state.hop_ref(hop.id).to_string()),
                text(hop.provider.id.to_string()),
                text(hop.provider.entity.to_string()),
                Arg::Int(hop.named_by.map(|h| i64::from(h.0))),
                text(hop.state.name()),
                text(labels.join(",")),
                Arg::Bool(path.contains(&hop.id)),
                int(i64::from(hop.requests)),
                Arg::Int(hop.request.map(|r| micros(r.notified_at))),
                Arg::Int(hop.request.map(|r| micros(r.start_by))),
                Arg::Int(hop.request.map(|r| micros(r.respond_by))),
                Arg::Int(hop.answer.as_ref().map(|a| micros(a.at))),
                Arg::Text(hop.answer.as_ref().map(|a| a.answer.kind().to_owned())),
                int(micros(hop.opened_at)),
                int(micros(now)),
            ])
        })
        .collect();
    if rows.is_empty() {
        return false;
    }
    statement.sql.push_str(&format!(
        "INSERT INTO hops (traceback_id, hop, reference, provider_id, entity_id, named_by, state, labels, in_path, requests,
             notified_at_us, start_by_us, respond_by_us, answered_at_us, answer_kind, opened_at_us, updated_at_us)
         VALUES {}
         ON CONFLICT (traceback_id, hop) DO UPDATE SET reference = excluded.reference, state = excluded.state,
             labels = excluded.labels,
             in_path = excluded.in_path, requests = excluded.requests, notified_at_us = excluded.notified_at_us,
             start_by_us = excluded.start_by_us, respond_by_us = excluded.respond_by_us,
             answered_at_us = excluded.answered_at_us, answer_kind = excluded.answer_kind,
             updated_at_us = excluded.updated_at_us",
        rows.join(", ")
    ));
    true
}

/// `INSERT INTO jobs …`, skipping any whose dedupe key is taken.
pub(crate) fn insert_jobs(statement: &mut Statement, jobs: &[NewJob], now: Timestamp) {
    let rows: Vec<String> = jobs
        .iter()
        .map(|job| {
            statement.row(vec![
                text(job.kind.clone()),
                text(job.payload.clone()),
                Arg::Text(job.dedupe_key.clone()),
                int(micros(job.run_at)),
                int(job.max_attempts),
                int(micros(now)),
                Arg::Text(job.target.clone()),
            ])
        })
        .collect();
    statement.sql.push_str(&format!(
        "INSERT INTO jobs (kind, payload, dedupe_key, run_at_us, max_attempts, created_at_us, target) VALUES {}
         ON CONFLICT (dedupe_key) DO NOTHING",
        rows.join(", ")
    ));
}

/// Everything one command writes.
pub struct CommandWrite<'a> {
    pub number: i64,
    /// The version the command read (its last event's seq); 0 for a new traceback.
    pub version: i64,
    pub head_hash: &'a str,
    pub events: &'a [Event],
    /// The state after the events.
    pub state: &'a Traceback,
    pub jobs: &'a [NewJob],
    pub now: Timestamp,
}

impl Store {
    /// Writes a command's events, read models and jobs in one round trip where the engine allows:
    /// one statement on PostgreSQL (its parts as data-modifying CTEs, atomic without an explicit
    /// transaction), one transaction of several statements sent together on SQLite. A concurrent
    /// writer makes the event insert fail on its sequence number: [`StoreError::Conflict`].
    pub async fn write_command(&self, write: &CommandWrite<'_>) -> Result<String> {
        let header =
            write.state.header.as_ref().ok_or_else(|| StoreError::Corrupt("a traceback that never started".into()))?;
        let stream = header.id.to_string();
        let previous = (write.version != 0).then_some(write.version);
        // One argument list, placeholders numbered across all parts; the parts' SQL apart.
        let mut statement = Statement::default();
        let mut parts: Vec<String> = Vec::new();
        let head = insert_events(&mut statement, &stream, write.version, write.head_hash, write.events, write.now)?;
        parts.push(std::mem::take(&mut statement.sql));
        save_traceback_row(&mut statement, write.number, write.state, previous, &head, write.now)?;
        parts.push(std::mem::take(&mut statement.sql));
        if upsert_hops(
            &mut statement,
            write.state,
            &changed_hops(write.state, write.events, previous.is_none()),
            write.now,
        ) {
            parts.push(std::mem::take(&mut statement.sql));
        }
        if !write.jobs.is_empty() {
            insert_jobs(&mut statement, write.jobs, write.now);
            parts.push(std::mem::take(&mut statement.sql));
        }
        // The request's Idempotency-Key commits with its effect, and says what the effect was.
        // A replay never writes.
        let scope = crate::idempotency::current();
        if let Some(scope) = scope.as_ref().filter(|s| s.replay.is_some()) {
            return Err(StoreError::KeyTaken(scope.key.clone()));
        }
        if let Some(scope) = &scope {
            let to = write.version + i64::try_from(write.events.len()).unwrap_or(i64::MAX);
            scope.fragment(&mut statement, Some(format!("traceback:{stream}:{}:{to}", write.version)));
            parts.push(std::mem::take(&mut statement.sql));
        }
        let args = statement.args;
        let result = match self.engine_kind() {
            Engine::Postgres => {
                let (last, rest) = parts.split_last().ok_or_else(|| StoreError::Corrupt("an empty write".into()))?;
                let ctes: Vec<String> = rest.iter().enumerate().map(|(i, sql)| format!("w{i} AS ({sql})")).collect();
                let combined = Statement { sql: format!("WITH {} {last}", ctes.join(", ")), args };
                let mut connection = self.connection().await?;
                execute!(connection, &combined)
            }
            Engine::Sqlite => match &self.group {
                Some(group) => group.write(Statement { sql: parts.join(";\n"), args }).await,
                None => {
                    let combined = Statement { sql: parts.join(";\n"), args };
                    let mut tx = self.begin().await?;
                    let result = execute!(tx, &combined);
                    if result.is_ok() {
                        tx.commit().await?;
                    }
                    result
                }
            },
        };
        match result {
            Ok(_) => {
                if let Some(scope) = scope {
                    scope.note_committed();
                }
                Ok(head)
            }
            Err(error) if crate::idempotency::is_key_taken(&error) => {
                Err(StoreError::KeyTaken(scope.map(|s| s.key.clone()).unwrap_or_default()))
            }
            Err(error) if is_unique_violation(&error) => Err(StoreError::Conflict(format!("traceback {stream}"))),
            Err(error) => Err(error.into()),
        }
    }
}

impl Tx {
    pub(crate) async fn run(&mut self, statement: &Statement) -> Result<u64, sqlx::Error> {
        execute!(self, statement)
    }
}

impl Tx {
    /// Marks a point the transaction can return to: a step that fails is undone alone.
    pub async fn savepoint(&mut self, name: &'static str) -> Result<()> {
        self.run(&Statement { sql: format!("SAVEPOINT {name}"), args: Vec::new() }).await?;
        Ok(())
    }

    pub async fn release_savepoint(&mut self, name: &'static str) -> Result<()> {
        self.run(&Statement { sql: format!("RELEASE SAVEPOINT {name}"), args: Vec::new() }).await?;
        Ok(())
    }

    pub async fn rollback_to_savepoint(&mut self, name: &'static str) -> Result<()> {
        self.run(&Statement { sql: format!("ROLLBACK TO SAVEPOINT {name}"), args: Vec::new() }).await?;
        self.release_savepoint(name).await
    }
}
