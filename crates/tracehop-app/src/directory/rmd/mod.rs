//! Import of the FCC Robocall Mitigation Database export into the provider directory (PRV-4).
//!
//! One filing — one RMD number — is one provider: a row finds its provider by its RMD number
//! only, and is created when it is new. Its main FRN and `other_frns` become identifiers of that
//! provider, but an FRN never leads a row to another provider: when another provider already
//! holds it, the row still goes in, the clash is noted, and the pair becomes a suggested
//! affiliation for staff (PRV-3). A filing's main FRN held only through another filing's
//! `other_frns` moves to the filing it belongs to.
//!
//! Rows are read as they arrive and applied in file order, a batch per transaction. A row whose
//! `last_updated` is older than its filing's stored record (an earlier copy of the same filing)
//! leaves it unchanged, as does a row that says nothing new. A row fails — and is reported with
//! its line number while the others go in — when it has no RMD number, an impossible date, a
//! foreign flag other than Yes, No or blank, or the wrong number of columns; an unterminated
//! quote fails the line it opens on. Bytes that are not UTF-8 are read as Windows-1252, which is
//! what such exports hold. RMD (or, when its flag is blank, the filing's country) is the default
//! source of the foreign flag; a staff override stays.

mod read;
mod row;

use std::fmt;

use jiff::civil::Date;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::io::AsyncBufRead;
use tracehop_core::provider::ProviderId;
use tracehop_store::Tx;
use tracehop_store::affiliations::SuggestionSource;
use tracehop_store::providers::{ContactRole, ForeignSource, IdentifierKind, ProviderInput};

use self::read::{Records, Scanned};
pub use self::row::decode;
use self::row::{Layout, RmdRow, read_row};
use crate::{App, AppError, AppResult};

/// The export's columns, in its order.
pub const COLUMNS: [&str; 22] = [
    "number",
    "frn",
    "business_name",
    "business_address",
    "foreign_voice_provider",
    "country",
    "other_frns",
    "other_dba_names",
    "previous_dba_names",
    "robocall_mitigation_contact_name",
    "contact_title",
    "contact_department",
    "contact_business_address",
    "contact_country",
    "contact_telephone_number",
    "contact_phone_extension",
    "implementation",
    "voice_service_provider_choice",
    "gateway_provider_choice",
    "intermediate_provider_choice",
    "last_updated",
    "filing_url",
];

/// Rows applied per transaction.
const BATCH: usize = 500;

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RmdSummary {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub failed: u64,
    /// Each failed row: its line and why.
    pub errors: Vec<RowError>,
    /// Rows that went in with something left out (an FRN another provider holds).
    pub notes: Vec<RowError>,
}

impl fmt::Display for RmdSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "created {}, updated {}, unchanged {}, failed {}",
            self.created, self.updated, self.unchanged, self.failed
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    /// The line of the file where the row starts.
    pub line: u64,
    pub message: String,
}

