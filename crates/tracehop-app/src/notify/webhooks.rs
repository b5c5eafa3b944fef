//! A provider's webhook endpoints: subscribe, change, rotate the signing secret, remove.

use jiff::SignedDuration;
use rand::Rng;
use tracehop_store::webhooks::{DeliveryRecord, WebhookRecord};

use crate::access::principal::Principal;
use crate::notify::EVENT_TYPES;
use crate::notify::fence::url_problem;
use crate::{App, AppError, AppResult};

/// The longest overlap during which the previous secret still signs.
const MAX_OVERLAP: SignedDuration = SignedDuration::from_hours(24 * 7);

fn new_secret() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    let secret: String = (0..40).map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())])).collect();
    format!("whsec_{secret}")
}

fn check_url(url: &str, allow_private: bool) -> AppResult<()> {
    url_problem(url, allow_private).map_or(Ok(()), |problem| Err(AppError::invalid("url", problem)))
}

fn check_types(types: &[String]) -> AppResult<()> {
    if types.is_empty() {
        return Err(AppError::invalid("event_types", "at least one event type, or \"*\""));
    }
    match types.iter().find(|t| *t != "*" && !EVENT_TYPES.contains(&t.as_str())) {
        Some(unknown) => Err(AppError::invalid(
            "event_types",
            format!("unknown event type {unknown:?}; known: {}", EVENT_TYPES.join(", ")),
        )),
        None => Ok(()),
    }
}

fn provider_of(principal: &Principal) -> AppResult<&str> {
    match principal {
        Principal::Provider { provider, .. } => Ok(provider.as_str()),
        Principal::Staff { .. } | Principal::Submitter { .. } => {
            Err(AppError::Forbidden("webhooks belong to a provider; use a provider's token".into()))
        }
    }
}

impl App {
    pub async fn webhooks(&self, by: &Principal) -> AppResult<Vec<WebhookRecord>> {
        Ok(self.store().webhooks_of(provider_of(by)?).await?)
    }

    /// One of the caller's webhooks.
    pub async fn own_webhook(&self, by: &Principal, id: &str) -> AppResult<WebhookRecord> {
        let provider = provider_of(by)?;
        self.store()
            .webhook(id)
            .await?
            .filter(|w| w.provider_id == provider)
            .ok_or_else(|| AppError::NotFound(format!("webhook {id}")))
    }

    pub async fn create_webhook(
        &self,
        by: &Principal,
        url: &str,
        event_types: Vec<String>,
    ) -> AppResult<WebhookRecord> {
        let provider = provider_of(by)?.to_owned();
        check_url(url, self.settings().webhooks.allow_private_targets)?;
        check_types(&event_types)?;
        let now = self.now();
        let webhook = WebhookRecord {
            id: self.new_id().to_string(),
            provider_id: provider,
            url: url.to_owned(),
            event_types,
            secret: new_secret(),
            previous_secret: None,
            previous_secret_until: None,
            active: true,
            created_at: now,
            updated_at: now,
        };
        self.store().save_webhook(&webhook).await?;
        Ok(webhook)
    }

    pub async fn update_webhook(
        &self,
        by: &Principal,
        id: &str,
        url: Option<String>,
        event_types: Option<Vec<String>>,
        active: Option<bool>,
    ) -> AppResult<WebhookRecord> {
        let mut webhook = self.own_webhook(by, id).await?;
        if let Some(url) = url {
            check_url(&url, self.settings().webhooks.allow_private_targets)?;
            webhook.url = url;
        }
        if let Some(types) = event_types {
            check_types(&types)?;
            webhook.event_types = types;
        }
        if let Some(active) = active {
            webhook.active = active;
        }
        webhook.updated_at = self.now();
        self.store().save_webhook(&webhook).await?;
        Ok(webhook)
    }

    /// A new secret; the old one keeps signing beside it for `overlap`.
    pub async fn rotate_webhook_secret(
        &self,
        by: &Principal,
        id: &str,
        overlap: SignedDuration,
    ) -> AppResult<WebhookRecord> {
        if overlap.is_negative() || overlap > MAX_OVERLAP {
            return Err(AppError::invalid("overlap_seconds", "between 0 and 604800 (7 days)"));
        }
        let mut webhook = self.own_webhook(by, id).await?;
        let now = self.now();
        webhook.previous_secret = Some(std::mem::replace(&mut webhook.secret, new_secret()));
        webhook.previous_secret_until = Some(now + overlap);
        webhook.updated_at = now;
        self.store().save_webhook(&webhook).await?;
        Ok(webhook)
    }

    pub async fn delete_webhook(&self, by: &Principal, id: &str) -> AppResult<()> {
        let webhook = self.own_webhook(by, id).await?;
        self.store().delete_webhook(&webhook.id).await?;
        Ok(())
    }

    /// The caller's deliveries (email and webhook), newest first.
    pub async fn deliveries(
        &self,
        by: &Principal,
        webhook: Option<&str>,
        channel: Option<&str>,
        before: Option<i64>,
        limit: i64,
    ) -> AppResult<Vec<DeliveryRecord>> {
        let provider = provider_of(by)?;
        if let Some(id) = webhook {
            self.own_webhook(by, id).await?;
        }
        Ok(self.store().deliveries(provider, webhook, channel, before, limit).await?)
    }
}
