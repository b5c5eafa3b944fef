//! Loading the registry: one verified full snapshot, then verified deltas in order.

use std::collections::HashSet;

use ed25519_dalek::VerifyingKey;

use crate::set::NumberSet;
use crate::snapshot::{Action, Document, FormatError, Kind, verify};

/// Why the registry cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Format(#[from] FormatError),
    #[error("expected a full snapshot first, got a delta")]
    DeltaFirst,
    #[error("expected a delta after the snapshot, got a full snapshot")]
    SecondSnapshot,
    #[error("the delta applies to version {base}, but the registry is at version {current}")]
    Chain { base: u64, current: u64 },
    #[error("no full snapshot given")]
    NoSnapshot,
}

/// Chains documents given in any order: the latest full snapshot, then the deltas that follow
/// it, by base version. Deltas the snapshot already includes are skipped; a gap is an error.
pub fn assemble(mut documents: Vec<Document>, limit: Option<usize>) -> Result<RegistryLoader, LoadError> {
    let latest = documents
        .iter()
        .enumerate()
        .filter(|(_, d)| d.kind == Kind::Snapshot)
        .max_by_key(|(_, d)| d.version)
        .map(|(i, _)| i)
        .ok_or(LoadError::NoSnapshot)?;
    let snapshot = documents.swap_remove(latest);
    let mut loader = RegistryLoader { limit, ..RegistryLoader::default() };
    let start = snapshot.version;
    loader.apply(snapshot)?;
    let mut deltas: Vec<Document> =
        documents.into_iter().filter(|d| d.kind == Kind::Delta && d.version > start).collect();
    deltas.sort_by_key(|d| (d.base, d.version));
    for delta in deltas {
        loader.apply(delta)?;
    }
    Ok(loader)
}

/// Accumulates a snapshot and its deltas.
#[derive(Debug, Default)]
pub struct RegistryLoader {
    version: Option<u64>,
    numbers: HashSet<u64>,
    limit: Option<usize>,
}

impl RegistryLoader {
    pub fn new() -> Self {
        Self::default()
    }

    /// Loads at most `limit` entries of the snapshot: its prefix by protective value.
    pub fn with_limit(limit: usize) -> Self {
        Self { limit: Some(limit), ..Self::default() }
    }

    /// Verifies and applies a document (the snapshot first, then deltas in version order).
    pub fn load(&mut self, bytes: &[u8], key: &VerifyingKey) -> Result<&mut Self, LoadError> {
        let document = verify(bytes, key)?;
        self.apply(document)
    }

    /// Applies an already verified document.
    pub fn apply(&mut self, document: Document) -> Result<&mut Self, LoadError> {
        match (document.kind, self.version) {
            (Kind::Delta, None) => return Err(LoadError::DeltaFirst),
            (Kind::Snapshot, Some(_)) => return Err(LoadError::SecondSnapshot),
            (Kind::Delta, Some(current)) if current != document.base => {
                return Err(LoadError::Chain { base: document.base, current });
            }
            _ => {}
        }
        let take = match document.kind {
            Kind::Snapshot => self.limit.unwrap_or(usize::MAX),
            Kind::Delta => usize::MAX,
        };
        for entry in document.entries.into_iter().take(take) {
            match entry.action {
                Action::Add => self.numbers.insert(entry.number),
                Action::Remove => self.numbers.remove(&entry.number),
            };
        }
        self.version = Some(document.version);
        Ok(self)
    }

    /// The version reached so far.
    pub fn version(&self) -> Option<u64> {
        self.version
    }

    /// The listed numbers as a compact set.
    pub fn build(&self) -> NumberSet {
        NumberSet::new(self.numbers.iter().copied().collect())
    }
}
