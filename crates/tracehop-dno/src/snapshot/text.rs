//! The CSV form. A `#` line of metadata, a header row, one row an entry, and a last line
//! carrying the Ed25519 signature over every byte before it:
//!
//! ```text
//! #tracehop-dno v1 kind=snapshot version=7 base=0 created=2026-12-01T00:00:00Z entries=2
//! number,action,government_issued,volume
//! +12025550100,add,true,120000
//! +12025550101,add,false,900
//! #signature ed25519 <128 hexadecimal digits>
//! ```
//!
//! Spreadsheet tools that treat `#` as a comment read the rows as plain CSV.

use ed25519_dalek::{SigningKey, VerifyingKey};

use super::keys::{hex, unhex};
use super::{Action, Document, Entry, FormatError, Kind, check_signature, sign};
use crate::number::{e164, parse};

pub const MAGIC: &str = "#tracehop-dno v1 ";
const HEADER: &str = "number,action,government_issued,volume";
const SIGNATURE: &str = "#signature ed25519 ";

/// Writes and signs a document.
pub fn write(document: &Document, key: &SigningKey) -> Result<Vec<u8>, FormatError> {
    document.check()?;
    let mut body = format!(
        "{MAGIC}kind={} version={} base={} created={} entries={}\n{HEADER}\n",
        document.kind.as_str(),
        document.version,
        document.base,
        document.created,
        document.entries.len()
    );
    for e in &document.entries {
        let action = match e.action {
            Action::Add => "add",
            Action::Remove => "remove",
        };
        body.push_str(&format!("{},{action},{},{}\n", e164(e.number), e.government, e.volume));
    }
    let signature = sign(body.as_bytes(), key);
    body.push_str(&format!("{SIGNATURE}{}\n", hex(&signature)));
    Ok(body.into_bytes())
}

fn line_error(line: usize, message: impl Into<String>) -> FormatError {
    FormatError::Line { line, message: message.into() }
}

/// Verifies the signature, then reads the document.
pub fn read(bytes: &[u8], key: &VerifyingKey) -> Result<Document, FormatError> {
    let trimmed = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let split = trimmed.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let (body, last) = trimmed.split_at(split);
    let last = std::str::from_utf8(last).map_err(|_| FormatError::Unrecognised("signature line is not text".into()))?;
    let signature = last
        .strip_prefix(SIGNATURE)
        .and_then(|h| unhex(h.trim_end_matches('\r')))
        .ok_or_else(|| FormatError::Unrecognised("the last line is not a signature line".into()))?;
    check_signature(body, &signature, key)?;
    let text = std::str::from_utf8(body).map_err(|_| FormatError::Invalid("not UTF-8".into()))?;
    parse_body(text)
}

fn parse_body(text: &str) -> Result<Document, FormatError> {
    let mut lines = text.lines();
    let meta = lines.next().and_then(|l| l.strip_prefix(MAGIC)).ok_or_else(|| line_error(1, "missing header"))?;
    let mut fields = std::collections::BTreeMap::new();
    for pair in meta.split(' ') {
        let (k, v) = pair.split_once('=').ok_or_else(|| line_error(1, format!("bad field {pair:?}")))?;
        fields.insert(k, v);
    }
    let get = |k: &str| fields.get(k).copied().ok_or_else(|| line_error(1, format!("missing {k}")));
    let number = |k: &str| -> Result<u64, FormatError> {
        get(k)?.parse().map_err(|_| line_error(1, format!("{k} is not a number")))
    };
    let kind = match get("kind")? {
        "snapshot" => Kind::Snapshot,
        "delta" => Kind::Delta,
        other => return Err(line_error(1, format!("unknown kind {other:?}"))),
    };
    let (version, base, count) = (number("version")?, number("base")?, number("entries")?);
    let created = get("created")?.to_owned();
    if lines.next() != Some(HEADER) {
        return Err(line_error(2, format!("expected the header row {HEADER:?}")));
    }
    let mut entries = Vec::new();
    for (i, row) in lines.enumerate() {
        let line = i + 3;
        let cols: Vec<&str> = row.split(',').collect();
        let [n, action, government, volume] = cols[..] else {
            return Err(line_error(line, "expected 4 columns"));
        };
        let number = parse(n).map_err(|e| line_error(line, e.to_string()))?;
        let action = match action {
            "add" => Action::Add,
            "remove" => Action::Remove,
            other => return Err(line_error(line, format!("unknown action {other:?}"))),
        };
        let government = match government {
            "true" => true,
            "false" => false,
            other => return Err(line_error(line, format!("government_issued {other:?} is not true or false"))),
        };
        let volume = volume.parse().map_err(|_| line_error(line, format!("volume {volume:?} is not a number")))?;
        entries.push(Entry { number, action, government, volume });
    }
    if entries.len() as u64 != count {
        return Err(FormatError::Invalid(format!("header says {count} entries, found {}", entries.len())));
    }
    let document = Document { kind, version, base, created, entries };
    document.check()?;
    Ok(document)
}
