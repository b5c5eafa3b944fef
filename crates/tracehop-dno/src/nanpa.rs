//! NANPA assignment data: area codes, central office codes (exchanges) and thousands-blocks.
//!
//! - **Area codes**: NANPA's `npa_report.csv` (a `File Date` line, then a header row). An
//!   area code is usable when `ASSIGNED` is `Yes` and `IN_SERVICE` is `Y`; every other code,
//!   including one absent from the report, is unassigned or not in service.
//! - **Exchanges** (NPA-NXX): a CSV or tab-separated file with a header row naming either an
//!   `NPA-NXX` column (`201-200` or `201200`) or `NPA` and `NXX` columns; each row is an
//!   assigned exchange. An optional `Status` (or `Use`) column marks rows that are not
//!   assigned: only empty, `AS`, `assigned` or `in service` count. Only area codes that
//!   appear in the file are judged, so a file covering part of the plan blocks nothing
//!   elsewhere.
//! - **Thousands-blocks** (NPA-NXX-X): the same, with columns `NPA-NXX-X`, or `NPA-NXX` and
//!   `X` (or `Block`), or `NPA`, `NXX` and `X`. Only exchanges that appear in the file are
//!   judged (exchanges outside pooling are assigned whole).
//!
//! Column names match case-insensitively, ignoring spaces, dashes and underscores; other
//! columns are ignored; leading lines before the header row (up to five) are skipped.

use std::io::Read;

use crate::DataError;

/// A fixed-size bit set.
#[derive(Debug, Clone)]
struct Bits(Vec<u64>);

impl Bits {
    fn new(len: usize) -> Self {
        Self(vec![0; len.div_ceil(64)])
    }
    fn set(&mut self, i: usize) {
        if let Some(w) = self.0.get_mut(i / 64) {
            *w |= 1 << (i % 64);
        }
    }
    fn get(&self, i: usize) -> bool {
        self.0.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
    }
}

/// Area codes in service, from NANPA's NPA report.
#[derive(Debug, Clone)]
pub struct AreaCodes {
    in_service: Bits,
    count: usize,
}

/// Assigned exchanges, for the area codes the file covers.
#[derive(Debug, Clone)]
pub struct Exchanges {
    covered: Bits,
    assigned: Bits,
    count: usize,
}

/// Assigned thousands-blocks, for the exchanges the file covers.
#[derive(Debug, Clone)]
pub struct Blocks {
    covered: Bits,
    assigned: Bits,
    count: usize,
}

fn normalise(name: &str) -> String {
    name.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect()
}

struct Table {
    header: Vec<String>,
    rows: Vec<(usize, csv::StringRecord)>,
}

impl Table {
    fn column(&self, names: &[&str]) -> Option<usize> {
        self.header.iter().position(|h| names.contains(&h.as_str()))
    }
}

/// Reads a delimited file whose header row is the first (of up to six) containing `needle`.
fn read_table<R: Read>(mut reader: R, needles: &[&[&str]]) -> Result<Table, DataError> {
    let mut text = String::new();
    reader.read_to_string(&mut text).map_err(|e| DataError::new(0, format!("cannot read: {e}")))?;
    let delimiter = if text.lines().take(6).any(|l| l.contains('\t')) { b'\t' } else { b',' };
    let mut csv =
        csv::ReaderBuilder::new().delimiter(delimiter).has_headers(false).flexible(true).from_reader(text.as_bytes());
    let mut header: Option<Vec<String>> = None;
    let mut rows = Vec::new();
    for (index, record) in csv.records().enumerate() {
        let line = record
            .as_ref()
            .ok()
            .and_then(|r| r.position())
            .map_or(index + 1, |p| usize::try_from(p.line()).unwrap_or(index + 1));
        let record = record.map_err(|e| DataError::new(line, e.to_string()))?;
        if header.is_some() {
            rows.push((line, record));
            continue;
        }
        let names: Vec<String> = record.iter().map(normalise).collect();
        if needles.iter().any(|alternative| alternative.iter().all(|n| names.iter().any(|h| h == n))) {
            header = Some(names);
        } else if index >= 5 {
            break;
        }
    }
    let header = header.ok_or_else(|| {
        let wanted: Vec<String> = needles.iter().map(|a| a.join(" + ")).collect();
        DataError::new(1, format!("no header row naming the columns {}", wanted.join(" or ")))
    })?;
    Ok(Table { header, rows })
}

fn code(value: &str, digits: usize, line: usize, what: &str) -> Result<usize, DataError> {
    let value = value.trim();
    if value.len() != digits || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DataError::new(line, format!("{what} {value:?} is not {digits} digits")));
    }
    value.parse().map_err(|_| DataError::new(line, format!("{what} {value:?} is not a number")))
}

