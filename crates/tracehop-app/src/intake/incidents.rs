//! Incident data (INC-1, INC-2): one incident at a time, or in bulk as CSV or JSON Lines from a
//! stream, idempotent by (submitter, external id).
//!
//! A bulk import is a pipeline: a blocking thread reads the input incrementally and validates it
//! row by row into batches; the caller's task commits each batch in its own transaction. At most
//! one batch waits between them, so memory stays bounded whatever the size of the input, and every
//! row reported as accepted is committed: rows that fail, and an input that breaks off, never take
//! accepted rows with them. A row's number is its line (CSV: the line its record starts on, the
//! header being line 1; JSON Lines: its line).

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::io::{self, BufRead, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::{Buf, Bytes};
use futures_util::{Stream, StreamExt};
use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Map, Value};
use tokio::sync::mpsc;
use tracehop_core::number::PhoneNumber;
use tracehop_store::Engine;
use tracehop_store::incidents::{IncidentFilter, IncidentRecord, IncidentRow};

use crate::access::principal::Principal;
use crate::{App, AppError, AppResult};

/// The fields of an incident as submitters name them (CSV columns, JSON keys). All are optional
/// except `external_id`, `calling`, `called`, and the call time: `call_time`, or `local_time` with
/// `local_zone`.
pub const FIELDS: [&str; 18] = [
    "external_id",
    "calling",
    "called",
    "call_time",
    "local_time",
    "local_zone",
    "originating_ip",
    "called_ip",
    "originating_point_code",
    "called_point_code",
    "sip_call_id",
    "sip_anomalies",
    "identity_header",
    "call_volume",
    "cdr",
    "transcript",
    "basis",
    "campaign_id",
];

const EXTERNAL_ID: usize = 0;
const CALLING: usize = 1;
const CALLED: usize = 2;
const CALL_TIME: usize = 3;
const LOCAL_TIME: usize = 4;
const LOCAL_ZONE: usize = 5;
const ORIGINATING_IP: usize = 6;
const CALLED_IP: usize = 7;
const ORIGINATING_POINT_CODE: usize = 8;
const CALLED_POINT_CODE: usize = 9;
const SIP_CALL_ID: usize = 10;
const SIP_ANOMALIES: usize = 11;
const IDENTITY_HEADER: usize = 12;
const CALL_VOLUME: usize = 13;
const CDR: usize = 14;
const TRANSCRIPT: usize = 15;
const BASIS: usize = 16;
const CAMPAIGN_ID: usize = 17;

/// Rows validated into one batch, committed in one transaction.
pub const BATCH_ROWS: usize = 5000;

/// Errors listed in a summary; the rest are counted.
pub const MAX_LISTED_ERRORS: usize = 1000;

/// The longest record (CSV) or line (JSON Lines) read; a longer one stops the import.
pub const MAX_RECORD_BYTES: u64 = 1024 * 1024;

/// Distinct presented numbers whose reading is remembered during one import.
const NUMBER_CACHE: usize = 100_000;

/// How a bulk import is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportFormat {
    /// A header row naming the fields, then one incident a record.
    Csv,
    /// One JSON object a line.
    JsonLines,
}

impl ImportFormat {
    /// `csv`, or `jsonl` (also `ndjson`, `json-lines`).
    pub fn parse(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "csv" => Some(Self::Csv),
            "jsonl" | "ndjson" | "json-lines" | "jsonlines" => Some(Self::JsonLines),
            _ => None,
        }
    }

    /// From a media type: `text/csv`, or `application/x-ndjson` (also `application/jsonl`,
    /// `application/x-jsonlines`, `application/ndjson`).
    pub fn from_content_type(content_type: &str) -> Option<Self> {
        let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        match essence.as_str() {
            "text/csv" => Some(Self::Csv),
            "application/x-ndjson" | "application/ndjson" | "application/jsonl" | "application/x-jsonlines" => {
                Some(Self::JsonLines)
            }
            _ => None,
        }
    }

    /// From a file name: `.jsonl` and `.ndjson` are JSON Lines, anything else CSV.
    pub fn from_file_name(name: &str) -> Self {
        let extension = std::path::Path::new(name).extension().and_then(|e| e.to_str()).unwrap_or_default();
        if extension.eq_ignore_ascii_case("jsonl") || extension.eq_ignore_ascii_case("ndjson") {
            Self::JsonLines
        } else {
            Self::Csv
        }
    }
}

/// A field of a submitted incident at fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldProblem {
    pub field: String,
    pub message: String,
}

/// A field at fault in one row of an import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    /// The row's line number.
    pub row: u64,
    pub field: String,
    pub message: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "row {}: {}: {}", self.row, self.field, self.message)
    }
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    /// Rows stored.
    pub accepted: u64,
    /// Rows whose (submitter, external id) was already stored, or came earlier in the input.
    pub duplicates: u64,
    /// Rows refused; `errors` says why.
    pub failed: u64,
    /// The first errors, in row order.
    pub errors: Vec<RowError>,
    /// Errors beyond those listed.
    pub errors_not_listed: u64,
    /// Why the input ended early (it broke off, or a record was too long); the rows before that
    /// point are counted above.
    pub interrupted: Option<String>,
}

/// The result of submitting one incident.
#[derive(Debug, Clone)]
pub enum Submitted {
    Created(IncidentRecord),
    /// The submitter's incident with that external id, unchanged.
    Existing(IncidentRecord),
    Invalid(Vec<FieldProblem>),
}

// ---- validation ------------------------------------------------------------------------------

/// One submitted value: a CSV cell or a JSON value.
#[derive(Clone, Copy)]
enum Cell<'a> {
    Text(&'a str),
    Json(&'a Value),
}

type Cells<'a> = [Option<Cell<'a>>; FIELDS.len()];

/// The row's STIR/SHAKEN Identity header, as given.
fn identity_header_text<'a>(cells: &Cells<'a>) -> Option<&'a str> {
    match cells[IDENTITY_HEADER] {
        Some(Cell::Text(text)) => Some(text),
        Some(Cell::Json(Value::String(text))) => Some(text),
        _ => None,
    }
}

/// What the validation of a row needs besides the row: the time, and caches that make repeated
/// numbers and zones cheap.
struct Context {
    now: Timestamp,
    /// The ids of the campaigns that exist when the import starts.
    campaigns: HashSet<String>,
    numbers: HashMap<String, Option<String>>,
    zones: HashMap<String, Option<jiff::tz::TimeZone>>,
    /// STIR/SHAKEN verification of Identity headers at the call's time, when configured.
    shaken: Option<Arc<tracehop_shaken::Verifier>>,
}

