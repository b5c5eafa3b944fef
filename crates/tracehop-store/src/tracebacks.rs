//! Traceback read models: a row per traceback (with the folded state as a snapshot, so a command
//! loads one row instead of replaying the log) and a row per hop, for lists by status and
//! campaign, open hops by provider with their deadlines, and each provider's hop history.

use std::collections::BTreeSet;

use jiff::Timestamp;
use sqlx::{AssertSqlSafe, Row};
use tracehop_core::traceback::{Category, Event, HopId, Outcome, Traceback, TracebackId};

use crate::write::{Statement, changed_hops, save_traceback_row, upsert_hops};
use crate::{Result, Store, StoreError, Tx, from_micros, is_unique_violation, micros, with_read, with_tx};

/// The folded state of a traceback as last saved, with what the next append needs.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub number: i64,
    pub state: Traceback,
    pub version: i64,
    pub head_hash: String,
}

/// A traceback as lists show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TracebackRecord {
    pub id: String,
    pub number: i64,
    pub category: String,
    pub status: String,
    pub outcome: Option<String>,
    pub origin: Option<String>,
    pub campaign_id: Option<String>,
    pub terminating_provider: String,
    pub frontier_provider: Option<String>,
    pub hop_count: i64,
    pub strike_exempt: bool,
    pub started_at: Timestamp,
    pub closed_at: Option<Timestamp>,
    pub updated_at: Timestamp,
    pub version: i64,
}

/// A hop as lists show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HopRecord {
    pub traceback_id: String,
    /// The hop's position: for staff.
    pub hop: i64,
    /// The opaque reference its provider knows it by; `None` on rows not written since it was
    /// introduced.
    pub reference: Option<String>,
    pub provider_id: String,
    pub entity_id: String,
    pub named_by: Option<i64>,
    pub state: String,
    pub labels: Vec<String>,
    pub in_path: bool,
    pub requests: i64,
    pub notified_at: Option<Timestamp>,
    pub start_by: Option<Timestamp>,
    pub respond_by: Option<Timestamp>,
    pub answered_at: Option<Timestamp>,
    pub answer_kind: Option<String>,
    pub opened_at: Timestamp,
}

pub fn category_name(category: Category) -> &'static str {
    match category {
        Category::Domestic => "domestic",
        Category::ForeignLawEnforcement => "foreign_law_enforcement",
    }
}

pub(crate) fn origin_name(outcome: Option<Outcome>) -> Option<&'static str> {
    match outcome? {
        Outcome::OriginIdentified { origin: tracehop_core::traceback::Origin::Us } => Some("us"),
        Outcome::OriginIdentified { origin: tracehop_core::traceback::Origin::International } => Some("international"),
        _ => None,
    }
}

/// The hops whose rows the events may have changed: those they name, and their neighbours
/// (labels depend on the hops on either side).
pub(crate) fn touched_hops(state: &Traceback, events: &[Event]) -> BTreeSet<HopId> {
    let mut touched = BTreeSet::new();
    for event in events {
        if let Some(hop) = event.change.hop() {
            touched.insert(hop);
        }
        if let tracehop_core::traceback::Change::HopRedirected { superseded, .. } = &event.change {
            touched.extend(superseded.iter().copied());
        }
    }
    let neighbours: Vec<HopId> = touched
        .iter()
        .filter_map(|id| state.hop(*id))
        .flat_map(|hop| hop.named_by.into_iter().chain(hop.upstream))
        .collect();
    touched.extend(neighbours);
    touched
}

const TRACEBACK_COLUMNS: &str = "id, number, category, status, outcome, origin, campaign_id, terminating_provider, \
     frontier_provider, hop_count, strike_exempt, started_at_us, closed_at_us, updated_at_us, version";

const HOP_COLUMNS: &str = "traceback_id, hop, reference, provider_id, entity_id, named_by, state, labels, in_path, \
     requests, notified_at_us, start_by_us, respond_by_us, answered_at_us, answer_kind, opened_at_us";

macro_rules! traceback_records {
    ($rows:expr) => {
        $rows
            .into_iter()
            .map(|row| -> Result<TracebackRecord> {
                Ok(TracebackRecord {
                    id: row.try_get("id")?,
                    number: row.try_get("number")?,
                    category: row.try_get("category")?,
                    status: row.try_get("status")?,
                    outcome: row.try_get("outcome")?,
                    origin: row.try_get("origin")?,
                    campaign_id: row.try_get("campaign_id")?,
                    terminating_provider: row.try_get("terminating_provider")?,
                    frontier_provider: row.try_get("frontier_provider")?,
                    hop_count: row.try_get("hop_count")?,
                    strike_exempt: row.try_get("strike_exempt")?,
                    started_at: from_micros(row.try_get("started_at_us")?)?,
                    closed_at: row.try_get::<Option<i64>, _>("closed_at_us")?.map(from_micros).transpose()?,
                    updated_at: from_micros(row.try_get("updated_at_us")?)?,
                    version: row.try_get("version")?,
                })
            })
            .collect::<Result<Vec<_>>>()
    };
}

