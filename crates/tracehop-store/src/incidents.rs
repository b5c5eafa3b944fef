//! Incident data (INC-1): what a submitter saw of one call, idempotent by (submitter, external
//! id) — inserting a row whose key exists changes nothing and counts as a duplicate (INC-2).
//!
//! Bulk inserts run in the caller's transaction, so a batch is committed whole or not at all. On
//! PostgreSQL a batch is first tried with `COPY … FROM STDIN` straight into the table inside a
//! savepoint (the common case: new rows); if any row's key exists the savepoint is rolled back and
//! the batch goes again as one `INSERT … SELECT FROM unnest(…) ON CONFLICT DO NOTHING` with each
//! column bound as an array. On SQLite a batch is multi-row `INSERT … ON CONFLICT DO NOTHING`
//! statements. Recording metadata (INC-3) lives on the incident row; the bytes are in an object
//! store.

use jiff::Timestamp;
use sqlx::{AssertSqlSafe, Row};

use crate::write::{Arg, Statement};
use crate::{
    Engine, Result, Store, StoreError, Tx, TxInner, from_micros, is_unique_violation, micros, with_read, with_tx,
};

/// One incident as stored, without its recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentRow {
    pub id: String,
    pub submitter_id: String,
    /// The submitter's own identifier of the incident: with `submitter_id`, the idempotency key.
    pub external_id: String,
    /// As presented.
    pub calling_raw: String,
    pub calling_e164: Option<String>,
    pub called_raw: String,
    pub called_e164: Option<String>,
    pub call_time: Timestamp,
    /// The local time as given (`2026-03-01T13:22:05`), with its IANA zone.
    pub local_time: Option<String>,
    pub local_zone: Option<String>,
    pub originating_ip: Option<String>,
    pub called_ip: Option<String>,
    pub originating_point_code: Option<String>,
    pub called_point_code: Option<String>,
    pub sip_call_id: Option<String>,
    /// A JSON array of strings.
    pub sip_anomalies: Option<String>,
    /// The raw STIR/SHAKEN `Identity` header.
    pub identity_header: Option<String>,
    /// JSON: the best-effort parse of the header's PASSporT.
    pub identity_parsed: Option<String>,
    pub call_volume: Option<i64>,
    /// JSON: an object of CDR fields, or a string.
    pub cdr: Option<String>,
    pub transcript: Option<String>,
    pub basis: Option<String>,
    pub campaign_id: Option<String>,
    pub created_at: Timestamp,
}

/// Where an incident's recording is and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingRecord {
    /// The object's key in the recording store.
    pub key: String,
    pub content_type: String,
    /// Hex SHA-256 of the bytes.
    pub sha256: String,
    pub size: i64,
    /// When the object was deleted under the retention policy; hash and size stay.
    pub purged_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentRecord {
    pub row: IncidentRow,
    pub recording: Option<RecordingRecord>,
}

/// Which incidents a staff list shows, newest first.
#[derive(Debug, Clone, Default)]
pub struct IncidentFilter {
    pub submitter_id: Option<String>,
    pub campaign_id: Option<String>,
    pub external_id: Option<String>,
    /// Incidents whose calling or called number has this E.164 form.
    pub number_e164: Option<String>,
    /// Incidents whose calling or called number was presented exactly so.
    pub number_raw: Option<String>,
    /// Calls at or after this time.
    pub since: Option<Timestamp>,
    /// Calls before this time.
    pub until: Option<Timestamp>,
    /// Keyset cursor: the id of the last row of the previous page.
    pub before_id: Option<String>,
    pub limit: i64,
}

/// The columns an insert writes, in the order of [`row_args`].
const INSERT_COLUMNS: &str = "id, submitter_id, external_id, calling_raw, calling_e164, called_raw, called_e164, \
     call_time_us, local_time, local_zone, originating_ip, called_ip, originating_point_code, called_point_code, \
     sip_call_id, sip_anomalies, identity_header, identity_parsed, call_volume, cdr, transcript, basis, campaign_id, \
     created_at_us";

