//! Registering the organisations that submit candidates and incident data.

use tracehop_core::intake::SourceKind;
use tracehop_store::submitters::SubmitterRecord;

use crate::access::principal::Principal;
use crate::{App, AppError, AppResult};

impl App {
    /// Staff register a submitter (an analytics provider, an agency, an organisation); its
    /// systems then get tokens with `incidents:submit` and `candidates:submit`.
    pub async fn create_submitter(
        &self,
        by: &Principal,
        id: &str,
        name: &str,
        kind: SourceKind,
        contact_email: Option<String>,
    ) -> AppResult<SubmitterRecord> {
        self.staff(by)?;
        let valid_id = !id.is_empty()
            && id.len() <= 64
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if !valid_id {
            return Err(AppError::invalid("id", "1 to 64 letters, digits, '-', '_' or '.'"));
        }
        if name.trim().is_empty() {
            return Err(AppError::invalid("name", "required"));
        }
        let record = SubmitterRecord {
            id: id.to_owned(),
            name: name.trim().to_owned(),
            kind: kind.name().to_owned(),
            contact_email,
            created_at: self.now(),
        };
        let mut tx = self.store().begin().await?;
        tx.insert_submitter(&record).await.map_err(|e| match e {
            tracehop_store::StoreError::Conflict(_) => AppError::invalid("id", format!("submitter {id} exists")),
            other => other.into(),
        })?;
        tx.commit().await?;
        Ok(record)
    }
}
