//! Versions of an incident's recording. Once a traceback uses an incident, its recording is
//! evidence the traceback refers to by key and digest: a corrected recording becomes the
//! incident's current one, and the one it replaced is kept here, never deleted.

use jiff::Timestamp;
use sqlx::Row;

use crate::incidents::RecordingRecord;
use crate::{Result, Store, Tx, from_micros, micros, with_read, with_tx};

/// An earlier recording of an incident, kept when a correction replaced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingVersion {
    /// 1 for the first recording replaced, and so on.
    pub version: i64,
    pub recording: RecordingRecord,
    pub replaced_at: Timestamp,
}

impl Tx {
    /// Records that `traceback` uses the incident; the first traceback to use it is kept.
    pub async fn mark_incident_used(&mut self, incident: &str, traceback: &str) -> Result<()> {
        with_tx!(self, conn => {
            sqlx::query("UPDATE incidents SET used_by_traceback = COALESCE(used_by_traceback, $2) WHERE id = $1")
                .bind(incident).bind(traceback)
                .execute(conn)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// The traceback that first used the incident, if one did.
    pub async fn incident_used_by(&mut self, incident: &str) -> Result<Option<String>> {
        let used: Option<Option<String>> = with_tx!(self, conn => {
            sqlx::query_scalar("SELECT used_by_traceback FROM incidents WHERE id = $1")
                .bind(incident)
                .fetch_optional(conn)
                .await
        })?;
        Ok(used.flatten())
    }

    /// Keeps `recording` as the incident's next earlier version; returns its version number.
    pub async fn keep_recording_version(
        &mut self,
        incident: &str,
        recording: &RecordingRecord,
        now: Timestamp,
    ) -> Result<i64> {
        let version: i64 = with_tx!(self, conn => {
            sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) + 1 FROM incident_recording_versions WHERE incident_id = $1")
                .bind(incident)
                .fetch_one(conn)
                .await
        })?;
        with_tx!(self, conn => {
            sqlx::query(
                "INSERT INTO incident_recording_versions (incident_id, version, recording_key, recording_type,
                     recording_sha256, recording_size, replaced_at_us) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(incident).bind(version).bind(&recording.key).bind(&recording.content_type)
            .bind(&recording.sha256).bind(recording.size).bind(micros(now))
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(version)
    }
}

impl Store {
    /// The earlier recordings of an incident, oldest first.
    pub async fn recording_versions(&self, incident: &str) -> Result<Vec<RecordingVersion>> {
        let rows = with_read!(self, pool => {
            let rows = sqlx::query(
                "SELECT version, recording_key, recording_type, recording_sha256, recording_size, replaced_at_us
                 FROM incident_recording_versions WHERE incident_id = $1 ORDER BY version",
            )
            .bind(incident)
            .fetch_all(pool)
            .await?;
            rows.into_iter()
                .map(|row| Ok::<_, sqlx::Error>((
                    row.try_get::<i64, _>(0)?,
                    row.try_get::<String, _>(1)?,
                    row.try_get::<String, _>(2)?,
                    row.try_get::<String, _>(3)?,
                    row.try_get::<i64, _>(4)?,
                    row.try_get::<i64, _>(5)?,
                )))
                .collect::<std::result::Result<Vec<_>, _>>()
        })?;
        rows.into_iter()
            .map(|(version, key, content_type, sha256, size, replaced)| {
                Ok(RecordingVersion {
                    version,
                    recording: RecordingRecord { key, content_type, sha256, size, purged_at: None },
                    replaced_at: from_micros(replaced)?,
                })
            })
            .collect()
    }
}