impl Context {
    fn new(now: Timestamp, campaigns: HashSet<String>) -> Self {
        Self { now, campaigns, numbers: HashMap::new(), zones: HashMap::new(), shaken: None }
    }

    fn with_shaken(mut self, shaken: Option<Arc<tracehop_shaken::Verifier>>) -> Self {
        self.shaken = shaken;
        self
    }

    /// The E.164 form of a presented number, as `PhoneNumber::parse` reads it.
    fn e164(&mut self, raw: &str) -> Option<String> {
        if let Some(known) = self.numbers.get(raw) {
            return known.clone();
        }
        let e164 = PhoneNumber::parse(raw).e164;
        if self.numbers.len() >= NUMBER_CACHE {
            self.numbers.clear();
        }
        self.numbers.insert(raw.to_owned(), e164.clone());
        e164
    }

    fn zone(&mut self, name: &str) -> Option<jiff::tz::TimeZone> {
        if let Some(known) = self.zones.get(name) {
            return known.clone();
        }
        let zone = jiff::tz::TimeZone::get(name).ok();
        if self.zones.len() < 1000 {
            self.zones.insert(name.to_owned(), zone.clone());
        }
        zone
    }
}

/// A valid incident, before it has an id, a submitter and a creation time.
struct Valid {
    external_id: String,
    calling_raw: String,
    calling_e164: Option<String>,
    called_raw: String,
    called_e164: Option<String>,
    call_time: Timestamp,
    local_time: Option<String>,
    local_zone: Option<String>,
    originating_ip: Option<String>,
    called_ip: Option<String>,
    originating_point_code: Option<String>,
    called_point_code: Option<String>,
    sip_call_id: Option<String>,
    sip_anomalies: Option<String>,
    identity_header: Option<String>,
    identity_parsed: Option<String>,
    call_volume: Option<i64>,
    cdr: Option<String>,
    transcript: Option<String>,
    basis: Option<String>,
    campaign_id: Option<String>,
}

impl Valid {
    fn into_row(self, id: String, submitter_id: String, created_at: Timestamp) -> IncidentRow {
        IncidentRow {
            id,
            submitter_id,
            external_id: self.external_id,
            calling_raw: self.calling_raw,
            calling_e164: self.calling_e164,
            called_raw: self.called_raw,
            called_e164: self.called_e164,
            call_time: self.call_time,
            local_time: self.local_time,
            local_zone: self.local_zone,
            originating_ip: self.originating_ip,
            called_ip: self.called_ip,
            originating_point_code: self.originating_point_code,
            called_point_code: self.called_point_code,
            sip_call_id: self.sip_call_id,
            sip_anomalies: self.sip_anomalies,
            identity_header: self.identity_header,
            identity_parsed: self.identity_parsed,
            call_volume: self.call_volume,
            cdr: self.cdr,
            transcript: self.transcript,
            basis: self.basis,
            campaign_id: self.campaign_id,
            created_at,
        }
    }
}

/// How a text field may look.
#[derive(Clone, Copy)]
enum Shape {
    /// One line: no control characters.
    Line,
    /// Free text: line breaks and tabs allowed, other control characters not.
    Text,
}

/// Collects the problems of one row.
struct Checker<'c, 'a> {
    cells: &'c Cells<'a>,
    problems: Vec<(usize, String)>,
}

impl Checker<'_, '_> {
    fn problem(&mut self, field: usize, message: impl Into<String>) {
        self.problems.push((field, message.into()));
    }

    /// A field's text, trimmed; `None` when absent or blank.
    fn text(&mut self, field: usize, max_chars: usize, shape: Shape) -> Option<String> {
        let text: String = match self.cells[field]? {
            Cell::Text(text) => text.trim().to_owned(),
            Cell::Json(Value::Null) => return None,
            Cell::Json(Value::String(text)) => text.trim().to_owned(),
            Cell::Json(Value::Number(number)) if field == EXTERNAL_ID || field == CAMPAIGN_ID => number.to_string(),
            Cell::Json(_) => {
                self.problem(field, "must be a string");
                return None;
            }
        };
        if text.is_empty() {
            return None;
        }
        if text.chars().count() > max_chars {
            self.problem(field, format!("at most {max_chars} characters"));
            return None;
        }
        let bad = match shape {
            Shape::Line => text.chars().any(char::is_control),
            Shape::Text => text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')),
        };
        if bad {
            self.problem(field, "contains control characters");
            return None;
        }
        Some(text)
    }

    fn required(&mut self, field: usize, max_chars: usize) -> Option<String> {
        let before = self.problems.len();
        let text = self.text(field, max_chars, Shape::Line);
        if text.is_none() && self.problems.len() == before {
            self.problem(field, "required");
        }
        text
    }

    fn integer(&mut self, field: usize) -> Option<i64> {
        let value = match self.cells[field]? {
            Cell::Text(text) if text.trim().is_empty() => return None,
            Cell::Text(text) => text.trim().parse::<i64>().ok(),
            Cell::Json(Value::Null) => return None,
            Cell::Json(Value::Number(number)) => number.as_i64(),
            Cell::Json(Value::String(text)) if text.trim().is_empty() => return None,
            Cell::Json(Value::String(text)) => text.trim().parse::<i64>().ok(),
            Cell::Json(_) => None,
        };
        match value {
            Some(n) if (0..=1_000_000_000_000).contains(&n) => Some(n),
            _ => {
                self.problem(field, "a whole number from 0 to 10^12");
                None
            }
        }
    }

    fn ip(&mut self, field: usize) -> Option<String> {
        let text = self.text(field, 64, Shape::Line)?;
        if let Ok(ip) = text.parse::<std::net::IpAddr>() {
            return Some(ip.to_string());
        }
        if let Ok(address) = text.parse::<std::net::SocketAddr>() {
            return Some(address.to_string());
        }
        self.problem(field, "an IPv4 or IPv6 address, optionally with a port");
        None
    }

