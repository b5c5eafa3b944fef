//! Campaigns and their labels (CMP-1): tracebacks belong to a campaign, and each campaign counts
//! its tracebacks by status, domestic and foreign law-enforcement apart (SRC-4).

use std::collections::BTreeMap;

use tracehop_store::campaigns::{CampaignRecord, LabelRecord};

use crate::access::principal::Principal;
use crate::{App, AppError, AppResult};

/// A campaign with its label and traceback counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignSummary {
    pub campaign: CampaignRecord,
    pub label: Option<LabelRecord>,
    /// category → status → count.
    pub counts: BTreeMap<String, BTreeMap<String, i64>>,
}

/// Why `id` cannot name a campaign, if it cannot: campaign ids appear in incident files and URLs.
pub(crate) fn campaign_id_problem(id: &str) -> Option<&'static str> {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || b"-_.:".contains(&b);
    (id.is_empty() || id.len() > 64 || !id.bytes().all(allowed))
        .then_some("1 to 64 letters, digits, '-', '_', '.' or ':'")
}

fn required(field: &str, text: &str) -> AppResult<String> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > 200 {
        return Err(AppError::invalid(field, "1 to 200 characters"));
    }
    Ok(text.to_owned())
}

impl App {
    pub async fn create_label(
        &self,
        by: &Principal,
        name: &str,
        description: Option<String>,
    ) -> AppResult<LabelRecord> {
        self.staff(by)?;
        let label = LabelRecord {
            id: self.new_id().to_string(),
            name: required("name", name)?,
            description,
            created_at: self.now(),
        };
        let mut tx = self.store().begin().await?;
        tx.insert_label(&label).await.map_err(|e| match e {
            tracehop_store::StoreError::Conflict(_) => {
                AppError::invalid("name", format!("a label named {:?} exists", label.name))
            }
            other => other.into(),
        })?;
        tx.commit().await?;
        Ok(label)
    }

    /// Creates a campaign under `id` when given (a short slug that incident files can name),
    /// otherwise under a new id. An id already taken is a conflict.
    pub async fn create_campaign(
        &self,
        by: &Principal,
        id: Option<&str>,
        name: &str,
        description: Option<String>,
        label_id: Option<String>,
    ) -> AppResult<CampaignRecord> {
        self.staff(by)?;
        let id = match id {
            Some(id) => {
                if let Some(problem) = campaign_id_problem(id) {
                    return Err(AppError::invalid("id", problem));
                }
                id.to_owned()
            }
            None => self.new_id().to_string(),
        };
        let name = required("name", name)?;
        self.check_label(label_id.as_deref()).await?;
        let now = self.now();
        let campaign = CampaignRecord { id, name, description, label_id, created_at: now, updated_at: now };
        let mut tx = self.store().begin().await?;
        tx.insert_campaign(&campaign).await.map_err(|e| match e {
            tracehop_store::StoreError::Conflict(_) => {
                AppError::Conflict(format!("a campaign with id {:?} exists", campaign.id))
            }
            other => other.into(),
        })?;
        tx.commit().await?;
        Ok(campaign)
    }

    /// Renames a campaign, changes its description or moves it under another label.
    pub async fn update_campaign(
        &self,
        by: &Principal,
        id: &str,
        name: &str,
        description: Option<String>,
        label_id: Option<String>,
    ) -> AppResult<CampaignRecord> {
        self.staff(by)?;
        let name = required("name", name)?;
        self.check_label(label_id.as_deref()).await?;
        let mut tx = self.store().begin().await?;
        let existing = tx.campaign(id).await?.ok_or_else(|| AppError::NotFound(format!("campaign {id}")))?;
        let campaign = CampaignRecord { name, description, label_id, updated_at: self.now(), ..existing };
        tx.update_campaign(&campaign).await?;
        tx.commit().await?;
        Ok(campaign)
    }

    async fn check_label(&self, label_id: Option<&str>) -> AppResult<()> {
        match label_id {
            Some(label) if !self.store().labels().await?.iter().any(|l| l.id == label) => {
                Err(AppError::invalid("label_id", format!("no label {label}")))
            }
            _ => Ok(()),
        }
    }

    /// Every campaign, optionally of one label, with its label and traceback counts.
    pub async fn campaigns(&self, by: &Principal, label_id: Option<&str>) -> AppResult<Vec<CampaignSummary>> {
        self.staff(by)?;
        let campaigns = self.store().campaigns(label_id).await?;
        self.summarise(campaigns).await
    }

    /// One campaign with its label and traceback counts.
    pub async fn campaign(&self, by: &Principal, id: &str) -> AppResult<CampaignSummary> {
        self.staff(by)?;
        let campaign = self.store().campaign(id).await?.ok_or_else(|| AppError::NotFound(format!("campaign {id}")))?;
        let mut summaries = self.summarise(vec![campaign]).await?;
        summaries.pop().ok_or_else(|| AppError::NotFound(format!("campaign {id}")))
    }

    async fn summarise(&self, campaigns: Vec<CampaignRecord>) -> AppResult<Vec<CampaignSummary>> {
        let labels = self.store().labels().await?;
        let counts = self.store().campaign_counts().await?;
        Ok(campaigns
            .into_iter()
            .map(|campaign| {
                let mut by_category: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
                for (_, category, status, count) in counts.iter().filter(|(c, ..)| *c == campaign.id) {
                    by_category.entry(category.clone()).or_default().insert(status.clone(), *count);
                }
                let label = campaign.label_id.as_ref().and_then(|id| labels.iter().find(|l| &l.id == id).cloned());
                CampaignSummary { campaign, label, counts: by_category }
            })
            .collect())
    }

    pub async fn labels(&self, by: &Principal) -> AppResult<Vec<LabelRecord>> {
        self.staff(by)?;
        Ok(self.store().labels().await?)
    }
}
