//! Opaque references: how a provider names its hops, comments and disputes. Staff number hops
//! from 0 (the terminating provider) in the order they opened, and comments and disputes in the
//! order they were written; a provider seeing those numbers would learn its depth in the path,
//! that a hop was set aside, or that comments it may not read exist. A provider gets, instead, a
//! keyed hash of the position under the traceback's secret view key: the same reference every
//! time, in the API, webhooks and email alike, revealing no position or count.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::state::Traceback;
use super::{CommentId, DisputeId, HopId};

/// A hop as its provider names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct HopRef(pub Uuid);

/// A comment as a provider sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct CommentRef(pub Uuid);

/// A dispute as the provider that filed it sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct DisputeRef(pub Uuid);

impl fmt::Display for HopRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// SHA-256 of a domain tag, the view key, the traceback and the position, as a UUID (version 8,
/// custom).
fn keyed((key, traceback): (Uuid, Uuid), kind: &[u8], position: u32) -> Uuid {
    let mut hash = Sha256::new();
    hash.update(b"tracehop-reference-v1\0");
    hash.update(key.as_bytes());
    hash.update(traceback.as_bytes());
    hash.update(kind);
    hash.update(position.to_be_bytes());
    let digest = hash.finalize();
    let mut bytes = [0_u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

impl Traceback {
    /// The secret the references are keyed with: chosen at random when the traceback started.
    /// Tracebacks started before there was one fall back to their id, which providers know, so
    /// their references are stable but not secret.
    fn view_key(&self) -> (Uuid, Uuid) {
        self.header.as_ref().map_or((Uuid::nil(), Uuid::nil()), |h| (h.view_key.unwrap_or(h.id.0), h.id.0))
    }

    pub fn hop_ref(&self, hop: HopId) -> HopRef {
        HopRef(keyed(self.view_key(), b"hop", hop.0))
    }

    pub fn comment_ref(&self, comment: CommentId) -> CommentRef {
        CommentRef(keyed(self.view_key(), b"comment", comment.0))
    }

    pub fn dispute_ref(&self, dispute: DisputeId) -> DisputeRef {
        DisputeRef(keyed(self.view_key(), b"dispute", dispute.0))
    }

    /// The hop a provider's reference names, if it names one.
    pub fn hop_by_ref(&self, reference: HopRef) -> Option<HopId> {
        self.hops.iter().map(|hop| hop.id).find(|id| self.hop_ref(*id) == reference)
    }
}