    fn point_code(&mut self, field: usize) -> Option<String> {
        let text = self.text(field, 32, Shape::Line)?;
        let shaped = text.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'.'))
            && text.bytes().any(|b| b.is_ascii_digit());
        if shaped {
            Some(text)
        } else {
            self.problem(field, "a signalling point code: digits, optionally in groups like 245-016-000");
            None
        }
    }

    /// A JSON array of strings: a JSON array, or text separated by `;`.
    fn anomalies(&mut self, field: usize) -> Option<String> {
        let items: Vec<String> = match self.cells[field]? {
            Cell::Text(text) => text.split(';').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect(),
            Cell::Json(Value::Null) => return None,
            Cell::Json(Value::String(text)) => {
                text.split(';').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
            }
            Cell::Json(Value::Array(values)) => {
                let mut items = Vec::with_capacity(values.len());
                for value in values {
                    match value.as_str() {
                        Some(text) if !text.trim().is_empty() => items.push(text.trim().to_owned()),
                        Some(_) => {}
                        None => {
                            self.problem(field, "a list of strings");
                            return None;
                        }
                    }
                }
                items
            }
            Cell::Json(_) => {
                self.problem(field, "a list of strings, or text separated by ';'");
                return None;
            }
        };
        if items.is_empty() {
            return None;
        }
        if items.len() > 50 || items.iter().any(|i| i.chars().count() > 256 || i.chars().any(char::is_control)) {
            self.problem(field, "at most 50 anomalies of at most 256 characters, without control characters");
            return None;
        }
        serde_json::to_string(&items).ok()
    }

    /// JSON: an object of CDR fields, or a string (a CSV cell holding a JSON object is that object).
    fn cdr(&mut self, field: usize) -> Option<String> {
        let value = match self.cells[field]? {
            Cell::Text(text) if text.trim().is_empty() => return None,
            Cell::Text(text) => {
                let text = text.trim();
                match serde_json::from_str::<Value>(text) {
                    Ok(object @ Value::Object(_)) => object,
                    _ => Value::String(text.to_owned()),
                }
            }
            Cell::Json(Value::Null) => return None,
            Cell::Json(value @ (Value::Object(_) | Value::String(_))) => value.clone(),
            Cell::Json(_) => {
                self.problem(field, "an object of CDR fields, or a string");
                return None;
            }
        };
        let text = serde_json::to_string(&value).ok()?;
        if text.len() > 65_536 {
            self.problem(field, "at most 64 KiB");
            return None;
        }
        if text.contains("\\u0000") {
            self.problem(field, "contains a NUL character");
            return None;
        }
        Some(text)
    }
}

/// Validates one row; every problem is reported, each naming its field.
fn check(cells: &Cells<'_>, context: &mut Context) -> Result<Valid, Vec<(usize, String)>> {
    let mut c = Checker { cells, problems: Vec::new() };
    let external_id = c.required(EXTERNAL_ID, 128);
    let calling_raw = c.required(CALLING, 128);
    let called_raw = c.required(CALLED, 128);
    let call_time = match c.text(CALL_TIME, 64, Shape::Line) {
        Some(text) => match text.parse::<Timestamp>() {
            Ok(at) => Some(at),
            Err(_) => {
                c.problem(CALL_TIME, "an RFC 3339 time with its UTC offset, e.g. 2026-03-01T18:22:05Z");
                None
            }
        },
        None => None,
    };
    let local_time_text = c.text(LOCAL_TIME, 64, Shape::Line);
    let local_zone = c.text(LOCAL_ZONE, 64, Shape::Line);
    let local_time = match &local_time_text {
        Some(text) => match text.parse::<jiff::civil::DateTime>() {
            Ok(local) => Some(local),
            Err(_) => {
                c.problem(LOCAL_TIME, "a local date and time without offset, e.g. 2026-03-01T13:22:05");
                None
            }
        },
        None => None,
    };
    let zone = match &local_zone {
        Some(name) => {
            let zone = context.zone(name);
            if zone.is_none() {
                c.problem(LOCAL_ZONE, "an IANA time zone, e.g. America/New_York");
            }
            zone
        }
        None => None,
    };
    if local_time_text.is_some() && local_zone.is_none() {
        c.problem(LOCAL_ZONE, "required with local_time");
    }
    if local_zone.is_some() && local_time_text.is_none() {
        c.problem(LOCAL_TIME, "required with local_zone");
    }
    let from_local = match (local_time, &zone) {
        (Some(local), Some(zone)) => match zone.to_ambiguous_timestamp(local).unambiguous() {
            Ok(at) => Some(at),
            Err(_) => {
                c.problem(LOCAL_TIME, "falls in a daylight-saving change of local_zone; give call_time in UTC");
                None
            }
        },
        _ => None,
    };
    let call_time = match (call_time, from_local) {
        (Some(at), Some(local)) if at.as_second() != local.as_second() => {
            c.problem(LOCAL_TIME, format!("is {local} in local_zone, not call_time {at}"));
            None
        }
        (Some(at), _) => Some(at),
        (None, Some(local)) => Some(local),
        (None, None) => {
            // Unless a problem with one of the time fields already says why there is no time.
            if !c.problems.iter().any(|(f, _)| [CALL_TIME, LOCAL_TIME, LOCAL_ZONE].contains(f)) {
                c.problem(CALL_TIME, "required (or local_time with local_zone)");
            }
            None
        }
    };
    if let Some(at) = call_time
        && at > context.now + jiff::SignedDuration::from_hours(24)
    {
        c.problem(CALL_TIME, "is in the future");
    }
    let originating_ip = c.ip(ORIGINATING_IP);
    let called_ip = c.ip(CALLED_IP);
    let originating_point_code = c.point_code(ORIGINATING_POINT_CODE);
    let called_point_code = c.point_code(CALLED_POINT_CODE);
    let sip_call_id = c.text(SIP_CALL_ID, 256, Shape::Line);
    if sip_call_id.as_deref().is_some_and(|id| id.chars().any(char::is_whitespace)) {
        c.problem(SIP_CALL_ID, "a SIP Call-ID has no spaces");
    }
    let sip_anomalies = c.anomalies(SIP_ANOMALIES);
    let identity_header = c.text(IDENTITY_HEADER, 8192, Shape::Line);
    let call_volume = c.integer(CALL_VOLUME);
    let cdr = c.cdr(CDR);
    let transcript = c.text(TRANSCRIPT, 100_000, Shape::Text);
    let basis = c.text(BASIS, 4000, Shape::Text);
    let campaign_id = c.text(CAMPAIGN_ID, 64, Shape::Line);
    if let Some(id) = &campaign_id {
        if let Some(problem) = crate::intake::campaigns::campaign_id_problem(id) {
            c.problem(CAMPAIGN_ID, problem);
        } else if !context.campaigns.contains(id) {
            c.problem(CAMPAIGN_ID, format!("no campaign {id}"));
        }
    }
    let Checker { problems, .. } = c;
    match (external_id, calling_raw, called_raw, call_time) {
        (Some(external_id), Some(calling_raw), Some(called_raw), Some(call_time)) if problems.is_empty() => {
            let calling_e164 = context.e164(&calling_raw);
            let called_e164 = context.e164(&called_raw);
            let identity_parsed = identity_header.as_deref().map(|header| {
                crate::intake::shaken::parsed_and_verified(header, context.shaken.as_deref(), call_time, &calling_raw)
                    .to_string()
            });
            Ok(Valid {
                external_id,
                calling_raw,
                calling_e164,
                called_raw,
                called_e164,
                call_time,
                local_time: local_time.map(|t| t.to_string()),
                local_zone,
                originating_ip,
                called_ip,
                originating_point_code,
                called_point_code,
                sip_call_id,
                sip_anomalies,
                identity_header,
                identity_parsed,
                call_volume,
                cdr,
                transcript,
                basis,
                campaign_id,
            })
        }
        _ => Err(problems),
    }
}

