//! The event log: per traceback, an append-only, hash-chained sequence (TB-10).
//!
//! Each event stores `hash = SHA-256(prev_hash ‖ stream ‖ seq ‖ payload)` over the exact payload
//! text stored, so changing any byte of any event, reordering, or removing one from the middle
//! breaks the chain from there on; the read model's head hash and version catch a removed tail.

use jiff::Timestamp;
use sha2::{Digest, Sha256};
use sqlx::{AssertSqlSafe, Row};
use tracehop_core::traceback::Event;

use crate::write::{Statement, insert_events};
use crate::{Result, Store, StoreError, Tx, from_micros, is_unique_violation, micros, with_read, with_tx};

/// The `prev_hash` of a stream's first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Rows per page when walking the whole log.
const PAGE: i64 = 2_000;

#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub stream_id: String,
    pub seq: i64,
    pub event: Event,
    pub prev_hash: String,
    pub hash: String,
    pub recorded_at: Timestamp,
}

/// The chain hash of an event.
pub fn chain_hash(prev_hash: &str, stream_id: &str, seq: i64, payload: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(b"\n");
    hasher.update(stream_id.as_bytes());
    hasher.update(b"\n");
    hasher.update(seq.to_string().as_bytes());
    hasher.update(b"\n");
    hasher.update(payload.as_bytes());
    hex::encode(hasher.finalize())
}

/// The stored form of an event: compact JSON with object keys in sorted order.
pub fn encode(event: &Event) -> Result<String> {
    let value = serde_json::to_value(event)?;
    Ok(serde_json::to_string(&sorted(value))?)
}

