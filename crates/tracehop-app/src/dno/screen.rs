//! Reading the registry: downloads of signed files (each logged, DNO-5), the version list,
//! and batch screening (DNO-7) against the latest published version.

use tracehop_dno::{NumberSet, Screener};
use tracehop_store::dno::DnoVersionRecord;
use tracehop_store::dno_users::DnoDownloadRecord;

use super::publish::FileFormat;
use crate::access::principal::Principal;
use crate::{App, AppError, AppResult};

/// A full snapshot or a delta.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Snapshot,
    Delta,
}

impl FileKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Snapshot => "snapshot",
            Self::Delta => "delta",
        }
    }
}

/// One number's answer: `allow`, `block` with a reason code, or `error` with a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScreenVerdict {
    pub input: String,
    /// E.164, when the input parses.
    pub number: Option<String>,
    pub verdict: &'static str,
    pub reason: Option<&'static str>,
    pub message: Option<String>,
}

/// The answers, and the registry version they were screened against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScreenResult {
    pub version: Option<i64>,
    pub verdicts: Vec<ScreenVerdict>,
}

impl App {
    /// Published versions, newest first (staff and registry users).
    pub async fn dno_versions(&self, by: &Principal) -> AppResult<Vec<DnoVersionRecord>> {
        self.dno_reader(by).await?;
        Ok(self.store().list_dno_versions().await?)
    }

    /// A signed file of a version (the latest when `version` is `None`); the download is
    /// logged in the same transaction that reads it out.
    pub async fn dno_download(
        &self,
        by: &Principal,
        version: Option<i64>,
        kind: FileKind,
        format: FileFormat,
    ) -> AppResult<(i64, Vec<u8>)> {
        let reader = self.dno_reader(by).await?;
        let files = self.store().dno_version_files(version).await?.ok_or_else(|| {
            AppError::NotFound(
                version.map_or_else(|| "published DNO version".to_owned(), |v| format!("DNO version {v}")),
            )
        })?;
        let v = files.record.version;
        let bytes = match (kind, format) {
            (FileKind::Snapshot, FileFormat::Csv) => Some(files.snapshot_csv),
            (FileKind::Snapshot, FileFormat::Binary) => Some(files.snapshot_bin),
            (FileKind::Delta, FileFormat::Csv) => files.delta_csv,
            (FileKind::Delta, FileFormat::Binary) => files.delta_bin,
        }
        .ok_or_else(|| AppError::NotFound(format!("delta for DNO version {v} (the first version has none)")))?;
        let mut tx = self.store().begin().await?;
        tx.log_dno_download(&DnoDownloadRecord {
            id: self.new_id().to_string(),
            user_id: reader.user_id().map(str::to_owned),
            actor: reader.actor().to_owned(),
            version: v,
            kind: kind.name().to_owned(),
            format: format.name().to_owned(),
            at: self.now(),
        })
        .await?;
        tx.commit().await?;
        Ok((v, bytes))
    }

    /// The download log (staff), one user's when `user_id` is given.
    pub async fn dno_downloads(&self, by: &Principal, user_id: Option<&str>) -> AppResult<Vec<DnoDownloadRecord>> {
        self.staff(by)?;
        Ok(self.store().list_dno_downloads(user_id).await?)
    }

    /// Screens numbers as written against the latest published version and the numbering
    /// plan's structure rules; one answer a number, in order.
    pub async fn dno_screen(&self, by: &Principal, numbers: &[String]) -> AppResult<ScreenResult> {
        self.dno_reader(by).await?;
        let limit = self.settings().dno.screen_batch_limit;
        if numbers.len() > limit {
            return Err(AppError::invalid("numbers", format!("at most {limit} numbers a request")));
        }
        let (version, registry) = match self.store().dno_version_files(None).await? {
            Some(files) => {
                let key = self.dno_public_key()?;
                let document = tracehop_dno::snapshot::verify(&files.snapshot_bin, &key).map_err(|e| {
                    AppError::Conflict(format!("the latest version does not verify with the configured key: {e}"))
                })?;
                (Some(files.record.version), document.entries.iter().map(|e| e.number).collect::<NumberSet>())
            }
            None => (None, NumberSet::new(Vec::new())),
        };
        let screener = Screener::new().with_registry(registry);
        let verdicts = numbers
            .iter()
            .map(|input| match tracehop_dno::parse(input) {
                Ok(n) => {
                    let verdict = screener.screen(n);
                    ScreenVerdict {
                        input: input.clone(),
                        number: Some(tracehop_dno::number::e164(n)),
                        verdict: if verdict.block { "block" } else { "allow" },
                        reason: verdict.reason.map(tracehop_dno::Reason::code),
                        message: None,
                    }
                }
                Err(e) => ScreenVerdict {
                    input: input.clone(),
                    number: None,
                    verdict: "error",
                    reason: None,
                    message: Some(e.to_string()),
                },
            })
            .collect();
        Ok(ScreenResult { version, verdicts })
    }
}
