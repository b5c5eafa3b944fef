//! The provider directory as the application changes it.

use tracehop_core::provider::{ProviderId, ProviderProfile};
use tracehop_core::traceback::SuppliedContact;
use tracehop_store::Tx;
use tracehop_store::providers::{Contact, ContactRole, ForeignSource, ProviderInput};

use crate::{App, AppError, AppResult};

/// A provider with its affiliates and contacts, as staff or an import set them.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderSpec {
    pub provider: ProviderInput,
    pub affiliates: Vec<ProviderId>,
    pub contacts: Vec<Contact>,
}

impl App {
    /// Creates or updates a provider with its affiliates and contacts, and regroups VSP entities.
    pub async fn save_provider(&self, spec: &ProviderSpec) -> AppResult<()> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        tx.upsert_provider(&spec.provider, now).await?;
        tx.set_affiliates(&spec.provider.id, &spec.affiliates).await?;
        for contact in &spec.contacts {
            tx.set_contact(&spec.provider.id, contact, now).await?;
        }
        tx.recompute_entities().await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records an upstream a provider named by contact details (PRV-5): an unverified provider
    /// that staff later verify or merge.
    pub(crate) async fn create_unverified(&self, tx: &mut Tx, contact: &SuppliedContact) -> AppResult<ProviderProfile> {
        if contact.provider_name.trim().is_empty() {
            return Err(AppError::invalid("upstream.provider_name", "the upstream's name is required"));
        }
        let now = self.now();
        let suffix: String = uuid::Uuid::new_v4().simple().to_string().chars().take(12).collect();
        let id = ProviderId::new(format!("unverified-{suffix}"))
            .map_err(|e| AppError::invalid("upstream.provider_name", e.to_string()))?;
        let mut input = ProviderInput::new(id.clone(), contact.provider_name.trim(), contact.country);
        input.verified = false;
        input.details = serde_json::json!({ "supplied": contact });
        tx.upsert_provider(&input, now).await?;
        let has_reach = contact.email.as_deref().is_some_and(|e| !e.trim().is_empty());
        if has_reach || contact.contact_name.is_some() || contact.phone.is_some() {
            let name = contact.contact_name.clone().unwrap_or_else(|| contact.provider_name.clone());
            let primary = Contact {
                role: ContactRole::Primary,
                name,
                title: None,
                email: contact.email.clone(),
                phone: contact.phone.clone(),
                business_hours: None,
            };
            tx.set_contact(&id, &primary, now).await?;
        }
        tx.provider_profile(&id).await?.ok_or_else(|| AppError::NotFound(format!("provider {id}")))
    }
}

/// Everything the directory holds about a provider.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderDetail {
    pub provider: tracehop_store::providers::ProviderRecord,
    pub contacts: Vec<Contact>,
    pub affiliates: Vec<ProviderId>,
    /// (kind, value): FRNs, RMD number, OCNs, SPCs.
    pub identifiers: Vec<(String, String)>,
    /// The other members of its VSP entity.
    pub entity_members: Vec<ProviderId>,
    /// Providers merged into this one.
    pub merged: Vec<ProviderId>,
}

impl App {
    pub async fn provider_detail(&self, by: &crate::Principal, id: &ProviderId) -> AppResult<ProviderDetail> {
        self.staff(by)?;
        let store = self.store();
        let provider = store.provider(id).await?.ok_or_else(|| AppError::NotFound(format!("provider {id}")))?;
        let members = store
            .list_providers()
            .await?
            .into_iter()
            .filter(|p| p.entity_id == provider.entity_id && p.id != provider.id && p.merged_into.is_none())
            .map(|p| p.id)
            .collect();
        Ok(ProviderDetail {
            contacts: store.contacts(id).await?,
            affiliates: store.affiliates(id).await?,
            identifiers: store.identifiers(id).await?,
            merged: store.merged_into(id).await?,
            entity_members: members,
            provider,
        })
    }

    /// Staff set the foreign flag against what RMD or the country say, with a reason; `None`
    /// returns the flag to its source.
    pub async fn override_foreign(&self, by: &crate::Principal, id: &ProviderId, foreign: Option<bool>, reason: Option<String>) -> AppResult<()> {
        self.staff(by)?;
        let mut tx = self.store().begin().await?;
        let record = tx.provider(id).await?.ok_or_else(|| AppError::NotFound(format!("provider {id}")))?;
        let mut input = ProviderInput::new(record.id.clone(), record.name.clone(), record.country);
        input.separate_treatment = record.separate_treatment;
        input.business_hours = record.business_hours.clone();
        input.deemed_receipt = record.deemed_receipt;
        input.verified = record.verified;
        input.details = record.details.clone();
        input.foreign = match foreign {
            Some(flag) => {
                let reason = reason.filter(|r| !r.trim().is_empty()).ok_or_else(|| AppError::invalid("reason", "say why the flag differs from its source"))?;
                Some((flag, ForeignSource::Staff, Some(reason)))
            }
            None => {
                let rmd = record.details.pointer("/rmd/foreign_voice_provider").and_then(serde_json::Value::as_bool);
                Some(match rmd {
                    Some(flag) => (flag, ForeignSource::Rmd, None),
                    None => (record.country.is_foreign(), ForeignSource::Country, None),
                })
            }
        };
        tx.upsert_provider(&input, self.now()).await?;
        tx.recompute_entities().await?;
        tx.commit().await?;
        Ok(())
    }

    /// Staff confirm an unverified provider (PRV-5).
    pub async fn verify_provider(&self, by: &crate::Principal, id: &ProviderId) -> AppResult<()> {
        self.staff(by)?;
        let mut tx = self.store().begin().await?;
        if !tx.set_verified(id, true, self.now()).await? {
            return Err(AppError::NotFound(format!("provider {id}")));
        }
        tx.commit().await?;
        Ok(())
    }

    /// Staff merge a provider (typically one created from an `upstream_new` answer) into the one
    /// it really is. Every traceback keeps its history; the target answers its open hops.
    pub async fn merge_provider(&self, by: &crate::Principal, source: &ProviderId, target: &ProviderId) -> AppResult<()> {
        self.staff(by)?;
        if source == target {
            return Err(AppError::invalid("into", "a provider cannot merge into itself"));
        }
        let mut tx = self.store().begin().await?;
        let from = tx.provider(source).await?.ok_or_else(|| AppError::NotFound(format!("provider {source}")))?;
        let into = tx.provider(target).await?.ok_or_else(|| AppError::invalid("into", format!("no provider {target}")))?;
        if from.merged_into.is_some() {
            return Err(AppError::invalid("into", format!("{source} is already merged")));
        }
        if into.merged_into.is_some() {
            return Err(AppError::invalid("into", format!("{target} is itself merged into another provider")));
        }
        tx.merge_provider(source, target, self.now()).await?;
        tx.recompute_entities().await?;
        tx.commit().await?;
        Ok(())
    }
}