macro_rules! hop_records {
    ($rows:expr) => {
        $rows
            .into_iter()
            .map(|row| -> Result<HopRecord> {
                let optional_time = |name: &str| -> Result<Option<Timestamp>> {
                    row.try_get::<Option<i64>, _>(name)?.map(from_micros).transpose()
                };
                let labels: String = row.try_get("labels")?;
                Ok(HopRecord {
                    traceback_id: row.try_get("traceback_id")?,
                    hop: row.try_get("hop")?,
                    reference: row.try_get("reference")?,
                    provider_id: row.try_get("provider_id")?,
                    entity_id: row.try_get("entity_id")?,
                    named_by: row.try_get("named_by")?,
                    state: row.try_get("state")?,
                    labels: labels.split(',').filter(|l| !l.is_empty()).map(str::to_owned).collect(),
                    in_path: row.try_get("in_path")?,
                    requests: row.try_get("requests")?,
                    notified_at: optional_time("notified_at_us")?,
                    start_by: optional_time("start_by_us")?,
                    respond_by: optional_time("respond_by_us")?,
                    answered_at: optional_time("answered_at_us")?,
                    answer_kind: row.try_get("answer_kind")?,
                    opened_at: from_micros(row.try_get("opened_at_us")?)?,
                })
            })
            .collect::<Result<Vec<_>>>()
    };
}

impl Tx {
    pub async fn load_snapshot(&mut self, id: TracebackId) -> Result<Option<Snapshot>> {
        let row: Option<(i64, String, i64, String)> = with_tx!(self, conn => {
            let row = sqlx::query("SELECT number, state, version, head_hash FROM tracebacks WHERE id = $1")
                .bind(id.to_string())
                .fetch_optional(conn)
                .await?;
            row.map(|r| Ok::<_, sqlx::Error>((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?))).transpose()
        })?;
        row.map(|(number, state, version, head_hash)| {
            let state = serde_json::from_str(&state)
                .map_err(|e| StoreError::Corrupt(format!("traceback {id} snapshot: {e}")))?;
            Ok(Snapshot { number, state, version, head_hash })
        })
        .transpose()
    }

    /// Saves the read models of a traceback after `events` moved it from `previous_version`
    /// (`None` for a new traceback) to `state`. A concurrent writer makes this fail with
    /// [`StoreError::Conflict`].
    pub async fn save_traceback(
        &mut self,
        number: i64,
        state: &Traceback,
        previous_version: Option<i64>,
        head_hash: &str,
        events: &[Event],
        now: Timestamp,
    ) -> Result<()> {
        let conflict = || {
            StoreError::Conflict(format!(
                "traceback {}",
                state.header.as_ref().map(|h| h.id.to_string()).unwrap_or_default()
            ))
        };
        let mut row = Statement::default();
        save_traceback_row(&mut row, number, state, previous_version, head_hash, now)?;
        match self.run(&row).await {
            Ok(changed) if previous_version.is_some() && changed != 1 => return Err(conflict()),
            Ok(_) => {}
            Err(error) if is_unique_violation(&error) => return Err(conflict()),
            Err(error) => return Err(error.into()),
        }
        let mut hops = Statement::default();
        if upsert_hops(&mut hops, state, &changed_hops(state, events, previous_version.is_none()), now) {
            self.run(&hops).await?;
        }
        Ok(())
    }
}

/// Which tracebacks a list shows, newest first.
#[derive(Debug, Clone, Default)]
pub struct TracebackFilter {
    pub status: Option<String>,
    pub campaign_id: Option<String>,
    pub category: Option<String>,
    /// Keyset cursor: (started_at_us, id) of the last row of the previous page.
    pub before: Option<(i64, String)>,
    pub limit: i64,
}

/// Which hops of a provider a list shows.
#[derive(Debug, Clone, Default)]
pub struct HopFilter {
    pub provider_id: String,
    /// Only hops still waiting for the provider (open or acknowledged).
    pub waiting_only: bool,
    pub state: Option<String>,
    pub due_before: Option<Timestamp>,
    /// Keyset cursor: (opened_at_us, traceback_id, reference) of the last row of the previous
    /// page: a provider's cursor carries no hop position.
    pub after: Option<(i64, String, String)>,
    pub limit: i64,
}

