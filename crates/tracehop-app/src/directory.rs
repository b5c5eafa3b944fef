//! The provider directory as the application changes it.

use tracehop_core::provider::{ProviderId, ProviderProfile};
use tracehop_core::traceback::SuppliedContact;
use tracehop_store::Tx;
use tracehop_store::providers::{Contact, ContactRole, ProviderInput};

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
