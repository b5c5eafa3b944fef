//! Import of the FCC Robocall Mitigation Database export into the provider directory (PRV-4).
//!
//! Rows are applied in file order. A provider is found by its RMD number, else by its FRN, and
//! created when neither is known. A row whose `last_updated` is older than the stored record
//! leaves it unchanged, as does a row that says nothing new. A row fails — and is reported with
//! its line number while the others go in — when it has no RMD number, an impossible date, a
//! foreign flag other than Yes or No, or the wrong number of columns. Bytes that are not UTF-8 are
//! read as Windows-1252, which is what such exports hold. RMD is the default source of the foreign
//! flag; a staff override stays.

use std::fmt;

use jiff::civil::Date;
use serde::Serialize;
use serde_json::{Value, json};
use tracehop_core::country::Country;
use tracehop_core::number::PhoneNumber;
use tracehop_core::provider::ProviderId;
use tracehop_store::Tx;
use tracehop_store::providers::{Contact, ContactRole, ForeignSource, IdentifierKind, ProviderInput};

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

/// A row, read and checked.
#[derive(Debug, Clone, PartialEq)]
struct RmdRow {
    line: u64,
    rmd: String,
    frns: Vec<String>,
    name: String,
    country: Country,
    foreign: bool,
    last_updated: Option<Date>,
    /// Everything the row says, as stored under `details.rmd`.
    record: Value,
    contact: Option<Contact>,
}

/// Reads bytes as UTF-8, or as Windows-1252 when they are not.
pub fn decode(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => bytes.iter().map(|&b| windows_1252(b)).collect(),
    }
}

fn windows_1252(byte: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž', '\u{8f}', '\u{90}', '‘',
        '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}', 'ž', 'Ÿ',
    ];
    match byte {
        0x80..=0x9f => HIGH[usize::from(byte - 0x80)],
        _ => char::from(byte),
    }
}

/// `none`, `n/a` and blanks mean nothing.
fn meaningful(text: &str) -> Option<String> {
    let text = text.trim();
    let empty = text.is_empty() || ["none", "n/a", "na", "null", "-"].iter().any(|p| text.eq_ignore_ascii_case(p));
    (!empty).then(|| text.to_owned())
}

fn list(text: &str) -> Vec<String> {
    text.split([';', ','])
        .filter_map(|item| meaningful(item.trim().trim_matches('"')))
        .map(|item| item.trim_matches('"').trim().to_owned())
        .filter(|item| !item.is_empty())
        .collect()
}

fn yes_no(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "yes" | "y" | "true" => Some(true),
        "no" | "n" | "false" => Some(false),
        _ => None,
    }
}

fn implementation(text: &str) -> &'static str {
    let lower = text.trim().to_ascii_lowercase();
    if lower.starts_with("complete") || lower == "yes" {
        "complete"
    } else if lower.starts_with("partial") {
        "partial"
    } else if lower.starts_with("no") {
        "none"
    } else {
        "unknown"
    }
}

/// `2025-03-14`, `2025-03-14 10:00:00`, `2025-03-14T10:00:00Z` or `3/14/2025`; `None` if blank.
fn last_updated(text: &str) -> Result<Option<Date>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let impossible = || format!("last_updated {text:?} is not a date");
    let day = text.split(['T', ' ']).next().unwrap_or(text);
    let (year, month, date) = if let Some((m, rest)) = day.split_once('/') {
        let (d, y) = rest.split_once('/').ok_or_else(impossible)?;
        (y, m, d)
    } else {
        let mut parts = day.splitn(3, '-');
        (parts.next().unwrap_or(""), parts.next().unwrap_or(""), parts.next().unwrap_or(""))
    };
    let number = |s: &str| s.trim().parse::<i16>().map_err(|_| impossible());
    let (year, month, date) = (number(year)?, number(month)?, number(date)?);
    let month = i8::try_from(month).map_err(|_| impossible())?;
    let date = i8::try_from(date).map_err(|_| impossible())?;
    if !(1900..=2200).contains(&year) {
        return Err(impossible());
    }
    Date::new(year, month, date).map(Some).map_err(|_| impossible())
}

fn frn(text: &str) -> Option<String> {
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    (!digits.is_empty()).then(|| IdentifierKind::Frn.normalise(&digits))
}

/// Where each of [`COLUMNS`] is in the file: exports have changed their column order before,
/// so columns are found by name; columns the platform does not use are skipped.
struct Layout {
    positions: [usize; COLUMNS.len()],
    width: usize,
}

