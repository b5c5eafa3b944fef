//! The Do Not Originate registry (SPEC §12): entries (DNO-2), signed publication of
//! versioned snapshots and deltas (DNO-5), registry users and their access (DNO-4), the
//! download log, and batch screening (DNO-7) with the `tracehop-dno` engine.

pub mod entries;
pub mod publish;
pub mod screen;
pub mod users;

use std::fmt;

use serde::{Deserialize, Serialize};

/// Configuration of the registry.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DnoSettings {
    /// The Ed25519 signing key's secret seed, 64 hexadecimal digits (`tracehop dno keygen`
    /// makes one). Give it as a secret file: `TRACEHOP_POLICY__DNO__SIGNING_KEY_FILE`.
    pub signing_key: Option<String>,
    /// The version of the registry's terms of use that users must have accepted (DNO-4).
    pub terms_version: String,
    /// Most numbers one screening request may carry.
    pub screen_batch_limit: usize,
}

impl Default for DnoSettings {
    fn default() -> Self {
        Self { signing_key: None, terms_version: "1".to_owned(), screen_batch_limit: 10_000 }
    }
}

impl fmt::Debug for DnoSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DnoSettings")
            .field("signing_key", &self.signing_key.as_ref().map(|_| "<redacted>"))
            .field("terms_version", &self.terms_version)
            .field("screen_batch_limit", &self.screen_batch_limit)
            .finish()
    }
}