/// A JSON object's fields as cells; unknown keys are problems.
fn json_cells<'a>(object: &'a Map<String, Value>, unknown: &mut Vec<String>) -> Cells<'a> {
    let mut cells: Cells<'a> = [None; FIELDS.len()];
    for (key, value) in object {
        match FIELDS.iter().position(|f| f == key) {
            Some(index) => cells[index] = Some(Cell::Json(value)),
            None => unknown.push(key.clone()),
        }
    }
    cells
}

/// The best-effort reading of a STIR/SHAKEN `Identity` header (RFC 8224): the PASSporT's JOSE
/// header and claims decoded from base64url, and the header parameters. Nothing is verified here;
/// whatever does not read is recorded in `errors`, never raised.
pub mod identity {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde_json::{Map, Value, json};

    pub fn parse(raw: &str) -> Value {
        let mut errors: Vec<String> = Vec::new();
        let mut text = raw.trim();
        if text.len() >= 9 && text[..9].eq_ignore_ascii_case("identity:") {
            text = text[9..].trim();
        }
        let (token, parameters) = text.split_once(';').unwrap_or((text, ""));
        let token = token.trim().trim_matches('"');
        let mut params = Map::new();
        for parameter in parameters.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) = parameter.split_once('=').unwrap_or((parameter, ""));
            let value = value.trim().trim_matches('"');
            let value = value.strip_prefix('<').and_then(|v| v.strip_suffix('>')).unwrap_or(value);
            params.insert(name.trim().to_ascii_lowercase(), Value::String(value.to_owned()));
        }
        let parts: Vec<&str> = token.split('.').collect();
        let (mut header, mut payload) = (Value::Null, Value::Null);
        if parts.len() == 3 {
            if parts[0].is_empty() && parts[1].is_empty() {
                errors.push("compact form: the PASSporT's header and claims are not in the Identity header".into());
            } else {
                header = decode(parts[0], "header", &mut errors);
                payload = decode(parts[1], "payload", &mut errors);
            }
            if parts[2].is_empty() {
                errors.push("signature: missing".into());
            }
        } else {
            errors.push(format!("a PASSporT has three parts separated by '.', not {}", parts.len()));
        }
        let mut parsed = json!({"header": header, "payload": payload, "params": params});
        if !errors.is_empty()
            && let Some(object) = parsed.as_object_mut()
        {
            object.insert("errors".into(), json!(errors));
        }
        parsed
    }

    fn decode(part: &str, name: &str, errors: &mut Vec<String>) -> Value {
        let bytes = match URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')) {
            Ok(bytes) => bytes,
            Err(error) => {
                errors.push(format!("{name}: not base64url ({error})"));
                return Value::Null;
            }
        };
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(value @ Value::Object(_)) => value,
            Ok(_) => {
                errors.push(format!("{name}: not a JSON object"));
                Value::Null
            }
            Err(error) => {
                errors.push(format!("{name}: not JSON ({error})"));
                Value::Null
            }
        }
    }
}

// ---- reading the input -----------------------------------------------------------------------

/// How long an upload may pause before the rows read so far are committed without waiting for a
/// full batch.
const STALL: std::time::Duration = std::time::Duration::from_millis(500);

/// What the reading thread hands to the committing task.
enum Parsed {
    /// Rows to insert; `duplicates` repeated a key of this batch or the one before (which may
    /// still be committing beside it), and are not sent.
    Batch { rows: Vec<IncidentRow>, duplicates: u64, failed: u64, errors: Vec<RowError> },
    /// The input cannot be imported at all (its header); nothing was stored.
    Refused(AppError),
    /// The input ended early; everything before was sent.
    Interrupted(String),
    /// The input was read to its end.
    Done,
}

/// Rows read and not yet handed over.
#[derive(Default)]
struct Pending {
    rows: Vec<IncidentRow>,
    duplicates: u64,
    failed: u64,
    errors: Vec<RowError>,
    /// The external ids of `rows`, and of the batch handed over before them.
    keys: std::collections::HashSet<String>,
    previous_keys: std::collections::HashSet<String>,
}

/// The way from the reading thread to the committing task: full batches go when full, and the
/// rows read so far go whenever the input stalls, so a slow or stuck upload never holds rows back.
struct Handover {
    pending: std::sync::Mutex<Pending>,
    batches: mpsc::Sender<Parsed>,
    batch_rows: usize,
}