impl Store {
    pub async fn traceback_snapshot(&self, id: TracebackId) -> Result<Option<Snapshot>> {
        let row: Option<(i64, String, i64, String)> = with_read!(self, pool => {
            let row = sqlx::query("SELECT number, state, version, head_hash FROM tracebacks WHERE id = $1")
                .bind(id.to_string())
                .fetch_optional(pool)
                .await?;
            row.map(|r| Ok::<_, sqlx::Error>((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?))).transpose()
        })?;
        row.map(|(number, state, version, head_hash)| {
            let state = serde_json::from_str(&state)
                .map_err(|e| StoreError::Corrupt(format!("traceback {id} snapshot: {e}")))?;
            Ok(Snapshot { number, state, version, head_hash })
        })
        .transpose()
    }

    pub async fn traceback_id_by_number(&self, number: i64) -> Result<Option<String>> {
        Ok(with_read!(self, pool => {
            sqlx::query_scalar("SELECT id FROM tracebacks WHERE number = $1").bind(number).fetch_optional(pool).await
        })?)
    }

    pub async fn list_tracebacks(&self, filter: &TracebackFilter) -> Result<Vec<TracebackRecord>> {
        let sql = format!(
            "SELECT {TRACEBACK_COLUMNS} FROM tracebacks
             WHERE ($1 IS NULL OR status = $1) AND ($2 IS NULL OR campaign_id = $2) AND ($3 IS NULL OR category = $3)
               AND ($4 IS NULL OR started_at_us < $4 OR (started_at_us = $4 AND id < $5))
             ORDER BY started_at_us DESC, id DESC LIMIT $6"
        );
        let (before_at, before_id) = filter.before.clone().map_or((None, None), |(at, id)| (Some(at), Some(id)));
        with_read!(self, pool => {
            let rows = sqlx::query(AssertSqlSafe(sql))
                .bind(&filter.status).bind(&filter.campaign_id).bind(&filter.category)
                .bind(before_at).bind(before_id).bind(filter.limit.clamp(1, 1000))
                .fetch_all(pool)
                .await?;
            traceback_records!(rows)
        })
    }

    /// Counts per status, for one campaign or all.
    pub async fn count_tracebacks_by_status(&self, campaign_id: Option<&str>) -> Result<Vec<(String, i64)>> {
        Ok(with_read!(self, pool => {
            let rows = sqlx::query(
                "SELECT status, COUNT(*) AS n FROM tracebacks WHERE ($1 IS NULL OR campaign_id = $1)
                 GROUP BY status ORDER BY status",
            )
            .bind(campaign_id)
            .fetch_all(pool)
            .await?;
            rows.into_iter().map(|r| Ok::<_, sqlx::Error>((r.try_get(0)?, r.try_get(1)?))).collect::<std::result::Result<Vec<_>, _>>()
        })?)
    }

    /// A provider's hops, oldest first: its open requests with their deadlines, or its history.
    pub async fn list_hops(&self, filter: &HopFilter) -> Result<Vec<HopRecord>> {
        let sql = format!(
            "SELECT {HOP_COLUMNS} FROM hops
             WHERE provider_id = $1
               AND ($2 = FALSE OR state IN ('open', 'acknowledged'))
               AND ($3 IS NULL OR state = $3)
               AND ($4 IS NULL OR respond_by_us <= $4)
               AND ($5 IS NULL OR opened_at_us > $5
                    OR (opened_at_us = $5 AND (traceback_id > $6 OR (traceback_id = $6 AND COALESCE(reference, '') > $7))))
             ORDER BY opened_at_us, traceback_id, COALESCE(reference, '') LIMIT $8"
        );
        let (after_at, after_id, after_hop) =
            filter.after.clone().map_or((None, None, None), |(a, b, c)| (Some(a), Some(b), Some(c)));
        with_read!(self, pool => {
            let rows = sqlx::query(AssertSqlSafe(sql))
                .bind(&filter.provider_id).bind(filter.waiting_only).bind(&filter.state)
                .bind(filter.due_before.map(micros)).bind(after_at).bind(after_id).bind(after_hop)
                .bind(filter.limit.clamp(1, 1000))
                .fetch_all(pool)
                .await?;
            hop_records!(rows)
        })
    }

    /// Every hop of one traceback, in order.
    pub async fn hops_of(&self, traceback_id: &str) -> Result<Vec<HopRecord>> {
        let sql = format!("SELECT {HOP_COLUMNS} FROM hops WHERE traceback_id = $1 ORDER BY hop");
        with_read!(self, pool => {
            let rows = sqlx::query(AssertSqlSafe(sql)).bind(traceback_id).fetch_all(pool).await?;
            hop_records!(rows)
        })
    }
}