const SELECT_COLUMNS: &str = "id, submitter_id, external_id, calling_raw, calling_e164, called_raw, called_e164, \
     call_time_us, local_time, local_zone, originating_ip, called_ip, originating_point_code, called_point_code, \
     sip_call_id, sip_anomalies, identity_header, identity_parsed, call_volume, cdr, transcript, basis, campaign_id, \
     created_at_us, recording_key, recording_type, recording_sha256, recording_size, recording_purged_at_us";

/// Rows per `INSERT` statement: 24 parameters each stays under SQLite's 32,766 and PostgreSQL's
/// 65,535 parameters a statement.
const ROWS_PER_STATEMENT: usize = 1000;

/// Below this many rows a PostgreSQL batch is a plain `INSERT`; above, `COPY` pays off.
const COPY_FROM_ROWS: usize = 64;

macro_rules! incident_records {
    ($rows:expr) => {
        $rows
            .into_iter()
            .map(|row| -> Result<IncidentRecord> {
                let sha256: Option<String> = row.try_get("recording_sha256")?;
                let recording = match sha256 {
                    Some(sha256) => Some(RecordingRecord {
                        key: row.try_get::<Option<String>, _>("recording_key")?.unwrap_or_default(),
                        content_type: row.try_get::<Option<String>, _>("recording_type")?.unwrap_or_default(),
                        sha256,
                        size: row.try_get::<Option<i64>, _>("recording_size")?.unwrap_or_default(),
                        purged_at: row
                            .try_get::<Option<i64>, _>("recording_purged_at_us")?
                            .map(from_micros)
                            .transpose()?,
                    }),
                    None => None,
                };
                Ok(IncidentRecord {
                    row: IncidentRow {
                        id: row.try_get("id")?,
                        submitter_id: row.try_get("submitter_id")?,
                        external_id: row.try_get("external_id")?,
                        calling_raw: row.try_get("calling_raw")?,
                        calling_e164: row.try_get("calling_e164")?,
                        called_raw: row.try_get("called_raw")?,
                        called_e164: row.try_get("called_e164")?,
                        call_time: from_micros(row.try_get("call_time_us")?)?,
                        local_time: row.try_get("local_time")?,
                        local_zone: row.try_get("local_zone")?,
                        originating_ip: row.try_get("originating_ip")?,
                        called_ip: row.try_get("called_ip")?,
                        originating_point_code: row.try_get("originating_point_code")?,
                        called_point_code: row.try_get("called_point_code")?,
                        sip_call_id: row.try_get("sip_call_id")?,
                        sip_anomalies: row.try_get("sip_anomalies")?,
                        identity_header: row.try_get("identity_header")?,
                        identity_parsed: row.try_get("identity_parsed")?,
                        call_volume: row.try_get("call_volume")?,
                        cdr: row.try_get("cdr")?,
                        transcript: row.try_get("transcript")?,
                        basis: row.try_get("basis")?,
                        campaign_id: row.try_get("campaign_id")?,
                        created_at: from_micros(row.try_get("created_at_us")?)?,
                    },
                    recording,
                })
            })
            .collect::<Result<Vec<_>>>()
    };
}

/// The values of a row in [`INSERT_COLUMNS`] order.
fn row_args(row: &IncidentRow) -> Vec<Arg> {
    vec![
        Arg::Text(Some(row.id.clone())),
        Arg::Text(Some(row.submitter_id.clone())),
        Arg::Text(Some(row.external_id.clone())),
        Arg::Text(Some(row.calling_raw.clone())),
        Arg::Text(row.calling_e164.clone()),
        Arg::Text(Some(row.called_raw.clone())),
        Arg::Text(row.called_e164.clone()),
        Arg::Int(Some(micros(row.call_time))),
        Arg::Text(row.local_time.clone()),
        Arg::Text(row.local_zone.clone()),
        Arg::Text(row.originating_ip.clone()),
        Arg::Text(row.called_ip.clone()),
        Arg::Text(row.originating_point_code.clone()),
        Arg::Text(row.called_point_code.clone()),
        Arg::Text(row.sip_call_id.clone()),
        Arg::Text(row.sip_anomalies.clone()),
        Arg::Text(row.identity_header.clone()),
        Arg::Text(row.identity_parsed.clone()),
        Arg::Int(row.call_volume),
        Arg::Text(row.cdr.clone()),
        Arg::Text(row.transcript.clone()),
        Arg::Text(row.basis.clone()),
        Arg::Text(row.campaign_id.clone()),
        Arg::Int(Some(micros(row.created_at))),
    ]
}