impl Handover {
    fn lock(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Sends what is pending; false when nobody listens any more.
    fn flush(&self) -> bool {
        let batch = {
            let mut pending = self.lock();
            if pending.rows.is_empty() && pending.failed == 0 && pending.duplicates == 0 {
                return true;
            }
            pending.previous_keys = std::mem::take(&mut pending.keys);
            Parsed::Batch {
                rows: std::mem::replace(&mut pending.rows, Vec::with_capacity(self.batch_rows)),
                duplicates: std::mem::take(&mut pending.duplicates),
                failed: std::mem::take(&mut pending.failed),
                errors: std::mem::take(&mut pending.errors),
            }
        };
        self.batches.blocking_send(batch).is_ok()
    }

    /// Adds a row, or a failed row's errors; false when nobody listens any more.
    fn add(&self, row: Result<IncidentRow, Vec<RowError>>) -> bool {
        let full = {
            let mut pending = self.lock();
            match row {
                Ok(row) if pending.previous_keys.contains(&row.external_id) => pending.duplicates += 1,
                Ok(row) => {
                    if pending.keys.insert(row.external_id.clone()) {
                        pending.rows.push(row);
                    } else {
                        pending.duplicates += 1;
                    }
                }
                Err(errors) => {
                    pending.failed += 1;
                    pending.errors.extend(errors);
                }
            }
            let taken = pending.rows.len() as u64 + pending.duplicates + pending.failed;
            taken >= self.batch_rows as u64
        };
        !full || self.flush()
    }

    fn send(&self, last: Parsed) {
        let _ = self.batches.blocking_send(last);
    }
}

/// A blocking reader over a stream's chunks, fed by the async side. When no chunk comes for a
/// while it hands over the rows read so far before waiting on.
struct ChunkReader {
    chunks: mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
    runtime: tokio::runtime::Handle,
    handover: Arc<Handover>,
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            let next = match self.chunks.try_recv() {
                Ok(chunk) => Some(chunk),
                Err(mpsc::error::TryRecvError::Disconnected) => None,
                Err(mpsc::error::TryRecvError::Empty) => {
                    match self.runtime.block_on(tokio::time::timeout(STALL, self.chunks.recv())) {
                        Ok(next) => next,
                        Err(_) => {
                            if !self.handover.flush() {
                                return Err(io::Error::other("the import was abandoned"));
                            }
                            self.chunks.blocking_recv()
                        }
                    }
                }
            };
            match next {
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(error)) => return Err(error),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current.advance(n);
        Ok(n)
    }
}

/// Refuses to read more than [`MAX_RECORD_BYTES`] past the last record boundary, so one
/// endless record cannot exhaust memory.
struct BoundedReader<R> {
    inner: R,
    read: u64,
    boundary: Arc<AtomicU64>,
}

impl<R: Read> Read for BoundedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.read.saturating_sub(self.boundary.load(Ordering::Relaxed)) > MAX_RECORD_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("a record longer than {} KiB", MAX_RECORD_BYTES / 1024),
            ));
        }
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

/// A batch being committed, with what the summary needs of it.
struct Committing {
    task: tokio::task::JoinHandle<Result<u64, tracehop_store::StoreError>>,
    sent: u64,
    duplicates: u64,
    failed: u64,
    errors: Vec<RowError>,
}

/// Where an import's bytes come from.
enum Input {
    /// A blocking reader (a file).
    Reader(Box<dyn Read + Send>),
    /// Chunks of a stream, fed by the committing task.
    Chunks(mpsc::Receiver<io::Result<Bytes>>),
}

/// The reading side of an import, on a blocking thread.
struct Reader {
    app: App,
    submitter: String,
    context: Context,
    handover: Arc<Handover>,
    /// The runtime the import was started on; the reader itself runs on a blocking thread.
    runtime: tokio::runtime::Handle,
}

impl Reader {
    /// Validates a row and passes it on; false when nobody listens any more.
    fn take(&mut self, line: u64, cells: &Cells<'_>, unknown: &[String]) -> bool {
        if let Some(header) = identity_header_text(cells).filter(|_| self.app.settings().shaken.fetch_x5u) {
            self.runtime.block_on(self.app.prefetch_certificates(header));
        }
        let row = match check(cells, &mut self.context) {
            Ok(valid) if unknown.is_empty() => {
                let id = self.app.new_id().to_string();
                Ok(valid.into_row(id, self.submitter.clone(), self.context.now))
            }
            other => {
                let mut errors: Vec<RowError> = unknown
                    .iter()
                    .map(|name| RowError { row: line, field: name.clone(), message: "unknown field".into() })
                    .collect();
                if let Err(problems) = other {
                    errors.extend(problems.into_iter().map(|(field, message)| RowError {
                        row: line,
                        field: FIELDS[field].to_owned(),
                        message,
                    }));
                }
                Err(errors)
            }
        };
        self.handover.add(row)
    }

    fn fail(&self, line: u64, field: &str, message: String) -> bool {
        self.handover.add(Err(vec![RowError { row: line, field: field.to_owned(), message }]))
    }

    fn finish(self, interrupted: Option<String>) {
        if self.handover.flush() {
            self.handover.send(match interrupted {
                Some(message) => Parsed::Interrupted(message),
                None => Parsed::Done,
            });
        }
    }

    fn refuse(self, error: AppError) {
        self.handover.send(Parsed::Refused(error));
    }

    fn read_csv(mut self, input: Box<dyn Read + Send>) {
        let boundary = Arc::new(AtomicU64::new(0));
        let bounded = BoundedReader { inner: input, read: 0, boundary: boundary.clone() };
        let mut csv = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(bounded);
        let mut record = csv::ByteRecord::new();
        match csv.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => return self.finish(None),
            Err(error) => return self.finish(Some(format!("line 1: {error}"))),
        }
        let columns = match header_columns(&record) {
            Ok(columns) => columns,
            Err(error) => return self.refuse(error),
        };
        loop {
            boundary.store(csv.position().byte(), Ordering::Relaxed);
            match csv.read_byte_record(&mut record) {
                Ok(true) => {}
                Ok(false) => return self.finish(None),
                Err(error) => {
                    let line = csv.position().line();
                    let reason = match error.kind() {
                        csv::ErrorKind::Io(io) => io.to_string(),
                        _ => error.to_string(),
                    };
                    return self.finish(Some(format!("stopped at line {line}: {reason}")));
                }
            }
            let line = record.position().map_or(0, csv::Position::line);
            if record.len() == 1 && record.get(0).is_some_and(<[u8]>::is_empty) {
                continue;
            }
            let going = if record.len() == columns.len() {
                let mut cells: Cells<'_> = [None; FIELDS.len()];
                let mut invalid_utf8 = None;
                for (index, bytes) in record.iter().enumerate() {
                    match std::str::from_utf8(bytes) {
                        Ok(text) => cells[columns[index]] = Some(Cell::Text(text)),
                        Err(_) => invalid_utf8 = Some(columns[index]),
                    }
                }
                match invalid_utf8 {
                    Some(field) => self.fail(line, FIELDS[field], "not UTF-8".into()),
                    None => self.take(line, &cells, &[]),
                }
            } else {
                let message = format!("has {} fields; the header names {}", record.len(), columns.len());
                self.fail(line, "record", message)
            };
            if !going {
                return;
            }
        }
    }

    fn read_json_lines(mut self, input: Box<dyn Read + Send>) {
        let boundary = Arc::new(AtomicU64::new(0));
        let bounded = BoundedReader { inner: input, read: 0, boundary: boundary.clone() };
        let mut lines = io::BufReader::with_capacity(64 * 1024, bounded);
        let mut buffer = Vec::new();
        let (mut line, mut consumed) = (0u64, 0u64);
        loop {
            buffer.clear();
            boundary.store(consumed, Ordering::Relaxed);
            match lines.read_until(b'\n', &mut buffer) {
                Ok(0) => return self.finish(None),
                Ok(n) => consumed += n as u64,
                Err(error) => return self.finish(Some(format!("stopped at line {}: {error}", line + 1))),
            }
            line += 1;
            let text = buffer.trim_ascii();
            if text.is_empty() {
                continue;
            }
            let going = match serde_json::from_slice::<Map<String, Value>>(text) {
                Ok(object) => {
                    let mut unknown = Vec::new();
                    let cells = json_cells(&object, &mut unknown);
                    self.take(line, &cells, &unknown)
                }
                Err(error) => {
                    let message = error.to_string();
                    let message = message.split(" at line ").next().unwrap_or(&message).to_owned();
                    self.fail(line, "line", format!("not a JSON object: {message}"))
                }
            };
            if !going {
                return;
            }
        }
    }
}