fn field<'a>(record: &'a csv::StringRecord, column: usize, line: usize, what: &str) -> Result<&'a str, DataError> {
    record.get(column).ok_or_else(|| DataError::new(line, format!("missing {what} column")))
}

fn digits_of(value: &str) -> String {
    value.chars().filter(char::is_ascii_digit).collect()
}

fn assigned_status(table: &Table, record: &csv::StringRecord) -> bool {
    let Some(column) = table.column(&["status", "use"]) else { return true };
    let value = normalise(record.get(column).unwrap_or(""));
    matches!(value.as_str(), "" | "as" | "assigned" | "inservice")
}

impl AreaCodes {
    /// Reads NANPA's `npa_report.csv`.
    pub fn read<R: Read>(reader: R) -> Result<Self, DataError> {
        let table = read_table(reader, &[&["npaid", "assigned", "inservice"]])?;
        let (Some(id), Some(assigned), Some(in_service)) =
            (table.column(&["npaid"]), table.column(&["assigned"]), table.column(&["inservice"]))
        else {
            return Err(DataError::new(1, "missing NPA_ID, ASSIGNED or IN_SERVICE column"));
        };
        let mut bits = Bits::new(1000);
        let mut count = 0;
        for (line, record) in &table.rows {
            if record.iter().all(|f| f.trim().is_empty()) {
                continue;
            }
            let npa = code(field(record, id, *line, "NPA_ID")?, 3, *line, "NPA_ID")?;
            let yes = field(record, assigned, *line, "ASSIGNED")?.trim().eq_ignore_ascii_case("yes");
            let live = field(record, in_service, *line, "IN_SERVICE")?.trim().eq_ignore_ascii_case("y");
            if yes && live && !bits.get(npa) {
                bits.set(npa);
                count += 1;
            }
        }
        Ok(Self { in_service: bits, count })
    }

    /// Builds the table from a list of in-service area codes.
    pub fn from_codes(codes: impl IntoIterator<Item = u16>) -> Self {
        let mut bits = Bits::new(1000);
        let mut count = 0;
        for c in codes {
            if c < 1000 && !bits.get(c.into()) {
                bits.set(c.into());
                count += 1;
            }
        }
        Self { in_service: bits, count }
    }

    pub fn in_service(&self, npa: u16) -> bool {
        self.in_service.get(npa.into())
    }

    /// How many area codes are in service.
    pub fn count(&self) -> usize {
        self.count
    }
}

impl Exchanges {
    /// Reads an NPA-NXX file (layout in the module documentation).
    pub fn read<R: Read>(reader: R) -> Result<Self, DataError> {
        let table = read_table(reader, &[&["npanxx"], &["npa", "nxx"]])?;
        let mut this = Self { covered: Bits::new(1000), assigned: Bits::new(1_000_000), count: 0 };
        let joined = table.column(&["npanxx"]);
        let (npa_col, nxx_col) = (table.column(&["npa"]), table.column(&["nxx"]));
        for (line, record) in &table.rows {
            let (npa, nxx) = match (joined, npa_col, nxx_col) {
                (Some(c), _, _) => {
                    let d = digits_of(field(record, c, *line, "NPA-NXX")?);
                    if d.len() != 6 {
                        return Err(DataError::new(*line, format!("NPA-NXX {d:?} is not 6 digits")));
                    }
                    (code(&d[..3], 3, *line, "NPA")?, code(&d[3..], 3, *line, "NXX")?)
                }
                (None, Some(a), Some(x)) => (
                    code(field(record, a, *line, "NPA")?, 3, *line, "NPA")?,
                    code(field(record, x, *line, "NXX")?, 3, *line, "NXX")?,
                ),
                _ => return Err(DataError::new(1, "missing NPA-NXX columns")),
            };
            this.covered.set(npa);
            if assigned_status(&table, record) && !this.assigned.get(npa * 1000 + nxx) {
                this.assigned.set(npa * 1000 + nxx);
                this.count += 1;
            }
        }
        Ok(this)
    }

    /// False when the file covers `npa` and does not list `npa-nxx` as assigned.
    pub fn allows(&self, npa: u16, nxx: u16) -> bool {
        let (npa, nxx) = (usize::from(npa), usize::from(nxx));
        !self.covered.get(npa) || self.assigned.get(npa * 1000 + nxx)
    }

    /// How many exchanges are listed as assigned.
    pub fn count(&self) -> usize {
        self.count
    }
}