impl Layout {
    fn of(header: &[String]) -> Result<Self, String> {
        let mut positions = [0; COLUMNS.len()];
        let mut missing = Vec::new();
        for (slot, column) in positions.iter_mut().zip(COLUMNS) {
            let mut found = header.iter().enumerate().filter(|(_, h)| *h == column).map(|(i, _)| i);
            match (found.next(), found.next()) {
                (Some(at), None) => *slot = at,
                (Some(_), Some(_)) => return Err(format!("the header names {column} twice")),
                (None, _) => missing.push(column),
            }
        }
        if missing.is_empty() {
            Ok(Self { positions, width: header.len() })
        } else {
            Err(format!("the header lacks {}", missing.join(", ")))
        }
    }
}

/// Reads one record: the reasons a row fails are exactly those of PRV-4's import.
fn read_row(line: u64, fields: &[String], layout: &Layout) -> Result<RmdRow, String> {
    if fields.len() != layout.width {
        return Err(format!("expected {} columns, found {}", layout.width, fields.len()));
    }
    let field =
        |name: &str| COLUMNS.iter().position(|c| *c == name).map_or("", |i| fields[layout.positions[i]].as_str());
    let rmd = meaningful(field("number")).ok_or("no RMD number")?.to_ascii_uppercase();
    let foreign = yes_no(field("foreign_voice_provider")).ok_or_else(|| {
        format!("foreign_voice_provider {:?} is neither Yes nor No", field("foreign_voice_provider").trim())
    })?;
    let updated = last_updated(field("last_updated"))?;
    let country = Country::parse(field("country")).unwrap_or(if foreign { Country::UNKNOWN } else { Country::US });
    let mut frns: Vec<String> = frn(field("frn")).into_iter().collect();
    for other in list(field("other_frns")) {
        if let Some(other) = frn(&other)
            && !frns.contains(&other)
        {
            frns.push(other);
        }
    }
    let name = meaningful(field("business_name")).unwrap_or_else(|| rmd.clone());
    let phone_text = field("contact_telephone_number").trim().trim_start_matches('\'').to_owned();
    let phone = meaningful(&phone_text).map(|raw| PhoneNumber::parse(&raw));
    let extension = meaningful(field("contact_phone_extension"));
    let contact_name = meaningful(field("robocall_mitigation_contact_name"));
    let role = |name: &str| yes_no(field(name)).unwrap_or(false);
    let record = json!({
        "number": rmd,
        "frn": frn(field("frn")),
        "business_name": meaningful(field("business_name")),
        "business_address": meaningful(field("business_address")),
        "foreign_voice_provider": foreign,
        "country": meaningful(field("country")),
        "other_frns": frns.iter().skip(usize::from(frn(field("frn")).is_some())).collect::<Vec<_>>(),
        "other_dba_names": list(field("other_dba_names")),
        "previous_dba_names": list(field("previous_dba_names")),
        "contact": {
            "name": contact_name,
            "title": meaningful(field("contact_title")),
            "department": meaningful(field("contact_department")),
            "business_address": meaningful(field("contact_business_address")),
            "country": meaningful(field("contact_country")),
            "telephone": phone,
            "extension": extension,
        },
        "implementation": implementation(field("implementation")),
        "implementation_as_filed": meaningful(field("implementation")),
        "roles": {
            "voice_service_provider": role("voice_service_provider_choice"),
            "gateway_provider": role("gateway_provider_choice"),
            "intermediate_provider": role("intermediate_provider_choice"),
        },
        "last_updated": updated.map(|d| d.to_string()),
        "filing_url": meaningful(field("filing_url")),
    });
    let contact = contact_name.map(|name| Contact {
        role: ContactRole::Primary,
        name,
        title: meaningful(field("contact_title")),
        email: None,
        phone: meaningful(&phone_text).map(|p| match &extension {
            Some(ext) => format!("{p} ext. {ext}"),
            None => p,
        }),
        business_hours: None,
    });
    Ok(RmdRow { line, rmd, frns, name, country, foreign, last_updated: updated, record, contact })
}

