//! The provider directory as the application changes it.

pub mod rmd;
pub mod suggestions;

use tracehop_core::calendar::BusinessHours;
use tracehop_core::country::Country;
use tracehop_core::provider::{ProviderId, ProviderProfile};
use tracehop_core::traceback::SuppliedContact;
use tracehop_store::Tx;
use tracehop_store::providers::{Contact, ContactRole, ForeignSource, IdentifierKind, ProviderInput, ProviderRecord};

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
    pub async fn override_foreign(
        &self,
        by: &crate::Principal,
        id: &ProviderId,
        foreign: Option<bool>,
        reason: Option<String>,
    ) -> AppResult<()> {
        self.staff(by)?;
        let mut tx = self.store().begin().await?;
        let record = tx.provider(id).await?.ok_or_else(|| AppError::NotFound(format!("provider {id}")))?;
        let mut input = input_of(&record);
        input.foreign = match foreign {
            Some(flag) => {
                let reason = reason
                    .filter(|r| !r.trim().is_empty())
                    .ok_or_else(|| AppError::invalid("reason", "say why the flag differs from its source"))?;
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
    /// it really is. Every traceback keeps its history; the target answers its open hops. The
    /// merged provider's API tokens (and any issued from them) are revoked and its webhooks
    /// switched off, in the same transaction, and logged: they were never the target's, and the
    /// target's own tokens and webhooks already reach its hops. Nothing is moved to the target.
    pub async fn merge_provider(
        &self,
        by: &crate::Principal,
        source: &ProviderId,
        target: &ProviderId,
    ) -> AppResult<()> {
        self.staff(by)?;
        if source == target {
            return Err(AppError::invalid("into", "a provider cannot merge into itself"));
        }
        let mut tx = self.store().begin().await?;
        let from = tx.provider(source).await?.ok_or_else(|| AppError::NotFound(format!("provider {source}")))?;
        let into =
            tx.provider(target).await?.ok_or_else(|| AppError::invalid("into", format!("no provider {target}")))?;
        if from.merged_into.is_some() {
            return Err(AppError::invalid("into", format!("{source} is already merged")));
        }
        if into.merged_into.is_some() {
            return Err(AppError::invalid("into", format!("{target} is itself merged into another provider")));
        }
        tx.merge_provider(source, target, self.now()).await?;
        tx.recompute_entities().await?;
        let revoked = tx.revoke_provider_tokens(source.as_str(), self.now()).await?;
        let disabled = tx.disable_webhooks_of(source.as_str(), self.now()).await?;
        tx.commit().await?;
        self.forget_tokens(&revoked);
        tracing::info!(%source, %target, by = by.user(), tokens_revoked = ?revoked, webhooks_disabled = ?disabled,
            "merged a provider: its tokens revoked, its webhooks switched off");
        Ok(())
    }
}

/// The input that writes `record` back as it is.
fn input_of(record: &ProviderRecord) -> ProviderInput {
    ProviderInput {
        id: record.id.clone(),
        name: record.name.clone(),
        country: record.country,
        foreign: Some((record.foreign, record.foreign_source, record.foreign_override_reason.clone())),
        separate_treatment: record.separate_treatment,
        business_hours: record.business_hours.clone(),
        deemed_receipt: record.deemed_receipt,
        verified: record.verified,
        details: record.details.clone(),
    }
}

/// A provider as staff write it (PRV-1, PRV-2, PRV-3): everything but the foreign flag, which
/// comes from RMD or the country unless staff override it.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderEdit {
    pub id: ProviderId,
    pub name: String,
    pub country: Country,
    pub dba_names: Vec<String>,
    pub separate_treatment: bool,
    /// `None`: the default (Mon–Fri 08:00–17:00 America/New_York).
    pub business_hours: Option<BusinessHours>,
    pub deemed_receipt: bool,
    pub affiliates: Vec<ProviderId>,
    pub contacts: Vec<Contact>,
    pub identifiers: Vec<(IdentifierKind, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveMode {
    /// A new provider; one with the id already is a conflict.
    Create,
    /// Replaces what an existing provider's edit covers.
    Replace,
}

/// Problems with a set of contacts: at most one primary and one backup, each reachable.
fn contact_problems(contacts: &[Contact]) -> Option<(String, String)> {
    for (index, contact) in contacts.iter().enumerate() {
        let field = |name: &str| format!("contacts[{index}].{name}");
        if contacts[..index].iter().any(|c| c.role == contact.role) {
            return Some((field("role"), format!("one {} contact only", contact.role.name())));
        }
        if contact.name.trim().is_empty() {
            return Some((field("name"), "the contact's full name is required".to_owned()));
        }
        let email = contact.email.as_deref().map(str::trim).filter(|e| !e.is_empty());
        let phone = contact.phone.as_deref().map(str::trim).filter(|p| !p.is_empty());
        if let Some(email) = email
            && !plausible_email(email)
        {
            return Some((field("email"), format!("{email:?} is not an email address")));
        }
        if email.is_none() && phone.is_none() {
            return Some((field("email"), "an email or a phone is required to reach the contact".to_owned()));
        }
    }
    None
}

/// Sets the primary and backup contacts to `contacts`, removing a role it lacks.
async fn replace_contacts(tx: &mut Tx, id: &ProviderId, contacts: &[Contact], now: jiff::Timestamp) -> AppResult<()> {
    for role in [ContactRole::Primary, ContactRole::Backup] {
        match contacts.iter().find(|c| c.role == role) {
            Some(contact) => tx.set_contact(id, contact, now).await?,
            None => tx.remove_contact(id, role).await?,
        }
    }
    Ok(())
}

fn plausible_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else { return false };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !text.contains(char::is_whitespace)
}

impl App {
    /// Staff create or replace a provider's directory entry, its affiliates, contacts and
    /// identifiers, and regroup VSP entities — all in one transaction.
    pub async fn edit_provider(
        &self,
        by: &crate::Principal,
        edit: ProviderEdit,
        mode: SaveMode,
    ) -> AppResult<ProviderDetail> {
        self.staff(by)?;
        if edit.name.trim().is_empty() {
            return Err(AppError::invalid("name", "the provider's legal name is required"));
        }
        if let Some((field, message)) = contact_problems(&edit.contacts) {
            return Err(AppError::invalid(field, message));
        }
        if edit.affiliates.contains(&edit.id) {
            return Err(AppError::invalid("affiliates", "a provider is not its own affiliate"));
        }
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let existing = tx.provider(&edit.id).await?;
        let mut input = match (&existing, mode) {
            (Some(_), SaveMode::Create) => {
                return Err(AppError::Conflict(format!("provider {} exists", edit.id)));
            }
            (None, SaveMode::Replace) => return Err(AppError::NotFound(format!("provider {}", edit.id))),
            (Some(record), SaveMode::Replace) => {
                if record.merged_into.is_some() {
                    return Err(AppError::invalid(
                        "id",
                        format!("provider {} was merged; edit the provider it was merged into", edit.id),
                    ));
                }
                input_of(record)
            }
            (None, SaveMode::Create) => ProviderInput::new(edit.id.clone(), edit.name.trim(), edit.country),
        };
        for (index, affiliate) in edit.affiliates.iter().enumerate() {
            if tx.provider(affiliate).await?.is_none_or(|a| a.merged_into.is_some()) {
                return Err(AppError::invalid(format!("affiliates[{index}]"), format!("no provider {affiliate}")));
            }
        }
        // A country change moves a flag that follows the country; RMD's and staff's stay.
        if input.foreign.as_ref().is_some_and(|(_, source, _)| *source == ForeignSource::Country) {
            input.foreign = None;
        }
        input.name = edit.name.trim().to_owned();
        input.country = edit.country;
        input.separate_treatment = edit.separate_treatment;
        input.business_hours = edit.business_hours.unwrap_or_default();
        input.deemed_receipt = edit.deemed_receipt;
        if !input.details.is_object() {
            input.details = serde_json::json!({});
        }
        if let Some(details) = input.details.as_object_mut() {
            let names: Vec<&str> = edit.dba_names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()).collect();
            details.insert("dba_names".to_owned(), serde_json::json!(names));
        }
        tx.upsert_provider(&input, now).await?;
        tx.set_affiliates(&edit.id, &edit.affiliates).await?;
        replace_contacts(&mut tx, &edit.id, &edit.contacts, now).await?;
        tx.set_identifiers(&edit.id, &edit.identifiers).await?;
        tx.recompute_entities().await?;
        tx.commit().await?;
        self.provider_detail(by, &edit.id).await
    }

    /// A provider keeps its own points of contact current (PRV-2): requests go to both.
    pub async fn set_own_contacts(&self, by: &crate::Principal, contacts: &[Contact]) -> AppResult<Vec<Contact>> {
        let handle = self.provider(by)?;
        let id = handle.provider_id().clone();
        if let Some((field, message)) = contact_problems(contacts) {
            return Err(AppError::invalid(field, message));
        }
        if !contacts.iter().any(|c| c.role == ContactRole::Primary) {
            return Err(AppError::invalid("contacts", "a primary contact is required"));
        }
        let now = self.now();
        let mut tx = self.store().begin().await?;
        replace_contacts(&mut tx, &id, contacts, now).await?;
        tx.commit().await?;
        Ok(self.store().contacts(&id).await?)
    }

    /// A provider's own directory entry and contacts.
    pub async fn own_entry(&self, by: &crate::Principal) -> AppResult<(ProviderRecord, Vec<Contact>)> {
        let handle = self.provider(by)?;
        let id = handle.provider_id();
        let record = self.store().provider(id).await?.ok_or_else(|| AppError::NotFound(format!("provider {id}")))?;
        Ok((record, self.store().contacts(id).await?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(role: ContactRole, email: Option<&str>, phone: Option<&str>) -> Contact {
        Contact {
            role,
            name: "Pat Example".into(),
            title: None,
            email: email.map(str::to_owned),
            phone: phone.map(str::to_owned),
            business_hours: None,
        }
    }

    #[test]
    fn contacts_need_one_of_each_role_and_a_way_to_reach_them() {
        let primary = contact(ContactRole::Primary, Some("noc@example.net"), None);
        let backup = contact(ContactRole::Backup, None, Some("+1 202-555-0142"));
        assert_eq!(contact_problems(&[primary.clone(), backup.clone()]), None);
        let twice = contact_problems(&[primary.clone(), primary.clone()]).map(|(f, _)| f);
        assert_eq!(twice.as_deref(), Some("contacts[1].role"));
        let unreachable = contact_problems(&[contact(ContactRole::Backup, Some(" "), None)]).map(|(f, _)| f);
        assert_eq!(unreachable.as_deref(), Some("contacts[0].email"));
        let bad_email = contact_problems(&[primary, contact(ContactRole::Backup, Some("noc at example"), None)]);
        assert_eq!(bad_email.map(|(f, _)| f).as_deref(), Some("contacts[1].email"));
    }

    #[test]
    fn emails_are_checked_for_shape_only() {
        assert!(plausible_email("fraud-desk@carrier.example"));
        assert!(!plausible_email("fraud-desk@localhost"));
        assert!(!plausible_email("@carrier.example"));
        assert!(!plausible_email("fraud desk@carrier.example"));
    }
}