/// PostgreSQL broke a deadlock by aborting this transaction: trying again may succeed.
fn is_deadlock(error: &StoreError) -> bool {
    matches!(error, StoreError::Database(message) if message.contains("40P01") || message.contains("deadlock detected"))
}

/// Runs a statement, moving its values into the query rather than copying them.
async fn execute_owned(tx: &mut Tx, statement: Statement) -> Result<u64, sqlx::Error> {
    let Statement { sql, args } = statement;
    with_tx!(tx, conn => {
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for arg in args {
            query = match arg {
                Arg::Int(value) => query.bind(value),
                Arg::Text(value) => query.bind(value),
                Arg::Bool(value) => query.bind(value),
            };
        }
        query.execute(conn).await.map(|r| r.rows_affected())
    })
}

/// `$1, $2, …` (each once, in order) as `?, ?, …`. SQLite looks a named parameter up by a linear
/// search of all the statement's names, which makes binding thousands of `$n` quadratic;
/// anonymous parameters bind in order.
fn anonymous_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            while chars.peek().is_some_and(char::is_ascii_digit) {
                chars.next();
            }
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

/// PostgreSQL: one `INSERT … SELECT FROM unnest(…) ON CONFLICT DO NOTHING` whatever the number
/// of rows, each column bound as one array.
async fn unnest_incidents(conn: &mut sqlx::PgConnection, rows: &[IncidentRow]) -> Result<u64, sqlx::Error> {
    fn texts(rows: &[IncidentRow], field: impl Fn(&IncidentRow) -> Option<&str>) -> Vec<Option<String>> {
        rows.iter().map(|row| field(row).map(str::to_owned)).collect()
    }
    let sql = format!(
        "INSERT INTO incidents ({INSERT_COLUMNS})
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
             $8::bigint[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[],
             $16::text[], $17::text[], $18::text[], $19::bigint[], $20::text[], $21::text[], $22::text[], $23::text[],
             $24::bigint[])
         ON CONFLICT (submitter_id, external_id) DO NOTHING"
    );
    sqlx::query(AssertSqlSafe(sql))
        .bind(texts(rows, |r| Some(&r.id)))
        .bind(texts(rows, |r| Some(&r.submitter_id)))
        .bind(texts(rows, |r| Some(&r.external_id)))
        .bind(texts(rows, |r| Some(&r.calling_raw)))
        .bind(texts(rows, |r| r.calling_e164.as_deref()))
        .bind(texts(rows, |r| Some(&r.called_raw)))
        .bind(texts(rows, |r| r.called_e164.as_deref()))
        .bind(rows.iter().map(|r| micros(r.call_time)).collect::<Vec<i64>>())
        .bind(texts(rows, |r| r.local_time.as_deref()))
        .bind(texts(rows, |r| r.local_zone.as_deref()))
        .bind(texts(rows, |r| r.originating_ip.as_deref()))
        .bind(texts(rows, |r| r.called_ip.as_deref()))
        .bind(texts(rows, |r| r.originating_point_code.as_deref()))
        .bind(texts(rows, |r| r.called_point_code.as_deref()))
        .bind(texts(rows, |r| r.sip_call_id.as_deref()))
        .bind(texts(rows, |r| r.sip_anomalies.as_deref()))
        .bind(texts(rows, |r| r.identity_header.as_deref()))
        .bind(texts(rows, |r| r.identity_parsed.as_deref()))
        .bind(rows.iter().map(|r| r.call_volume).collect::<Vec<Option<i64>>>())
        .bind(texts(rows, |r| r.cdr.as_deref()))
        .bind(texts(rows, |r| r.transcript.as_deref()))
        .bind(texts(rows, |r| r.basis.as_deref()))
        .bind(texts(rows, |r| r.campaign_id.as_deref()))
        .bind(rows.iter().map(|r| micros(r.created_at)).collect::<Vec<i64>>())
        .execute(conn)
        .await
        .map(|r| r.rows_affected())
}