/// Every row of the export, read: the good ones and the failures, in file order.
fn read_rows(bytes: &[u8]) -> AppResult<Vec<Result<RmdRow, RowError>>> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).has_headers(true).from_reader(bytes);
    let header: Vec<String> =
        reader.byte_headers().map_err(|e| AppError::invalid("file", e.to_string()))?.iter().map(decode).collect();
    let header: Vec<String> = header
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').trim().to_ascii_lowercase().replace([' ', '-'], "_"))
        .collect();
    let layout = Layout::of(&header).map_err(|message| AppError::invalid("file", format!("line 1: {message}")))?;
    // The file's own line numbers: a quoted field may hold line breaks, which the CSV reader's
    // record count does not see. Counted onwards from the previous record, records being in order.
    let mut counted = (0_usize, 1_u64);
    let mut line_of = |offset: u64| {
        let mut end = usize::try_from(offset).unwrap_or(usize::MAX).min(bytes.len());
        // After a CRLF the reader may place the next record at its LF.
        while bytes.get(end).is_some_and(|b| *b == b'\n' || *b == b'\r') {
            end += 1;
        }
        let (from, lines) = counted;
        let end = end.max(from);
        #[allow(clippy::naive_bytecount)] // a row's few hundred bytes; not worth a dependency
        let newlines = bytes[from..end].iter().filter(|&&b| b == b'\n').count() as u64;
        let line = lines + newlines;
        counted = (end, line);
        line
    };
    let mut rows = Vec::new();
    let mut record = csv::ByteRecord::new();
    loop {
        let start = reader.position().byte();
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = line_of(record.position().map_or(start, csv::Position::byte));
                let fields: Vec<String> = record.iter().map(decode).collect();
                rows.push(read_row(line, &fields, &layout).map_err(|message| RowError { line, message }));
            }
            Err(error) => {
                let line = line_of(error.position().map_or(start, csv::Position::byte));
                rows.push(Err(RowError { line, message: format!("unreadable: {error}") }));
            }
        }
    }
    Ok(rows)
}

/// What applying one row did.
enum Applied {
    Created,
    Updated,
    Unchanged,
}

