//! Registry users (DNO-4): eligible providers (cooperative, serving U.S. subscribers) and
//! analytics providers at staff discretion. Access needs the current terms version accepted,
//! the subscription active and the usage start date reported; lapsed access ends, and the
//! user attests deletion of its copies.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use tracehop_store::StoreError;
use tracehop_store::dno_users::DnoUserRecord;

use crate::access::principal::Principal;
use crate::{App, AppError, AppResult};

/// Why an organisation may use the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Eligibility {
    /// A cooperative provider serving U.S. subscribers.
    UsProvider,
    /// An analytics provider, at staff discretion.
    AnalyticsProvider,
}

impl Eligibility {
    pub fn name(self) -> &'static str {
        match self {
            Self::UsProvider => "us_provider",
            Self::AnalyticsProvider => "analytics_provider",
        }
    }
}

/// The organisation a registry user is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserSubject {
    Provider(String),
    Submitter(String),
}

/// What staff set on a registry user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserTerms {
    pub eligibility: Eligibility,
    pub terms_version: Option<String>,
    pub subscription_active: bool,
    pub usage_start: Option<Date>,
}

/// Who is reading the registry: staff, or a registry user in good standing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reader {
    Staff { user: String },
    User { id: String, user: String },
}

impl Reader {
    pub fn actor(&self) -> &str {
        match self {
            Self::Staff { user } | Self::User { user, .. } => user,
        }
    }

    pub fn user_id(&self) -> Option<&str> {
        match self {
            Self::Staff { .. } => None,
            Self::User { id, .. } => Some(id),
        }
    }
}

fn check_subject(subject: &UserSubject) -> AppResult<()> {
    let id = match subject {
        UserSubject::Provider(id) | UserSubject::Submitter(id) => id,
    };
    if id.trim().is_empty() {
        return Err(AppError::invalid("subject", "names a provider or a submitter"));
    }
    Ok(())
}

impl App {
    /// Staff register a registry user.
    pub async fn create_dno_user(
        &self,
        by: &Principal,
        subject: UserSubject,
        terms: UserTerms,
    ) -> AppResult<DnoUserRecord> {
        self.staff(by)?;
        check_subject(&subject)?;
        match &subject {
            UserSubject::Provider(id) => {
                let pid = tracehop_core::provider::ProviderId::new(id.clone())
                    .map_err(|e| AppError::invalid("provider_id", e.to_string()))?;
                if self.store().provider(&pid).await?.is_none() {
                    return Err(AppError::invalid("provider_id", format!("no provider {id}")));
                }
            }
            UserSubject::Submitter(id) => {
                if self.store().submitter(id).await?.is_none() {
                    return Err(AppError::invalid("submitter_id", format!("no submitter {id}")));
                }
            }
        }
        let now = self.now();
        let (provider_id, submitter_id) = match subject {
            UserSubject::Provider(id) => (Some(id), None),
            UserSubject::Submitter(id) => (None, Some(id)),
        };
        let record = DnoUserRecord {
            id: self.new_id().to_string(),
            provider_id,
            submitter_id,
            eligibility: terms.eligibility.name().to_owned(),
            terms_version: terms.terms_version,
            subscription_active: terms.subscription_active,
            usage_start: terms.usage_start.map(|d| d.to_string()),
            status: "active".to_owned(),
            lapsed_at: None,
            deletion_attested_at: None,
            deletion_attested_by: None,
            created_at: now,
            updated_at: now,
        };
        self.save_dno_user(&record).await?;
        Ok(record)
    }

    async fn save_dno_user(&self, record: &DnoUserRecord) -> AppResult<()> {
        let mut tx = self.store().begin().await?;
        tx.save_dno_user(record).await.map_err(|e| match e {
            StoreError::Conflict(message) => AppError::Conflict(message),
            other => other.into(),
        })?;
        tx.commit().await?;
        Ok(())
    }

    async fn existing_dno_user(&self, id: &str) -> AppResult<DnoUserRecord> {
        self.store().dno_user(id).await?.ok_or_else(|| AppError::NotFound(format!("DNO registry user {id}")))
    }

