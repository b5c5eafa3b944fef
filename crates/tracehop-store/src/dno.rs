//! The Do Not Originate registry (SPEC §12): entries with their numbers (DNO-2) and the
//! published versions, each a signed full snapshot and a signed delta against the version
//! before (DNO-5).

use jiff::Timestamp;
use sqlx::Row;

use crate::{Result, Store, StoreError, Tx, from_micros, is_unique_violation, micros, with_read, with_tx};

/// A registry entry: one recipient's numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnoEntryRecord {
    pub id: String,
    pub recipient_name: String,
    /// Ten-digit NANP numbers, ascending.
    pub numbers: Vec<i64>,
    /// YYYY-MM-DD.
    pub authorised_on: String,
    pub government_issued: bool,
    pub volume: i64,
    /// `active` or `removal`.
    pub status: String,
    /// JSON array of `{member, implemented_on}`.
    pub implementations: String,
    pub last_confirmed_on: Option<String>,
    pub created_by: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A listed number as distribution needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListedNumber {
    pub number: i64,
    pub government_issued: bool,
    pub volume: i64,
}

/// A published version's description (the files are read separately).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnoVersionRecord {
    pub version: i64,
    pub published_at: Timestamp,
    pub published_by: String,
    pub numbers: i64,
    pub added: i64,
    pub removed: i64,
}

/// A version with its signed files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnoVersionFiles {
    pub record: DnoVersionRecord,
    pub snapshot_csv: Vec<u8>,
    pub snapshot_bin: Vec<u8>,
    pub delta_csv: Option<Vec<u8>>,
    pub delta_bin: Option<Vec<u8>>,
}

const ENTRY_COLUMNS: &str = "id, recipient_name, authorised_on, government_issued, volume, status, implementations, \
     last_confirmed_on, created_by, created_at_us, updated_at_us";

macro_rules! entry_from_row {
    ($row:expr, $numbers:expr) => {
        (|| -> Result<DnoEntryRecord> {
            let row = $row;
            Ok(DnoEntryRecord {
                id: row.try_get("id")?,
                recipient_name: row.try_get("recipient_name")?,
                numbers: $numbers,
                authorised_on: row.try_get("authorised_on")?,
                government_issued: row.try_get("government_issued")?,
                volume: row.try_get("volume")?,
                status: row.try_get("status")?,
                implementations: row.try_get("implementations")?,
                last_confirmed_on: row.try_get("last_confirmed_on")?,
                created_by: row.try_get("created_by")?,
                created_at: from_micros(row.try_get("created_at_us")?)?,
                updated_at: from_micros(row.try_get("updated_at_us")?)?,
            })
        })()
    };
}

impl Tx {
    /// Inserts an entry and its numbers; a number already in another entry is a conflict.
    pub async fn insert_dno_entry(&mut self, entry: &DnoEntryRecord) -> Result<()> {
        let sql =
            format!("INSERT INTO dno_entries ({ENTRY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)");
        with_tx!(self, conn => {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(&entry.id)
                .bind(&entry.recipient_name)
                .bind(&entry.authorised_on)
                .bind(entry.government_issued)
                .bind(entry.volume)
                .bind(&entry.status)
                .bind(&entry.implementations)
                .bind(&entry.last_confirmed_on)
                .bind(&entry.created_by)
                .bind(micros(entry.created_at))
                .bind(micros(entry.updated_at))
                .execute(conn)
                .await
                .map(|r| r.rows_affected())
        })?;
        self.insert_dno_numbers(&entry.id, &entry.numbers).await
    }

    async fn insert_dno_numbers(&mut self, id: &str, numbers: &[i64]) -> Result<()> {
        for &number in numbers {
            let result = with_tx!(self, conn => {
                sqlx::query("INSERT INTO dno_entry_numbers (number, entry_id) VALUES ($1, $2)")
                    .bind(number)
                    .bind(id)
                    .execute(conn)
                    .await
                    .map(|r| r.rows_affected())
            });
            match result {
                Ok(_) => {}
                Err(error) if is_unique_violation(&error) => {
                    return Err(StoreError::Conflict(format!("number {number} is in another entry")));
                }
                Err(error) => return Err(error.into()),
            }
        }
        Ok(())
    }

    /// Replaces an entry's fields and numbers.
    pub async fn update_dno_entry(&mut self, entry: &DnoEntryRecord) -> Result<()> {
        let updated = with_tx!(self, conn => {
            sqlx::query(
                "UPDATE dno_entries SET recipient_name = $2, authorised_on = $3, government_issued = $4, volume = $5, \
                 status = $6, implementations = $7, last_confirmed_on = $8, updated_at_us = $9 WHERE id = $1",
            )
            .bind(&entry.id)
            .bind(&entry.recipient_name)
            .bind(&entry.authorised_on)
            .bind(entry.government_issued)
            .bind(entry.volume)
            .bind(&entry.status)
            .bind(&entry.implementations)
            .bind(&entry.last_confirmed_on)
            .bind(micros(entry.updated_at))
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
        })?;
        if updated == 0 {
            return Err(StoreError::NotFound(format!("DNO entry {}", entry.id)));
        }
        with_tx!(self, conn => {
            sqlx::query("DELETE FROM dno_entry_numbers WHERE entry_id = $1").bind(&entry.id).execute(conn).await.map(|r| r.rows_affected())
        })?;
        self.insert_dno_numbers(&entry.id, &entry.numbers).await
    }

    /// The latest published version number (0 before the first), read inside the writing
    /// transaction so two publications cannot take the same number.
    pub async fn latest_dno_version_number(&mut self) -> Result<i64> {
        let latest = with_tx!(self, conn => {
            sqlx::query_scalar::<_, Option<i64>>("SELECT MAX(version) FROM dno_versions").fetch_one(conn).await
        })?;
        Ok(latest.unwrap_or(0))
    }

