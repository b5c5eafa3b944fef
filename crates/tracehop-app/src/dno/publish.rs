//! Publication (DNO-5): each version is a full snapshot of the active entries' numbers and a
//! delta (additions and removals) against the version before, both in CSV and binary,
//! signed with the configured Ed25519 key, entries ordered by protective value.

use std::collections::BTreeMap;

use tracehop_dno::snapshot::{Action, Document, Entry as DocEntry, Kind, SigningKey, VerifyingKey, binary, keys, text};
use tracehop_store::StoreError;
use tracehop_store::dno::{DnoVersionFiles, DnoVersionRecord, ListedNumber};

use crate::access::principal::Principal;
use crate::{App, AppError, AppResult};

/// The two forms of a signed file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    Csv,
    Binary,
}

impl FileFormat {
    pub fn name(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Binary => "binary",
        }
    }
}

impl App {
    fn dno_signing_key(&self) -> AppResult<SigningKey> {
        let seed =
            self.settings().dno.signing_key.as_deref().ok_or_else(|| {
                AppError::Conflict("no DNO signing key is configured (policy.dno.signing_key)".into())
            })?;
        keys::signing_key(seed).map_err(|e| AppError::Conflict(format!("the configured DNO signing key: {e}")))
    }

    /// The key registry users verify files with, once a signing key is configured.
    pub fn dno_public_key(&self) -> AppResult<VerifyingKey> {
        Ok(self.dno_signing_key()?.verifying_key())
    }

    /// The published key as text (`ed25519:` and 64 hexadecimal digits).
    pub fn dno_public_key_text(&self) -> AppResult<String> {
        Ok(keys::public_key_text(&self.dno_public_key()?))
    }

    /// Staff publish a new version from the active entries.
    pub async fn publish_dno(&self, by: &Principal) -> AppResult<DnoVersionRecord> {
        self.staff(by)?;
        let key = self.dno_signing_key()?;
        let listing = self.store().dno_listing().await?;
        let mut tx = self.store().begin().await?;
        let previous = tx.latest_dno_version_number().await?;
        let before = self.published_numbers(previous, &key.verifying_key()).await?;
        let version = previous + 1;
        let now = self.now();
        let created = now.to_string();
        let to_u64 = |n: i64| u64::try_from(n).unwrap_or(0);
        let entry = |l: &ListedNumber, action| DocEntry {
            number: to_u64(l.number),
            action,
            government: l.government_issued,
            volume: to_u64(l.volume),
        };
        let mut snapshot = Document {
            kind: Kind::Snapshot,
            version: to_u64(version),
            base: 0,
            created: created.clone(),
            entries: listing.iter().map(|l| entry(l, Action::Add)).collect(),
        };
        snapshot.order_by_protective_value();
        let current: BTreeMap<i64, &ListedNumber> = listing.iter().map(|l| (l.number, l)).collect();
        let mut changes: Vec<DocEntry> = listing
            .iter()
            .filter(|l| before.as_ref().is_none_or(|b| !b.contains_key(&l.number)))
            .map(|l| entry(l, Action::Add))
            .collect();
        let added = changes.len();
        if let Some(before) = &before {
            changes
                .extend(before.values().filter(|l| !current.contains_key(&l.number)).map(|l| entry(l, Action::Remove)));
        }
        let removed = changes.len() - added;
        let delta = (previous > 0).then(|| {
            let mut delta = Document {
                kind: Kind::Delta,
                version: to_u64(version),
                base: to_u64(previous),
                created,
                entries: changes,
            };
            delta.order_by_protective_value();
            delta
        });
        let sign = |d: &Document, f: FileFormat| {
            match f {
                FileFormat::Csv => text::write(d, &key),
                FileFormat::Binary => binary::write(d, &key),
            }
            .map_err(|e| AppError::Store(StoreError::Corrupt(format!("signing version {version}: {e}"))))
        };
        let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        let files = DnoVersionFiles {
            record: DnoVersionRecord {
                version,
                published_at: now,
                published_by: by.user().to_owned(),
                numbers: count(listing.len()),
                added: count(added),
                removed: count(removed),
            },
            snapshot_csv: sign(&snapshot, FileFormat::Csv)?,
            snapshot_bin: sign(&snapshot, FileFormat::Binary)?,
            delta_csv: delta.as_ref().map(|d| sign(d, FileFormat::Csv)).transpose()?,
            delta_bin: delta.as_ref().map(|d| sign(d, FileFormat::Binary)).transpose()?,
        };
        tx.insert_dno_version(&files).await.map_err(|e| match e {
            StoreError::Conflict(_) => {
                AppError::Conflict(format!("version {version} was published meanwhile; publish again"))
            }
            other => other.into(),
        })?;
        tx.commit().await?;
        Ok(files.record)
    }

    /// The numbers of a published version, read back from its signed binary snapshot.
    async fn published_numbers(
        &self,
        version: i64,
        key: &VerifyingKey,
    ) -> AppResult<Option<BTreeMap<i64, ListedNumber>>> {
        if version == 0 {
            return Ok(None);
        }
        let files = self
            .store()
            .dno_version_files(Some(version))
            .await?
            .ok_or_else(|| AppError::NotFound(format!("DNO version {version}")))?;
        let document = tracehop_dno::snapshot::verify(&files.snapshot_bin, key).map_err(|e| {
            AppError::Conflict(format!(
                "version {version} does not verify with the configured key ({e}); was the key changed?"
            ))
        })?;
        Ok(Some(
            document
                .entries
                .into_iter()
                .map(|e| {
                    let number = i64::try_from(e.number).unwrap_or(0);
                    let volume = i64::try_from(e.volume).unwrap_or(i64::MAX);
                    (number, ListedNumber { number, government_issued: e.government, volume })
                })
                .collect(),
        ))
    }
}