impl App {
    /// Imports an export into the directory.
    pub async fn import_rmd(&self, bytes: &[u8]) -> AppResult<RmdSummary> {
        let rows = read_rows(bytes)?;
        let mut summary = RmdSummary::default();
        for batch in rows.chunks(BATCH) {
            let mut tx = self.store().begin().await?;
            for row in batch {
                let row = match row {
                    Ok(row) => row,
                    Err(error) => {
                        summary.failed += 1;
                        summary.errors.push(error.clone());
                        continue;
                    }
                };
                tx.savepoint("rmd_row").await?;
                match self.apply_rmd_row(&mut tx, row, &mut summary.notes).await {
                    Ok(applied) => {
                        tx.release_savepoint("rmd_row").await?;
                        match applied {
                            Applied::Created => summary.created += 1,
                            Applied::Updated => summary.updated += 1,
                            Applied::Unchanged => summary.unchanged += 1,
                        }
                    }
                    Err(error) => {
                        tx.rollback_to_savepoint("rmd_row").await?;
                        summary.failed += 1;
                        summary.errors.push(RowError { line: row.line, message: error.to_string() });
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

    async fn apply_rmd_row(&self, tx: &mut Tx, row: &RmdRow, notes: &mut Vec<RowError>) -> AppResult<Applied> {
        let now = self.now();
        let mut existing = tx.provider_by_identifier(IdentifierKind::Rmd, &row.rmd).await?;
        for frn in &row.frns {
            if existing.is_some() {
                break;
            }
            existing = tx.provider_by_identifier(IdentifierKind::Frn, frn).await?;
        }
        let stored = match &existing {
            Some(id) => tx.provider(id).await?,
            None => None,
        };
        let (id, applied, mut input) = match stored {
            Some(stored) => {
                let before = stored.details.get("rmd").cloned().unwrap_or(Value::Null);
                let stored_date =
                    before.get("last_updated").and_then(Value::as_str).and_then(|d| d.parse::<Date>().ok());
                if let (Some(stored_date), Some(row_date)) = (stored_date, row.last_updated)
                    && row_date < stored_date
                {
                    return Ok(Applied::Unchanged);
                }
                let staff_flag = stored.foreign_source == ForeignSource::Staff;
                let same = before == row.record
                    && stored.name == row.name
                    && stored.country == row.country
                    && (staff_flag || stored.foreign == row.foreign);
                if same {
                    return Ok(Applied::Unchanged);
                }
                let mut input = ProviderInput::new(stored.id.clone(), row.name.clone(), row.country);
                input.foreign = Some(if staff_flag {
                    (stored.foreign, ForeignSource::Staff, stored.foreign_override_reason.clone())
                } else {
                    (row.foreign, ForeignSource::Rmd, None)
                });
                input.separate_treatment = stored.separate_treatment;
                input.business_hours = stored.business_hours.clone();
                input.deemed_receipt = stored.deemed_receipt;
                input.verified = stored.verified;
                input.details = stored.details.clone();
                (stored.id, Applied::Updated, input)
            }
            None => {
                let digits: String =
                    row.rmd.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_lowercase();
                let id = ProviderId::new(digits).map_err(|e| AppError::invalid("number", e.to_string()))?;
                let mut input = ProviderInput::new(id.clone(), row.name.clone(), row.country);
                input.foreign = Some((row.foreign, ForeignSource::Rmd, None));
                (id, Applied::Created, input)
            }
        };
        if !input.details.is_object() {
            input.details = json!({});
        }
        if let Some(details) = input.details.as_object_mut() {
            details.insert("rmd".to_owned(), row.record.clone());
        }
        tx.upsert_provider(&input, now).await?;
        tx.add_identifiers(&id, &[(IdentifierKind::Rmd, row.rmd.clone())]).await?;
        for frn in &row.frns {
            if let Err(error) = tx.add_identifiers(&id, &[(IdentifierKind::Frn, frn.clone())]).await {
                match error {
                    tracehop_store::StoreError::Conflict(message) => {
                        notes.push(RowError { line: row.line, message: format!("FRN {frn} not added: {message}") });
                    }
                    other => return Err(other.into()),
                }
            }
        }
        if let Some(contact) = &row.contact
            && !tx.contacts(&id).await?.iter().any(|c| c.role == ContactRole::Primary)
        {
            tx.set_contact(&id, contact, now).await?;
        }
        Ok(applied)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_the_shapes_exports_use() {
        assert_eq!(last_updated("2025-03-14"), Ok(Some(jiff::civil::date(2025, 3, 14))));
        assert_eq!(last_updated("2025-03-14 10:22:01"), Ok(Some(jiff::civil::date(2025, 3, 14))));
        assert_eq!(last_updated("3/14/2025"), Ok(Some(jiff::civil::date(2025, 3, 14))));
        assert_eq!(last_updated(""), Ok(None));
        for bad in ["2024-13-45", "2025-02-30", "yesterday", "14/03/2025"] {
            assert!(last_updated(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn windows_1252_where_utf8_fails() {
        assert_eq!(decode("Jürgen".as_bytes()), "Jürgen");
        assert_eq!(decode(b"J\xfcrgen \x93quoted\x94"), "Jürgen “quoted”");
    }

    #[test]
    fn both_spellings_of_implementation() {
        for (text, expected) in [
            ("Complete STIR/SHAKEN Implementation", "complete"),
            ("Yes", "complete"),
            ("Partial STIR/SHAKEN Implementation - Performing Robocall Mitigation", "partial"),
            ("Partial", "partial"),
            ("No STIR/SHAKEN Implementation - Performing Robocall Mitigation", "none"),
            ("No", "none"),
        ] {
            assert_eq!(implementation(text), expected, "{text}");
        }
    }

    #[test]
    fn lists_drop_placeholders_and_quotes() {
        assert_eq!(list("\"Bigwire\", BW Voice"), ["Bigwire", "BW Voice"]);
        assert!(list("none").is_empty());
        assert_eq!(list("0031000003; 0031000004"), ["0031000003", "0031000004"]);
    }
}

#[cfg(test)]
mod line_tests {
    use super::*;

    #[test]
    fn failures_name_the_physical_line_even_after_a_multi_line_field() {
        let good = "RMD0000001,0031000001,A,\"1 Main\nTown\",No,United States of America,,,,Ann,,,,,,,Yes,Yes,No,No,2025-01-01,";
        let bad = "RMD0000002,,B,2 Main,Maybe,United States of America,,,,Bo,,,,,,,Yes,Yes,No,No,2025-01-01,";
        let text = format!("{}\r\n{good}\r\n{bad}\r\n", COLUMNS.join(","));
        let rows = read_rows(text.as_bytes()).unwrap();
        assert!(rows[0].is_ok(), "{:?}", rows[0]);
        assert_eq!(rows[1].as_ref().unwrap_err().line, 4);
    }

    #[test]
    fn columns_are_found_by_name_in_any_order_beside_unused_ones() {
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
        let rows = read_rows(text.as_bytes()).unwrap();
        let first = rows[0].as_ref().unwrap();
        assert_eq!((first.rmd.as_str(), first.foreign), ("RMD0000001", true));
        assert_eq!(rows[1].as_ref().unwrap_err().message, "expected 23 columns, found 22");

        let lacking = COLUMNS[1..].join(",");
        let error = read_rows(format!("{lacking}\n").as_bytes()).err().unwrap().to_string();
        assert!(error.contains("lacks number"), "{error}");
        let twice = format!("{},number\n", COLUMNS.join(","));
        let error = read_rows(twice.as_bytes()).err().unwrap().to_string();
        assert!(error.contains("number twice"), "{error}");
    }
}
