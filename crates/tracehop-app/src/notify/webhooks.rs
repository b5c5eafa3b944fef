//! A provider's webhook endpoints: subscribe, change, rotate the signing secret, remove.

use std::net::{IpAddr, SocketAddr};

use jiff::SignedDuration;
use rand::Rng;
use tracehop_store::webhooks::{DeliveryRecord, WebhookRecord};

use crate::access::principal::Principal;
use crate::notify::EVENT_TYPES;
use crate::{App, AppError, AppResult};

/// The longest overlap during which the previous secret still signs.
const MAX_OVERLAP: SignedDuration = SignedDuration::from_hours(24 * 7);

fn new_secret() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    let secret: String = (0..40).map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())])).collect();
    format!("whsec_{secret}")
}

/// Why a provider's systems may not be called at `url`, if they may not: `https` to a public
/// host, unless private targets are allowed (development and tests). Names are checked again
/// when they are resolved, by [`PublicAddressesOnly`].
pub(crate) fn url_problem(url: &str, allow_private: bool) -> Option<String> {
    let parsed = match reqwest::Url::parse(url) {
        Ok(parsed) => parsed,
        Err(error) => return Some(error.to_string()),
    };
    if allow_private {
        return (!matches!(parsed.scheme(), "https" | "http")).then(|| "use https".to_owned());
    }
    if parsed.scheme() != "https" {
        return Some("use https".to_owned());
    }
    match parsed.host() {
        Some(url::Host::Ipv4(ip)) if !is_public(IpAddr::V4(ip)) => Some(format!("{ip} is not a public address")),
        Some(url::Host::Ipv6(ip)) if !is_public(IpAddr::V6(ip)) => Some(format!("{ip} is not a public address")),
        Some(url::Host::Domain(name)) if is_local_name(name) => Some(format!("{name} is not a public host")),
        None => Some("the URL names no host".to_owned()),
        _ => None,
    }
}

fn check_url(url: &str, allow_private: bool) -> AppResult<()> {
    url_problem(url, allow_private).map_or(Ok(()), |problem| Err(AppError::invalid("url", problem)))
}

/// Names that never leave the machine or the site.
fn is_local_name(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    ["localhost", "local", "internal", "localdomain", "home.arpa"]
        .iter()
        .any(|suffix| name == *suffix || name.ends_with(&format!(".{suffix}")))
}

/// Whether `ip` is reachable on the public internet: not loopback, private, link-local, shared
/// (CGNAT), unique-local, multicast, documentation, benchmarking or otherwise reserved.
pub(crate) fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            !(v4.is_unspecified()
                || v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0 && c == 0)
                || (a == 198 && (b == 18 || b == 19))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_unspecified()
                || v6.is_loopback()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || (first == 0x2001 && v6.segments()[1] == 0x0db8)
                || (first == 0x0064 && v6.segments()[1] == 0xff9b))
        }
    }
}

/// The resolver of the client that calls webhooks when private targets are not allowed: a name
/// that resolves only to non-public addresses is refused, so DNS cannot point a webhook inside.
pub(crate) struct PublicAddressesOnly;

impl reqwest::dns::Resolve for PublicAddressesOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let public: Vec<SocketAddr> = found.filter(|address| is_public(address.ip())).collect();
            if public.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs)
        })
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_webhooks_are_https_to_public_hosts() {
        for url in ["https://hooks.carrier.example/tracehop", "https://203.0.113.9.nip.example/", "https://8.8.8.8/x"] {
            assert_eq!(url_problem(url, false), None, "{url}");
        }
        for url in [
            "http://hooks.carrier.example/",
            "https://127.0.0.1/",
            "https://10.1.2.3/",
            "https://172.16.0.1/",
            "https://192.168.1.1/",
            "https://169.254.169.254/latest/meta-data",
            "https://100.64.0.1/",
            "https://0.0.0.0/",
            "https://[::1]/",
            "https://[fd00::1]/",
            "https://[fe80::1]/",
            "https://[::ffff:10.0.0.1]/",
            "https://localhost:8443/",
            "https://metadata.google.internal/",
            "https://printer.local/",
            "not a url",
        ] {
            assert!(url_problem(url, false).is_some(), "{url} must be refused");
        }
    }

    #[test]
    fn private_targets_are_allowed_only_when_configured() {
        assert_eq!(url_problem("http://127.0.0.1:9000/hook", true), None);
        assert_eq!(url_problem("https://10.0.0.5/hook", true), None);
        assert!(url_problem("ftp://127.0.0.1/hook", true).is_some());
    }

    #[tokio::test]
    async fn names_resolving_only_to_private_addresses_are_refused() {
        use reqwest::dns::Resolve;
        let name: reqwest::dns::Name = "localhost".parse().unwrap();
        let resolved = PublicAddressesOnly.resolve(name).await;
        assert!(resolved.is_err(), "localhost resolves only to loopback");
    }
}