/// Appends one field in PostgreSQL's `COPY` text format: `\N` for NULL, and backslash, tab,
/// newline and carriage return escaped.
fn push_copy_field(out: &mut Vec<u8>, value: Option<&str>) {
    let Some(value) = value else {
        out.extend_from_slice(b"\\N");
        return;
    };
    let bytes = value.as_bytes();
    let mut start = 0;
    for (index, byte) in bytes.iter().enumerate() {
        let escaped: &[u8] = match byte {
            b'\\' => b"\\\\",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..index]);
        out.extend_from_slice(escaped);
        start = index + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Appends a whole number in `COPY` text format.
fn push_copy_int(out: &mut Vec<u8>, value: Option<i64>) {
    use std::io::Write as _;
    match value {
        Some(value) => {
            // Writing to a Vec cannot fail.
            let _ = write!(out, "{value}");
        }
        None => out.extend_from_slice(b"\\N"),
    }
}

/// The rows as `COPY` text data, in [`INSERT_COLUMNS`] order.
fn copy_data(rows: &[IncidentRow]) -> Vec<u8> {
    fn texts(row: &IncidentRow) -> [Option<&str>; 15] {
        [
            row.local_time.as_deref(),
            row.local_zone.as_deref(),
            row.originating_ip.as_deref(),
            row.called_ip.as_deref(),
            row.originating_point_code.as_deref(),
            row.called_point_code.as_deref(),
            row.sip_call_id.as_deref(),
            row.sip_anomalies.as_deref(),
            row.identity_header.as_deref(),
            row.identity_parsed.as_deref(),
            None,
            row.cdr.as_deref(),
            row.transcript.as_deref(),
            row.basis.as_deref(),
            row.campaign_id.as_deref(),
        ]
    }
    let size: usize = rows
        .iter()
        .map(|row| {
            let fixed = row.id.len() + row.submitter_id.len() + row.external_id.len() + row.calling_raw.len();
            let more: usize = texts(row).iter().map(|t| t.map_or(2, str::len)).sum();
            fixed + row.called_raw.len() + more + 128
        })
        .sum();
    let mut out = Vec::with_capacity(size + size / 16);
    for row in rows {
        for text in [&row.id, &row.submitter_id, &row.external_id, &row.calling_raw] {
            push_copy_field(&mut out, Some(text));
            out.push(b'\t');
        }
        push_copy_field(&mut out, row.calling_e164.as_deref());
        out.push(b'\t');
        push_copy_field(&mut out, Some(&row.called_raw));
        out.push(b'\t');
        push_copy_field(&mut out, row.called_e164.as_deref());
        out.push(b'\t');
        push_copy_int(&mut out, Some(micros(row.call_time)));
        for (index, text) in texts(row).into_iter().enumerate() {
            out.push(b'\t');
            // The eleventh of these columns is `call_volume`, a number.
            if index == 10 {
                push_copy_int(&mut out, row.call_volume);
            } else {
                push_copy_field(&mut out, text);
            }
        }
        out.push(b'\t');
        push_copy_int(&mut out, Some(micros(row.created_at)));
        out.push(b'\n');
    }
    out
}

impl Tx {
    /// Inserts the rows, skipping any whose (submitter, external id) exists — in the table or
    /// earlier in `rows`. Returns how many were inserted; the rest are duplicates.
    pub async fn insert_incidents(&mut self, rows: &[IncidentRow]) -> Result<u64> {
        if rows.is_empty() {
            return Ok(0);
        }
        if rows.len() >= COPY_FROM_ROWS
            && let Some(inserted) = self.copy_incidents(rows).await?
        {
            return Ok(inserted);
        }
        if let TxInner::Postgres(transaction) = self.inner_mut() {
            return Ok(unnest_incidents(transaction, rows).await?);
        }
        let sqlite = self.engine_kind() == Engine::Sqlite;
        let mut inserted = 0;
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            let mut statement = Statement::default();
            let values: Vec<String> = chunk.iter().map(|row| statement.row(row_args(row))).collect();
            let sql = format!(
                "INSERT INTO incidents ({INSERT_COLUMNS}) VALUES {} ON CONFLICT (submitter_id, external_id) DO NOTHING",
                values.join(", ")
            );
            statement.sql = if sqlite { anonymous_placeholders(&sql) } else { sql };
            inserted += execute_owned(self, statement).await?;
        }
        Ok(inserted)
    }

    /// PostgreSQL in a transaction: `COPY` the rows in a savepoint. `None` when some row's key
    /// exists (nothing is left of the attempt) or the engine has no `COPY`.
    async fn copy_incidents(&mut self, rows: &[IncidentRow]) -> Result<Option<u64>> {
        let TxInner::Postgres(transaction) = self.inner_mut() else { return Ok(None) };
        let conn: &mut sqlx::PgConnection = transaction;
        sqlx::query("SAVEPOINT incidents_copy").execute(&mut *conn).await?;
        let data = copy_data(rows);
        let copied = async {
            let mut copy = conn.copy_in_raw(&format!("COPY incidents ({INSERT_COLUMNS}) FROM STDIN")).await?;
            copy.send(data).await?;
            copy.finish().await
        }
        .await;
        match copied {
            Ok(count) => {
                sqlx::query("RELEASE SAVEPOINT incidents_copy").execute(&mut *conn).await?;
                Ok(Some(count))
            }
            Err(error) if is_unique_violation(&error) => {
                sqlx::query("ROLLBACK TO SAVEPOINT incidents_copy").execute(&mut *conn).await?;
                sqlx::query("RELEASE SAVEPOINT incidents_copy").execute(&mut *conn).await?;
                Ok(None)
            }
            Err(error) => Err(error.into()),
        }
    }

    /// Sets (or, with `None`, clears) an incident's recording; returns the one it replaced.
    pub async fn set_incident_recording(
        &mut self,
        id: &str,
        recording: Option<&RecordingRecord>,
    ) -> Result<Option<RecordingRecord>> {
        let lock = if self.engine_kind() == Engine::Postgres { " FOR UPDATE" } else { "" };
        let sql = format!("SELECT {SELECT_COLUMNS} FROM incidents WHERE id = $1{lock}");
        let previous = with_tx!(self, conn => {
            let rows = sqlx::query(AssertSqlSafe(sql.clone())).bind(id).fetch_all(conn).await?;
            incident_records!(rows)
        })?
        .pop()
        .ok_or_else(|| StoreError::NotFound(format!("incident {id}")))?
        .recording;
        let mut statement = Statement::default();
        statement.sql = format!(
            "UPDATE incidents SET recording_key = {}, recording_type = {}, recording_sha256 = {}, recording_size = {},
                 recording_purged_at_us = {} WHERE id = {}",
            statement.opt_text(recording.map(|r| r.key.clone())),
            statement.opt_text(recording.map(|r| r.content_type.clone())),
            statement.opt_text(recording.map(|r| r.sha256.clone())),
            statement.opt_int(recording.map(|r| r.size)),
            statement.opt_int(recording.and_then(|r| r.purged_at).map(micros)),
            statement.text(id),
        );
        execute_owned(self, statement).await?;
        Ok(previous)
    }
}