/// A row an import reports as it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reported<'a> {
    /// The row failed.
    Failed(&'a RowError),
    /// The row went in, with something left out.
    Note(&'a RowError),
}

/// What applying one row did.
enum Applied {
    Created,
    Updated,
    Unchanged,
}

/// The next batch of read rows, or failures; empty at the end of the input.
async fn next_batch<R: AsyncBufRead + Unpin>(
    records: &mut Records<R>,
    layout: &Layout,
) -> AppResult<Vec<Result<RmdRow, RowError>>> {
    let mut batch = Vec::with_capacity(BATCH);
    while batch.len() < BATCH {
        let scanned = records
            .next()
            .await
            .map_err(|e| AppError::invalid("file", format!("reading the export broke off: {e}")))?;
        match scanned {
            None => break,
            Some(Scanned::Broken { line, message }) => batch.push(Err(RowError { line, message })),
            Some(Scanned::Record { line, fields }) => {
                let fields: Vec<String> = fields.iter().map(|f| row::decode(f)).collect();
                batch.push(read_row(line, &fields, layout).map_err(|message| RowError { line, message }));
            }
        }
    }
    Ok(batch)
}

impl App {
    /// Imports an export held in memory into the directory.
    pub async fn import_rmd(&self, bytes: &[u8]) -> AppResult<RmdSummary> {
        self.import_rmd_from(bytes).await
    }

    /// Imports an export as it is read: at most a batch of rows is held at a time. The summary
    /// lists every failure and note.
    pub async fn import_rmd_from(&self, input: impl AsyncBufRead + Unpin + Send) -> AppResult<RmdSummary> {
        let (mut errors, mut notes) = (Vec::new(), Vec::new());
        let mut summary = self
            .import_rmd_reporting(input, |report| match report {
                Reported::Failed(error) => errors.push(error.clone()),
                Reported::Note(note) => notes.push(note.clone()),
            })
            .await?;
        summary.errors = errors;
        summary.notes = notes;
        Ok(summary)
    }

    /// Imports an export as it is read, handing each failure and note to `report` in line order
    /// instead of keeping them: the summary's lists stay empty, so memory stays flat however
    /// many rows fail.
    pub async fn import_rmd_reporting(
        &self,
        input: impl AsyncBufRead + Unpin + Send,
        mut report: impl FnMut(Reported<'_>),
    ) -> AppResult<RmdSummary> {
        let mut records = Records::new(input);
        let header = match records.next().await {
            Ok(Some(Scanned::Record { fields, .. })) => fields.iter().map(|f| row::decode(f)).collect::<Vec<_>>(),
            Ok(Some(Scanned::Broken { line, message })) => {
                return Err(AppError::invalid("file", format!("line {line}: {message}")));
            }
            Ok(None) => return Err(AppError::invalid("file", "the export is empty: no header line")),
            Err(e) => return Err(AppError::invalid("file", format!("reading the export: {e}"))),
        };
        let layout = Layout::of(&header).map_err(|message| AppError::invalid("file", format!("line 1: {message}")))?;
        records.width = Some(layout.width);
        let mut summary = RmdSummary::default();
        loop {
            let batch = next_batch(&mut records, &layout).await?;
            if batch.is_empty() {
                break;
            }
            let mut tx = self.store().begin().await?;
            for row in batch {
                let row = match row {
                    Ok(row) => row,
                    Err(error) => {
                        summary.failed += 1;
                        report(Reported::Failed(&error));
                        continue;
                    }
                };
                tx.savepoint("rmd_row").await?;
                let mut notes = row.notes.clone();
                match self.apply_rmd_row(&mut tx, &row, &mut notes).await {
                    Ok(applied) => {
                        tx.release_savepoint("rmd_row").await?;
                        match applied {
                            Applied::Created => summary.created += 1,
                            Applied::Updated => summary.updated += 1,
                            Applied::Unchanged => summary.unchanged += 1,
                        }
                        for message in notes {
                            report(Reported::Note(&RowError { line: row.line, message }));
                        }
                    }
                    Err(error) => {
                        tx.rollback_to_savepoint("rmd_row").await?;
                        summary.failed += 1;
                        report(Reported::Failed(&RowError { line: row.line, message: error.to_string() }));
                    }
                }
            }
            tx.commit().await?;
        }
        let mut tx = self.store().begin().await?;
        tx.recompute_entities().await?;
        tx.commit().await?;
        Ok(summary)
    }

    async fn apply_rmd_row(&self, tx: &mut Tx, row: &RmdRow, notes: &mut Vec<String>) -> AppResult<Applied> {
        let now = self.now();
        let derived: String =
            row.rmd.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_lowercase();
        let derived = ProviderId::new(derived).map_err(|e| AppError::invalid("number", e.to_string()))?;
        let mut adopted = false;
        let stored = match tx.provider_by_identifier(IdentifierKind::Rmd, &row.rmd).await? {
            Some(id) => tx.provider(&id).await?,
            // A provider staff made under the id the filing would get, before it was imported.
            None => match tx.provider(&derived).await? {
                Some(record) => {
                    let filed = record.details.pointer("/rmd/number").and_then(Value::as_str);
                    if filed.is_some_and(|number| number != row.rmd) {
                        return Err(AppError::Conflict(format!(
                            "provider {derived} holds RMD filing {}, not {}",
                            filed.unwrap_or_default(),
                            row.rmd
                        )));
                    }
                    tx.add_identifiers(&derived, &[(IdentifierKind::Rmd, row.rmd.clone())]).await?;
                    adopted = true;
                    Some(record)
                }
                None => None,
            },
        };
        let (id, mut applied) = match stored {
            Some(stored) => {
                let before = stored.details.get("rmd").cloned().unwrap_or(Value::Null);
                let stored_date =
                    before.get("last_updated").and_then(Value::as_str).and_then(|d| d.parse::<Date>().ok());
                // An earlier copy of this same filing: the stored record is newer.
                if let (Some(stored_date), Some(row_date)) = (stored_date, row.last_updated)
                    && row_date < stored_date
                {
                    return Ok(Applied::Unchanged);
                }
                let staff_flag = stored.foreign_source == ForeignSource::Staff;
                let same = before == row.record
                    && stored.name == row.name
                    && stored.country == row.country
                    && (staff_flag || (stored.foreign == row.foreign && stored.foreign_source == row.foreign_source));
                if !same {
                    let mut input = ProviderInput::new(stored.id.clone(), row.name.clone(), row.country);
                    input.foreign = Some(if staff_flag {
                        (stored.foreign, ForeignSource::Staff, stored.foreign_override_reason.clone())
                    } else {
                        (row.foreign, row.foreign_source, None)
                    });
                    input.separate_treatment = stored.separate_treatment;
                    input.business_hours = stored.business_hours.clone();
                    input.deemed_receipt = stored.deemed_receipt;
                    input.verified = stored.verified;
                    input.details = stored.details.clone();
                    with_record(&mut input, row);
                    tx.upsert_provider(&input, now).await?;
                }
                (stored.id, if same { Applied::Unchanged } else { Applied::Updated })
            }
            None => {
                let id = derived;
                let mut input = ProviderInput::new(id.clone(), row.name.clone(), row.country);
                input.foreign = Some((row.foreign, row.foreign_source, None));
                with_record(&mut input, row);
                tx.upsert_provider(&input, now).await?;
                tx.add_identifiers(&id, &[(IdentifierKind::Rmd, row.rmd.clone())]).await?;
                (id, Applied::Created)
            }
        };
        let mut wrote = self.file_frns(tx, &id, row, notes).await? || adopted;
        if let Some(contact) = &row.contact
            && !tx.contacts(&id).await?.iter().any(|c| c.role == ContactRole::Primary)
        {
            tx.set_contact(&id, contact, now).await?;
            wrote = true;
        }
        if wrote && matches!(applied, Applied::Unchanged) {
            applied = Applied::Updated;
        }
        Ok(applied)
    }

    /// Records the filing's FRNs as its identifiers. One another provider holds stays with it,
    /// except a main FRN held only through another filing's `other_frns`, which moves here; either
    /// way the pair is suggested as affiliates. Returns whether anything was written.
    async fn file_frns(&self, tx: &mut Tx, id: &ProviderId, row: &RmdRow, notes: &mut Vec<String>) -> AppResult<bool> {
        let mut wrote = false;
        for frn in &row.frns {
            let holder = tx.provider_by_identifier(IdentifierKind::Frn, frn).await?;
            let Some(holder) = holder else {
                tx.add_identifiers(id, &[(IdentifierKind::Frn, frn.clone())]).await?;
                wrote = true;
                continue;
            };
            if &holder == id {
                continue;
            }
            let main = row.main_frn.as_ref() == Some(frn);
            let lent = main && tx.provider(&holder).await?.is_some_and(|h| lists_as_other(&h.details, frn));
            if lent {
                tx.move_identifier(IdentifierKind::Frn, frn, id).await?;
                wrote = true;
                notes.push(format!(
                    "FRN {frn} is this filing's own; moved from provider {holder}, which names it among its other FRNs"
                ));
            } else {
                notes.push(format!("FRN {frn} is also filed by provider {holder}, which keeps it"));
            }
            let source = SuggestionSource { frn, rmd: &row.rmd, line: row.line };
            tx.suggest_affiliation(&holder, id, &source, self.now()).await?;
        }
        Ok(wrote)
    }
}

/// Whether a provider's RMD filing names `frn` among its other FRNs, not as its own.
fn lists_as_other(details: &Value, frn: &str) -> bool {
    let rmd = details.get("rmd");
    let own = rmd.and_then(|r| r.get("frn")).and_then(Value::as_str) == Some(frn);
    let others = rmd.and_then(|r| r.get("other_frns")).and_then(Value::as_array);
    !own && others.is_some_and(|list| list.iter().any(|f| f.as_str() == Some(frn)))
}

/// Puts the filing under `details.rmd`.
fn with_record(input: &mut ProviderInput, row: &RmdRow) {
    if !input.details.is_object() {
        input.details = json!({});
    }
    if let Some(details) = input.details.as_object_mut() {
        details.insert("rmd".to_owned(), row.record.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every row of an export, read: the good ones and the failures, in file order.
    async fn read_all(text: &str) -> AppResult<Vec<Result<RmdRow, RowError>>> {
        let mut records = Records::new(text.as_bytes());
        let Ok(Some(Scanned::Record { fields, .. })) = records.next().await else {
            return Err(AppError::invalid("file", "no header"));
        };
        let header: Vec<String> = fields.iter().map(|f| row::decode(f)).collect();
        let layout = Layout::of(&header).map_err(|m| AppError::invalid("file", m))?;
        records.width = Some(layout.width);
        let mut rows = Vec::new();
        loop {
            let batch = next_batch(&mut records, &layout).await?;
            if batch.is_empty() {
                return Ok(rows);
            }
            rows.extend(batch);
        }
    }

    #[tokio::test]
    async fn failures_name_the_physical_line_even_after_a_multi_line_field() {
        let good = "RMD0000001,0031000001,A,\"1 Main\nTown\",No,United States of America,,,,Ann,,,,,,,Yes,Yes,No,No,2025-01-01,";
        let bad = "RMD0000002,,B,2 Main,Maybe,United States of America,,,,Bo,,,,,,,Yes,Yes,No,No,2025-01-01,";
        let text = format!("{}\r\n{good}\r\n{bad}\r\n", COLUMNS.join(","));
        let rows = read_all(&text).await.unwrap();
        assert!(rows[0].is_ok(), "{:?}", rows[0]);
        assert_eq!(rows[1].as_ref().unwrap_err().line, 4);
    }

    #[tokio::test]
    async fn columns_are_found_by_name_in_any_order_beside_unused_ones() {
        let good: Vec<&str> =
            "RMD0000001,0031000001,Acme Voice,1 Main,Yes,Canada,,,,Ann,,,,,,,Partial,Yes,No,No,2025-01-01,"
                .split(',')
                .collect();
        let mut header: Vec<&str> = COLUMNS.iter().rev().copied().collect();
        header.insert(3, "sys_id");
        header[0] = " Filing URL";
        let mut row: Vec<&str> = good.iter().rev().copied().collect();
        row.insert(3, "a1b2");
        let text = format!("{}\n{}\n{}\n", header.join(","), row.join(","), good.join(","));
        let rows = read_all(&text).await.unwrap();
        let first = rows[0].as_ref().unwrap();
        assert_eq!((first.rmd.as_str(), first.foreign), ("RMD0000001", true));
        assert_eq!(rows[1].as_ref().unwrap_err().message, "expected 23 columns, found 22");

        let lacking = COLUMNS[1..].join(",");
        let error = read_all(&format!("{lacking}\n")).await.err().unwrap().to_string();
        assert!(error.contains("lacks number"), "{error}");
        let twice = format!("{},number\n", COLUMNS.join(","));
        let error = read_all(&twice).await.err().unwrap().to_string();
        assert!(error.contains("number twice"), "{error}");
    }

    #[test]
    fn a_filing_lends_an_frn_only_through_its_other_frns() {
        let details = json!({ "rmd": { "frn": "0031000001", "other_frns": ["0031000002"] } });
        assert!(lists_as_other(&details, "0031000002"));
        assert!(!lists_as_other(&details, "0031000001"));
        assert!(!lists_as_other(&json!({}), "0031000002"));
    }
}
