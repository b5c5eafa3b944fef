//! Registry distribution: versioned full snapshots and deltas, signed with Ed25519, in CSV
//! and in a compact binary form.
//!
//! A document's entries are ordered by protective value (DNO-5): removals first (they are
//! instructions every user must apply), then government-issued numbers, then by volume,
//! highest first, so a provider that cannot load everything loads a prefix.

pub mod binary;
pub mod keys;
pub mod text;

use ed25519_dalek::{Signature, Signer, Verifier};
pub use ed25519_dalek::{SigningKey, VerifyingKey};

/// A full snapshot, or a delta against a base version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Snapshot,
    Delta,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Snapshot => "snapshot",
            Self::Delta => "delta",
        }
    }
}

/// Whether an entry lists a number or removes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Add,
    Remove,
}

/// One number in a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub number: u64,
    pub action: Action,
    pub government: bool,
    pub volume: u64,
}

/// A snapshot or a delta, before signing or after verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub kind: Kind,
    /// The registry version this document brings a user to.
    pub version: u64,
    /// For a delta, the version it applies to; 0 for a snapshot.
    pub base: u64,
    /// When the document was published (RFC 3339, as the publisher wrote it).
    pub created: String,
    pub entries: Vec<Entry>,
}

/// Why a document is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    #[error("signature does not verify with the given public key (tampered, or signed by another key)")]
    Signature,
    #[error("not a tracehop DNO document: {0}")]
    Unrecognised(String),
    #[error("line {line}: {message}")]
    Line { line: usize, message: String },
    #[error("{0}")]
    Invalid(String),
    #[error("bad key: {0}")]
    Key(String),
}

impl Document {
    /// Orders entries by protective value: removals, then government-issued, then volume
    /// (highest first), then number.
    pub fn order_by_protective_value(&mut self) {
        self.entries.sort_by(|a, b| {
            let rank = |e: &Entry| (e.action == Action::Add, !e.government, std::cmp::Reverse(e.volume), e.number);
            rank(a).cmp(&rank(b))
        });
    }

    fn check(&self) -> Result<(), FormatError> {
        match self.kind {
            Kind::Snapshot if self.base != 0 => Err(FormatError::Invalid("a snapshot has base 0".into())),
            Kind::Snapshot if self.entries.iter().any(|e| e.action == Action::Remove) => {
                Err(FormatError::Invalid("a snapshot only adds".into()))
            }
            Kind::Delta if self.version <= self.base => {
                Err(FormatError::Invalid("a delta's version must be above its base".into()))
            }
            _ if self.entries.iter().any(|e| e.number > crate::number::MAX_NUMBER) => {
                Err(FormatError::Invalid("a number has more than ten digits".into()))
            }
            _ if self.created.contains(['\n', '\r', ' ']) => {
                Err(FormatError::Invalid("created must not contain spaces or line breaks".into()))
            }
            _ => Ok(()),
        }
    }
}

/// Reads a signed document in either format, refusing it unless its signature verifies.
pub fn verify(bytes: &[u8], key: &VerifyingKey) -> Result<Document, FormatError> {
    if bytes.starts_with(binary::MAGIC) {
        binary::read(bytes, key)
    } else if bytes.starts_with(text::MAGIC.as_bytes()) {
        text::read(bytes, key)
    } else {
        Err(FormatError::Unrecognised("neither the CSV nor the binary header".into()))
    }
}

fn sign(body: &[u8], key: &SigningKey) -> [u8; 64] {
    key.sign(body).to_bytes()
}

fn check_signature(body: &[u8], signature: &[u8], key: &VerifyingKey) -> Result<(), FormatError> {
    let signature = Signature::from_slice(signature).map_err(|_| FormatError::Signature)?;
    key.verify(body, &signature).map_err(|_| FormatError::Signature)
}