impl Store {
    /// Inserts the rows in one transaction; see [`Tx::insert_incidents`]. Several may run at
    /// once: one that PostgreSQL aborts to break a deadlock (two batches inserting the same keys
    /// in opposite orders) is tried again.
    pub async fn insert_incidents(&self, rows: &[IncidentRow]) -> Result<u64> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = async {
                let mut tx = self.begin().await?;
                let inserted = tx.insert_incidents(rows).await?;
                tx.commit().await?;
                Ok(inserted)
            }
            .await;
            match result {
                Err(error) if attempt < 3 && is_deadlock(&error) => {
                    tracing::warn!(%error, attempt, "an incident batch was aborted by a deadlock; trying again");
                }
                other => return other,
            }
        }
    }

    pub async fn incident(&self, id: &str) -> Result<Option<IncidentRecord>> {
        let sql = format!("SELECT {SELECT_COLUMNS} FROM incidents WHERE id = $1");
        let mut found = with_read!(self, pool => {
            let rows = sqlx::query(AssertSqlSafe(sql)).bind(id).fetch_all(pool).await?;
            incident_records!(rows)
        })?;
        Ok(found.pop())
    }

    pub async fn incident_by_external_id(
        &self,
        submitter_id: &str,
        external_id: &str,
    ) -> Result<Option<IncidentRecord>> {
        let sql = format!("SELECT {SELECT_COLUMNS} FROM incidents WHERE submitter_id = $1 AND external_id = $2");
        let mut found = with_read!(self, pool => {
            let rows = sqlx::query(AssertSqlSafe(sql)).bind(submitter_id).bind(external_id).fetch_all(pool).await?;
            incident_records!(rows)
        })?;
        Ok(found.pop())
    }

    /// Incidents, newest first (ids grow with time), by keyset.
    pub async fn list_incidents(&self, filter: &IncidentFilter) -> Result<Vec<IncidentRecord>> {
        let sql = format!(
            "SELECT {SELECT_COLUMNS} FROM incidents
             WHERE ($1 IS NULL OR submitter_id = $1) AND ($2 IS NULL OR campaign_id = $2)
               AND ($3 IS NULL OR external_id = $3)
               AND ($4 IS NULL OR calling_e164 = $4 OR called_e164 = $4)
               AND ($5 IS NULL OR calling_raw = $5 OR called_raw = $5)
               AND ($6 IS NULL OR call_time_us >= $6) AND ($7 IS NULL OR call_time_us < $7)
               AND ($8 IS NULL OR id < $8)
             ORDER BY id DESC LIMIT $9"
        );
        with_read!(self, pool => {
            let rows = sqlx::query(AssertSqlSafe(sql))
                .bind(&filter.submitter_id).bind(&filter.campaign_id).bind(&filter.external_id)
                .bind(&filter.number_e164).bind(&filter.number_raw)
                .bind(filter.since.map(micros)).bind(filter.until.map(micros))
                .bind(&filter.before_id).bind(filter.limit.clamp(1, 1000))
                .fetch_all(pool)
                .await?;
            incident_records!(rows)
        })
    }

    /// How many incidents a submitter has (all submitters' with `None`).
    pub async fn count_incidents(&self, submitter_id: Option<&str>) -> Result<i64> {
        Ok(with_read!(self, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM incidents WHERE ($1 IS NULL OR submitter_id = $1)")
                .bind(submitter_id)
                .fetch_one(pool)
                .await
        })?)
    }

    /// Sets an incident's recording in its own transaction; returns the one it replaced.
    pub async fn set_incident_recording(
        &self,
        id: &str,
        recording: Option<&RecordingRecord>,
    ) -> Result<Option<RecordingRecord>> {
        let mut tx = self.begin().await?;
        let previous = tx.set_incident_recording(id, recording).await?;
        tx.commit().await?;
        Ok(previous)
    }

    /// PostgreSQL `COPY … FROM STDIN` of `source` (an operator's tool, e.g. the ingest benchmark's
    /// baseline; never with a statement built from a request). Returns the rows copied.
    pub async fn copy_in_admin(
        &self,
        statement: &str,
        source: impl tokio::io::AsyncRead + Unpin + Send,
    ) -> Result<u64> {
        let mut tx = self.connection().await?;
        let TxInner::PostgresConnection(connection) = tx.inner_mut() else {
            return Err(StoreError::Database("COPY is for PostgreSQL".into()));
        };
        let mut copy = connection.copy_in_raw(statement).await?;
        copy.read_from(source).await?;
        Ok(copy.finish().await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_placeholders_become_anonymous() {
        assert_eq!(anonymous_placeholders("VALUES ($1, $2), ($3, $10) -- $x"), "VALUES (?, ?), (?, ?) -- $x");
    }

    #[test]
    fn copy_fields_escape_what_the_text_format_reserves() {
        let mut out = Vec::new();
        push_copy_field(&mut out, Some("a\\b\tc\nd\re — ünïcode"));
        out.push(b'|');
        push_copy_field(&mut out, None);
        out.push(b'|');
        push_copy_field(&mut out, Some(""));
        assert_eq!(String::from_utf8(out).unwrap(), "a\\\\b\\tc\\nd\\re — ünïcode|\\N|");
    }
}