    /// Records a published version; its number must be free.
    pub async fn insert_dno_version(&mut self, files: &DnoVersionFiles) -> Result<()> {
        let r = &files.record;
        let result = with_tx!(self, conn => {
            sqlx::query(
                "INSERT INTO dno_versions (version, published_at_us, published_by, numbers, added, removed, \
                 snapshot_csv, snapshot_bin, delta_csv, delta_bin) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(r.version)
            .bind(micros(r.published_at))
            .bind(&r.published_by)
            .bind(r.numbers)
            .bind(r.added)
            .bind(r.removed)
            .bind(&files.snapshot_csv)
            .bind(&files.snapshot_bin)
            .bind(&files.delta_csv)
            .bind(&files.delta_bin)
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
        });
        match result {
            Ok(_) => Ok(()),
            Err(error) if is_unique_violation(&error) => {
                Err(StoreError::Conflict(format!("DNO version {}", r.version)))
            }
            Err(error) => Err(error.into()),
        }
    }
}

impl Store {
    async fn dno_numbers_of(&self, id: &str) -> Result<Vec<i64>> {
        with_read!(self, pool => {
            sqlx::query_scalar::<_, i64>("SELECT number FROM dno_entry_numbers WHERE entry_id = $1 ORDER BY number")
                .bind(id)
                .fetch_all(pool)
                .await
        })
        .map_err(Into::into)
    }

    pub async fn dno_entry(&self, id: &str) -> Result<Option<DnoEntryRecord>> {
        let sql = format!("SELECT {ENTRY_COLUMNS} FROM dno_entries WHERE id = $1");
        let numbers = self.dno_numbers_of(id).await?;
        with_read!(self, pool => {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await?;
            row.map(|row| entry_from_row!(&row, numbers)).transpose()
        })
    }

    /// Every entry, oldest first.
    pub async fn list_dno_entries(&self) -> Result<Vec<DnoEntryRecord>> {
        let sql = format!("SELECT {ENTRY_COLUMNS} FROM dno_entries ORDER BY created_at_us, id");
        let numbers: Vec<(String, i64)> = with_read!(self, pool => {
            sqlx::query_as::<_, (String, i64)>("SELECT entry_id, number FROM dno_entry_numbers ORDER BY entry_id, number")
                .fetch_all(pool)
                .await
        })?;
        let mut by_entry: std::collections::HashMap<String, Vec<i64>> = std::collections::HashMap::new();
        for (id, number) in numbers {
            by_entry.entry(id).or_default().push(number);
        }
        with_read!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await?;
            rows.iter()
                .map(|row| {
                    let id: String = row.try_get("id")?;
                    entry_from_row!(row, by_entry.remove(&id).unwrap_or_default())
                })
                .collect::<Result<Vec<_>>>()
        })
    }

    /// The numbers of active entries: what the next version lists.
    pub async fn dno_listing(&self) -> Result<Vec<ListedNumber>> {
        let rows: Vec<(i64, bool, i64)> = with_read!(self, pool => {
            sqlx::query_as::<_, (i64, bool, i64)>(
                "SELECT n.number, e.government_issued, e.volume FROM dno_entry_numbers n \
                 JOIN dno_entries e ON e.id = n.entry_id WHERE e.status = 'active' ORDER BY n.number",
            )
            .fetch_all(pool)
            .await
        })?;
        Ok(rows
            .into_iter()
            .map(|(number, government_issued, volume)| ListedNumber { number, government_issued, volume })
            .collect())
    }

    /// Published versions, newest first.
    pub async fn list_dno_versions(&self) -> Result<Vec<DnoVersionRecord>> {
        let rows: Vec<(i64, i64, String, i64, i64, i64)> = with_read!(self, pool => {
            sqlx::query_as::<_, (i64, i64, String, i64, i64, i64)>(
                "SELECT version, published_at_us, published_by, numbers, added, removed FROM dno_versions ORDER BY version DESC",
            )
            .fetch_all(pool)
            .await
        })?;
        rows.into_iter()
            .map(|(version, at, published_by, numbers, added, removed)| {
                Ok(DnoVersionRecord { version, published_at: from_micros(at)?, published_by, numbers, added, removed })
            })
            .collect()
    }

    /// A version with its files; `None` for the latest when nothing is published.
    pub async fn dno_version_files(&self, version: Option<i64>) -> Result<Option<DnoVersionFiles>> {
        type Row = (i64, i64, String, i64, i64, i64, Vec<u8>, Vec<u8>, Option<Vec<u8>>, Option<Vec<u8>>);
        let columns = "version, published_at_us, published_by, numbers, added, removed, snapshot_csv, snapshot_bin, delta_csv, delta_bin";
        let row: Option<Row> = with_read!(self, pool => {
            match version {
                Some(v) => {
                    sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(format!("SELECT {columns} FROM dno_versions WHERE version = $1")))
                        .bind(v)
                        .fetch_optional(pool)
                        .await
                }
                None => {
                    sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(format!(
                        "SELECT {columns} FROM dno_versions ORDER BY version DESC LIMIT 1"
                    )))
                    .fetch_optional(pool)
                    .await
                }
            }
        })?;
        row.map(
            |(version, at, published_by, numbers, added, removed, snapshot_csv, snapshot_bin, delta_csv, delta_bin)| {
                Ok(DnoVersionFiles {
                    record: DnoVersionRecord {
                        version,
                        published_at: from_micros(at)?,
                        published_by,
                        numbers,
                        added,
                        removed,
                    },
                    snapshot_csv,
                    snapshot_bin,
                    delta_csv,
                    delta_bin,
                })
            },
        )
        .transpose()
    }
}