fn sorted(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().map(|(k, v)| (k, sorted(v))).collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

struct Row_ {
    stream_id: String,
    seq: i64,
    kind: String,
    at_us: i64,
    payload: String,
    prev_hash: String,
    hash: String,
    recorded_at_us: i64,
}

impl Row_ {
    fn decode(self) -> Result<StoredEvent> {
        let event: Event = serde_json::from_str(&self.payload)
            .map_err(|e| StoreError::Corrupt(format!("event {} #{}: {e}", self.stream_id, self.seq)))?;
        Ok(StoredEvent {
            stream_id: self.stream_id,
            seq: self.seq,
            event,
            prev_hash: self.prev_hash,
            hash: self.hash,
            recorded_at: from_micros(self.recorded_at_us)?,
        })
    }
}

macro_rules! read_rows {
    ($rows:expr) => {
        $rows
            .into_iter()
            .map(|row| {
                Ok::<_, sqlx::Error>(Row_ {
                    stream_id: row.try_get("stream_id")?,
                    seq: row.try_get("seq")?,
                    kind: row.try_get("kind")?,
                    at_us: row.try_get("at_us")?,
                    payload: row.try_get("payload")?,
                    prev_hash: row.try_get("prev_hash")?,
                    hash: row.try_get("hash")?,
                    recorded_at_us: row.try_get("recorded_at_us")?,
                })
            })
            .collect::<std::result::Result<Vec<_>, _>>()
    };
}

const COLUMNS: &str = "stream_id, seq, kind, at_us, payload, prev_hash, hash, recorded_at_us";

impl Tx {
    /// Appends `events` after `version` (the stream's current last seq, 0 when new), chaining
    /// from `head_hash`. Returns the new head hash. Fails with [`StoreError::Conflict`] when
    /// another writer appended first.
    pub async fn append_events(
        &mut self,
        stream_id: &str,
        version: i64,
        head_hash: &str,
        events: &[Event],
        recorded_at: Timestamp,
    ) -> Result<String> {
        if events.is_empty() {
            return Ok(head_hash.to_owned());
        }
        let mut statement = Statement::default();
        let head = insert_events(&mut statement, stream_id, version, head_hash, events, recorded_at)?;
        match self.run(&statement).await {
            Ok(_) => Ok(head),
            Err(error) if is_unique_violation(&error) => Err(StoreError::Conflict(format!("stream {stream_id}"))),
            Err(error) => Err(error.into()),
        }
    }

    pub async fn load_events(&mut self, stream_id: &str) -> Result<Vec<StoredEvent>> {
        let sql = format!("SELECT {COLUMNS} FROM events WHERE stream_id = $1 ORDER BY seq");
        let rows = with_tx!(self, conn => {
            let rows = sqlx::query(AssertSqlSafe(sql)).bind(stream_id).fetch_all(conn).await?;
            read_rows!(rows)
        })?;
        rows.into_iter().map(Row_::decode).collect()
    }
}

impl Store {
    pub async fn load_events(&self, stream_id: &str) -> Result<Vec<StoredEvent>> {
        let sql = format!("SELECT {COLUMNS} FROM events WHERE stream_id = $1 ORDER BY seq");
        let rows = with_read!(self, pool => {
            let rows = sqlx::query(AssertSqlSafe(sql)).bind(stream_id).fetch_all(pool).await?;
            read_rows!(rows)
        })?;
        rows.into_iter().map(Row_::decode).collect()
    }

    /// Walks every chain and checks it against the read model's heads; stops at the first broken
    /// link.
    pub async fn verify_chains(&self) -> Result<ChainReport> {
        let mut report = ChainReport::default();
        let mut after = (String::new(), 0_i64);
        let mut current: Option<(String, i64, String)> = None; // stream, last seq, last hash
        let sql = format!(
            "SELECT {COLUMNS} FROM events WHERE stream_id > $1 OR (stream_id = $1 AND seq > $2)
             ORDER BY stream_id, seq LIMIT $3"
        );
        loop {
            let rows = with_read!(self, pool => {
                let rows = sqlx::query(AssertSqlSafe(sql.clone())).bind(&after.0).bind(after.1).bind(PAGE).fetch_all(pool).await?;
                read_rows!(rows)
            })?;
            let page_len = rows.len();
            for row in rows {
                after = (row.stream_id.clone(), row.seq);
                let (expected_seq, expected_prev) = match &current {
                    Some((stream, seq, hash)) if *stream == row.stream_id => (seq + 1, hash.clone()),
                    Some(_) | None => {
                        if let Some((stream, seq, hash)) = current.take() {
                            report.streams += 1;
                            report.heads.push((stream, seq, hash));
                        }
                        (1, GENESIS.to_owned())
                    }
                };
                let broken = |problem: String| BrokenLink { stream_id: row.stream_id.clone(), seq: row.seq, problem };
                if row.seq != expected_seq {
                    return Ok(report
                        .broken(broken(format!("expected seq {expected_seq}: an event is missing or out of place"))));
                }
                if row.prev_hash != expected_prev {
                    return Ok(report.broken(broken("prev_hash does not match the previous event's hash".into())));
                }
                if chain_hash(&row.prev_hash, &row.stream_id, row.seq, &row.payload) != row.hash {
                    return Ok(report.broken(broken("hash does not match the stored event: it was altered".into())));
                }
                match serde_json::from_str::<Event>(&row.payload) {
                    Ok(event) if event.change.name() == row.kind && micros(event.at) == row.at_us => {}
                    Ok(_) => {
                        return Ok(report.broken(broken("kind or time columns disagree with the payload".into())));
                    }
                    Err(error) => {
                        return Ok(report.broken(broken(format!("payload does not read back: {error}"))));
                    }
                }
                report.events += 1;
                current = Some((row.stream_id, row.seq, row.hash));
            }
            if i64::try_from(page_len).unwrap_or(0) < PAGE {
                break;
            }
        }
        if let Some((stream, seq, hash)) = current {
            report.streams += 1;
            report.heads.push((stream, seq, hash));
        }
        self.check_heads(&mut report).await?;
        Ok(report)
    }

    async fn check_heads(&self, report: &mut ChainReport) -> Result<()> {
        let heads: Vec<(String, i64, String)> = with_read!(self, pool => {
            let rows = sqlx::query("SELECT id, version, head_hash FROM tracebacks ORDER BY id").fetch_all(pool).await?;
            rows.into_iter()
                .map(|r| Ok::<_, sqlx::Error>((r.try_get("id")?, r.try_get("version")?, r.try_get("head_hash")?)))
                .collect::<std::result::Result<Vec<_>, _>>()
        })?;
        for (id, version, head) in heads {
            let chain = report.heads.iter().find(|(stream, _, _)| *stream == id);
            let problem = match chain {
                None => Some("the traceback has no events".to_owned()),
                Some((_, seq, _)) if *seq != version => Some(format!(
                    "the log ends at seq {seq} but the traceback is at version {version}: events were removed or added"
                )),
                Some((_, _, hash)) if *hash != head => {
                    Some("the last event's hash differs from the recorded head".to_owned())
                }
                Some(_) => None,
            };
            if let Some(problem) = problem {
                report.broken = Some(BrokenLink { stream_id: id, seq: version, problem });
                return Ok(());
            }
        }
        Ok(())
    }
}

/// The result of walking the log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChainReport {
    pub streams: u64,
    pub events: u64,
    /// The first broken link, if any.
    pub broken: Option<BrokenLink>,
    heads: Vec<(String, i64, String)>,
}

impl ChainReport {
    fn broken(mut self, link: BrokenLink) -> Self {
        self.broken = Some(link);
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenLink {
    pub stream_id: String,
    pub seq: i64,
    pub problem: String,
}

impl std::fmt::Display for BrokenLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "traceback {} seq {}: {}", self.stream_id, self.seq, self.problem)
    }
}