/// Maps CSV columns to fields; unknown, repeated and missing required columns refuse the file.
fn header_columns(header: &csv::ByteRecord) -> AppResult<Vec<usize>> {
    let mut columns = Vec::with_capacity(header.len());
    let mut unknown = Vec::new();
    for (index, name) in header.iter().enumerate() {
        let name = String::from_utf8_lossy(name);
        let name = if index == 0 { name.trim_start_matches('\u{feff}') } else { &name };
        let name = name.trim();
        match FIELDS.iter().position(|f| f.eq_ignore_ascii_case(name)) {
            Some(field) if columns.contains(&field) => {
                return Err(AppError::invalid("header", format!("line 1: the column {name} appears twice")));
            }
            Some(field) => columns.push(field),
            None => unknown.push(name.to_owned()),
        }
    }
    if !unknown.is_empty() {
        return Err(AppError::invalid(
            "header",
            format!("line 1: unknown columns: {}; the columns are {}", unknown.join(", "), FIELDS.join(", ")),
        ));
    }
    let missing: Vec<&str> =
        [EXTERNAL_ID, CALLING, CALLED].into_iter().filter(|f| !columns.contains(f)).map(|f| FIELDS[f]).collect();
    if !missing.is_empty() {
        return Err(AppError::invalid("header", format!("line 1: missing required columns: {}", missing.join(", "))));
    }
    let has_time = columns.contains(&CALL_TIME) || (columns.contains(&LOCAL_TIME) && columns.contains(&LOCAL_ZONE));
    if !has_time {
        return Err(AppError::invalid(
            "header",
            "line 1: a call_time column (or local_time and local_zone) is required",
        ));
    }
    Ok(columns)
}

// ---- the application service -----------------------------------------------------------------

impl App {
    /// The campaigns an incident may name.
    async fn campaign_ids(&self) -> AppResult<HashSet<String>> {
        Ok(self.store().campaigns(None).await?.into_iter().map(|c| c.id).collect())
    }

    /// The submitter the caller submits for: a submitter for itself; staff for the one named.
    async fn submitter_for(&self, by: &Principal, named: Option<&str>) -> AppResult<String> {
        match by {
            Principal::Submitter { submitter, .. } => match named {
                Some(other) if other != submitter => {
                    Err(AppError::Forbidden("a submitter submits only its own incident data".into()))
                }
                _ => Ok(submitter.clone()),
            },
            Principal::Staff { .. } => {
                let named = named
                    .filter(|n| !n.trim().is_empty())
                    .ok_or_else(|| AppError::invalid("submitter", "name the submitter the data comes from"))?;
                if self.store().submitter(named).await?.is_none() {
                    return Err(AppError::invalid("submitter", format!("no submitter {named}")));
                }
                Ok(named.to_owned())
            }
            Principal::Provider { .. } => Err(AppError::Forbidden("providers do not submit incident data".into())),
        }
    }

    /// Submits one incident (a JSON object of [`FIELDS`]). Submitting an external id again
    /// changes nothing and returns the stored incident.
    pub async fn submit_incident(
        &self,
        by: &Principal,
        submitter: Option<&str>,
        fields: &Map<String, Value>,
    ) -> AppResult<Submitted> {
        let submitter = self.submitter_for(by, submitter).await?;
        let mut unknown = Vec::new();
        let cells = json_cells(fields, &mut unknown);
        if let Some(header) = identity_header_text(&cells) {
            self.prefetch_certificates(header).await;
        }
        let mut context = Context::new(self.now(), self.campaign_ids().await?).with_shaken(self.shaken_verifier());
        let checked = check(&cells, &mut context);
        let mut problems: Vec<FieldProblem> =
            unknown.into_iter().map(|field| FieldProblem { field, message: "unknown field".into() }).collect();
        let valid = match checked {
            Ok(valid) if problems.is_empty() => valid,
            Ok(_) => return Ok(Submitted::Invalid(problems)),
            Err(found) => {
                problems.extend(
                    found.into_iter().map(|(field, message)| FieldProblem { field: FIELDS[field].into(), message }),
                );
                return Ok(Submitted::Invalid(problems));
            }
        };
        let external_id = valid.external_id.clone();
        let row = valid.into_row(self.new_id().to_string(), submitter.clone(), self.now());
        let id = row.id.clone();
        let inserted = self.store().insert_incidents(std::slice::from_ref(&row)).await?;
        if inserted == 1 {
            let record =
                self.store().incident(&id).await?.ok_or_else(|| AppError::NotFound(format!("incident {id}")))?;
            return Ok(Submitted::Created(record));
        }
        let existing = self
            .store()
            .incident_by_external_id(&submitter, &external_id)
            .await?
            .ok_or_else(|| AppError::Busy(format!("incident {external_id}")))?;
        Ok(Submitted::Existing(existing))
    }

