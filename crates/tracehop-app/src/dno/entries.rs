//! Registry entries (DNO-2): recipient, numbers, date of authorisation, implementing steering
//! members and their implementation dates, government-issued flag, volume, status. Staff
//! create and update them.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use tracehop_store::StoreError;
use tracehop_store::dno::DnoEntryRecord;

use crate::access::principal::Principal;
use crate::{App, AppError, AppResult};

/// Whether an entry is listed, or is a removal instruction to registry users (DNO-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryStatus {
    Active,
    Removal,
}

impl EntryStatus {
    pub fn name(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Removal => "removal",
        }
    }

    fn parse(text: &str) -> AppResult<Self> {
        match text {
            "active" => Ok(Self::Active),
            "removal" => Ok(Self::Removal),
            other => Err(AppError::Store(StoreError::Corrupt(format!("DNO entry status {other:?}")))),
        }
    }
}

/// A steering member implementing the entry, and since when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Implementation {
    pub member: String,
    pub implemented_on: Date,
}

/// What staff give to create or replace an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryInput {
    pub recipient_name: String,
    /// Numbers as written (`+1…`, ten digits, punctuation allowed).
    pub numbers: Vec<String>,
    pub authorised_on: Date,
    pub government_issued: bool,
    pub volume: u64,
    pub status: EntryStatus,
    pub implementations: Vec<Implementation>,
}

/// A registry entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: String,
    pub recipient_name: String,
    /// E.164.
    pub numbers: Vec<String>,
    pub authorised_on: Date,
    pub government_issued: bool,
    pub volume: u64,
    pub status: EntryStatus,
    pub implementations: Vec<Implementation>,
    pub last_confirmed_on: Option<Date>,
    pub created_by: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

fn date(text: &str) -> AppResult<Date> {
    text.parse().map_err(|_| AppError::Store(StoreError::Corrupt(format!("date {text:?}"))))
}

impl TryFrom<DnoEntryRecord> for Entry {
    type Error = AppError;

    fn try_from(r: DnoEntryRecord) -> AppResult<Self> {
        Ok(Self {
            numbers: r.numbers.iter().map(|&n| tracehop_dno::number::e164(u64::try_from(n).unwrap_or(0))).collect(),
            authorised_on: date(&r.authorised_on)?,
            status: EntryStatus::parse(&r.status)?,
            implementations: serde_json::from_str(&r.implementations)?,
            last_confirmed_on: r.last_confirmed_on.as_deref().map(date).transpose()?,
            volume: u64::try_from(r.volume).unwrap_or(0),
            id: r.id,
            recipient_name: r.recipient_name,
            government_issued: r.government_issued,
            created_by: r.created_by,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// Parses and checks the numbers of an entry: each one a NANP number, at least one.
fn numbers(input: &[String]) -> AppResult<Vec<i64>> {
    if input.is_empty() {
        return Err(AppError::invalid("numbers", "at least one number"));
    }
    let mut out = Vec::with_capacity(input.len());
    for (i, text) in input.iter().enumerate() {
        let n = tracehop_dno::parse(text).map_err(|e| AppError::invalid(format!("numbers[{i}]"), e.to_string()))?;
        out.push(i64::try_from(n).unwrap_or(0));
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

fn check(input: &EntryInput) -> AppResult<Vec<i64>> {
    if input.recipient_name.trim().is_empty() {
        return Err(AppError::invalid("recipient_name", "required"));
    }
    if input.implementations.iter().any(|i| i.member.trim().is_empty()) {
        return Err(AppError::invalid("implementations", "each names a member"));
    }
    if i64::try_from(input.volume).is_err() {
        return Err(AppError::invalid("volume", "too large"));
    }
    numbers(&input.numbers)
}

fn conflict(error: StoreError) -> AppError {
    match error {
        StoreError::Conflict(message) => AppError::invalid("numbers", message),
        other => other.into(),
    }
}

impl App {
    /// Staff add an entry to the registry.
    pub async fn create_dno_entry(&self, by: &Principal, input: EntryInput) -> AppResult<Entry> {
        self.staff(by)?;
        let numbers = check(&input)?;
        let now = self.now();
        let record = DnoEntryRecord {
            id: self.new_id().to_string(),
            recipient_name: input.recipient_name.trim().to_owned(),
            numbers,
            authorised_on: input.authorised_on.to_string(),
            government_issued: input.government_issued,
            volume: i64::try_from(input.volume).unwrap_or(i64::MAX),
            status: input.status.name().to_owned(),
            implementations: serde_json::to_string(&input.implementations)?,
            last_confirmed_on: None,
            created_by: by.user().to_owned(),
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.store().begin().await?;
        tx.insert_dno_entry(&record).await.map_err(conflict)?;
        tx.commit().await?;
        Entry::try_from(record)
    }

    /// Staff replace an entry's fields and numbers.
    pub async fn update_dno_entry(&self, by: &Principal, id: &str, input: EntryInput) -> AppResult<Entry> {
        self.staff(by)?;
        let numbers = check(&input)?;
        let existing =
            self.store().dno_entry(id).await?.ok_or_else(|| AppError::NotFound(format!("DNO entry {id}")))?;
        let record = DnoEntryRecord {
            recipient_name: input.recipient_name.trim().to_owned(),
            numbers,
            authorised_on: input.authorised_on.to_string(),
            government_issued: input.government_issued,
            volume: i64::try_from(input.volume).unwrap_or(i64::MAX),
            status: input.status.name().to_owned(),
            implementations: serde_json::to_string(&input.implementations)?,
            updated_at: self.now(),
            ..existing
        };
        let mut tx = self.store().begin().await?;
        tx.update_dno_entry(&record).await.map_err(conflict)?;
        tx.commit().await?;
        Entry::try_from(record)
    }

    /// Every entry (staff).
    pub async fn dno_entries(&self, by: &Principal) -> AppResult<Vec<Entry>> {
        self.staff(by)?;
        self.store().list_dno_entries().await?.into_iter().map(Entry::try_from).collect()
    }

    /// One entry (staff).
    pub async fn dno_entry(&self, by: &Principal, id: &str) -> AppResult<Entry> {
        self.staff(by)?;
        let record = self.store().dno_entry(id).await?.ok_or_else(|| AppError::NotFound(format!("DNO entry {id}")))?;
        Entry::try_from(record)
    }
}
