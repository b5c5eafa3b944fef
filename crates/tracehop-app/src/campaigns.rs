//! Campaigns and their labels (CMP-1): tracebacks belong to a campaign, and each campaign counts
//! its tracebacks by status, domestic and foreign law-enforcement apart (SRC-4).

use std::collections::BTreeMap;

use tracehop_store::campaigns::{CampaignRecord, LabelRecord};

use crate::principal::Principal;
use crate::{App, AppError, AppResult};

/// A campaign with its label and traceback counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignSummary {
    pub campaign: CampaignRecord,
    pub label: Option<LabelRecord>,
    /// category → status → count.
    pub counts: BTreeMap<String, BTreeMap<String, i64>>,
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

    /// Creates a campaign, or changes one when `id` names it.
    pub async fn save_campaign(
        &self,
        by: &Principal,
        id: Option<&str>,
        name: &str,
        description: Option<String>,
        label_id: Option<String>,
    ) -> AppResult<CampaignRecord> {
        self.staff(by)?;
        let name = required("name", name)?;
        if let Some(label) = &label_id
            && !self.store().labels().await?.iter().any(|l| &l.id == label)
        {
            return Err(AppError::invalid("label_id", format!("no label {label}")));
        }
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let existing = match id {
            Some(id) => Some(tx.campaign(id).await?.ok_or_else(|| AppError::NotFound(format!("campaign {id}")))?),
            None => None,
        };
        let campaign = CampaignRecord {
            id: existing.as_ref().map_or_else(|| self.new_id().to_string(), |c| c.id.clone()),
            name,
            description,
            label_id,
            created_at: existing.as_ref().map_or(now, |c| c.created_at),
            updated_at: now,
        };
        tx.save_campaign(&campaign).await?;
        tx.commit().await?;
        Ok(campaign)
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