    /// Imports incidents from a byte stream (an upload), reading it as it arrives. `on_error`
    /// sees every row error as its batch is committed; the summary lists the first ones.
    pub async fn import_incidents<S, E>(
        &self,
        by: &Principal,
        submitter: Option<&str>,
        format: ImportFormat,
        body: S,
        on_error: impl FnMut(&RowError),
    ) -> AppResult<ImportSummary>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
        E: fmt::Display,
    {
        let submitter = self.submitter_for(by, submitter).await?;
        let (chunks, receiver) = mpsc::channel::<io::Result<Bytes>>(8);
        let feed = async move {
            let mut body = std::pin::pin!(body);
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(|e| io::Error::other(format!("the upload broke off: {e}")));
                let broken = chunk.is_err();
                if chunks.send(chunk).await.is_err() || broken {
                    break;
                }
            }
        };
        self.run_import(submitter, format, Input::Chunks(receiver), Some(feed), on_error, BATCH_ROWS).await
    }

    /// Imports incidents from a blocking reader (a file, standard input), read on a thread of its
    /// own.
    pub async fn import_incidents_from_reader(
        &self,
        by: &Principal,
        submitter: Option<&str>,
        format: ImportFormat,
        input: impl Read + Send + 'static,
        on_error: impl FnMut(&RowError),
    ) -> AppResult<ImportSummary> {
        let submitter = self.submitter_for(by, submitter).await?;
        let input = Input::Reader(Box::new(input));
        self.run_import(submitter, format, input, None::<std::future::Ready<()>>, on_error, BATCH_ROWS).await
    }

    async fn run_import<F: Future<Output = ()>>(
        &self,
        submitter: String,
        format: ImportFormat,
        input: Input,
        feed: Option<F>,
        mut on_error: impl FnMut(&RowError),
        batch_rows: usize,
    ) -> AppResult<ImportSummary> {
        let (batches, mut received) = mpsc::channel::<Parsed>(1);
        let handover = Arc::new(Handover { pending: std::sync::Mutex::default(), batches, batch_rows });
        let input: Box<dyn Read + Send> = match input {
            Input::Reader(reader) => reader,
            Input::Chunks(chunks) => Box::new(ChunkReader {
                chunks,
                current: Bytes::new(),
                runtime: tokio::runtime::Handle::current(),
                handover: handover.clone(),
            }),
        };
        let reader = Reader {
            app: self.clone(),
            submitter,
            context: Context::new(self.now(), self.campaign_ids().await?).with_shaken(self.shaken_verifier()),
            handover,
            runtime: tokio::runtime::Handle::current(),
        };
        let reading = tokio::task::spawn_blocking(move || match format {
            ImportFormat::Csv => reader.read_csv(input),
            ImportFormat::JsonLines => reader.read_json_lines(input),
        });
        let store = self.store().clone();
        // PostgreSQL commits two batches at once, on two connections; SQLite has one writer.
        let writers = if store.engine_kind() == Engine::Postgres { 2 } else { 1 };
        let commit = async move {
            let mut summary = ImportSummary::default();
            let mut committing: VecDeque<Committing> = VecDeque::new();
            let mut end: Option<Option<String>> = None;
            loop {
                if committing.len() >= writers || (end.is_some() && !committing.is_empty()) {
                    let Some(batch) = committing.pop_front() else { continue };
                    let inserted = batch.task.await.map_err(|e| {
                        AppError::Store(tracehop_store::StoreError::Database(format!("an import batch failed: {e}")))
                    })??;
                    summary.accepted += inserted;
                    summary.duplicates += batch.sent - inserted.min(batch.sent) + batch.duplicates;
                    summary.failed += batch.failed;
                    for error in batch.errors {
                        on_error(&error);
                        if summary.errors.len() < MAX_LISTED_ERRORS {
                            summary.errors.push(error);
                        } else {
                            summary.errors_not_listed += 1;
                        }
                    }
                    continue;
                }
                if let Some(interrupted) = end {
                    summary.interrupted = interrupted;
                    return Ok(summary);
                }
                match received.recv().await {
                    Some(Parsed::Batch { rows, duplicates, failed, errors }) => {
                        let store = store.clone();
                        let sent = rows.len() as u64;
                        let task = tokio::spawn(async move { store.insert_incidents(&rows).await });
                        committing.push_back(Committing { task, sent, duplicates, failed, errors });
                    }
                    Some(Parsed::Refused(error)) => return Err(error),
                    Some(Parsed::Interrupted(message)) => end = Some(Some(message)),
                    Some(Parsed::Done) => end = Some(None),
                    None => {
                        return Err(AppError::Store(tracehop_store::StoreError::Corrupt(
                            "the import's reader stopped unexpectedly".into(),
                        )));
                    }
                }
            }
        };
        let result = match feed {
            None => commit.await,
            Some(feed) => {
                let (mut feed, mut commit) = (std::pin::pin!(feed), std::pin::pin!(commit));
                let mut feed_done = false;
                loop {
                    tokio::select! {
                        () = &mut feed, if !feed_done => feed_done = true,
                        result = &mut commit => break result,
                    }
                }
            }
        };
        // The reader stops once nobody listens; a panic in it surfaces here.
        if let Err(error) = reading.await
            && error.is_panic()
        {
            tracing::error!(%error, "the incident import's reader panicked");
            return Err(AppError::Store(tracehop_store::StoreError::Corrupt("the import's reader failed".into())));
        }
        result
    }

    /// An incident the caller may see: staff see all, a submitter its own.
    pub async fn incident(&self, by: &Principal, id: &str) -> AppResult<IncidentRecord> {
        let hidden = || AppError::NotFound(format!("incident {id}"));
        let record = self.store().incident(id).await?.ok_or_else(hidden)?;
        match by {
            Principal::Staff { .. } => Ok(record),
            Principal::Submitter { submitter, .. } if *submitter == record.row.submitter_id => Ok(record),
            Principal::Submitter { .. } | Principal::Provider { .. } => Err(hidden()),
        }
    }

    /// Incidents for staff, newest first.
    pub async fn list_incidents(&self, by: &Principal, filter: &IncidentFilter) -> AppResult<Vec<IncidentRecord>> {
        self.staff(by)?;
        Ok(self.store().list_incidents(filter).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells<'a>(pairs: &[(&str, &'a str)]) -> Cells<'a> {
        let mut cells: Cells<'a> = [None; FIELDS.len()];
        for (name, value) in pairs {
            cells[FIELDS.iter().position(|f| f == name).unwrap()] = Some(Cell::Text(value));
        }
        cells
    }

    fn context() -> Context {
        Context::new("2026-03-02T15:00:00Z".parse().unwrap(), HashSet::from(["irs-2026".to_owned()]))
    }

    fn problems(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        match check(&cells(pairs), &mut context()) {
            Ok(_) => Vec::new(),
            Err(found) => found.into_iter().map(|(f, m)| (FIELDS[f].to_owned(), m)).collect(),
        }
    }

    const BASE: [(&str, &str); 4] = [
        ("external_id", "A-1"),
        ("calling", "(202) 555-0123"),
        ("called", "312-555-0199"),
        ("call_time", "2026-03-01T18:22:05Z"),
    ];

    #[test]
    fn a_minimal_row_keeps_raw_numbers_beside_e164() {
        let valid = check(&cells(&BASE), &mut context()).ok().unwrap();
        assert_eq!(valid.calling_raw, "(202) 555-0123");
        assert_eq!(valid.calling_e164.as_deref(), Some("+12025550123"));
        assert_eq!(valid.called_e164.as_deref(), Some("+13125550199"));
        let mut odd = BASE.to_vec();
        odd[1] = ("calling", "anonymous");
        let valid = check(&cells(&odd), &mut context()).ok().unwrap();
        assert_eq!((valid.calling_raw.as_str(), valid.calling_e164), ("anonymous", None));
    }

    #[test]
    fn every_problem_names_its_field() {
        let found = problems(&[
            ("external_id", ""),
            ("calling", "2025550123"),
            ("call_time", "yesterday"),
            ("originating_ip", "300.1.1.1"),
            ("call_volume", "-3"),
            ("originating_point_code", "abc"),
        ]);
        let fields: Vec<&str> = found.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            ["external_id", "called", "call_time", "originating_ip", "originating_point_code", "call_volume"]
        );
        assert!(found.iter().all(|(_, m)| !m.is_empty()));
    }

    #[test]
    fn an_incident_names_only_a_campaign_that_exists() {
        let mut known = BASE.to_vec();
        known.push(("campaign_id", "irs-2026"));
        assert_eq!(check(&cells(&known), &mut context()).ok().unwrap().campaign_id.as_deref(), Some("irs-2026"));
        let mut unknown = BASE.to_vec();
        unknown.push(("campaign_id", "irs-2025"));
        assert_eq!(problems(&unknown), [("campaign_id".to_owned(), "no campaign irs-2025".to_owned())]);
        let mut malformed = BASE.to_vec();
        malformed.push(("campaign_id", "irs 2026"));
        assert_eq!(problems(&malformed)[0].0, "campaign_id");
    }

    #[test]
    fn local_time_and_zone_give_the_call_time() {
        let mut row: Vec<(&str, &str)> = BASE[..3].to_vec();
        row.extend([("local_time", "2026-03-01T13:22:05"), ("local_zone", "America/New_York")]);
        let valid = check(&cells(&row), &mut context()).ok().unwrap();
        assert_eq!(valid.call_time.to_string(), "2026-03-01T18:22:05Z");
        assert_eq!(valid.local_zone.as_deref(), Some("America/New_York"));
        // Given both, they must agree.
        let mut both = BASE.to_vec();
        both.extend([("local_time", "2026-03-01T14:22:05"), ("local_zone", "America/New_York")]);
        assert_eq!(problems(&both)[0].0, "local_time");
        // A time the clocks skipped is refused rather than guessed.
        let mut gap: Vec<(&str, &str)> = BASE[..3].to_vec();
        gap.extend([("local_time", "2026-03-08T02:30:00"), ("local_zone", "America/New_York")]);
        assert_eq!(problems(&gap)[0].0, "local_time");
        let mut zone_only: Vec<(&str, &str)> = BASE[..3].to_vec();
        zone_only.push(("local_zone", "Mars/Olympus"));
        let fields: Vec<String> = problems(&zone_only).into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["local_zone", "local_time"]);
        let mut future = BASE.to_vec();
        future[3] = ("call_time", "2026-03-05T00:00:00Z");
        assert_eq!(problems(&future), [("call_time".to_owned(), "is in the future".to_owned())]);
    }

    #[test]
    fn identity_headers_are_read_without_trusting_them() {
        use base64::Engine;
        let encode = |v: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        let header = encode(r#"{"alg":"ES256","ppt":"shaken","typ":"passport","x5u":"https://cert.example/a.pem"}"#);
        let claims = encode(
            r#"{"attest":"A","dest":{"tn":["13125550199"]},"iat":1772389325,"orig":{"tn":"12025550123"},"origid":"123e4567-e89b-12d3-a456-426614174000"}"#,
        );
        let raw =
            format!("Identity: {header}.{claims}.c2lnbmF0dXJl;info=<https://cert.example/a.pem>;alg=ES256;ppt=shaken");
        let parsed = identity::parse(&raw);
        assert_eq!(parsed["header"]["alg"], "ES256");
        assert_eq!(parsed["payload"]["attest"], "A");
        assert_eq!(parsed["payload"]["orig"]["tn"], "12025550123");
        assert_eq!(parsed["params"]["info"], "https://cert.example/a.pem");
        assert_eq!(parsed["params"]["ppt"], "shaken");
        assert!(parsed.get("errors").is_none(), "{parsed}");
        for garbage in ["", "not a passport", "a.b.c", "..sig", "....", "%%%.%%%.x;info", "e30.W10.x"] {
            let parsed = identity::parse(garbage);
            assert!(parsed["errors"].as_array().is_some_and(|e| !e.is_empty()), "{garbage}: {parsed}");
        }
    }

    #[test]
    fn formats_come_from_names_media_types_and_files() {
        assert_eq!(ImportFormat::parse("JSONL"), Some(ImportFormat::JsonLines));
        assert_eq!(ImportFormat::parse("xml"), None);
        assert_eq!(ImportFormat::from_content_type("text/csv; charset=utf-8"), Some(ImportFormat::Csv));
        assert_eq!(ImportFormat::from_content_type("application/x-ndjson"), Some(ImportFormat::JsonLines));
        assert_eq!(ImportFormat::from_content_type("application/json"), None);
        assert_eq!(ImportFormat::from_file_name("calls.NDJSON"), ImportFormat::JsonLines);
        assert_eq!(ImportFormat::from_file_name("calls.txt"), ImportFormat::Csv);
    }

    #[test]
    fn headers_name_known_columns_only() {
        let header = |names: &[&str]| header_columns(&csv::ByteRecord::from(names.to_vec()));
        assert!(header(&["\u{feff}external_id", "calling", "called", "call_time"]).is_ok());
        let error = header(&["external_id", "calling", "called", "call_time", "colour", "flavour"]).unwrap_err();
        assert!(error.to_string().contains("colour, flavour"), "{error}");
        assert!(header(&["external_id", "calling", "call_time"]).unwrap_err().to_string().contains("called"));
        assert!(header(&["external_id", "calling", "called"]).unwrap_err().to_string().contains("call_time"));
        assert!(header(&["external_id", "calling", "called", "local_time", "local_zone"]).is_ok());
        assert!(header(&["external_id", "calling", "called", "call_time", "Calling"]).is_err());
    }
}