impl Blocks {
    /// Reads a thousands-block file (layout in the module documentation).
    pub fn read<R: Read>(reader: R) -> Result<Self, DataError> {
        let table = read_table(
            reader,
            &[&["npanxxx"], &["npanxx", "x"], &["npanxx", "block"], &["npa", "nxx", "x"], &["npa", "nxx", "block"]],
        )?;
        let mut this = Self { covered: Bits::new(1_000_000), assigned: Bits::new(10_000_000), count: 0 };
        let whole = table.column(&["npanxxx"]);
        let joined = table.column(&["npanxx"]);
        let (npa_col, nxx_col) = (table.column(&["npa"]), table.column(&["nxx"]));
        let x_col = table.column(&["x", "block"]);
        for (line, record) in &table.rows {
            let d = match (whole, joined, npa_col, nxx_col, x_col) {
                (Some(c), ..) => digits_of(field(record, c, *line, "NPA-NXX-X")?),
                (None, Some(c), _, _, Some(x)) => {
                    digits_of(field(record, c, *line, "NPA-NXX")?) + field(record, x, *line, "X")?.trim()
                }
                (None, None, Some(a), Some(n), Some(x)) => format!(
                    "{}{}{}",
                    field(record, a, *line, "NPA")?.trim(),
                    field(record, n, *line, "NXX")?.trim(),
                    field(record, x, *line, "X")?.trim()
                ),
                _ => return Err(DataError::new(1, "missing NPA-NXX-X columns")),
            };
            if d.len() != 7 || !d.bytes().all(|b| b.is_ascii_digit()) {
                return Err(DataError::new(*line, format!("NPA-NXX-X {d:?} is not 7 digits")));
            }
            let block = code(&d, 7, *line, "NPA-NXX-X")?;
            this.covered.set(block / 10);
            if assigned_status(&table, record) && !this.assigned.get(block) {
                this.assigned.set(block);
                this.count += 1;
            }
        }
        Ok(this)
    }

    /// False when the file covers the exchange of `number` and does not list its block.
    pub fn allows(&self, number: u64) -> bool {
        let block = usize::try_from(number / 1000).unwrap_or(usize::MAX);
        !self.covered.get(block / 10) || self.assigned.get(block)
    }

    /// How many blocks are listed as assigned.
    pub fn count(&self) -> usize {
        self.count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npa_report() {
        let text = "File Date,10/04/2018\nNPA_ID,type_of_code,ASSIGNABLE,ASSIGNED,IN_SERVICE\n\
                    200,Easily Recognizable Code,Yes,No,N\n201,General Purpose Code,Yes,Yes,Y\n\
                    202,General Purpose Code,Yes,Yes,Y\n263,General Purpose Code,Yes,Yes,N\n";
        let codes = AreaCodes::read(text.as_bytes()).unwrap();
        assert_eq!(codes.count(), 2);
        assert!(codes.in_service(201) && codes.in_service(202));
        assert!(!codes.in_service(200) && !codes.in_service(263) && !codes.in_service(999));
    }

    #[test]
    fn npa_report_errors() {
        let err = AreaCodes::read("a,b\n1,2\n".as_bytes()).unwrap_err();
        assert_eq!(err.line, 1);
        assert!(err.message.contains("npaid"), "{err}");
        let err = AreaCodes::read("NPA_ID,ASSIGNED,IN_SERVICE\n201,Yes,Y\n20x,Yes,Y\n".as_bytes()).unwrap_err();
        assert_eq!(err.to_string(), "line 3: NPA_ID \"20x\" is not 3 digits");
    }

    #[test]
    fn exchanges_both_layouts() {
        let joined = "State\tNPA-NXX\tOcn\tUse\nDC\t202-234\t9999\tAS\nDC\t202-235\t9999\tUA\n";
        let split = "npa,nxx\n202,234\n";
        for text in [joined, split] {
            let ex = Exchanges::read(text.as_bytes()).unwrap();
            assert_eq!(ex.count(), 1);
            assert!(ex.allows(202, 234));
            assert!(!ex.allows(202, 235));
            assert!(ex.allows(301, 235), "an area code outside the file is not judged");
        }
        let err = Exchanges::read("NPA,NXX\n202,23\n".as_bytes()).unwrap_err();
        assert_eq!(err.to_string(), "line 2: NXX \"23\" is not 3 digits");
    }

    #[test]
    fn blocks_layouts() {
        for text in ["NPA-NXX-X\n202-234-5\n", "NPA-NXX,X\n202-234,5\n", "NPA,NXX,Block\n202,234,5\n"] {
            let blocks = Blocks::read(text.as_bytes()).unwrap();
            assert_eq!(blocks.count(), 1, "{text}");
            assert!(blocks.allows(2_022_345_000));
            assert!(blocks.allows(2_022_345_999));
            assert!(!blocks.allows(2_022_344_999));
            assert!(!blocks.allows(2_022_346_000));
            assert!(blocks.allows(2_022_354_000), "an exchange outside the file is not judged");
        }
        let err = Blocks::read("NPA-NXX-X\n202-234\n".as_bytes()).unwrap_err();
        assert_eq!(err.line, 2);
    }
}