    /// Staff update eligibility, accepted terms version, subscription and usage start.
    pub async fn update_dno_user(&self, by: &Principal, id: &str, terms: UserTerms) -> AppResult<DnoUserRecord> {
        self.staff(by)?;
        let record = DnoUserRecord {
            eligibility: terms.eligibility.name().to_owned(),
            terms_version: terms.terms_version,
            subscription_active: terms.subscription_active,
            usage_start: terms.usage_start.map(|d| d.to_string()),
            updated_at: self.now(),
            ..self.existing_dno_user(id).await?
        };
        self.save_dno_user(&record).await?;
        Ok(record)
    }

    /// Staff end a user's access (a lapsed subscription or terms); it must attest deletion.
    pub async fn lapse_dno_user(&self, by: &Principal, id: &str) -> AppResult<DnoUserRecord> {
        self.staff(by)?;
        let existing = self.existing_dno_user(id).await?;
        if existing.status == "lapsed" {
            return Err(AppError::Conflict(format!("registry user {id} has already lapsed")));
        }
        let now = self.now();
        let record = DnoUserRecord { status: "lapsed".to_owned(), lapsed_at: Some(now), updated_at: now, ..existing };
        self.save_dno_user(&record).await?;
        Ok(record)
    }

    /// A lapsed user (or staff for it) attests that its copies of the registry are deleted.
    pub async fn attest_dno_deletion(&self, by: &Principal, id: &str) -> AppResult<DnoUserRecord> {
        let existing = self.existing_dno_user(id).await?;
        let own = match by {
            Principal::Provider { provider, .. } => {
                existing.provider_id.as_deref() == Some(provider.to_string().as_str())
            }
            Principal::Submitter { submitter, .. } => existing.submitter_id.as_deref() == Some(submitter.as_str()),
            Principal::Staff { .. } => true,
        };
        if !own {
            return Err(AppError::NotFound(format!("DNO registry user {id}")));
        }
        if existing.status != "lapsed" {
            return Err(AppError::Conflict("deletion is attested once access has lapsed".into()));
        }
        if existing.deletion_attested_at.is_some() {
            return Err(AppError::Conflict("deletion is already attested".into()));
        }
        let now = self.now();
        let record = DnoUserRecord {
            deletion_attested_at: Some(now),
            deletion_attested_by: Some(by.user().to_owned()),
            updated_at: now,
            ..existing
        };
        self.save_dno_user(&record).await?;
        Ok(record)
    }

    /// Every registry user (staff).
    pub async fn dno_users(&self, by: &Principal) -> AppResult<Vec<DnoUserRecord>> {
        self.staff(by)?;
        Ok(self.store().list_dno_users().await?)
    }

    /// The registry user a principal is, whatever its standing (for its own record).
    pub async fn own_dno_user(&self, by: &Principal) -> AppResult<DnoUserRecord> {
        let found = match by {
            Principal::Provider { provider, .. } => {
                self.store().dno_user_for(Some(&provider.to_string()), None).await?
            }
            Principal::Submitter { submitter, .. } => self.store().dno_user_for(None, Some(submitter)).await?,
            Principal::Staff { .. } => None,
        };
        found.ok_or_else(|| AppError::NotFound("DNO registry user".into()))
    }

    /// Staff, or a registry user in good standing: eligible, current terms accepted,
    /// subscription active, usage start reported, not lapsed. Anyone else who is not a
    /// registry user does not see the registry at all.
    pub async fn dno_reader(&self, by: &Principal) -> AppResult<Reader> {
        if let Principal::Staff { user, .. } = by {
            return Ok(Reader::Staff { user: user.clone() });
        }
        let user = self.own_dno_user(by).await.map_err(|_| AppError::NotFound("DNO registry".into()))?;
        let current = &self.settings().dno.terms_version;
        let refusal = if user.status == "lapsed" {
            Some("registry access has lapsed".to_owned())
        } else if user.terms_version.as_deref() != Some(current.as_str()) {
            Some(format!("the current terms of use (version {current}) are not accepted"))
        } else if !user.subscription_active {
            Some("the subscription is not active".to_owned())
        } else if user.usage_start.is_none() {
            Some("the usage start date is not reported".to_owned())
        } else {
            None
        };
        match refusal {
            Some(reason) => Err(AppError::Forbidden(reason)),
            None => Ok(Reader::User { id: user.id, user: by.user().to_owned() }),
        }
    }
}
